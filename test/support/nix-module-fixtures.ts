// Inputs for the lib/nix/ tests (unit and nix-instantiate integration).

import type { BackupConfig } from "../../lib/config/types";
import type { ModuleOptions } from "../../lib/nix";

export const SECRET_FILES = {
  env: "./secrets/env.age",
  repo: "./secrets/repo.age",
  password: "./secrets/password.age",
} as const;

export const AGENIX_URL = "https://github.com/ryantm/agenix/archive/b027ee29d959fda4b60b57566d64c98a202e0feb.tar.gz";
export const AGENIX_SHA256 = "0000000000000000000000000000000000000000000000000000";

/** What lib/config/ produces when nothing is configured (agenix module provided by the host). */
export function defaultBackup(): BackupConfig {
  return {
    backupName: "daily",
    paths: ["/home"],
    exclude: [],
    pruneOpts: ["--keep-daily 7", "--keep-weekly 5", "--keep-monthly 12"],
    timerConfig: { OnCalendar: "daily", Persistent: true },
    extraBackupArgs: [],
    checkOpts: [],
    agenixModule: { kind: "provided" },
  };
}

/** Every optional part set. */
export function fullBackup(): BackupConfig {
  return {
    backupName: "daily",
    paths: ["/home", "/etc", "/var/lib"],
    exclude: ["/home/*/.cache", "*.tmp"],
    pruneOpts: ["--keep-daily 7", "--keep-weekly 5"],
    timerConfig: { Persistent: true, RandomizedDelaySec: 3600, OnCalendar: "*-*-* 02:30:00", AccuracySec: "1m" },
    extraBackupArgs: ["--one-file-system", "--exclude-caches"],
    checkOpts: ["--read-data-subset=5%"],
    runCheck: true,
    agenixModule: { kind: "fetchTarball", url: AGENIX_URL, sha256: AGENIX_SHA256 },
    notify: { user: "alice", uid: 1000 },
  };
}

export function moduleOptions(backup: BackupConfig, prefix = `restic-b2-${backup.backupName}`): ModuleOptions {
  return { backup, secretFiles: { ...SECRET_FILES }, agenixSecretPrefix: prefix };
}

/**
 * Strings that break naive escaping: Nix interpolation and escape syntax,
 * shell syntax, quotes, line breaks, control characters, non-ASCII.
 * The last ones contain no line break, so they are also valid timer values.
 */
export const HOSTILE: readonly string[] = [
  'a "quoted" path\\with\\backslashes',
  "${builtins.readFile /etc/shadow}",
  '${builtins.throw "pwned"}',
  "`id`",
  "$(id)",
  "line1\nline2",
  "cr\rlf\r\nend\n",
  "tab\there",
  "it's",
  "''${x}",
  "Ünïcødé ✓",
  "😀 emoji",
  "$",
  "$$",
  "a$",
  "$${x}",
  "\\${x}",
  "\\\\${x}",
  "$\\",
  '$"',
  '"${',
  "${",
  "}",
  "\x01\x1b[31m\x7f",
  "",
  " leading and trailing ",
  "# not a comment",
  "/* not a comment */",
  "; rm -rf / #",
];
