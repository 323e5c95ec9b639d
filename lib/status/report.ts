// `npm run status`: the data model, the remote output parser, the verdict
// and the two output forms (a table for people, JSON for scripts). Pure: no
// I/O, so all of it is tested without a host.

import { CONTROL_CHARACTERS } from "../config/values";
import { backupLayout, checkBackupName } from "../host/layout";
import { STATUS_SCRIPT } from "../host/scripts";
import { shellQuote } from "../host/shell";

/** Whether the host's key can destroy the backups (from the stack's configuration). */
export interface Protection {
  /**
   * true: the key holds no capability that deletes a version or changes the
   * bucket (hostCanDelete false, or such a hand-set keyCapabilities); false:
   * it can delete; undefined: an existing key (createBucket false), which
   * this program did not make.
   */
  protected?: boolean;
  /** lifecycleDays: how long a hidden or overwritten version stays restorable. */
  windowDays: number;
}

/** The PROTECTED cell: `yes, 30d`, `no`, or `existing key`. */
export function protectionCell(p: Protection | undefined): string {
  if (p === undefined) return "-";
  if (p.protected === undefined) return "existing key";
  return p.protected ? `yes, ${p.windowDays}d` : "no";
}

/** What the status command knows about one stack before asking its host. */
export interface StackTarget {
  stack: string;
  backupName: string;
  deploy: boolean;
  host: string;
  sshPort: number;
  sshUser: string;
  /** "<type> <base64>": the only key accepted for the host. */
  hostKey: string;
  /** The private key's text (secret; kept in memory), or undefined for the SSH agent. */
  sshPrivateKey?: string;
  /** The limit for this stack's newest snapshot, in hours. */
  maxAgeHours: number;
  /** Stack outputs worth showing when the host is not asked (deploy: false). */
  repository?: string;
  /** The stack's configuration could not be used: the parser's message (never a secret's value). */
  configError?: string;
  protection?: Protection;
}

export interface LastRun {
  /** ISO-8601 UTC, or undefined when the unit has not run since boot. */
  start?: string;
  end?: string;
  /** systemd's Result (success, exit-code, signal, timeout, ...). */
  result?: string;
  activeState?: string;
  exitStatus?: number;
  loadState?: string;
}

export interface TimerState {
  activeState?: string;
  loadState?: string;
  /** ISO-8601 UTC of the next elapse, or undefined when none is scheduled. */
  next?: string;
  lastTrigger?: string;
}

export interface SnapshotInfo {
  time: string;
  id: string;
  shortId: string;
  hostname?: string;
  paths?: string[];
  /** Bytes restic read for this snapshot (summary.total_bytes_processed, restic 0.17+). */
  sizeBytes?: number;
  /** Bytes it added to the repository (summary.data_added). */
  dataAdded?: number;
}

export interface DrillInfo {
  time?: string;
  result?: string;
  reason?: string;
  snapshot?: string;
}

export interface HostStatus {
  stack: string;
  backupName: string;
  host: string;
  /** false: deploy is off, the host was not asked. */
  checked: boolean;
  reachable?: boolean;
  error?: string;
  lastRun?: LastRun;
  timer?: TimerState;
  /** null: the repository has no snapshot yet. */
  snapshot?: SnapshotInfo | null;
  snapshotError?: string;
  /** null: no drill has run yet. */
  drill?: DrillInfo | null;
  repository?: string;
  protection?: Protection;
  maxAgeHours: number;
  /** Age of the newest snapshot at report time, in hours. */
  snapshotAgeHours?: number;
  /** Why this machine needs attention; empty: all well (or not checked). */
  problems: string[];
}

// ---- the remote command --------------------------------------------------------

export const STATUS_SCRIPT_NAME = "restic-b2-status";

/** The command line sent over SSH: `[sudo -n ]sh -c <script> restic-b2-status <name> <nonce>` (lib/host/status.sh). */
export function statusCommand(backupName: string, nonce: string, sudo: boolean): string {
  checkBackupName(backupName, "statusCommand");
  if (!/^[A-Za-z0-9]{8,}$/.test(nonce)) throw new Error("statusCommand: the nonce must be 8 or more letters and digits");
  return (sudo ? "sudo -n " : "") + ["sh", "-c", shellQuote(STATUS_SCRIPT), STATUS_SCRIPT_NAME, shellQuote(backupName), shellQuote(nonce)].join(" ");
}

// ---- parsing what the remote script printed ---------------------------------

/** Splits the output into its sections; unknown text outside sections is ignored. */
export function splitSections(output: string, nonce: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  const marker = new RegExp(`^==${nonce} ([a-z]+)==$`);
  for (const line of output.split("\n")) {
    const m = marker.exec(line);
    if (m) {
      current = [];
      sections.set(m[1], current);
    } else if (current !== undefined) {
      current.push(line);
    }
  }
  for (const lines of sections.values()) while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return sections;
}

/** `Key=Value` lines of `systemctl show`. */
export function parseProperties(lines: readonly string[]): Record<string, string> {
  const props: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf("=");
    if (i > 0) props[l.slice(0, i)] = l.slice(i + 1);
  }
  return props;
}

/**
 * A systemd timestamp as ISO-8601 UTC: "@<seconds>" (--timestamp=unix), or
 * "Tue 2026-12-01 02:00:03 UTC" (older systemd, UTC only). Empty, "n/a" and
 * 0 mean "none".
 */
export function systemdTime(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === "" || t === "n/a" || t === "0" || t === "@0") return undefined;
  let m = /^@(\d+)$/.exec(t);
  if (m) return new Date(Number(m[1]) * 1000).toISOString();
  m = /^(?:[A-Za-z]{3} )?(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/.exec(t);
  if (m) return new Date(`${m[1]}T${m[2]}Z`).toISOString();
  return undefined;
}

interface ResticSnapshot {
  time?: unknown;
  id?: unknown;
  short_id?: unknown;
  hostname?: unknown;
  paths?: unknown;
  summary?: { total_bytes_processed?: unknown; data_added?: unknown };
}

/**
 * The newest snapshot in `restic snapshots --latest 1 --json` output: a list
 * of snapshots (one per host+paths group), or, with --group-by, a list of
 * {group_key, snapshots}. Returns null for an empty repository.
 */
export function newestSnapshot(json: string): SnapshotInfo | null {
  const data: unknown = JSON.parse(json);
  if (!Array.isArray(data)) throw new Error("restic snapshots --json did not print a list");
  const all: ResticSnapshot[] = [];
  for (const item of data as unknown[]) {
    if (item !== null && typeof item === "object" && Array.isArray((item as { snapshots?: unknown }).snapshots)) {
      all.push(...((item as { snapshots: ResticSnapshot[] }).snapshots));
    } else {
      all.push(item as ResticSnapshot);
    }
  }
  let best: { snap: ResticSnapshot; ms: number } | undefined;
  for (const s of all) {
    const ms = typeof s?.time === "string" ? Date.parse(s.time) : NaN;
    if (!Number.isFinite(ms) || typeof s.id !== "string") continue;
    if (best === undefined || ms > best.ms) best = { snap: s, ms };
  }
  if (best === undefined) {
    if (all.length > 0) throw new Error("restic snapshots --json listed snapshots without a time or id");
    return null;
  }
  const s = best.snap;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const info: SnapshotInfo = {
    time: new Date(best.ms).toISOString(),
    id: s.id as string,
    shortId: typeof s.short_id === "string" ? s.short_id : (s.id as string).slice(0, 8),
  };
  if (typeof s.hostname === "string") info.hostname = s.hostname;
  if (Array.isArray(s.paths)) info.paths = s.paths.filter((p): p is string => typeof p === "string");
  const size = num(s.summary?.total_bytes_processed);
  const added = num(s.summary?.data_added);
  if (size !== undefined) info.sizeBytes = size;
  if (added !== undefined) info.dataAdded = added;
  return info;
}

/** Fills a HostStatus from the remote script's output (the verdict is added by judge()). */
export function parseStatusOutput(output: string, nonce: string, into: HostStatus): void {
  const sec = splitSections(output, nonce);
  if (!sec.has("end")) {
    into.error = "the status script did not finish (no end marker in its output)";
  }
  const svc = parseProperties(sec.get("service") ?? []);
  into.lastRun = {
    start: systemdTime(svc.ExecMainStartTimestamp),
    end: systemdTime(svc.ExecMainExitTimestamp),
    result: svc.Result || undefined,
    activeState: svc.ActiveState || undefined,
    loadState: svc.LoadState || undefined,
    exitStatus: /^\d+$/.test(svc.ExecMainStatus ?? "") ? Number(svc.ExecMainStatus) : undefined,
  };
  const tmr = parseProperties(sec.get("timer") ?? []);
  into.timer = {
    activeState: tmr.ActiveState || undefined,
    loadState: tmr.LoadState || undefined,
    next: systemdTime(tmr.NextElapseUSecRealtime),
    lastTrigger: systemdTime(tmr.LastTriggerUSec),
  };

  const errs = sec.get("snapshoterr") ?? [];
  const exitLine = errs.find((l) => l.startsWith(`${nonce} exit `));
  const exit = exitLine === undefined ? undefined : Number(exitLine.slice(`${nonce} exit `.length));
  const stderr = errs.filter((l) => l !== exitLine && l.trim() !== "");
  const json = (sec.get("snapshots") ?? []).join("\n").trim();
  if (exit !== 0) {
    const why = stderr.slice(-3).join(" / ") || "no message";
    into.snapshotError = `${backupLayout(into.backupName).wrapperCommand} snapshots exited ${exit ?? "?"}: ${why}`;
  } else {
    try {
      into.snapshot = newestSnapshot(json);
    } catch (e) {
      into.snapshotError = (e as Error).message;
    }
  }

  const drillText = (sec.get("drill") ?? []).join("\n").trim();
  if (drillText === "none" || drillText === "") {
    into.drill = null;
  } else {
    try {
      const d = JSON.parse(drillText) as Record<string, unknown>;
      const str = (v: unknown) => (typeof v === "string" ? v : undefined);
      into.drill = { time: str(d.time), result: str(d.result), reason: str(d.reason), snapshot: str(d.snapshot) };
    } catch {
      into.drill = { result: "unreadable", reason: "drill.json is not JSON" };
    }
  }
}

// ---- the verdict -----------------------------------------------------------------

/** Grace added to the timer's period: a catch-up run after wake-up, a randomized delay, the run itself. */
export const GRACE_HOURS = 2;

const CALENDAR_PERIOD_HOURS: Record<string, number> = {
  minutely: 1 / 60,
  hourly: 1,
  daily: 24,
  weekly: 24 * 7,
  monthly: 24 * 31,
  quarterly: 24 * 92,
  semiannually: 24 * 184,
  yearly: 24 * 366,
  annually: 24 * 366,
};

/**
 * The default --max-age of a stack: the timer's period (OnCalendar shorthand;
 * anything else counts as daily) plus GRACE_HOURS. With the default
 * OnCalendar=daily that is 26 h.
 */
export function defaultMaxAgeHours(timerConfig: Record<string, unknown>): number {
  const cal = typeof timerConfig.OnCalendar === "string" ? timerConfig.OnCalendar.trim().toLowerCase() : "daily";
  return (CALENDAR_PERIOD_HOURS[cal] ?? 24) + GRACE_HOURS;
}

/** Parses --max-age: "26h", "90m", "2d", or a number of hours. */
export function parseMaxAge(text: string): number {
  return parseDurationHours(text, "--max-age");
}

/**
 * A positive duration in hours from `26h`, `90m`, `2d` or a bare number of
 * hours; the error names `flag`. The one duration rule of the admin commands
 * (`status --max-age`, `recover --to`).
 */
export function parseDurationHours(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)([mhd]?)$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`${flag} must be a duration like 26h, 90m or 2d, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  return m[2] === "m" ? n / 60 : m[2] === "d" ? n * 24 : n;
}

/** Adds the snapshot age and the problems; `now` is the report time. */
export function judge(s: HostStatus, now: Date): HostStatus {
  const p = s.problems;
  if (!s.checked) return s;
  if (s.reachable === false) {
    p.push(`unreachable: ${s.error ?? "no answer"}`);
    return s;
  }
  if (s.error !== undefined) p.push(s.error);
  const run = s.lastRun;
  if (run?.loadState !== undefined && run.loadState !== "loaded") p.push(`${backupLayout(s.backupName).backupService} is ${run.loadState}`);
  if (run?.result !== undefined && run.result !== "success") {
    p.push(`last run failed (${run.result}${run.exitStatus ? `, exit status ${run.exitStatus}` : ""})`);
  } else if (run?.activeState === "failed") {
    p.push("last run failed");
  }
  if (s.timer?.activeState !== undefined && s.timer.activeState !== "active") p.push(`timer is ${s.timer.activeState}: no backup is scheduled`);
  if (s.snapshotError !== undefined) p.push(s.snapshotError);
  else if (s.snapshot === null) p.push("no snapshot yet");
  else if (s.snapshot !== undefined) {
    s.snapshotAgeHours = Math.max(0, (now.getTime() - Date.parse(s.snapshot.time)) / 3_600_000);
    if (s.snapshotAgeHours > s.maxAgeHours) {
      p.push(`newest snapshot is ${formatAge(s.snapshotAgeHours)} old, over the ${formatAge(s.maxAgeHours)} limit`);
    }
  }
  if (s.drill && s.drill.result !== undefined && s.drill.result !== "pass") {
    p.push(`last restore drill: ${s.drill.result}${s.drill.reason ? ` (${s.drill.reason})` : ""}`);
  }
  return s;
}

/** Exit status of the command: 0 when no checked machine has a problem, else 1. */
export function exitCode(all: readonly HostStatus[]): number {
  return all.some((s) => s.problems.length > 0) ? 1 : 0;
}

// ---- output ------------------------------------------------------------------------

export function formatAge(hours: number): string {
  if (hours < 1) return `${Math.round(hours * 60)}m`;
  if (hours < 48) return `${Math.round(hours * 10) / 10}h`.replace(/\.0h$/, "h");
  return `${Math.round((hours / 24) * 10) / 10}d`.replace(/\.0d$/, "d");
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** "2026-12-01 02:00 UTC": minutes are enough for people. */
function shortTime(iso: string | undefined): string {
  return iso === undefined ? "-" : `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const ALL_CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTERS.source, "g");

/** Control characters from a host are shown escaped (\x1b, \u2028), so no remote text can move the terminal's cursor. */
function clean(s: string): string {
  return s.replace(ALL_CONTROL_CHARACTERS, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, "0")}`;
  });
}

/** The human-readable table, one row per stack, then one line per problem. */
export function formatTable(all: readonly HostStatus[]): string {
  const header = ["STACK", "HOST", "LAST RUN", "RESULT", "NEXT RUN", "NEWEST SNAPSHOT", "AGE", "SIZE", "DRILL", "PROTECTED", "STATUS"];
  const rows = all.map((s) => {
    if (!s.checked) {
      return [s.stack, s.host || "-", "-", "-", "-", "-", "-", "-", "-", protectionCell(s.protection), `not checked (deploy: false)${s.repository ? ` ${s.repository}` : ""}`];
    }
    if (s.reachable === false) return [s.stack, s.host, "?", "?", "?", "?", "?", "?", "?", protectionCell(s.protection), "UNREACHABLE"];
    const run = s.lastRun;
    const snap = s.snapshot;
    return [
      s.stack,
      s.host,
      run?.start === undefined ? "not since boot" : shortTime(run.start),
      run?.activeState === "activating" ? "running" : (run?.result ?? "-"),
      shortTime(s.timer?.next),
      snap === null ? "none yet" : snap === undefined ? "error" : `${shortTime(snap.time)} ${snap.shortId}`,
      s.snapshotAgeHours === undefined ? "-" : formatAge(s.snapshotAgeHours),
      snap?.sizeBytes === undefined ? "-" : formatBytes(snap.sizeBytes),
      s.drill === null || s.drill === undefined ? "none yet" : `${s.drill.result ?? "?"} ${s.drill.time ? s.drill.time.slice(0, 10) : ""}`.trim(),
      protectionCell(s.protection),
      s.problems.length === 0 ? "OK" : "ATTENTION",
    ];
  });
  const table = [header, ...rows].map((r) => r.map(clean));
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const lines = table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "));
  const notes: string[] = [];
  for (const s of all) for (const p of s.problems) notes.push(`${s.stack}: ${clean(p)}`);
  return [...lines, ...(notes.length > 0 ? ["", ...notes] : [])].join("\n") + "\n";
}

/** The JSON form: one object with the report time and one entry per stack (no secret is in the model). */
export function formatJson(all: readonly HostStatus[], now: Date): string {
  return JSON.stringify({ version: 1, time: now.toISOString(), ok: exitCode(all) === 0, machines: all }, null, 2) + "\n";
}
