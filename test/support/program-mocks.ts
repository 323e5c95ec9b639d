// The whole program (index.ts) under Pulumi mocks, driven by stack config the
// way `pulumi up` drives it, for the tests in test/mocks/:
//
//   const mocks = await installProgramMocks("K004-key");  // in beforeAll
//   const outputs = await runProgram(mocks, config, ["b2:applicationKey"]);
//   mocks.one("command:remote:Command").inputs            // what the engine would receive
//   expect(() => loadProgram(badConfig)).toThrow(/key: rule/);
import * as pulumi from "@pulumi/pulumi";
import { MockRecorder, installPulumiMocks } from "./pulumi-mocks";

/**
 * The fake output of the encryption commands (lib/age/local-files.ts
 * encrypt '<file>'): stdout "CIPHERTEXT of <file>"; undefined for any other resource.
 */
export function fakeEncryption(a: pulumi.runtime.MockResourceArgs): Record<string, string> | undefined {
  const m = /local-files\.ts encrypt '([^']*)'/.exec(String(a.inputs.create ?? ""));
  return m ? { stdout: `CIPHERTEXT of ${m[1]}` } : undefined;
}

/**
 * Mocks for index.ts as stack "laptop" of project nixos-restic-b2: the bucket
 * gets id bkt-0001, the restic key id kid-0001 and `applicationKey`, the
 * encryption commands fakeEncryption's output.
 */
export async function installProgramMocks(applicationKey: string): Promise<MockRecorder> {
  // Each run loads a fresh copy of the program (and of @pulumi/pulumi, which
  // adds process exit listeners); a test file's runs are more than Node's default of ten allows.
  process.setMaxListeners(50);
  return installPulumiMocks({
    project: "nixos-restic-b2",
    stack: "laptop",
    outputs: (a) => {
      if (a.type === "b2:index/bucket:Bucket") return { bucketId: "bkt-0001" };
      if (a.type === "b2:index/applicationKey:ApplicationKey") return { applicationKeyId: "kid-0001", applicationKey };
      return fakeEncryption(a);
    },
  });
}

/**
 * Loads a fresh copy of index.ts with this stack config and returns its
 * exports; throws what the program throws (a bad config).
 */
export function loadProgram(config: Record<string, string>, secretKeys: string[] = []): Record<string, unknown> {
  pulumi.runtime.setAllConfig(config, secretKeys);
  let outputs: Record<string, unknown> = {};
  jest.isolateModules(() => {
    outputs = require("../../index");
  });
  return outputs;
}

/** Resolves when no registration has arrived for 10 × 20 ms. */
export async function settle(mocks: MockRecorder): Promise<void> {
  let count = -1;
  for (let quiet = 0; quiet < 10; ) {
    await new Promise((r) => setTimeout(r, 20));
    if (mocks.resources.length === count) quiet++;
    else (count = mocks.resources.length), (quiet = 0);
  }
}

/** Forgets earlier registrations, runs index.ts with this stack config and resolves with its exports once every registration has arrived. */
export async function runProgram(mocks: MockRecorder, config: Record<string, string>, secretKeys: string[] = []): Promise<Record<string, unknown>> {
  mocks.reset();
  const outputs = loadProgram(config, secretKeys);
  await settle(mocks);
  return outputs;
}

/** The error index.ts throws with this stack config; fails when it throws none. */
export function programError(config: Record<string, string>, secretKeys: string[] = []): Error {
  try {
    loadProgram(config, secretKeys);
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected index.ts to refuse this stack config, but it loaded");
}
