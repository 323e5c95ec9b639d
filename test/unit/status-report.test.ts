// The pure half of `npm run status`: remote output parsing, the verdict, the
// formatters, argument parsing and the stack-config mapping. No I/O.

import { HostStatus, defaultMaxAgeHours, exitCode, formatAge, formatTable, judge, newestSnapshot, parseMaxAge, parseStatusOutput, splitSections, statusCommand, systemdTime } from "../../lib/status/report";
import { parseArgs } from "../../lib/status/main";
import { targetFromConfig } from "../../lib/status/stacks";

const NONCE = "a1b2c3d4e5f6a7b8";
const NOW = new Date("2026-12-01T12:00:00Z");

function status(over: Partial<HostStatus> = {}): HostStatus {
  return { stack: "laptop", backupName: "daily", host: "laptop.lan", checked: true, reachable: true, maxAgeHours: 26, problems: [], ...over };
}

function output(parts: Record<string, string>): string {
  return Object.entries(parts).map(([k, v]) => `\n==${NONCE} ${k}==\n${v}`).join("") + `\n==${NONCE} end==\n`;
}

const SNAP = (time: string, id: string, extra: object = {}) => ({ time, id, short_id: id.slice(0, 8), hostname: "h", paths: ["/home"], ...extra });

describe("newestSnapshot", () => {
  test("takes the newest across host+paths groups, with the summary size when present", () => {
    const json = JSON.stringify([
      SNAP("2026-11-30T02:00:00.123+01:00", "a".repeat(64)),
      SNAP("2026-12-01T01:00:00Z", "b".repeat(64), { summary: { total_bytes_processed: 1234, data_added: 56 } }),
      SNAP("2026-11-29T02:00:00Z", "c".repeat(64)),
    ]);
    expect(newestSnapshot(json)).toEqual({
      time: "2026-12-01T01:00:00.000Z", id: "b".repeat(64), shortId: "bbbbbbbb", hostname: "h", paths: ["/home"], sizeBytes: 1234, dataAdded: 56,
    });
  });
  test("also the --group-by form, an empty repository, and garbage", () => {
    const grouped = JSON.stringify([{ group_key: {}, snapshots: [SNAP("2026-01-01T00:00:00Z", "d".repeat(64))] }]);
    expect(newestSnapshot(grouped)?.id).toBe("d".repeat(64));
    expect(newestSnapshot("[]")).toBeNull();
    expect(() => newestSnapshot("{}")).toThrow(/did not print a list/);
    expect(() => newestSnapshot('[{"x":1}]')).toThrow(/without a time or id/);
    expect(() => newestSnapshot("not json")).toThrow();
  });
});

test("systemd timestamps: unix, UTC text, and 'none'", () => {
  expect(systemdTime("@1764590400")).toBe("2025-12-01T12:00:00.000Z");
  expect(systemdTime("Tue 2026-12-01 02:00:03 UTC")).toBe("2026-12-01T02:00:03.000Z");
  for (const v of ["", "n/a", "0", "@0", undefined, "Tue 2026-12-01 02:00:03 CET"]) expect(systemdTime(v)).toBeUndefined();
});

describe("parseStatusOutput", () => {
  test("a full answer; markers without the nonce are plain text", () => {
    const s = status();
    parseStatusOutput(
      "motd noise\n" +
        output({
          version: "1",
          service: "LoadState=loaded\nActiveState=inactive\nResult=success\nExecMainStartTimestamp=@1764554400\nExecMainStatus=0",
          timer: "LoadState=loaded\nActiveState=active\nNextElapseUSecRealtime=@1764633600",
          snapshots: JSON.stringify([SNAP("2026-12-01T02:00:00Z", "e".repeat(64))]),
          snapshoterr: `==${"0".repeat(16)} end==\n${NONCE} exit 0`,
          drill: '{"version":1,"time":"2026-11-30T03:00:00Z","result":"fail","reason":"hash mismatch","snapshot":"eeee"}',
        }),
      NONCE,
      s,
    );
    expect(s.error).toBeUndefined();
    expect(s.lastRun).toEqual({ start: "2025-12-01T02:00:00.000Z", end: undefined, result: "success", activeState: "inactive", loadState: "loaded", exitStatus: 0 });
    expect(s.timer?.next).toBe("2025-12-02T00:00:00.000Z");
    expect(s.snapshot?.shortId).toBe("eeeeeeee");
    expect(s.drill).toEqual({ time: "2026-11-30T03:00:00Z", result: "fail", reason: "hash mismatch", snapshot: "eeee" });
    judge(s, NOW);
    expect(s.snapshotAgeHours).toBe(10);
    expect(s.problems).toEqual(["last restore drill: fail (hash mismatch)"]);
  });

  test("restic failing, no drill yet, output cut off", () => {
    const s = status();
    const text = output({
      service: "LoadState=loaded\nResult=success",
      timer: "LoadState=loaded\nActiveState=inactive",
      snapshots: "",
      snapshoterr: `Fatal: wrong password or no key found\n${NONCE} exit 12`,
      drill: "none",
    });
    parseStatusOutput(text.replace(`==${NONCE} end==\n`, ""), NONCE, s);
    judge(s, NOW);
    expect(s.drill).toBeNull();
    expect(s.problems).toEqual([
      "the status script did not finish (no end marker in its output)",
      "timer is inactive: no backup is scheduled",
      "restic-daily snapshots exited 12: Fatal: wrong password or no key found",
    ]);
  });

  test("sections split on the exact marker only", () => {
    const m = splitSections(`x\n==${NONCE} a==\n1\n==${NONCE}  b==\n2\n\n`, NONCE);
    expect([...m.entries()]).toEqual([["a", ["1", `==${NONCE}  b==`, "2"]]]);
  });
});

describe("judge and exit status", () => {
  test("stale, failed, unit missing, unreachable; unchecked stacks never fail the run", () => {
    const fresh = judge(status({ snapshot: { time: "2026-12-01T00:00:00Z", id: "x", shortId: "x" }, lastRun: { result: "success" } }), NOW);
    expect(fresh.problems).toEqual([]);
    const old = judge(status({ snapshot: { time: "2026-11-30T09:59:00Z", id: "x", shortId: "x" } }), NOW);
    expect(old.problems).toEqual(["newest snapshot is 26h old, over the 26h limit"]);
    const missing = judge(status({ lastRun: { loadState: "not-found", activeState: "inactive" }, snapshot: null }), NOW);
    expect(missing.problems).toEqual(["restic-backups-daily.service is not-found", "no snapshot yet"]);
    const down = judge(status({ reachable: false, error: "Connection refused" }), NOW);
    expect(down.problems).toEqual(["unreachable: Connection refused"]);
    const off = judge(status({ checked: false, reachable: undefined }), NOW);
    expect(off.problems).toEqual([]);
    expect(exitCode([fresh, off])).toBe(0);
    expect(exitCode([fresh, old])).toBe(1);
  });
  test("the default limit follows the timer: daily 26h, weekly 170h, unknown calendars as daily", () => {
    expect(defaultMaxAgeHours({ OnCalendar: "daily", Persistent: true })).toBe(26);
    expect(defaultMaxAgeHours({ OnCalendar: "weekly" })).toBe(170);
    expect(defaultMaxAgeHours({ OnCalendar: "hourly" })).toBe(3);
    expect(defaultMaxAgeHours({ OnCalendar: "*-*-* 02:30:00" })).toBe(26);
    expect(defaultMaxAgeHours({ OnBootSec: "1h" })).toBe(26);
  });
  test("--max-age forms", () => {
    expect(parseMaxAge("26h")).toBe(26);
    expect(parseMaxAge("90m")).toBe(1.5);
    expect(parseMaxAge("2d")).toBe(48);
    expect(parseMaxAge("30")).toBe(30);
    expect(() => parseMaxAge("-1h")).toThrow(/--max-age/);
    expect(() => parseMaxAge("0")).toThrow(/--max-age/);
    expect(formatAge(0.5)).toBe("30m");
    expect(formatAge(72)).toBe("3d");
  });
});

test("the table escapes control characters from a host", () => {
  const s = judge(status({ reachable: false, error: "evil\x1b[2Jtext" }), NOW);
  const t = formatTable([s]);
  expect(t).not.toContain("\x1b");
  expect(t).toContain("evil\\x1b[2Jtext");
});

test("arguments", () => {
  expect(parseArgs(["--stack", "laptop", "--json", "--max-age", "2d"], "/p")).toEqual({ stack: "laptop", json: true, maxAgeHours: 48, projectDir: "/p" });
  expect(parseArgs(["--project", "sub"], "/p").projectDir).toBe("/p/sub");
  expect(() => parseArgs(["--stack"], "/p")).toThrow(/needs a value/);
  expect(() => parseArgs(["--nope"], "/p")).toThrow(/unknown argument/);
});

test("the remote command quotes everything and refuses odd names", () => {
  const c = statusCommand("daily", NONCE, true);
  expect(c.startsWith("sudo -n sh -c '#!/bin/sh")).toBe(true);
  expect(c.endsWith(` restic-b2-status 'daily' '${NONCE}'`)).toBe(true);
  expect(() => statusCommand("a b", NONCE, false)).toThrow(/invalid backup name/);
  expect(() => statusCommand("daily", "x;y", false)).toThrow(/nonce/);
});

describe("protection: whether the host's key can destroy the backups, and the window", () => {
  const base = {
    "nixos-restic-b2:host": { value: "laptop.lan" },
    "nixos-restic-b2:hostKey": { value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@x" },
    "nixos-restic-b2:paths": { value: '["/home"]' },
  };
  test("from the stack: hostCanDelete false (and lifecycleDays), unset, a hand-set list without delete, an existing key", () => {
    const p = (extra: Record<string, { value: string }>, secrets: Record<string, { value: string; secret: true }> = {}) =>
      targetFromConfig("laptop", { ...base, ...extra, ...secrets }).protection;
    expect(p({ "nixos-restic-b2:hostCanDelete": { value: "false" }, "nixos-restic-b2:lifecycleDays": { value: "45" } })).toEqual({ protected: true, windowDays: 45 });
    expect(p({})).toEqual({ protected: false, windowDays: 30 });
    expect(p({ "nixos-restic-b2:keyCapabilities": { value: '["listBuckets","listFiles","readFiles","writeFiles"]' } })).toEqual({ protected: true, windowDays: 30 });
    expect(p({ "nixos-restic-b2:keyCapabilities": { value: '["listBuckets","writeFiles","writeBucketEncryption"]' } })).toEqual({ protected: false, windowDays: 30 });
    expect(
      p(
        { "nixos-restic-b2:createBucket": { value: "false" }, "nixos-restic-b2:bucketName": { value: "shared-backups" } },
        { "nixos-restic-b2:existingKeyId": { value: "id", secret: true }, "nixos-restic-b2:existingKey": { value: "k", secret: true } },
      ),
    ).toEqual({ windowDays: 30 });
  });
  test("the table's PROTECTED column: yes with the window, no, existing key", () => {
    const row = (protection: { protected?: boolean; windowDays: number }) => formatTable([judge(status({ protection }), NOW)]);
    expect(row({ protected: true, windowDays: 30 }).split("\n")[0]).toMatch(/DRILL\s+PROTECTED\s+STATUS$/);
    expect(row({ protected: true, windowDays: 30 }).split("\n")[1]).toMatch(/\s+yes, 30d\s+\S+$/);
    expect(row({ protected: false, windowDays: 30 }).split("\n")[1]).toMatch(/\s+no\s+\S+$/);
    expect(row({ windowDays: 30 }).split("\n")[1]).toMatch(/\s+existing key\s+\S+$/);
  });
});

describe("targetFromConfig (getAllConfig's shape)", () => {
  const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt";
  const base = {
    "nixos-restic-b2:host": { value: "laptop.lan" },
    "nixos-restic-b2:hostKey": { value: `${hostKey} root@x` },
    "nixos-restic-b2:paths": { value: '["/home"]' },
  };
  test("the parser's values and defaults; the private key kept for the session", () => {
    const t = targetFromConfig("laptop", {
      ...base,
      "nixos-restic-b2:sshPort": { value: "2222" },
      "nixos-restic-b2:timerConfig": { value: '["OnCalendar=weekly","Persistent=true"]' },
      "nixos-restic-b2:sshPrivateKey": { value: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", secret: true },
    }, undefined, { repository: "b2:bucket:laptop" });
    expect(t).toEqual({
      stack: "laptop", backupName: "daily", deploy: true, host: "laptop.lan", sshPort: 2222, sshUser: "root", hostKey,
      sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", maxAgeHours: 170, repository: "b2:bucket:laptop",
      protection: { protected: false, windowDays: 30 },
    });
    expect(targetFromConfig("laptop", base, 5).maxAgeHours).toBe(5);
  });
  test("an unusable configuration becomes a problem that names keys, never a secret's value", () => {
    const t = targetFromConfig("bad", {
      "nixos-restic-b2:paths": { value: '["/home"]' },
      "nixos-restic-b2:healthcheckUrl": { value: "https://hc-ping.com/SECRETVALUE.html", secret: true },
    });
    expect(t.configError).toMatch(/nixos-restic-b2:hostKey: is required/);
    expect(t.configError).toMatch(/nixos-restic-b2:healthcheckUrl:/);
    expect(t.configError).not.toContain("SECRETVALUE");
  });
});
