// The NixOS module-system harness for tests: evaluates a rendered module (or a
// host's whole configuration.nix) with the real NixOS module system, the real
// systemd unit types, the real restic module and agenix's real age.nix
// (test/support/nixos-eval.nix), and returns the unit files exactly as NixOS
// writes them, the store files they use, age.secrets, failed assertions and
// warnings. Also: `systemd-analyze verify` on those units (verifyUnits).
//
// Where the NixOS sources come from (resolved once per process, printed):
//   1. $NIXOS_EVAL_NIXPKGS (a nixpkgs checkout; agenix from $NIXOS_EVAL_AGENIX,
//      `<agenix>` or the archive below);
//   2. the archives in shared/nixos-eval/ (SHA256SUMS checked), extracted into
//      a cache directory under the system temp dir;
//   3. the machine's own `<nixpkgs>` (NIX_PATH / channels), as a NixOS user has.
//   $NIXOS_EVAL_SOURCE=nixpkgs skips 2. None found: an error saying what to
//   install. Never a skip.
// Every nix-instantiate call runs with --readonly-mode, NIX_PATH empty, a
// private HOME/store/state/config dir and `build-users-group =` (a fresh
// machine has no nixbld group), so nothing outside the temp dir is touched.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { shellQuote } from "../../lib/host/shell";
import { findSharedDir } from "./shared";
import { NIX_INSTANTIATE, NIX_TEST_CONFIG, makeNixDirs, nixEnvironment, writeModuleDir } from "./nix-instantiate";

export const NIXOS_EVAL_NIX = path.join(__dirname, "nixos-eval.nix");

/** The URLs the generated module may fetch agenix from that the harness serves from its local copy. */
export const PINNED_AGENIX_URLS = ["https://github.com/ryantm/agenix/archive/b027ee29d959fda4b60b57566d64c98a202e0feb.tar.gz"];

export interface NixosEvalSource {
  kind: "archive" | "nixpkgs";
  /** Directory with lib/, nixos/lib/ and nixos/modules/services/backup/restic.nix. */
  nixpkgs: string;
  /** Directory with modules/age.nix. */
  agenix: string;
  /** One line for the test output. */
  description: string;
}

const INSTALL_HINT =
  "The NixOS module-system tests need Nix and the NixOS sources. Install nix-instantiate (Debian: `apt-get install nix-bin`), " +
  "then either put the project's shared/ folder beside the repository (it holds nixos-eval/nixpkgs-subset-*.tar.gz and " +
  "agenix-*.tar.gz), or make a nixpkgs checkout available as <nixpkgs> (NIX_PATH=nixpkgs=/path/to/nixpkgs, or " +
  "NIXOS_EVAL_NIXPKGS=/path/to/nixpkgs) together with agenix (NIXOS_EVAL_AGENIX=/path/to/agenix).";

function isNixpkgs(dir: string): boolean {
  return ["lib/default.nix", "nixos/lib/utils.nix", "nixos/modules/services/backup/restic.nix"].every((f) => fs.existsSync(path.join(dir, f)));
}
const isAgenix = (dir: string) => fs.existsSync(path.join(dir, "modules", "age.nix"));

function sha256File(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Extracts one checked archive into the cache (once; atomic rename) and returns the directory it holds. */
function extractArchive(dir: string, name: string, sums: Map<string, string>): string {
  const archive = path.join(dir, name);
  const expected = sums.get(name);
  if (expected === undefined) throw new Error(`nixos-eval: ${name} is not listed in ${dir}/SHA256SUMS`);
  const actual = sha256File(archive);
  if (actual !== expected) throw new Error(`nixos-eval: ${archive} has sha256 ${actual}, SHA256SUMS says ${expected}`);
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const cache = path.join(os.tmpdir(), `nixos-restic-b2-nixos-eval-${uid}`);
  fs.mkdirSync(cache, { recursive: true, mode: 0o700 });
  const target = path.join(cache, expected.slice(0, 16));
  if (!fs.existsSync(path.join(target, ".complete"))) {
    const tmp = fs.mkdtempSync(path.join(cache, ".extract-"));
    const r = spawnSync("tar", ["-xzf", archive, "-C", tmp], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`nixos-eval: tar -xzf ${archive} failed: ${r.stderr}`);
    fs.writeFileSync(path.join(tmp, ".complete"), expected + "\n");
    try {
      fs.renameSync(tmp, target);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true }); // another process won the race
    }
  }
  const top = fs.readdirSync(target).filter((n) => !n.startsWith("."));
  if (top.length !== 1) throw new Error(`nixos-eval: ${archive} should hold one top-level directory, found ${top.join(", ")}`);
  return path.join(target, top[0]);
}

function fromArchives(): NixosEvalSource | undefined {
  const shared = findSharedDir();
  const dir = shared && path.join(shared, "nixos-eval");
  if (!dir || !fs.existsSync(path.join(dir, "SHA256SUMS"))) return undefined;
  const sums = new Map(
    fs.readFileSync(path.join(dir, "SHA256SUMS"), "utf8").split("\n").filter(Boolean).map((l) => {
      const [sum, file] = l.trim().split(/\s+\*?/);
      return [file, sum] as [string, string];
    }),
  );
  const pick = (prefix: string) => [...sums.keys()].find((n) => n.startsWith(prefix) && n.endsWith(".tar.gz"));
  const np = pick("nixpkgs-subset-");
  const ag = pick("agenix-");
  if (!np || !ag) throw new Error(`nixos-eval: ${dir}/SHA256SUMS lists no nixpkgs-subset-*/agenix-* archive`);
  const nixpkgs = extractArchive(dir, np, sums);
  const agenix = extractArchive(dir, ag, sums);
  if (!isNixpkgs(nixpkgs) || !isAgenix(agenix)) throw new Error(`nixos-eval: the archives in ${dir} lack lib/, nixos/lib/, restic.nix or modules/age.nix`);
  return { kind: "archive", nixpkgs, agenix, description: `archives ${np} and ${ag} from ${dir} (sha256 checked), extracted to ${path.dirname(nixpkgs)}` };
}

/** `<name>` on the machine's own search path (the user's NIX_PATH and channels). */
function findFile(name: string): string | undefined {
  const r = spawnSync(NIX_INSTANTIATE, ["--find-file", name], { encoding: "utf8", env: { ...process.env, NIX_CONFIG: NIX_TEST_CONFIG } });
  if (r.error || r.status !== 0) return undefined;
  const p = r.stdout.trim();
  return p === "" ? undefined : p;
}

function agenixFallback(): string | undefined {
  const env = process.env.NIXOS_EVAL_AGENIX;
  if (env && isAgenix(env)) return env;
  const found = findFile("agenix");
  if (found && isAgenix(found)) return found;
  try {
    return fromArchives()?.agenix;
  } catch {
    return undefined;
  }
}

let resolved: NixosEvalSource | undefined;

/** Where the NixOS sources come from (see the file comment); throws with what to install. */
export function nixosEvalSource(): NixosEvalSource {
  if (resolved) return resolved;
  const version = spawnSync(NIX_INSTANTIATE, ["--version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) throw new Error(`nixos-eval: ${NIX_INSTANTIATE} does not run (${version.error?.message ?? version.stderr}). ${INSTALL_HINT}`);
  let source: NixosEvalSource | undefined;
  const envNixpkgs = process.env.NIXOS_EVAL_NIXPKGS;
  if (envNixpkgs) {
    if (!isNixpkgs(envNixpkgs)) throw new Error(`nixos-eval: NIXOS_EVAL_NIXPKGS=${envNixpkgs} is not a nixpkgs checkout (needs lib/, nixos/lib/utils.nix, restic.nix)`);
    const agenix = agenixFallback();
    if (!agenix) throw new Error(`nixos-eval: NIXOS_EVAL_NIXPKGS is set but agenix was not found. ${INSTALL_HINT}`);
    source = { kind: "nixpkgs", nixpkgs: envNixpkgs, agenix, description: `nixpkgs from NIXOS_EVAL_NIXPKGS=${envNixpkgs}, agenix ${agenix}` };
  }
  if (!source && process.env.NIXOS_EVAL_SOURCE !== "nixpkgs") source = fromArchives();
  if (!source) {
    const machine = findFile("nixpkgs");
    if (machine && isNixpkgs(machine)) {
      const agenix = agenixFallback();
      if (!agenix) throw new Error(`nixos-eval: found <nixpkgs> at ${machine} but no agenix. ${INSTALL_HINT}`);
      source = { kind: "nixpkgs", nixpkgs: machine, agenix, description: `the machine's <nixpkgs> (${machine}), agenix ${agenix}` };
    }
  }
  if (!source) throw new Error(`nixos-eval: no NixOS sources found. ${INSTALL_HINT}`);
  // Said once per test file, so the output shows which NixOS was used.
  console.log(`nixos-eval: evaluating with the real NixOS module system from ${source.description}`);
  resolved = source;
  return source;
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

export interface StoreFile {
  text: string;
  executable: boolean;
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

// ---- systemd-analyze verify ------------------------------------------------

export interface VerifyResult {
  code: number | null;
  /** verify's output lines that concern the given units (empty when it accepts them). */
  problems: string[];
  output: string;
}

function systemUnitDir(): string {
  for (const d of ["/usr/lib/systemd/system", "/lib/systemd/system"]) if (fs.existsSync(path.join(d, "sysinit.target"))) return d;
  throw new Error("systemd-analyze verify needs the machine's systemd units (Debian: `apt-get install systemd`)");
}

/**
 * Runs `systemd-analyze verify --root=<tmp>` on unit files (name → text).
 *
 * The units name fake store paths (the harness builds nothing). So that
 * verify checks them like on NixOS, every /nix/store path they or the store
 * files mention is created under the temporary root: store files the
 * evaluation produced with their exact text and mode, package executables
 * (`<store>/<hash>-<pkg>/bin/<prog>`) as stand-in `#!/bin/sh` executables.
 * The root also gets the machine's own system units, so dependencies such as
 * network-online.target and timers.target resolve. Then verify loads and
 * checks each unit: syntax, specifiers, ExecStart= parsing and that every
 * command exists and is executable.
 */
export function verifyUnits(units: Record<string, string>, files: Record<string, StoreFile> = {}, extra: Record<string, StoreFile> = {}): VerifyResult {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "systemd-verify-"));
  try {
    fs.mkdirSync(path.join(root, "usr", "lib", "systemd"), { recursive: true });
    const cp = spawnSync("cp", ["-a", systemUnitDir(), path.join(root, "usr", "lib", "systemd", "system")], { encoding: "utf8" });
    if (cp.status !== 0) throw new Error(`cp of the system units failed: ${cp.stderr}`);
    const unitDir = path.join(root, "etc", "systemd", "system");
    fs.mkdirSync(unitDir, { recursive: true });
    for (const [name, text] of Object.entries(units)) fs.writeFileSync(path.join(unitDir, name), text);
    const all = { ...files, ...extra };
    const mentioned = new Set<string>();
    const scan = (t: string) => {
      for (const m of t.matchAll(/\/nix\/store\/[0-9a-z]{32}-[^\s"'`;:)$]+/g)) mentioned.add(m[0]);
    };
    for (const t of Object.values(units)) scan(t);
    for (const f of Object.values(all)) scan(f.text);
    for (const p of Object.keys(all)) mentioned.add(p);
    for (const p of [...mentioned].sort()) {
      const target = path.join(root, p);
      if (fs.existsSync(target)) continue;
      const f = all[p];
      fs.mkdirSync(path.dirname(target), { recursive: true });
      if (f) fs.writeFileSync(target, f.text, { mode: f.executable ? 0o755 : 0o444 });
      else if (/\/bin\/[^/]+$/.test(p)) fs.writeFileSync(target, "#!/bin/sh\n# stand-in for a package executable\nexit 0\n", { mode: 0o755 });
      else fs.mkdirSync(target, { recursive: true });
    }
    const r = spawnSync("systemd-analyze", ["verify", `--root=${root}`, ...Object.keys(units)], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SYSTEMD_LOG_COLOR: "0" } });
    if (r.error) throw new Error(`systemd-analyze is required (Debian: apt-get install systemd): ${r.error.message}`);
    const output = (r.stdout + r.stderr).trim();
    const names = Object.keys(units);
    const problems = output.split("\n").filter((l) => l !== "" && (l.includes(root) || names.some((n) => l.includes(n))));
    return { code: r.status, problems, output };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** verifyUnits over everything an evaluation produced. */
export function verifyEvaluation(r: EvalResult): VerifyResult {
  const units: Record<string, string> = {};
  for (const [n, t] of Object.entries(r.services)) units[`${n}.service`] = t;
  for (const [n, t] of Object.entries(r.timers)) units[`${n}.timer`] = t;
  return verifyUnits(units, r.files);
}
