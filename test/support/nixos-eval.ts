// The NixOS module-system harness for tests: evaluates a rendered module (or a
// host's whole configuration.nix) with the real NixOS module system, the real
// systemd unit types, the real restic module and agenix's real age.nix
// (test/support/nixos-eval.nix), and returns the unit files exactly as NixOS
// writes them, the store files they use, age.secrets, failed assertions and
// warnings. Also: `systemd-analyze verify` on those units (verifyUnits).
//
// NixOS comes from the machine, never from the repository or shared/:
//   nixpkgs  $NIXOS_EVAL_NIXPKGS (a nixpkgs checkout, or any tree with
//            lib/default.nix, nixos/lib/utils.nix and
//            nixos/modules/services/backup/restic.nix), else `<nixpkgs>` on
//            the machine's Nix search path (NIX_PATH, channels);
//   agenix   $NIXOS_EVAL_AGENIX (a tree with modules/age.nix), else `<agenix>`.
// Resolved once per test file (nixosEvalAvailability), which prints one line
// saying which trees are used. Neither variable set and either tree not found:
// a Missing, so the suites skip with one line and count their tests as skipped
// (describeWhen, test/support/requires.ts). A setting that points at the wrong
// thing (a NIXOS_EVAL_* or a `<nixpkgs>`/`<agenix>` entry that is not such a
// tree, or only one of the two NIXOS_EVAL_* trees found) throws: a failure,
// never a skip.
// Every evaluation runs with --readonly-mode, NIX_PATH empty, a private
// HOME/store/state/config dir and `build-users-group =` (a fresh machine has
// no nixbld group), so nothing outside the temp dir is touched.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_AGENIX_URL } from "../../lib/config";
import { shellQuote } from "../../lib/host/shell";
import { NIX_INSTANTIATE, NIX_TEST_CONFIG, makeNixDirs, nixEnvironment, writeModuleDir } from "./nix-instantiate";
import type { Missing } from "./requires";
import { type StoreFile, type VerifyResult, verifyUnits } from "./systemd-verify";

export type { StoreFile, VerifyResult } from "./systemd-verify";
export { verifyUnits } from "./systemd-verify";

export const NIXOS_EVAL_NIX = path.join(__dirname, "nixos-eval.nix");

/**
 * The URLs the generated module may fetch agenix from that the harness serves
 * from the agenix tree it uses (evaluation is offline): the pinned default.
 * The tree is the machine's agenix, which need not be that exact commit.
 */
export const PINNED_AGENIX_URLS = [DEFAULT_AGENIX_URL];

export interface NixosEvalSource {
  /** Directory with lib/, nixos/lib/ and nixos/modules/services/backup/restic.nix. */
  nixpkgs: string;
  /** Directory with modules/age.nix. */
  agenix: string;
  /** One line for the test output: which trees, found how. */
  description: string;
}

/** What decides where NixOS comes from: the two NIXOS_EVAL_* variables. */
export interface NixosEvalSettings {
  NIXOS_EVAL_NIXPKGS?: string;
  NIXOS_EVAL_AGENIX?: string;
}

/** `<name>` on a Nix search path: its directory, or undefined when Nix does not find it. */
export type FindFile = (name: string) => string | undefined;

/** Where NixOS comes from, or what is missing (then the module-system tests skip). */
export type NixosEvalSelection = { source: NixosEvalSource; missing?: undefined } | { missing: Missing; source?: undefined };

/** A NIXOS_EVAL_* or search-path setting that points at the wrong thing: the tests fail. */
export class NixosEvalSettingError extends Error {}

/** The files the harness loads from each tree. */
export const NIXPKGS_FILES = ["lib/default.nix", "nixos/lib/utils.nix", "nixos/modules/services/backup/restic.nix"] as const;
export const AGENIX_FILES = ["modules/age.nix"] as const;

const lacking = (dir: string, files: readonly string[]) => files.filter((f) => !fs.existsSync(path.join(dir, f)));

const INSTALL = "NIXOS_EVAL_NIXPKGS=<nixpkgs checkout> NIXOS_EVAL_AGENIX=<agenix checkout>, or NIX_PATH=nixpkgs=<nixpkgs>:agenix=<agenix>";

/**
 * One tree: from its variable when set (it must be that tree), else `<name>`
 * on the search path (when found, it must be that tree too).
 */
function pickTree(
  what: "nixpkgs" | "agenix",
  variable: keyof NixosEvalSettings,
  settings: NixosEvalSettings,
  files: readonly string[],
  findFile: FindFile,
): { dir: string; how: string } | undefined {
  const set = settings[variable];
  if (set) {
    const dir = path.resolve(set);
    const gaps = lacking(dir, files);
    if (gaps.length > 0) throw new NixosEvalSettingError(`nixos-eval: ${variable}=${set} is not a ${what} tree: it has no ${gaps.join(", ")}. Point it at a ${what} checkout, or unset it.`);
    return { dir, how: variable };
  }
  const found = findFile(what);
  if (found === undefined) return undefined;
  const gaps = lacking(found, files);
  if (gaps.length > 0) throw new NixosEvalSettingError(`nixos-eval: <${what}> on the Nix search path is ${found}, which is not a ${what} tree: it has no ${gaps.join(", ")}. Fix that NIX_PATH entry, or set ${variable}.`);
  return { dir: found, how: `<${what}> on the Nix search path` };
}

/**
 * Decides where NixOS comes from (see the file comment) from the settings and
 * a search-path lookup. Throws NixosEvalSettingError for a broken setting.
 */
export function selectNixosSources(settings: NixosEvalSettings, findFile: FindFile): NixosEvalSelection {
  const nixpkgs = pickTree("nixpkgs", "NIXOS_EVAL_NIXPKGS", settings, NIXPKGS_FILES, findFile);
  const agenix = pickTree("agenix", "NIXOS_EVAL_AGENIX", settings, AGENIX_FILES, findFile);
  if (nixpkgs && agenix) {
    return { source: { nixpkgs: nixpkgs.dir, agenix: agenix.dir, description: `nixpkgs ${nixpkgs.dir} (${nixpkgs.how}), agenix ${agenix.dir} (${agenix.how})` } };
  }
  const absent = [nixpkgs ? undefined : "nixpkgs", agenix ? undefined : "agenix"].filter((x): x is string => x !== undefined);
  const explicit = (["NIXOS_EVAL_NIXPKGS", "NIXOS_EVAL_AGENIX"] as const).filter((v) => settings[v]);
  if (explicit.length > 0) {
    // One variable set (the other tree is then looked for on the search path): the runner asked for the module system.
    const other = absent[0];
    throw new NixosEvalSettingError(`nixos-eval: ${explicit[0]} is set, but no ${other} was found (NIXOS_EVAL_${other.toUpperCase()} is unset and the Nix search path has no <${other}>). To run the module-system tests: ${INSTALL}; to skip them, unset ${explicit[0]}.`);
  }
  return {
    missing: {
      missing: `no ${absent.join(" and no ")} (${absent.map((a) => `NIXOS_EVAL_${a.toUpperCase()}`).join(", ")} unset, no ${absent.map((a) => `<${a}>`).join(" or ")} on the Nix search path)`,
      install: INSTALL,
    },
  };
}

/**
 * `nix-instantiate --find-file <name>` with the machine's search path
 * (NIX_PATH, channels, nix.conf) in `env`; undefined when Nix does not find it.
 * Throws when nix-instantiate itself does not run.
 */
export function nixFindFile(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const r = spawnSync(NIX_INSTANTIATE, ["--find-file", name], {
    encoding: "utf8",
    env: { ...env, NIX_CONFIG: NIX_TEST_CONFIG },
    timeout: 60_000,
  });
  if (r.error) throw new Error(`nixos-eval: ${NIX_INSTANTIATE} --find-file ${name} did not run (${r.error.message}); Debian: apt-get install nix-bin`);
  if (r.status !== 0) return undefined;
  const p = r.stdout.trim();
  return p === "" ? undefined : p;
}

/** selectNixosSources over an environment (process.env by default), with the real search-path lookup. */
export function resolveNixosEval(env: NodeJS.ProcessEnv = process.env): NixosEvalSelection {
  return selectNixosSources({ NIXOS_EVAL_NIXPKGS: env.NIXOS_EVAL_NIXPKGS, NIXOS_EVAL_AGENIX: env.NIXOS_EVAL_AGENIX }, (name) => nixFindFile(name, env));
}

let selected: NixosEvalSelection | undefined;

/**
 * undefined when the module-system tests can run (and one line on stderr says
 * with which NixOS), else why not; throws for a broken setting. For
 * describeWhen at collection time: only looks for the trees, evaluates nothing.
 */
export function nixosEvalAvailability(): Missing | undefined {
  if (selected === undefined) {
    selected = resolveNixosEval();
    if (selected.source) process.stderr.write(`nixos-eval: the NixOS module system from ${selected.source.description}\n`);
  }
  return selected.missing;
}

/** The trees to evaluate with; throws when there are none (call it only where nixosEvalAvailability() is undefined). */
export function nixosEvalSource(): NixosEvalSource {
  const why = nixosEvalAvailability();
  if (why) throw new Error(`nixos-eval: ${why.missing}; to run the module-system tests: ${why.install}`);
  return selected!.source!;
}

/** The environment of every nix-instantiate call: nothing outside `dir`. */
export function nixosEvalEnv(dir: string): Record<string, string> {
  makeNixDirs(dir);
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", ...nixEnvironment(dir) };
}

export interface EvalOptions {
  /** Import agenix's age.nix in the harness (a host whose configuration provides agenix). Default true. */
  importAgenix?: boolean;
  /** services.openssh.enable of the harness's host (agenix takes its identities from it). Default true (hostMode: unset); null: unset. */
  opensshEnable?: boolean | null;
  /** Evaluate a whole host configuration: undeclared options accepted, failed assertions throw like nixos-rebuild. */
  hostMode?: boolean;
  /** URLs builtins.fetchTarball serves from the local agenix copy. Default PINNED_AGENIX_URLS. */
  agenixUrls?: string[];
}

/** The JSON argument of nixos-eval.nix. */
export function evaluatorArgs(source: NixosEvalSource, modules: string[], modulesPath: string, opts: EvalOptions = {}): string {
  return JSON.stringify({
    nixpkgs: source.nixpkgs,
    agenix: source.agenix,
    modules,
    importAgenix: opts.importAgenix ?? true,
    // A host configuration sets its own; a module alone gets a host with sshd (as agenix needs).
    opensshEnable: opts.opensshEnable === undefined ? (opts.hostMode ? null : true) : opts.opensshEnable,
    hostMode: opts.hostMode ?? false,
    agenixUrls: opts.agenixUrls ?? PINNED_AGENIX_URLS,
    modulesPath,
  });
}

/** A stand-in for nixpkgs' nixos/modules (what hardware-configuration.nix imports from modulesPath). */
export function writeModulesPath(dir: string): string {
  const mp = path.join(dir, "modules-path");
  fs.mkdirSync(path.join(mp, "installer", "scan"), { recursive: true });
  fs.mkdirSync(path.join(mp, "profiles"), { recursive: true });
  const empty = "# stub of a nixpkgs profile module (test/support/nixos-eval.ts)\n{ ... }: { }\n";
  for (const f of ["installer/scan/not-detected.nix", "profiles/qemu-guest.nix", "profiles/minimal.nix", "profiles/headless.nix"]) {
    fs.writeFileSync(path.join(mp, f), empty);
  }
  return mp;
}

/**
 * A shell command that evaluates `modules` in host mode, for the fake host's
 * stub nixos-rebuild: exits non-zero with Nix's message when NixOS would
 * refuse the configuration. `dir` is a private directory for Nix's state.
 */
export function hostEvalShellCommand(dir: string, modules: string[], opts: EvalOptions = {}): string {
  const source = nixosEvalSource();
  const env = Object.entries(nixosEvalEnv(dir)).map(([k, v]) => `${k}=${shellQuote(v)}`).join(" ");
  const args = evaluatorArgs(source, modules, writeModulesPath(dir), { ...opts, hostMode: true });
  return `env -i ${env} ${shellQuote(NIX_INSTANTIATE)} --readonly-mode --eval --strict --json ${shellQuote(NIXOS_EVAL_NIX)} --argstr argsJson ${shellQuote(args)}`;
}

/**
 * The part of the fake host's stub `nixos-rebuild switch` that evaluates the
 * host: `$cfg/configuration.nix` (with everything it imports, such as
 * restic-b2/module.nix) in the real module system, as a real switch does
 * before it builds anything. On failure it prints Nix's error like
 * nixos-rebuild and exits 1, so the host script restores the previous state.
 * Expects the shell variables `st` (stub state dir) and `cfg` (config dir).
 * The host has agenix (as after `agenixModule: provided` or the generated
 * fetchTarball import, which resolves to the same file) unless the state flag
 * file `no-agenix` exists. Evaluation warnings are printed as `warning: ...`.
 */
export function hostSwitchEvaluation(state: string): string {
  const cmd = hostEvalShellCommand(path.join(state, "nixos-eval"), []);
  return `agenix=true
if [ -e "$st/no-agenix" ]; then agenix=false; fi
if ! ${cmd} --argstr configuration "$cfg/configuration.nix" --argstr importAgenix "$agenix" > "$st/eval.out" 2> "$st/eval.err"; then
  grep -v '^trace: NIXOS_EVAL_FILE ' "$st/eval.err"
  exit 1
fi
grep '^trace: warning: ' "$st/eval.err" | sed 's/^trace: //'`;
}

export interface EvalResult {
  source: NixosEvalSource;
  /** Unit file texts by unit name (without .service / .timer), as NixOS writes them. */
  services: Record<string, string>;
  timers: Record<string, string>;
  failedAssertions: string[];
  /** config.warnings. */
  warnings: string[];
  /** Warnings printed while evaluating (lib.warn: `trace: warning: ...`, `evaluation warning: ...`). */
  evalWarnings: string[];
  /** Other stderr lines (Nix itself; may depend on the machine). */
  otherStderr: string[];
  ageSecrets: Record<string, { name: string; path: string; mode: string; owner: string; group: string; symlink: boolean; file: string }>;
  identityPaths: string[];
  systemPackages: string[];
  systemPackagePaths: string[];
  restic: Record<string, Record<string, unknown>>;
  /** Every store file the stub writers made that NixOS used, by path. */
  files: Record<string, StoreFile>;
}

export class NixosEvalError extends Error {
  constructor(readonly stderr: string, readonly status: number | null) {
    super(`NixOS evaluation failed (exit ${status}):\n${stderr}`);
  }
}

const FILE_TRACE = /^trace: NIXOS_EVAL_FILE (.*)$/;

export class NixosEval {
  readonly dir: string;
  readonly source: NixosEvalSource;
  private readonly modulesPath: string;

  constructor() {
    this.source = nixosEvalSource();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-eval-"));
    this.modulesPath = writeModulesPath(this.dir);
  }

  /** writeModuleDir (test/support/nix-instantiate.ts) in the harness's directory. */
  writeModule(text: string, extraSecrets: readonly string[] = [], name = "module.nix"): string {
    return writeModuleDir(this.dir, text, extraSecrets, name);
  }

  /** Evaluates module files; throws NixosEvalError when Nix fails (type errors, unknown options, throw). */
  evaluate(modules: string[], opts: EvalOptions = {}): EvalResult {
    const args = evaluatorArgs(this.source, modules, this.modulesPath, opts);
    const r = spawnSync(NIX_INSTANTIATE, ["--readonly-mode", "--eval", "--strict", "--json", NIXOS_EVAL_NIX, "--argstr", "argsJson", args], {
      env: nixosEvalEnv(this.dir),
      cwd: this.dir,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    const files: Record<string, StoreFile> = {};
    const evalWarnings: string[] = [];
    const otherStderr: string[] = [];
    for (const line of r.stderr.split("\n")) {
      const m = FILE_TRACE.exec(line);
      if (m) {
        const f = JSON.parse(m[1]) as { path: string; text: string; executable: boolean };
        files[f.path] = { text: f.text, executable: f.executable };
      } else if (/^(trace: )?(evaluation )?warning:/.test(line) && !/^warning: (unknown setting|you don't have Internet access)/.test(line)) {
        if (/^(trace: |evaluation )/.test(line)) evalWarnings.push(line);
        else otherStderr.push(line);
      } else if (line !== "") otherStderr.push(line);
    }
    if (r.status !== 0) throw new NixosEvalError(otherStderr.concat(evalWarnings).join("\n"), r.status);
    const out = JSON.parse(r.stdout) as Omit<EvalResult, "source" | "files" | "evalWarnings" | "otherStderr">;
    return { ...out, source: this.source, files, evalWarnings, otherStderr };
  }

  /** writeModule + evaluate. */
  evaluateModule(text: string, opts: EvalOptions = {}): EvalResult {
    return this.evaluate([this.writeModule(text)], opts);
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The store path the harness gives the stub package `pkgs.<name>` (see mkDrv
 * and pkg in nixos-eval.nix), for tests that check a script's exact text.
 */
export function stubPackagePath(name: string): string {
  const drvName = `${name}-stub`;
  return `/nix/store/${createHash("sha256").update(drvName).digest("hex").slice(0, 32)}-${drvName}`;
}

/** The values of `Key=` lines in one section of a unit file, in order. */
export function unitValues(text: string, section: string, key: string): string[] {
  const out: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    const s = /^\[(.+)\]$/.exec(line);
    if (s) current = s[1];
    else if (current === section && line.startsWith(`${key}=`)) out.push(line.slice(key.length + 1));
  }
  return out;
}

/** verifyUnits over everything an evaluation produced. */
export function verifyEvaluation(r: EvalResult): VerifyResult {
  const units: Record<string, string> = {};
  for (const [n, t] of Object.entries(r.services)) units[`${n}.service`] = t;
  for (const [n, t] of Object.entries(r.timers)) units[`${n}.timer`] = t;
  return verifyUnits(units, r.files);
}
