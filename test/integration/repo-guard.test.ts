// lib/host/repo-guard.sh with real restic on local repositories, run the way
// the backup unit runs it: `check` first in the pre-start, then the restic
// module's own pre-start with initialize = true (`restic cat config || restic
// init`), the backup, then `record` (postStart); every step in one `set -e`
// shell, as systemd stops a unit at its first failing step. Cases: a fresh
// host, a repository deleted or replaced after the first backup, a wrong
// password, a damaged record, and the explicit reset. Once per restic
// release (test/support/restic-versions.ts: the machine's 0.14 and 0.18,
// which exits 10 for a missing repository).

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupLayout } from "../../lib/host/layout";
import { Credentials, ResticLab } from "../support/restic-repo";
import { resticReleases } from "../support/restic-versions";
import { describeWhen } from "../support/requires";

const SCRIPT = join(__dirname, "..", "..", "lib", "host", "repo-guard.sh");
const ID = /^[0-9a-f]{64}$/;

for (const release of resticReleases()) {
  const restic = release.path;
  describeWhen(release.missing, `repo-guard.sh (restic ${release.label})`, () => {
    let lab: ResticLab;
    let n = 0;
    beforeAll(() => {
      lab = new ResticLab("repo-guard-test-", restic);
    });
    afterAll(() => lab?.cleanup());

    /** A host: its credentials (the repository at <lab>/<name>-repo), state directory and source tree. */
    function host(name: string, password = "correct horse battery staple") {
      const repoDir = lab.path(`${name}-repo`);
      const c = lab.credentials(name, repoDir, password);
      const state = lab.path("state", name);
      const src = lab.path("src", name);
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, "file.txt"), `data of ${name}\n`);
      return { name, c, repoDir, state, idFile: join(state, "repository-id"), src };
    }
    type Host = ReturnType<typeof host>;

    function env(c: Credentials) {
      return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: lab.path("home"), RESTIC_REPOSITORY_FILE: c.repo, RESTIC_PASSWORD_FILE: c.password, RESTIC_CACHE_DIR: lab.path("cache") };
    }

    function guard(h: Host, action: string, extra: string[] = []) {
      const args = [SCRIPT, action, "--backup-name", "daily", "--id-file", h.idFile, ...(action === "reset" ? [] : ["--restic", restic]), ...extra];
      return spawnSync("bash", args, { encoding: "utf8", env: env(h.c) });
    }

    /** One run of the backup unit: pre-start (guard, then the restic module's init), backup, postStart. */
    function unitRun(h: Host) {
      const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
      const g = (action: string) => `bash ${q(SCRIPT)} ${action} --backup-name daily --id-file ${q(h.idFile)} --restic ${q(restic)}`;
      const script = [
        "set -e",
        g("check"),
        `${q(restic)} cat config > /dev/null || ${q(restic)} init`,
        `${q(restic)} backup --quiet ${q(h.src)}`,
        `echo BACKUP-DONE`,
        g("record"),
      ].join("\n");
      n++;
      const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: env(h.c) });
      return { status: r.status, out: r.stdout + r.stderr };
    }

    const repoId = (h: Host) => (JSON.parse(lab.restic(h.c, ["cat", "config"])) as { id: string }).id;
    const snapshots = (h: Host) => (JSON.parse(lab.restic(h.c, ["snapshots", "--json"])) as unknown[]).length;

    test("a fresh host initializes once; the first successful backup records the id, root-only; later runs check it", () => {
      const h = host("fresh");
      const first = unitRun(h);
      expect(first.status).toBe(0);
      expect(first.out).toContain("restic-b2-repo-guard-daily: no repository id recorded yet");
      expect(first.out).toMatch(/created restic repository/);
      const id = repoId(h);
      expect(id).toMatch(ID);
      expect(readFileSync(h.idFile, "utf8")).toBe(`${id}\n`);
      expect(statSync(h.idFile).mode & 0o777).toBe(0o600);
      expect(statSync(h.state).mode & 0o777).toBe(0o700);
      expect(first.out).toContain(`recorded repository id ${id}`);
      const second = unitRun(h);
      expect(second.status).toBe(0);
      expect(second.out).toContain(`repository id ${id}, as recorded`);
      expect(second.out).not.toMatch(/created restic repository/);
      expect(second.out).not.toContain("recorded repository id");
      expect(repoId(h)).toBe(id);
      expect(snapshots(h)).toBe(2);
    });

    test("a repository deleted after the first backup: the next run fails with expected and found, and no new repository exists", () => {
      const h = host("deleted");
      expect(unitRun(h).status).toBe(0);
      const id = readFileSync(h.idFile, "utf8").trim();
      rmSync(h.repoDir, { recursive: true, force: true });
      const r = unitRun(h);
      expect(r.status).toBe(1);
      expect(r.out).toContain(`FAIL: expected repository id ${id}, found no repository at the configured location`);
      expect(r.out).toContain("Not creating a new, empty repository");
      expect(r.out).toContain("restic-b2-reset-daily");
      expect(r.out).not.toContain("BACKUP-DONE");
      expect(r.out).not.toMatch(/created restic repository/);
      expect(existsSync(h.repoDir)).toBe(false);
      expect(readFileSync(h.idFile, "utf8").trim()).toBe(id);
      expect(r.out).not.toContain("correct horse");
      // An emptied location (the directory is there, the repository's files are not) is the same.
      mkdirSync(h.repoDir);
      const again = unitRun(h);
      expect(again.status).toBe(1);
      expect(again.out).toContain(`expected repository id ${id}, found no repository`);
      expect(existsSync(join(h.repoDir, "config"))).toBe(false);
    });

    test("a repository replaced by another (same password, different id): fails, nothing is written to either", () => {
      const h = host("replaced");
      expect(unitRun(h).status).toBe(0);
      const id = readFileSync(h.idFile, "utf8").trim();
      renameSync(h.repoDir, `${h.repoDir}.old`);
      lab.restic(h.c, ["init"]);
      const other = repoId(h);
      expect(other).not.toBe(id);
      const r = unitRun(h);
      expect(r.status).toBe(1);
      expect(r.out).toContain(`FAIL: expected repository id ${id}, found repository id ${other}`);
      expect(r.out).not.toContain("BACKUP-DONE");
      expect(snapshots(h)).toBe(0);
      expect(readFileSync(h.idFile, "utf8").trim()).toBe(id);
    });

    test("a repository that cannot be opened (wrong password) fails the check, and restic init does not run", () => {
      const h = host("wrongpw");
      expect(unitRun(h).status).toBe(0);
      const id = readFileSync(h.idFile, "utf8").trim();
      writeFileSync(h.c.password, "not the password");
      expect(guard(h, "check").status).toBe(1);
      const r = unitRun(h);
      expect(r.status).toBe(1);
      expect(r.out).toContain(`FAIL: expected repository id ${id}, but the repository cannot be opened to check it`);
      expect(r.out).toMatch(/wrong password/);
      expect(r.out).not.toContain("not the password");
      expect(r.out).not.toMatch(/created restic repository/);
    });

    test("a record that is not an id fails the check; record never overwrites another id", () => {
      const h = host("garbage");
      expect(unitRun(h).status).toBe(0);
      const id = readFileSync(h.idFile, "utf8").trim();
      writeFileSync(h.idFile, "x; rm -rf /\n");
      const r = guard(h, "check");
      expect(r.status).toBe(1);
      expect(r.stdout).toContain("does not hold a repository id; not backing up");
      const other = "0".repeat(64);
      writeFileSync(h.idFile, `${other}\n`);
      const rec = guard(h, "record");
      expect(rec.status).toBe(1);
      expect(rec.stdout).toContain(`records repository id ${other}, but the backup went to repository id ${id}; the record is kept`);
      expect(readFileSync(h.idFile, "utf8")).toBe(`${other}\n`);
      // Without a trailing newline the record still reads.
      writeFileSync(h.idFile, id);
      expect(guard(h, "check").stdout).toContain(`repository id ${id}, as recorded`);
    });

    test("the explicit reset: the record goes, the next run creates a new repository and records its id", () => {
      const h = host("reset");
      expect(unitRun(h).status).toBe(0);
      const id = readFileSync(h.idFile, "utf8").trim();
      rmSync(h.repoDir, { recursive: true, force: true });
      expect(unitRun(h).status).toBe(1);
      const reset = guard(h, "reset");
      expect(reset.status).toBe(0);
      expect(reset.stdout).toContain(`removed the record of repository id ${id}`);
      expect(existsSync(h.idFile)).toBe(false);
      const r = unitRun(h);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(/created restic repository/);
      const fresh = repoId(h);
      expect(fresh).not.toBe(id);
      expect(readFileSync(h.idFile, "utf8")).toBe(`${fresh}\n`);
      const twice = guard(h, "reset");
      expect(twice.status).toBe(0);
      expect(guard(h, "reset").stdout).toContain("no repository id is recorded");
    });

    test("record after a backup whose repository cannot be read: a warning, exit 0, nothing recorded", () => {
      const h = host("unreadable");
      const r = guard(h, "record");
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("warning: the backup succeeded, but the repository id could not be read");
      expect(existsSync(h.idFile)).toBe(false);
    });

    test("bad arguments are a usage error", () => {
      const h = host("usage");
      expect(guard(h, "start").status).toBe(2);
      expect(spawnSync("bash", [SCRIPT, "check", "--backup-name", "daily", "--id-file", "relative", "--restic", restic]).status).toBe(2);
      expect(n).toBeGreaterThan(5);
    });
  });
}

test("the id file is the layout's, in the root-only state directory", () => {
  expect(backupLayout("daily").repositoryIdFile).toBe("/var/lib/restic-b2/daily/repository-id");
  expect(backupLayout("daily").resetCommand).toBe("restic-b2-reset-daily");
});
