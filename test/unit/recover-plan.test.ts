// The pure core of `npm run recover`: which versions to remove to go back to
// TIME, and the TIME and window rules. No I/O.

import { FileVersion, RecoverAction, planRecovery } from "../../lib/recover/plan";
import { effectiveWindow, parseTime, timeProblem } from "../../lib/recover/window";

const T = 100_000;

type Ev = [action: "upload" | "hide" | "start", name: string, at: number, bytes?: number];

/** Versions in B2's listing order (by name, newest first), with unique ids. */
function versions(events: Ev[]): FileVersion[] {
  let id = 0;
  return events
    .map(([action, fileName, uploadTimestamp, bytes]) => ({ fileName, fileId: `id${++id}`, action, uploadTimestamp, contentLength: action === "upload" ? bytes ?? 10 : 0 }))
    .sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : b.uploadTimestamp - a.uploadTimestamp));
}

const brief = (a: RecoverAction) => `${a.kind} ${a.version.fileName}@${a.version.uploadTimestamp}`;

interface Case {
  name: string;
  history: Ev[];
  actions: string[];
  counts?: Partial<Record<"visibleAtTime" | "filesUnhidden" | "filesReverted" | "filesRemoved" | "bytesRestored" | "uploadBytesDeleted" | "bytesAtTime", number>>;
}

const CASES: Case[] = [
  { name: "nothing after TIME: nothing to do", history: [["upload", "a", 50_000]], actions: [], counts: { visibleAtTime: 1, filesReverted: 0 } },
  { name: "a version exactly at TIME belongs to TIME", history: [["upload", "a", T]], actions: [], counts: { visibleAtTime: 1 } },
  {
    name: "an overwrite after TIME is deleted, the old version is current again",
    history: [["upload", "a", 50_000, 7], ["upload", "a", 150_000, 99]],
    actions: ["delete-upload a@150000"],
    counts: { filesReverted: 1, bytesRestored: 7, uploadBytesDeleted: 99 },
  },
  {
    name: "several uploads after TIME: all deleted, newest first",
    history: [["upload", "a", 50_000], ["upload", "a", 120_000], ["upload", "a", 130_000]],
    actions: ["delete-upload a@130000", "delete-upload a@120000"],
    counts: { filesReverted: 1 },
  },
  {
    name: "a hide after TIME is removed: the file is visible again",
    history: [["upload", "a", 50_000, 5], ["hide", "a", 150_000]],
    actions: ["delete-hide a@150000"],
    counts: { filesUnhidden: 1, bytesRestored: 5, visibleAtTime: 1 },
  },
  {
    name: "an upload after a hide, both after TIME",
    history: [["upload", "a", 50_000], ["hide", "a", 110_000], ["upload", "a", 120_000]],
    actions: ["delete-upload a@120000", "delete-hide a@110000"],
    counts: { filesReverted: 1 },
  },
  {
    name: "hidden before TIME and still hidden: nothing",
    history: [["upload", "a", 50_000], ["hide", "a", 60_000]],
    actions: [],
    counts: { visibleAtTime: 0, filesRemoved: 0 },
  },
  {
    name: "hidden before TIME, uploaded again after: the upload goes, the file stays hidden",
    history: [["upload", "a", 50_000], ["hide", "a", 60_000], ["upload", "a", 150_000]],
    actions: ["delete-upload a@150000"],
    counts: { filesRemoved: 1, visibleAtTime: 0 },
  },
  {
    name: "first uploaded after TIME: every version goes",
    history: [["upload", "new", 150_000], ["upload", "new", 160_000]],
    actions: ["delete-upload new@160000", "delete-upload new@150000"],
    counts: { filesRemoved: 1, visibleAtTime: 0 },
  },
  {
    name: "made and hidden after TIME: both go, nothing visible before or after",
    history: [["upload", "tmp", 150_000], ["hide", "tmp", 160_000]],
    actions: ["delete-hide tmp@160000", "delete-upload tmp@150000"],
    counts: { filesRemoved: 0, filesUnhidden: 0 },
  },
  {
    name: "unfinished large files: cancelled when started after TIME, left when older",
    history: [["start", "big", 150_000], ["start", "old", 50_000], ["upload", "old", 40_000]],
    actions: ["cancel-large-file big@150000"],
    counts: { visibleAtTime: 1 },
  },
  {
    name: "the lifecycle already removed an old upload: only its hide marker is left, nothing to do",
    history: [["hide", "gone", 60_000]],
    actions: [],
    counts: { visibleAtTime: 0 },
  },
  {
    name: "the lifecycle removed the old upload, the name was uploaded again after TIME",
    history: [["hide", "gone", 60_000], ["upload", "gone", 150_000]],
    actions: ["delete-upload gone@150000"],
    counts: { filesRemoved: 1 },
  },
  {
    name: "names in order, each newest first",
    history: [["hide", "b", 150_000], ["upload", "b", 10_000], ["upload", "a", 170_000], ["upload", "a", 10_000], ["hide", "c", 101_000], ["upload", "c", 100_500]],
    actions: ["delete-upload a@170000", "delete-hide b@150000", "delete-hide c@101000", "delete-upload c@100500"],
    counts: { filesReverted: 1, filesUnhidden: 1, visibleAtTime: 2, bytesAtTime: 20 },
  },
];

describe("planRecovery", () => {
  test.each(CASES)("$name", ({ history, actions, counts }) => {
    const plan = planRecovery(versions(history), T);
    expect(plan.actions.map(brief)).toEqual(actions);
    if (counts) expect(plan.summary).toMatchObject(counts);
  });

  test("the summary: counts by kind, bytes, the oldest and newest change", () => {
    const { summary } = planRecovery(
      versions([["upload", "a", 50_000, 3], ["upload", "a", 150_000, 40], ["hide", "b", 120_000], ["upload", "b", 1_000, 8], ["start", "c", 200_000], ["upload", "d", 90_000, 1]]),
      T,
    );
    expect(summary).toMatchObject({
      listed: { upload: 4, hide: 1, start: 1 },
      uploadsDeleted: 1, uploadBytesDeleted: 40, hidesDeleted: 1, largeFilesCancelled: 1,
      visibleAtTime: 3, bytesAtTime: 12, filesReverted: 1, filesUnhidden: 1, bytesRestored: 11,
    });
    expect(summary.oldestChange).toMatchObject({ fileName: "b", uploadTimestamp: 120_000 });
    expect(summary.newestChange).toMatchObject({ fileName: "c", uploadTimestamp: 200_000 });
    expect(planRecovery([], T).summary.oldestChange).toBeUndefined();
  });

  test("an action it does not know stops the plan, naming the file", () => {
    const v = versions([["upload", "a", 1]]);
    expect(() => planRecovery([...v, { ...v[0], fileId: "x", action: "folder" }], T)).toThrow(/"a" with action "folder"/);
  });

  // Any history: after the plan runs, exactly the names visible at TIME are
  // visible, each in its version at TIME, and a second plan finds nothing.
  test("random histories: the visible set after the plan is the set at TIME, and a second run does nothing", () => {
    // mulberry32: small, seeded, and its low bits are as good as its high ones.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    /** name -> fileId of the current upload, replaying versions in time order. */
    const visibleSet = (vs: FileVersion[], upTo = Infinity) => {
      const state = new Map<string, string | undefined>();
      for (const v of [...vs].sort((a, b) => a.uploadTimestamp - b.uploadTimestamp)) {
        if (v.uploadTimestamp > upTo || v.action === "start") continue;
        state.set(v.fileName, v.action === "upload" ? v.fileId : undefined);
      }
      return new Map([...state].filter(([, id]) => id !== undefined));
    };
    for (let round = 0; round < 200; round++) {
      const events: Ev[] = [];
      const used = new Set<number>();
      for (let i = rand(30); i >= 0; i--) {
        let at = rand(200) * 1000;
        while (used.has(at)) at += 1; // B2 stamps in milliseconds; equal stamps on one name are not part of this property
        used.add(at);
        events.push([(["upload", "upload", "hide", "start"] as const)[rand(4)], `f${rand(6)}`, at, rand(100)]);
      }
      const vs = versions(events);
      const plan = planRecovery(vs, T);
      const gone = new Set(plan.actions.map((a) => a.version.fileId));
      const after = vs.filter((v) => !gone.has(v.fileId));
      expect(visibleSet(after)).toEqual(visibleSet(vs, T));
      expect(planRecovery(after, T).actions).toEqual([]);
      expect(plan.summary.visibleAtTime).toBe(visibleSet(vs, T).size);
    }
  });
});

describe("TIME", () => {
  const NOW = Date.parse("2026-06-01T12:00:00Z");
  test.each([
    ["2026-05-30T08:00:00Z", "2026-05-30T08:00:00.000Z"],
    ["2026-05-30T10:00+02:00", "2026-05-30T08:00:00.000Z"],
    ["2026-05-30 08:00:00.250z", "2026-05-30T08:00:00.250Z"],
    ["36h", "2026-05-31T00:00:00.000Z"],
    ["2d", "2026-05-30T12:00:00.000Z"],
    ["90m", "2026-06-01T10:30:00.000Z"],
  ])("%s", (text, expected) => {
    expect(new Date(parseTime(text, NOW)).toISOString()).toBe(expected);
  });
  test.each([
    ["2026-05-30", /a date alone or a time without a zone is ambiguous/],
    ["2026-05-30T08:00:00", /without a zone/],
    ["2026-13-30T08:00:00Z", /not a valid date/],
    ["yesterday", /--to must be an RFC 3339 time/],
    ["-2d", /--to must be/],
    ["0h", /--to must be a duration/],
  ])("refuses %s", (text, message) => {
    expect(() => parseTime(text, NOW)).toThrow(message);
  });

  const DAY = 86_400_000;
  test("the window: the bucket's rule wins over the stack's setting; the smallest overlapping rule counts", () => {
    expect(effectiveWindow(30, undefined, "host/")).toMatchObject({ days: 30, notes: [] });
    expect(effectiveWindow(30, [{ fileNamePrefix: "", daysFromHidingToDeleting: 30 }], "host/")).toMatchObject({ days: 30, notes: [] });
    const short = effectiveWindow(30, [{ fileNamePrefix: "", daysFromHidingToDeleting: 7 }], "");
    expect(short.days).toBe(7);
    expect(short.notes.join()).toMatch(/keeps hidden versions 7 days, the stack says 30/);
    const partial = effectiveWindow(30, [{ fileNamePrefix: "other/", daysFromHidingToDeleting: 1 }, { fileNamePrefix: "host/data/", daysFromHidingToDeleting: 3 }, { fileNamePrefix: "host/", daysFromHidingToDeleting: 30 }], "host/");
    expect(partial.days).toBe(3);
    const none = effectiveWindow(30, [{ fileNamePrefix: "other/", daysFromHidingToDeleting: 1 }], "host/");
    expect(none.days).toBeUndefined();
    expect(none.notes.join()).toMatch(/kept until someone deletes them/);
    expect(effectiveWindow(30, [{ fileNamePrefix: "", daysFromHidingToDeleting: 30, daysFromUploadingToHiding: 10 }], "").notes.join()).toMatch(/hides files 10 days after upload/);
  });
  test("refuses a TIME older than the window, or in the future; accepts the edge", () => {
    const w = effectiveWindow(30, [{ fileNamePrefix: "", daysFromHidingToDeleting: 30 }], "");
    expect(timeProblem(NOW - 30 * DAY, NOW, w)).toBeUndefined();
    expect(timeProblem(NOW - 30 * DAY - 1, NOW, w)).toMatch(
      /older than the protection window: .* 30 days after it was hidden .*may already be gone.* oldest TIME that can be trusted now is 2026-05-02T12:00:00.000Z/,
    );
    expect(timeProblem(NOW + 1, NOW, w)).toMatch(/in the future/);
    expect(timeProblem(NOW - 400 * DAY, NOW, effectiveWindow(30, [], ""))).toBeUndefined();
  });
});
