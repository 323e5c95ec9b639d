// `npm run setup -- <machine> [flags]`: creates (or updates) the stack and
// sets what `pulumi up` needs, asking only what no flag, environment variable
// or existing stack gives. Every value is written by the Pulumi CLI's own
// `pulumi config set` (secrets with --secret, on stdin: never on a command
// line), only after the whole configuration passes lib/config's parser, and
// only where it differs from what the stack holds (a rerun writes nothing).
//
// Exit status: 0 done (or nothing to change); 1 the answers were refused
// (bad configuration, host key not confirmed); 2 the command itself failed.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { ConfigError, PROJECT, RawConfig, SECRET_KEYS, SecretKey, parseConfig, readRawConfig } from "../config";
import { INSTALL_CLI, findEngine } from "../engine/find";
import { HELP, SetupArgs, USAGE, parseArgs } from "./args";
import { CONSOLE_COMMAND, fingerprint, scanHostKey } from "./hostkey";

type StackConfig = Record<string, { value?: string; secret?: boolean }>;

/** A key's full name in the stack file. */
const fullKey = (k: string) => (k.includes(":") ? k : `${PROJECT}:${k}`);

export class Refused extends Error {}

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** A line from the user; `secret`: read without echo. Undefined when no one can answer. */
  ask(question: string, secret?: boolean): Promise<string | undefined>;
  env: NodeJS.ProcessEnv;
}

class Cli {
  constructor(
    private readonly bin: string,
    private readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}
  run(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(this.bin, [...args, "--non-interactive"], { cwd: this.cwd, env: this.env, input, encoding: "utf8" });
    return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }
  must(args: string[], input?: string): string {
    const r = this.run(args, input);
    // The CLI's stderr names keys, never the value read on stdin.
    if (r.code !== 0) throw new Error(`pulumi ${args.slice(0, 3).join(" ")} failed: ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
    return r.stdout;
  }
}

/** The answers as the stack will hold them: plain keys (lists as arrays) and secrets. */
interface Answers {
  plain: Partial<Record<string, string | string[]>>;
  secrets: Partial<Record<SecretKey, string>>;
}

async function chooseHostKey(a: SetupArgs, host: string, port: number, current: string | undefined, io: Io): Promise<string> {
  const key = scanHostKey(host, port);
  const fp = fingerprint(key);
  if (current !== undefined && fingerprint(current) === fp) return current;
  io.out(`The host ${host} (port ${port}) shows the ed25519 key ${fp}.\nOn the machine's console, \`${CONSOLE_COMMAND}\` must print the same fingerprint.\n`);
  if (a.hostKeyFingerprint !== undefined) {
    if (a.hostKeyFingerprint !== fp) throw new Refused(`--host-key-fingerprint ${a.hostKeyFingerprint} does not match the scanned key ${fp}: nothing was written`);
    return key;
  }
  const answer = a.yes ? undefined : await io.ask("Is it the same? [y/N] ");
  if (answer === undefined) throw new Refused("the host key is not confirmed (give --host-key-fingerprint SHA256:... to run without asking): nothing was written");
  if (!/^y(es)?$/i.test(answer.trim())) throw new Refused("the host key was not confirmed: nothing was written");
  return key;
}

async function askList(what: string, suggestions: string[], a: SetupArgs, io: Io): Promise<string[] | undefined> {
  if (a.yes) return undefined;
  const hint = suggestions.length > 0 ? ` [${suggestions.join(", ")}]` : "";
  const v = await io.ask(`${what}, separated by commas${hint}: `);
  if (v === undefined) return undefined;
  const list = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return list.length > 0 ? list : suggestions.length > 0 ? suggestions : undefined;
}

const readKeyFile = (f: string) => fs.readFileSync(f, "utf8").trim();

async function collect(a: SetupArgs, have: StackConfig, others: string[][], io: Io): Promise<Answers> {
  const cur = (k: string) => have[fullKey(k)]?.value;
  const plain: Answers["plain"] = {};
  const secrets: Answers["secrets"] = {};
  const host = a.host ?? cur("host") ?? (a.yes ? undefined : await io.ask("The machine's address (host name or IP): "));
  if (host === undefined || host === "") throw new Refused("the host is missing (--host)");
  plain.host = host;
  if (a.port !== undefined) plain.sshPort = a.port;
  if (a.user !== undefined) plain.sshUser = a.user;
  const port = Number(a.port ?? cur("sshPort") ?? 22);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Refused(`${PROJECT}:sshPort: must be a whole number from 1 to 65535; got ${JSON.stringify(a.port)}`);
  plain.hostKey = await chooseHostKey(a, host, port, cur("hostKey"), io);

  if (a.adminKeyFiles.length > 0) plain.adminKeys = a.adminKeyFiles.map(readKeyFile);
  else if (cur("adminKeys") === undefined) {
    const sshDir = path.join(io.env.HOME ?? os.homedir(), ".ssh");
    const found = fs.existsSync(sshDir) ? fs.readdirSync(sshDir).filter((f) => f.endsWith(".pub")).sort().map((f) => path.join(sshDir, f)) : [];
    const files = await askList("Admin SSH public keys (files) that may also decrypt the secrets", found, a, io);
    if (files !== undefined) plain.adminKeys = files.map(readKeyFile);
  }
  if (a.paths.length > 0) plain.paths = a.paths;
  else if (cur("paths") === undefined) {
    const seen = [...new Set(others.flat())];
    const list = await askList("Directories to back up", seen.length > 0 ? seen : ["/home", "/etc/nixos"], a, io);
    if (list === undefined) throw new Refused("the paths to back up are missing (--path DIR)");
    plain.paths = list;
  }
  if (a.sshPrivateKeyFile !== undefined) secrets.sshPrivateKey = fs.readFileSync(a.sshPrivateKeyFile, "utf8");

  const id = io.env.B2_APPLICATION_KEY_ID;
  const key = io.env.B2_APPLICATION_KEY;
  if (id && key) {
    secrets["b2:applicationKeyId"] = id;
    secrets["b2:applicationKey"] = key;
  } else if (cur("b2:applicationKeyId") === undefined && !a.yes) {
    const i = await io.ask("B2 application key id (Enter: use B2_APPLICATION_KEY_ID at `pulumi up`): ", true);
    if (i) {
      const k = await io.ask("B2 application key: ", true);
      secrets["b2:applicationKeyId"] = i;
      if (k) secrets["b2:applicationKey"] = k;
    }
  }
  for (const [flag, name] of [[a.healthcheckUrl, "healthcheckUrl"], [a.ntfyUrl, "ntfyUrl"]] as const) {
    if (!flag) continue;
    const v = await io.ask(`${name}: `, true);
    if (v) secrets[name] = v;
  }
  return { plain, secrets };
}

/** The whole configuration after the answers, through the program's own parser; a ConfigError lists every problem. */
function check(machine: string, have: StackConfig, ans: Answers): void {
  const raw: RawConfig = readRawConfig((k) => {
    const v = ans.plain[k];
    if (v !== undefined) return Array.isArray(v) ? JSON.stringify(v) : v;
    return have[fullKey(k)]?.value;
  });
  const secrets: Partial<Record<SecretKey, string>> = {};
  for (const k of SECRET_KEYS) {
    const v = ans.secrets[k] ?? have[fullKey(k)]?.value;
    if (v !== undefined) secrets[k] = v;
  }
  parseConfig(raw, secrets, machine, { secretText: secrets });
}

/** Writes what differs, each key as `pulumi config set` would; returns the keys written. */
function write(cli: Cli, machine: string, have: StackConfig, ans: Answers): string[] {
  const written: string[] = [];
  for (const [k, v] of Object.entries(ans.plain)) {
    if (v === undefined) continue;
    const now = have[fullKey(k)]?.value;
    if (Array.isArray(v)) {
      if (now !== undefined && JSON.stringify(safeJson(now)) === JSON.stringify(v)) continue;
      if (now !== undefined) cli.must(["config", "rm", "--stack", machine, k]);
      v.forEach((entry, i) => cli.must(["config", "set", "--stack", machine, "--path", `${k}[${i}]`, entry]));
    } else {
      if (now === v) continue;
      cli.must(["config", "set", "--stack", machine, k, v]);
    }
    written.push(k);
  }
  for (const [k, v] of Object.entries(ans.secrets)) {
    if (v === undefined || have[fullKey(k)]?.value === v) continue;
    cli.must(["config", "set", "--stack", machine, "--secret", k], v);
    written.push(k);
  }
  return written;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

function stackConfig(cli: Cli, machine: string): StackConfig {
  return JSON.parse(cli.must(["config", "--json", "--show-secrets", "--stack", machine]) || "{}") as StackConfig;
}

export async function setupMain(argv: readonly string[], io: Io): Promise<number> {
  let a: SetupArgs;
  try {
    a = parseArgs(argv, process.cwd());
  } catch (e) {
    io.err(`setup: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (a.help) {
    io.out(`${HELP}\n`);
    return 0;
  }
  const bin = findEngine(io.env).cli?.pulumi;
  if (bin === undefined) {
    io.err(`setup: no Pulumi CLI: ${INSTALL_CLI}\n`);
    return 2;
  }
  const cli = new Cli(bin, a.projectDir, io.env);
  try {
    const stacks = (JSON.parse(cli.must(["stack", "ls", "--json"])) as { name: string }[]).map((s) => s.name);
    const exists = stacks.includes(a.machine);
    const have = exists ? stackConfig(cli, a.machine) : {};
    const others = stacks.filter((s) => s !== a.machine).map((s) => {
      const v = stackConfig(cli, s)[fullKey("paths")]?.value;
      const list = v === undefined ? [] : safeJson(v);
      return Array.isArray(list) ? list.map(String) : [];
    });
    const ans = await collect(a, have, others, io);
    check(a.machine, have, ans);
    if (!exists) cli.must(["stack", "init", a.machine]);
    const written = write(cli, a.machine, have, ans);
    io.out(written.length === 0 ? `Stack ${a.machine}: nothing to change.\n` : `Stack ${a.machine}: set ${written.join(", ")}.\n`);
    io.out(`Next: pulumi up -s ${a.machine}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof Refused) {
      io.err(`${e.message}\n`);
      return 1;
    }
    io.err(`setup: ${(e as Error).message}\n`);
    return 2;
  }
}

/** Questions on the terminal; without one (stdin not a TTY), lines of stdin in order. */
function terminalIo(): Io {
  const lines: string[] = [];
  let ended = false;
  let waiting: ((l: string | undefined) => void) | undefined;
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on("line", (l) => (waiting ? (waiting(l), (waiting = undefined)) : lines.push(l)));
  rl.on("close", () => {
    ended = true;
    waiting?.(undefined);
  });
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
    ask: (q, secret = false) => {
      // The question goes to stderr; a secret's answer is never echoed (stdin is read raw, not by a terminal line editor).
      process.stderr.write(q);
      if (secret && process.stdin.isTTY) process.stdin.setRawMode?.(false);
      const next = lines.shift();
      if (next !== undefined || ended) {
        if (!secret) process.stderr.write("");
        return Promise.resolve(next);
      }
      return new Promise((resolve) => (waiting = resolve));
    },
  };
}

if (require.main === module) {
  setupMain(process.argv.slice(2), terminalIo()).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`setup: ${e.message}\n`);
      process.exit(2);
    },
  );
}
