// AgenixSecrets' extra files (the monitoring secrets) under Pulumi mocks:
// encrypted like the three from a secret stdin, listed in secrets.nix,
// removable; and with none configured, exactly the resources and inputs of before.
import * as pulumi from "@pulumi/pulumi";
import { renderSecretsNix } from "../../lib/nix/agenix";
import { monitorSecretFiles } from "../../lib/nix/monitoring";
import type { AgenixSecretsArgs } from "../../components/secrets";
import { MockRecorder, isSecret, valueOf } from "../support/pulumi-mocks";
import { HOST, SecretsModule, buildSecrets, installSecretsMocks, secretsArgs } from "../support/secrets-mocks";

const COMMAND = "command:local:Command";
const PING = "https://hc-ping.com/5b0bd2c6-0b5a-4e0f-9a43-8c1d2e3f4a5b";
const TOPIC = "https://ntfy.sh/secret-topic-name";

let mocks: MockRecorder;
let mod: SecretsModule;
beforeAll(async () => {
  ({ mocks, mod } = await installSecretsMocks());
});
beforeEach(() => mocks.reset());

/** No admin keys: the host key is the only recipient. */
const args = (over: Partial<AgenixSecretsArgs> = {}) => secretsArgs({ adminKeys: [], ...over });
const build = (a: AgenixSecretsArgs) => buildSecrets(mocks, mod, a);

const snapshot = () => JSON.stringify(mocks.resources.map((r) => [r.type, r.name, r.inputs]).sort());

test("no extra files (or only undefined ones): the same resources and inputs as without the argument", async () => {
  await build(args());
  const before = snapshot();
  mocks.reset();
  await build(args({ extraFiles: { "healthcheck.age": undefined, "ntfy-url.age": undefined } }));
  expect(snapshot()).toBe(before);
});

test("each extra file: one command, secret stdin, ciphertext output, rm on delete, listed in secrets.nix", async () => {
  // As the program wires it: the parsed monitoring secrets by file name.
  const s = await build(args({ extraFiles: monitorSecretFiles({ healthcheckUrl: pulumi.secret(PING), ntfyUrl: pulumi.secret(TOPIC) }) }));
  expect(Object.keys(s.extraFiles)).toEqual(["healthcheck.age", "ntfy-url.age"]);
  for (const [name, file, plaintext] of [["laptop-healthcheck", "healthcheck.age", PING], ["laptop-ntfy-url", "ntfy-url.age", TOPIC]]) {
    const r = mocks.one(COMMAND, name);
    expect(r.inputs.create).toBe(`node -r ts-node/register/transpile-only lib/age/local-files.ts encrypt 'secrets/laptop/restic/${file}'`);
    expect(r.inputs.delete).toBe(`rm -f -- 'secrets/laptop/restic/${file}'`);
    expect(JSON.parse(r.inputs.stdin)).toEqual({ recipients: [HOST], plaintext });
    expect(r.secretPaths).toContain("stdin");
    // The URL appears in no other input of any resource.
    for (const other of mocks.resources) {
      for (const [k, v] of Object.entries(other.inputs)) if (!(other.name === name && k === "stdin")) expect(JSON.stringify(v)).not.toContain(plaintext);
    }
    expect(await valueOf(s.extraFiles[file])).toBe(`CIPHERTEXT of secrets/laptop/restic/${file}`);
    expect(await isSecret(s.extraFiles[file])).toBe(false);
  }
  // The three keep their inputs (no delete: they are how backups are recovered).
  expect(mocks.one(COMMAND, "laptop-env").inputs.delete).toBeUndefined();
  expect(mocks.one(COMMAND, "laptop-secrets-nix").inputs.stdin).toBe(renderSecretsNix("laptop", HOST, [], ["healthcheck.age", "ntfy-url.age"]));
  expect(s.secretsNix).toContain('"healthcheck.age".publicKeys = recipients;');
});

test("monitorSecretFiles: the token only with a topic", () => {
  expect(monitorSecretFiles({ ntfyToken: "t" })).toEqual({ "healthcheck.age": undefined, "ntfy-url.age": undefined, "ntfy-token.age": undefined });
  expect(monitorSecretFiles({ ntfyUrl: "u", ntfyToken: "t" })).toEqual({ "healthcheck.age": undefined, "ntfy-url.age": "u", "ntfy-token.age": "t" });
});

test("file names are checked", () => {
  expect(() => new mod.AgenixSecrets("x", args({ extraFiles: { "env.age": "v" } }))).toThrow(/given twice/);
  expect(() => new mod.AgenixSecrets("y", args({ extraFiles: { "../x.age": "v" } }))).toThrow(/invalid agenix file name/);
  expect(() => new mod.AgenixSecrets("z", args({ extraFiles: { "secrets-nix.age": "v" } }))).toThrow(/invalid agenix file name/);
  expect(renderSecretsNix("laptop", HOST, [])).toBe(renderSecretsNix("laptop", HOST, [], []));
});
