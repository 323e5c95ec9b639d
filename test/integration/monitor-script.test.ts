// lib/host/monitor.sh run directly, as systemd runs it from ExecStartPre and
// ExecStopPost, against a recording HTTP server on 127.0.0.1 and the real curl.

import * as net from "node:net";
import * as os from "node:os";
import { HttpRecorder, RecordedRequest } from "../support/http-recorder";
import { MonitorHost, MonitorRun } from "../support/monitor-host";

const INVOCATION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const RID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const UUID = "5b0bd2c6-0b5a-4e0f-9a43-8c1d2e3f4a5b";
const TOKEN = "tk_s3cr3tt0k3nvalue0123456789ab";
const TOPIC = "backups-Secret-Topic-42";
const KUMA_TOKEN = "kumaPushToken77";
const NAME = "restic-backups-daily";
const HOST = os.hostname().replace(/[^A-Za-z0-9._-]/g, "");

const JOURNAL =
  Array.from({ length: 50 }, (_, i) => `2026-12-01T02:00:${String(i).padStart(2, "0")}+0000 nixos restic[42]: line ${i + 1}`).join("\n") +
  "\n2026-12-01T02:01:00+0000 nixos restic[42]: Fatal: unable to open repository: the last line\n";

let srv: HttpRecorder;
let host: MonitorHost;
let hcFile: string;
let ntfyFile: string;
let tokenFile: string;

beforeAll(async () => {
  srv = await HttpRecorder.start();
  host = new MonitorHost();
  hcFile = host.secret("hc", srv.url(`/ping/${UUID}`) + "\n");
  ntfyFile = host.secret("ntfy-url", srv.url(`/${TOPIC}`));
  tokenFile = host.secret("ntfy-token", `${TOKEN}\n`);
  host.setJournal(JOURNAL);
});

afterAll(async () => {
  await srv.stop();
  host.cleanup();
});

beforeEach(() => srv.reset());

const finishArgs = () => ["finish", "--unit", NAME, "--healthcheck-url", hcFile, "--ntfy-url", ntfyFile, "--ntfy-token", tokenFile];
// As in the unit: its EnvironmentFile puts the B2 key in the hooks' environment too.
const failed = { SERVICE_RESULT: "exit-code", EXIT_CODE: "exited", EXIT_STATUS: "1", INVOCATION_ID: INVOCATION, B2_ACCOUNT_ID: "b2id", B2_ACCOUNT_KEY: "b2key" };
const succeeded = { SERVICE_RESULT: "success", EXIT_CODE: "exited", EXIT_STATUS: "0", INVOCATION_ID: INVOCATION };

/** No credential on any command line, nor in what the script printed (the journal). */
function expectNoSecretLeak(r: MonitorRun): void {
  expect(r.curlB2Env).toBe("");
  const argv = r.curlArgs.flat().join(" ") + " " + r.journalArgs.flat().join(" ");
  for (const secret of [UUID, TOKEN, TOPIC, KUMA_TOKEN, "127.0.0.1"]) {
    expect(argv).not.toContain(secret);
    expect(r.stdout + r.stderr).not.toContain(secret);
  }
}

function byPath(prefix: string): RecordedRequest[] {
  return srv.requests.filter((q) => q.url.startsWith(prefix));
}

describe.each(["sh", "bash"])("monitor.sh with Healthchecks and ntfy (%s)", (shell) => {
  test("a successful run: start ping, then the success ping with the run id and the journal tail; no ntfy alert", async () => {
    const start = await host.run(["start", "--unit", NAME, "--healthcheck-url", hcFile], { INVOCATION_ID: INVOCATION }, shell);
    expect(start.code).toBe(0);
    expect(srv.requests.map((q) => [q.method, q.url])).toEqual([["GET", `/ping/${UUID}/start?rid=${RID}`]]);

    const fin = await host.run(finishArgs(), succeeded, shell);
    expect(fin.code).toBe(0);
    expect(srv.requests).toHaveLength(2);
    const end = srv.requests[1];
    expect([end.method, end.url]).toEqual(["POST", `/ping/${UUID}?rid=${RID}`]);
    const body = end.body.toString("utf8");
    expect(body.split("\n")[0]).toBe(`${NAME} succeeded on ${HOST} (result success, exited, exit status 0)`);
    expect(body).toContain("line 1\n");
    expect(body.endsWith("Fatal: unable to open repository: the last line\n")).toBe(true);
    expect(byPath(`/${TOPIC}`)).toHaveLength(0);
    // This run's journal only: selected by the invocation id.
    expect(fin.journalArgs).toEqual([
      ["--no-pager", "--quiet", "--output=short-iso", `_SYSTEMD_INVOCATION_ID=${INVOCATION}`, "+", `INVOCATION_ID=${INVOCATION}`],
    ]);
    expect(fin.stdout).toContain("heartbeat success ping: sent (HTTP 200)");
    expectNoSecretLeak(start);
    expectNoSecretLeak(fin);
  });

  test("a failed backup (exit status 1): /1 with the journal, and one ntfy alert with title, priority, token and the last lines", async () => {
    const r = await host.run(finishArgs(), failed, shell);
    expect(r.code).toBe(0);
    const hc = byPath("/ping/");
    expect(hc.map((q) => [q.method, q.url])).toEqual([["POST", `/ping/${UUID}/1?rid=${RID}`]]);
    expect(hc[0].body.toString()).toMatch(new RegExp(`^${NAME} FAILED on ${HOST} \\(result exit-code, exited, exit status 1\\)\n`));
    const ntfy = byPath(`/${TOPIC}`);
    expect(ntfy).toHaveLength(1);
    expect(ntfy[0].method).toBe("POST");
    expect(ntfy[0].headers["title"]).toBe(`${HOST}: ${NAME} failed`);
    expect(ntfy[0].headers["priority"]).toBe("high");
    expect(ntfy[0].headers["authorization"]).toBe(`Bearer ${TOKEN}`);
    const msg = ntfy[0].body.toString("utf8");
    expect(msg.startsWith(`${NAME} FAILED on ${HOST}`)).toBe(true);
    expect(msg).toContain("Last journal lines:\n");
    expect(msg).toContain("line 50\n");
    expect(msg).not.toContain("line 10\n"); // only the last 40 journal lines
    expect(msg.endsWith("the last line\n")).toBe(true);
    expect(Buffer.byteLength(msg)).toBeLessThanOrEqual(4096);
    expectNoSecretLeak(r);
  });

  test("the ntfy alert shows restic's lines, not the monitor's own nor systemd's; the heartbeat keeps the whole journal", async () => {
    host.setJournal(
      [
        "2026-12-01T02:00:00+0000 nixos restic-b2-monitor[40]: heartbeat start ping: sent (HTTP 200)",
        "2026-12-01T02:00:01+0000 nixos restic-backups-daily-pre-start[41]: restic-b2-repo-lock: the restore drill finished after 3s; the backup starts",
        "2026-12-01T02:00:02+0000 nixos restic[42]: Fatal: wrong password or no key found",
        "2026-12-01T02:00:03+0000 nixos systemd[1]: restic-backups-daily.service: Main process exited, code=exited, status=12/n/a",
        "2026-12-01T02:00:04+0000 nixos systemd[1]: restic-backups-daily.service: Failed with result 'exit-code'.",
        "2026-12-01T02:00:05+0000 nixos restic-b2-monitor[43]: heartbeat /12 ping: sent (HTTP 200)",
        "",
      ].join("\n"),
    );
    try {
      await host.run(finishArgs(), { ...failed, EXIT_STATUS: "12" }, shell);
      const msg = byPath(`/${TOPIC}`).at(-1)!.body.toString("utf8");
      expect(msg.slice(msg.indexOf("Last journal lines:\n"))).toBe(
        "Last journal lines:\n" +
          "2026-12-01T02:00:01+0000 nixos restic-backups-daily-pre-start[41]: restic-b2-repo-lock: the restore drill finished after 3s; the backup starts\n" +
          "2026-12-01T02:00:02+0000 nixos restic[42]: Fatal: wrong password or no key found\n",
      );
      const hc = byPath("/ping/").at(-1)!.body.toString("utf8");
      expect(hc).toContain("restic-b2-monitor[40]: heartbeat start ping");
      expect(hc).toContain("systemd[1]: restic-backups-daily.service: Failed with result");
    } finally {
      host.setJournal(JOURNAL);
    }
  });

  test("a backup whose prune was skipped (repository locked) is a success with a warning: success ping, no ntfy alert", async () => {
    host.setJournal(
      "2026-12-01T02:00:02+0000 nixos restic[42]: snapshot 1a2b3c4d saved\n" +
        "2026-12-01T02:00:09+0000 nixos restic-b2-prune[44]: restic-b2-prune: warning: the snapshot is saved, but forget --prune could not lock the repository (another process holds it, exit 11); pruning is skipped this time (1 in a row, a failure at 7) and the next backup prunes\n",
    );
    try {
      const alerts = byPath(`/${TOPIC}`).length;
      const r = await host.run(finishArgs(), { SERVICE_RESULT: "success", EXIT_CODE: "exited", EXIT_STATUS: "0", INVOCATION_ID: INVOCATION }, shell);
      expect(r.code).toBe(0);
      const hc = byPath("/ping/").at(-1)!;
      expect(hc.url).toBe(`/ping/${UUID}?rid=${RID}`);
      expect(hc.body.toString("utf8").split("\n")[0]).toBe(
        `${NAME} succeeded on ${HOST} (result success, exited, exit status 0); warning: the prune was skipped because the repository was locked (the next backup prunes)`,
      );
      expect(byPath(`/${TOPIC}`)).toHaveLength(alerts);
    } finally {
      host.setJournal(JOURNAL);
    }
  });

  test("a failed start step (EXIT_STATUS unset): /fail, and the alert says so", async () => {
    const r = await host.run(finishArgs(), { SERVICE_RESULT: "exit-code", INVOCATION_ID: INVOCATION }, shell);
    expect(r.code).toBe(0);
    expect(byPath("/ping/").map((q) => q.url)).toEqual([`/ping/${UUID}/fail?rid=${RID}`]);
    const msg = byPath(`/${TOPIC}`)[0].body.toString();
    expect(msg).toContain("result exit-code, no main process (a start step failed)");
    expectNoSecretLeak(r);
  });

  test("exit status 3 (some files unreadable) is reported as /3; a signal as /fail, never /0", async () => {
    await host.run(finishArgs(), { ...failed, EXIT_STATUS: "3" }, shell);
    expect(byPath("/ping/").map((q) => q.url)).toEqual([`/ping/${UUID}/3?rid=${RID}`]);
    srv.reset();
    await host.run(finishArgs(), { SERVICE_RESULT: "signal", EXIT_CODE: "killed", EXIT_STATUS: "TERM", INVOCATION_ID: INVOCATION }, shell);
    expect(byPath("/ping/").map((q) => q.url)).toEqual([`/ping/${UUID}/fail?rid=${RID}`]);
    srv.reset();
    // A failed result with exit status 0 (e.g. a later step timed out) must not ping /0 (= success).
    await host.run(finishArgs(), { SERVICE_RESULT: "timeout", EXIT_CODE: "exited", EXIT_STATUS: "0", INVOCATION_ID: INVOCATION }, shell);
    expect(byPath("/ping/").map((q) => q.url)).toEqual([`/ping/${UUID}/fail?rid=${RID}`]);
    expect(byPath(`/${TOPIC}`)).toHaveLength(1);
  });
});

describe.each(["sh", "bash"])("ntfy: priorities and the recovered message (%s)", (shell) => {
  test("exit status 3 (snapshot written, some files unreadable): default priority and a title that says so; a failure: high", async () => {
    await host.run(finishArgs(), { ...failed, EXIT_STATUS: "3" }, shell);
    const [partial] = byPath(`/${TOPIC}`);
    expect(partial.headers["priority"]).toBe("default");
    expect(partial.headers["title"]).toBe(`${HOST}: ${NAME} finished with unreadable files (partial snapshot)`);
    srv.reset();
    await host.run(finishArgs(), { ...failed, EXIT_STATUS: "4" }, shell);
    expect(byPath(`/${TOPIC}`).map((q) => q.headers["priority"])).toEqual(["high"]);
  });

  test("with --state-dir: one short 'recovered' message on the first success after a failure, none after", async () => {
    const state = host.secret(`state-${shell}`, "").replace(/[^/]+$/, `monitor-state-${shell}`);
    const args = [...finishArgs(), "--state-dir", state];
    await host.run(args, succeeded, shell);
    expect(byPath(`/${TOPIC}`)).toHaveLength(0); // a success with no failure before it
    await host.run(args, failed, shell);
    expect(byPath(`/${TOPIC}`)).toHaveLength(1);
    srv.reset();
    const r = await host.run(args, succeeded, shell);
    const ntfy = byPath(`/${TOPIC}`);
    expect(ntfy).toHaveLength(1);
    expect(ntfy[0].headers["title"]).toBe(`${HOST}: ${NAME} recovered`);
    expect(ntfy[0].headers["priority"]).toBe("default");
    expect(ntfy[0].headers["authorization"]).toBe(`Bearer ${TOKEN}`);
    expect(ntfy[0].body.toString()).toBe(`${NAME} succeeded on ${HOST} (result success, exited, exit status 0)\nThe previous run had failed; this one succeeded.\n`);
    expectNoSecretLeak(r);
    srv.reset();
    await host.run(args, succeeded, shell);
    expect(byPath(`/${TOPIC}`)).toHaveLength(0);
  });
});

test("slug URLs keep their own query (?create=1) and get the suffix before it", async () => {
  const slug = host.secret("hc-slug", srv.url("/ping/pingkey123/host-daily?create=1"));
  await host.run(["start", "--unit", NAME, "--healthcheck-url", slug], { INVOCATION_ID: INVOCATION });
  await host.run(["finish", "--unit", NAME, "--healthcheck-url", slug], { ...failed, EXIT_STATUS: "12" });
  await host.run(["finish", "--unit", NAME, "--healthcheck-url", slug], succeeded);
  expect(srv.requests.map((q) => q.url)).toEqual([
    `/ping/pingkey123/host-daily/start?create=1&rid=${RID}`,
    `/ping/pingkey123/host-daily/12?create=1&rid=${RID}`,
    `/ping/pingkey123/host-daily?create=1&rid=${RID}`,
  ]);
});

test("without INVOCATION_ID there is no rid and no journal, but the ping still goes out", async () => {
  const r = await host.run(["finish", "--unit", NAME, "--healthcheck-url", hcFile], { SERVICE_RESULT: "success" });
  expect(r.journalArgs).toEqual([]);
  expect(srv.requests.map((q) => q.url)).toEqual([`/ping/${UUID}`]);
});

describe("Uptime Kuma push URLs", () => {
  // As copied from Kuma's UI, with the query string it shows.
  let kuma: string;
  beforeAll(() => {
    kuma = host.secret("kuma", srv.url(`/api/push/${KUMA_TOKEN}?status=up&msg=OK&ping=`));
  });

  test("no start push; up with a message on success; down with the last journal line on failure", async () => {
    const start = await host.run(["start", "--unit", NAME, "--healthcheck-url", kuma], { INVOCATION_ID: INVOCATION });
    expect(start.code).toBe(0);
    expect(srv.requests).toHaveLength(0);

    await host.run(["finish", "--unit", NAME, "--healthcheck-url", kuma], succeeded);
    await host.run(["finish", "--unit", NAME, "--healthcheck-url", kuma], failed);
    expect(srv.requests.map((q) => q.method)).toEqual(["GET", "GET"]);
    const [up, down] = srv.requests.map((q) => new URL(q.url, "http://x"));
    expect(up.pathname).toBe(`/api/push/${KUMA_TOKEN}`);
    expect(up.searchParams.get("status")).toBe("up");
    expect(up.searchParams.get("msg")).toBe(`${NAME} succeeded on ${HOST} (result success, exited, exit status 0)`);
    expect(down.searchParams.get("status")).toBe("down");
    expect(down.searchParams.get("msg")).toMatch(/FAILED .*: 2026-12-01T02:01:00\+0000 nixos restic\[42\]: Fatal: unable to open repository: the last line$/);
    expect([...up.searchParams.keys()].sort()).toEqual(["msg", "status"]);
  });

  test("with --state-dir: ping= is the run's duration in milliseconds, from the start hook to the result", async () => {
    const state = host.secret("kuma-state", "").replace(/[^/]+$/, "kuma-monitor-state");
    await host.run(["start", "--unit", NAME, "--healthcheck-url", kuma, "--state-dir", state], { INVOCATION_ID: INVOCATION });
    await new Promise((res) => setTimeout(res, 1200));
    await host.run(["finish", "--unit", NAME, "--healthcheck-url", kuma, "--state-dir", state], succeeded);
    const up = new URL(srv.requests[0].url, "http://x");
    const ms = Number(up.searchParams.get("ping"));
    expect(up.searchParams.get("ping")).toMatch(/^\d+$/);
    expect(ms).toBeGreaterThanOrEqual(1200);
    expect(ms).toBeLessThan(60_000);
    // Without a start time (it is used once), no ping=.
    srv.reset();
    await host.run(["finish", "--unit", NAME, "--healthcheck-url", kuma, "--state-dir", state], failed);
    expect(new URL(srv.requests[0].url, "http://x").searchParams.has("ping")).toBe(false);
  });
});

describe("a dead or hanging ping service never changes the result and is bounded in time", () => {
  test("nothing listening: exits 0 at once, for start and finish", async () => {
    const port = await closedPort();
    const dead = host.secret("dead", `http://127.0.0.1:${port}/ping/${UUID}`);
    const deadNtfy = host.secret("dead-ntfy", `http://127.0.0.1:${port}/${TOPIC}`);
    const s = await host.run(["start", "--unit", NAME, "--healthcheck-url", dead], { INVOCATION_ID: INVOCATION });
    const f = await host.run(["finish", "--unit", NAME, "--healthcheck-url", dead, "--ntfy-url", deadNtfy], failed);
    for (const r of [s, f]) {
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(5000);
      expect(r.stdout).toMatch(/not delivered \(curl exit 7, HTTP 000\); the unit's result is not affected/);
      expectNoSecretLeak(r);
    }
  });

  test("a server that never answers: each try is cut at --max-time, retries stop at --retry-max-time", async () => {
    srv.reset("hang");
    const opts = ["--max-time", "1", "--retries", "5", "--retry-max-time", "3"];
    const s = await host.run(["start", "--unit", NAME, "--healthcheck-url", hcFile, ...opts], { INVOCATION_ID: INVOCATION });
    expect(s.code).toBe(0);
    // retries start within 3 s, each try lasts at most 1 s: about 4 s, never the 6 tries x 1 s + backoff.
    expect(s.ms).toBeLessThan(6000);
    expect(s.stdout).toMatch(/heartbeat start ping: not delivered \(curl exit 28/);
    const tries = srv.requests.length;
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(tries).toBeLessThan(6);

    srv.reset("hang");
    const f = await host.run([...finishArgs(), ...opts], failed);
    expect(f.code).toBe(0);
    // heartbeat and alert in parallel: the same bound, not twice it.
    expect(f.ms).toBeLessThan(6000);
    expect(byPath("/ping/").length).toBeGreaterThanOrEqual(1);
    expect(byPath(`/${TOPIC}`).length).toBeGreaterThanOrEqual(1);
  });

  test("HTTP 503 is retried, HTTP 404 is not; both exit 0", async () => {
    srv.reset({ status: 503 });
    const r = await host.run(["start", "--unit", NAME, "--healthcheck-url", hcFile, "--retries", "2"], { INVOCATION_ID: INVOCATION });
    expect(r.code).toBe(0);
    expect(srv.requests).toHaveLength(3);
    expect(r.stdout).toContain("HTTP 503");
    srv.reset({ status: 404 });
    const n = await host.run(["start", "--unit", NAME, "--healthcheck-url", hcFile], { INVOCATION_ID: INVOCATION });
    expect(n.code).toBe(0);
    expect(srv.requests).toHaveLength(1);
    expect(n.stdout).toContain("curl exit 22, HTTP 404");
  }, 20000);
});

test("an oversized journal is cut to its tail: within the self-hosted 10 000-byte limit and ntfy's 4 096", async () => {
  const big = Array.from({ length: 20000 }, (_, i) => `2026-12-01T02:00:00+0000 nixos restic[42]: file ${i} ${"x".repeat(40)}`).join("\n") + "\nTHE END\n";
  expect(big.length).toBeGreaterThan(1_000_000);
  host.setJournal(big);
  try {
    const r = await host.run(finishArgs(), failed);
    expect(r.code).toBe(0);
    const hc = byPath("/ping/")[0].body.toString("utf8");
    expect(Buffer.byteLength(hc)).toBeLessThanOrEqual(10000);
    expect(Buffer.byteLength(hc)).toBeGreaterThan(9000);
    const lines = hc.split("\n");
    expect(lines[0]).toMatch(/FAILED/);
    expect(lines[1]).toBe("[... earlier lines cut ...]");
    // Whole lines only after the marker, ending with the journal's end.
    expect(lines[2]).toMatch(/^2026-12-01T02:00:00\+0000 nixos restic\[42\]: file \d+ x{40}$/);
    expect(hc.endsWith("file 19999 " + "x".repeat(40) + "\nTHE END\n")).toBe(true);
    const ntfy = byPath(`/${TOPIC}`)[0].body.toString("utf8");
    expect(Buffer.byteLength(ntfy)).toBeLessThanOrEqual(4096);
    expect(ntfy.endsWith("THE END\n")).toBe(true);
  } finally {
    host.setJournal(JOURNAL);
  }
});

test("missing or malformed credential files: a message naming the file, never a value, and exit 0", async () => {
  const bad = host.secret("bad", `not a url ${UUID}`);
  const r = await host.run(["finish", "--unit", NAME, "--healthcheck-url", bad, "--ntfy-url", host.secrets + "/missing"], failed);
  expect(r.code).toBe(0);
  expect(srv.requests).toHaveLength(0);
  expect(r.stdout).toContain(`heartbeat: ${bad} does not hold an http(s) URL; nothing sent`);
  expect(r.stdout).toMatch(/ntfy: cannot read .*missing; nothing sent/);
  expect(r.stdout).not.toContain(UUID);
  const u = await host.run(["bogus"], {});
  expect(u.code).toBe(0);
  expect(u.stdout).toContain("usage:");
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
