// Issue 11 under the real engine: with a heartbeat URL, an ntfy topic and
// token, and the drill's own heartbeat URL set (all secrets), each reaches the
// host only inside its own agenix file; the module, the evaluated units, the
// command lines, the state and every CLI output hold none of them; an
// unchanged configuration still runs nothing on the host; removing a key
// removes its file; destroy leaves the fake root as it was.

import * as fs from "node:fs";
import * as path from "node:path";
import { TestSshd, TreeEntry, snapshotTree } from "../support/sshd";
import { E2eProject, ageDecrypt, expectOk, findLeaks, leakPlaces, sshSessions, loopbackConfig, describeE2e, e2eEngine } from "./harness";

const HC = "https://hc-ping.com/3f2a9c1e-7b4d-4e8a-9c0f-1d2e3f4a5b6c";
const NTFY = "https://ntfy.sh/e2e-alerts-7Hq2xK9pLm4Rt8Vw";
const TOKEN = "tk_e2etoken0123456789abcdefghij";
const DRILL_HC = "https://hc-ping.com/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const KEY = "K0042e2eMonitoringB2KeyNeverInPlaintext9z";

let srv: TestSshd;
let p: E2eProject;
let pristine: TreeEntry[];
const secretsOnHost = () => path.join(srv.configDir, "restic-b2", "secrets");
const moduleOnHost = () => fs.readFileSync(path.join(srv.configDir, "restic-b2", "module.nix"), "utf8");

describeE2e("e2e monitoring", () => {
  beforeAll(async () => {
    srv = await TestSshd.start();
    pristine = snapshotTree(srv.root);
    p = await E2eProject.create(e2eEngine(), {
      config: loopbackConfig(srv, "e2e-restic-monitoring"),
      secrets: {
        existingKeyId: "0042e2e0000000000000000m1",
        existingKey: KEY,
        sshPrivateKey: fs.readFileSync(srv.clientKey, "utf8"),
        healthcheckUrl: HC,
        ntfyUrl: NTFY,
        ntfyToken: TOKEN,
        drillHealthcheckUrl: DRILL_HC,
      },
    });
  }, 120_000);

  afterAll(async () => {
    p?.cleanup();
    await srv?.stop();
  });

  test("pulumi up: each credential is in its own .age file on the host, which opens with the host key to exactly it", async () => {
    expectOk(await p.up());
    expect(srv.rebuildCalls()).toEqual(["switch"]);
    const files: Record<string, string> = { "healthcheck.age": HC, "ntfy-url.age": NTFY, "ntfy-token.age": TOKEN, "drill-healthcheck.age": DRILL_HC };
    for (const [f, value] of Object.entries(files)) {
      const file = path.join(secretsOnHost(), f);
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
      expect(ageDecrypt(srv.hostKey, file).trim()).toBe(value);
    }
    // The module names the agenix paths, never the values; the stub switch
    // evaluated it with the real NixOS module system into units that hold the
    // hooks (and no value either).
    const mod = moduleOnHost();
    expect(mod).toContain("--healthcheck-url ${config.age.secrets.restic-b2-daily-healthcheck.path}");
    expect(mod).toContain("--name restic-b2-drill-daily --healthcheck-url ${config.age.secrets.restic-b2-daily-drill-healthcheck.path}");
    const evaluated = fs.readFileSync(path.join(srv.state, "eval.out"), "utf8");
    expect(evaluated).toContain("restic-b2-monitor");
    for (const value of Object.values(files)) {
      expect(mod).not.toContain(value);
      expect(evaluated).not.toContain(value);
    }
  });

  test("a second run changes nothing and runs nothing on the host", async () => {
    const sessions = sshSessions(srv.serverLog());
    expectOk(await p.preview("--expect-no-changes"));
    expectOk(await p.up());
    expect(srv.rebuildCalls()).toEqual(["switch"]);
    expect(sshSessions(srv.serverLog())).toBe(sessions);
  });

  test("removing ntfyToken re-deploys once, and its file leaves the host", async () => {
    p.removeSecret("ntfyToken");
    expectOk(await p.up());
    expect(srv.rebuildCalls()).toEqual(["switch", "switch"]);
    expect(fs.existsSync(path.join(secretsOnHost(), "ntfy-token.age"))).toBe(false);
    expect(fs.existsSync(path.join(secretsOnHost(), "ntfy-url.age"))).toBe(true);
    // (The embedded monitor script documents the option; no hook passes it any more.)
    expect(moduleOnHost()).not.toContain("--ntfy-token ${config.age.secrets");
    expect(moduleOnHost()).toContain("--ntfy-url ${config.age.secrets.restic-b2-daily-ntfy-url.path}");
  });

  test("no credential in state, .pulumi/, the stack file or any CLI output", async () => {
    const leaks = findLeaks(await leakPlaces(p), { healthcheckUrl: HC, ntfyUrl: NTFY, ntfyToken: TOKEN, drillHealthcheckUrl: DRILL_HC, "B2 key": KEY });
    expect(leaks).toEqual([]);
  });

  test("pulumi destroy leaves the fake root byte-identical to before the first up", async () => {
    expectOk(await p.destroy());
    expect(snapshotTree(srv.root)).toEqual(pristine);
  });
});
