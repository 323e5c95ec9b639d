// Issue 17 under the real engine: changes that must never leave the machine
// without its backup. A port where nothing listens, a rename whose switch
// fails, sshd moved to another port, a second stack aimed at the same host;
// then the .age bytes on the host and a module.nix left by deploy: false. The tests run in order.
// Not run where there is no Pulumi installation (skipped and counted).

import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT } from "../../lib/config";
import { TestSshd, TreeEntry, snapshotTree } from "../support/sshd";
import { E2eProject, describeE2e, e2eEngine, expectOk, loopbackConfig, sshSessions, text } from "./harness";

const KEY_ID = "0042e2e0000000000000000b7";
const KEY = "K0042e2eHostChangesB2KeyNeverInPlaintext1a2b";
const BUCKET = "e2e-restic-host-changes";

let srv: TestSshd;
let p: E2eProject;
let second: E2eProject | undefined;
let pristine: TreeEntry[];

const secrets = () => ({ existingKeyId: KEY_ID, existingKey: KEY, sshPrivateKey: fs.readFileSync(srv.clientKey, "utf8") });

describeE2e("e2e host changes (issue 17)", () => {
  beforeAll(async () => {
    srv = await TestSshd.start();
    pristine = snapshotTree(srv.root);
    p = await E2eProject.create(e2eEngine(), { config: {}, secrets: secrets() });
    p.setConfig(loopbackConfig(srv, BUCKET, { backupName: "weekly" }));
    srv.setVerifyStub(true, "weekly");
    srv.setVerifyStub(true, "monthly");
    expectOk(await p.up());
  }, 180_000);

  afterAll(async () => {
    second?.cleanup();
    p?.cleanup();
    await srv?.stop();
  });

  test("sshPort set to a port where nothing listens: pulumi up fails, nothing was uninstalled, no replacement", async () => {
    const before = snapshotTree(srv.root);
    const calls = srv.rebuildCalls().length;
    const config = p.config;
    p.setConfig({ ...config, sshPort: 1 });
    const r = await p.up();
    expect(r.code).not.toBe(0);
    expect(text(r)).not.toMatch(/replaced|deleting original/);
    expect(srv.rebuildCalls().length).toBe(calls);
    expect(snapshotTree(srv.root)).toEqual(before);
    p.setConfig(config);
    expectOk(await p.preview("--expect-no-changes"));
  });

  test("rename weekly → monthly whose switch fails: the host keeps weekly byte-identical and the output says so", async () => {
    const before = snapshotTree(srv.root);
    srv.flag("fail-switch-after-profile", true);
    try {
      p.setConfig({ ...p.config, backupName: "monthly" });
      const r = await p.up();
      expect(r.code).not.toBe(0);
      expect(text(r)).toContain("restored the previous state of");
      expect(text(r)).toContain("backup weekly as before this run");
      expect(text(r)).not.toMatch(/replaced/);
      expect(snapshotTree(srv.root)).toEqual(before);
    } finally {
      srv.flag("fail-switch-after-profile", false);
    }
  });

  test("the rename then succeeds in one SSH session and one switch, as an update", async () => {
    const calls = srv.rebuildCalls().length;
    const sessions = sshSessions(srv.serverLog());
    const r = expectOk(await p.up());
    expect(text(r)).not.toMatch(/replaced/);
    expect(srv.rebuildCalls().slice(calls)).toEqual(["switch"]);
    expect(sshSessions(srv.serverLog()) - sessions).toBe(1);
    expect(fs.readFileSync(srv.ownerRecord, "utf8")).toContain("backup_name=monthly\n");
  });

  test("sshd moved to another port, the old one closed: pulumi up reaches the host on the new one, one session, one switch", async () => {
    const before = snapshotTree(srv.root);
    await srv.movePort();
    const calls = srv.rebuildCalls().length;
    p.setConfig({ ...p.config, sshPort: srv.port });
    const r = expectOk(await p.up());
    expect(text(r)).not.toMatch(/replaced|deleting original/);
    expect(sshSessions(srv.serverLog())).toBe(1);
    expect(srv.rebuildCalls().slice(calls)).toEqual(["switch"]);
    expect(snapshotTree(srv.root)).toEqual(before);
    expectOk(await p.preview("--expect-no-changes"));
  });

  test("the .age files on the host are byte-identical to the local ones", () => {
    for (const f of ["env.age", "repo.age", "password.age"]) {
      const local = fs.readFileSync(path.join(String(p.config.agenixDir), f));
      expect(fs.readFileSync(path.join(srv.configDir, "restic-b2", "secrets", f)).equals(local)).toBe(true);
    }
  });

  test("a second stack aimed at the same host is refused, naming both; the first stack's preview stays clean", async () => {
    second = await E2eProject.create(e2eEngine(), { stack: "intruder", config: {}, secrets: secrets() });
    second.setConfig(loopbackConfig(srv, `${BUCKET}-2`, { agenixDir: path.join(srv.dir, "e2e-secrets-intruder") }));
    const before = snapshotTree(srv.root);
    const r = await second.up();
    expect(r.code).not.toBe(0);
    expect(text(r)).toContain(`this host's backup belongs to stack ${PROJECT}/${p.stack}`);
    expect(text(r)).toContain(`stack ${PROJECT}/intruder does not replace it`);
    expect(snapshotTree(srv.root)).toEqual(before);
    expectOk(await p.preview("--expect-no-changes"));
    expectOk(await second.destroy());
    expect(snapshotTree(srv.root)).toEqual(before);
  });

  test("deploy: false → true removes the module.nix deploy: false wrote", async () => {
    const deployed = p.config;
    p.setConfig({ ...deployed, deploy: false });
    expectOk(await p.up());
    const local = path.join(String(deployed.agenixDir), "module.nix");
    expect(fs.existsSync(local)).toBe(true);
    p.setConfig(deployed);
    expectOk(await p.up());
    expect(fs.existsSync(local)).toBe(false);
  });

  test("destroy leaves the fake root byte-identical to before the first up", async () => {
    expectOk(await p.destroy());
    expect(snapshotTree(srv.root)).toEqual(pristine);
  });
});
