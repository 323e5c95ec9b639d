// Storage settings: the B2 bucket, its lifecycle, the restic key.

import { Reader } from "./reader";
import { SecretKey } from "./keys";
import { StorageConfig } from "./types";

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

export function parseStorage<S>(r: Reader, secrets: Partial<Record<SecretKey, S>>): StorageConfig<S> {
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

  return {
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
  };
}
