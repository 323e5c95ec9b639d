// lib/host/monitor.sh on the loopback fake NixOS host (real sshd, the
// harness's stub journalctl, the real curl), reporting to a recording HTTP
// server on 127.0.0.1, as the unit would run it after a failed backup.

import * as fs from "node:fs";
import * as path from "node:path";
import { shellQuote } from "../../lib/host/shell";
import { MONITOR_SCRIPT } from "../../lib/host/scripts";
import { HttpRecorder } from "../support/http-recorder";
import { TestSshd, requireRoot } from "../support/sshd";

const UUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const INVOCATION = "00112233445566778899aabbccddeeff";
let srv: HttpRecorder;
let sshd: TestSshd;
let agenix: string;

beforeAll(async () => {
  requireRoot();
  srv = await HttpRecorder.start();
  sshd = await TestSshd.start();
  agenix = path.join(sshd.dir, "run-agenix");
  fs.mkdirSync(agenix, { mode: 0o700 });
  fs.writeFileSync(path.join(agenix, "hc"), srv.url(`/ping/${UUID}`), { mode: 0o400 });
  fs.writeFileSync(path.join(agenix, "ntfy"), srv.url("/alerts-topic"), { mode: 0o400 });
});

afterAll(async () => {
  await sshd?.stop();
  await srv?.stop();
});

function remote(action: string, env: string): string {
  const args = [action, "--unit", "restic-backups-daily", "--healthcheck-url", path.join(agenix, "hc")];
  if (action === "finish") args.push("--ntfy-url", path.join(agenix, "ntfy"));
  return `${env} sh -c ${shellQuote(MONITOR_SCRIPT)} restic-b2-monitor ${args.map(shellQuote).join(" ")}`;
}

test.each([false, true])("a failed run reported from the host (sh is bash: %s)", async (bash) => {
  srv.reset();
  sshd.useBashAsSh(bash);
  const start = await sshd.run(remote("start", `INVOCATION_ID=${INVOCATION}`));
  expect(start.code).toBe(0);
  const fin = await sshd.run(remote("finish", `SERVICE_RESULT=exit-code EXIT_CODE=exited EXIT_STATUS=1 INVOCATION_ID=${INVOCATION}`));
  expect(fin.code).toBe(0);
  const rid = "00112233-4455-6677-8899-aabbccddeeff";
  const hc = srv.requests.filter((r) => r.url.startsWith("/ping/"));
  expect(hc.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /ping/${UUID}/start?rid=${rid}`, `POST /ping/${UUID}/1?rid=${rid}`]);
  const body = hc[1].body.toString();
  // The harness's stub journalctl, asked for this invocation only.
  expect(body).toContain("stub-journal: restic[123]: Fatal: unable to open config file: B2 bucket not found");
  expect(sshd.callLog("journalctl.calls").pop()).toBe(
    `--no-pager --quiet --output=short-iso _SYSTEMD_INVOCATION_ID=${INVOCATION} + INVOCATION_ID=${INVOCATION}`,
  );
  const ntfy = srv.requests.filter((r) => r.url === "/alerts-topic");
  expect(ntfy).toHaveLength(1);
  expect(ntfy[0].headers["priority"]).toBe("high");
  expect(ntfy[0].headers["title"]).toMatch(/: restic-backups-daily failed$/);
  expect(ntfy[0].body.toString()).toContain("B2 bucket not found");
  expect(fin.stdout + fin.stderr).not.toContain(UUID);
  sshd.useBashAsSh(false);
});
