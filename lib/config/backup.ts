// Backup settings: what restic backs up, how it prunes, when the timer fires,
// how agenix is imported and who is told of a failure.

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
import { RESTIC_OPTION_KEYS } from "./keys";
import { Reader } from "./reader";
import { CONFIG } from "./schema";
import { AgenixModule, BackupConfig, UnitValue } from "./types";

export { DEFAULT_AGENIX_URL } from "./schema";

/** A timer key's declared default (["OnCalendar=daily", "Persistent=true"]) as [Timer] settings. */
function timerDefault(list: readonly string[]): Readonly<Record<string, UnitValue>> {
  const out: Record<string, UnitValue> = {};
  for (const entry of list) {
    const [k, v] = [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)];
    out[k] = v === "true" ? true : v === "false" ? false : v;
  }
  return Object.freeze(out);
}

export const DEFAULT_PRUNE_OPTS: readonly string[] = CONFIG.pruneOpts.default;
export const DEFAULT_TIMER_CONFIG = timerDefault(CONFIG.timerConfig.default);
export const DEFAULT_DRILL_TIMER_CONFIG = timerDefault(CONFIG.drillTimerConfig.default);

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
export function parseTimerSettings(r: Reader, key: "timerConfig" | "drillTimerConfig"): Record<string, UnitValue> {
  const dflt = key === "timerConfig" ? DEFAULT_TIMER_CONFIG : DEFAULT_DRILL_TIMER_CONFIG;
  if (!r.has(key)) return { ...dflt };
  const timerConfig: Record<string, UnitValue> = {};
  const before = r.problems.length;
  for (const entry of r.get(key)) {
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
  const agenixRaw = r.get("agenixModule");
  const agenixSha256 = r.get("agenixSha256");
  if (agenixRaw === "provided") {
    if (agenixSha256 !== undefined) r.fail("agenixSha256", "is only used with an agenixModule URL, not with 'provided'");
    return { kind: "provided" };
  }
  if (!/^https:\/\/[^\s"'\\$`]+$/.test(agenixRaw)) {
    r.fail("agenixModule", "must be 'provided' (the host's configuration already imports agenix) or the https URL of an agenix tarball", agenixRaw);
  } else if (agenixSha256 !== undefined && !/^(?:sha256-[A-Za-z0-9+/]{43}=|[0-9a-z]{52}|[0-9a-f]{64})$/.test(agenixSha256)) {
    r.fail("agenixSha256", "must be a Nix sha256 hash (52 base-32 characters, 64 hex digits or an SRI 'sha256-...=')", agenixSha256);
  } else {
    return agenixSha256 === undefined ? { kind: "fetchTarball", url: agenixRaw } : { kind: "fetchTarball", url: agenixRaw, sha256: agenixSha256 };
  }
  return { kind: "fetchTarball", url: CONFIG.agenixModule.default };
}

function parseNotify(r: Reader): BackupConfig["notify"] {
  const notifyUser = r.get("notifyUser");
  if (notifyUser === undefined) return undefined;
  const uid = r.get("notifyUid");
  if (!UNIX_USER_PATTERN.test(notifyUser)) r.fail("notifyUser", "must be a Unix user name (lower-case letters, digits, '_' and '-')", notifyUser);
  else if (uid === undefined && !r.has("notifyUid")) r.fail("notifyUid", "is required with notifyUser: the user's numeric uid (`id -u <user>`), for its session bus");
  else if (uid !== undefined) return { user: notifyUser, uid };
  return undefined;
}

/** The host's NixOS release, and a check that it has every option the config needs. */
function parseNixosRelease(r: Reader): string | undefined {
  const release = r.get("nixosRelease");
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

/**
 * Whether the module will set a key's restic option: an empty list or an
 * unset value is left out (lib/nix/module.ts), anything else is written.
 */
function used(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined;
}

/** The restic option keys (./schema resticOption) whose use needs a newer restic module than the host's. */
function checkRelease(r: Reader, b: BackupConfig): void {
  const release = b.nixosRelease ?? DEFAULT_NIXOS_RELEASE;
  if (compareReleases(release, PATHS_VIA_FILES_FROM_SINCE) < 0) {
    for (const p of b.paths.filter((x) => !pathIsPlain(x))) {
      r.fail(
        "paths",
        `on NixOS before ${PATHS_VIA_FILES_FROM_SINCE} the restic module may put paths on the ExecStart= command line, where this path would not arrive as written; there, paths may only hold letters, digits and _ . , : / @ + = - (nixosRelease is ${release})`,
        p,
      );
    }
  }
  for (const key of RESTIC_OPTION_KEYS) {
    const since = used(b[key]) ? missingInRelease(key, release) : undefined;
    if (since !== undefined) {
      r.fail(key, `needs services.restic.backups.<name>.${key}, which NixOS ${since} added; nixosRelease is ${release} (update the host, or unset ${key})`);
    }
  }
}

export function parseBackup(r: Reader): BackupConfig {
  const backupName = r.get("backupName");
  const paths = r.get("paths");
  if (!r.has("paths")) r.fail("paths", "is required: the absolute paths to back up, e.g. [\"/home\", \"/etc\"]");
  const exclude = r.get("exclude");
  const pruneOpts = r.get("pruneOpts");
  const extraBackupArgs = r.get("extraBackupArgs");
  const checkOpts = r.get("checkOpts");
  const runCheck = r.get("runCheck");
  const timerConfig = parseTimerSettings(r, "timerConfig");
  const agenixModule = parseAgenixModule(r);
  const notify = parseNotify(r);
  const nixosRelease = parseNixosRelease(r);
  const b: BackupConfig = { backupName, paths, exclude, pruneOpts, timerConfig, extraBackupArgs, checkOpts, runCheck, agenixModule, notify };
  if (nixosRelease !== undefined) b.nixosRelease = nixosRelease;
  checkRelease(r, b);
  return b;
}
