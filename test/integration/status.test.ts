// The status command against two fake NixOS hosts (real sshd on 127.0.0.1,
// stub systemctl, the real restic against local repositories), from stack
// targets as lib/status/stacks.ts makes them (the Automation API part is in
// test/cli/status.test.ts, which needs the Pulumi CLI).

import * as fs from "node:fs";
import * as net from "node:net";
import { HostStatus, StackTarget, exitCode, formatJson, formatTable } from "../../lib/status/report";
import { checkTarget } from "../../lib/status/main";
import { FakeBackupHost, setUpBackupHost, unixStamp } from "../support/status-host";
import { TestSshd, requireRoot } from "../support/sshd";

const suffix = Math.random().toString(36).slice(2, 8);
let fresh: TestSshd;
let stale: TestSshd;
let freshHost: FakeBackupHost;
let staleHost: FakeBackupHost;
let src: string;
const HOUR = 3_600_000;

function target(s: TestSshd, name: string, stack: string, over: Partial<StackTarget> = {}): StackTarget {
  return {
    stack,
    backupName: name,
    deploy: true,
    host: "127.0.0.1",
    sshPort: s.port,
    sshUser: "root",
    hostKey: s.hostPublicKey(),
    sshPrivateKey: fs.readFileSync(s.clientKey, "utf8"),
    maxAgeHours: 26,
    ...over,
  };
}

beforeAll(async () => {
  requireRoot();
  [fresh, stale] = await Promise.all([TestSshd.start(), TestSshd.start()]);
  freshHost = setUpBackupHost(fresh, `fresh${suffix}`);
  staleHost = setUpBackupHost(stale, `stale${suffix}`);
  src = fs.mkdtempSync("/tmp/restic-b2-status-src-");
  fs.writeFileSync(`${src}/file.txt`, "x".repeat(5000));
  freshHost.restic(["backup", "--host", "laptop", src]);
  // Older than the 26 h limit: backed up "three days ago", and nothing since.
  const old = new Date(Date.now() - 72 * HOUR);
  staleHost.restic(["backup", "--host", "server", "--time", old.toISOString().slice(0, 19).replace("T", " "), src]);
  const now = new Date();
  freshHost.setService({ LoadState: "loaded", ActiveState: "inactive", SubState: "dead", Result: "success", ExecMainStartTimestamp: unixStamp(new Date(now.getTime() - HOUR)), ExecMainExitTimestamp: unixStamp(now), ExecMainCode: "1", ExecMainStatus: "0" });
  freshHost.setTimer({ LoadState: "loaded", ActiveState: "active", NextElapseUSecRealtime: unixStamp(new Date(now.getTime() + 20 * HOUR)), LastTriggerUSec: unixStamp(new Date(now.getTime() - HOUR)) });
  freshHost.setDrill({ version: 1, time: "2026-11-30T03:00:00Z", durationSeconds: 42, result: "pass", reason: "", snapshot: "abcd1234", filesRestored: 3, bytesRestored: 100, checkSubset: "1/12" });
  staleHost.setService({ LoadState: "loaded", ActiveState: "failed", SubState: "failed", Result: "exit-code", ExecMainStartTimestamp: unixStamp(new Date(now.getTime() - 2 * HOUR)), ExecMainExitTimestamp: unixStamp(new Date(now.getTime() - 2 * HOUR)), ExecMainCode: "1", ExecMainStatus: "1" });
  staleHost.setTimer({ LoadState: "loaded", ActiveState: "active", NextElapseUSecRealtime: unixStamp(new Date(now.getTime() + 22 * HOUR)) });
  staleHost.setDrill(undefined);
}, 120000);

afterAll(async () => {
  freshHost?.cleanup();
  staleHost?.cleanup();
  if (src) fs.rmSync(src, { recursive: true, force: true });
  await Promise.all([fresh?.stop(), stale?.stop()]);
});

let results: HostStatus[];

test("both hosts in parallel: the fresh one is OK, the stale one is reported with its reasons", async () => {
  const t0 = Date.now();
  results = await Promise.all([target(fresh, freshHost.name, "laptop"), target(stale, staleHost.name, "server")].map((t) => checkTarget(t)));
  const [f, s] = results;
  expect(Date.now() - t0).toBeLessThan(60000);

  // The snapshot is restic's own: compare with what restic itself lists.
  const mine = JSON.parse(freshHost.restic(["snapshots", "--json"])) as { id: string; short_id: string; time: string }[];
  expect(f.reachable).toBe(true);
  expect(f.snapshot).toMatchObject({ id: mine[0].id, shortId: mine[0].short_id, hostname: "laptop", paths: [src] });
  expect(Date.parse(f.snapshot!.time)).toBe(Date.parse(mine[0].time));
  expect(f.lastRun).toMatchObject({ result: "success", activeState: "inactive", exitStatus: 0 });
  expect(f.timer?.next).toBeDefined();
  expect(f.drill).toEqual({ time: "2026-11-30T03:00:00Z", result: "pass", reason: "", snapshot: "abcd1234" });
  expect(f.problems).toEqual([]);

  expect(s.reachable).toBe(true);
  expect(s.snapshotAgeHours).toBeGreaterThan(71);
  expect(s.drill).toBeNull();
  expect(s.problems).toEqual([
    "last run failed (exit-code, exit status 1)",
    expect.stringMatching(/^newest snapshot is 3d old, over the 26h limit$/),
  ]);
  expect(exitCode(results)).toBe(1);
});

test("the table shows both machines; --json parses back to the same data", () => {
  const table = formatTable(results);
  const lines = table.split("\n");
  expect(lines[0]).toMatch(/^STACK\s+HOST\s+LAST RUN\s+RESULT\s+NEXT RUN\s+NEWEST SNAPSHOT\s+AGE\s+SIZE\s+DRILL\s+PROTECTED\s+STATUS$/);
  expect(lines[1]).toMatch(new RegExp(`^laptop\\s+127\\.0\\.0\\.1\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\s+success\\s+.*${results[0].snapshot!.shortId}.*pass 2026-11-30\\s+-\\s+OK$`));
  expect(lines[2]).toMatch(/^server\s+127\.0\.0\.1\s+.*exit-code\s+.*3d\s+-\s+none yet\s+-\s+ATTENTION$/);
  expect(table).toContain("server: last run failed (exit-code, exit status 1)");
  const parsed = JSON.parse(formatJson(results, new Date())) as { ok: boolean; machines: HostStatus[] };
  expect(parsed.ok).toBe(false);
  expect(parsed.machines.map((m) => m.stack)).toEqual(["laptop", "server"]);
  expect(parsed.machines[0].snapshot).toEqual(results[0].snapshot);
  // No private key anywhere in the report.
  expect(JSON.stringify(parsed) + table).not.toMatch(/PRIVATE KEY/);
});

test("an empty repository: 'no snapshot yet'; a wrong repository password: restic's message", async () => {
  const other = setUpBackupHost(fresh, `empty${suffix}`);
  try {
    other.setService({ LoadState: "loaded", ActiveState: "inactive", Result: "success" });
    other.setTimer({ LoadState: "loaded", ActiveState: "active" });
    const r = await checkTarget(target(fresh, other.name, "empty"));
    expect(r.snapshot).toBeNull();
    expect(r.problems).toEqual(["no snapshot yet"]);
    expect(r.lastRun?.start).toBeUndefined();
    expect(formatTable([r])).toMatch(/not since boot/);
    fs.writeFileSync(other.passwordFile, "wrong\n");
    const w = await checkTarget(target(fresh, other.name, "empty"));
    expect(w.snapshotError).toMatch(new RegExp(`^restic-${other.name} snapshots exited [1-9]\\d*: .*(wrong password|no key found)`));
  } finally {
    other.cleanup();
  }
});

test("unreachable: a closed port, and a host showing another key than the pinned one", async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const closed = await checkTarget(target(fresh, freshHost.name, "gone", { sshPort: port }));
  expect(closed.reachable).toBe(false);
  expect(closed.problems[0]).toMatch(/^unreachable: .*(refused|Connection)/);
  const mismatch = await checkTarget(target(fresh, freshHost.name, "imposter", { hostKey: stale.hostPublicKey() }));
  expect(mismatch.reachable).toBe(false);
  expect(mismatch.problems[0]).toMatch(/^unreachable: .*(Host key verification failed|host key)/i);
  expect(formatTable([closed])).toMatch(/UNREACHABLE/);
  expect(exitCode([closed])).toBe(1);
});

test("deploy: false is listed without SSH and does not fail the run; a bad configuration does", async () => {
  const local = await checkTarget({ ...target(fresh, freshHost.name, "offline"), deploy: false, repository: "b2:bucket:offline" });
  expect(local.checked).toBe(false);
  expect(local.problems).toEqual([]);
  expect(formatTable([local])).toMatch(/offline\s+127\.0\.0\.1\s+-.*not checked \(deploy: false\) b2:bucket:offline/);
  const bad = await checkTarget({ ...target(fresh, freshHost.name, "broken"), configError: "nixos-restic-b2:hostKey: is required" });
  expect(bad.problems).toEqual(["configuration: nixos-restic-b2:hostKey: is required"]);
  expect(exitCode([local])).toBe(0);
  expect(exitCode([local, bad])).toBe(1);
});
