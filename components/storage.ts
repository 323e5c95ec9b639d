// B2Storage: where one machine's restic repository lives on Backblaze B2,
// and the credentials restic uses to reach it.
//
// Two modes:
// - createBucket: a private, SSE-B2-encrypted bucket with one lifecycle rule
//   and an application key restricted to that bucket (and to the repository
//   path inside it), both managed through an explicit b2.Provider.
// - existing bucket: nothing is created (no B2 resource and no b2 provider, so
//   the B2 plugin is never needed); the outputs are the given name and key.
import * as pulumi from "@pulumi/pulumi";
import * as b2 from "@pulumi/b2";
import { StorageConfig, bucketNameProblem, destructiveCapabilities, keyNamePrefix, missingForExistingBucket, normalizeRepositoryPath, repositoryUrl, valueProblem } from "../lib/config";
import { randomHex } from "./random";

export { BUCKET_NAME_PATTERN, bucketNameProblem } from "../lib/config";

const BUCKET_NAME_MAX = 50;
const KEY_NAME_MAX = 100;

/**
 * The parsed storage settings (lib/config/ StorageConfig: the secrets as
 * inputs) and the prefix of a derived bucket name, e.g. the stack name.
 * createBucket is a plain boolean: whether the B2 bucket and key are created
 * and managed here.
 */
export type B2StorageArgs = StorageConfig<pulumi.Input<string>> & { namePrefix: string };

export const B2_STORAGE_TYPE = "nixos-restic-b2:index:B2Storage";

/** Bytes of randomness in a derived bucket name (8 hex characters). */
export const BUCKET_SUFFIX_BYTES = 4;

/** Lower-case, every run of characters other than [a-z0-9] becomes one '-', no '-' at either end. */
function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * The default bucket name: `restic-<namePrefix>-<suffix>`, with namePrefix
 * reduced to [a-z0-9-] and shortened so the whole stays within 50 characters.
 * An empty prefix gives `restic-<suffix>`. The "restic-" start keeps it clear
 * of the reserved "b2-" prefix.
 */
export function deriveBucketName(namePrefix: string, suffix: string): string {
  if (!/^[a-z0-9]{1,16}$/.test(suffix)) {
    throw new Error("B2Storage: the random bucket-name suffix must be 1 to 16 lower-case hex characters");
  }
  const head = "restic-";
  const tail = `-${suffix}`;
  const room = BUCKET_NAME_MAX - head.length - tail.length;
  const middle = slug(namePrefix).slice(0, room).replace(/-+$/, "");
  const name = middle === "" ? `${head}${suffix}` : `${head}${middle}${tail}`;
  const problem = bucketNameProblem(name);
  if (problem !== undefined) {
    // Unreachable for the inputs above; kept so a future change cannot
    // silently produce a name restic refuses.
    throw new Error(`B2Storage: derived bucket name ${name} ${problem}`);
  }
  return name;
}

/** B2 key name from the component name: letters, digits and '-', at most 100 characters. */
export function keyNameFor(componentName: string): string {
  const cleaned = componentName.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  const name = cleaned === "" ? "restic" : `restic-${cleaned}`;
  return name.slice(0, KEY_NAME_MAX).replace(/-+$/, "");
}

/**
 * Delete behaviour of the bucket. It is retained on `pulumi destroy` (only
 * dropped from state) unless deleteBucketOnDestroy: the backups outlive the
 * stack. Even with deleteBucketOnDestroy, B2 refuses to delete a bucket that
 * still holds any file version (hidden ones included), and the provider has
 * no force-delete, so the destroy fails until the bucket has been emptied.
 */
export function bucketDeleteOptions(deleteBucketOnDestroy: boolean): { retainOnDelete: boolean } {
  return { retainOnDelete: !deleteBucketOnDestroy };
}

/**
 * The component's own guard, with the parser's rules (lib/config/schema.ts
 * declarations and the existing-bucket rule), for callers that skipped the
 * parser: e.g. lifecycleDays 0 would be sent as "unset", leaving a lifecycle
 * rule B2 rejects. Only names are reported, never a secret's value.
 */
function checkArgs(args: B2StorageArgs): void {
  for (const key of ["lifecycleDays", "keyCapabilities", "bucketName"] as const) {
    const problem = valueProblem(key, args[key]);
    if (problem !== undefined) throw new Error(`B2Storage: ${key} ${problem}`);
  }
  if (args.keyCapabilities.length === 0) throw new Error("B2Storage: keyCapabilities must list at least one capability");
  // The parser's cross-key rule, said once more for callers that skipped it:
  // a protected key must never be created with a capability that defeats it.
  const destructive = destructiveCapabilities(args.keyCapabilities);
  if (args.hostCanDelete === false && destructive.length > 0) {
    throw new Error(`B2Storage: keyCapabilities contradicts hostCanDelete: false (${destructive.join(", ")})`);
  }
  const missing = missingForExistingBucket(args);
  if (missing.length > 0) throw new Error(`B2Storage: ${missing.join(", ")} required when createBucket is false`);
}

export class B2Storage extends pulumi.ComponentResource {
  /** The bucket's name. */
  public readonly bucketName: pulumi.Output<string>;
  /** The B2 bucket ID; undefined when an existing bucket is used. */
  public readonly bucketId: pulumi.Output<string | undefined>;
  /** The application key ID restic uses (B2_ACCOUNT_ID). */
  public readonly keyId: pulumi.Output<string>;
  /** The application key restic uses (B2_ACCOUNT_KEY); always secret. */
  public readonly key: pulumi.Output<string>;
  /** The restic repository: `b2:<bucket>` or `b2:<bucket>:<repositoryPath>`. */
  public readonly repository: pulumi.Output<string>;

  constructor(name: string, args: B2StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before anything is registered.
    checkArgs(args);
    // args are deliberately not passed to super: they hold secrets.
    super(B2_STORAGE_TYPE, name, {}, opts);
    const repositoryPath = normalizeRepositoryPath(args.repositoryPath);

    if (args.createBucket) {
      const provider = new b2.Provider(
        `${name}-b2`,
        { applicationKeyId: args.managementKeyId, applicationKey: args.managementKey },
        { parent: this },
      );

      const bucketName: pulumi.Output<string> =
        args.bucketName !== undefined
          ? pulumi.output(args.bucketName)
          : randomHex(`${name}-bucket-suffix`, BUCKET_SUFFIX_BYTES, false, { parent: this }).apply((suffix) =>
              deriveBucketName(args.namePrefix, suffix),
            );

      const bucket = new b2.Bucket(
        `${name}-bucket`,
        {
          bucketName,
          bucketType: "allPrivate",
          defaultServerSideEncryption: { mode: "SSE-B2", algorithm: "AES256" },
          // Keep hidden versions (restic's overwritten/deleted files) for
          // lifecycleDays, then let B2 delete them.
          lifecycleRules: [{ fileNamePrefix: "", daysFromHidingToDeleting: args.lifecycleDays }],
        },
        { parent: this, provider, ...bucketDeleteOptions(args.deleteBucketOnDestroy) },
      );

      const key = new b2.ApplicationKey(
        `${name}-key`,
        {
          keyName: keyNameFor(name),
          capabilities: [...args.keyCapabilities],
          // The single (deprecated) bucketId, never bucketIds: bucketIds makes
          // a B2 "multi-bucket" key, which restic's b2: backend cannot use to
          // authorize (restic#5741).
          bucketId: bucket.bucketId,
          namePrefix: keyNamePrefix(repositoryPath),
        },
        // The key is not needed once the stack is gone: always deleted.
        // B2 keys cannot be changed, so a new capability list (hostCanDelete
        // turned on or off) replaces the key, said here as well as by the
        // provider: the new key is created first, the agenix files and the
        // host get its id and key, and the old key is deleted last.
        { parent: this, provider, retainOnDelete: false, replaceOnChanges: ["capabilities"], deleteBeforeReplace: false },
      );

      this.bucketName = bucket.bucketName;
      this.bucketId = bucket.bucketId;
      this.keyId = key.applicationKeyId;
      this.key = pulumi.secret(key.applicationKey);
    } else {
      // checkArgs made sure these are set.
      this.bucketName = pulumi.output(args.bucketName!);
      this.bucketId = pulumi.output<string | undefined>(undefined);
      this.keyId = pulumi.secret(args.existingKeyId!);
      this.key = pulumi.secret(args.existingKey!);
    }

    this.repository = this.bucketName.apply((bucket) => repositoryUrl(bucket, repositoryPath));

    this.registerOutputs({
      bucketName: this.bucketName,
      bucketId: this.bucketId,
      keyId: this.keyId,
      key: this.key,
      repository: this.repository,
    });
  }
}
