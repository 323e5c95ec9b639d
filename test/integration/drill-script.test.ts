// lib/host/drill.sh run directly against real local restic repositories
// (once with the machine's restic, Debian's 0.14, and once with the release
// NixOS ships, 0.18: test/support/restic-versions.ts): healthy, damaged,
// empty, missing, locked, interrupted.
// The script's paths (restic, credentials, state and scratch directories) are
// its arguments, so the tests point them at a temporary directory.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeWhen } from "../support/requires";
import { Credentials, ResticLab, damage, dataPacks } from "../support/restic-repo";
import { ResticRelease, resticReleases } from "../support/restic-versions";

const SCRIPT = join(__dirname, "..", "..", "lib", "host", "drill.sh");

for (const release of resticReleases()) {
  describeWhen(release.missing, `drill.sh (restic ${release.label})`, () => suite(release));
}

function suite(release: ResticRelease): void {
  const RESTIC = release.path;
  let lab: ResticLab;
  beforeAll(() => {
    lab = new ResticLab("restic-drill-test-", RESTIC);
  });
  afterAll(() => lab?.cleanup());

  interface DrillRun {
    status: number | null;
    stdout: string;
    stderr: string;
    result: Record<string, unknown>;
  }

  let runCount = 0;
  function dirs(label: string) {
    const state = lab.path("state", label);
    const scratch = lab.path("scratch", label);
    return { state, scratch };
  }

  function args(c: Credentials, label: string, extra: string[]): string[] {
    const { state, scratch } = dirs(label);
    return [
      SCRIPT,
      "--backup-name", "daily",
      "--restic", RESTIC,
      "--env-file", c.env,
      "--repository-file", c.repo,
      "--password-file", c.password,
      "--state-dir", state,
      "--scratch-dir", scratch,
      "--lock-delay", "1",
      ...extra,
    ];
  }

  function env() {
    // A clean environment: nothing restic could take the repository or password from.
    return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: lab.path("home") };
  }

  function drill(c: Credentials, label: string, extra: string[] = []): DrillRun {
    runCount++;
    const r = spawnSync("bash", args(c, label, extra), { encoding: "utf8", env: env() });
    const file = join(dirs(label).state, "drill.json");
    const result = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, result };
  }

  /** The scratch directory must be empty after every run, whatever its outcome. */
  function expectNoScratchLeft(label: string): void {
    const { scratch } = dirs(label);
    if (existsSync(scratch)) expect(readdirSync(scratch)).toEqual([]);
  }

  function expectFormat(result: Record<string, unknown>): void {
    expect(Object.keys(result)).toEqual([
      "version", "time", "durationSeconds", "result", "reason", "snapshot", "filesRestored", "bytesRestored", "checkSubset",
    ]);
    expect(result.version).toBe(1);
    expect(result.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number.isInteger(result.durationSeconds)).toBe(true);
  }

  describe("a healthy repository", () => {
    let c: Credentials;
    let src: string;
    beforeAll(() => {
      c = lab.init("healthy");
      src = lab.fill(c, "healthy", 4);
    });

    test("passes: the check ran, a sample was restored and verified, the state is root-only", () => {
      const r = drill(c, "healthy", ["--sample-files", "5", "--check-groups", "3"]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expectFormat(r.result);
      const snapshots = JSON.parse(lab.restic(c, ["snapshots", "--json"])) as { id: string; time: string }[];
      const newest = snapshots.sort((a, b) => a.time.localeCompare(b.time)).at(-1)!;
      expect(r.result).toMatchObject({ result: "pass", reason: "", snapshot: newest.id.slice(0, 8), filesRestored: 5, checkSubset: "1/3" });
      expect(r.result.bytesRestored as number).toBeGreaterThan(0);
      expect(r.stdout).toContain("restic check --read-data-subset=1/3");
      expect(r.stdout).toMatch(/restic restore [0-9a-f]{8} --verify \(5 files\)/);
      expect(r.stdout).toMatch(/finished verifying 5 files/);
      const { state } = dirs("healthy");
      expect(statSync(join(state, "drill.json")).mode & 0o777).toBe(0o600);
      expect(statSync(state).mode & 0o777).toBe(0o700);
      expect(readFileSync(join(state, "drill-rotation"), "utf8")).toBe("1\n");
      expectNoScratchLeft("healthy");
      // Nothing was written into the backed-up tree.
      expect(spawnSync("find", [src, "-newer", join(state, "drill.json")], { encoding: "utf8" }).stdout).toBe("");
    });

    test("the sample respects the size bound and the count; the bytes are the sampled files' sizes", () => {
      // Only small.txt files (a few bytes) are at most 100 bytes.
      const r = drill(c, "bound", ["--sample-files", "50", "--max-file-bytes", "100"]);
      expect(r.status).toBe(0);
      expect(r.result.filesRestored).toBe(4);
      expect(r.result.bytesRestored).toBe(4 * "round 0\n".length);
      const none = drill(c, "none", ["--sample-files", "5", "--max-file-bytes", "1"]);
      expect(none.status).toBe(0);
      expect(none.result).toMatchObject({ result: "pass", filesRestored: 0 });
      expect(none.stdout).toContain("no file of at most 1 bytes");
    });

    test("file names that are glob patterns or need quoting are restored literally", () => {
      const hc = lab.init("names");
      const src = lab.path("src", "names");
      mkdirSync(join(src, "sub [x]"), { recursive: true });
      const names = ["a*b", "q?x", "[br]", "back\\slash", "space name", "-dash", "it's", "Ünïcødé ✓", "**", "x]y", "$(id)", "`id`"];
      for (const n of names) writeFileSync(join(src, "sub [x]", n), n);
      writeFileSync(join(src, "sub [x]", "axxb"), "must not match a*b");
      lab.restic(hc, ["backup", "--quiet", src]);
      const r = drill(hc, "names", ["--sample-files", "100", "--check-groups", "1"]);
      expect(r.status).toBe(0);
      expect(r.result).toMatchObject({ result: "pass", filesRestored: names.length + 1, checkSubset: "1/1" });
    });

    test("rotation: t runs read group 1..t, which together are every pack; then it starts over", () => {
      const t = 4;
      const subsets: string[] = [];
      let packsRead = 0;
      let total = -1;
      for (let i = 0; i < t + 1; i++) {
        const r = drill(c, "rotation", ["--sample-files", "1", "--check-groups", String(t)]);
        expect(r.status).toBe(0);
        subsets.push(r.result.checkSubset as string);
        expect(readFileSync(join(dirs("rotation").state, "drill-rotation"), "utf8")).toBe(`${(i % t) + 1}\n`);
        // restic's own account of what it read: "read group #n of X data packs (out of total Y packs in t groups)".
        const m = /read group #(\d+) of (\d+) data packs \(out of total (\d+) packs in (\d+) groups\)/.exec(r.stdout);
        const all = /read all data/.test(r.stdout);
        expect(m !== null || all).toBe(true);
        if (i < t) {
          if (m) {
            expect(Number(m[1])).toBe(i + 1);
            packsRead += Number(m[2]);
            total = Number(m[3]);
          }
        }
        expectNoScratchLeft("rotation");
      }
      expect(subsets).toEqual(["1/4", "2/4", "3/4", "4/4", "1/4"]);
      expect(total).toBeGreaterThan(t);
      expect(packsRead).toBe(total);
    });

    test("a rotation state left by a larger t, or garbage, starts again at 1", () => {
      const { state } = dirs("reset");
      mkdirSync(state, { recursive: true });
      writeFileSync(join(state, "drill-rotation"), "9\n");
      expect(drill(c, "reset", ["--sample-files", "0", "--check-groups", "4"]).result.checkSubset).toBe("1/4");
      writeFileSync(join(state, "drill-rotation"), "x; rm -rf /\n");
      expect(drill(c, "reset", ["--sample-files", "0", "--check-groups", "4"]).result.checkSubset).toBe("1/4");
    });
  });

  describe("a damaged repository", () => {
    test("a damaged data pack fails the check of its group (and only that group); the rotation stays there", () => {
      const c = lab.init("damaged-check");
      lab.fill(c, "damaged-check", 4);
      const packs = dataPacks(lab, c, lab.path("damaged-check"));
      const victim = packs[0];
      const id = victim.split("/").at(-1)!;
      const t = 4;
      // restic puts a pack in group (first byte of its ID mod t) + 1.
      const group = (parseInt(id.slice(0, 2), 16) % t) + 1;
      damage(victim);
      const results: string[] = [];
      for (let i = 0; i < t; i++) {
        const r = drill(c, "damaged-check", ["--sample-files", "0", "--check-groups", String(t)]);
        results.push(`${r.result.checkSubset} ${r.result.result}`);
        if (r.result.result === "fail") {
          expect(r.status).toBe(1);
          expect(r.result.reason).toContain(`check --read-data-subset=${group}/${t} failed`);
          expect(r.stdout).toContain(id);
          expect(r.stdout).toContain("FAIL:");
        } else {
          expect(r.status).toBe(0);
        }
        expectNoScratchLeft("damaged-check");
      }
      const expected: string[] = [];
      for (let n = 1; n < group; n++) expected.push(`${n}/${t} pass`);
      while (expected.length < t) expected.push(`${group}/${t} fail`);
      expect(results).toEqual(expected);
    });

    test("a damaged pack holding sampled files fails the verified restore", () => {
      const c = lab.init("damaged-restore");
      lab.fill(c, "damaged-restore", 2, 2, 200_000);
      // Damage every data pack; the check reads one group of 256 (most likely
      // none of them), the sample (every file) reads them all back.
      for (const p of dataPacks(lab, c, lab.path("damaged-restore"))) damage(p);
      const r = drill(c, "damaged-restore", ["--sample-files", "100", "--check-groups", "256"]);
      expect(r.status).toBe(1);
      expect(r.result.result).toBe("fail");
      expect(r.result.reason).toMatch(/restore --verify of \d+ sampled files failed/);
      expect(r.stdout).toMatch(/ciphertext verification failed|Fatal: There were \d+ errors/);
      expectNoScratchLeft("damaged-restore");
    });
  });

  describe("nothing to drill yet", () => {
    test("an empty repository is reported as no snapshot yet, and nothing is checked", () => {
      const c = lab.init("empty");
      const r = drill(c, "empty");
      expect(r.status).toBe(0);
      expectFormat(r.result);
      expect(r.result).toMatchObject({ result: "no-snapshot", reason: "the repository has no snapshot yet", snapshot: "", checkSubset: "", filesRestored: 0 });
      expect(r.stdout).toContain("no snapshot yet");
      expect(r.stdout).not.toContain("restic check");
      expect(existsSync(join(dirs("empty").state, "drill-rotation"))).toBe(false);
      expectNoScratchLeft("empty");
    });

    test("a repository that does not exist yet is reported the same way", () => {
      const c = lab.credentials("missing", lab.path("missing-repo"), "pw");
      const r = drill(c, "missing");
      expect(r.status).toBe(0);
      expect(r.result).toMatchObject({ result: "no-snapshot", reason: "there is no repository yet (the first backup creates it)" });
      expectNoScratchLeft("missing");
    });

    test("a wrong password is a failure, not 'no snapshot'", () => {
      const good = lab.init("wrongpw");
      const c = lab.credentials("wrongpw-bad", readFileSync(good.repo, "utf8"), "not the password");
      const r = drill(c, "wrongpw");
      expect(r.status).toBe(1);
      expect(r.result.result).toBe("fail");
      expect(r.result.reason).toContain("wrong password or no key found");
      expect(r.stdout + r.stderr).not.toContain("not the password");
    });

    test("an unreadable credential file is a recorded failure", () => {
      const c = lab.init("nofile");
      const r = drill({ ...c, password: lab.path("no-such-file") }, "nofile");
      expect(r.status).toBe(1);
      expect(r.result.reason).toContain("cannot read");
    });
  });

  describe("after the host's first backup (the repository id is recorded)", () => {
    /** A record as the backup unit's guard writes it (lib/host/repo-guard.sh record). */
    function record(label: string, id: string): string[] {
      const file = lab.path("records", label);
      mkdirSync(lab.path("records"), { recursive: true });
      writeFileSync(file, `${id}\n`, { mode: 0o600 });
      return ["--repository-id-file", file];
    }
    const idOf = (c: Credentials) => (JSON.parse(lab.restic(c, ["cat", "config"])) as { id: string }).id;

    test("a missing repository is a failed drill, naming the expected id", () => {
      const c = lab.credentials("gone", lab.path("gone-repo"), "pw");
      const id = "ab".repeat(32);
      const r = drill(c, "gone", record("gone", id));
      expect(r.status).toBe(1);
      expect(r.result).toMatchObject({ result: "fail", reason: `expected repository id ${id}, which this host has backed up to, but found no repository at the configured location: the snapshots may be gone` });
      expect(r.stdout).toContain("FAIL: expected repository id");
      // Without a record (never backed up), the same repository is "no snapshot yet".
      expect(drill(c, "gone").result.result).toBe("no-snapshot");
      expect(drill(c, "gone", ["--repository-id-file", lab.path("records", "none")]).result.result).toBe("no-snapshot");
      expectNoScratchLeft("gone");
    });

    test("an empty repository (same id: every snapshot forgotten) is a failed drill", () => {
      const c = lab.init("emptied");
      const r = drill(c, "emptied", record("emptied", idOf(c)));
      expect(r.status).toBe(1);
      expect(r.result).toMatchObject({ result: "fail", reason: expect.stringContaining("but the repository has no snapshot") });
    });

    test("a replaced repository (another id) is a failed drill, even with snapshots", () => {
      const c = lab.init("replaced");
      lab.fill(c, "replaced", 1);
      const other = "cd".repeat(32);
      const r = drill(c, "replaced", record("replaced", other));
      expect(r.status).toBe(1);
      expect(r.result.reason).toBe(`expected repository id ${other}, found repository id ${idOf(c)}: the repository at the configured location is not the one this host backed up to`);
      expect(r.stdout).not.toContain("restic check");
    });

    test("the recorded repository passes as before; a damaged record fails", () => {
      const c = lab.init("recorded");
      lab.fill(c, "recorded", 1);
      const r = drill(c, "recorded", [...record("recorded", idOf(c)), "--sample-files", "1"]);
      expect(r.status).toBe(0);
      expect(r.result.result).toBe("pass");
      const bad = drill(c, "recorded", record("recorded", "not an id"));
      expect(bad.status).toBe(1);
      expect(bad.result.reason).toContain("does not hold a repository id");
    });
  });

  describe("the newest snapshot is the latest instant, whatever the time zones", () => {
    test("a snapshot written in Asia/Tokyo at 09:00 is older than one written in UTC at 06:00 the same day", () => {
      const c = lab.init("zones");
      const src = lab.path("src", "zones");
      mkdirSync(src, { recursive: true });
      const backup = (tz: string, time: string, content: string) => {
        writeFileSync(join(src, "f.txt"), content);
        const r = spawnSync(RESTIC, ["--no-cache", "backup", "--quiet", "--time", time, src], {
          encoding: "utf8",
          env: { ...env(), TZ: tz, RESTIC_REPOSITORY_FILE: c.repo, RESTIC_PASSWORD_FILE: c.password },
        });
        expect(r.status).toBe(0);
      };
      backup("Asia/Tokyo", "2026-11-30 09:00:00", "older (00:00 UTC)\n");
      backup("UTC", "2026-11-30 06:00:00", "newer (06:00 UTC)\n");
      const snaps = JSON.parse(lab.restic(c, ["snapshots", "--json"])) as { id: string; time: string }[];
      expect(snaps.map((x) => x.time)).toEqual([
        expect.stringMatching(/^2026-11-30T09:00:00(\.\d+)?\+09:00$/),
        expect.stringMatching(/^2026-11-30T06:00:00(\.\d+)?(Z|\+00:00)$/),
      ]);
      const newer = snaps.find((x) => x.time.startsWith("2026-11-30T06:00:00"))!;
      // The string order would pick the Tokyo one.
      expect([...snaps].sort((a, b) => a.time.localeCompare(b.time)).at(-1)!.id).not.toBe(newer.id);
      const r = drill(c, "zones", ["--sample-files", "5"]);
      expect(r.status).toBe(0);
      expect(r.result).toMatchObject({ result: "pass", snapshot: newer.id.slice(0, 8), filesRestored: 1, bytesRestored: "newer (06:00 UTC)\n".length });
    });
  });

  describe("safety", () => {
    test("refuses a scratch directory inside a backed-up path, before touching anything", () => {
      const c = lab.init("inside");
      lab.fill(c, "inside", 1);
      for (const p of [lab.path("scratch"), lab.path("scratch", "inside"), lab.path("scratch") + "/", "/"]) {
        const r = drill(c, "inside", ["--backup-path", "/nonexistent", "--backup-path", p]);
        expect(r.status).toBe(1);
        expect(r.result.reason).toContain("is inside the backed-up path");
        expect(existsSync(lab.path("scratch", "inside"))).toBe(false);
      }
      // A sibling with a common prefix is not inside.
      expect(drill(c, "inside", ["--backup-path", lab.path("scratch", "insid"), "--sample-files", "1"]).status).toBe(0);
    });

    test("a repository locked by another process: the check waits and retries, then fails if it stays locked", async () => {
      const c = lab.init("locked");
      lab.fill(c, "locked", 1);
      // A backup reading stdin holds a shared lock until stdin closes; check wants an exclusive one.
      const holder = spawn(RESTIC, ["--no-cache", "backup", "--stdin", "--stdin-filename", "held"], {
        env: { ...env(), RESTIC_REPOSITORY_FILE: c.repo, RESTIC_PASSWORD_FILE: c.password },
        stdio: ["pipe", "ignore", "ignore"],
      });
      try {
        await waitForLock(lab.path("locked"));
        const r = drill(c, "locked", ["--lock-attempts", "2", "--sample-files", "0"]);
        expect(r.status).toBe(1);
        expect(r.stdout).toContain("locked by another process; trying again in 1s (attempt 1 of 2)");
        expect(r.result.reason).toMatch(/check --read-data-subset=1\/12 failed .*locked/);
        expectNoScratchLeft("locked");
        // Release the lock during the retries: the run passes.
        const late = spawn("bash", args(c, "locked", ["--lock-attempts", "20", "--sample-files", "0"]), { env: env(), stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        late.stdout.on("data", (d) => (out += d));
        await until(() => out.includes("attempt 1 of 20"));
        holder.stdin.end("some data\n");
        const code = await new Promise<number | null>((res) => late.on("close", res));
        expect(code).toBe(0);
        expect(JSON.parse(readFileSync(join(dirs("locked").state, "drill.json"), "utf8")).result).toBe("pass");
      } finally {
        holder.kill();
      }
    });

    test("interrupted (SIGTERM to the unit's processes, as systemctl stop does): recorded as a failure, scratch removed", async () => {
      const c = lab.init("interrupt");
      lab.fill(c, "interrupt", 1);
      // restic itself, started through a wrapper that first waits, so the signal
      // arrives while the scratch directory holds the restore target.
      const slow = lab.path("slow-restic");
      writeFileSync(slow, `#!/bin/bash\nfor a in "$@"; do [ "$a" = restore ] && touch ${lab.path("restore-started")} && sleep 30; done\nexec ${RESTIC} "$@"\n`, { mode: 0o755 });
      const a = args(c, "interrupt", ["--sample-files", "2"]);
      a[a.indexOf("--restic") + 1] = slow;
      const p = spawn("bash", a, { env: env(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      await until(() => existsSync(lab.path("restore-started")));
      expect(readdirSync(dirs("interrupt").scratch)).toHaveLength(1);
      process.kill(-p.pid!, "SIGTERM");
      const code = await new Promise<number | null>((res) => p.on("close", (c) => res(c)));
      expect(code).toBe(143);
      expect(out).toContain("interrupted by SIGTERM");
      const result = JSON.parse(readFileSync(join(dirs("interrupt").state, "drill.json"), "utf8"));
      expect(result).toMatchObject({ result: "fail", reason: "interrupted by SIGTERM before the drill finished" });
      expectNoScratchLeft("interrupt");
    });

    test("one drill at a time; a scratch directory left by a killed run is removed by the next", async () => {
      const c = lab.init("single");
      lab.fill(c, "single", 1);
      const { state, scratch } = dirs("single");
      expect(drill(c, "single", ["--sample-files", "1"]).status).toBe(0);
      const before = readFileSync(join(state, "drill.json"), "utf8");
      // Another run holds the lock (flock and its sleep, which inherits the
      // lock: a process group of their own, so killing it releases the lock at once).
      const holder = spawn("flock", [join(state, "drill.lock"), "sleep", "30"], { stdio: "ignore", detached: true });
      try {
        await until(() => spawnSync("flock", ["-n", join(state, "drill.lock"), "true"]).status !== 0);
        const r = drill(c, "single");
        // Not a failure (exit 0, so no alert): the running drill reports for itself.
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("another drill of this backup is running (lock ");
        expect(r.stdout).toContain("this one does not run; the running drill records its own result");
        expect(readFileSync(join(state, "drill.json"), "utf8")).toBe(before);
      } finally {
        process.kill(-holder.pid!, "SIGKILL");
      }
      await until(() => spawnSync("flock", ["-n", join(state, "drill.lock"), "true"]).status === 0);
      // What SIGKILL or a power loss leaves behind.
      mkdirSync(join(scratch, "drill.KILLED01", "restore", "etc"), { recursive: true, mode: 0o500 });
      writeFileSync(join(scratch, "drill.KILLED01", "restore", "etc", "shadow"), "restored data", { mode: 0o400 });
      const r = drill(c, "single", ["--sample-files", "1"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`removing ${join(scratch, "drill.KILLED01")}, left by an interrupted run`);
      expectNoScratchLeft("single");
    });

    test("the result file is replaced atomically: no temporary file is left beside it", () => {
      const { state } = dirs("healthy");
      expect(readdirSync(state).sort()).toEqual(["drill-rotation", "drill.json", "drill.lock"]);
      expect(runCount).toBeGreaterThan(5);
    });
  });

  async function until(cond: () => boolean, ms = 30000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error("timed out waiting");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function waitForLock(repo: string): Promise<void> {
    await until(() => existsSync(join(repo, "locks")) && readdirSync(join(repo, "locks")).length > 0);
  }
}
