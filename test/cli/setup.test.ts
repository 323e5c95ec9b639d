// `npm run setup` end to end: the documented entry point (node -r
// ts-node/register/transpile-only lib/setup/main.ts) in a copy of the project,
// the real Pulumi CLI (the one lib/engine/find.ts picks) writing the stack
// files, a real sshd on loopback answering ssh-keyscan, and a pseudo-terminal
// (python3's pty module) for what a person at a terminal sees.
// Needs the Pulumi CLI and root (sshd): `npm run test:cli`.

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT } from "../../lib/config";
import { fingerprint } from "../../lib/setup/hostkey";
import { AdminProject, CommandResult } from "../support/admin-project";
import { TestSshd, requireRoot } from "../support/sshd";

const PROJECT_DIR = path.resolve(__dirname, "../..");
const ENTRY = path.join(PROJECT_DIR, "lib/setup/main.ts");

// Values that must never be printed: every run's stdout and stderr are checked against them.
const KEY_ID = "0051f00dsetupkeyid0000000001";
const KEY = "K005setupSecretApplicationKeyValue42";
const HEALTHCHECK = "https://hc-ping.com/8d3c1a57-2f4e-4b9a-9c61-0e5f7a2b3c4d";
const BAD_HEALTHCHECK = "http://hc example/ping-secret-7731";
const SECRETS = [KEY_ID, KEY, HEALTHCHECK, BAD_HEALTHCHECK, "setup test passphrase", "PRIVATE KEY"];

let admin: AdminProject;
let sshd: TestSshd;
let adminKeyFile: string;
let otherKeyFile: string;
const outputs: string[] = [];

interface RunOpts {
  input?: string;
  env?: Record<string, string | undefined>;
}

function setup(args: string[], opts: RunOpts = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const env = { ...admin.env, ...opts.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const p = spawn("node", ["-r", "ts-node/register/transpile-only", ENTRY, "--project", admin.project, ...args], { cwd: PROJECT_DIR, env });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.stdin.end(opts.input ?? "");
    p.on("close", (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

const b2Env = { B2_APPLICATION_KEY_ID: KEY_ID, B2_APPLICATION_KEY: KEY };
const stackFile = (s: string) => path.join(admin.project, `Pulumi.${s}.yaml`);
const stacks = () => (JSON.parse(admin.pulumi(["stack", "ls", "--json"])) as { name: string }[]).map((s) => s.name);
const config = (s: string) => JSON.parse(admin.pulumi(["config", "--json", "--show-secrets", "--stack", s])) as Record<string, { value?: string; secret?: boolean }>;

/** The flags of a full non-interactive setup against the test sshd. */
function flags(fp: string): string[] {
  return [
    "--host", "127.0.0.1", "--port", String(sshd.port), "--host-key-fingerprint", fp,
    "--admin-key", adminKeyFile, "--path", "/home", "--path", "/etc/nixos",
    "--ssh-private-key", sshd.clientKey, "--healthcheck-url", "--yes",
  ];
}

/** A stack file without what is random per stack (the salt, each secret's ciphertext). */
const masked = (s: string) =>
  fs.readFileSync(stackFile(s), "utf8").replace(/^encryptionsalt: .*$/m, "encryptionsalt: <salt>").replace(/secure: v1:\S+/g, "secure: <ciphertext>");

beforeAll(async () => {
  requireRoot();
  admin = new AdminProject("setup");
  sshd = await TestSshd.start();
  const keys = path.join(admin.dir, "keys");
  fs.mkdirSync(keys);
  adminKeyFile = path.join(keys, "admin.pub");
  otherKeyFile = path.join(keys, "other.pub");
  spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "admin@setup-test", "-f", path.join(keys, "admin")]);
  spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "other@setup-test", "-f", path.join(keys, "other")]);
}, 60000);

afterAll(async () => {
  await sshd?.stop();
  admin?.remove();
});

afterEach(() => {
  // No run of setup, whatever it did, printed a secret.
  for (const o of outputs.splice(0)) for (const s of SECRETS) expect(o).not.toContain(s);
});

test("--help exits 0 with the usage; a bad argument is one line and the usage, exit 2, no stack trace", async () => {
  const help = await setup(["--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: npm run setup -- <machine>/);
  expect(help.stdout).toContain("--host-key-fingerprint");
  const bad = await setup(["laptop", "--frobnicate"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe(`setup: unknown argument "--frobnicate"\n${bad.stderr.split("\n")[1]}\n`);
  expect(bad.stderr).toContain("usage: npm run setup");
  expect(bad.stderr).not.toMatch(/\n\s+at /);
});

test("non-interactive: the scanned key is pinned after its fingerprint matches, every answer is in the stack, the next command is printed", async () => {
  const fp = fingerprint(sshd.hostPublicKey());
  const r = await setup(["laptop", ...flags(fp)], { input: `${HEALTHCHECK}\n`, env: b2Env });
  expect(r.stderr).toContain("healthcheckUrl");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`127.0.0.1 (port ${sshd.port}) shows the ed25519 host key ${fp}.`);
  expect(r.stdout).toContain("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub");
  expect(r.stdout).toMatch(/^Stack laptop: created; set host, sshPort, hostKey, adminKeys, paths, hostCanDelete, sshPrivateKey \(secret\), b2:applicationKeyId \(secret\), b2:applicationKey \(secret\), healthcheckUrl \(secret\)\.$/m);
  // Run from elsewhere (--project), the next command starts with the cd.
  expect(r.stdout.trim().split("\n").pop()).toBe(`Next: cd ${admin.project} && pulumi up -s laptop`);
  const c = config("laptop");
  const v = (k: string) => c[k.includes(":") ? k : `${PROJECT}:${k}`];
  expect(v("host").value).toBe("127.0.0.1");
  expect(v("sshPort").value).toBe(String(sshd.port));
  expect(v("hostKey").value).toBe(sshd.hostPublicKey());
  expect(JSON.parse(v("adminKeys").value!)).toEqual([fs.readFileSync(adminKeyFile, "utf8").trim()]);
  expect(JSON.parse(v("paths").value!)).toEqual(["/home", "/etc/nixos"]);
  expect(v("hostCanDelete").value).toBe("false");
  expect(v("sshPrivateKey")).toEqual({ value: fs.readFileSync(sshd.clientKey, "utf8").trimEnd(), secret: true });
  expect(v("b2:applicationKeyId")).toEqual({ value: KEY_ID, secret: true });
  expect(v("b2:applicationKey")).toEqual({ value: KEY, secret: true });
  expect(v("healthcheckUrl")).toEqual({ value: HEALTHCHECK, secret: true });
  // The secrets are encrypted in the file, never in plaintext.
  const file = fs.readFileSync(stackFile("laptop"), "utf8");
  for (const s of [KEY_ID, KEY, HEALTHCHECK, "PRIVATE KEY"]) expect(file).not.toContain(s);
}, 120000);

test("rerunning with the same answers changes nothing: the stack file's bytes are equal", async () => {
  const before = fs.readFileSync(stackFile("laptop"));
  const r = await setup(["laptop", ...flags(fingerprint(sshd.hostPublicKey()))], { input: `${HEALTHCHECK}\n`, env: b2Env });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("Stack laptop: nothing to change.\n");
  expect(fs.readFileSync(stackFile("laptop")).equals(before)).toBe(true);
  // And with no flags at all: everything comes from the stack, no scan, no question.
  const bare = await setup(["laptop", "--yes"]);
  expect(bare.code).toBe(0);
  expect(bare.stdout).toBe(`Stack laptop: nothing to change.\nNext: cd ${admin.project} && pulumi up -s laptop\n`);
  expect(fs.readFileSync(stackFile("laptop")).equals(before)).toBe(true);
}, 120000);

test("the stack file equals what the equivalent `pulumi config set` commands write with the real CLI", () => {
  const s = "manual";
  const p = (args: string[], input?: string) => admin.pulumi(args, input);
  p(["stack", "init", "--no-select", s]);
  p(["config", "set", "--stack", s, "host", "127.0.0.1"]);
  p(["config", "set", "--stack", s, "sshPort", String(sshd.port)]);
  p(["config", "set", "--stack", s, "hostKey", sshd.hostPublicKey()]);
  p(["config", "set", "--stack", s, "--path", "adminKeys[0]", fs.readFileSync(adminKeyFile, "utf8").trim()]);
  p(["config", "set", "--stack", s, "--path", "paths[0]", "/home"]);
  p(["config", "set", "--stack", s, "--path", "paths[1]", "/etc/nixos"]);
  p(["config", "set", "--stack", s, "hostCanDelete", "false"]);
  p(["config", "set", "--stack", s, "--secret", "sshPrivateKey"], fs.readFileSync(sshd.clientKey, "utf8"));
  p(["config", "set", "--stack", s, "--secret", "b2:applicationKeyId"], KEY_ID);
  p(["config", "set", "--stack", s, "--secret", "b2:applicationKey"], KEY);
  p(["config", "set", "--stack", s, "--secret", "healthcheckUrl"], HEALTHCHECK);
  expect(masked("laptop")).toBe(masked(s));
  expect(config("laptop")).toEqual(config(s));
}, 120000);

test("a wrong fingerprint is refused with both fingerprints: no stack, no stack file", async () => {
  const wrong = fingerprint(fs.readFileSync(otherKeyFile, "utf8"));
  const r = await setup(["desk", ...flags(wrong)], { input: `${HEALTHCHECK}\n`, env: b2Env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`setup: --host-key-fingerprint ${wrong} does not match the scanned key ${fingerprint(sshd.hostPublicKey())}: nothing was written\n`);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(stacks()).not.toContain("desk");
  expect(fs.existsSync(stackFile("desk"))).toBe(false);
}, 120000);

test("bad answers are refused with the key, the rule and the value (never a secret's): nothing written", async () => {
  const fp = fingerprint(sshd.hostPublicKey());
  // A host that would be an option to ssh-keyscan: refused before any scan.
  const host = await setup(["desk", "--host", "-oProxyCommand=touch /tmp/x", "--yes"]);
  expect(host.code).toBe(1);
  expect(host.stderr).toMatch(/^Invalid stack configuration \(1 problem\); nothing was written:\n {2}- nixos-restic-b2:host: .*; got "-oProxyCommand=touch \/tmp\/x"\n$/);
  const port = await setup(["desk", "--host", "127.0.0.1", "--port", "70000", "--yes"]);
  expect(port.code).toBe(1);
  expect(port.stderr).toContain('nixos-restic-b2:sshPort: must be a whole number from 1 to 65535; got "70000"');
  // The whole configuration through the parser: every problem at once.
  const args = ["desk", "--host", "127.0.0.1", "--port", String(sshd.port), "--host-key-fingerprint", fp, "--path", "/home", "--path", "relative/dir", "--healthcheck-url", "--yes"];
  const r = await setup(args, { input: `${BAD_HEALTHCHECK}\n`, env: b2Env });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/Invalid stack configuration \(2 problems\); nothing was written:\n/);
  expect(r.stderr).toMatch(/ {2}- nixos-restic-b2:paths: .*; got "relative\/dir"\n/);
  expect(r.stderr).toMatch(/ {2}- nixos-restic-b2:healthcheckUrl: must be an http\(s\) URL .*\(the value is not shown: it is a secret\)\n/);
  expect(stacks()).not.toContain("desk");
  expect(fs.existsSync(stackFile("desk"))).toBe(false);
  // On an existing stack too: the file keeps its bytes.
  const before = fs.readFileSync(stackFile("laptop"));
  const again = await setup(["laptop", "--path", "relative/dir", "--yes"]);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('nixos-restic-b2:paths: ');
  expect(fs.readFileSync(stackFile("laptop")).equals(before)).toBe(true);
}, 120000);

test("an admin key file that cannot be read, and no passphrase without a terminal: one clean line each, nothing written", async () => {
  const fp = fingerprint(sshd.hostPublicKey());
  const missing = path.join(admin.dir, "keys", "nope.pub");
  const r = await setup(["desk", ...flags(fp).map((f) => (f === adminKeyFile ? missing : f))], { input: `${HEALTHCHECK}\n`, env: b2Env });
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(`setup: --admin-key ${missing}: cannot be read (ENOENT): nothing was written\n`);
  const nopass = await setup(["desk", ...flags(fp)], { input: `${HEALTHCHECK}\n`, env: { ...b2Env, PULUMI_CONFIG_PASSPHRASE: undefined } });
  expect(nopass.code).toBe(2);
  // The one question without a terminal is the heartbeat URL's (answered from stdin), then one line of error.
  expect(nopass.stderr).toMatch(/^healthcheckUrl, the heartbeat URL \(not shown; Enter: none\): \nsetup: pulumi stack init failed: .*PULUMI_CONFIG_PASSPHRASE.*\n$/);
  expect(stacks()).not.toContain("desk");
}, 120000);

test("at a terminal: the passphrase, the B2 key and the heartbeat URL are never echoed; the host key is confirmed by the user", () => {
  const home = path.join(admin.dir, "pty-home");
  fs.mkdirSync(path.join(home, ".ssh"), { recursive: true });
  fs.copyFileSync(adminKeyFile, path.join(home, ".ssh", "id_ed25519.pub"));
  const pass = "setup test passphrase";
  const env: Record<string, string> = { ...(admin.env as Record<string, string>), HOME: home, TERM: "dumb" };
  delete env.PULUMI_CONFIG_PASSPHRASE;
  const steps = [
    { expect: "(new stack: choose one) (not shown): ", send: `${pass}\r` },
    { expect: "again (not shown): ", send: `${pass}\r` },
    { expect: "Is it the same fingerprint? [y/N] ", send: "y\r" },
    { expect: `[Enter: ${path.join(home, ".ssh", "id_ed25519.pub")}]: `, send: "\r" },
    { expect: "[Enter: /home, /etc/nixos]: ", send: "/srv/echoed-path, /etc/nixos\r" },
    { expect: "B2 application key id (not shown", send: `${KEY_ID}\r` },
    { expect: "B2 application key (not shown): ", send: `${KEY}\r` },
    { expect: "heartbeat URL (not shown; Enter: none): ", send: `${HEALTHCHECK}\r` },
    { expect: "ntfy topic URL for alerts (not shown; Enter: none): ", send: "\r" },
  ];
  const spec = {
    argv: ["node", "-r", "ts-node/register/transpile-only", ENTRY, "--project", admin.project, "tty", "--host", "127.0.0.1", "--port", String(sshd.port)],
    cwd: PROJECT_DIR,
    env,
    steps,
    timeout: 90,
  };
  const r = spawnSync("python3", [path.join(__dirname, "../support/pty-run.py")], { input: JSON.stringify(spec), encoding: "utf8" });
  expect(r.stderr).toBe("");
  const { output, code, missed } = JSON.parse(r.stdout) as { output: string; code: number; missed: string | null };
  expect({ missed, code }).toEqual({ missed: null, code: 0 });
  // The terminal echoes what is not secret (the check that echo is on at all)...
  expect(output).toContain("/srv/echoed-path, /etc/nixos");
  // ... and shows none of the secrets.
  for (const s of SECRETS) expect(output).not.toContain(s);
  expect(output).toContain(fingerprint(sshd.hostPublicKey()));
  expect(output).toContain("&& pulumi up -s tty");
  const c = config("tty");
  expect(c[`${PROJECT}:hostKey`].value).toBe(sshd.hostPublicKey());
  expect(JSON.parse(c[`${PROJECT}:adminKeys`].value!)).toEqual([fs.readFileSync(adminKeyFile, "utf8").trim()]);
  expect(JSON.parse(c[`${PROJECT}:paths`].value!)).toEqual(["/srv/echoed-path", "/etc/nixos"]);
  expect(c["b2:applicationKeyId"]).toEqual({ value: KEY_ID, secret: true });
  expect(c["b2:applicationKey"]).toEqual({ value: KEY, secret: true });
  expect(c[`${PROJECT}:healthcheckUrl`]).toEqual({ value: HEALTHCHECK, secret: true });
  expect(c[`${PROJECT}:ntfyUrl`]?.value ?? "").toBe("");
}, 120000);

test("without a login to the state backend (a project without `backend:`): one line saying which login to run, nothing written", async () => {
  const project = path.join(admin.dir, "nologin");
  fs.mkdirSync(project);
  const yaml = fs.readFileSync(path.join(admin.project, "Pulumi.yaml"), "utf8").replace(/^backend:\n\s+url: .*\n/m, "");
  expect(yaml).not.toMatch(/^backend:/m);
  fs.writeFileSync(path.join(project, "Pulumi.yaml"), yaml);
  const r = await setup(["laptop", ...flags(fingerprint(sshd.hostPublicKey())), "--project", project], {
    input: `${HEALTHCHECK}\n`,
    env: { ...b2Env, HOME: path.join(admin.dir, "nologin-home"), PULUMI_HOME: path.join(admin.dir, "nologin-pulumi-home") },
  });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^setup: this project's state backend needs a login: run `pulumi login` .*\n$/);
  expect(fs.readdirSync(project)).toEqual(["Pulumi.yaml"]);
}, 60000);

test("at a terminal, Ctrl-C at a secret's question: exit 130, what was typed not shown, nothing written", () => {
  const env: Record<string, string> = { ...(admin.env as Record<string, string>), TERM: "dumb" };
  delete env.B2_APPLICATION_KEY_ID;
  const spec = {
    argv: ["node", "-r", "ts-node/register/transpile-only", ENTRY, "--project", admin.project, "ctrlc", "--host", "127.0.0.1", "--port", String(sshd.port),
      "--host-key-fingerprint", fingerprint(sshd.hostPublicKey()), "--path", "/home", "--admin-key", adminKeyFile],
    cwd: PROJECT_DIR,
    env,
    steps: [
      { expect: "B2 application key id (not shown", send: "half-typed\u0003" },
    ],
    timeout: 30,
  };
  const r = spawnSync("python3", [path.join(__dirname, "../support/pty-run.py")], { input: JSON.stringify(spec), encoding: "utf8" });
  const { output, code, missed } = JSON.parse(r.stdout) as { output: string; code: number; missed: string | null };
  expect({ missed, code }).toEqual({ missed: null, code: 130 });
  expect(output).toContain("setup: interrupted: nothing was written");
  expect(output).not.toContain("half-typed");
  expect(stacks()).not.toContain("ctrlc");
}, 60000);

test("a stack pinned to another host key: setup says so, and without a confirmation changes nothing", async () => {
  const other = fs.readFileSync(otherKeyFile, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  admin.pulumi(["config", "set", "--stack", "laptop", "hostKey", other]);
  const before = fs.readFileSync(stackFile("laptop"));
  // A new --port makes setup scan again; --yes: no one to confirm.
  const r = await setup(["laptop", "--port", String(sshd.port), "--host", "localhost", "--yes"]);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain(`The stack pins another host key, ${fingerprint(other)}: the machine was reinstalled, or this is not it.\n`);
  expect(r.stdout).toContain(`shows the ed25519 host key ${fingerprint(sshd.hostPublicKey())}.`);
  expect(r.stderr).toBe("setup: the host key is not confirmed (--host-key-fingerprint SHA256:... confirms it without asking): nothing was written\n");
  expect(fs.readFileSync(stackFile("laptop")).equals(before)).toBe(true);
}, 60000);
