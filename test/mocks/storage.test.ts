// B2Storage under Pulumi mocks: record every registration, then assert on
// exactly what would reach the engine (and on client-side options).
import * as pulumi from "@pulumi/pulumi";
import * as schema from "@pulumi/b2/schema";
import { MockRecorder, fakeHex, installPulumiMocks, isSecret, settled, valueOf } from "../support/pulumi-mocks";
import type { B2StorageArgs } from "../../components/storage";

type StorageModule = typeof import("../../components/storage");

const BUCKET = "b2:index/bucket:Bucket";
const KEY = "b2:index/applicationKey:ApplicationKey";
const PROVIDER = "pulumi:providers:b2";
const COMMAND = "command:local:Command";
const COMPONENT = "nixos-restic-b2:index:B2Storage";

const RECIPE = [
  "deleteFiles", "listAllBucketNames", "listBuckets", "listFiles",
  "readBucketEncryption", "readBucketReplications", "readBuckets", "readFiles",
  "shareFiles", "writeBucketEncryption", "writeBucketReplications", "writeFiles",
];
const SUFFIX = fakeHex(4); // what the mocked random command prints for 4 bytes
// Fake credentials; they only exist in this test.
const MGMT_ID = "test-mgmt-id";
const MGMT_KEY = "test-mgmt-key";
const EXISTING_ID = "test-existing-id";
const EXISTING_KEY = "test-existing-key";

let mocks: MockRecorder;
let storage: StorageModule;
let registerPackage: jest.SpyInstance;

beforeAll(async () => {
  mocks = await installPulumiMocks({
    outputs: (a) => {
      if (a.type === BUCKET) return { bucketId: `bkt-${a.name}`, accountId: "acct-1", revision: 1, options: [] };
      if (a.type === KEY) return { applicationKeyId: `kid-${a.name}`, applicationKey: `secret-of-${a.name}`, options: [] };
      return undefined;
    },
  });
  registerPackage = jest.spyOn(pulumi.runtime, "registerPackage");
  // Loaded only after the mocks are installed.
  storage = require("../../components/storage") as StorageModule;
});

beforeEach(() => {
  mocks.reset();
  registerPackage.mockClear();
});

function args(over: Partial<B2StorageArgs> = {}): B2StorageArgs {
  return {
    createBucket: true,
    namePrefix: "web-01",
    lifecycleDays: 30,
    keyCapabilities: [...RECIPE],
    deleteBucketOnDestroy: false,
    managementKeyId: pulumi.secret(MGMT_ID),
    managementKey: pulumi.secret(MGMT_KEY),
    ...over,
  };
}

async function build(name: string, a: B2StorageArgs) {
  const s = new storage.B2Storage(name, a, { transformations: [mocks.recordOptions] });
  await settled(s.bucketName, s.bucketId, s.keyId, s.key, s.repository);
  return s;
}

const b2Records = () => mocks.resources.filter((r) => r.type.startsWith("b2:") || r.type === PROVIDER);

describe("createBucket with defaults", () => {
  test("registers exactly provider, random suffix, bucket and key, all children of the component", async () => {
    const s = await build("web-01", args());
    expect(mocks.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        `${COMMAND} web-01-bucket-suffix`,
        `${COMPONENT} web-01`,
        `${KEY} web-01-key`,
        `${BUCKET} web-01-bucket`,
        `${PROVIDER} web-01-b2`,
      ].sort(),
    );
    for (const rec of mocks.options.filter((o) => o.type !== COMPONENT)) {
      expect(rec.name.startsWith("web-01-")).toBe(true);
      expect(rec.opts.parent).toBe(s);
    }
    const componentUrn = await valueOf(s.urn);
    for (const rec of mocks.resources.filter((r) => r.type !== COMPONENT)) {
      expect(rec.request?.parent).toBe(componentUrn);
    }
  });

  test("b2 resources are registered through the package reference (version left to it), the command plugin is not", async () => {
    await build("web-01", args());
    for (const type of [PROVIDER, BUCKET, KEY]) {
      expect(mocks.one(type).request).toMatchObject({ packageRef: "mock-uuid", version: "" });
    }
    expect(mocks.one(COMMAND).request?.packageRef).toBe("");
  });

  test("bucket inputs are exactly: name, allPrivate, SSE-B2/AES256, one 30-day hide-to-delete rule", async () => {
    await build("web-01", args());
    const bucket = mocks.one(BUCKET);
    expect(bucket.inputs).toStrictEqual({
      bucketName: `restic-web-01-${SUFFIX}`,
      bucketType: "allPrivate",
      defaultServerSideEncryption: { mode: "SSE-B2", algorithm: "AES256" },
      lifecycleRules: [{ fileNamePrefix: "", daysFromHidingToDeleting: 30 }],
    });
    expect(bucket.secretPaths).toEqual([]);
  });

  test("key inputs are exactly: name, the recipe capabilities, the single bucketId (never bucketIds)", async () => {
    await build("web-01", args());
    const key = mocks.one(KEY);
    expect(key.inputs).toStrictEqual({
      keyName: "restic-web-01",
      capabilities: RECIPE,
      bucketId: "bkt-web-01-bucket",
    });
    expect(key.inputs).not.toHaveProperty("bucketIds");
    expect([...key.inputs.capabilities].sort()).toEqual([
      "deleteFiles", "listAllBucketNames", "listBuckets", "listFiles", "readBucketEncryption", "readBucketReplications",
      "readBuckets", "readFiles", "shareFiles", "writeBucketEncryption", "writeBucketReplications", "writeFiles",
    ]);
  });

  test("bucket and key use the component's explicit b2 provider, built from the management credentials", async () => {
    await build("web-01", args());
    const provider = mocks.one(PROVIDER);
    expect(provider.inputs).toStrictEqual({ applicationKeyId: MGMT_ID, applicationKey: MGMT_KEY });
    expect(provider.secretPaths.sort()).toEqual(["applicationKey", "applicationKeyId"]);
    for (const type of [BUCKET, KEY]) {
      const rec = mocks.one(type);
      // "<provider urn>::<provider id>"; the urn's type is qualified by the parent component's.
      expect(rec.provider).toBe(`urn:pulumi:stack::project::${COMPONENT}$${PROVIDER}::web-01-b2::web-01-b2-id`);
      expect(mocks.optionsOf(rec.name).opts.provider).toBe(mocks.optionsOf("web-01-b2").resource);
    }
    // The credentials travel as secrets and come back as secret outputs.
    const p = mocks.optionsOf("web-01-b2");
    expect(await isSecret(p.props.applicationKeyId)).toBe(true);
    expect(await isSecret(p.props.applicationKey)).toBe(true);
    expect(p.opts.additionalSecretOutputs).toEqual(expect.arrayContaining(["applicationKey", "applicationKeyId"]));
    expect([...provider.request!.additionalSecretOutputs].sort()).toEqual(["applicationKey", "applicationKeyId"]);
  });

  test("plain (non-secret) management credentials still reach the engine as secrets", async () => {
    await build("plaincreds", args({ managementKeyId: MGMT_ID, managementKey: MGMT_KEY }));
    const provider = mocks.one(PROVIDER);
    expect(provider.inputs).toStrictEqual({ applicationKeyId: MGMT_ID, applicationKey: MGMT_KEY });
    expect(provider.secretPaths.sort()).toEqual(["applicationKey", "applicationKeyId"]);
  });

  test("without management credentials the provider gets none (it falls back to B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY)", async () => {
    await build("envcreds", args({ managementKeyId: undefined, managementKey: undefined }));
    expect(mocks.one(PROVIDER).inputs).toStrictEqual({});
  });

  test("outputs: key is secret and keyId/bucketId/bucketName/repository come from the resources", async () => {
    const s = await build("web-01", args());
    expect(await isSecret(s.key)).toBe(true);
    expect(await valueOf(s.key)).toBe("secret-of-web-01-key");
    expect(await valueOf(s.keyId)).toBe("kid-web-01-key");
    expect(await valueOf(s.bucketId)).toBe("bkt-web-01-bucket");
    expect(await valueOf(s.bucketName)).toBe(`restic-web-01-${SUFFIX}`);
    expect(await valueOf(s.repository)).toBe(`b2:restic-web-01-${SUFFIX}`);
    expect(mocks.optionsOf("web-01-key").opts.additionalSecretOutputs).toEqual(["applicationKey"]);
    expect(mocks.one(KEY).request?.additionalSecretOutputs).toEqual(["applicationKey"]);
    expect(mocks.one(BUCKET).request?.additionalSecretOutputs).toEqual([]);
  });

  test("the package is registered as the parameterized terraform-provider b2 package", async () => {
    await build("web-01", args());
    expect(registerPackage).toHaveBeenCalled();
    for (const [a] of registerPackage.mock.calls) {
      expect(a).toMatchObject({ baseProviderName: "terraform-provider", baseProviderVersion: "0.14.0", packageName: "b2", packageVersion: "0.13.1" });
    }
  });

  test("every property sent to a b2 resource exists in the binding's schema", async () => {
    await build("web-01", args({ repositoryPath: "a/b" }));
    const specs: Record<string, schema.ResourceSpec> = {
      [BUCKET]: schema.resources.bucket,
      [KEY]: schema.resources.applicationKey,
      [PROVIDER]: schema.resources.provider,
    };
    const recs = b2Records();
    expect(recs.map((r) => r.type).sort()).toEqual([KEY, BUCKET, PROVIDER].sort());
    for (const rec of recs) {
      for (const prop of Object.keys(rec.inputs)) expect(specs[rec.type].inputs).toContain(prop);
    }
    const bucket = mocks.one(BUCKET).inputs;
    for (const rule of bucket.lifecycleRules) {
      for (const prop of Object.keys(rule)) expect(schema.nestedTypes.BucketLifecycleRule).toContain(prop);
    }
    for (const prop of Object.keys(bucket.defaultServerSideEncryption)) {
      expect(schema.nestedTypes.BucketDefaultServerSideEncryption).toContain(prop);
    }
  });
});

describe("lifecycle and capabilities follow the args", () => {
  test.each([1, 7, 365])("lifecycleDays %i → one rule with exactly that many days from hiding to deleting", async (days) => {
    await build(`days-${days}`, args({ lifecycleDays: days }));
    expect(mocks.one(BUCKET).inputs.lifecycleRules).toStrictEqual([{ fileNamePrefix: "", daysFromHidingToDeleting: days }]);
  });

  test("custom capabilities are passed through unchanged", async () => {
    await build("caps", args({ keyCapabilities: ["listBuckets", "readFiles"] }));
    expect(mocks.one(KEY).inputs.capabilities).toStrictEqual(["listBuckets", "readFiles"]);
  });
});

describe("hostCanDelete: the host's key with and without delete", () => {
  // What lib/config gives for hostCanDelete false with keyCapabilities unset.
  const PROTECTED = [
    "listAllBucketNames", "listBuckets", "listFiles", "readBucketEncryption", "readBucketReplications",
    "readBuckets", "readFiles", "shareFiles", "writeFiles",
  ];
  // Everything that would let the host destroy a version or change the bucket's encryption, replication or file lock.
  const NEVER_ON_A_PROTECTED_KEY = [
    "deleteFiles", "bypassGovernance", "writeBucketEncryption", "writeBucketReplications", "writeBucketNotifications",
    "writeBucketRetentions", "writeFileRetentions", "writeFileLegalHolds", "writeBuckets", "writeKeys",
  ];

  test("protected: the key gets exactly the protected list, the bucket (and its lifecycle window) stays the same", async () => {
    await build("web-01", args({ hostCanDelete: false, keyCapabilities: [...PROTECTED] }));
    const key = mocks.one(KEY).inputs;
    expect(key).toStrictEqual({ keyName: "restic-web-01", capabilities: PROTECTED, bucketId: "bkt-web-01-bucket" });
    for (const c of NEVER_ON_A_PROTECTED_KEY) expect(key.capabilities).not.toContain(c);
    // hiding is b2_hide_file, which needs writeFiles; restic lists and reads with the rest.
    expect(key.capabilities).toEqual(expect.arrayContaining(["writeFiles", "listFiles", "readFiles", "listBuckets"]));
    expect(mocks.one(BUCKET).inputs.lifecycleRules).toStrictEqual([{ fileNamePrefix: "", daysFromHidingToDeleting: 30 }]);
  });

  test("not protected (unset or true): the released list, with deleteFiles", async () => {
    await build("web-01", args({ hostCanDelete: true }));
    expect(mocks.one(KEY).inputs.capabilities).toStrictEqual(RECIPE);
    mocks.reset();
    await build("web-01", args({ hostCanDelete: undefined }));
    expect(mocks.one(KEY).inputs.capabilities).toStrictEqual(RECIPE);
  });

  test.each(["deleteFiles", "writeBucketEncryption", "writeFileRetentions", "bypassGovernance"])(
    "hostCanDelete false with %s is refused before anything is registered",
    (bad) => {
      expect(() => new storage.B2Storage("contra", args({ hostCanDelete: false, keyCapabilities: [...PROTECTED, bad] }))).toThrow(
        `B2Storage: keyCapabilities contradicts hostCanDelete: false (${bad})`,
      );
      expect(mocks.resources).toHaveLength(0);
    },
  );

  test("turning protection on replaces the same key (one name, new capabilities), new key first, old key deleted last", async () => {
    await build("web-01", args());
    const before = mocks.one(KEY);
    mocks.reset();
    await build("web-01", args({ hostCanDelete: false, keyCapabilities: [...PROTECTED] }));
    const after = mocks.one(KEY);
    // The same resource (name, parent, bucket) with another capability list: B2
    // keys cannot change, so the engine replaces it...
    expect(after.name).toBe(before.name);
    expect(after.request?.parent).toBe(before.request?.parent);
    expect(after.inputs.bucketId).toBe(before.inputs.bucketId);
    expect(after.inputs.capabilities).not.toEqual(before.inputs.capabilities);
    expect(after.request?.replaceOnChanges).toEqual(["capabilities"]);
    // ... creating the new key before deleting the old one, so the host keeps a
    // working key until the new id and key (outputs the agenix files are made
    // from) have been pushed; then the old key is deleted.
    expect(after.request?.deleteBeforeReplace).toBe(false);
    expect(after.request?.retainOnDelete).toBe(false);
    expect(mocks.optionsOf("web-01-key").opts).toMatchObject({ replaceOnChanges: ["capabilities"], deleteBeforeReplace: false });
  });
});

describe("deleteBucketOnDestroy", () => {
  test.each([
    [false, true],
    [true, false],
  ])("deleteBucketOnDestroy=%s → bucket retainOnDelete=%s; the key is always deleted", async (del, retain) => {
    await build(`del-${del}`, args({ deleteBucketOnDestroy: del }));
    expect(mocks.optionsOf(`del-${del}-bucket`).opts.retainOnDelete).toBe(retain);
    expect(mocks.optionsOf(`del-${del}-key`).opts.retainOnDelete).toBe(false);
    // ... and as the engine receives it.
    expect(mocks.one(BUCKET).request?.retainOnDelete).toBe(retain);
    expect(mocks.one(KEY).request?.retainOnDelete).toBe(false);
  });

  test.each([
    [false, { retainOnDelete: true }],
    [true, { retainOnDelete: false }],
  ])("bucketDeleteOptions(%s)", (del, expected) => {
    expect(storage.bucketDeleteOptions(del)).toStrictEqual(expected);
  });
});

describe("repositoryPath", () => {
  test.each([
    [undefined, undefined, ""],
    ["", undefined, ""],
    ["hosts/web-01", "hosts/web-01/", ":hosts/web-01"],
    ["/hosts//web-01/", "hosts/web-01/", ":hosts/web-01"],
    ["./a/./b", "a/b/", ":a/b"],
    ["restic", "restic/", ":restic"],
  ])("%j → key namePrefix %j, repository b2:<bucket>%s", async (path, namePrefix, repoSuffix) => {
    const s = await build("repo", args({ bucketName: "my-backups", repositoryPath: path }));
    const key = mocks.one(KEY).inputs;
    if (namePrefix === undefined) expect(key).not.toHaveProperty("namePrefix");
    else expect(key.namePrefix).toBe(namePrefix);
    expect(await valueOf(s.repository)).toBe(`b2:my-backups${repoSuffix}`);
  });

  test("'..' is refused before anything is registered", () => {
    expect(() => new storage.B2Storage("dots", args({ repositoryPath: "a/../b" }))).toThrow(/repositoryPath/);
    expect(mocks.resources).toHaveLength(0);
  });
});

describe("bucket name", () => {
  test("explicit bucketName: used as is, no random suffix resource", async () => {
    await build("named", args({ bucketName: "My-Bucket-01" }));
    expect(mocks.one(BUCKET).inputs.bucketName).toBe("My-Bucket-01");
    expect(mocks.ofType(COMMAND)).toHaveLength(0);
  });

  test("derived name: a 4-byte random suffix made once by a command child kept in state", async () => {
    await build("derived", args({ namePrefix: "Web_Server.PROD" }));
    const cmd = mocks.one(COMMAND);
    expect(cmd.name).toBe("derived-bucket-suffix");
    expect(cmd.inputs.create).toMatch(/-N4\b/);
    expect(mocks.optionsOf("derived-bucket-suffix").opts.ignoreChanges).toEqual(expect.arrayContaining(["create"]));
    expect(mocks.one(BUCKET).inputs.bucketName).toBe(`restic-web-server-prod-${SUFFIX}`);
  });

  test.each([
    ["web-01", `restic-web-01-${SUFFIX}`],
    ["Web_Server.PROD", `restic-web-server-prod-${SUFFIX}`],
    ["b2-host", `restic-b2-host-${SUFFIX}`],
    ["--x--", `restic-x-${SUFFIX}`],
    ["!!!", `restic-${SUFFIX}`],
    ["", `restic-${SUFFIX}`],
    ["a".repeat(34), `restic-${"a".repeat(34)}-${SUFFIX}`],
    ["a".repeat(35), `restic-${"a".repeat(34)}-${SUFFIX}`],
    ["a".repeat(33) + "-bcd", `restic-${"a".repeat(33)}-${SUFFIX}`],
  ])("deriveBucketName(%j) = %s", (prefix, expected) => {
    expect(storage.deriveBucketName(prefix, SUFFIX)).toBe(expected);
  });

  test("derived names always fit restic and B2 (6..50, [a-z0-9-], no '--', never 'b2-')", () => {
    const prefixes = ["x", "ü", "b2-", "B2-B2", "a.b.c", " ", "-".repeat(80), "z".repeat(200), "host_01.example.org", "ÄÖÜ-ß"];
    for (const p of prefixes) {
      const name = storage.deriveBucketName(p, SUFFIX);
      expect(name.length).toBeGreaterThanOrEqual(6);
      expect(name.length).toBeLessThanOrEqual(50);
      expect(name).toMatch(/^restic-[a-z0-9-]*[a-z0-9]$/);
      expect(name).not.toMatch(/--/);
      expect(name.startsWith("b2-")).toBe(false);
      expect(name.endsWith(`-${SUFFIX}`)).toBe(true);
      expect(storage.bucketNameProblem(name)).toBeUndefined();
    }
  });

  test.each(["", "ABCDEF01", "0123 4567", "x".repeat(17)])("deriveBucketName refuses suffix %j", (suffix) => {
    expect(() => storage.deriveBucketName("web", suffix)).toThrow(/suffix/);
  });

  test.each([
    ["short", /6 to 50/],
    ["a".repeat(51), /6 to 50/],
    ["has_underscore", /6 to 50/],
    ["b2-reserved", /b2-/],
    ["B2-Reserved", /b2-/],
  ])("bucketName %j is refused", (bucketName, message) => {
    expect(() => new storage.B2Storage("bad", args({ bucketName }))).toThrow(message);
  });
});

describe("key name", () => {
  test.each([
    ["web-01", "restic-web-01"],
    ["host_01.example", "restic-host-01-example"],
    ["-x-", "restic-x"],
    ["!!", "restic"],
  ])("keyNameFor(%j) = %s", (name, expected) => {
    expect(storage.keyNameFor(name)).toBe(expected);
  });

  test("long names are cut to 100 characters without a trailing '-'", () => {
    const k = storage.keyNameFor("a".repeat(92) + "-" + "b".repeat(20));
    expect(k.length).toBeLessThanOrEqual(100);
    expect(k).toMatch(/^[A-Za-z0-9-]+$/);
    expect(k.endsWith("-")).toBe(false);
  });
});

describe("existing bucket (createBucket: false)", () => {
  const existing = (over: Partial<B2StorageArgs> = {}) =>
    args({
      createBucket: false,
      bucketName: "old-bucket",
      managementKeyId: undefined,
      managementKey: undefined,
      existingKeyId: pulumi.secret(EXISTING_ID),
      existingKey: pulumi.secret(EXISTING_KEY),
      ...over,
    });

  test("registers no B2 resource, no b2 provider, no random suffix, and no b2 package", async () => {
    await build("existing", existing());
    expect(b2Records()).toEqual([]);
    expect(mocks.resources.map((r) => r.type)).toEqual([COMPONENT]);
    expect(registerPackage).not.toHaveBeenCalled();
  });

  test("management credentials given anyway still create no provider", async () => {
    await build("existing-mgmt", existing({ managementKeyId: pulumi.secret(MGMT_ID), managementKey: pulumi.secret(MGMT_KEY) }));
    expect(b2Records()).toEqual([]);
  });

  test("outputs come from the args; key and keyId are secret, bucketId undefined", async () => {
    const s = await build("existing", existing({ repositoryPath: "srv/x" }));
    expect(await valueOf(s.bucketName)).toBe("old-bucket");
    expect(await valueOf(s.bucketId)).toBeUndefined();
    expect(await valueOf(s.keyId)).toBe(EXISTING_ID);
    expect(await valueOf(s.key)).toBe(EXISTING_KEY);
    expect(await isSecret(s.key)).toBe(true);
    expect(await isSecret(s.keyId)).toBe(true);
    expect(await valueOf(s.repository)).toBe("b2:old-bucket:srv/x");
  });

  test("plain (non-Output) existing credentials are made secret too", async () => {
    const s = await build("existing-plain", existing({ existingKeyId: EXISTING_ID, existingKey: EXISTING_KEY }));
    expect(await isSecret(s.key)).toBe(true);
    expect(await isSecret(s.keyId)).toBe(true);
  });

  test.each([
    ["bucketName", { bucketName: undefined }],
    ["existingKeyId", { existingKeyId: undefined }],
    ["existingKey", { existingKey: undefined }],
  ])("missing %s is an error naming the setting, never a secret value", (missing, over) => {
    let message = "";
    try {
      new storage.B2Storage("incomplete", existing({ existingKeyId: EXISTING_ID, existingKey: EXISTING_KEY, ...over }));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(missing);
    expect(message).not.toContain(EXISTING_ID);
    expect(message).not.toContain(EXISTING_KEY);
    expect(mocks.resources).toHaveLength(0);
  });
});

describe("argument checks", () => {
  test.each([0, -1, 1.5, Number.NaN])("lifecycleDays %p is refused (0 would leave a rule B2 rejects)", (days) => {
    expect(() => new storage.B2Storage("bad-days", args({ lifecycleDays: days }))).toThrow(/lifecycleDays/);
  });

  test("empty keyCapabilities is refused", () => {
    expect(() => new storage.B2Storage("bad-caps", args({ keyCapabilities: [] }))).toThrow(/keyCapabilities/);
  });
});

describe("component", () => {
  test("type token, and no args (secrets) in the component's own registration", async () => {
    await build("comp", args());
    const comp = mocks.one(COMPONENT);
    expect(comp.name).toBe("comp");
    expect(comp.inputs).toStrictEqual({});
  });
});
