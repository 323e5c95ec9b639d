// The host contract: every name and path this program gives a NixOS host
// (units, commands, agenix secrets, directories, files), built here and
// nowhere else, and the one backup-name rule. The renderers, the components,
// the status command and the outputs take them from here; the host scripts get
// them as arguments. Its shell twin is lib/host/backup-name.sh (the rule only);
// test/unit/layout.test.ts runs one table of names through both.
//
// Pure and at the bottom of lib/: it imports nothing, so every other folder
// (lib/config too, for the rule) can import it.

// ---------------------------------------------------------------------------
// The backup name
// ---------------------------------------------------------------------------

/**
 * Backup names end up in attribute paths, systemd unit names, command names,
 * directory names, shell scripts and comments, so they are restricted to
 * characters that are inert in all of them: 1 to 64 letters, digits, '_' or
 * '-', not starting with '-' (which would read as an option).
 */
export const BACKUP_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

/** BACKUP_NAME_PATTERN in words, for messages. */
export const BACKUP_NAME_RULE = "1 to 64 letters, digits, '_' or '-', not starting with '-'";

export function isBackupName(name: unknown): name is string {
  return typeof name === "string" && BACKUP_NAME_PATTERN.test(name);
}

/**
 * Throws unless `name` is a backup name. `caller` names the function in the
 * message (the one guard of everything built from a name; lib/config/ has
 * already refused such a name with the user's message).
 */
export function checkBackupName(name: unknown, caller: string): asserts name is string {
  if (!isBackupName(name)) {
    throw new Error(`${caller}: invalid backup name ${JSON.stringify(name)} (backupName must be ${BACKUP_NAME_RULE})`);
  }
}

// ---------------------------------------------------------------------------
// Names and paths of one backup
// ---------------------------------------------------------------------------

/**
 * Everything on the host that is named after one backup, as templates: each
 * is built from the backup name ({name}) and the entries above it. TypeScript
 * fills them (backupLayout); the host scripts get the same table as a shell
 * function (LAYOUT_SHELL), so each pattern is written here and nowhere else.
 */
export const BACKUP_NAMES = {
  /** The unit NixOS's services.restic.backups.<name> defines (service and timer). */
  backupUnit: "restic-backups-{name}",
  backupService: "{backupUnit}.service",
  backupTimer: "{backupUnit}.timer",
  /** The oneshot unit started when the backup fails (desktop notification). */
  backupNotifyUnit: "{backupUnit}-notify-failure",
  /** The restore drill's unit (service and timer). */
  drillUnit: "restic-b2-drill-{name}",
  drillService: "{drillUnit}.service",
  drillTimer: "{drillUnit}.timer",
  /** The drill's own desktop-notification unit. */
  drillNotifyUnit: "{drillUnit}-notify-failure",
  /** NixOS's wrapper with the backup's repository, password and key. */
  wrapperCommand: "restic-{name}",
  /** The credentials check the module installs. */
  verifyCommand: "restic-b2-verify-{name}",
  /** The prefix of the backup's agenix secret names (agenixSecretName). */
  agenixPrefix: "restic-b2-{name}",
  /** What systemd's StateDirectory=/CacheDirectory=/RuntimeDirectory= take. */
  systemdDirName: "restic-b2/{name}",
  /** Root-only state directory (StateDirectory=): the drill's result and rotation. */
  stateDir: "/var/lib/{systemdDirName}",
  cacheDir: "/var/cache/{systemdDirName}",
  /** Below /run (tmpfs). */
  runtimeDir: "/run/{systemdDirName}",
  /** The last drill's result (JSON, format in lib/host/drill.sh). */
  drillResult: "{stateDir}/drill.json",
  /**
   * The host-side lock between the backup and the drill (flock; lib/host/repo-lock.sh
   * and lib/host/drill.sh): one of them uses the repository at a time. In the
   * state directory, never below /run: a runtime directory is removed when its
   * unit stops, and a lock file removed while held lets a second holder in.
   */
  repositoryLock: "{stateDir}/repository.lock",
  /** How many runs in a row the backup's prune was skipped because the repository was locked (lib/host/prune.sh). */
  pruneSkipped: "{stateDir}/prune-skipped",
  /**
   * The id of the repository this host backs up to (one line, 64 hex digits),
   * written by the first successful backup (lib/host/repo-guard.sh record); from
   * then on a missing or different repository fails the backup and the drill.
   */
  repositoryIdFile: "{stateDir}/repository-id",
  /** Removes repositoryIdFile, so the next backup may create a new repository (repo-guard.sh reset). */
  resetCommand: "restic-b2-reset-{name}",
} as const;

export type BackupLayout = { readonly name: string } & { readonly [K in keyof typeof BACKUP_NAMES]: string };

const REF = /\{([A-Za-z]+)\}/g;

/** The names and paths of backup `name`; throws (naming `caller`) for a name that is not a backup name. */
export function backupLayout(name: string, caller = "backupLayout"): BackupLayout {
  checkBackupName(name, caller);
  const out: Record<string, string> = { name };
  for (const [key, template] of Object.entries(BACKUP_NAMES)) {
    out[key] = template.replace(REF, (_m, ref: string) => out[ref]);
  }
  return out as BackupLayout;
}

export type ScratchKind = "state" | "cache" | "runtime";

function inside(dir: string, backedUp: string): boolean {
  const p = backedUp.length > 1 ? backedUp.replace(/\/+$/, "") : backedUp;
  return p === "/" || dir === p || dir.startsWith(`${p}/`);
}

/**
 * Where the drill restores its sample (a fresh mktemp -d below this
 * directory, removed after each run): the first of the state, cache and
 * runtime directories that is not inside a backed-up path. undefined when all
 * three are (e.g. paths ["/"]).
 */
export function drillScratchDir(backupName: string, paths: readonly string[]): { kind: ScratchKind; dir: string } | undefined {
  const layout = backupLayout(backupName, "drillScratchDir");
  const candidates: [ScratchKind, string][] = [
    ["state", layout.stateDir],
    ["cache", layout.cacheDir],
    ["runtime", layout.runtimeDir],
  ];
  for (const [kind, dir] of candidates) {
    if (!paths.some((p) => inside(dir, p))) return { kind, dir };
  }
  return undefined;
}

/**
 * The journal identifiers (SYSLOG_IDENTIFIER, `journalctl -t <id>`) of what
 * the module runs besides restic itself: the hooks log through systemd-cat
 * with these, the drill's unit sets SyslogIdentifier=. Stable across
 * rebuilds (a store file's name would carry its hash) and the same for every
 * backup: each line names its backup or unit.
 */
export const LOG_IDENTIFIERS = {
  /** lib/host/monitor.sh, in the backup's and the drill's units. */
  monitor: "restic-b2-monitor",
  /** lib/host/repo-lock.sh, the backup's wait for the drill (in its pre-start step). */
  repoLock: "restic-b2-repo-lock",
  /** lib/host/prune.sh, the backup's forget --prune. */
  prune: "restic-b2-prune",
  /** lib/host/drill.sh and the restic it runs. */
  drill: "restic-b2-drill",
} as const;

/**
 * Root-only state of lib/host/monitor.sh, one file per unit and purpose
 * (`<unit>.start`: the running run's start, for Uptime Kuma's ping=;
 * `<unit>.failed`: the last run failed, for ntfy's "recovered" message). Not
 * below /var/lib/restic-b2, where a backup may be named "monitor".
 */
export const MONITOR_STATE_DIR = "/var/lib/restic-b2-monitor";

/** Where `restoreCommands` restores to on the host, and on an admin's machine. */
export const RESTORE_TARGET = { host: "/var/lib/restic-restore", admin: "./restic-restore" } as const;

// ---------------------------------------------------------------------------
// The agenix files
// ---------------------------------------------------------------------------

/** The three agenix files every backup has, in the order they are written and listed. */
export const AGE_FILES = ["env.age", "repo.age", "password.age"] as const;
export type AgeFile = (typeof AGE_FILES)[number];

/**
 * The optional agenix files, by the secret config key whose value each holds
 * (beside the three, in agenixDir and on the host). The file names are kept
 * as they were first released: they are in users' repositories and on hosts.
 */
export const MONITOR_AGE_FILES = {
  healthcheckUrl: "healthcheck.age",
  ntfyUrl: "ntfy-url.age",
  ntfyToken: "ntfy-token.age",
  drillHealthcheckUrl: "drill-healthcheck.age",
} as const;
export type MonitorAgeKey = keyof typeof MONITOR_AGE_FILES;
export type MonitorAgeFile = (typeof MONITOR_AGE_FILES)[MonitorAgeKey];

/**
 * Names an extra agenix file may have (the monitoring secrets): plain names,
 * so they are inert in paths, resource names and Nix.
 */
export const EXTRA_AGE_FILE_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}\.age$/;

/** Throws unless every name is a valid extra file name, not one of the three, and not repeated. */
export function checkExtraAgeFiles(names: readonly string[]): void {
  for (const [i, n] of names.entries()) {
    // "-nix.age" would give a resource the name of the secrets.nix/module.nix commands.
    if (!EXTRA_AGE_FILE_PATTERN.test(n) || n.endsWith("-nix.age")) throw new Error(`invalid agenix file name ${JSON.stringify(n)} (allowed: ${EXTRA_AGE_FILE_PATTERN})`);
    if ((AGE_FILES as readonly string[]).includes(n) || names.indexOf(n) !== i) throw new Error(`agenix file ${n} is given twice`);
  }
}

/**
 * The agenix secret (age.secrets.<name>, decrypted to /run/agenix/<name>) of
 * an agenix file: the prefix, '-', the file name without ".age"
 * ("restic-b2-daily", "ntfy-url.age" → "restic-b2-daily-ntfy-url").
 */
export function agenixSecretName(prefix: string, file: string): string {
  return `${prefix}-${file.replace(/\.age$/, "")}`;
}

// ---------------------------------------------------------------------------
// The files in the host's NixOS configuration directory
// ---------------------------------------------------------------------------

/** The directory the program owns inside hostConfigDir, the module in it, and the agenix files' directory below it. */
export const INSTALL_DIR = "restic-b2";
export const MODULE_FILE = "module.nix";
export const HOST_AGE_DIR = "secrets";

/**
 * The host-wide owner record: which stack (project, stack, backup name,
 * config dir) owns the install on this host. Root-only (0600), beside the
 * backups' state directories (BACKUP_NAMES.stateDir; a backup name has no
 * '.', so no backup's directory can take this name). The host script writes it
 * as the last step of a successful install, refuses a host whose record names
 * another stack, and removes it with its own stack's uninstall.
 */
export const OWNER_RECORD = "/var/lib/restic-b2/owner.conf";

/** A Pulumi project or stack name as the owner record holds it (its shell twin: rb2_stack_id_ok in lib/host/stack-id.sh). */
export const STACK_ID_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;

/** The module relative to hostConfigDir (what configuration.nix imports as ./<this>). */
export const MODULE_REF = `${INSTALL_DIR}/${MODULE_FILE}`;

/** Where the program's files land on the host, for outputs and messages. */
export interface InstallLayout {
  /** `<hostConfigDir>/restic-b2` */
  readonly dir: string;
  /** `<hostConfigDir>/restic-b2/module.nix` */
  readonly modulePath: string;
  /** `<hostConfigDir>/restic-b2/secrets`, the agenix files. */
  readonly ageDir: string;
}

export function installLayout(hostConfigDir: string): InstallLayout {
  const dir = `${hostConfigDir}/${INSTALL_DIR}`;
  return { dir, modulePath: `${dir}/${MODULE_FILE}`, ageDir: `${dir}/${HOST_AGE_DIR}` };
}

/** An agenix file's path below INSTALL_DIR on the host ("env.age" → "secrets/env.age"). */
export function hostAgeFile(file: string): string {
  return `${HOST_AGE_DIR}/${file}`;
}

/**
 * Where the module finds its agenix files, as a Nix path relative to the
 * module: on the host they are in ./secrets/; written locally for another
 * deployment tool (deploy: false) they are beside it.
 */
export function moduleAgeFileRef(where: "host" | "beside", file: string): string {
  return where === "host" ? `./${hostAgeFile(file)}` : `./${file}`;
}

// ---------------------------------------------------------------------------
// The same contract for the host scripts
// ---------------------------------------------------------------------------

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A template's literal text must stay literal inside double quotes in sh. */
function shellLiteral(text: string): string {
  if (/["$`\\\n]/.test(text)) throw new Error(`layout: ${JSON.stringify(text)} cannot be written into the shell layout`);
  return text;
}

/**
 * POSIX sh: the install layout as variables (install_dir, module_file,
 * module_ref, owner_record) and `rb2_layout NAME`, which sets one variable per BACKUP_NAMES
 * entry (backup_unit, backup_service, ..., drill_result) for backup NAME.
 * Call it only with a name rb2_backup_name_ok accepts. lib/host/scripts.ts
 * puts this text where a host script includes layout.sh.
 */
export function layoutShell(): string {
  const lines = [
    "# The host contract, generated from lib/host/layout.ts (do not copy these",
    "# patterns into a script: take them from here).",
    `install_dir='${shellLiteral(INSTALL_DIR)}'`,
    `module_file='${shellLiteral(MODULE_FILE)}'`,
    `module_ref='${shellLiteral(MODULE_REF)}'`,
    `owner_record='${shellLiteral(OWNER_RECORD)}'`,
    "rb2_layout() {",
  ];
  for (const [key, template] of Object.entries(BACKUP_NAMES)) {
    const parts = template.split(REF).map((part, i) => (i % 2 === 0 ? shellLiteral(part) : part === "name" ? "${1}" : `\${${snake(part)}}`));
    lines.push(`  ${snake(key)}="${parts.join("")}"`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
