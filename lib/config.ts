// The stack configuration parser: raw `pulumi config` values in, one typed
// MachineConfig out, or one ConfigError that lists every problem found.
//
// Pure code: no Pulumi import. index.ts reads every plain key with
// `config.get()` (strings; structured values arrive as JSON text) and every
// secret key with `config.getSecret()`; secrets are passed here only so the
// parser can check that they are present. Their values are never inspected,
// so they can never appear in an error message.

import { parseRecipient, parseSshPublicKey } from "./age-ssh";
import { AgenixModule, ImportMode, MachineConfig, UnitValue } from "./config-types";
import { BACKUP_NAME_PATTERN, UNIX_USER_PATTERN } from "./nix";

export * from "./config-types";

/** The project's config namespace (`nixos-restic-b2:<key>` in Pulumi.<stack>.yaml). */
export const PROJECT = "nixos-restic-b2";

/** Keys read with requireSecret/getSecret; their values never reach the parser's messages. */
export const SECRET_KEYS = [
  "b2:applicationKeyId",
  "b2:applicationKey",
  "existingKeyId",
  "existingKey",
  "resticPassword",
  "sshPrivateKey",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Every plain key the program reads from the project namespace. */
export const PLAIN_KEYS = [
  "bucketName",
  "createBucket",
  "lifecycleDays",
  "keyCapabilities",
  "repositoryPath",
  "deleteBucketOnDestroy",
  "hostKey",
  "adminKeys",
  "secretsDir",
  "deploy",
  "host",
  "sshPort",
  "sshUser",
  "hostConfigDir",
  "importMode",
  "runFirstBackup",
  "backupName",
  "paths",
  "exclude",
  "pruneOpts",
  "timerConfig",
  "extraBackupArgs",
  "checkOpts",
  "runCheck",
  "agenixModule",
  "agenixSha256",
  "notifyUser",
  "notifyUid",
] as const;
export type PlainKey = (typeof PLAIN_KEYS)[number];

export type RawConfig = Partial<Record<PlainKey, string>>;

/** Capabilities B2's b2_create_key accepts (the 24 documented ones plus the two replication ones). */
export const B2_CAPABILITIES: readonly string[] = [
  "listKeys", "writeKeys", "deleteKeys",
  "listAllBucketNames", "listBuckets", "readBuckets", "writeBuckets", "deleteBuckets",
  "readBucketRetentions", "writeBucketRetentions",
  "readBucketEncryption", "writeBucketEncryption",
  "readBucketNotifications", "writeBucketNotifications",
  "readBucketReplications", "writeBucketReplications",
  "listFiles", "readFiles", "shareFiles", "writeFiles", "deleteFiles",
  "readFileLegalHolds", "writeFileLegalHolds", "readFileRetentions", "writeFileRetentions",
  "bypassGovernance",
];

/** Capabilities B2 refuses on a key restricted to one bucket (ours always is). */
export const ACCOUNT_ONLY_CAPABILITIES: readonly string[] = [
  "listKeys", "writeKeys", "deleteKeys", "writeBuckets", "deleteBuckets",
];

/** The recipe's capability list: what restic's b2: backend needs on a bucket-restricted key. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "deleteFiles", "listAllBucketNames", "listBuckets", "listFiles",
  "readBucketEncryption", "readBucketReplications", "readBuckets", "readFiles",
  "shareFiles", "writeBucketEncryption", "writeBucketReplications", "writeFiles",
];

export const DEFAULT_PRUNE_OPTS: readonly string[] = ["--keep-daily 7", "--keep-weekly 5", "--keep-monthly 12"];
export const DEFAULT_TIMER_CONFIG: Readonly<Record<string, UnitValue>> = { OnCalendar: "daily", Persistent: true };

/**
 * agenix at a fixed commit of its main branch (2026-02-03), the one whose
 * module uses `age` to decrypt. Pinned by commit in the URL; add `sha256`
 * (`nix-prefetch-url --unpack <url>`) to have Nix verify the download too.
 */
export const DEFAULT_AGENIX_URL =
  "https://github.com/ryantm/agenix/archive/b027ee29d959fda4b60b57566d64c98a202e0feb.tar.gz";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Quote a user value for an error message (JSON string syntax, cut when very long). */
function show(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  const cut = s.length > 120 ? `${s.slice(0, 117)}...` : s;
  return JSON.stringify(cut);
}

const CONTROL = /[\u0000-\u001f\u007f]/;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly raw: RawConfig) {}

  fail(key: string, rule: string, value?: unknown): void {
    const full = key.includes(":") ? key : `${PROJECT}:${key}`;
    this.problems.push(value === undefined ? `${full}: ${rule}` : `${full}: ${rule}; got ${show(value)}`);
  }

  private json(key: PlainKey): unknown {
    const text = this.raw[key];
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text; // a plain string where JSON was expected; the caller reports the type
    }
  }

  /** An optional string; "" counts as unset (Pulumi.yaml declares optional strings with default ""). */
  string(key: PlainKey): string | undefined {
    const v = this.raw[key];
    if (v === undefined || v === "") return undefined;
    if (CONTROL.test(v)) {
      this.fail(key, "must not contain control characters (newlines, tabs, NUL)", v);
      return undefined;
    }
    return v;
  }

  boolean(key: PlainKey, dflt: boolean): boolean {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    if (v === "true") return true;
    if (v === "false") return false;
    this.fail(key, "must be true or false", v);
    return dflt;
  }

  integer(key: PlainKey, min: number, max: number, dflt?: number): number | undefined {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    const n = /^-?[0-9]+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.fail(key, `must be a whole number from ${min} to ${max}`, v);
      return dflt;
    }
    return n;
  }

  stringList(key: PlainKey, dflt: readonly string[]): string[] {
    const v = this.json(key);
    if (v === undefined) return [...dflt];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      this.fail(key, "must be a list of strings (set it with `pulumi config set --path '<key>[0]' <value>` or a YAML list)", v);
      return [...dflt];
    }
    const bad = (v as string[]).find((x) => CONTROL.test(x));
    if (bad !== undefined) {
      this.fail(key, "entries must not contain control characters (newlines, tabs, NUL)", bad);
      return [...dflt];
    }
    return v as string[];
  }
}

/**
 * Bucket names restic's b2: backend accepts: 6 to 50 letters, digits and '-'
 * (B2 itself allows 63, but restic refuses longer names).
 */
export const BUCKET_NAME_PATTERN = /^[A-Za-z0-9-]{6,50}$/;

/** Why a bucket name cannot be used, or undefined when it can. */
export function bucketNameProblem(name: string): string | undefined {
  if (!BUCKET_NAME_PATTERN.test(name)) {
    return "must be 6 to 50 characters of letters, digits and '-' (B2 allows 63, restic's b2: backend only 50)";
  }
  if (/^b2-/i.test(name)) return "must not start with 'b2-' (reserved by Backblaze)";
  return undefined;
}

const HOST_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/;
// One restic option, as NixOS joins pruneOpts/extraBackupArgs/checkOpts into a
// shell command line unquoted: a flag, optionally one value of safe characters.
const RESTIC_OPTION = /^--?[A-Za-z][A-Za-z0-9-]*(?:[ =][A-Za-z0-9._:/@%+,=-]+)?$/;

function checkAbsolutePath(r: Reader, key: PlainKey, p: string): void {
  if (!p.startsWith("/")) r.fail(key, "must be an absolute path (starting with /)", p);
  else if (p.split("/").includes("..")) r.fail(key, "must not contain '..' segments", p);
}

/**
 * Parse and validate one machine's stack configuration.
 * @param raw plain keys of the project namespace, as `config.get()` returns them
 * @param secrets the secret keys that are set (values are never inspected)
 * @param stack the stack name (the machine)
 */
export function parseConfig<S>(
  raw: RawConfig,
  secrets: Partial<Record<SecretKey, S>>,
  stack: string,
): MachineConfig<S> {
  const r = new Reader(raw);

  // --- storage -----------------------------------------------------------
  const createBucket = r.boolean("createBucket", true);
  const bucketName = r.string("bucketName");
  const bucketProblem = bucketName === undefined ? undefined : bucketNameProblem(bucketName);
  if (bucketProblem !== undefined) r.fail("bucketName", bucketProblem, bucketName);
  const lifecycleDays = r.integer("lifecycleDays", 1, 36500, 30)!;
  const keyCapabilities = r.stringList("keyCapabilities", DEFAULT_CAPABILITIES);
  if (keyCapabilities.length === 0) r.fail("keyCapabilities", "must list at least one capability");
  for (const c of keyCapabilities) {
    if (!B2_CAPABILITIES.includes(c)) {
      r.fail("keyCapabilities", `each entry must be a capability B2 accepts (${B2_CAPABILITIES.join(", ")})`, c);
    } else if (ACCOUNT_ONLY_CAPABILITIES.includes(c)) {
      r.fail("keyCapabilities", "B2 does not allow this capability on a key restricted to one bucket", c);
    }
  }
  const dupCap = keyCapabilities.find((c, i) => keyCapabilities.indexOf(c) !== i);
  if (dupCap !== undefined) r.fail("keyCapabilities", "must not list a capability twice", dupCap);

  const repositoryPath = r.string("repositoryPath");
  if (repositoryPath !== undefined) {
    if (repositoryPath.startsWith("/")) r.fail("repositoryPath", "must not start with '/' (it is a path inside the bucket)", repositoryPath);
    else if (repositoryPath.split("/").includes("..")) r.fail("repositoryPath", "must not contain '..'", repositoryPath);
    else if (!/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/.test(repositoryPath)) {
      r.fail("repositoryPath", "must be segments of letters, digits, '.', '_' and '-' separated by single '/', with no trailing '/'", repositoryPath);
    }
  }
  const deleteBucketOnDestroy = r.boolean("deleteBucketOnDestroy", false);

  if (!createBucket) {
    if (bucketName === undefined) r.fail("bucketName", "is required when createBucket is false (the existing bucket's name)");
    if (secrets.existingKeyId === undefined) r.fail("existingKeyId", "is required when createBucket is false (set it with `pulumi config set --secret existingKeyId <id>`)");
    if (secrets.existingKey === undefined) r.fail("existingKey", "is required when createBucket is false (set it with `pulumi config set --secret existingKey <key>`)");
  } else {
    if (secrets.existingKeyId !== undefined || secrets.existingKey !== undefined) {
      r.fail("existingKeyId", "existingKeyId/existingKey are only used with createBucket: false; remove them or set createBucket to false");
    }
    if ((secrets["b2:applicationKeyId"] === undefined) !== (secrets["b2:applicationKey"] === undefined)) {
      r.fail("b2:applicationKey", "b2:applicationKeyId and b2:applicationKey must be set together (or neither, to use B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY)");
    }
  }

  // --- secrets -----------------------------------------------------------
  let hostKey = "";
  const hostKeyRaw = r.string("hostKey");
  if (hostKeyRaw === undefined || hostKeyRaw.trim() === "") {
    r.fail("hostKey", "is required: the host's SSH public key, e.g. the output of `ssh-keyscan -t ed25519 <host>`");
  } else {
    try {
      hostKey = parseSshPublicKey(hostKeyRaw).normalized;
    } catch (e) {
      r.fail("hostKey", (e as Error).message);
    }
  }
  const adminKeys: string[] = [];
  for (const k of r.stringList("adminKeys", [])) {
    try {
      const n = parseRecipient(k).normalized;
      if (!adminKeys.includes(n) && n !== hostKey) adminKeys.push(n);
    } catch (e) {
      r.fail("adminKeys", (e as Error).message);
    }
  }
  const secretsDir = r.string("secretsDir") ?? `secrets/${stack}/restic`;

  // --- host --------------------------------------------------------------
  const deploy = r.boolean("deploy", true);
  const host = r.string("host") ?? "";
  if (deploy && host === "") r.fail("host", "is required (the NixOS machine's host name or IP address), unless deploy is false");
  if (host !== "" && !HOST_NAME.test(host)) r.fail("host", "must be a host name or an IP address", host);
  const sshPort = r.integer("sshPort", 1, 65535, 22)!;
  const sshUser = r.string("sshUser") ?? "root";
  if (!UNIX_USER_PATTERN.test(sshUser)) r.fail("sshUser", "must be a Unix user name (lower-case letters, digits, '_' and '-')", sshUser);
  const hostConfigDir = (r.string("hostConfigDir") ?? "/etc/nixos").replace(/(.)\/+$/, "$1");
  checkAbsolutePath(r, "hostConfigDir", hostConfigDir);
  const importModeRaw = r.string("importMode") ?? "auto";
  let importMode: ImportMode = "auto";
  if (importModeRaw === "auto" || importModeRaw === "manual") importMode = importModeRaw;
  else r.fail("importMode", "must be 'auto' or 'manual'", importModeRaw);
  const runFirstBackup = r.boolean("runFirstBackup", false);

  // --- backup ------------------------------------------------------------
  const backupName = r.string("backupName") ?? "daily";
  if (!BACKUP_NAME_PATTERN.test(backupName)) {
    r.fail("backupName", "must be 1 to 64 letters, digits, '_' or '-', not starting with '-' (it names restic-backups-<name>.service)", backupName);
  }
  const paths = r.stringList("paths", []);
  if (raw.paths === undefined) r.fail("paths", "is required: the absolute paths to back up, e.g. [\"/home\", \"/etc\"]");
  else if (paths.length === 0) r.fail("paths", "must list at least one path");
  for (const p of paths) checkAbsolutePath(r, "paths", p);
  const exclude = r.stringList("exclude", []);
  const optionList = (key: PlainKey, dflt: readonly string[]): string[] => {
    const list = r.stringList(key, dflt);
    for (const o of list) {
      if (!RESTIC_OPTION.test(o)) {
        r.fail(key, "each entry must be one restic option like '--keep-daily 7' (a flag and at most one value of letters, digits and ._:/@%+,=-), because NixOS pastes it into a shell command", o);
      }
    }
    return list;
  };
  const pruneOpts = optionList("pruneOpts", DEFAULT_PRUNE_OPTS);
  const extraBackupArgs = optionList("extraBackupArgs", []);
  const checkOpts = optionList("checkOpts", []);
  const runCheck = r.string("runCheck") === undefined ? undefined : r.boolean("runCheck", false);

  let timerConfig: Record<string, UnitValue> = { ...DEFAULT_TIMER_CONFIG };
  if (raw.timerConfig !== undefined) {
    timerConfig = {};
    for (const entry of r.stringList("timerConfig", [])) {
      const m = /^([A-Z][A-Za-z]*)=(.+)$/.exec(entry);
      if (!m) r.fail("timerConfig", "each entry must be a systemd [Timer] setting written Key=Value, like OnCalendar=daily", entry);
      else if (m[1] in timerConfig) r.fail("timerConfig", "must not set the same key twice", m[1]);
      else timerConfig[m[1]] = m[2] === "true" ? true : m[2] === "false" ? false : m[2];
    }
    if (Object.keys(timerConfig).length === 0 && r.problems.length === 0) {
      r.fail("timerConfig", "must set at least one setting, e.g. [OnCalendar=daily, Persistent=true] (it replaces the default as a whole)");
    }
  }

  let agenixModule: AgenixModule = { kind: "fetchTarball", url: DEFAULT_AGENIX_URL };
  const agenixRaw = r.string("agenixModule");
  const agenixSha256 = r.string("agenixSha256");
  if (agenixRaw === "provided") {
    agenixModule = { kind: "provided" };
    if (agenixSha256 !== undefined) r.fail("agenixSha256", "is only used with an agenixModule URL, not with 'provided'");
  } else if (agenixRaw !== undefined && !/^https:\/\/[^\s"'\\$`]+$/.test(agenixRaw)) {
    r.fail("agenixModule", "must be 'provided' (the host's configuration already imports agenix) or the https URL of an agenix tarball", agenixRaw);
  } else if (agenixSha256 !== undefined && !/^(?:sha256-[A-Za-z0-9+/]{43}=|[0-9a-z]{52}|[0-9a-f]{64})$/.test(agenixSha256)) {
    r.fail("agenixSha256", "must be a Nix sha256 hash (52 base-32 characters, 64 hex digits or an SRI 'sha256-...=')", agenixSha256);
  } else {
    const url = agenixRaw ?? DEFAULT_AGENIX_URL;
    agenixModule = agenixSha256 === undefined ? { kind: "fetchTarball", url } : { kind: "fetchTarball", url, sha256: agenixSha256 };
  }

  const notifyUser = r.string("notifyUser");
  let notify: { user: string; uid: number } | undefined;
  if (notifyUser !== undefined) {
    const uid = r.integer("notifyUid", 1, 2147483647);
    if (!UNIX_USER_PATTERN.test(notifyUser)) r.fail("notifyUser", "must be a Unix user name (lower-case letters, digits, '_' and '-')", notifyUser);
    else if (uid === undefined && raw.notifyUid === undefined) r.fail("notifyUid", "is required with notifyUser: the user's numeric uid (`id -u <user>`), for its session bus");
    else if (uid !== undefined) notify = { user: notifyUser, uid };
  }

  if (r.problems.length > 0) throw new ConfigError(r.problems);

  return {
    stack,
    storage: {
      createBucket,
      bucketName,
      lifecycleDays,
      keyCapabilities,
      repositoryPath,
      deleteBucketOnDestroy,
      managementKeyId: secrets["b2:applicationKeyId"],
      managementKey: secrets["b2:applicationKey"],
      existingKeyId: secrets.existingKeyId,
      existingKey: secrets.existingKey,
    },
    secrets: { hostKey, adminKeys, secretsDir, resticPassword: secrets.resticPassword },
    host: {
      deploy,
      host,
      sshPort,
      sshUser,
      sshPrivateKey: secrets.sshPrivateKey,
      hostConfigDir,
      importMode,
      runFirstBackup,
    },
    backup: {
      backupName,
      paths,
      exclude,
      pruneOpts,
      timerConfig,
      extraBackupArgs,
      checkOpts,
      runCheck,
      agenixModule,
      notify,
    },
  };
}
