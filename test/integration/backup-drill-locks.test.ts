// A backup and a restore drill meeting on one repository, with real restic on
// local repositories, once per restic binary (the machine's, 0.14 on Debian,
// and the release NixOS ships, 0.18: test/support/restic-versions.ts):
//
// - the backup unit as systemd runs it: its pre-start step's host lock
//   (lib/host/repo-lock.sh), `restic backup`, the prune step
//   (lib/host/prune.sh), all in one process group that is killed when the
//   unit's last step ends, as systemd stops what is left in a unit's cgroup;
// - the drill (lib/host/drill.sh) with the same host lock.
//
// Either one is held in the middle of a step by a restic stand-in that starts
// the real restic, waits until restic's own lock file is in the repository,
// stops it (SIGSTOP) and lets it go on when the test says so: the other one
// then meets both the host lock and restic's lock, as on a real machine.

import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeWhen } from "../support/requires";
import { Credentials, ResticLab } from "../support/restic-repo";
import { ResticRelease, hasRetryLock, resticReleases } from "../support/restic-versions";

const HOST = join(__dirname, "..", "..", "lib", "host");

jest.setTimeout(120_000);

interface Run {
  child: ChildProcess;
  done: Promise<{ status: number | null; out: string }>;
  out: () => string;
}

/** Every process group started, and every stand-in's control directory: a failed test leaves nothing held. */
const started: ChildProcess[] = [];
const controls: string[] = [];
afterEach(() => {
  for (const ctl of controls.splice(0)) writeFileSync(join(ctl, "go"), "");
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // ended
    }
  }
});

/** Starts a command in its own process group (as systemd runs a unit in its own cgroup). */
function start(cmd: string[], env: Record<string, string>): Run {
  const child = spawn(cmd[0], cmd.slice(1), { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ status: number | null; out: string }>((resolve) => {
    child.on("close", (status) => {
      // What systemd does when a unit's last step has ended: stop what is left in its cgroup.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // nothing left
      }
      resolve({ status, out });
    });
  });
  return { child, done, out: () => out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const release of resticReleases()) {
  describeWhen(release.missing, `a backup and a restore drill on one repository (restic ${release.label})`, () => {
    suite(release);
  });
}

function suite(release: ResticRelease): void {
  let lab: ResticLab;
  let c: Credentials;
  let src: string;
  let n = 0;
  beforeAll(() => {
    lab = new ResticLab("restic-locks-test-", release.path);
    c = lab.init("repo");
    src = lab.fill(c, "repo", 3);
  });
  afterAll(() => lab?.cleanup());

  const snapshots = () => (JSON.parse(lab.restic(c, ["snapshots", "--json"])) as unknown[]).length;
  const env = (): Record<string, string> => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: lab.path("home") });

  /**
   * A restic stand-in that holds the first command `step` (snapshots, check,
   * ls, restore, backup) while restic holds its lock: ctl/at-step appears, and
   * it goes on when ctl/go exists. Every other command is restic itself.
   */
  function pausingRestic(step: string): { bin: string; ctl: string } {
    const ctl = lab.path(`ctl-${++n}`);
    mkdirSync(ctl, { recursive: true });
    controls.push(ctl);
    const bin = join(ctl, "restic");
    writeFileSync(
      bin,
      `#!/bin/bash
for a in "$@"; do case $a in snapshots | check | ls | restore | backup | forget) sub=$a; break ;; esac; done
if [ "\${sub:-}" != ${step} ] || ! mkdir ${ctl}/taken 2>/dev/null; then exec ${release.path} "$@"; fi
# Slowed down (restic's own bandwidth limits), so its lock is seen before it ends.
${release.path} --limit-download 128 --limit-upload 128 "$@" &
pid=$!
for i in $(seq 1 2000); do [ -n "$(ls -A ${lab.path("repo")}/locks)" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.005; done
kill -STOP $pid
ls -A ${lab.path("repo")}/locks >${ctl}/locks-at-step
touch ${ctl}/at-step
while [ ! -e ${ctl}/go ]; do sleep 0.05; done
kill -CONT $pid
wait $pid
`,
      { mode: 0o755 },
    );
    return { bin, ctl };
  }

  const lockFile = () => lab.path("state", "repository.lock");

  /**
   * Waits until the stand-in holds its step, with restic's lock in the
   * repository (`lock` false: a command this restic runs without a lock).
   */
  async function held(ctl: string, what: string, lock = true): Promise<void> {
    await until(what, () => existsSync(join(ctl, "at-step")));
    expect(readFileSync(join(ctl, "locks-at-step"), "utf8").trim() !== "").toBe(lock);
  }

  /** The backup unit's steps in systemd's order (ExecStartPre's prepare command, ExecStart= lines). */
  function backupUnit(opts: { restic?: string; wait?: number; retryLock?: string; skipLimit?: number; stateDir?: string } = {}): Run {
    const restic = opts.restic ?? release.path;
    const state = opts.stateDir ?? lab.path("state");
    const script = [
      "set -e",
      `bash ${HOST}/repo-lock.sh --lock ${lockFile()} --wait ${opts.wait ?? 600}`,
      `${restic} backup ${src}`,
      `bash ${HOST}/prune.sh --restic ${restic} --state-dir ${state} --retry-lock ${opts.retryLock ?? "2h"} --skip-limit ${opts.skipLimit ?? 7} -- --keep-last 2`,
    ].join("\n");
    return start(["bash", "-c", script], {
      ...env(),
      RESTIC_REPOSITORY_FILE: c.repo,
      RESTIC_PASSWORD_FILE: c.password,
      RESTIC_CACHE_DIR: lab.path("cache"),
    });
  }

  function drill(opts: { restic?: string; wait?: number; label?: string; password?: string } = {}): Run {
    const label = opts.label ?? `drill-${++n}`;
    return start(
      [
        "bash", join(HOST, "drill.sh"),
        "--backup-name", "daily",
        "--restic", opts.restic ?? release.path,
        "--repository-file", c.repo,
        "--password-file", opts.password ?? c.password,
        "--state-dir", lab.path("drill-state", label),
        "--scratch-dir", lab.path("drill-scratch", label),
        "--sample-files", "4",
        "--check-groups", "2",
        "--lock-attempts", "1",
        "--repository-lock", lockFile(),
        "--repository-lock-wait", String(opts.wait ?? 600),
        "--backup-path", src,
      ],
      env(),
    );
  }
  const drillResult = (label: string) => JSON.parse(readFileSync(lab.path("drill-state", label, "drill.json"), "utf8")) as Record<string, unknown>;

  /** After both ended: nothing holds the host lock, restic's locks are gone. */
  function expectAllReleased(): void {
    expect(spawnSync("flock", ["-n", lockFile(), "true"]).status).toBe(0);
    expect(readdirSync(lab.path("repo", "locks"))).toEqual([]);
  }

  test.each(["snapshots", "check", "ls", "restore"])("a backup started during the drill's %s waits for the drill, then saves its snapshot and prunes", async (step) => {
    const p = pausingRestic(step);
    const before = snapshots();
    const label = `during-${step}`;
    const d = drill({ restic: p.bin, label });
    // restic 0.14's ls takes no lock (0.18's does): the host lock alone holds the backup back there.
    await held(p.ctl, `the drill's ${step}`, !(step === "ls" && release.version[1] < 18));
    const b = backupUnit();
    await until("the backup to wait", () => /the restore drill is using the repository/.test(b.out()));
    await sleep(1500);
    expect(b.child.exitCode).toBeNull();
    expect(b.out()).not.toMatch(/snapshot [0-9a-f]+ saved/);
    writeFileSync(join(p.ctl, "go"), "");
    const dr = await d.done;
    expect(dr.status).toBe(0);
    expect(drillResult(label)).toMatchObject({ result: "pass", reason: "" });
    const br = await b.done;
    expect(br.status).toBe(0);
    expect(br.out).toMatch(/restic-b2-repo-lock: the restore drill finished after \d+s; the backup starts/);
    expect(br.out).toMatch(/snapshot [0-9a-f]+ saved/);
    expect(br.out).not.toMatch(/warning|error/i);
    expect(snapshots()).toBe(Math.min(before + 1, 2)); // --keep-last 2: the prune ran
    expectAllReleased();
  });

  test("a drill started during a backup waits for it, then passes", async () => {
    const p = pausingRestic("backup");
    const b = backupUnit({ restic: p.bin });
    await held(p.ctl, "the backup");
    const d = drill({ label: "during-backup" });
    await until("the drill to wait", () => /a backup of daily is running/.test(d.out()));
    await sleep(1500);
    expect(d.child.exitCode).toBeNull();
    expect(d.out()).not.toMatch(/restic snapshots/);
    writeFileSync(join(p.ctl, "go"), "");
    expect((await b.done).status).toBe(0);
    const dr = await d.done;
    expect(dr.out).toMatch(/the backup has finished; the drill starts/);
    expect(dr.status).toBe(0);
    expect(drillResult("during-backup")).toMatchObject({ result: "pass" });
    expectAllReleased();
  });

  test("the host lock is released when the backup unit fails (systemd stops what is left)", async () => {
    // A prune that fails for another reason than a lock: the unit fails, the drill is not held back.
    const b = start(["bash", "-c", `set -e\nbash ${HOST}/repo-lock.sh --lock ${lockFile()} --wait 5\nfalse`], env());
    expect((await b.done).status).toBe(1);
    expectAllReleased();
  });

  test("the lock-timeout path: the backup goes on after the wait, saves its snapshot, and a prune that cannot lock is a warning", async () => {
    const p = pausingRestic("restore");
    const d = drill({ restic: p.bin, label: "timeout" });
    await held(p.ctl, "the drill's restore");
    const state = lab.path(`prune-state-${++n}`);
    const before = snapshots();
    const br = await backupUnit({ wait: 1, retryLock: "2s", stateDir: state }).done;
    expect(br.out).toMatch(/restic-b2-repo-lock: warning: the restore drill still held .* after 1s; the backup goes on without it/);
    expect(br.out).toMatch(/snapshot [0-9a-f]+ saved/);
    expect(br.out).toMatch(/restic-b2-prune: warning: the snapshot is saved, but forget --prune could not lock the repository \(another process holds it, exit (1|11)\); pruning is skipped this time \(1 in a row, a failure at 7\)/);
    // restic's own code: 11 since 0.17, 1 with the "already locked" message before.
    expect(br.out).toContain(release.version[1] >= 17 ? "exit 11" : "exit 1)");
    if (hasRetryLock(release)) expect(br.out).toContain("--retry-lock=2s");
    else expect(br.out).toMatch(/has no --retry-lock \(0\.16\+\)/);
    expect(br.status).toBe(0);
    expect(snapshots()).toBe(before + 1);
    expect(readFileSync(join(state, "prune-skipped"), "utf8")).toBe("1\n");
    // The skip limit: the 2nd skipped prune in a row with a limit of 2 fails the unit.
    const again = await backupUnit({ wait: 1, retryLock: "1s", stateDir: state, skipLimit: 2 }).done;
    expect(again.out).toMatch(/restic-b2-prune: error: forget --prune could not lock the repository for the 2-th backup in a row/);
    expect(again.status).toBe(release.version[1] >= 17 ? 11 : 1);
    writeFileSync(join(p.ctl, "go"), "");
    expect((await d.done).status).toBe(0);
    // The next backup prunes, and the count starts again.
    const next = await backupUnit({ stateDir: state }).done;
    expect(next.status).toBe(0);
    expect(existsSync(join(state, "prune-skipped"))).toBe(false);
    expect(snapshots()).toBe(2);
    expectAllReleased();
  });

  test("with --retry-lock (restic 0.16+) a prune that meets a shared lock waits for it; older restic skips it with a warning", async () => {
    const p = pausingRestic("restore");
    const d = drill({ restic: p.bin, label: "retry" });
    await held(p.ctl, "the drill's restore");
    const b = backupUnit({ wait: 1, retryLock: "60s", stateDir: lab.path(`prune-state-${++n}`) });
    await until("the snapshot", () => /snapshot [0-9a-f]+ saved/.test(b.out()));
    await sleep(2000);
    writeFileSync(join(p.ctl, "go"), "");
    const br = await b.done;
    expect((await d.done).status).toBe(0);
    expect(br.status).toBe(0);
    if (hasRetryLock(release)) expect(br.out).not.toMatch(/warning: the snapshot is saved/);
    else expect(br.out).toMatch(/restic-b2-prune: warning: the snapshot is saved/);
    expectAllReleased();
  });

  test("the drill's lock-timeout path: a backup that holds the lock past the wait makes the drill a warning (skipped), not a failure", async () => {
    const p = pausingRestic("backup");
    const b = backupUnit({ restic: p.bin });
    await held(p.ctl, "the backup");
    const dr = await drill({ wait: 1, label: "drill-timeout" }).done;
    writeFileSync(join(p.ctl, "go"), "");
    expect((await b.done).status).toBe(0);
    expect(dr.status).toBe(0);
    expect(dr.out).toMatch(/restic-b2-drill-daily: warning: skipped: a backup of daily held the repository lock .* for more than 1s/);
    expect(drillResult("drill-timeout")).toMatchObject({ result: "skipped", snapshot: "" });
    expectAllReleased();
  });

  test("drill.json's reason holds restic's message, not its JSON error (restic 0.17+ prints errors as JSON with --json)", async () => {
    const wrong = lab.path(`wrong-password-${++n}`);
    writeFileSync(wrong, "not the password\n", { mode: 0o600 });
    const dr = await drill({ password: wrong, label: "wrong-password" }).done;
    expect(dr.status).toBe(1);
    const reason = drillResult("wrong-password").reason as string;
    expect(reason).toMatch(/^restic snapshots failed \(exit (1|12)\): .*wrong password or no key found/);
    expect(reason).not.toMatch(/message_type|[{}]/);
    if (release.version[1] >= 17) expect(dr.out).toContain('"message_type":"exit_error"');
  });
}
