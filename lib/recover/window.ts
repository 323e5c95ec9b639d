// TIME and the protection window of `npm run recover`. Pure.
//
// A version that was current at TIME and was hidden or overwritten at h > TIME
// stays in the bucket until the lifecycle rule deletes it, `days` after h. So
// every version needed to go back to TIME is still there as long as TIME is
// no older than now − days: older TIMEs are refused.

import { parseDurationHours } from "../status/report";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** RFC 3339 date-time with a zone (Z or ±hh:mm), seconds and fractions optional; a space may stand for T. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

export const TIME_FORMS = "an RFC 3339 time with its zone (2026-05-01T12:00:00Z, 2026-05-01T14:00+02:00) or a time ago (36h, 90m, 2d)";

/** `--to` as milliseconds since the epoch; relative forms count back from `now`. */
export function parseTime(text: string, now: number): number {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    if (!RFC3339.test(t)) throw new Error(`--to must be ${TIME_FORMS}, got ${JSON.stringify(text)} (a date alone or a time without a zone is ambiguous)`);
    const ms = Date.parse(t.replace(" ", "T"));
    if (Number.isNaN(ms)) throw new Error(`--to ${JSON.stringify(text)} is not a valid date and time`);
    return ms;
  }
  if (!/^\d/.test(t)) throw new Error(`--to must be ${TIME_FORMS}, got ${JSON.stringify(text)}`);
  return now - parseDurationHours(t, "--to") * HOUR_MS;
}

/** A lifecycle rule as b2_list_buckets returns it. */
export interface LifecycleRule {
  fileNamePrefix: string;
  daysFromHidingToDeleting?: number | null;
  daysFromUploadingToHiding?: number | null;
}

export interface Window {
  /** Days a hidden version is kept; undefined: no rule deletes them (kept until someone deletes them). */
  days?: number;
  /** Where the figure comes from, for the user. */
  source: string;
  /** Things the user should know (a rule that differs from the stack's setting, automatic hiding). */
  notes: string[];
}

/** Whether a rule for `rulePrefix` touches files under `prefix` (B2 forbids overlapping rules, so at most one does in full). */
const overlaps = (rulePrefix: string, prefix: string) => prefix.startsWith(rulePrefix) || rulePrefix.startsWith(prefix);

/**
 * The window B2 enforces on the repository: the bucket's own lifecycle rules
 * when they could be read (they are what deletes versions), else the stack's
 * setting. A rule covering only part of the repository counts too: the
 * smallest figure wins.
 */
export function effectiveWindow(configDays: number, rules: readonly LifecycleRule[] | undefined, prefix: string): Window {
  if (rules === undefined) return { days: configDays, source: "the stack's lifecycleDays; the bucket's rules could not be read", notes: [] };
  const notes: string[] = [];
  let days: number | undefined;
  for (const r of rules.filter((r) => overlaps(r.fileNamePrefix, prefix))) {
    if (typeof r.daysFromHidingToDeleting === "number" && (days === undefined || r.daysFromHidingToDeleting < days)) days = r.daysFromHidingToDeleting;
    if (typeof r.daysFromUploadingToHiding === "number") {
      notes.push(`the bucket's lifecycle rule for ${JSON.stringify(r.fileNamePrefix)} also hides files ${r.daysFromUploadingToHiding} days after upload`);
    }
  }
  if (days === undefined) {
    notes.push(`no lifecycle rule of the bucket deletes hidden versions under ${JSON.stringify(prefix)}: they are kept until someone deletes them (the stack says ${configDays} days)`);
    return { source: "the bucket's lifecycle rules", notes };
  }
  if (days !== configDays) notes.push(`the bucket's lifecycle rule keeps hidden versions ${days} days, the stack says ${configDays}: the bucket's rule is what B2 applies`);
  return { days, source: "daysFromHidingToDeleting of the bucket's lifecycle rule", notes };
}

/** Why recovery to `time` cannot be trusted (undefined: it can). */
export function timeProblem(time: number, now: number, window: Window): string | undefined {
  if (time > now) return `--to ${iso(time)} is in the future: there is nothing to undo yet`;
  if (window.days === undefined) return undefined;
  const oldest = now - window.days * DAY_MS;
  if (time >= oldest) return undefined;
  return (
    `--to ${iso(time)} is older than the protection window: B2's lifecycle rule deletes a hidden or overwritten version ` +
    `${window.days} days after it was hidden (${window.source}), so versions that were current then may already be gone ` +
    `and the files could not be put back as they were. The oldest TIME that can be trusted now is ${iso(oldest)}.`
  );
}

export const iso = (ms: number) => new Date(ms).toISOString();
