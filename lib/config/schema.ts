// Every stack configuration key, declared once: its type, default, rule,
// whether it is a secret, its area and a one-line doc. This table drives the
// Reader (lib/config/reader.ts: typed values, defaults, ranges, per-value
// rules), the key lists (lib/config/keys.ts), Pulumi.yaml's `config:` block
// and the README's configuration reference (both written by
// scripts/gen-config.ts; test/unit/gen-config.test.ts fails when either file
// differs from this table).
//
// Rules that involve several keys, or that turn a value into a structure
// (timer settings, the agenix module, SSH keys), stay in the area parsers
// (./storage, ./secrets, ./host, ./backup, ./monitoring, ./drill).
//
// Pure: no Pulumi, no I/O.

import { DEFAULT_CAPABILITIES, HOST_DESTRUCTIVE_CAPABILITIES, PROTECTED_CAPABILITIES, bucketNameProblem, capabilityProblem, repositoryPathProblem } from "./b2";
import { DEFAULT_NIXOS_RELEASE } from "./nixos-release";
import { backupPathProblem, excludePatternProblem, resticOptionProblem } from "./restic-rules";
import { hostNameProblem, unixUserProblem } from "./values";
import { BACKUP_NAME_RULE, isBackupName } from "../host/layout";

/** Where a key belongs: the README's configuration reference has one table per area, the setup asks per area. */
export type Area = "storage" | "secrets" | "host" | "backup" | "monitoring" | "drill";

export const AREAS: Readonly<Record<Area, { title: string; summary: string }>> = {
  storage: { title: "Storage (B2)", summary: "The bucket, its lifecycle, and the keys that reach it." },
  secrets: { title: "Secrets (agenix)", summary: "Who the agenix files are encrypted to, where they are written, and how the host gets agenix." },
  host: { title: "Host and SSH", summary: "How the program reaches the NixOS machine and installs the module." },
  backup: { title: "The backup", summary: "What restic backs up, how it prunes, when the timer fires, who is told of a failure." },
  monitoring: { title: "Heartbeat and alerts", summary: "Word off the machine when a backup fails or stops running; all three are secrets (see [Monitoring](README.md#monitoring))." },
  drill: { title: "Restore checks", summary: "The credentials check on every deploy and the scheduled restore drill." },
};

interface Documented {
  readonly area: Area;
  /** One line (at most 120 characters): the README cell, Pulumi.yaml's description, the setup's question. */
  readonly doc: string;
  /** More, for the key's section in docs/configuration.md (Markdown, one paragraph; links written from the project root, e.g. `README.md#monitoring`). */
  readonly details?: string;
  /** The README's default cell when the declared default does not say what the user gets. */
  readonly defaultText?: string;
  /** Sets the services.restic.backups.<name> option of the same name (lib/nix/module.ts EMITTED_RESTIC_OPTIONS). */
  readonly resticOption?: true;
}

/** A problem with one value: the rule, worded for a message after the key. */
type Rule<T> = (value: T) => string | undefined;

export interface StringDecl extends Documented {
  readonly type: "string";
  /** The value when unset; without one the key is optional (Pulumi.yaml declares it with default ""). */
  readonly default?: string;
  /** No default in Pulumi.yaml, so the CLI refuses a stack without the key. */
  readonly required?: true;
  /** The only values allowed (the first message lists them); a refused value reads as the default. */
  readonly choices?: readonly string[];
  readonly rule?: Rule<string>;
}
export interface BooleanDecl extends Documented {
  readonly type: "boolean";
  readonly default: boolean;
}
/** true, false, or unset (Pulumi.yaml: a string with default ""). */
export interface TristateDecl extends Documented {
  readonly type: "tristate";
}
export interface IntegerDecl extends Documented {
  readonly type: "integer";
  readonly min: number;
  readonly max: number;
  /** The value when unset; without one, unset is undefined. */
  readonly default?: number;
  /** Pulumi.yaml's default when the parser has none (the CLI then always passes it). */
  readonly declaredDefault?: number;
}
export interface ListDecl extends Documented {
  readonly type: "list";
  readonly default?: readonly string[];
  readonly required?: true;
  /** The rule of each entry; it also refuses control characters, with its own words. */
  readonly entry?: Rule<string>;
  /** The message when the list is set but empty; unset: an empty list is fine. */
  readonly nonEmpty?: string;
}
export interface SecretDecl extends Documented {
  readonly type: "secret";
  /** The plaintext's form is checked (the program reads it; messages never show it). */
  readonly formChecked?: true;
}
export type KeyDecl = StringDecl | BooleanDecl | TristateDecl | IntegerDecl | ListDecl | SecretDecl;

/**
 * agenix at a fixed commit of its main branch (2026-02-03), the one whose
 * module uses `age` to decrypt. Pinned by commit in the URL; add `sha256`
 * (`nix-prefetch-url --unpack <url>`) to have Nix verify the download too.
 */
export const DEFAULT_AGENIX_URL =
  "https://github.com/ryantm/agenix/archive/b027ee29d959fda4b60b57566d64c98a202e0feb.tar.gz";

/** Every key, in the order of the README and Pulumi.yaml. b2:* keys are in the provider's namespace. */
export const CONFIG = {
  // ---- storage ------------------------------------------------------------
  "b2:applicationKeyId": {
    type: "secret",
    area: "storage",
    doc: "The account key id Pulumi manages B2 with; set it and `b2:applicationKey`, or neither.",
    defaultText: "env `B2_APPLICATION_KEY_ID`",
  },
  "b2:applicationKey": {
    type: "secret",
    area: "storage",
    doc: "The account key Pulumi manages B2 with.",
    defaultText: "env `B2_APPLICATION_KEY`",
  },
  createBucket: {
    type: "boolean",
    default: true,
    area: "storage",
    doc: "Create the bucket and a restic key; `false`: use an existing bucket and key.",
    details:
      "`false` is existing-bucket mode: no B2 resource is created, and `bucketName`, `existingKeyId` and `existingKey` are required.",
  },
  bucketName: {
    type: "string",
    rule: bucketNameProblem,
    area: "storage",
    doc: "Bucket name: 6–50 of `[A-Za-z0-9-]`, not starting with `b2-`.",
    defaultText: "`restic-<stack>-<8 hex>`",
    details: "restic's `b2:` backend allows 50 characters (B2 itself 63). Unset, the random suffix is made once and kept in state.",
  },
  lifecycleDays: {
    type: "integer",
    min: 1,
    max: 36500,
    default: 30,
    area: "storage",
    doc: "Days from hiding to deleting old file versions (the bucket's one lifecycle rule).",
  },
  hostCanDelete: {
    type: "tristate",
    area: "storage",
    doc: "`false` protects the backups from the host: its key can hide, not delete (the lifecycle is the window).",
    defaultText: "unset (can delete); new stacks: `false`",
    details:
      "`false`: the host's key is created without " +
      HOST_DESTRUCTIVE_CAPABILITIES.map((c) => `\`${c}\``).join(", ") +
      " (see [Protection against a compromised host](README.md#protection-against-a-compromised-host)); restic hides instead of deleting and the lifecycle rule deletes " +
      "`lifecycleDays` later. Changing it on a deployed stack replaces the key: a new key id and key are encrypted and pushed to the host, then the old key is deleted. " +
      "Unset keeps a stack's key as it was (with `deleteFiles`) and `pulumi up` warns; `true` says so on purpose. Only with `createBucket: true` (an existing key is yours to restrict).",
  },
  keyCapabilities: {
    type: "list",
    entry: capabilityProblem,
    area: "storage",
    doc: "Capabilities of the restic key (names B2 accepts on a bucket-restricted key); unset: from `hostCanDelete`.",
    defaultText: "from `hostCanDelete`",
    details:
      "Only names B2 accepts, and none that B2 refuses on a bucket-restricted key. Unset (or `[]`), the list follows `hostCanDelete`: what restic's `b2:` backend needs, " +
      DEFAULT_CAPABILITIES.map((c) => `\`${c}\``).join(", ") +
      "; with `hostCanDelete: false`, " +
      PROTECTED_CAPABILITIES.map((c) => `\`${c}\``).join(", ") +
      ". A list set by hand must agree with `hostCanDelete`: with `false` it may hold none of the capabilities above that protection leaves out, with `true` it must hold `deleteFiles`.",
  },
  repositoryPath: {
    type: "string",
    rule: repositoryPathProblem,
    area: "storage",
    doc: "Repository inside the bucket (`b2:<bucket>:<path>`); the key is restricted to that name prefix too.",
    defaultText: "the bucket's root",
    details: "Segments of letters, digits, `.`, `_` and `-` separated by single `/`: no leading `/`, no `..`.",
  },
  deleteBucketOnDestroy: {
    type: "boolean",
    default: false,
    area: "storage",
    doc: "Delete the bucket on `pulumi destroy`; the default keeps it and your backups.",
    details: "B2 refuses to delete a bucket that still holds any file version.",
  },
  existingKeyId: {
    type: "secret",
    area: "storage",
    doc: "Existing-bucket mode: the id of the key restic uses.",
    defaultText: "none",
  },
  existingKey: {
    type: "secret",
    area: "storage",
    doc: "Existing-bucket mode: the key restic uses.",
    defaultText: "none",
  },
  // ---- secrets ------------------------------------------------------------
  hostKey: {
    type: "string",
    required: true,
    area: "secrets",
    doc: "The host's SSH public key (`ssh-keyscan -t ed25519 <host>`): the files are encrypted to it, SSH is pinned to it.",
    details:
      "One line: the `ssh-keyscan` output or `ssh-ed25519 AAAA… comment`; ssh-ed25519, or ssh-rsa of at least 2048 bits.",
  },
  adminKeys: {
    type: "list",
    default: [],
    area: "secrets",
    doc: "More recipients that can decrypt the files: SSH public keys (ssh-ed25519, ssh-rsa ≥ 2048) or `age1…`.",
  },
  agenixDir: {
    type: "string",
    area: "secrets",
    doc: "Local directory for the `.age` files and `secrets.nix` (relative to the project, or absolute).",
    defaultText: "`secrets/<stack>/restic`",
    details:
      "E.g. your NixOS configuration repository. Formerly `secretsDir`, which the Pulumi CLI refuses to set to a path (a name " +
      "containing `secret`, `token`, `pass`, `pwd` or `passwd` \"looks like a secret\"); a stack that still sets `secretsDir` " +
      "works unchanged, with a warning to move the value to `agenixDir` (same meaning, no change in the stack; both set is an error).",
  },
  resticPassword: {
    type: "secret",
    area: "secrets",
    doc: "The password of an existing restic repository.",
    defaultText: "generated",
    details: "Unset: 32 random bytes (64 hex characters), made once and kept in state; it never changes by itself.",
  },
  agenixModule: {
    type: "string",
    default: DEFAULT_AGENIX_URL,
    area: "secrets",
    doc: "How the host gets agenix: `provided` (its configuration imports agenix) or an agenix tarball URL.",
    defaultText: "agenix at a pinned commit",
    details:
      "`provided` suits flakes (`agenix.nixosModules.default`); a URL (https) is fetched with `builtins.fetchTarball` on non-flake hosts.",
  },
  agenixSha256: {
    type: "string",
    area: "secrets",
    doc: "Nix hash of that tarball (`nix-prefetch-url --unpack <url>`), so Nix verifies it.",
    defaultText: "none",
  },
  // ---- host ---------------------------------------------------------------
  deploy: {
    type: "boolean",
    default: true,
    area: "host",
    doc: "Push to the host over SSH and switch; `false`: only write the files locally.",
    details: "With `false`, deploy the files with your own tool (colmena, deploy-rs, a flake).",
  },
  host: {
    type: "string",
    rule: hostNameProblem,
    area: "host",
    doc: "Host name or IP address of the NixOS machine.",
    defaultText: "required when `deploy`",
  },
  sshPort: {
    type: "integer",
    min: 1,
    max: 65535,
    default: 22,
    area: "host",
    doc: "SSH port.",
  },
  sshUser: {
    type: "string",
    default: "root",
    rule: unixUserProblem,
    area: "host",
    doc: "SSH user; any other than root runs the host steps through `sudo -n` (passwordless sudo).",
  },
  sshPrivateKey: {
    type: "secret",
    area: "host",
    doc: "The SSH private key's text; unset: the agent at `SSH_AUTH_SOCK`.",
    defaultText: "SSH agent",
    details: "Set it with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`.",
  },
  hostConfigDir: {
    type: "string",
    default: "/etc/nixos",
    area: "host",
    doc: "The host's NixOS configuration directory; files go to `<hostConfigDir>/restic-b2/`.",
  },
  importMode: {
    type: "string",
    default: "auto",
    choices: ["auto", "manual"],
    area: "host",
    doc: "`auto`: add one marked import of the module to `configuration.nix`; `manual`: you import it.",
    details:
      "`auto` adds one marked import of `./restic-b2/module.nix` to the top-level `imports` list of `configuration.nix` (see " +
      "[Host deployment](docs/host-deployment.md#importmode-auto) for the shapes it edits and the ones it refuses), and `pulumi destroy` removes it again. " +
      "`manual`: you import it yourself (e.g. from your flake); the host step verifies that some `.nix` file references " +
      "`restic-b2/module.nix` and otherwise fails, before changing anything, with the exact line to add.",
  },
  runFirstBackup: {
    type: "boolean",
    default: false,
    area: "host",
    doc: "After switching, start the backup once; if it fails, the host is rolled back and `pulumi up` fails.",
    details: "The failure shows the journal tail of the backup unit.",
  },
  // ---- backup -------------------------------------------------------------
  backupName: {
    type: "string",
    default: "daily",
    rule: (name: string) =>
      isBackupName(name)
        ? undefined
        : `must be ${BACKUP_NAME_RULE} (it names restic-backups-<name>.service, /run/restic-backups-<name> and the restic-<name> command, where other characters are not allowed or would need quoting)`,
    area: "backup",
    doc: "Name of `services.restic.backups.<name>`: the unit `restic-backups-<name>.service`.",
    details: `${BACKUP_NAME_RULE[0].toUpperCase()}${BACKUP_NAME_RULE.slice(1)}.`,
  },
  paths: {
    type: "list",
    required: true,
    entry: backupPathProblem,
    nonEmpty: "must list at least one path",
    resticOption: true,
    area: "backup",
    doc: "Absolute paths to back up, taken literally.",
    defaultText: "required",
    details:
      "Spaces, quotes, `$`, `%`, `#`, `[ ]`, `\\` and non-ASCII are fine (the module writes each path so that restic's " +
      "`--files-from` matches exactly it). `*` and `?` are refused: list the directory above and use `exclude`.",
  },
  exclude: {
    type: "list",
    default: [],
    entry: (p: string) => {
      const problem = excludePatternProblem(p);
      return problem === undefined ? undefined : `each entry must be one restic exclude pattern: it ${problem}`;
    },
    resticOption: true,
    area: "backup",
    doc: "restic exclude patterns, meaning what they mean to `restic backup --exclude`.",
    details:
      "`*`, `?`, `[...]`, `**`, `\\` escapes and a leading `!` work as in restic; `$` and a leading `#` stay literal. " +
      "No leading or trailing whitespace.",
  },
  pruneOpts: {
    type: "list",
    default: ["--keep-daily 7", "--keep-weekly 5", "--keep-monthly 12"],
    entry: resticOptionProblem,
    resticOption: true,
    area: "backup",
    doc: "Options for `restic forget --prune` after each backup; `[]` never prunes.",
    details:
      "Each entry is one option: a flag, then optionally one value after one space or `=` (`--keep-daily 7`, " +
      "`--keep-tag=keep forever`); the value reaches restic as exactly one argument, whatever it holds.",
  },
  timerConfig: {
    type: "list",
    default: ["OnCalendar=daily", "Persistent=true"],
    resticOption: true,
    area: "backup",
    doc: "The timer's `[Timer]` settings as `Key=Value`; setting it replaces the whole default.",
    details:
      "systemd 252's settings except `Unit`, with at least one trigger such as `OnCalendar`/`OnBootSec`; booleans `true`/`false`; " +
      "values of letters, digits, single spaces and `: * . , / ~ + _ -`. As in NixOS, it replaces the default as a whole: repeat " +
      "`Persistent=true` if you want missed runs caught up.",
  },
  extraBackupArgs: {
    type: "list",
    default: [],
    entry: resticOptionProblem,
    resticOption: true,
    area: "backup",
    doc: "Extra options for `restic backup`, one option per entry as in `pruneOpts`.",
    details: "`--tag my tag` is the tag `my tag`.",
  },
  checkOpts: {
    type: "list",
    default: [],
    entry: resticOptionProblem,
    resticOption: true,
    area: "backup",
    doc: "Options for `restic check` after the backup (NixOS 22.11+); a non-empty list enables the check.",
    details: "Entries as in `pruneOpts`.",
  },
  runCheck: {
    type: "tristate",
    resticOption: true,
    area: "backup",
    doc: "`true`/`false` forces `restic check` on or off (NixOS 24.05+); unset: NixOS decides from `checkOpts`.",
    defaultText: "unset",
  },
  notifyUser: {
    type: "string",
    area: "backup",
    doc: "Desktop user told (`notify-send --urgency=critical`) when a backup fails.",
    defaultText: "unset",
  },
  notifyUid: {
    type: "integer",
    min: 1,
    max: 2147483647,
    declaredDefault: 0,
    area: "backup",
    doc: "Numeric uid of `notifyUser` (`id -u <user>`), for its session bus `/run/user/<uid>/bus`.",
    defaultText: "unset",
  },
  nixosRelease: {
    type: "string",
    area: "backup",
    doc: "The host's NixOS release (`nixos-version` prints it first, e.g. `24.11`), or `unstable`.",
    defaultText: `\`${DEFAULT_NIXOS_RELEASE}\``,
    details:
      "Settings whose option the release's restic module lacks (`exclude` 23.05, `checkOpts` 22.11, `runCheck` 24.05) are " +
      "refused before anything changes, and before 24.05 (whose restic module may put paths on the `ExecStart=` line) paths may " +
      "only hold letters, digits and `_ . , : / @ + = -`; 21.11 is the oldest release the module works on. The default is the " +
      "newest release the option table in `lib/config/nixos-release.ts` describes, so it refuses nothing a current host accepts.",
  },
  // ---- monitoring ---------------------------------------------------------
  healthcheckUrl: {
    type: "secret",
    formChecked: true,
    area: "monitoring",
    doc: "Off-host heartbeat: a Healthchecks ping URL or an Uptime Kuma push URL.",
    defaultText: "unset",
    details:
      "Healthchecks: `https://hc-ping.com/<uuid>`, `https://hc-ping.com/<ping-key>/<slug>` (optionally `?create=1`) or " +
      "self-hosted `https://<server>/ping/<uuid>`; Uptime Kuma: `https://<server>/api/push/<token>` (a query string copied " +
      "from Kuma is ignored). See [Monitoring](README.md#monitoring).",
  },
  ntfyUrl: {
    type: "secret",
    formChecked: true,
    area: "monitoring",
    doc: "Full ntfy topic URL (`https://ntfy.sh/<topic>` or your server's); a failed run publishes an alert there.",
    defaultText: "unset",
  },
  ntfyToken: {
    type: "secret",
    formChecked: true,
    area: "monitoring",
    doc: "ntfy access token (`tk_…`) for a protected topic; needs `ntfyUrl`.",
    defaultText: "unset",
  },
  // ---- restore checks -----------------------------------------------------
  verifyOnDeploy: {
    type: "boolean",
    default: true,
    area: "drill",
    doc: "After the switch, run `restic-b2-verify-<name>`: wrong credentials fail `pulumi up` and roll the host back.",
    details:
      "See [Restore drill and credentials check](README.md#restore-drill-and-credentials-check): a wrong password or a refused key fails " +
      "`pulumi up` and rolls the host back; an unreachable repository is only a warning. `false`: the command is still installed, " +
      "the deploy just does not run it.",
  },
  drill: {
    type: "boolean",
    default: true,
    area: "drill",
    doc: "The scheduled restore drill `restic-b2-drill-<name>.timer`; its result is in `/var/lib/restic-b2/<name>/drill.json`.",
    details:
      "Each drill runs `restic check` on one pack group and restores a verified random sample. Refused with `paths: [\"/\"]` " +
      "(there is nowhere outside the backup to restore into): set `false` there.",
  },
  drillTimerConfig: {
    type: "list",
    default: ["OnCalendar=monthly", "Persistent=true", "RandomizedDelaySec=6h"],
    area: "drill",
    doc: "The drill timer's `[Timer]` settings as `Key=Value`; replaces the whole default.",
  },
  drillSampleFiles: {
    type: "integer",
    min: 0,
    max: 1000,
    default: 32,
    area: "drill",
    doc: "Files restored and verified per drill (`0`: only the check).",
    details: "Each sampled file is one `--include` argument of `restic restore`.",
  },
  drillMaxFileBytes: {
    type: "integer",
    min: 1,
    max: 1024 ** 4,
    default: 16 * 1024 * 1024,
    area: "drill",
    doc: "Files larger than this (bytes) are never sampled by the drill.",
    defaultText: "`16777216` (16 MiB)",
    details: "This bounds the sample's download to `drillSampleFiles × drillMaxFileBytes`.",
  },
  drillCheckGroups: {
    type: "integer",
    min: 1,
    max: 256,
    default: 12,
    area: "drill",
    doc: "t of `restic check --read-data-subset=n/t` (restic allows 256): t drills read every pack once.",
    details: "12 monthly drills read the whole repository once a year.",
  },
  drillHealthcheckUrl: {
    type: "secret",
    formChecked: true,
    area: "drill",
    doc: "The drill's own heartbeat URL (the same forms and rules as `healthcheckUrl`); needs `drill: true`.",
    defaultText: "unset",
    details:
      "Separate from the backup's: give it a check with a period of a month plus the 6 h delay. It travels as a fourth agenix " +
      "file, `drill-healthcheck.age`, like `healthcheckUrl`.",
  },
} as const satisfies Readonly<Record<string, KeyDecl>>;

export type ConfigKey = keyof typeof CONFIG;
type Decl<K extends ConfigKey> = (typeof CONFIG)[K];

/** Keys read with requireSecret/getSecret: their values never reach a message. */
export type SecretKey = { [K in ConfigKey]: Decl<K> extends { type: "secret" } ? K : never }[ConfigKey];
/** Every plain key of the project namespace. */
export type PlainKey = Exclude<ConfigKey, SecretKey>;

/** The typed value the Reader gives for a plain key. */
export type Value<K extends PlainKey> = Decl<K> extends { type: "boolean" }
  ? boolean
  : Decl<K> extends { type: "tristate" }
    ? boolean | undefined
    : Decl<K> extends { type: "integer"; default: number }
      ? number
      : Decl<K> extends { type: "integer" }
        ? number | undefined
        : Decl<K> extends { type: "list" }
          ? string[]
          : Decl<K> extends { choices: readonly (infer C)[] }
            ? C
            : Decl<K> extends { type: "string"; default: string }
              ? string
              : string | undefined;

/**
 * Old names still read (not declared in Pulumi.yaml), each with the key that
 * replaces it. secretsDir: the Pulumi CLI refuses `pulumi config set` of a
 * path under a name matching (?i)passwd|pass|password|pwd|secret|token.
 */
export const DEPRECATED_KEYS = { secretsDir: "agenixDir" } as const satisfies Record<string, PlainKey>;
export type DeprecatedKey = keyof typeof DEPRECATED_KEYS;

export function declOf(key: ConfigKey): KeyDecl {
  return CONFIG[key];
}

/** `must be a whole number from MIN to MAX`, the rule of an integer key. */
export function integerRule(d: IntegerDecl): string {
  return `must be a whole number from ${d.min} to ${d.max}`;
}

/** `must be 'auto' or 'manual'`, the rule of a key with choices. */
export function choicesRule(choices: readonly string[]): string {
  return `must be ${choices.map((c) => `'${c}'`).join(" or ")}`;
}

/**
 * Why an already parsed value breaks its key's own rule (type, range,
 * choices, rule, entries, non-empty), or undefined: the same rules the
 * Reader applies to the raw text, for callers that get typed values (the
 * components check their arguments with it). Cross-key rules are not here.
 */
export function valueProblem(key: PlainKey, value: unknown): string | undefined {
  const d = declOf(key);
  switch (d.type) {
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be true or false";
    case "tristate":
      return value === undefined || typeof value === "boolean" ? undefined : "must be true or false";
    case "integer":
      if (value === undefined && d.default === undefined) return undefined;
      return typeof value === "number" && Number.isSafeInteger(value) && value >= d.min && value <= d.max ? undefined : integerRule(d);
    case "string":
      if (value === undefined) return undefined;
      if (typeof value !== "string") return "must be a string";
      if (d.choices !== undefined && !d.choices.includes(value)) return choicesRule(d.choices);
      return d.rule?.(value);
    case "list": {
      if (!Array.isArray(value) || value.some((x) => typeof x !== "string")) return "must be a list of strings";
      if (value.length === 0 && d.nonEmpty !== undefined) return d.nonEmpty;
      for (const entry of value as string[]) {
        const problem = d.entry?.(entry);
        if (problem !== undefined) return `${problem} (${JSON.stringify(entry)})`;
      }
      return undefined;
    }
    case "secret":
      return undefined;
  }
}
