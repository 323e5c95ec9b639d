// What `npm run recover` must do to put a repository's files back as they
// were at TIME. Pure: file versions in, actions and figures out.
//
// B2 keeps every version of a file name: each upload adds one, a hide adds a
// hide marker, and the newest of them decides whether the name is visible
// (an upload) or not (a hide marker). So the files visible at TIME come back
// exactly when every version newer than TIME is removed, whatever happened
// since:
// - an upload after TIME (an overwrite, or a file first made after TIME) is
//   deleted;
// - a hide marker after TIME is deleted, which makes the newest older version
//   current again (an upload: visible again; a hide marker: still hidden);
// - an unfinished large file started after TIME (action "start") is
//   cancelled: it is never visible, but it did not exist at TIME either.
// A version at or before TIME is never touched. What the lifecycle rule has
// already removed cannot be brought back; the command refuses a TIME older
// than the protection window for that reason (./window.ts).

/** One entry of b2_list_file_versions, as far as recovery needs it. */
export interface FileVersion {
  fileName: string;
  fileId: string;
  /** "upload" (a file), "hide" (a hide marker), "start" (an unfinished large file); "folder" only with a delimiter. */
  action: string;
  /** Milliseconds since the epoch. */
  uploadTimestamp: number;
  contentLength: number;
}

export type ActionKind = "delete-upload" | "delete-hide" | "cancel-large-file";

export interface RecoverAction {
  kind: ActionKind;
  version: FileVersion;
}

export interface PlanSummary {
  /** Versions looked at, by action. */
  listed: { upload: number; hide: number; start: number };
  /** Names visible at TIME, and their bytes (what the repository will hold afterwards). */
  visibleAtTime: number;
  bytesAtTime: number;
  uploadsDeleted: number;
  uploadBytesDeleted: number;
  hidesDeleted: number;
  largeFilesCancelled: number;
  /** Names hidden now and visible again afterwards. */
  filesUnhidden: number;
  /** Names visible now in another version, put back to their version at TIME. */
  filesReverted: number;
  /** Names visible now that did not exist (or were hidden) at TIME, hidden or gone afterwards. */
  filesRemoved: number;
  /** Bytes of the versions that become current again (unhidden and reverted names). */
  bytesRestored: number;
  /** The oldest and newest version the plan removes (undefined: nothing to do). */
  oldestChange?: FileVersion;
  newestChange?: FileVersion;
}

export interface RecoverPlan {
  /** In the order to run them: by name, newest version first. */
  actions: RecoverAction[];
  summary: PlanSummary;
}

const KNOWN_ACTIONS = new Set(["upload", "hide", "start"]);

/** The newest version that decides visibility (uploads and hide markers; unfinished large files never do). */
function current(versions: readonly FileVersion[]): FileVersion | undefined {
  let best: FileVersion | undefined;
  for (const v of versions) {
    // Listing order breaks ties: B2 lists one name's versions newest first.
    if ((v.action === "upload" || v.action === "hide") && (best === undefined || v.uploadTimestamp > best.uploadTimestamp)) best = v;
  }
  return best;
}

const visible = (v: FileVersion | undefined): v is FileVersion => v?.action === "upload";

function groupByName(versions: readonly FileVersion[]): Map<string, FileVersion[]> {
  const byName = new Map<string, FileVersion[]>();
  for (const v of versions) {
    if (!KNOWN_ACTIONS.has(v.action)) {
      // Stop rather than guess: a version we do not understand may decide visibility.
      throw new Error(`b2_list_file_versions returned ${JSON.stringify(v.fileName)} with action ${JSON.stringify(v.action)}, which recovery does not handle`);
    }
    const list = byName.get(v.fileName);
    if (list === undefined) byName.set(v.fileName, [v]);
    else list.push(v);
  }
  return byName;
}

const KIND: Record<string, ActionKind> = { upload: "delete-upload", hide: "delete-hide", start: "cancel-large-file" };

/**
 * The actions that make exactly the files visible at `time` (ms since the
 * epoch) visible again, each in its version at that time.
 * @param versions every version under the repository prefix, in B2's listing order
 */
export function planRecovery(versions: readonly FileVersion[], time: number): RecoverPlan {
  const s: PlanSummary = {
    listed: { upload: 0, hide: 0, start: 0 },
    visibleAtTime: 0, bytesAtTime: 0,
    uploadsDeleted: 0, uploadBytesDeleted: 0, hidesDeleted: 0, largeFilesCancelled: 0,
    filesUnhidden: 0, filesReverted: 0, filesRemoved: 0, bytesRestored: 0,
  };
  const actions: RecoverAction[] = [];
  const byName = groupByName(versions);
  for (const name of [...byName.keys()].sort()) {
    const all = byName.get(name)!;
    const kept = all.filter((v) => v.uploadTimestamp <= time);
    const removed = all.filter((v) => v.uploadTimestamp > time).sort((a, b) => b.uploadTimestamp - a.uploadTimestamp);
    for (const v of all) s.listed[v.action as keyof PlanSummary["listed"]]++;
    const now = current(all);
    const then = current(kept);
    if (visible(then)) {
      s.visibleAtTime++;
      s.bytesAtTime += then.contentLength;
    }
    for (const v of removed) {
      actions.push({ kind: KIND[v.action], version: v });
      if (v.action === "upload") {
        s.uploadsDeleted++;
        s.uploadBytesDeleted += v.contentLength;
      } else if (v.action === "hide") s.hidesDeleted++;
      else s.largeFilesCancelled++;
      if (s.oldestChange === undefined || v.uploadTimestamp < s.oldestChange.uploadTimestamp) s.oldestChange = v;
      if (s.newestChange === undefined || v.uploadTimestamp > s.newestChange.uploadTimestamp) s.newestChange = v;
    }
    if (now === then) continue;
    if (visible(then)) {
      if (visible(now)) s.filesReverted++;
      else s.filesUnhidden++;
      s.bytesRestored += then.contentLength;
    } else if (visible(now)) s.filesRemoved++;
  }
  return { actions, summary: s };
}
