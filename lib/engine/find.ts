// Where the Pulumi engine comes from: the one place that decides it, for the
// e2e suite, the bench, the CLI tests and `npm run status`.
//
// A complete engine (what `pulumi up` of this TypeScript program needs: the
// CLI, the Node.js language host, the command plugin v1.2.1 that
// @pulumi/command 1.2.1 asks for) comes from a Pulumi installation, looked
// for in this order:
//   1. the directory in NIXOS_RESTIC_B2_PULUMI, holding pulumi,
//      pulumi-language-nodejs and pulumi-resource-command (when set, it is
//      the answer: an incomplete one is reported, not passed over);
//   2. the official installer's layout: ~/.pulumi/bin/pulumi with the
//      language host beside it, the plugin in
//      $PULUMI_HOME/plugins/resource-command-v1.2.1/ (PULUMI_HOME: ~/.pulumi);
//   3. PATH: a pulumi, its language host beside it (after symlinks) or on
//      PATH, the plugin in $PULUMI_HOME/plugins or on PATH.
// The cache of scripts/build-engine.sh ($PULUMI_ENGINE_CACHE, default
// ~/.cache/nixos-restic-b2-engine) holds only the CLI it builds from the Go
// module proxy. Older versions of that script also left a language host and a
// command provider there, built from third-party sources: nothing under the
// cache is ever taken as part of an installation, wherever it is found.
//
// The CLI alone (all the CLI tests and the status command need): PULUMI_BIN,
// else the NIXOS_RESTIC_B2_PULUMI directory's pulumi, else the pinned CLI in
// the cache, else the installer's, else PATH's.
//
// Every executable is run once to read its version (`pulumi version`,
// `pulumi-language-nodejs -version`): one that does not answer is not taken.
// The command plugin has no version flag: in the plugin cache its directory
// name carries the version (an exact match, as the engine itself requires);
// beside the CLI or on PATH it is taken as given, and registered as v1.2.1.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The command plugin version @pulumi/command 1.2.1 asks the engine for. */
export const COMMAND_PLUGIN_VERSION = "1.2.1";

/** Why there is no complete engine: what is missing, and how to get it (the shape of test/support/requires.ts's Missing). */
export interface EngineMissing {
  missing: string;
  install: string;
}

export type EngineSource = "NIXOS_RESTIC_B2_PULUMI" | "installer" | "PATH";

/** A complete engine: everything `pulumi up` of this program runs on. */
export interface Engine {
  pulumi: string;
  languageHost: string;
  commandPlugin: string;
  /** What `pulumi version` prints, e.g. v3.259.0. */
  version: string;
  languageHostVersion: string;
  source: EngineSource;
  /** One line naming the engine, for the test output. */
  describe: string;
}

/** The CLI alone. */
export interface Cli {
  pulumi: string;
  version: string;
  /** Where it was found, e.g. "PULUMI_BIN" or "scripts/build-engine.sh's cache". */
  source: string;
}

export interface EngineSearch {
  /** The complete engine, or undefined (then `missing` says why). */
  engine?: Engine;
  missing?: EngineMissing;
  /** The CLI alone, whether or not there is a complete engine. */
  cli?: Cli;
}

const EXE = { cli: "pulumi", host: "pulumi-language-nodejs", plugin: "pulumi-resource-command" } as const;
const PLUGIN_DIR = `resource-command-v${COMMAND_PLUGIN_VERSION}`;

const INSTALLER =
  "install Pulumi with its official installer (curl -fsSL https://get.pulumi.com | sh: the CLI and its Node.js language host into ~/.pulumi/bin), " +
  `then \`pulumi plugin install resource command ${COMMAND_PLUGIN_VERSION}\``;

/** What to do to get a complete engine, in one sentence. */
export const INSTALL_ENGINE = `${INSTALLER}; or set NIXOS_RESTIC_B2_PULUMI to a directory holding pulumi, pulumi-language-nodejs and pulumi-resource-command`;

/** What to do when there is no CLI at all. */
export const INSTALL_CLI =
  "run scripts/build-engine.sh (builds the Pulumi CLI from the Go module proxy; needs Go 1.26), install Pulumi, or set PULUMI_BIN to a pulumi executable";

/** scripts/build-engine.sh's cache directory (holds bin/pulumi). */
export function engineCache(env: NodeJS.ProcessEnv = process.env): string {
  return env.PULUMI_ENGINE_CACHE || path.join(homeOf(env), ".cache", "nixos-restic-b2-engine");
}

const homeOf = (env: NodeJS.ProcessEnv) => env.HOME || os.homedir();
const pulumiHome = (env: NodeJS.ProcessEnv) => env.PULUMI_HOME || path.join(homeOf(env), ".pulumi");

function isExecutable(f: string): boolean {
  try {
    fs.accessSync(f, fs.constants.X_OK);
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

const realpath = (f: string) => {
  try {
    return fs.realpathSync(f);
  } catch {
    return path.resolve(f);
  }
};

/** True when f (or what it links to) lies in the build-engine.sh cache. */
function inCache(f: string, cache: string): boolean {
  const c = realpath(cache);
  return [path.resolve(f), realpath(f)].some((p) => p === c || p.startsWith(c + path.sep));
}

/** The version an executable prints for `args` (v-prefixed), or undefined when it does not run or prints none. */
function versionOf(exe: string, args: string[], env: NodeJS.ProcessEnv): string | undefined {
  const r = spawnSync(exe, args, { encoding: "utf8", timeout: 30_000, env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  if (r.status !== 0) return undefined;
  const m = /^v?(\d+\.\d+\.\d+\S*)\s*$/m.exec(`${r.stdout ?? ""}\n${r.stderr ?? ""}`);
  return m ? `v${m[1]}` : undefined;
}

const cliVersion = (f: string, env: NodeJS.ProcessEnv) => (isExecutable(f) ? versionOf(f, ["version"], env) : undefined);

/** The executables `name` on PATH, in order, leaving out those in `exclude` (the cache) when given. */
function onPath(name: string, env: NodeJS.ProcessEnv, exclude?: string): string[] {
  return (env.PATH ?? "")
    .split(path.delimiter)
    .filter((d) => d !== "")
    .map((d) => path.join(d, name))
    .filter((f) => isExecutable(f) && (exclude === undefined || !inCache(f, exclude)));
}

/** The command plugin v1.2.1 in the plugin cache, or a note on what is there instead. */
function cachedPlugin(env: NodeJS.ProcessEnv, cache: string): { plugin?: string; note: string } {
  const plugins = path.join(pulumiHome(env), "plugins");
  const f = path.join(plugins, PLUGIN_DIR, EXE.plugin);
  if (isExecutable(f) && !inCache(f, cache) && !fs.existsSync(path.join(plugins, `${PLUGIN_DIR}.partial`))) return { plugin: f, note: "" };
  let others: string[] = [];
  try {
    others = fs.readdirSync(plugins).filter((d) => /^resource-command-v/.test(d) && !d.endsWith(".partial") && d !== PLUGIN_DIR);
  } catch {
    // no plugin cache at all
  }
  const partial = fs.existsSync(path.join(plugins, `${PLUGIN_DIR}.partial`)) ? " (its install did not finish: .partial)" : "";
  return { note: `no command plugin v${COMMAND_PLUGIN_VERSION} in ${path.join(plugins, PLUGIN_DIR)}${partial}${others.length ? ` (found only ${others.sort().join(", ")})` : ""}` };
}

interface Candidate {
  source: EngineSource;
  where: string;
  pulumi?: string;
  version?: string;
  languageHost?: string;
  languageHostVersion?: string;
  commandPlugin?: string;
  problems: string[];
}

function fromEnvDir(dir: string, env: NodeJS.ProcessEnv, cache: string): Candidate {
  const c: Candidate = { source: "NIXOS_RESTIC_B2_PULUMI", where: `NIXOS_RESTIC_B2_PULUMI=${dir}`, problems: [] };
  if (inCache(dir, cache)) {
    c.problems.push(`that is scripts/build-engine.sh's cache, which holds only the CLI, not a Pulumi installation`);
    return c;
  }
  const f = (n: string) => path.join(dir, n);
  c.version = cliVersion(f(EXE.cli), env);
  if (c.version) c.pulumi = f(EXE.cli);
  else c.problems.push(isExecutable(f(EXE.cli)) ? `${f(EXE.cli)} does not answer \`pulumi version\`` : `no ${EXE.cli}`);
  checkHost(c, [f(EXE.host)], env, cache);
  if (isExecutable(f(EXE.plugin)) && !inCache(f(EXE.plugin), cache)) c.commandPlugin = f(EXE.plugin);
  else c.problems.push(`no ${EXE.plugin} (the command plugin v${COMMAND_PLUGIN_VERSION})`);
  return c;
}

function fromInstaller(env: NodeJS.ProcessEnv, cache: string): Candidate | undefined {
  const bin = path.join(homeOf(env), ".pulumi", "bin");
  const cli = path.join(bin, EXE.cli);
  if (!isExecutable(cli) || inCache(cli, cache)) return undefined;
  const c: Candidate = { source: "installer", where: `the Pulumi installer's ${bin}`, problems: [] };
  c.version = cliVersion(cli, env);
  if (c.version) c.pulumi = cli;
  else c.problems.push(`${cli} does not answer \`pulumi version\``);
  checkHost(c, [path.join(bin, EXE.host)], env, cache);
  const p = cachedPlugin(env, cache);
  if (p.plugin) c.commandPlugin = p.plugin;
  else c.problems.push(p.note);
  return c;
}

function fromPath(env: NodeJS.ProcessEnv, cache: string): Candidate | undefined {
  let version: string | undefined;
  const cli = onPath(EXE.cli, env, cache).find((f) => (version = cliVersion(f, env)) !== undefined);
  if (cli === undefined) return undefined;
  const c: Candidate = { source: "PATH", where: `PATH (${cli})`, pulumi: cli, version, problems: [] };
  const beside = [path.join(path.dirname(realpath(cli)), EXE.host), path.join(path.dirname(cli), EXE.host)];
  checkHost(c, [...beside, ...onPath(EXE.host, env, cache)], env, cache);
  const p = cachedPlugin(env, cache);
  const plugin = p.plugin ?? onPath(EXE.plugin, env, cache)[0];
  if (plugin) c.commandPlugin = plugin;
  else c.problems.push(`${p.note}, none on PATH`);
  return c;
}

/** The first of `hosts` that answers -version becomes the candidate's language host. */
function checkHost(c: Candidate, hosts: string[], env: NodeJS.ProcessEnv, cache: string): void {
  const present = hosts.filter((f) => isExecutable(f) && !inCache(f, cache));
  for (const h of present) {
    const v = versionOf(h, ["-version"], env);
    if (v) {
      c.languageHost = h;
      c.languageHostVersion = v;
      return;
    }
  }
  c.problems.push(
    present.length
      ? `${present[0]} does not answer \`-version\``
      : `no Node.js language host (${EXE.host}) ${c.source === "PATH" ? "beside pulumi or on PATH" : "beside pulumi"}`,
  );
}

function complete(c: Candidate): Engine | undefined {
  if (c.problems.length || !c.pulumi || !c.version || !c.languageHost || !c.languageHostVersion || !c.commandPlugin) return undefined;
  const host = c.languageHostVersion === c.version ? "" : ` ${c.languageHostVersion}`;
  return {
    pulumi: c.pulumi,
    version: c.version,
    languageHost: c.languageHost,
    languageHostVersion: c.languageHostVersion,
    commandPlugin: c.commandPlugin,
    source: c.source,
    describe: `pulumi ${c.version} from ${c.where}, language host ${c.languageHost}${host}, command plugin ${c.commandPlugin} (registered as v${COMMAND_PLUGIN_VERSION})`,
  };
}

function findCli(env: NodeJS.ProcessEnv, cache: string): Cli | undefined {
  const candidates: Array<[string | undefined, string]> = [
    [env.PULUMI_BIN, "PULUMI_BIN"],
    [env.NIXOS_RESTIC_B2_PULUMI && path.join(env.NIXOS_RESTIC_B2_PULUMI, EXE.cli), "NIXOS_RESTIC_B2_PULUMI"],
    [path.join(cache, "bin", EXE.cli), "scripts/build-engine.sh's cache"],
    [path.join(homeOf(env), ".pulumi", "bin", EXE.cli), "the Pulumi installer's ~/.pulumi/bin"],
    ...onPath(EXE.cli, env).map((f): [string, string] => [f, "PATH"]),
  ];
  for (const [f, source] of candidates) {
    if (!f) continue;
    const version = cliVersion(f, env);
    if (version) return { pulumi: f, version, source };
  }
  return undefined;
}

/**
 * The engine on this machine: a complete one (or what is missing, and how to
 * install it), and the CLI alone. `env` is the environment to read
 * (NIXOS_RESTIC_B2_PULUMI, PULUMI_BIN, PULUMI_HOME, PULUMI_ENGINE_CACHE, HOME,
 * PATH); the executables found are run once each.
 */
export function findEngine(env: NodeJS.ProcessEnv = process.env): EngineSearch {
  const cache = engineCache(env);
  const cli = findCli(env, cache);
  const envDir = env.NIXOS_RESTIC_B2_PULUMI;
  if (envDir) {
    const c = fromEnvDir(envDir, env, cache);
    const engine = complete(c);
    if (engine) return { engine, cli };
    return {
      cli,
      missing: {
        missing: `NIXOS_RESTIC_B2_PULUMI=${envDir} is not a complete Pulumi installation: ${c.problems.join("; ")}`,
        install: `put pulumi, pulumi-language-nodejs and pulumi-resource-command (v${COMMAND_PLUGIN_VERSION}) in that directory, or unset NIXOS_RESTIC_B2_PULUMI and ${INSTALLER}`,
      },
    };
  }
  const tried = [fromInstaller(env, cache), fromPath(env, cache)].filter((c): c is Candidate => c !== undefined);
  for (const c of tried) {
    const engine = complete(c);
    if (engine) return { engine, cli };
  }
  const why = tried.length
    ? tried.map((c) => `${c.where}: ${c.problems.join("; ")}`).join("; and ")
    : `no pulumi in ${path.join(homeOf(env), ".pulumi", "bin")} or on PATH, and NIXOS_RESTIC_B2_PULUMI is not set`;
  const cacheNote = cli && cli.source === "scripts/build-engine.sh's cache" ? ` (the CLI scripts/build-engine.sh built, ${cli.pulumi}, is not an installation: no language host, no plugin)` : "";
  return { cli, missing: { missing: `no complete Pulumi installation: ${why}${cacheNote}`, install: INSTALL_ENGINE } };
}
