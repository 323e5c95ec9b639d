// `npm run recover`'s work on one repository, independent of where its
// settings come from (./stack.ts reads them from the Pulumi stack): list every
// version under the prefix, plan (./plan.ts), print what would change, and
// with `apply` do it: in parallel, stopping at the first B2 error, idempotent
// (what is already gone is not an error, and a second run finds nothing).

import { formatBytes } from "../status/report";
import { B2Client, B2Error } from "./b2";
import { FileVersion, PlanSummary, RecoverAction, planRecovery } from "./plan";
import { effectiveWindow, iso, parseTime, timeProblem } from "./window";

/** Everything recovery needs, as plain values. */
export interface RecoverTarget {
  stack: string;
  bucketName: string;
  /** The repository's files: `<repositoryPath>/`, or "" for the whole bucket (the host key's namePrefix). */
  prefix: string;
  /** The restic repository, for the user: `b2:<bucket>[:<path>]`. */
  repository: string;
  /** The protection window the stack sets (today lifecycleDays). */
  windowDays: number;
  /** A key that may list and delete file versions in the bucket (the stack's management key). */
  keyId: string;
  key: string;
  /** Commands to run afterwards, printed as they are (no secret in them). */
  nextSteps: string[];
}

export interface RecoverOptions {
  /** TIME as the user wrote it. */
  to: string;
  apply: boolean;
  /** Deletions in flight at once. */
  jobs: number;
  /** Where b2_authorize_account lives (undefined: B2 itself). */
  realm?: string;
  /** Milliseconds before B2's retries (tests: small). */
  backoffMs?: number;
  now?: () => number;
}

/** Exit status: 0 done (or nothing to do), 1 a B2 call failed, 2 refused (TIME, bucket). */
export type RecoverResult = 0 | 1 | 2;

const versionText = (v: FileVersion) => `${iso(v.uploadTimestamp)} ${v.fileName}`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const VERB: Record<RecoverAction["kind"], string> = {
  "delete-upload": "delete the version uploaded",
  "delete-hide": "remove the hide marker made",
  "cancel-large-file": "cancel the unfinished large file started",
};

function summaryLines(s: PlanSummary, apply: boolean): string[] {
  const would = apply ? "will" : "would";
  const lines = [
    `listed ${plural(s.listed.upload, "upload")}, ${plural(s.listed.hide, "hide marker")}, ${plural(s.listed.start, "unfinished large file")}`,
    `at TIME ${plural(s.visibleAtTime, "file was", "files were")} visible (${formatBytes(s.bytesAtTime)})`,
  ];
  if (s.oldestChange === undefined) return [...lines, "nothing changed after TIME: nothing to do"];
  return [
    ...lines,
    `changes after TIME: the oldest ${versionText(s.oldestChange)}, the newest ${versionText(s.newestChange!)}`,
    `${would} delete ${plural(s.uploadsDeleted, "version")} uploaded after TIME (${formatBytes(s.uploadBytesDeleted)}), ` +
      `remove ${plural(s.hidesDeleted, "hide marker")} made after TIME, cancel ${plural(s.largeFilesCancelled, "unfinished large file")} started after TIME`,
    `afterwards: ${plural(s.filesUnhidden, "file")} visible again, ${plural(s.filesReverted, "file")} back to ${s.filesReverted === 1 ? "its" : "their"} version at TIME ` +
      `(${formatBytes(s.bytesRestored)} together), ${plural(s.filesRemoved, "file")} not visible at TIME (new or hidden then) no longer visible`,
    ...(s.filesRemoved > 0 ? ["note: whatever was uploaded after TIME goes, backups made after TIME too: pick TIME just before the damage began (the oldest change above)"] : []),
  ];
}

async function runOne(client: B2Client, a: RecoverAction): Promise<"done" | "gone"> {
  try {
    if (a.kind === "cancel-large-file") await client.cancelLargeFile(a.version.fileId);
    else await client.deleteFileVersion(a.version.fileName, a.version.fileId);
    return "done";
  } catch (e) {
    // Gone already (a run before this one, the lifecycle): the goal is met.
    if (e instanceof B2Error && e.status === 400 && (e.code === "file_not_present" || e.code === "no_such_file")) return "gone";
    throw e;
  }
}

/** Runs the actions, `jobs` at a time; stops starting new ones at the first error. */
async function applyPlan(client: B2Client, actions: RecoverAction[], jobs: number, out: (s: string) => void): Promise<{ done: number; gone: number; error?: { action: RecoverAction; error: Error } }> {
  let next = 0;
  let done = 0;
  let gone = 0;
  let error: { action: RecoverAction; error: Error } | undefined;
  let reported = 0;
  const worker = async () => {
    while (error === undefined && next < actions.length) {
      const a = actions[next++];
      try {
        if ((await runOne(client, a)) === "done") done++;
        else gone++;
      } catch (e) {
        error ??= { action: a, error: e as Error };
        return;
      }
      const finished = done + gone;
      // Progress at every tenth of the work (and the last one).
      if (Math.floor((finished * 10) / actions.length) > reported || finished === actions.length) {
        reported = Math.floor((finished * 10) / actions.length);
        out(`  ${finished}/${actions.length} done`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, actions.length)) }, worker));
  return { done, gone, ...(error === undefined ? {} : { error }) };
}

/** One repository; `out` gets the report line by line, `err` the reason it stopped (both: no secret). */
export async function recover(target: RecoverTarget, opts: RecoverOptions, out: (s: string) => void, err: (s: string) => void = out): Promise<RecoverResult> {
  const now = (opts.now ?? Date.now)();
  let time: number;
  try {
    time = parseTime(opts.to, now);
  } catch (e) {
    err(`recover: ${(e as Error).message}`);
    return 2;
  }
  const prefix = target.prefix;
  let pending = false;
  out(`recover ${target.stack}: ${target.repository} back to ${iso(time)}${opts.apply ? "" : " (dry run)"}`);
  try {
    const client = await B2Client.authorize(target.keyId, target.key, { realm: opts.realm, backoffMs: opts.backoffMs });
    const bucket = await client.bucket(target.bucketName);
    if (bucket === undefined) {
      err(`recover: the management key sees no bucket named ${target.bucketName}`);
      return 2;
    }
    const window = effectiveWindow(target.windowDays, bucket.lifecycleRules, prefix);
    for (const n of window.notes) out(`note: ${n}`);
    const problem = timeProblem(time, now, window);
    if (problem !== undefined) {
      err(`recover: refused: ${problem}`);
      return 2;
    }
    out(window.days === undefined ? "protection window: none (hidden versions are kept)" : `protection window: ${window.days} days, so TIME may go back to ${iso(now - window.days * 86_400_000)}`);
    const plan = planRecovery(await client.listFileVersions(bucket.bucketId, prefix), time);
    pending = plan.actions.length > 0;
    for (const l of summaryLines(plan.summary, opts.apply)) out(l);
    if (plan.actions.length > 0 && !opts.apply) {
      const shown = [...plan.actions].sort((a, b) => a.version.uploadTimestamp - b.version.uploadTimestamp).slice(0, 10);
      out(`the oldest ${plural(shown.length, "change")} of ${plan.actions.length}:`);
      for (const a of shown) out(`  ${VERB[a.kind]} ${versionText(a.version)}`);
      out("dry run: nothing was changed. Run the same command with --apply to do it.");
      out("before --apply, stop the host's backups or take it off the network: its key can still hide and overwrite files.");
    }
    if (plan.actions.length > 0 && opts.apply) {
      out(`applying ${plural(plan.actions.length, "change")}, ${opts.jobs} at a time:`);
      const r = await applyPlan(client, plan.actions, opts.jobs, out);
      if (r.error !== undefined) {
        err(
          `recover: stopped after ${r.done + r.gone} of ${plan.actions.length} changes: could not ${VERB[r.error.action.kind]} ${versionText(r.error.action.version)}: ${r.error.error.message}. ` +
            "What was done stays done; run the same command again to do the rest.",
        );
        return 1;
      }
      out(`done: ${plural(r.done, "change")} made${r.gone > 0 ? `, ${r.gone} already gone` : ""}; the files visible at ${iso(time)} are visible again`);
    }
  } catch (e) {
    err(`recover: ${(e as Error).message}`);
    return 1;
  }
  out(`${opts.apply || !pending ? "now" : "after --apply,"} check the repository from your machine (not from a host that may be compromised):`);
  for (const c of target.nextSteps) out(`  ${c}`);
  return 0;
}
