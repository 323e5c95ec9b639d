// Storage settings: the B2 bucket, its lifecycle, the restic key. The keys'
// types, defaults and single-value rules are in ./schema; the rules across
// keys are here.

import { SecretKey } from "./keys";
import { Reader } from "./reader";
import { StorageConfig } from "./types";

/**
 * The keys existing-bucket mode (createBucket false) needs that are missing:
 * the parser names each in a message, B2Storage refuses to start without
 * them. Only presence is looked at, never a value.
 */
export function missingForExistingBucket(c: { createBucket: boolean; bucketName?: unknown; existingKeyId?: unknown; existingKey?: unknown }): ("bucketName" | "existingKeyId" | "existingKey")[] {
  if (c.createBucket) return [];
  return (["bucketName", "existingKeyId", "existingKey"] as const).filter((k) => c[k] === undefined);
}

const MISSING_MESSAGE = {
  bucketName: "is required when createBucket is false (the existing bucket's name)",
  existingKeyId: "is required when createBucket is false (set it with `pulumi config set --secret existingKeyId <id>`)",
  existingKey: "is required when createBucket is false (set it with `pulumi config set --secret existingKey <key>`)",
} as const;

export function parseStorage<S>(r: Reader, secrets: Partial<Record<SecretKey, S>>): StorageConfig<S> {
  const createBucket = r.get("createBucket");
  const bucketName = r.get("bucketName");
  const lifecycleDays = r.get("lifecycleDays");
  const keyCapabilities = r.get("keyCapabilities");
  const dupCap = keyCapabilities.find((c, i) => keyCapabilities.indexOf(c) !== i);
  if (dupCap !== undefined) r.fail("keyCapabilities", "must not list a capability twice", dupCap);
  const repositoryPath = r.get("repositoryPath");
  const deleteBucketOnDestroy = r.get("deleteBucketOnDestroy");

  const config: StorageConfig<S> = {
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
  if (!createBucket) {
    for (const key of missingForExistingBucket(config)) r.fail(key, MISSING_MESSAGE[key]);
  } else {
    if (secrets.existingKeyId !== undefined || secrets.existingKey !== undefined) {
      r.fail("existingKeyId", "existingKeyId/existingKey are only used with createBucket: false; remove them or set createBucket to false");
    }
    if ((secrets["b2:applicationKeyId"] === undefined) !== (secrets["b2:applicationKey"] === undefined)) {
      r.fail("b2:applicationKey", "b2:applicationKeyId and b2:applicationKey must be set together (or neither, to use B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY)");
    }
  }
  return config;
}
