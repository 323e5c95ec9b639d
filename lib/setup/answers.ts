// What setup asks, and how every answer goes through lib/config's own rules
// before anything is written: the connection first (ssh-keyscan only runs
// on a host and port that pass them), then the whole configuration as
// `pulumi up` will read it.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, RawConfig, SECRET_KEYS, SecretKey, parseConfig, protectionWarning, readRawConfig } from "../config";
import { Reader } from "../config/reader";
import { SetupArgs } from "./args";
import { CONSOLE_COMMAND, fingerprint, normalizeFingerprint, scanHostKey } from "./hostkey";
import { StackState, fullKey } from "./stack";
import { Io } from "./terminal";

/** The user said no, or gave no answer where one is needed: nothing is written. */
export class Refused extends Error {}

/** The answers as the stack will hold them: plain keys (lists as arrays) and secrets. */
export interface Answers {
  plain: Record<string, string | string[]>;
  secrets: Partial<Record<SecretKey, string>>;
}

/** The paths setup suggests when no other stack of the project has chosen some. */
export const SUGGESTED_PATHS = ["/home", "/etc/nixos"];

const NOTHING = "nothing was written";

interface Ctx {
  a: SetupArgs;
  st: StackState;
  io: Io;
  /** Every other stack's paths, read only when setup asks for paths. */
  otherPaths: () => string[];
}

/** The stack's own value of a key (undefined when only Pulumi.yaml's default gives one). */
const own = (st: StackState, k: string) => (st.set.has(fullKey(k)) ? st.values[fullKey(k)]?.value : undefined);

async function askOrRefuse(c: Ctx, question: string, missing: string, secret = false): Promise<string> {
  const v = c.a.yes ? undefined : await c.io.ask(question, secret);
  if (v === undefined || v.trim() === "") throw new Refused(`${missing}: ${NOTHING}`);
  return v.trim();
}

/** host, sshPort, sshUser through the Reader, before the scan reaches the network. */
function checkConnection(plain: Answers["plain"]): void {
  const raw: RawConfig = { host: plain.host as string, sshPort: plain.sshPort as string, sshUser: plain.sshUser as string };
  const r = new Reader(raw);
  r.get("host");
  r.get("sshPort");
  r.get("sshUser");
  if (r.problems.length > 0) throw new ConfigError(r.problems);
}

async function hostKey(c: Ctx, host: string, port: number, changed: boolean): Promise<string | undefined> {
  const current = own(c.st, "hostKey");
  if (current !== undefined && !changed && c.a.hostKeyFingerprint === undefined) return undefined;
  const key = scanHostKey(host, port);
  const fp = fingerprint(key);
  if (current !== undefined && fingerprint(current) === fp) return current;
  if (current !== undefined) c.io.out(`The stack pins another host key, ${fingerprint(current)}: the machine was reinstalled, or this is not it.\n`);
  c.io.out(`${host} (port ${port}) shows the ed25519 host key ${fp}.\nOn the machine's console, \`${CONSOLE_COMMAND}\` must print the same fingerprint.\n`);
  if (c.a.hostKeyFingerprint !== undefined) {
    const want = normalizeFingerprint(c.a.hostKeyFingerprint);
    if (want !== fp) throw new Refused(`--host-key-fingerprint ${want} does not match the scanned key ${fp}: ${NOTHING}`);
    return key;
  }
  const answer = await askOrRefuse(c, "Is it the same fingerprint? [y/N] ", "the host key is not confirmed (--host-key-fingerprint SHA256:... confirms it without asking)");
  if (!/^y(es)?$/i.test(answer)) throw new Refused(`the host key was not confirmed: ${NOTHING}`);
  return key;
}

async function connection(c: Ctx, plain: Answers["plain"]): Promise<void> {
  const { a, st } = c;
  const host = a.host ?? own(st, "host") ?? (await askOrRefuse(c, "The machine's address (host name or IP): ", "the host is missing (--host H)"));
  if (host !== own(st, "host")) plain.host = host;
  if (a.port !== undefined && a.port !== own(st, "sshPort")) plain.sshPort = a.port;
  if (a.user !== undefined && a.user !== own(st, "sshUser")) plain.sshUser = a.user;
  checkConnection({ host, sshPort: a.port ?? st.values[fullKey("sshPort")]?.value ?? "22", sshUser: a.user ?? st.values[fullKey("sshUser")]?.value ?? "root" });
  const port = Number(a.port ?? st.values[fullKey("sshPort")]?.value ?? 22);
  const key = await hostKey(c, host, port, plain.host !== undefined || plain.sshPort !== undefined);
  if (key !== undefined && key !== own(st, "hostKey")) plain.hostKey = key;
}

function readFileAnswer(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Refused(`${flag} ${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): ${NOTHING}`);
  }
}

async function askList(c: Ctx, question: string, suggestions: string[]): Promise<string[] | undefined> {
  if (c.a.yes) return undefined;
  const hint = suggestions.length > 0 ? ` [Enter: ${suggestions.join(", ")}]` : "";
  const v = await c.io.ask(`${question}, separated by commas${hint}: `);
  if (v === undefined) return undefined;
  if (v.trim() === "-") return [];
  const list = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return list.length > 0 ? list : suggestions.length > 0 ? suggestions : undefined;
}

async function adminKeys(c: Ctx, plain: Answers["plain"]): Promise<void> {
  let files = c.a.adminKeyFiles;
  if (files.length === 0) {
    if (own(c.st, "adminKeys") !== undefined) return;
    const sshDir = path.join(c.io.env.HOME ?? os.homedir(), ".ssh");
    const found = fs.existsSync(sshDir) ? fs.readdirSync(sshDir).filter((f) => f.endsWith(".pub")).sort().map((f) => path.join(sshDir, f)) : [];
    files = (await askList(c, "Admin SSH public keys that may also decrypt the secrets (files; -: none)", found)) ?? [];
    if (files.length === 0) return;
  }
  const keys = files.map((f) => readFileAnswer("--admin-key", f).trim());
  if (JSON.stringify(keys) !== own(c.st, "adminKeys")) plain.adminKeys = keys;
}

async function paths(c: Ctx, plain: Answers["plain"]): Promise<void> {
  let list = c.a.paths.length > 0 ? c.a.paths : undefined;
  if (list === undefined) {
    if (own(c.st, "paths") !== undefined) return;
    const seen = [...new Set(c.otherPaths())];
    list = await askList(c, "Directories to back up", seen.length > 0 ? seen : SUGGESTED_PATHS);
    if (list === undefined || list.length === 0) throw new Refused(`the paths to back up are missing (--path DIR): ${NOTHING}`);
  }
  if (JSON.stringify(list) !== own(c.st, "paths")) plain.paths = list;
}

async function secrets(c: Ctx, out: Answers["secrets"]): Promise<void> {
  const { a, io, st } = c;
  // The CLI drops a value's final newline (a key file's), so that is no change.
  const give = (k: SecretKey, v: string | undefined) => {
    if (v !== undefined && v.trim() !== "" && v.trimEnd() !== own(st, k)?.trimEnd()) out[k] = v;
  };
  if (a.sshPrivateKeyFile !== undefined) give("sshPrivateKey", readFileAnswer("--ssh-private-key", a.sshPrivateKeyFile));
  const id = io.env.B2_APPLICATION_KEY_ID;
  const key = io.env.B2_APPLICATION_KEY;
  if (id && key) {
    give("b2:applicationKeyId", id);
    give("b2:applicationKey", key);
  } else if (own(st, "b2:applicationKeyId") === undefined && !a.yes) {
    const i = await io.ask("B2 application key id (not shown; Enter: none, B2_APPLICATION_KEY_ID at `pulumi up`): ", true);
    if (i) {
      give("b2:applicationKeyId", i);
      give("b2:applicationKey", await io.ask("B2 application key (not shown): ", true));
    }
  }
  for (const [flag, k] of [[a.healthcheckUrl, "healthcheckUrl"], [a.ntfyUrl, "ntfyUrl"]] as const) {
    if (flag || (!a.yes && io.interactive && own(st, k) === undefined)) {
      give(k, await io.ask(`${k}, the ${k === "ntfyUrl" ? "ntfy topic URL for alerts" : "heartbeat URL"} (not shown; Enter: none): `, true));
    }
  }
}

/** Every answer setup needs; throws Refused or ConfigError (nothing written yet). */
export async function collect(a: SetupArgs, st: StackState, io: Io, otherPaths: () => string[]): Promise<Answers> {
  const c: Ctx = { a, st, io, otherPaths };
  const ans: Answers = { plain: {}, secrets: {} };
  await connection(c, ans.plain);
  await adminKeys(c, ans.plain);
  await paths(c, ans.plain);
  // A new stack protects its backups from the host (issue 19): the host's key can hide, not delete.
  if (!st.exists) ans.plain.hostCanDelete = "false";
  await secrets(c, ans.secrets);
  return ans;
}

/**
 * The configuration `pulumi up` will read after the answers, through the
 * program's own parser: a ConfigError lists every problem. Returns the
 * warnings `pulumi up` would print (deprecated keys, an unprotected key).
 */
export function check(machine: string, st: StackState, ans: Answers): string[] {
  const raw = readRawConfig((k) => {
    const v = ans.plain[k];
    if (v !== undefined) return Array.isArray(v) ? JSON.stringify(v) : v;
    return st.values[fullKey(k)]?.value;
  });
  const secretValues: Partial<Record<SecretKey, string>> = {};
  for (const k of SECRET_KEYS) {
    const v = ans.secrets[k] ?? st.values[fullKey(k)]?.value;
    if (v !== undefined && v !== "") secretValues[k] = v;
  }
  const warnings: string[] = [];
  const cfg = parseConfig(raw, secretValues, machine, { warnings, secretText: secretValues });
  const unprotected = protectionWarning(cfg.storage);
  return unprotected === undefined ? warnings : [...warnings, unprotected];
}
