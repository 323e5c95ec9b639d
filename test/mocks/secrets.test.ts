// AgenixSecrets under Pulumi mocks: what the local commands receive, which
// values are secret, and that nothing changes between two runs.
import * as pulumi from "@pulumi/pulumi";
import { renderEnvFile, renderSecretsNix } from "../../lib/nix/agenix";
import { RANDOM_HEX_COMMAND } from "../../components/random";
import type { AgenixSecretsArgs } from "../../components/secrets";
import { MockRecorder, RecordedResource, fakeHex, isSecret, valueOf } from "../support/pulumi-mocks";
import { ALICE, HOST, KEY, KEY_ID, SecretsModule, buildSecrets, installSecretsMocks, secretsArgs } from "../support/secrets-mocks";

const COMMAND = "command:local:Command";
const BOB = "age1nx4vxkvl264yz8sxhzlsmr3kfcy0hgxj920d7ktlav800wff0v6s4c264c";

let mocks: MockRecorder;
let mod: SecretsModule;
beforeAll(async () => {
  ({ mocks, mod } = await installSecretsMocks());
});
beforeEach(() => mocks.reset());

const args = secretsArgs;
const build = (a: AgenixSecretsArgs = args(), opts: pulumi.ComponentResourceOptions = {}) => buildSecrets(mocks, mod, a, opts);

const byName = (name: string): RecordedResource => mocks.one(COMMAND, name);
const request = (name: string) => JSON.parse(byName(name).inputs.stdin) as { recipients: string[]; plaintext: string };

test("registers the password and one command per file, and nothing else", async () => {
  await build();
  expect(mocks.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
    `${COMMAND} laptop-env`,
    `${COMMAND} laptop-module-nix`,
    `${COMMAND} laptop-password`,
    `${COMMAND} laptop-repo`,
    `${COMMAND} laptop-restic-password`,
    `${COMMAND} laptop-secrets-nix`,
    "nixos-restic-b2:index:AgenixSecrets laptop",
  ]);
});

test("the password is 32 random bytes, generated once and never regenerated implicitly", async () => {
  const s = await build(args(), { transformations: [mocks.recordOptions] });
  const pw = byName("laptop-restic-password");
  expect(pw.inputs).toEqual({ create: RANDOM_HEX_COMMAND(32), logging: "none" });
  const opts = mocks.optionsOf("laptop-restic-password").opts;
  expect(opts.additionalSecretOutputs).toEqual(["stdout"]);
  expect(opts.ignoreChanges).toEqual(expect.arrayContaining(["create", "environment", "stdin", "triggers", "dir", "interpreter"]));
  expect(await valueOf(s.password)).toBe(fakeHex(32));
  expect(await isSecret(s.password)).toBe(true);
});

test("each file is encrypted to the host key then every admin, from a secret stdin", async () => {
  await build(args({ adminKeys: [ALICE, BOB] }));
  const expectations: Record<string, string> = {
    "laptop-env": renderEnvFile(KEY_ID, KEY),
    "laptop-repo": "b2:my-bucket:laptop",
    "laptop-password": fakeHex(32),
  };
  for (const [name, plaintext] of Object.entries(expectations)) {
    const file = name.replace("laptop-", "");
    const r = byName(name);
    expect(r.inputs.create).toBe(`node -r ts-node/register/transpile-only lib/age/local-files.ts encrypt 'secrets/laptop/restic/${file}.age'`);
    expect(request(name)).toEqual({ recipients: [HOST, ALICE, BOB], plaintext });
    expect(r.secretPaths).toContain("stdin");
    expect(r.inputs.logging).toBe("stderr");
  }
});

test("the ciphertext outputs are the commands' stdout and are not secret", async () => {
  const s = await build();
  expect(await valueOf(s.files["env.age"])).toBe("CIPHERTEXT of secrets/laptop/restic/env.age");
  expect(await isSecret(s.files["env.age"])).toBe(false);
  expect(s.recipients).toEqual([HOST, ALICE]);
});

test("secrets.nix lists exactly the configured recipients and is written beside the files", async () => {
  const s = await build(args({ adminKeys: [ALICE, BOB] }));
  const r = byName("laptop-secrets-nix");
  expect(r.inputs.create).toBe("node -r ts-node/register/transpile-only lib/age/local-files.ts write 'secrets/laptop/restic/secrets.nix'");
  expect(r.inputs.stdin).toBe(renderSecretsNix("laptop", HOST, [ALICE, BOB]));
  expect(s.secretsNix).toBe(r.inputs.stdin);
  expect(r.secretPaths).toEqual([]);
});

test("a user-supplied password is used as is; the generated one stays, unchanged, for when it is removed", async () => {
  await build();
  const generated = byName("laptop-restic-password").inputs;
  mocks.reset();
  const s = await build(args({ resticPassword: pulumi.secret("existing repo password") }));
  expect(byName("laptop-restic-password").inputs).toEqual(generated);
  expect(request("laptop-password").plaintext).toBe("existing repo password");
  expect(await valueOf(s.password)).toBe("existing repo password");
  expect(await isSecret(s.password)).toBe(true);
});

test("two runs with the same inputs send byte-identical inputs", async () => {
  await build();
  const first = JSON.stringify(mocks.resources.map((r) => [r.name, r.inputs]));
  mocks.reset();
  await build();
  expect(JSON.stringify(mocks.resources.map((r) => [r.name, r.inputs]))).toBe(first);
});

test("adding an admin key changes every file's request but not the password resource", async () => {
  await build();
  const before = Object.fromEntries(mocks.resources.map((r) => [r.name, r.inputs]));
  mocks.reset();
  await build(args({ adminKeys: [ALICE, BOB] }));
  const after = Object.fromEntries(mocks.resources.map((r) => [r.name, r.inputs]));
  expect(after["laptop-restic-password"]).toEqual(before["laptop-restic-password"]);
  for (const f of ["laptop-env", "laptop-repo", "laptop-password", "laptop-secrets-nix"]) {
    expect(after[f].stdin).not.toEqual(before[f].stdin);
  }
  expect(JSON.parse(after["laptop-password"].stdin).plaintext).toBe(JSON.parse(before["laptop-password"].stdin).plaintext);
});

test("no plaintext secret reaches a non-secret input or output", async () => {
  const s = await build();
  for (const r of mocks.resources) {
    const plain = JSON.stringify(r.inputs, (k, v) => (r.secretPaths.includes(k) ? undefined : v));
    for (const secret of [KEY, KEY_ID, fakeHex(32)]) {
      if (r.name !== "laptop-restic-password") expect(plain).not.toContain(secret);
    }
  }
  expect(JSON.stringify(s.recipients) + s.secretsNix).not.toContain(KEY);
});

test("deployed by this program: the module-nix command removes a module.nix an earlier deploy: false left in agenixDir", async () => {
  await build();
  const r = mocks.one(COMMAND, "laptop-module-nix");
  expect(r.inputs.create).toMatch(/ lib\/age\/local-files\.ts remove '.*\/module\.nix'$/);
  expect(r.inputs.stdin).toBeUndefined();
});
