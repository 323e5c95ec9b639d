// The hand-written @pulumi/b2 binding (sdks/b2) registers what the generated
// SDK registers: package identity, tokens, property names, secret outputs.
// No Pulumi engine or mocks: registerPackage is spied on.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as b2 from "@pulumi/b2";
import * as schema from "@pulumi/b2/schema";
import * as utilities from "@pulumi/b2/utilities";

const SDK_DIR = path.resolve(__dirname, "../../sdks/b2");
const ROOT = path.resolve(__dirname, "../..");
const readJson = (p: string) => JSON.parse(fs.readFileSync(p, "utf8"));
const pkg = readJson(path.join(SDK_DIR, "package.json"));

// The parameter value, byte for byte: compact JSON, lower-case registry path.
const EXPECTED_PARAMETER = '{"remote":{"url":"registry.opentofu.org/backblaze/b2","version":"0.13.1"}}';

// Property names per the provider schema (facts: b2-provider.md §4–§7), kept
// here independently of the binding.
const FACTS = {
  provider: { inputs: ["applicationKey", "applicationKeyId", "endpoint"], outputsOnly: [], secret: ["applicationKey", "applicationKeyId"], required: [] },
  bucket: {
    inputs: ["b2BucketId", "bucketInfo", "bucketName", "bucketType", "corsRules", "defaultServerSideEncryption", "fileLockConfigurations", "lifecycleRules"],
    outputsOnly: ["accountId", "bucketId", "options", "revision"],
    secret: [],
    required: ["bucketName", "bucketType"],
  },
  applicationKey: {
    inputs: ["b2ApplicationKeyId", "bucketId", "bucketIds", "capabilities", "keyName", "namePrefix", "validDurationInSeconds"],
    outputsOnly: ["applicationKey", "applicationKeyId", "expirationTimestamp", "options"],
    secret: ["applicationKey"],
    required: ["capabilities", "keyName"],
  },
} as const;

const sorted = (xs: readonly string[]) => [...xs].sort();

// The one regeneration command, with the base plugin pinned (unpinned, the CLI
// takes the newest terraform-provider plugin and baseProviderVersion changes).
const PINNED_COMMAND = "pulumi package add terraform-provider@0.14.0 backblaze/b2 0.13.1";

/** Every statement of `pulumi package add ...` in a text, as "pulumi package add <args up to the end of the command>". */
function regenerationCommands(text: string): string[] {
  // A command ends at a line end, a backtick, a quote, a parenthesis or a comma/semicolon.
  return [...text.matchAll(/pulumi\s+package\s+add\b[^\n`"'(),;]*/g)].map((m) => m[0].trim().replace(/\s+/g, " "));
}

describe("package.json", () => {
  test("pulumi block: base plugin terraform-provider 0.14.0, parameterization b2 0.13.1", () => {
    expect(pkg.pulumi).toStrictEqual({
      resource: true,
      name: "terraform-provider",
      version: "0.14.0",
      parameterization: { name: "b2", version: "0.13.1", value: expect.any(String) },
    });
  });

  test("parameterization value decodes to the exact JSON and is canonical base64", () => {
    const value: string = pkg.pulumi.parameterization.value;
    expect(Buffer.from(value, "base64").toString("utf8")).toBe(EXPECTED_PARAMETER);
    expect(Buffer.from(EXPECTED_PARAMETER, "utf8").toString("base64")).toBe(value);
  });

  test("package identity and entry points", () => {
    expect(pkg.name).toBe("@pulumi/b2");
    expect(pkg.version).toBe(pkg.pulumi.parameterization.version);
    expect(pkg.main).toBe("index.js");
    expect(pkg.types).toBe("index.d.ts");
    expect(fs.existsSync(path.join(SDK_DIR, pkg.main))).toBe(true);
    expect(fs.existsSync(path.join(SDK_DIR, pkg.types))).toBe(true);
  });

  test("depends on nothing the root lacks and has no scripts", () => {
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.scripts).toBeUndefined();
    expect(Object.keys(pkg.peerDependencies)).toEqual(["@pulumi/pulumi"]);
    const min = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.peerDependencies["@pulumi/pulumi"]);
    expect(min).not.toBeNull();
    const installed = readJson(path.join(ROOT, "node_modules/@pulumi/pulumi/package.json")).version as string;
    const [a, b, c] = installed.split(".").map(Number);
    const [x, y, z] = min!.slice(1).map(Number);
    expect(a * 1e6 + b * 1e3 + c).toBeGreaterThanOrEqual(x * 1e6 + y * 1e3 + z);
    // runtime.registerPackage appeared in 3.238.0.
    expect(x * 1e6 + y * 1e3 + z).toBeGreaterThanOrEqual(3238000);
  });

  test("node_modules/@pulumi/b2 is this directory (file: dependency symlink)", () => {
    expect(fs.realpathSync(require.resolve("@pulumi/b2/package.json"))).toBe(path.join(SDK_DIR, "package.json"));
  });
});

describe("package registration", () => {
  afterEach(() => jest.restoreAllMocks());

  test("PACKAGE_ARGS match package.json", () => {
    expect({ ...utilities.PACKAGE_ARGS }).toStrictEqual({
      baseProviderName: pkg.pulumi.name,
      baseProviderVersion: pkg.pulumi.version,
      baseProviderDownloadUrl: "",
      packageName: pkg.pulumi.parameterization.name,
      packageVersion: pkg.pulumi.parameterization.version,
      base64Parameter: pkg.pulumi.parameterization.value,
    });
  });

  test("getPackage() calls runtime.registerPackage with exactly those args and returns its promise", async () => {
    const spy = jest.spyOn(pulumi.runtime, "registerPackage").mockReturnValue(Promise.resolve("ref-1"));
    const ref = utilities.getPackage();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][0]).toStrictEqual({
      baseProviderName: "terraform-provider",
      baseProviderVersion: "0.14.0",
      baseProviderDownloadUrl: "",
      packageName: "b2",
      packageVersion: "0.13.1",
      base64Parameter: Buffer.from(EXPECTED_PARAMETER).toString("base64"),
    });
    await expect(ref).resolves.toBe("ref-1");
  });

  test("resourceOptsDefaults() carries the package version", () => {
    expect(utilities.getVersion()).toBe("0.13.1");
    expect(utilities.resourceOptsDefaults()).toStrictEqual({ version: "0.13.1" });
  });

  test("resource modules and the provider package are registered for rehydration", () => {
    expect(pulumi.runtime.getResourceModule("b2", "index/bucket", "0.13.1")).toBeDefined();
    expect(pulumi.runtime.getResourceModule("b2", "index/applicationKey", "0.13.1")).toBeDefined();
    expect(pulumi.runtime.getResourcePackage("b2", "0.13.1")).toBeDefined();
  });
});

describe("tokens and classes", () => {
  const typeOf = (cls: unknown) => (cls as { __pulumiType: string }).__pulumiType;

  test.each([
    ["Bucket", b2.Bucket, "b2:index/bucket:Bucket", schema.tokens.bucket],
    ["ApplicationKey", b2.ApplicationKey, "b2:index/applicationKey:ApplicationKey", schema.tokens.applicationKey],
  ])("%s has token %s", (_n, cls, token, schemaToken) => {
    expect(typeOf(cls)).toBe(token);
    expect(schemaToken).toBe(token);
  });

  test("Provider: package name b2, engine type pulumi:providers:b2", () => {
    expect(typeOf(b2.Provider)).toBe("b2");
    expect(schema.tokens.provider).toBe("pulumi:providers:b2");
  });

  test.each([
    ["Bucket", b2.Bucket.isInstance, "b2:index/bucket:Bucket"],
    ["ApplicationKey", b2.ApplicationKey.isInstance, "b2:index/applicationKey:ApplicationKey"],
    ["Provider", b2.Provider.isInstance, "pulumi:providers:b2"],
  ])("%s.isInstance compares the registered type", (_n, isInstance, type) => {
    expect(isInstance({ __pulumiType: type })).toBe(true);
    expect(isInstance({ __pulumiType: "b2:index/other:Other" })).toBe(false);
    expect(isInstance({ __pulumiType: "b2" })).toBe(false);
    expect(isInstance({})).toBe(false);
    expect(isInstance(undefined)).toBe(false);
    expect(isInstance(null)).toBe(false);
  });

  test("Bucket and ApplicationKey have static get(); Provider has none, like the generated SDK", () => {
    expect(typeof b2.Bucket.get).toBe("function");
    expect(typeof b2.ApplicationKey.get).toBe("function");
    expect((b2.Provider as unknown as Record<string, unknown>).get).toBeUndefined();
    expect(typeof b2.Provider.prototype.terraformConfig).toBe("function");
  });

  test("config and types namespaces exist", () => {
    expect(Object.keys(b2.config).sort()).toEqual(["applicationKey", "applicationKeyId", "endpoint"]);
    expect(b2.types.input).toBeDefined();
    expect(b2.types.output).toBeDefined();
  });
});

describe("properties", () => {
  test.each(["provider", "bucket", "applicationKey"] as const)("%s: inputs, outputs, required and secret outputs as in the facts", (r) => {
    const spec = schema.resources[r];
    expect(sorted(spec.inputs)).toEqual(sorted(FACTS[r].inputs));
    expect(sorted(spec.outputsOnly)).toEqual(sorted(FACTS[r].outputsOnly));
    expect(sorted(spec.required)).toEqual(sorted(FACTS[r].required));
    expect(sorted(spec.secretOutputs)).toEqual(sorted(FACTS[r].secret));
  });

  // Compile-time link between the .d.ts declarations and the runtime lists:
  // these objects must name every key of the declared type and nothing else
  // (tsc --noEmit fails otherwise), and at run time they must equal the lists.
  type AllKeys<T> = { [K in keyof Required<T>]: true };
  type OwnProps<C, Base> = { [K in Exclude<keyof C, keyof Base>]: true };

  const bucketArgs: AllKeys<b2.BucketArgs> = {
    b2BucketId: true, bucketInfo: true, bucketName: true, bucketType: true,
    corsRules: true, defaultServerSideEncryption: true, fileLockConfigurations: true, lifecycleRules: true,
  };
  const keyArgs: AllKeys<b2.ApplicationKeyArgs> = {
    b2ApplicationKeyId: true, bucketId: true, bucketIds: true, capabilities: true,
    keyName: true, namePrefix: true, validDurationInSeconds: true,
  };
  const providerArgs: AllKeys<b2.ProviderArgs> = { applicationKey: true, applicationKeyId: true, endpoint: true };
  const bucketState: AllKeys<b2.BucketState> = {
    ...bucketArgs, accountId: true, bucketId: true, options: true, revision: true,
  };
  const keyState: AllKeys<b2.ApplicationKeyState> = {
    ...keyArgs, applicationKey: true, applicationKeyId: true, expirationTimestamp: true, options: true,
  };
  const bucketOutputs: OwnProps<b2.Bucket, pulumi.CustomResource> = { ...bucketState };
  const keyOutputs: OwnProps<b2.ApplicationKey, pulumi.CustomResource> = { ...keyState };
  const lifecycleRule: AllKeys<b2.types.input.BucketLifecycleRule> = {
    daysFromHidingToDeleting: true, daysFromStartingToCancelingUnfinishedLargeFiles: true,
    daysFromUploadingToHiding: true, fileNamePrefix: true,
  };
  const sse: AllKeys<b2.types.input.BucketDefaultServerSideEncryption> = { algorithm: true, mode: true };
  const cors: AllKeys<b2.types.input.BucketCorsRule> = {
    allowedHeaders: true, allowedOperations: true, allowedOrigins: true, corsRuleName: true, exposeHeaders: true, maxAgeSeconds: true,
  };
  const lock: AllKeys<b2.types.input.BucketFileLockConfiguration> = { defaultRetention: true, isFileLockEnabled: true };
  const retention: AllKeys<b2.types.input.BucketFileLockConfigurationDefaultRetention> = { mode: true, period: true };
  const period: AllKeys<b2.types.input.BucketFileLockConfigurationDefaultRetentionPeriod> = { duration: true, unit: true };

  test.each([
    ["BucketArgs", bucketArgs, schema.resources.bucket.inputs],
    ["ApplicationKeyArgs", keyArgs, schema.resources.applicationKey.inputs],
    ["ProviderArgs", providerArgs, schema.resources.provider.inputs],
    ["BucketState", bucketState, [...schema.resources.bucket.inputs, ...schema.resources.bucket.outputsOnly]],
    ["ApplicationKeyState", keyState, [...schema.resources.applicationKey.inputs, ...schema.resources.applicationKey.outputsOnly]],
    ["Bucket outputs", bucketOutputs, [...schema.resources.bucket.inputs, ...schema.resources.bucket.outputsOnly]],
    ["ApplicationKey outputs", keyOutputs, [...schema.resources.applicationKey.inputs, ...schema.resources.applicationKey.outputsOnly]],
    ["BucketLifecycleRule", lifecycleRule, schema.nestedTypes.BucketLifecycleRule],
    ["BucketDefaultServerSideEncryption", sse, schema.nestedTypes.BucketDefaultServerSideEncryption],
    ["BucketCorsRule", cors, schema.nestedTypes.BucketCorsRule],
    ["BucketFileLockConfiguration", lock, schema.nestedTypes.BucketFileLockConfiguration],
    ["BucketFileLockConfigurationDefaultRetention", retention, schema.nestedTypes.BucketFileLockConfigurationDefaultRetention],
    ["BucketFileLockConfigurationDefaultRetentionPeriod", period, schema.nestedTypes.BucketFileLockConfigurationDefaultRetentionPeriod],
  ])("%s declared in .d.ts = runtime list", (_n, declared, runtime) => {
    expect(sorted(Object.keys(declared))).toEqual(sorted(runtime));
  });

  test("collectProperties: required inputs enforced, computed outputs left for the engine", () => {
    const spec = schema.resources.bucket;
    expect(() => schema.collectProperties(spec, { bucketType: "allPrivate" }, {})).toThrow("Missing required property 'bucketName'");
    expect(() => schema.collectProperties(spec, undefined, { urn: "urn:x" })).not.toThrow();
    const props = schema.collectProperties(spec, { bucketName: "n", bucketType: "allPrivate", bucketId: "sneaky", extra: 1 }, {});
    expect(sorted(Object.keys(props))).toEqual(sorted([...spec.inputs, ...spec.outputsOnly]));
    expect(props.bucketName).toBe("n");
    expect(props.bucketId).toBeUndefined(); // output-only: never taken from args
    expect(props).not.toHaveProperty("extra");
  });

  test("collectProperties: lookup (opts.id) takes inputs and outputs from the state", () => {
    const props = schema.collectProperties(schema.resources.applicationKey, { keyName: "k", applicationKeyId: "id-1" }, { id: "id-1" });
    expect(props.keyName).toBe("k");
    expect(props.applicationKeyId).toBe("id-1");
    expect(() => schema.collectProperties(schema.resources.applicationKey, undefined, { id: "id-1" })).not.toThrow();
  });
});

describe("source files", () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(SDK_DIR);

  test("only .js, .d.ts, package.json and README.md (no build step, no generated output)", () => {
    const odd = files.filter((f) => !/(\.js|\.d\.ts)$/.test(f) && !["package.json", "README.md"].includes(path.relative(SDK_DIR, f)));
    expect(odd).toEqual([]);
    expect(files.filter((f) => f.endsWith(".js")).length).toBeGreaterThanOrEqual(8);
  });

  test.each(files.filter((f) => /(\.js|\.d\.ts)$/.test(f)).map((f) => [path.relative(SDK_DIR, f)]))(
    "%s starts with the hand-written header and the regeneration command",
    (rel) => {
      const text = fs.readFileSync(path.join(SDK_DIR, rel), "utf8");
      expect(text.split("\n")[0]).toMatch(/WRITTEN BY HAND for this project/);
      const header = text.slice(0, 1200);
      expect(header).toMatch(/Not generated, and no code copied from any repository/);
      expect(header).toContain(PINNED_COMMAND);
      expect(header).toMatch(/pulumi install/);
    },
  );

  test("README.md starts with the header", () => {
    const text = fs.readFileSync(path.join(SDK_DIR, "README.md"), "utf8");
    expect(text.split("\n").slice(0, 2).join(" ")).toMatch(/WRITTEN BY HAND for this project/);
    expect(text.slice(0, 400)).toContain(PINNED_COMMAND);
  });

  test("package.json carries the header as its first key", () => {
    const raw = fs.readFileSync(path.join(SDK_DIR, "package.json"), "utf8");
    expect(Object.keys(JSON.parse(raw))[0]).toBe("//");
    expect(pkg["//"].join(" ")).toMatch(/Written by hand.*not generated, no code copied/);
    expect(pkg["//"].join(" ")).toContain(PINNED_COMMAND);
  });
});

describe("the regeneration command", () => {
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  // Every place that states it: the main README, the docs, Pulumi.yaml's comments, and every file of the binding.
  const docs = walk(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
  const places = [path.join(ROOT, "README.md"), ...docs, path.join(ROOT, "Pulumi.yaml"), ...walk(SDK_DIR)];

  test("the scanner sees unpinned and otherwise different forms", () => {
    expect(regenerationCommands("run `pulumi package add terraform-provider backblaze/b2 0.13.1` now")).toEqual([
      "pulumi package add terraform-provider backblaze/b2 0.13.1",
    ]);
    expect(regenerationCommands("#   pulumi  package add terraform-provider@1.1.3 backblaze/b2 0.13.1\n")).toEqual([
      "pulumi package add terraform-provider@1.1.3 backblaze/b2 0.13.1",
    ]);
    expect(regenerationCommands('"pulumi package add terraform-provider@0.14.0 registry.terraform.io/Backblaze/b2 0.13.1" x')).toEqual([
      "pulumi package add terraform-provider@0.14.0 registry.terraform.io/Backblaze/b2 0.13.1",
    ]);
  });

  test("the pinned command names the versions the binding and Pulumi.yaml declare", () => {
    const [, , , plugin, address, version] = PINNED_COMMAND.split(" ");
    expect(plugin).toBe(`${pkg.pulumi.name}@${pkg.pulumi.version}`);
    expect(address).toBe("backblaze/b2");
    expect(version).toBe(pkg.pulumi.parameterization.version);
    const yaml = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
    expect(yaml).toMatch(
      new RegExp(`\\npackages:\\n  b2:\\n    source: ${pkg.pulumi.name}\\n    version: ${pkg.pulumi.version.replace(/\./g, "\\.")}\\n    parameters:\\n      - backblaze/b2\\n      - ${version.replace(/\./g, "\\.")}\\n`),
    );
  });

  test("README.md, docs/how-it-works.md, Pulumi.yaml, sdks/b2/README.md and every file header of the binding state it", () => {
    const headerFiles = places.filter((f) => /(\.js|\.d\.ts)$/.test(f));
    expect(headerFiles.length).toBeGreaterThanOrEqual(8);
    for (const f of [path.join(ROOT, "README.md"), path.join(ROOT, "docs", "how-it-works.md"), path.join(ROOT, "Pulumi.yaml"), path.join(SDK_DIR, "README.md"), path.join(SDK_DIR, "package.json"), ...headerFiles]) {
      expect([path.relative(ROOT, f), regenerationCommands(fs.readFileSync(f, "utf8"))]).toEqual([path.relative(ROOT, f), expect.arrayContaining([PINNED_COMMAND])]);
    }
  });

  test("no place states any other form (unpinned, another plugin version, another address)", () => {
    const others: string[] = [];
    for (const f of places) {
      for (const c of regenerationCommands(fs.readFileSync(f, "utf8"))) if (c !== PINNED_COMMAND) others.push(`${path.relative(ROOT, f)}: ${c}`);
    }
    expect(others).toEqual([]);
  });
});
