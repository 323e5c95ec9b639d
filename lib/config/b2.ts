// What B2 and restic's b2: backend accept: key capabilities, bucket names,
// repository paths. Pure data and rules, shared by the parser (the user's
// messages) and B2Storage (its own guard).

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

/**
 * Capabilities a protected host key (hostCanDelete: false) must not hold:
 * deleteFiles (b2_delete_file_version destroys a version at once, the
 * lifecycle window does not apply), bypassGovernance (deletes through a
 * governance-mode file lock), and every write of the bucket's or a file's
 * settings a compromised host could turn against the backups: encryption,
 * replication, event notifications, the bucket's default retention, a file's
 * retention or legal hold (a retention set by an attacker keeps garbage
 * billed for years). The bucket's lifecycle rules need writeBuckets, which a
 * bucket-restricted key can never have (ACCOUNT_ONLY_CAPABILITIES).
 */
export const HOST_DESTRUCTIVE_CAPABILITIES: readonly string[] = [
  "deleteFiles", "bypassGovernance",
  "writeBucketEncryption", "writeBucketReplications", "writeBucketNotifications", "writeBucketRetentions",
  "writeFileRetentions", "writeFileLegalHolds",
];

/**
 * The protected host key's capability list: the recipe's without
 * HOST_DESTRUCTIVE_CAPABILITIES. restic needs no more: when B2 refuses it a
 * delete it hides the file instead (restic 0.15.0, "Support B2 API keys
 * restricted to hiding but not deleting files"), and b2_hide_file needs only
 * writeFiles.
 */
export const PROTECTED_CAPABILITIES: readonly string[] = DEFAULT_CAPABILITIES.filter(
  (c) => !HOST_DESTRUCTIVE_CAPABILITIES.includes(c),
);

/** The default capability list for a stack's hostCanDelete (unset counts as true, the released behaviour). */
export function defaultCapabilities(hostCanDelete: boolean): readonly string[] {
  return hostCanDelete ? DEFAULT_CAPABILITIES : PROTECTED_CAPABILITIES;
}

/** The entries of a capability list a protected key must not hold (empty: the key is protected). */
export function destructiveCapabilities(capabilities: readonly string[]): string[] {
  return capabilities.filter((c) => HOST_DESTRUCTIVE_CAPABILITIES.includes(c));
}

/** Why one entry of keyCapabilities cannot be used, or undefined. */
export function capabilityProblem(c: string): string | undefined {
  if (!B2_CAPABILITIES.includes(c)) return `each entry must be a capability B2 accepts (${B2_CAPABILITIES.join(", ")})`;
  if (ACCOUNT_ONLY_CAPABILITIES.includes(c)) return "B2 does not allow this capability on a key restricted to one bucket";
  return undefined;
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

/** Why a repository path inside the bucket cannot be used, or undefined. */
export function repositoryPathProblem(p: string): string | undefined {
  if (p.startsWith("/")) return "must not start with '/' (it is a path inside the bucket)";
  if (p.split("/").includes("..")) return "must not contain '..'";
  if (!/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/.test(p)) {
    return "must be segments of letters, digits, '.', '_' and '-' separated by single '/', with no trailing '/'";
  }
  return undefined;
}

/**
 * The repository path as restic uses it: restic cleans the path after
 * `b2:<bucket>:` and drops a leading '/', and stores every file of the
 * repository under `<path>/`. Empty or "." means the bucket root (undefined).
 */
export function normalizeRepositoryPath(repositoryPath: string | undefined): string | undefined {
  if (repositoryPath === undefined) return undefined;
  if (repositoryPath.split("/").includes("..")) {
    throw new Error("repositoryPath must not contain '..'");
  }
  const segments = repositoryPath.split("/").filter((s) => s !== "" && s !== ".");
  return segments.length === 0 ? undefined : segments.join("/");
}

/**
 * The key's B2 namePrefix for a repository under `path`: `path/` (with the
 * slash, so a key for "host" cannot reach "host-old/..."). B2 then only lets
 * the key list, read, write and delete files whose names start with it, which
 * is exactly the repository's files. Undefined (the whole bucket) for the root.
 */
export function keyNamePrefix(repositoryPath: string | undefined): string | undefined {
  return repositoryPath === undefined ? undefined : `${repositoryPath}/`;
}

/** The restic repository string: `b2:<bucket>` or `b2:<bucket>:<path>`. */
export function repositoryUrl(bucketName: string, repositoryPath: string | undefined): string {
  return repositoryPath === undefined ? `b2:${bucketName}` : `b2:${bucketName}:${repositoryPath}`;
}
