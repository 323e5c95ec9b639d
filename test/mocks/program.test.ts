// The whole program (index.ts) under Pulumi mocks, driven by stack config the
// way `pulumi up` drives it: what it registers, what it exports, and that a
// second run with the same config asks for nothing new.
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { MockRecorder, RecordedResource, fakeHex, valueOf } from "../support/pulumi-mocks";
import { installProgramMocks, loadProgram, programError, runProgram, settle } from "../support/program-mocks";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@nixos-dev";
const ALICE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKIhfSSyTIQCzFS8LNPRK0xzfk2xqaiagdjeuM8bKx6K alice@laptop";
const BOB = "age1nx4vxkvl264yz8sxhzlsmr3kfcy0hgxj920d7ktlav800wff0v6s4c264c";
// Fake secrets that exist only in this test.
const SECRETS = {
  "b2:applicationKeyId": "test-mgmt-id-0001",
  "b2:applicationKey": "test-mgmt-key-0001",
  "nixos-restic-b2:existingKeyId": "test-existing-id-0001",
  "nixos-restic-b2:existingKey": "test-existing-key-0001",
  "nixos-restic-b2:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-only\n-----END OPENSSH PRIVATE KEY-----\n",
};
const KEY_FROM_B2 = "K004-restic-key-from-b2";

const BASE: Record<string, string> = {
  "nixos-restic-b2:host": "nixos.lan",
  "nixos-restic-b2:hostKey": HOST_KEY,
  "nixos-restic-b2:adminKeys": JSON.stringify([ALICE]),
  "nixos-restic-b2:paths": JSON.stringify(["/home", "/etc/nixos"]),
};

let mocks: MockRecorder;
beforeAll(async () => {
  mocks = await installProgramMocks(KEY_FROM_B2);
});

/** Runs index.ts with this stack config; resolves when every registration has arrived. */
const run = (config: Record<string, string>, secretKeys: string[] = []) => runProgram(mocks, config, secretKeys);

const summary = (rs: RecordedResource[]) => rs.map((r) => `${r.type} ${r.name}`).sort();

describe("default config (create the bucket)", () => {
  const config = { ...BASE, "b2:applicationKeyId": SECRETS["b2:applicationKeyId"], "b2:applicationKey": SECRETS["b2:applicationKey"] };

  test("registers one bucket, one key, the secrets and one host deployment", async () => {
    await run(config, ["b2:applicationKeyId", "b2:applicationKey"]);
    expect(summary(mocks.resources)).toEqual([
      "b2:index/applicationKey:ApplicationKey laptop-key",
      "b2:index/bucket:Bucket laptop-bucket",
      "command:local:Command laptop-bucket-suffix",
      "command:local:Command laptop-env",
      "command:local:Command laptop-module-nix",
      "command:local:Command laptop-password",
      "command:local:Command laptop-repo",
      "command:local:Command laptop-restic-password",
      "command:local:Command laptop-secrets-nix",
      "command:remote:Command laptop-deploy",
      "nixos-restic-b2:index:AgenixSecrets laptop",
      "nixos-restic-b2:index:B2Storage laptop",
      "nixos-restic-b2:index:HostDeployment laptop",
      "pulumi:providers:b2 laptop-b2",
    ]);
    const bucket = mocks.one("b2:index/bucket:Bucket").inputs;
    expect(bucket).toMatchObject({ bucketType: "allPrivate", bucketName: `restic-laptop-${fakeHex(4)}` });
    expect(bucket.lifecycleRules).toEqual([{ fileNamePrefix: "", daysFromHidingToDeleting: 30 }]);
    const key = mocks.one("b2:index/applicationKey:ApplicationKey").inputs;
    expect(key.bucketId).toBe("bkt-0001");
    expect(key.bucketIds).toBeUndefined();
  });

  test("env.age holds the B2 key restic uses, the management key goes only to the provider", async () => {
    await run(config, ["b2:applicationKeyId", "b2:applicationKey"]);
    const env = JSON.parse(mocks.one("command:local:Command", "laptop-env").inputs.stdin);
    expect(env.plaintext).toBe(`B2_ACCOUNT_ID="kid-0001"\nB2_ACCOUNT_KEY="${KEY_FROM_B2}"\n`);
    const repo = JSON.parse(mocks.one("command:local:Command", "laptop-repo").inputs.stdin);
    expect(repo.plaintext).toBe(`b2:restic-laptop-${fakeHex(4)}`);
    const provider = mocks.one("pulumi:providers:b2");
    expect(provider.inputs).toMatchObject({ applicationKeyId: SECRETS["b2:applicationKeyId"], applicationKey: SECRETS["b2:applicationKey"] });
    const leaks = mocks.resources.filter(
      (r) => r.type !== "pulumi:providers:b2" && JSON.stringify(r.inputs).includes(SECRETS["b2:applicationKey"]),
    );
    expect(leaks).toEqual([]);
  });

  test("the pushed module and files are the rendered module and the ciphertexts", async () => {
    await run(config, ["b2:applicationKeyId", "b2:applicationKey"]);
    const { create, stdin } = mocks.one("command:remote:Command").inputs as { create: string; stdin: string };
    for (const f of ["env", "repo", "password"]) {
      // The mock's stdout, with the final newline the provider trims put back.
      const text = `CIPHERTEXT of secrets/laptop/restic/${f}.age\n`;
      // The command names each file by sha256; the bytes travel on stdin.
      expect(create).toContain(`'secrets/${f}.age=${createHash("sha256").update(text).digest("hex")}'`);
      expect(create).not.toContain(text.trimEnd());
      expect(stdin).toContain(`rb2_file 'secrets/${f}.age' '${text}'\n`);
    }
    expect(stdin).toContain("rb2_file 'module.nix' '");
    expect(mocks.one("command:remote:Command").inputs.connection).toMatchObject({ host: "nixos.lan", user: "root", port: 22 });
  });

  test("exports what a user needs and no secret", async () => {
    const out = await run(config, ["b2:applicationKeyId", "b2:applicationKey"]);
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(out)) {
      values[k] = pulumi.Output.isInstance(v) ? await valueOf(v as pulumi.Output<unknown>) : v;
      if (pulumi.Output.isInstance(v)) expect(await pulumi.isSecret(v as pulumi.Output<unknown>)).toBe(false);
    }
    // Exactly the outputs of this mode, none undefined (the engine warns about undefined ones).
    expect(Object.keys(values).sort()).toEqual(
      ["bucketId", "bucketName", "hostModulePath", "recipients", "repository", "restore", "secretsDir", "units"],
    );
    for (const v of Object.values(values)) expect(v).not.toBeUndefined();
    expect(values).toMatchObject({
      bucketName: `restic-laptop-${fakeHex(4)}`,
      bucketId: "bkt-0001",
      repository: `b2:restic-laptop-${fakeHex(4)}`,
      secretsDir: "secrets/laptop/restic",
      hostModulePath: "/etc/nixos/restic-b2/module.nix",
      units: { service: "restic-backups-daily.service", timer: "restic-backups-daily.timer" },
    });
    expect((values.restore as { onHost: string }).onHost).toBe("ssh 'root@nixos.lan' restic-daily restore latest --target /var/lib/restic-restore");
    const text = JSON.stringify(values);
    for (const s of [...Object.values(SECRETS), KEY_FROM_B2, fakeHex(32)]) expect(text).not.toContain(s);
  });

  test("a second run with the same config sends byte-identical inputs everywhere", async () => {
    await run(config, ["b2:applicationKeyId", "b2:applicationKey"]);
    const first = JSON.stringify(mocks.resources.map((r) => [r.type, r.name, r.inputs]).sort());
    await run(config, ["b2:applicationKeyId", "b2:applicationKey"]);
    expect(JSON.stringify(mocks.resources.map((r) => [r.type, r.name, r.inputs]).sort())).toBe(first);
  });

  test("adding an admin key re-encrypts every file and keeps the password", async () => {
    await run(config, ["b2:applicationKeyId", "b2:applicationKey"]);
    const before = Object.fromEntries(mocks.resources.map((r) => [r.name, r.inputs]));
    await run({ ...config, "nixos-restic-b2:adminKeys": JSON.stringify([ALICE, BOB]) }, ["b2:applicationKeyId", "b2:applicationKey"]);
    const after = Object.fromEntries(mocks.resources.map((r) => [r.name, r.inputs]));
    expect(after["laptop-restic-password"]).toEqual(before["laptop-restic-password"]);
    for (const f of ["laptop-env", "laptop-repo", "laptop-password"]) {
      expect(JSON.parse(after[f].stdin).recipients).toHaveLength(3);
      expect(JSON.parse(after[f].stdin).plaintext).toBe(JSON.parse(before[f].stdin).plaintext);
    }
  });
});

describe("hostCanDelete (protection against a compromised host)", () => {
  const config = { ...BASE, "b2:applicationKeyId": SECRETS["b2:applicationKeyId"], "b2:applicationKey": SECRETS["b2:applicationKey"] };
  const mgmt = ["b2:applicationKeyId", "b2:applicationKey"];
  const KEY = "b2:index/applicationKey:ApplicationKey";
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());
  const warned = () => warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes("hostCanDelete is unset"));

  test("unset: the key keeps the released list (deleteFiles) and pulumi up warns once, naming the key to set", async () => {
    await run(config, mgmt);
    expect(mocks.one(KEY).inputs.capabilities).toContain("deleteFiles");
    expect(warned()).toHaveLength(1);
    expect(warned()[0]).toContain("pulumi config set hostCanDelete false");
  });

  test("false: the same key resource gets the protected list, the env file is made from that key's outputs, no warning", async () => {
    await run(config, mgmt);
    const before = mocks.one(KEY);
    await run({ ...config, "nixos-restic-b2:hostCanDelete": "false" }, mgmt);
    const after = mocks.one(KEY);
    expect(after.name).toBe(before.name);
    expect(after.inputs.capabilities).toEqual([
      "listAllBucketNames", "listBuckets", "listFiles", "readBucketEncryption", "readBucketReplications", "readBuckets", "readFiles", "shareFiles", "writeFiles",
    ]);
    expect(after.request?.replaceOnChanges).toEqual(["capabilities"]);
    const env = JSON.parse(mocks.one("command:local:Command", "laptop-env").inputs.stdin);
    expect(env.plaintext).toBe(`B2_ACCOUNT_ID="kid-0001"\nB2_ACCOUNT_KEY="${KEY_FROM_B2}"\n`);
    expect(warned()).toHaveLength(1); // the first run's only
  });

  test("false with deleteFiles in a hand-set keyCapabilities: the program refuses before registering anything", async () => {
    mocks.reset();
    const err = programError(
      { ...config, "nixos-restic-b2:hostCanDelete": "false", "nixos-restic-b2:keyCapabilities": JSON.stringify(["listBuckets", "writeFiles", "deleteFiles"]) },
      mgmt,
    );
    expect(err.message).toContain("nixos-restic-b2:keyCapabilities: contradicts hostCanDelete: false, which forbids deleteFiles");
    for (const s of Object.values(SECRETS)) expect(err.message).not.toContain(s);
    await settle(mocks);
    expect(mocks.resources).toHaveLength(0);
  });
});

describe("existing-bucket mode", () => {
  const config = {
    ...BASE,
    "nixos-restic-b2:createBucket": "false",
    "nixos-restic-b2:bucketName": "shared-backups",
    "nixos-restic-b2:repositoryPath": "laptop",
    "nixos-restic-b2:existingKeyId": SECRETS["nixos-restic-b2:existingKeyId"],
    "nixos-restic-b2:existingKey": SECRETS["nixos-restic-b2:existingKey"],
    "nixos-restic-b2:sshPrivateKey": SECRETS["nixos-restic-b2:sshPrivateKey"],
  };
  const secret = ["nixos-restic-b2:existingKeyId", "nixos-restic-b2:existingKey", "nixos-restic-b2:sshPrivateKey"];

  test("registers no B2 resource and no B2 provider", async () => {
    await run(config, secret);
    expect(mocks.resources.filter((r) => r.type.startsWith("b2:") || r.type === "pulumi:providers:b2")).toEqual([]);
    const env = JSON.parse(mocks.one("command:local:Command", "laptop-env").inputs.stdin);
    expect(env.plaintext).toBe(`B2_ACCOUNT_ID="${SECRETS["nixos-restic-b2:existingKeyId"]}"\nB2_ACCOUNT_KEY="${SECRETS["nixos-restic-b2:existingKey"]}"\n`);
    expect(JSON.parse(mocks.one("command:local:Command", "laptop-repo").inputs.stdin).plaintext).toBe("b2:shared-backups:laptop");
  });

  test("exports only what exists in this mode: no bucketId, no localModulePath, nothing undefined", async () => {
    const out = await run(config, secret);
    expect(Object.keys(out).sort()).toEqual(["bucketName", "hostModulePath", "recipients", "repository", "restore", "secretsDir", "units"]);
    for (const v of Object.values(out)) {
      expect(pulumi.Output.isInstance(v) ? await valueOf(v as pulumi.Output<unknown>) : v).not.toBeUndefined();
    }
    expect(out.hostModulePath).toBe("/etc/nixos/restic-b2/module.nix");
  });

  test("the SSH private key only travels inside the secret connection", async () => {
    await run(config, secret);
    const deploy = mocks.one("command:remote:Command");
    expect(deploy.inputs.connection.privateKey).toBe(SECRETS["nixos-restic-b2:sshPrivateKey"]);
    expect(deploy.secretPaths.some((p) => p.startsWith("connection"))).toBe(true);
    for (const r of mocks.resources) {
      const withoutConnection = JSON.stringify({ ...r.inputs, connection: undefined });
      expect(withoutConnection).not.toContain("test-only");
    }
  });

  test("deploy: false writes the files and a module beside them, and touches no host", async () => {
    const out = await run({ ...config, "nixos-restic-b2:deploy": "false", "nixos-restic-b2:host": "" }, secret);
    expect(mocks.ofType("command:remote:Command")).toEqual([]);
    const module = mocks.one("command:local:Command", "laptop-module-nix");
    expect(module.inputs.create).toBe("node -r ts-node/register/transpile-only lib/age/local-files.ts write 'secrets/laptop/restic/module.nix'");
    for (const f of ["env", "repo", "password"]) expect(module.inputs.stdin).toContain(`file = ./${f}.age;`);
    expect(out.localModulePath).toBe("secrets/laptop/restic/module.nix");
    expect(Object.keys(out).sort()).toEqual(["bucketName", "localModulePath", "recipients", "repository", "restore", "secretsDir", "units"]);
    expect(mocks.ofType("command:local:Command").map((r) => r.name).sort()).toEqual([
      "laptop-env",
      "laptop-module-nix",
      "laptop-password",
      "laptop-repo",
      "laptop-restic-password",
      "laptop-secrets-nix",
    ]);
  });
});

describe("bad config fails before anything is registered", () => {
  test.each([
    ["nixos-restic-b2:bucketName", "no_underscores", /nixos-restic-b2:bucketName: must be 6 to 50 characters.*got "no_underscores"/],
    [
      "nixos-restic-b2:hostKey",
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WSoTPE9lJtGdoE= bob@host",
      /nixos-restic-b2:hostKey: .*ECDSA/,
    ],
    ["nixos-restic-b2:paths", JSON.stringify(["relative/path"]), /nixos-restic-b2:paths: must be an absolute path/],
  ])("%s = %s", async (key, value, message) => {
    mocks.reset();
    expect(() => loadProgram({ ...BASE, [key]: value })).toThrow(message);
    await settle(mocks);
    expect(mocks.resources).toEqual([]);
  });
});
