// `npm run status` end to end: stacks created with the real Pulumi CLI in a
// copy of the project, read back through the Automation API by the
// documented entry point (node -r ts-node/register/transpile-only
// lib/status/main.ts), two fake hosts over real sshd with real restic.
// Needs the Pulumi CLI (the one lib/engine/find.ts picks; scripts/build-engine.sh
// builds one) and root (sshd): `npm run test:cli`.

import * as fs from "node:fs";
import * as path from "node:path";
import type { HostStatus } from "../../lib/status/report";
import { AdminProject } from "../support/admin-project";
import { FakeBackupHost, setUpBackupHost, unixStamp } from "../support/status-host";
import { TestSshd, requireRoot } from "../support/sshd";

const HOUR = 3_600_000;
const suffix = Math.random().toString(36).slice(2, 8);
let admin: AdminProject;
let fresh: TestSshd;
let stale: TestSshd;
let freshHost: FakeBackupHost;
let staleHost: FakeBackupHost;

const pulumi = (args: string[], input?: string) => admin.pulumi(args, input);

function stack(name: string, s: TestSshd, backupName: string, extra: [string, string][] = []): void {
  pulumi(["stack", "init", name]);
  const set = (k: string, v: string) => pulumi(["config", "set", "--stack", name, k, v]);
  set("host", "127.0.0.1");
  set("sshPort", String(s.port));
  set("hostKey", s.hostPublicKey());
  set("backupName", backupName);
  pulumi(["config", "set", "--stack", name, "--path", "paths[0]", "/home"]);
  for (const [k, v] of extra) set(k, v);
  // The private key goes in on stdin, as the README says.
  pulumi(["config", "set", "--stack", name, "--secret", "sshPrivateKey"], fs.readFileSync(s.clientKey, "utf8"));
  pulumi(["config", "set", "--stack", name, "--secret", "healthcheckUrl"], "https://hc-ping.com/5b0bd2c6-0b5a-4e0f-9a43-8c1d2e3f4a5b");
}

const status = (args: string[]) => admin.run("lib/status/main.ts", args);

beforeAll(async () => {
  requireRoot();
  admin = new AdminProject("status");
  const { dir } = admin;

  [fresh, stale] = await Promise.all([TestSshd.start(), TestSshd.start()]);
  freshHost = setUpBackupHost(fresh, `clifresh${suffix}`);
  staleHost = setUpBackupHost(stale, `clistale${suffix}`);
  const src = path.join(dir, "src");
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, "a"), "data");
  freshHost.restic(["backup", src]);
  staleHost.restic(["backup", "--time", new Date(Date.now() - 30 * HOUR).toISOString().slice(0, 19).replace("T", " "), src]);
  const now = Date.now();
  for (const h of [freshHost, staleHost]) {
    h.setService({ LoadState: "loaded", ActiveState: "inactive", Result: "success", ExecMainStartTimestamp: unixStamp(new Date(now - HOUR)), ExecMainStatus: "0" });
    h.setTimer({ LoadState: "loaded", ActiveState: "active", NextElapseUSecRealtime: unixStamp(new Date(now + 10 * HOUR)) });
  }
  stack("laptop", fresh, freshHost.name);
  stack("server", stale, staleHost.name);
  // A machine deployed by another tool: listed, never contacted.
  pulumi(["stack", "init", "offline"]);
  pulumi(["config", "set", "--stack", "offline", "deploy", "false"]);
  pulumi(["config", "set", "--stack", "offline", "hostKey", fresh.hostPublicKey()]);
  pulumi(["config", "set", "--stack", "offline", "--path", "paths[0]", "/home"]);
}, 180000);

afterAll(async () => {
  freshHost?.cleanup();
  staleHost?.cleanup();
  await Promise.all([fresh?.stop(), stale?.stop()]);
  admin?.remove();
});

test("all stacks: both hosts and the offline stack in the table, exit 1 for the 30 h old snapshot", async () => {
  const r = await status([]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(1);
  const lines = r.stdout.split("\n");
  expect(lines[0]).toMatch(/^STACK\s+HOST\s+LAST RUN/);
  expect(lines.find((l) => l.startsWith("laptop "))).toMatch(/success\s+.*\s+OK$/);
  expect(lines.find((l) => l.startsWith("offline "))).toMatch(/not checked \(deploy: false\)$/);
  expect(lines.find((l) => l.startsWith("server "))).toMatch(/ATTENTION$/);
  expect(r.stdout).toMatch(/server: newest snapshot is 30h old, over the 26h limit/);
  // No secret of any stack in the output.
  const key = fs.readFileSync(fresh.clientKey, "utf8").split("\n")[1];
  expect(r.stdout).not.toContain(key);
  expect(r.stdout).not.toContain("5b0bd2c6");
}, 120000);

test("--json parses; --stack picks one; --max-age raises the limit", async () => {
  const j = await status(["--json"]);
  expect(j.code).toBe(1);
  const parsed = JSON.parse(j.stdout) as { ok: boolean; machines: HostStatus[] };
  expect(parsed.machines.map((m) => m.stack)).toEqual(["laptop", "offline", "server"]);
  const laptop = parsed.machines[0];
  const mine = JSON.parse(freshHost.restic(["snapshots", "--json"])) as { id: string }[];
  expect(laptop.snapshot?.id).toBe(mine[0].id);
  expect(parsed.machines[2].problems).toEqual([expect.stringMatching(/over the 26h limit/)]);

  const one = await status(["--stack", "laptop", "--json"]);
  expect(one.code).toBe(0);
  expect((JSON.parse(one.stdout) as { machines: HostStatus[] }).machines.map((m) => m.stack)).toEqual(["laptop"]);
  const lenient = await status(["--max-age", "2d"]);
  expect(lenient.code).toBe(0);
  const unknown = await status(["--stack", "nope"]);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/no stack named "nope"/);
}, 180000);

test("--help by the documented entry point prints the usage and exits 0", async () => {
  const r = await status(["--help"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^usage: npm run status/);
  expect(r.stderr).toBe("");
});
