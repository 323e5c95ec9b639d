// The stack configuration keys the program reads, in the project namespace
// (`nixos-restic-b2:<key>`) and, for the B2 management key, the `b2:` one.

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
  // Monitoring (lib/config/monitoring.ts): ping and topic URLs are credentials.
  "healthcheckUrl",
  "ntfyUrl",
  "ntfyToken",
  "drillHealthcheckUrl",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/**
 * Plain keys that set the services.restic.backups.<name> option of the same
 * name (lib/nix/module.ts emits them under that name: EMITTED_RESTIC_OPTIONS).
 */
export const RESTIC_OPTION_KEYS = ["paths", "exclude", "pruneOpts", "timerConfig", "extraBackupArgs", "checkOpts", "runCheck"] as const;

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
  "agenixDir",
  "deploy",
  "host",
  "sshPort",
  "sshUser",
  "hostConfigDir",
  "importMode",
  "runFirstBackup",
  "backupName",
  ...RESTIC_OPTION_KEYS,
  "agenixModule",
  "agenixSha256",
  "notifyUser",
  "notifyUid",
  "nixosRelease",
  "verifyOnDeploy",
  "drill",
  "drillTimerConfig",
  "drillSampleFiles",
  "drillMaxFileBytes",
  "drillCheckGroups",
] as const;
export type PlainKey = (typeof PLAIN_KEYS)[number];

/**
 * Old names still read (not declared in Pulumi.yaml), each with the key that
 * replaces it. secretsDir: the Pulumi CLI refuses `pulumi config set` of a
 * path under a name matching (?i)passwd|pass|password|pwd|secret|token.
 */
export const DEPRECATED_KEYS = { secretsDir: "agenixDir" } as const satisfies Record<string, PlainKey>;
export type DeprecatedKey = keyof typeof DEPRECATED_KEYS;

export type RawConfig = Partial<Record<PlainKey | DeprecatedKey, string>>;

/**
 * The raw plain config the parser takes: every plain key and every deprecated
 * name still read, from `get` (a project key without the namespace → its
 * string value, or undefined when unset). The program, the status command and
 * the CLI tests all read the stack config through this.
 */
export function readRawConfig(get: (key: PlainKey | DeprecatedKey) => string | undefined): RawConfig {
  const raw: RawConfig = {};
  for (const key of [...PLAIN_KEYS, ...(Object.keys(DEPRECATED_KEYS) as DeprecatedKey[])]) {
    const v = get(key);
    if (v !== undefined) raw[key] = v;
  }
  return raw;
}
