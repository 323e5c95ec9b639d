// AgenixSecrets (components/secrets.ts) under Pulumi mocks, for the tests in
// test/mocks/: the encryption commands answer "CIPHERTEXT of <file>".
//
//   let mocks: MockRecorder; let mod: SecretsModule;
//   beforeAll(async () => ({ mocks, mod } = await installSecretsMocks()));
//   const s = await buildSecrets(mocks, mod, secretsArgs({ adminKeys: [] }));
import * as pulumi from "@pulumi/pulumi";
import type { AgenixSecretsArgs } from "../../components/secrets";
import { fakeEncryption } from "./program-mocks";
import { MockRecorder, installPulumiMocks, settled } from "./pulumi-mocks";

export type SecretsModule = typeof import("../../components/secrets");

export const HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt";
export const ALICE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKIhfSSyTIQCzFS8LNPRK0xzfk2xqaiagdjeuM8bKx6K";
// Fake credentials that exist only in the tests.
export const KEY_ID = "0041testkeyid";
export const KEY = "K004test/key+value";

/** Installs the mocks, then loads the component (in that order, as Pulumi needs). */
export async function installSecretsMocks(): Promise<{ mocks: MockRecorder; mod: SecretsModule }> {
  const mocks = await installPulumiMocks({ outputs: fakeEncryption });
  return { mocks, mod: require("../../components/secrets") as SecretsModule };
}

/** Arguments of stack "laptop": host key HOST, admin key ALICE, KEY_ID/KEY as secrets, `over` on top. */
export function secretsArgs(over: Partial<AgenixSecretsArgs> = {}): AgenixSecretsArgs {
  return {
    stack: "laptop",
    hostKey: HOST,
    adminKeys: [ALICE],
    agenixDir: "secrets/laptop/restic",
    keyId: pulumi.secret(KEY_ID),
    key: pulumi.secret(KEY),
    repository: "b2:my-bucket:laptop",
    ...over,
  };
}

/** Constructs AgenixSecrets "laptop" and resolves when all its commands are registered. */
export async function buildSecrets(mocks: MockRecorder, mod: SecretsModule, a: AgenixSecretsArgs, opts: pulumi.ComponentResourceOptions = {}) {
  const s = new mod.AgenixSecrets("laptop", a, opts);
  await settled(s.files["env.age"], s.files["repo.age"], s.files["password.age"], s.password, ...Object.values(s.extraFiles));
  // secrets.nix's command has no output we use: wait until it is registered too.
  for (let i = 0; i < 100 && !mocks.resources.some((r) => r.name === "laptop-secrets-nix"); i++) await new Promise((r) => setTimeout(r, 10));
  return s;
}
