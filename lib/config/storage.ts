// Storage settings: the B2 bucket, its lifecycle, the restic key. The keys'
// types, defaults and single-value rules are in ./schema; the rules across
// keys are here.

import { defaultCapabilities, destructiveCapabilities } from "./b2";
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

/**
 * The host key's capabilities: keyCapabilities as set, or (unset or [])
 * the default for hostCanDelete (unset: the released list, with
 * deleteFiles). A list set by hand must agree with a hostCanDelete set by
 * hand: false forbids HOST_DESTRUCTIVE_CAPABILITIES, true needs deleteFiles.
 */
function capabilities(r: Reader, hostCanDelete: boolean | undefined, createBucket: boolean): string[] {
  const set = r.get("keyCapabilities");
  const dupCap = set.find((c, i) => set.indexOf(c) !== i);
  if (dupCap !== undefined) r.fail("keyCapabilities", "must not list a capability twice", dupCap);
  if (hostCanDelete === false && !createBucket) {
    r.fail(
      "hostCanDelete",
      "false only restricts the key this program creates (createBucket: true); with an existing key, create that key without deleteFiles yourself and leave hostCanDelete unset",
    );
  }
  if (set.length === 0) return [...defaultCapabilities(hostCanDelete ?? true)];
  const destructive = destructiveCapabilities(set);
  if (hostCanDelete === false && destructive.length > 0) {
    r.fail(
      "keyCapabilities",
      `contradicts hostCanDelete: false, which forbids ${destructive.join(", ")} (they let the host delete file versions at once or change the bucket's encryption, replication, notifications or file lock); remove them, or unset keyCapabilities to get the protected list`,
      set,
    );
  }
  if (hostCanDelete === true && !set.includes("deleteFiles")) {
    r.fail("keyCapabilities", "contradicts hostCanDelete: true: it lacks deleteFiles; add deleteFiles, or set hostCanDelete to false for a key that can only hide", set);
  }
  return set;
}

/** What `pulumi up` says to a stack that never chose hostCanDelete and whose key can delete. */
export const UNPROTECTED_WARNING =
  "hostCanDelete is unset: the host's B2 key can delete every backup (deleteFiles), so root on the host can too. " +
  "`pulumi config set hostCanDelete false` protects them (the key is replaced: a new key id and key are pushed to the host, then the old key is deleted); " +
  "`pulumi config set hostCanDelete true` keeps this key and this warning goes.";

/** UNPROTECTED_WARNING when it applies to these settings (index.ts logs it with pulumi.log.warn), else undefined. */
export function protectionWarning(s: Pick<StorageConfig<unknown>, "createBucket" | "hostCanDelete" | "keyCapabilities">): string | undefined {
  const unchosen = s.createBucket && s.hostCanDelete === undefined;
  return unchosen && destructiveCapabilities(s.keyCapabilities).length > 0 ? UNPROTECTED_WARNING : undefined;
}

export function parseStorage<S>(r: Reader, secrets: Partial<Record<SecretKey, S>>): StorageConfig<S> {
  const createBucket = r.get("createBucket");
  const bucketName = r.get("bucketName");
  const lifecycleDays = r.get("lifecycleDays");
  const hostCanDelete = r.get("hostCanDelete");
  const keyCapabilities = capabilities(r, hostCanDelete, createBucket);
  const repositoryPath = r.get("repositoryPath");
  const deleteBucketOnDestroy = r.get("deleteBucketOnDestroy");

  const config: StorageConfig<S> = {
    createBucket,
    bucketName,
    lifecycleDays,
    hostCanDelete,
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
