// The host contract (lib/host/layout.ts): the backup-name rule in TypeScript
// and in shell (lib/host/backup-name.sh) against one table, the same for the
// owner record's project and stack names (lib/host/stack-id.sh), the names and
// paths built from a name, and the scripts shipped with the shell rule in them.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  BACKUP_NAMES,
  BACKUP_NAME_PATTERN,
  LOG_IDENTIFIERS,
  MODULE_REF,
  STACK_ID_PATTERN,
  backupLayout,
  checkBackupName,
  drillScratchDir,
  installLayout,
  isBackupName,
  layoutShell,
} from "../../lib/host/layout";
import { DRILL_SCRIPT, HOST_SCRIPT, MONITOR_SCRIPT, PRUNE_SCRIPT, REPO_GUARD_SCRIPT, REPO_LOCK_SCRIPT, STATUS_SCRIPT, VERIFY_SCRIPT } from "../../lib/host/scripts";

const RULE_FILE = path.resolve(__dirname, "../../lib/host/backup-name.sh");
const STACK_RULE_FILE = path.resolve(__dirname, "../../lib/host/stack-id.sh");

/** [name, is it a backup name] */
const NAMES: [string, boolean][] = [
  ["daily", true],
  ["a", true],
  ["_", true],
  ["0", true],
  ["b2_home-1", true],
  ["a-", true],
  ["x__y--z", true],
  ["UPPER_lower_09", true],
  ["_" + "a".repeat(63), true],
  ["A".repeat(64), true],
  ["", false],
  ["-x", false],
  ["--help", false],
  [".x", false],
  ["a.b", false],
  ["a b", false],
  [" a", false],
  ["a/b", false],
  ["${x}", false],
  ["$x", false],
  ["a;b", false],
  ["a'b", false],
  ['a"b', false],
  ["a*", false],
  ["*", false],
  ["[a]", false],
  ["a?", false],
  ["a\\b", false],
  ["é", false],
  ["aé", false],
  ["ä1", false],
  ["a\nb", false],
  ["daily\n", false],
  ["a\tb", false],
  ["a\u2028b", false],
  ["a@b", false],
  ["a:b", false],
  ["a".repeat(65), false],
  ["_" + "a".repeat(64), false],
];

/** [project or stack name, is it one the owner record may hold] */
const STACK_IDS: [string, boolean][] = [
  ["laptop", true],
  ["nixos-restic-b2", true],
  ["a", true],
  ["dev.eu_1-x", true],
  [".", true],
  ["-", true],
  ["A".repeat(100), true],
  ["", false],
  ["A".repeat(101), false],
  ["a b", false],
  ["a/b", false],
  ["org/project/stack", false],
  ["a=b", false],
  ["$x", false],
  ["a;b", false],
  ["a'b", false],
  ["a*", false],
  ["é", false],
  ["a\nb", false],
  ["laptop\n", false],
  ["a\tb", false],
];

/** What a shell rule says about each name: one shell process for the whole table. */
function shellVerdicts(shell: string, env: NodeJS.ProcessEnv, file = RULE_FILE, fn = "rb2_backup_name_ok", table = NAMES): boolean[] {
  const script = `. ${file}\nfor n; do if ${fn} "$n"; then echo 1; else echo 0; fi; done`;
  const r = spawnSync(shell, ["-c", script, "sh", ...table.map(([n]) => n)], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) throw r.error;
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.split("\n").slice(0, -1).map((l) => l === "1");
}

describe("the backup-name rule: one table through TypeScript and through shell", () => {
  const expected = NAMES.map(([, ok]) => ok);

  test("TypeScript (BACKUP_NAME_PATTERN, isBackupName)", () => {
    expect(NAMES.map(([n]) => isBackupName(n))).toEqual(expected);
    expect(NAMES.map(([n]) => BACKUP_NAME_PATTERN.test(n))).toEqual(expected);
  });

  test.each([
    ["sh", "C"],
    ["sh", "C.UTF-8"],
    ["bash", "C"],
    ["bash", "C.UTF-8"],
  ])("shell (lib/host/backup-name.sh) under %s with LC_ALL=%s", (shell, locale) => {
    expect(shellVerdicts(shell, { PATH: process.env.PATH, LC_ALL: locale })).toEqual(expected);
  });

  test("the shell layout (generated from the same table) gives every valid name exactly the TypeScript names and paths", () => {
    const keys = Object.keys(BACKUP_NAMES);
    const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const valid = NAMES.filter(([, ok]) => ok).map(([n]) => n);
    const script =
      layoutShell() +
      `printf '%s\\n' "$install_dir" "$module_file" "$module_ref"\n` +
      `for n; do rb2_layout "$n"; printf '%s\\n' ${keys.map((k) => `"$${snake(k)}"`).join(" ")}; done`;
    const r = spawnSync("sh", ["-c", script, "sh", ...valid], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n").slice(0, -1);
    expect(lines.slice(0, 3)).toEqual(["restic-b2", "module.nix", MODULE_REF]);
    const expected = valid.flatMap((n) => {
      const l = backupLayout(n) as unknown as Record<string, string>;
      return keys.map((k) => l[k]);
    });
    expect(lines.slice(3)).toEqual(expected);
    expect(expected).toContain("restic-backups-daily.timer");
  });

  test("the one guard names its caller and the key", () => {
    expect(() => checkBackupName("a b", "renderModule")).toThrow(
      "renderModule: invalid backup name \"a b\" (backupName must be 1 to 64 letters, digits, '_' or '-', not starting with '-')",
    );
    expect(() => backupLayout("-x", "hostCommand")).toThrow(/^hostCommand: invalid backup name "-x"/);
    expect(() => checkBackupName("daily", "x")).not.toThrow();
  });
});

describe("the project and stack name rule of the owner record: one table through TypeScript and through shell", () => {
  const expected = STACK_IDS.map(([, ok]) => ok);

  test("TypeScript (STACK_ID_PATTERN)", () => {
    expect(STACK_IDS.map(([n]) => STACK_ID_PATTERN.test(n))).toEqual(expected);
  });

  test.each([
    ["sh", "C"],
    ["sh", "C.UTF-8"],
    ["bash", "C.UTF-8"],
  ])("shell (lib/host/stack-id.sh) under %s with LC_ALL=%s", (shell, locale) => {
    const env = { PATH: process.env.PATH, LC_ALL: locale };
    expect(shellVerdicts(shell, env, STACK_RULE_FILE, "rb2_stack_id_ok", STACK_IDS)).toEqual(expected);
  });

  test("the deploy script carries the rule once, spliced in", () => {
    expect(HOST_SCRIPT).toContain(fs.readFileSync(STACK_RULE_FILE, "utf8").trimEnd());
    expect(HOST_SCRIPT.split("rb2_stack_id_ok() {").length).toBe(2);
  });
});

describe("the names and paths of one backup", () => {
  test("daily", () => {
    expect(backupLayout("daily")).toEqual({
      name: "daily",
      backupUnit: "restic-backups-daily",
      backupService: "restic-backups-daily.service",
      backupTimer: "restic-backups-daily.timer",
      backupNotifyUnit: "restic-backups-daily-notify-failure",
      drillUnit: "restic-b2-drill-daily",
      drillService: "restic-b2-drill-daily.service",
      drillTimer: "restic-b2-drill-daily.timer",
      drillNotifyUnit: "restic-b2-drill-daily-notify-failure",
      wrapperCommand: "restic-daily",
      verifyCommand: "restic-b2-verify-daily",
      agenixPrefix: "restic-b2-daily",
      systemdDirName: "restic-b2/daily",
      stateDir: "/var/lib/restic-b2/daily",
      cacheDir: "/var/cache/restic-b2/daily",
      runtimeDir: "/run/restic-b2/daily",
      repositoryLock: "/var/lib/restic-b2/daily/repository.lock",
      pruneSkipped: "/var/lib/restic-b2/daily/prune-skipped",
      drillResult: "/var/lib/restic-b2/daily/drill.json",
      repositoryIdFile: "/var/lib/restic-b2/daily/repository-id",
      resetCommand: "restic-b2-reset-daily",
    });
  });

  test("the files in the host's configuration directory", () => {
    expect(installLayout("/etc/nixos")).toEqual({
      dir: "/etc/nixos/restic-b2",
      modulePath: "/etc/nixos/restic-b2/module.nix",
      ageDir: "/etc/nixos/restic-b2/secrets",
    });
  });

  test("the drill's scratch directory is the first candidate outside the backed-up paths", () => {
    expect(drillScratchDir("home", ["/home"])).toEqual({ kind: "state", dir: "/var/lib/restic-b2/home" });
    expect(drillScratchDir("home", ["/var/lib"])).toEqual({ kind: "cache", dir: "/var/cache/restic-b2/home" });
    expect(drillScratchDir("home", ["/var"])).toEqual({ kind: "runtime", dir: "/run/restic-b2/home" });
    expect(drillScratchDir("home", ["/"])).toBeUndefined();
  });
});

describe("the shipped scripts", () => {
  const rule = fs.readFileSync(RULE_FILE, "utf8").trimEnd();

  test("the deploy and status scripts carry the shell rule and the layout, spliced in where they include them", () => {
    for (const text of [HOST_SCRIPT, STATUS_SCRIPT]) {
      expect(text).toContain(rule);
      expect(text).toContain(layoutShell().trimEnd());
      expect(text).not.toContain("# @include");
      expect(text.split("rb2_backup_name_ok() {").length).toBe(2);
      expect(text.split("rb2_layout() {").length).toBe(2);
    }
  });

  test("the two bash scripts run directly by tests name themselves and the drill's result as the layout does", () => {
    // drill.sh and verify.sh are embedded in the module and also run from
    // their files, so they take no spliced layout: their message prefix and
    // the drill's result file in --state-dir are pinned to the table here.
    expect(DRILL_SCRIPT).toContain(`PROG="${BACKUP_NAMES.drillUnit.replace("{name}", "$backup_name")}"`);
    expect(VERIFY_SCRIPT).toContain(`PROG="${BACKUP_NAMES.verifyCommand.replace("{name}", "$backup_name")}"`);
    expect(BACKUP_NAMES.drillResult).toBe("{stateDir}/drill.json");
    expect(DRILL_SCRIPT).toContain('atomic_write "$state_dir/drill.json"');
    // repo-guard.sh names the reset command in its messages.
    for (const text of [REPO_GUARD_SCRIPT, VERIFY_SCRIPT]) {
      expect(text).toContain(`reset_command="${BACKUP_NAMES.resetCommand.replace("{name}", "$backup_name")}"`);
    }
  });

  test("the journal identifiers the scripts name and match are the layout's (LOG_IDENTIFIERS)", () => {
    // The hooks' own names (their message prefix) and what the monitor and
    // the notifier filter on are written in the scripts; pinned here.
    expect(PRUNE_SCRIPT).toContain(`PROG=${LOG_IDENTIFIERS.prune}\n`);
    expect(REPO_LOCK_SCRIPT).toContain(`PROG=${LOG_IDENTIFIERS.repoLock}\n`);
    expect(MONITOR_SCRIPT).toContain(`PROG=${LOG_IDENTIFIERS.monitor}\n`);
    expect(MONITOR_SCRIPT).toContain(`-e '/^[^ ]* [^ ]* ${LOG_IDENTIFIERS.monitor}\\[[0-9]*\\]: /d'`);
    expect(MONITOR_SCRIPT).toContain(`1:*"${LOG_IDENTIFIERS.prune}: warning:"*)`);
    expect(DRILL_SCRIPT).toContain(`PROG=${LOG_IDENTIFIERS.drill}\n`);
  });

  test("the scripts the module embeds are their files byte for byte (they include nothing)", () => {
    for (const [file, text] of [["drill.sh", DRILL_SCRIPT], ["verify.sh", VERIFY_SCRIPT], ["monitor.sh", MONITOR_SCRIPT], ["prune.sh", PRUNE_SCRIPT], ["repo-lock.sh", REPO_LOCK_SCRIPT], ["repo-guard.sh", REPO_GUARD_SCRIPT]]) {
      expect(text).toBe(fs.readFileSync(path.resolve(__dirname, "../../lib/host", file), "utf8"));
    }
  });
});
