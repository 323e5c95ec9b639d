// Renaming secretsDir to agenixDir must change nothing for an existing stack:
// the whole program (index.ts) under Pulumi mocks, run once with the old key
// and once with the new one and the same value, registers byte-identical
// resources and exports identical outputs; the old key only adds a warning.
import * as pulumi from "@pulumi/pulumi";
import { MockRecorder, valueOf } from "../support/pulumi-mocks";
import { installProgramMocks, loadProgram, runProgram, settle } from "../support/program-mocks";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@nixos-dev";
const ALICE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKIhfSSyTIQCzFS8LNPRK0xzfk2xqaiagdjeuM8bKx6K alice@laptop";
const DIR = "/home/me/nixos-config/secrets/laptop";
// Fake secrets that exist only in this test.
const EXISTING = { "nixos-restic-b2:existingKeyId": "test-existing-id-0002", "nixos-restic-b2:existingKey": "test-existing-key-0002" };

const BASE: Record<string, string> = {
  "nixos-restic-b2:hostKey": HOST_KEY,
  "nixos-restic-b2:adminKeys": JSON.stringify([ALICE]),
  "nixos-restic-b2:paths": JSON.stringify(["/home"]),
};
// The two ways the README describes: deploy over SSH (new bucket), and
// existing bucket + deploy: false (files only, for flakes/colmena).
const MODES: [string, Record<string, string>, string[]][] = [
  ["deploy over SSH", { ...BASE, "nixos-restic-b2:host": "nixos.lan" }, []],
  [
    "existing bucket, deploy: false",
    { ...BASE, ...EXISTING, "nixos-restic-b2:createBucket": "false", "nixos-restic-b2:bucketName": "shared-backups", "nixos-restic-b2:deploy": "false" },
    Object.keys(EXISTING),
  ],
];

let mocks: MockRecorder;
beforeAll(async () => {
  mocks = await installProgramMocks("K004-test");
});

afterEach(() => jest.restoreAllMocks());

/** Runs index.ts with this config: the registered resources, the exported values and the warnings logged. */
async function run(config: Record<string, string>, secretKeys: string[]) {
  const warnings: string[] = [];
  // Under mocks there is no engine, so pulumi.log.warn goes to console.warn.
  jest.spyOn(console, "warn").mockImplementation((...a: unknown[]) => void warnings.push(a.map(String).join(" ")));
  const outputs = await runProgram(mocks, config, secretKeys);
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(outputs)) values[k] = pulumi.Output.isInstance(v) ? await valueOf(v as pulumi.Output<unknown>) : v;
  const resources = JSON.stringify(mocks.resources.map((r) => [r.type, r.name, r.inputs, r.secretPaths, r.request]).sort());
  return { resources, values, warnings, count: mocks.resources.length };
}

describe.each(MODES)("%s", (_mode, config, secretKeys) => {
  test("secretsDir and agenixDir with the same value register identical resources and outputs", async () => {
    const old = await run({ ...config, "nixos-restic-b2:secretsDir": DIR }, secretKeys);
    const renamed = await run({ ...config, "nixos-restic-b2:agenixDir": DIR }, secretKeys);
    expect(old.count).toBeGreaterThanOrEqual(5);
    expect(renamed.resources).toBe(old.resources);
    expect(renamed.values).toEqual(old.values);
    // The directory really is the one given (not the default) under both names.
    expect(old.resources).toContain(`${DIR}/env.age`);
    expect(old.values.secretsDir).toBe(DIR);
    expect(Object.keys(renamed.values)).not.toContain("agenixDir");
  });

  test("only the old name logs a warning, which names the new one", async () => {
    const old = await run({ ...config, "nixos-restic-b2:secretsDir": DIR }, secretKeys);
    expect(old.warnings.filter((w) => w.includes("secretsDir is deprecated"))).toHaveLength(1);
    expect(old.warnings.join("\n")).toContain("pulumi config set agenixDir");
    const renamed = await run({ ...config, "nixos-restic-b2:agenixDir": DIR }, secretKeys);
    expect(renamed.warnings.filter((w) => w.includes("deprecated"))).toEqual([]);
  });

  test("neither name set: the default directory, as before", async () => {
    const dflt = await run(config, secretKeys);
    expect(dflt.values.secretsDir).toBe("secrets/laptop/restic");
    expect(dflt.warnings.filter((w) => w.includes("deprecated"))).toEqual([]);
  });
});

test("both names set: the program stops with the parser's error before registering anything", async () => {
  const [, config, secretKeys] = MODES[1];
  mocks.reset();
  expect(() => loadProgram({ ...config, "nixos-restic-b2:secretsDir": DIR, "nixos-restic-b2:agenixDir": DIR }, secretKeys)).toThrow(
    "nixos-restic-b2:agenixDir: set either agenixDir or the deprecated secretsDir",
  );
  await settle(mocks);
  expect(mocks.resources).toEqual([]);
});
