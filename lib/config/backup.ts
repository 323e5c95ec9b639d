// Backup settings: what restic backs up, how it prunes, when the timer fires,
// how agenix is imported and who is told of a failure.

import { BACKUP_NAME_PATTERN, UNIX_USER_PATTERN } from "../nix/module";
import { PlainKey } from "./keys";
import { Reader, checkAbsolutePath } from "./reader";
import { AgenixModule, BackupConfig, UnitValue } from "./types";

export const DEFAULT_PRUNE_OPTS: readonly string[] = ["--keep-daily 7", "--keep-weekly 5", "--keep-monthly 12"];
export const DEFAULT_TIMER_CONFIG: Readonly<Record<string, UnitValue>> = { OnCalendar: "daily", Persistent: true };

/**
 * agenix at a fixed commit of its main branch (2026-02-03), the one whose
 * module uses `age` to decrypt. Pinned by commit in the URL; add `sha256`
 * (`nix-prefetch-url --unpack <url>`) to have Nix verify the download too.
 */
export const DEFAULT_AGENIX_URL =
  "https://github.com/ryantm/agenix/archive/b027ee29d959fda4b60b57566d64c98a202e0feb.tar.gz";

// One restic option, as NixOS joins pruneOpts/extraBackupArgs/checkOpts into a
// shell command line unquoted: a flag, optionally one value of safe characters.
const RESTIC_OPTION = /^--?[A-Za-z][A-Za-z0-9-]*(?:[ =][A-Za-z0-9._:/@%+,=-]+)?$/;

function optionList(r: Reader, key: PlainKey, dflt: readonly string[]): string[] {
  const list = r.stringList(key, dflt);
  for (const o of list) {
    if (!RESTIC_OPTION.test(o)) {
      r.fail(key, "each entry must be one restic option like '--keep-daily 7' (a flag and at most one value of letters, digits and ._:/@%+,=-), because NixOS pastes it into a shell command", o);
    }
  }
  return list;
}

/** A timer's [Timer] settings from a list of Key=Value strings (timerConfig, drillTimerConfig). */
export function parseTimerSettings(r: Reader, key: PlainKey, dflt: Readonly<Record<string, UnitValue>>): Record<string, UnitValue> {
  if (!r.has(key)) return { ...dflt };
  const timerConfig: Record<string, UnitValue> = {};
  const before = r.problems.length;
  for (const entry of r.stringList(key, [])) {
    const m = /^([A-Z][A-Za-z]*)=(.+)$/.exec(entry);
    if (!m) r.fail(key, "each entry must be a systemd [Timer] setting written Key=Value, like OnCalendar=daily", entry);
    else if (m[1] in timerConfig) r.fail(key, "must not set the same key twice", m[1]);
    else timerConfig[m[1]] = m[2] === "true" ? true : m[2] === "false" ? false : m[2];
  }
  if (Object.keys(timerConfig).length === 0 && r.problems.length === before) {
    const example = Object.entries(dflt).map(([k, v]) => `${k}=${v}`).join(", ");
    r.fail(key, `must set at least one setting, e.g. [${example}] (it replaces the default as a whole)`);
  }
  return timerConfig;
}

function parseAgenixModule(r: Reader): AgenixModule {
  const agenixRaw = r.string("agenixModule");
  const agenixSha256 = r.string("agenixSha256");
  if (agenixRaw === "provided") {
    if (agenixSha256 !== undefined) r.fail("agenixSha256", "is only used with an agenixModule URL, not with 'provided'");
    return { kind: "provided" };
  }
  if (agenixRaw !== undefined && !/^https:\/\/[^\s"'\\$`]+$/.test(agenixRaw)) {
    r.fail("agenixModule", "must be 'provided' (the host's configuration already imports agenix) or the https URL of an agenix tarball", agenixRaw);
  } else if (agenixSha256 !== undefined && !/^(?:sha256-[A-Za-z0-9+/]{43}=|[0-9a-z]{52}|[0-9a-f]{64})$/.test(agenixSha256)) {
    r.fail("agenixSha256", "must be a Nix sha256 hash (52 base-32 characters, 64 hex digits or an SRI 'sha256-...=')", agenixSha256);
  } else {
    const url = agenixRaw ?? DEFAULT_AGENIX_URL;
    return agenixSha256 === undefined ? { kind: "fetchTarball", url } : { kind: "fetchTarball", url, sha256: agenixSha256 };
  }
  return { kind: "fetchTarball", url: DEFAULT_AGENIX_URL };
}

function parseNotify(r: Reader): BackupConfig["notify"] {
  const notifyUser = r.string("notifyUser");
  if (notifyUser === undefined) return undefined;
  const uid = r.integer("notifyUid", 1, 2147483647);
  if (!UNIX_USER_PATTERN.test(notifyUser)) r.fail("notifyUser", "must be a Unix user name (lower-case letters, digits, '_' and '-')", notifyUser);
  else if (uid === undefined && !r.has("notifyUid")) r.fail("notifyUid", "is required with notifyUser: the user's numeric uid (`id -u <user>`), for its session bus");
  else if (uid !== undefined) return { user: notifyUser, uid };
  return undefined;
}

export function parseBackup(r: Reader): BackupConfig {
  const backupName = r.string("backupName") ?? "daily";
  if (!BACKUP_NAME_PATTERN.test(backupName)) {
    r.fail("backupName", "must be 1 to 64 letters, digits, '_' or '-', not starting with '-' (it names restic-backups-<name>.service)", backupName);
  }
  const paths = r.stringList("paths", []);
  if (!r.has("paths")) r.fail("paths", "is required: the absolute paths to back up, e.g. [\"/home\", \"/etc\"]");
  else if (paths.length === 0) r.fail("paths", "must list at least one path");
  for (const p of paths) checkAbsolutePath(r, "paths", p);
  const exclude = r.stringList("exclude", []);
  const pruneOpts = optionList(r, "pruneOpts", DEFAULT_PRUNE_OPTS);
  const extraBackupArgs = optionList(r, "extraBackupArgs", []);
  const checkOpts = optionList(r, "checkOpts", []);
  const runCheck = r.string("runCheck") === undefined ? undefined : r.boolean("runCheck", false);
  const timerConfig = parseTimerSettings(r, "timerConfig", DEFAULT_TIMER_CONFIG);
  const agenixModule = parseAgenixModule(r);
  const notify = parseNotify(r);
  return { backupName, paths, exclude, pruneOpts, timerConfig, extraBackupArgs, checkOpts, runCheck, agenixModule, notify };
}
