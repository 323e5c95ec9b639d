// Backup settings: what restic backs up, how it prunes, when the timer fires,
// how agenix is imported and who is told of a failure.

import { BACKUP_NAME_PATTERN, BACKUP_NAME_RULE } from "../host/layout";
import { backupPathProblem, excludePatternProblem, resticOptionProblem } from "./restic-rules";
import { UNIX_USER_PATTERN } from "./values";
import {
  DEFAULT_NIXOS_RELEASE,
  NIXOS_RELEASE_PATTERN,
  OLDEST_NIXOS_RELEASE,
  PATHS_VIA_FILES_FROM_SINCE,
  compareReleases,
  missingInRelease,
  pathIsPlain,
} from "./nixos-release";
import { PlainKey } from "./keys";
import { Reader } from "./reader";
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

/**
 * extraBackupArgs, pruneOpts, checkOpts: each entry one restic option, a flag
 * and at most one value. The value may hold any printable text (spaces,
 * quotes, $, %, ;, non-ASCII): the renderer makes it one exact systemd
 * command-line argument (lib/nix/systemd.ts).
 */
function optionList(r: Reader, key: PlainKey, dflt: readonly string[]): string[] {
  const list = r.stringList(key, dflt);
  for (const o of list) {
    const problem = resticOptionProblem(o);
    if (problem !== undefined) r.fail(key, problem, o);
  }
  return list;
}

/** systemd.timer(5) [Timer] settings (systemd 252). `Unit=` is left out: the timer must start the backup. */
export const TIMER_SETTINGS = [
  "OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec", "OnCalendar",
  "AccuracySec", "RandomizedDelaySec", "FixedRandomDelay", "OnClockChange", "OnTimezoneChange",
  "Persistent", "WakeSystem", "RemainAfterElapse",
] as const;
/** The settings that make a timer elapse (systemd refuses a timer with none of them). */
const TIMER_TRIGGERS = ["OnCalendar", "OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec", "OnClockChange", "OnTimezoneChange"];
const BOOLEAN_TIMER_SETTINGS = new Set(["FixedRandomDelay", "OnClockChange", "OnTimezoneChange", "Persistent", "WakeSystem", "RemainAfterElapse"]);
/** Calendar events, time spans and time zone names need no other characters. */
const TIMER_VALUE = /^[A-Za-z0-9:*.,/~+_-]+(?: [A-Za-z0-9:*.,/~+_-]+)*$/;

/** A timer's [Timer] settings from a list of Key=Value strings (timerConfig, drillTimerConfig). */
export function parseTimerSettings(r: Reader, key: PlainKey, dflt: Readonly<Record<string, UnitValue>>): Record<string, UnitValue> {
  if (!r.has(key)) return { ...dflt };
  const timerConfig: Record<string, UnitValue> = {};
  const before = r.problems.length;
  for (const entry of r.stringList(key, [])) {
    const m = /^([A-Z][A-Za-z]*)=(.*)$/.exec(entry);
    if (!m) r.fail(key, "each entry must be a systemd [Timer] setting written Key=Value, like OnCalendar=daily", entry);
    else if (!(TIMER_SETTINGS as readonly string[]).includes(m[1])) {
      r.fail(key, `${m[1]} is not a [Timer] setting this program can set (one of ${TIMER_SETTINGS.join(", ")})`, entry);
    } else if (m[1] in timerConfig) r.fail(key, "must not set the same key twice", m[1]);
    else if (BOOLEAN_TIMER_SETTINGS.has(m[1])) {
      if (m[2] !== "true" && m[2] !== "false") r.fail(key, `${m[1]} must be true or false`, entry);
      else timerConfig[m[1]] = m[2] === "true";
    } else if (!TIMER_VALUE.test(m[2])) {
      r.fail(
        key,
        `the ${m[1]} value may only hold letters, digits, single spaces and : * . , / ~ + _ - (systemd calendar, time span and time zone syntax; '%' would be a systemd specifier, quotes and '$' have no meaning there)`,
        entry,
      );
    } else timerConfig[m[1]] = m[2];
  }
  if (Object.keys(timerConfig).length === 0 && r.problems.length === before) {
    const example = Object.entries(dflt).map(([k, v]) => `${k}=${v}`).join(", ");
    r.fail(key, `must set at least one setting, e.g. [${example}] (it replaces the default as a whole)`);
  } else if (r.problems.length === before && !TIMER_TRIGGERS.some((k) => k in timerConfig && timerConfig[k] !== false)) {
    r.fail(
      key,
      `must include a trigger (${TIMER_TRIGGERS.join("=, ")}=true): systemd refuses a timer without one`,
      Object.entries(timerConfig).map(([k, v]) => `${k}=${String(v)}`).join(", "),
    );
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

/** The host's NixOS release, and a check that it has every option the config needs. */
function parseNixosRelease(r: Reader): string | undefined {
  const release = r.string("nixosRelease");
  if (release === undefined) return undefined;
  if (!NIXOS_RELEASE_PATTERN.test(release)) {
    r.fail("nixosRelease", "must be a NixOS release like 25.11 (`nixos-version` on the host prints it first) or unstable", release);
    return undefined;
  }
  if (compareReleases(release, OLDEST_NIXOS_RELEASE) < 0) {
    r.fail("nixosRelease", `must be ${OLDEST_NIXOS_RELEASE} or newer: the module sets services.restic.backups.<name>.environmentFile, which NixOS ${OLDEST_NIXOS_RELEASE} added`, release);
    return undefined;
  }
  return release;
}

/** Config keys whose use needs a newer restic module, and the option each one sets. */
function checkRelease(r: Reader, b: BackupConfig): void {
  const release = b.nixosRelease ?? DEFAULT_NIXOS_RELEASE;
  const uses: [PlainKey, string, boolean][] = [
    ["exclude", "exclude", b.exclude.length > 0],
    ["checkOpts", "checkOpts", b.checkOpts.length > 0],
    ["runCheck", "runCheck", b.runCheck !== undefined],
  ];
  if (compareReleases(release, PATHS_VIA_FILES_FROM_SINCE) < 0) {
    for (const p of b.paths.filter((x) => !pathIsPlain(x))) {
      r.fail(
        "paths",
        `on NixOS before ${PATHS_VIA_FILES_FROM_SINCE} the restic module may put paths on the ExecStart= command line, where this path would not arrive as written; there, paths may only hold letters, digits and _ . , : / @ + = - (nixosRelease is ${release})`,
        p,
      );
    }
  }
  for (const [key, option, used] of uses) {
    const since = used ? missingInRelease(option, release) : undefined;
    if (since !== undefined) {
      r.fail(key, `needs services.restic.backups.<name>.${option}, which NixOS ${since} added; nixosRelease is ${release} (update the host, or unset ${key})`);
    }
  }
}

export function parseBackup(r: Reader): BackupConfig {
  const backupName = r.string("backupName") ?? "daily";
  if (!BACKUP_NAME_PATTERN.test(backupName)) {
    r.fail(
      "backupName",
      `must be ${BACKUP_NAME_RULE} (it names restic-backups-<name>.service, /run/restic-backups-<name> and the restic-<name> command, where other characters are not allowed or would need quoting)`,
      backupName,
    );
  }
  const paths = r.stringList("paths", []);
  if (!r.has("paths")) r.fail("paths", "is required: the absolute paths to back up, e.g. [\"/home\", \"/etc\"]");
  else if (paths.length === 0) r.fail("paths", "must list at least one path");
  for (const p of paths) {
    const problem = backupPathProblem(p);
    if (problem !== undefined) r.fail("paths", problem, p);
  }
  const exclude = r.stringList("exclude", []);
  for (const p of exclude) {
    const problem = excludePatternProblem(p);
    if (problem !== undefined) r.fail("exclude", `each entry must be one restic exclude pattern: it ${problem}`, p);
  }
  const pruneOpts = optionList(r, "pruneOpts", DEFAULT_PRUNE_OPTS);
  const extraBackupArgs = optionList(r, "extraBackupArgs", []);
  const checkOpts = optionList(r, "checkOpts", []);
  const runCheck = r.string("runCheck") === undefined ? undefined : r.boolean("runCheck", false);
  const timerConfig = parseTimerSettings(r, "timerConfig", DEFAULT_TIMER_CONFIG);
  const agenixModule = parseAgenixModule(r);
  const notify = parseNotify(r);
  const nixosRelease = parseNixosRelease(r);
  const b: BackupConfig = { backupName, paths, exclude, pruneOpts, timerConfig, extraBackupArgs, checkOpts, runCheck, agenixModule, notify };
  if (nixosRelease !== undefined) b.nixosRelease = nixosRelease;
  checkRelease(r, b);
  return b;
}
