// The two other ways in, under the real engine: the SSH agent (no
// sshPrivateKey in the stack; the key lives only in an ssh-agent this test
// starts) and a non-root sshUser with passwordless sudo. The host steps must
// end the same as for root: root-owned files, one switch, a clean destroy.

import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { TestSshd, TreeEntry, ensureSudoUser, removeSudoEntry, snapshotTree } from "../support/sshd";
import { E2eProject, ageDecrypt, expectOk, findLeaks, leakPlaces, passwordFromState, text, loopbackConfig, describeE2e, e2eEngine } from "./harness";

let srv: TestSshd;
let p: E2eProject;
let agent: ChildProcess | undefined;
let sock: string;
let pristine: TreeEntry[];

/**
 * Its own sudo user (not the integration tests' SUDO_USER), so a concurrent
 * integration run removing its sudoers entry cannot break this file.
 */
const SUDO_USER = "restic-b2-e2e";
const KEY = "K0042e2eAccessB2KeyNeverInPlaintext7a8b9c";
let password = "";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startAgent(dir: string): Promise<void> {
  sock = path.join(dir, "agent.sock");
  agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: ["ignore", "ignore", "pipe"] });
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(sock)) {
    if (Date.now() > deadline || agent.exitCode !== null) throw new Error("ssh-agent did not start");
    await sleep(50);
  }
  const r = spawnSync("ssh-add", [srv.clientKey], { env: { PATH: process.env.PATH, SSH_AUTH_SOCK: sock }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh-add failed: ${r.stderr}`);
}

async function stopAgent(): Promise<void> {
  const a = agent;
  agent = undefined;
  if (a && a.exitCode === null && a.signalCode === null) {
    const gone = new Promise<void>((r) => a.once("exit", () => r()));
    a.kill("SIGTERM");
    await gone;
  }
}

const accepted = (user: string) => (srv.serverLog().match(new RegExp(`Accepted publickey for ${user} `, "g")) ?? []).length;

describeE2e("e2e access", () => {
  beforeAll(async () => {
    srv = await TestSshd.start();
    ensureSudoUser(srv.stubBin, SUDO_USER);
    fs.writeFileSync(path.join(srv.dir, "keys", SUDO_USER), fs.readFileSync(srv.clientKey + ".pub"), { mode: 0o644 });
    await startAgent(srv.dir);
    pristine = snapshotTree(srv.root);
    p = await E2eProject.create(e2eEngine(), {
      config: loopbackConfig(srv, "e2e-restic-access"),
      // No sshPrivateKey: the command provider asks the agent at SSH_AUTH_SOCK.
      secrets: { existingKeyId: "0042e2e0000000000000000d4", existingKey: KEY },
      env: { SSH_AUTH_SOCK: sock },
    });
  }, 120_000);

  afterAll(async () => {
    p?.cleanup();
    await stopAgent();
    removeSudoEntry(SUDO_USER);
    await srv?.stop();
  });

  function expectInstalled(): void {
    const dir = path.join(srv.configDir, "restic-b2");
    for (const f of ["env.age", "repo.age", "password.age"]) {
      const st = fs.statSync(path.join(dir, "secrets", f));
      expect({ uid: st.uid, mode: (st.mode & 0o777).toString(8) }).toEqual({ uid: 0, mode: "600" });
    }
    expect(fs.statSync(path.join(dir, "module.nix")).uid).toBe(0);
    expect(ageDecrypt(srv.hostKey, path.join(dir, "secrets", "repo.age"))).toBe("b2:e2e-restic-access");
  }

  test("SSH agent: pulumi up as root with the key only in the agent", async () => {
    expect(p.config.sshUser).toBeUndefined();
    expectOk(await p.up());
    expect(accepted("root")).toBeGreaterThan(0);
    expect(srv.rebuildCalls()).toEqual(["switch"]);
    expectInstalled();
    password = passwordFromState((await p.exportState(true)).deployment);
  });

  test("without the agent the same stack cannot connect (the agent was what authenticated)", async () => {
    p.setConfig({ ...p.config, paths: ["/home", "/srv"] });
    const saved = p.extraEnv.SSH_AUTH_SOCK;
    delete p.extraEnv.SSH_AUTH_SOCK;
    const before = srv.rebuildCalls().length;
    try {
      const r = await p.up();
      expect(r.code).not.toBe(0);
      expect(text(r)).toMatch(/SSH_AUTH_SOCK|agent|unable to authenticate|no supported methods/i);
    } finally {
      p.extraEnv.SSH_AUTH_SOCK = saved;
    }
    expect(srv.rebuildCalls().length).toBe(before);
  });

  test("non-root sshUser with passwordless sudo: the update runs through sudo and switches once", async () => {
    p.setConfig({ ...p.config, sshUser: SUDO_USER, paths: ["/home", "/srv"] });
    const before = srv.rebuildCalls().length;
    const sudoSessions = accepted(SUDO_USER);
    expectOk(await p.up());
    expect(accepted(SUDO_USER)).toBeGreaterThan(sudoSessions);
    expect(srv.rebuildCalls().slice(before)).toEqual(["switch"]);
    expectInstalled();
    expect(fs.readFileSync(path.join(srv.configDir, "restic-b2", "module.nix"), "utf8")).toContain("/srv");
    expectOk(await p.preview("--expect-no-changes"));
  });

  test("destroy through sudo leaves the fake root byte-identical", async () => {
    const sessions = accepted(SUDO_USER);
    expectOk(await p.destroy());
    expect(accepted(SUDO_USER)).toBeGreaterThan(sessions);
    expect(snapshotTree(srv.root)).toEqual(pristine);
  });

  test("no plaintext restic password or B2 key in state, .pulumi/ or any CLI output", async () => {
    expect(password).toMatch(/^[0-9a-f]{64}$/);
    expect(findLeaks(await leakPlaces(p), { "restic password": password, "B2 key": KEY })).toEqual([]);
  });
});
