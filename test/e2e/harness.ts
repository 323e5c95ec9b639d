// End-to-end harness: the project's own program under the real Pulumi engine
// (CLI, Node.js language host, command provider 1.2.1, from a Pulumi
// installation on the machine: lib/engine/find.ts), against the loopback sshd
// and fake NixOS root of test/support/sshd.ts. Without a complete engine the
// files' tests are skipped and counted (describeE2e) and global-setup.ts says
// what is missing in one line.
//
// Each test file makes one E2eProject: a throw-away copy of the project (its
// node_modules linked; bin/ too, which global-setup.ts has brought up to date,
// so the copy runs the program compiled, as Pulumi.yaml's main does), a local file backend, a passphrase secrets provider,
// its own PULUMI_HOME with the command plugin registered, and a stack in
// existing-bucket mode (createBucket: false: the B2 provider cannot run
// offline). Everything lives in one temp directory, removed by cleanup().

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT } from "../../lib/config";
import { COMMAND_PLUGIN_VERSION, Engine, EngineMissing, EngineSearch, findEngine } from "../../lib/engine/find";
import type { NixSandbox } from "../support/nix-instantiate";
import { skipLine } from "../support/requires";

export const REPO = path.resolve(__dirname, "../..");

export type { Engine };

let search: EngineSearch | undefined;
/** lib/engine/find.ts's answer, once per test file (it runs each executable once to read its version). */
const engineSearch = (): EngineSearch => (search ??= findEngine());

/** The name the skip line gives the suite. */
export const E2E_SUITE = "e2e suite (npm run test:e2e)";

/** Why the suite cannot run here (no complete Pulumi installation), or undefined. */
export function engineMissing(): EngineMissing | undefined {
  return engineSearch().missing;
}

/**
 * The complete engine the suite runs on. Called in beforeAll only: inside
 * describeE2e, which does not run its hooks when there is no engine.
 */
export function e2eEngine(): Engine {
  const found = engineSearch();
  if (found.engine === undefined) throw new Error(skipLine(E2E_SUITE, found.missing!));
  return found.engine;
}

/**
 * One e2e file's tests: run with a complete engine; otherwise registered as
 * skipped, so jest counts them. The one skip line for the whole suite is
 * printed by global-setup.ts (not once per file). The body runs either way
 * (jest collects the tests from it): it declares hooks and tests, and does no
 * engine work itself.
 */
export function describeE2e(name: string, fn: () => void): void {
  if (engineMissing() === undefined) describe(name, fn);
  else describe.skip(name, fn);
}

/**
 * A directory holding links named pulumi and pulumi-language-nodejs to the
 * engine's CLI and language host: put first on PATH, the engine finds its
 * language host there, and never the command plugin (registered in each
 * PULUMI_HOME instead, under the exact version the SDK asks for).
 */
export function engineBinDir(engine: Engine, parent: string): string {
  const bin = path.join(parent, "engine-bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.symlinkSync(engine.pulumi, path.join(bin, "pulumi"));
  fs.symlinkSync(engine.languageHost, path.join(bin, "pulumi-language-nodejs"));
  return bin;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The command, for messages. */
  args: string[];
}

/** Top-level project entries that are not part of a user's checkout of the program. */
export const NOT_COPIED = new Set(["node_modules", ".git", "test", ".pulumi", "secrets", "coverage", ".ci", "scripts"]);

export interface ProjectOptions {
  stack?: string;
  /** The program to copy (default: this repository). */
  source?: string;
  /** Plain project config (keys without the namespace); lists and booleans as JSON values. */
  config: Record<string, unknown>;
  /** Secret project config, set with `pulumi config set --secret` (value on stdin). */
  secrets?: Record<string, string>;
  /** Extra environment for the engine (e.g. SSH_AUTH_SOCK). */
  env?: Record<string, string>;
}

/**
 * The plain config of a stack that deploys to the loopback host `srv` in
 * existing-bucket mode (the B2 provider cannot run offline), with the agenix
 * files in the sshd's temp dir and agenix provided by the host; `extra` adds or
 * overrides keys.
 */
export function loopbackConfig(
  srv: { hostPublicKey(): string; dir: string; port: number; configDir: string },
  bucketName: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    createBucket: false,
    bucketName,
    hostKey: srv.hostPublicKey(),
    agenixDir: path.join(srv.dir, "e2e-secrets-out"),
    host: "127.0.0.1",
    sshPort: srv.port,
    hostConfigDir: srv.configDir,
    agenixModule: "provided",
    paths: ["/home"],
    ...extra,
  };
}

export class E2eProject {
  readonly dir: string;
  readonly project: string;
  readonly state: string;
  readonly home: string;
  /** Links to the engine's CLI and language host, first on the engine's PATH. */
  readonly bin: string;
  readonly stack: string;
  /** Every CLI result of this project, for the secret scan. */
  readonly outputs: CliResult[] = [];
  extraEnv: Record<string, string>;
  private plain: Record<string, unknown> = {};
  private secure: Record<string, string> = {};
  private salt = "";

  private constructor(
    readonly engine: Engine,
    opts: ProjectOptions,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-e2e-"));
    this.project = path.join(this.dir, "project");
    this.state = path.join(this.dir, "state");
    this.home = path.join(this.dir, "pulumi-home");
    this.stack = opts.stack ?? "e2e";
    this.extraEnv = { ...(opts.env ?? {}) };
    for (const d of [this.project, this.state, this.home, path.join(this.dir, "home")]) fs.mkdirSync(d, { recursive: true });
    this.bin = engineBinDir(engine, this.dir);
    const source = opts.source ?? REPO;
    for (const name of fs.readdirSync(source)) {
      if (NOT_COPIED.has(name) || /^Pulumi\..+\.yaml$/.test(name)) continue;
      fs.cpSync(path.join(source, name), path.join(this.project, name), { recursive: true, dereference: false });
    }
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(this.project, "node_modules"));
  }

  /** Copies the project, registers the command plugin, creates the stack and its config. */
  static async create(engine: Engine, opts: ProjectOptions): Promise<E2eProject> {
    const p = new E2eProject(engine, opts);
    try {
      p.registerPlugin();
      await p.ok(["stack", "init", p.stack]);
      for (const [key, value] of Object.entries(opts.secrets ?? {})) await p.setSecret(key, value);
      p.setConfig(opts.config);
    } catch (e) {
      p.cleanup();
      throw e;
    }
    return p;
  }

  /** The provider under the exact version the SDK asks for, in this project's PULUMI_HOME. */
  private registerPlugin(): void {
    const args = ["plugin", "install", "resource", "command", `v${COMMAND_PLUGIN_VERSION}`, "--file", this.engine.commandPlugin, "--reinstall", "--non-interactive"];
    const r = spawnSync(this.engine.pulumi, args, { encoding: "utf8", env: this.env() });
    if (r.status !== 0) throw new Error(`registering the command plugin failed (${r.status}):\n${r.stderr}${r.stdout}`);
  }

  /** The engine's whole environment: nothing inherited but PATH's system part and what is given. */
  env(): NodeJS.ProcessEnv {
    return {
      PATH: [this.bin, path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"].join(":"),
      HOME: path.join(this.dir, "home"),
      LANG: "C.UTF-8",
      TMPDIR: os.tmpdir(),
      PULUMI_HOME: this.home,
      PULUMI_BACKEND_URL: `file://${this.state}`,
      PULUMI_CONFIG_PASSPHRASE: "e2e passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      ...this.extraEnv,
    };
  }

  /** Runs the CLI in the project (async: sshd's log keeps flowing meanwhile). */
  pulumi(args: string[], input?: string): Promise<CliResult> {
    const full = [...args, "--non-interactive", "--color", "never"];
    return new Promise((resolve, reject) => {
      const p = spawn(this.engine.pulumi, full, { cwd: this.project, env: this.env(), stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += d.toString()));
      p.stderr.on("data", (d) => (stderr += d.toString()));
      p.on("error", reject);
      p.on("close", (code) => {
        const r = { code: code ?? -1, stdout, stderr, args: full };
        this.outputs.push(r);
        const undefinedValues = undefinedValueWarnings(r);
        if (undefinedValues.length > 0) {
          reject(new Error(`pulumi ${full.join(" ")} warned about undefined stack outputs (issue 9: export only the outputs of the stack's mode):\n${undefinedValues.join("\n")}`));
        } else resolve(r);
      });
      p.stdin.end(input ?? "");
    });
  }

  async ok(args: string[], input?: string): Promise<CliResult> {
    const r = await this.pulumi(args, input);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  up(): Promise<CliResult> {
    return this.pulumi(["up", "--yes", "--skip-preview", "--stack", this.stack]);
  }

  preview(...extra: string[]): Promise<CliResult> {
    return this.pulumi(["preview", "--stack", this.stack, ...extra]);
  }

  destroy(): Promise<CliResult> {
    return this.pulumi(["destroy", "--yes", "--skip-preview", "--stack", this.stack]);
  }

  get stackFile(): string {
    return path.join(this.project, `Pulumi.${this.stack}.yaml`);
  }

  /** Sets one secret through the CLI (value on stdin), and remembers its ciphertext for rewriting the file. */
  async setSecret(key: string, value: string): Promise<void> {
    const full = key.includes(":") ? key : `${PROJECT}:${key}`;
    await this.ok(["config", "set", "--secret", full, "--stack", this.stack], value);
    const text = fs.readFileSync(this.stackFile, "utf8");
    const salt = /^encryptionsalt: (\S+)$/m.exec(text);
    if (salt) this.salt = salt[1];
    const esc = full.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // Block style on a fresh stack file; flow style once setConfig rewrote it as JSON (the CLI keeps that style).
    const m =
      new RegExp(`^  ${esc}:\\n    secure: (\\S+)$`, "m").exec(text) ?? new RegExp(`"${esc}": \\{"secure": "([^"]+)"\\}`).exec(text);
    if (!m) throw new Error(`could not find the encrypted ${full} in ${this.stackFile}:\n${text}`);
    this.secure[full] = m[1];
  }

  /** Drops a secret from the stack file. */
  removeSecret(key: string): void {
    delete this.secure[key.includes(":") ? key : `${PROJECT}:${key}`];
    this.writeStackFile();
  }

  /** Replaces the plain config (keys without the namespace) and rewrites Pulumi.<stack>.yaml (JSON is YAML). */
  setConfig(config: Record<string, unknown>): void {
    this.plain = { ...config };
    this.writeStackFile();
  }

  get config(): Record<string, unknown> {
    return { ...this.plain };
  }

  private writeStackFile(): void {
    const cfg: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.plain)) if (v !== undefined) cfg[`${PROJECT}:${k}`] = v;
    for (const [k, v] of Object.entries(this.secure)) cfg[k] = { secure: v };
    const salt = this.salt || /^encryptionsalt: (\S+)$/m.exec(fs.readFileSync(this.stackFile, "utf8"))?.[1];
    if (!salt) throw new Error(`no encryptionsalt in ${this.stackFile}`);
    this.salt = salt;
    fs.writeFileSync(this.stackFile, `encryptionsalt: ${salt}\nconfig: ${JSON.stringify(cfg, null, 2)}\n`);
  }

  /** `pulumi stack export` (optionally --show-secrets), parsed. */
  async exportState(showSecrets = false): Promise<{ text: string; deployment: { resources?: Array<Record<string, any>> } }> {
    const r = await this.ok(["stack", "export", "--stack", this.stack, ...(showSecrets ? ["--show-secrets"] : [])]);
    return { text: r.stdout, deployment: JSON.parse(r.stdout).deployment };
  }

  /** Every file under the state backend and PULUMI_HOME (minus plugin binaries), as text. */
  stateFiles(): Array<{ file: string; text: string }> {
    const out: Array<{ file: string; text: string }> = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) {
          if (f !== path.join(this.home, "plugins")) walk(f);
        } else if (e.isFile()) out.push({ file: f, text: readMaybeGzip(f) });
      }
    };
    walk(this.state);
    walk(this.home);
    return out;
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function readMaybeGzip(f: string): string {
  const b = fs.readFileSync(f);
  if (b[0] === 0x1f && b[1] === 0x8b) return require("node:zlib").gunzipSync(b).toString("utf8");
  return b.toString("utf8");
}

/**
 * The engine's "Undefined value (<output>) will not show as a stack output"
 * warnings in a result. Every CLI run of the suite is checked
 * (E2eProject.pulumi rejects when there is one), so each run of every stack
 * mode the suite uses proves there are none.
 */
export function undefinedValueWarnings(r: CliResult): string[] {
  return (r.stdout + r.stderr).split("\n").filter((l) => /Undefined value/.test(l));
}

/** Output text of a result (both streams). */
export const text = (r: CliResult): string => r.stdout + r.stderr;

/** Fails with the CLI's output unless it exited 0. */
export function expectOk(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`pulumi ${r.args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The restic password the engine keeps in state (secret), from an export with --show-secrets. */
export function passwordFromState(deployment: { resources?: Array<Record<string, any>> }): string {
  const r = (deployment.resources ?? []).filter((x) => x.type === "command:local:Command" && String(x.urn).endsWith("restic-password"));
  if (r.length !== 1) throw new Error(`expected one restic-password command in state, found ${r.length}`);
  const out = r[0].outputs?.stdout;
  const value = typeof out === "object" && out !== null && "plaintext" in out ? JSON.parse(out.plaintext) : out;
  if (typeof value !== "string") throw new Error("the restic-password command has no stdout in state");
  return value.trim();
}

/** Number of authenticated SSH sessions sshd has logged so far. */
export const sshSessions = (log: string): number => (log.match(/Accepted publickey for /g) ?? []).length;

/**
 * The places secrets must never be, and the secrets: fails naming the place
 * and the secret's label (never its value).
 */
export function findLeaks(places: Array<{ where: string; text: string }>, secrets: Record<string, string>): string[] {
  const leaks: string[] = [];
  for (const [label, value] of Object.entries(secrets)) {
    if (value.length < 16) throw new Error(`secret ${label} is too short to scan for reliably`);
    for (const p of places) if (p.text.includes(value)) leaks.push(`${label} in ${p.where}`);
  }
  return leaks;
}

/**
 * Every place of this project a secret must never be in plaintext: the
 * `pulumi stack export` (without --show-secrets), every file of the backend
 * (.pulumi/: state, history, backups) and of PULUMI_HOME, the stack file, and
 * every CLI output so far (except --show-secrets exports, which are meant to).
 */
export async function leakPlaces(p: E2eProject): Promise<Array<{ where: string; text: string }>> {
  const exported = (await p.exportState()).text;
  return [
    { where: "pulumi stack export", text: exported },
    ...p.stateFiles().map((f) => ({ where: path.relative(p.dir, f.file), text: f.text })),
    { where: path.basename(p.stackFile), text: fs.readFileSync(p.stackFile, "utf8") },
    ...p.outputs
      .filter((o) => !o.args.includes("--show-secrets"))
      .map((o, i) => ({ where: `output ${i} of pulumi ${o.args.join(" ")}`, text: o.stdout + o.stderr })),
  ];
}

/** The lines of an OpenSSH private key that carry key material (each long enough to be unique). */
export function privateKeyLines(pem: string): string[] {
  return pem
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length >= 40 && !l.startsWith("-----"));
}

/**
 * The restic backup a module on the host declares, evaluated by nix-instantiate
 * after a parse check: the module is applied to stub arguments whose
 * `config.age.secrets.<n>.path` is what agenix gives (/run/agenix/<n>).
 */
export function evaluateBackup(nix: NixSandbox, modulePath: string, name = "daily"): Record<string, unknown> {
  nix.parseFile(modulePath);
  const m = modulePath;
  const stub = `{ config = { age.secrets = builtins.mapAttrs (n: _: { path = "/run/agenix/\${n}"; }) (import ${m} { config = {}; pkgs = {}; lib = {}; }).age.secrets; }; pkgs = {}; lib = {}; }`;
  return nix.evalJson(
    `let b = (import ${m} ${stub}).services.restic.backups.${JSON.stringify(name)}; in { inherit (b) paths exclude passwordFile repositoryFile environmentFile; }`,
  ) as Record<string, unknown>;
}

/** Decrypts a file with the age CLI and an SSH identity file. */
export function ageDecrypt(identity: string, file: string): string {
  const r = spawnSync("age", ["-d", "-i", identity, file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`age -d -i ${identity} ${file} failed: ${r.stderr}`);
  return r.stdout;
}

/** Makes an SSH key pair with ssh-keygen; returns the private key path (public: + ".pub"). */
export function sshKeygen(dir: string, name: string, type: "ed25519" | "rsa" | "ecdsa", bits?: number): string {
  const file = path.join(dir, name);
  const args = ["-q", "-t", type, "-N", "", "-C", `e2e-${name}`, "-f", file, ...(bits ? ["-b", String(bits)] : [])];
  const r = spawnSync("ssh-keygen", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(" ")}: ${r.stderr}`);
  return file;
}

export const publicKey = (privateKeyFile: string): string => fs.readFileSync(privateKeyFile + ".pub", "utf8").trim();
