// Issue 9, item 4, under the real engine: no "Undefined value (...) will not
// show as a stack output" warning. The harness refuses that warning in every
// CLI run of the suite (E2eProject.pulumi rejects); this file adds the mode no
// other file runs, deploy: false (the module is written locally beside the
// .age files, no host), and a positive control: the same program with one
// output left undefined makes the engine print the warning, and the harness
// rejects that run, so the check is known to see what the engine prints.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NixSandbox } from "../support/nix-instantiate";
import { E2eProject, NOT_COPIED, REPO, ageDecrypt, expectOk, sshKeygen, publicKey, text, describeE2e, e2eEngine } from "./harness";

let nix: NixSandbox;
let p: E2eProject;
let probe: E2eProject | undefined;
let probeSource: string | undefined;
let admin: string;
let hostKey: string;
const BUCKET = "e2e-restic-local-only";

const secretsDir = () => path.join(nix.dir, "secrets-out");

function config(): Record<string, unknown> {
  return {
    createBucket: false,
    bucketName: BUCKET,
    deploy: false,
    hostKey: publicKey(hostKey),
    adminKeys: [publicKey(admin)],
    agenixDir: secretsDir(),
    agenixModule: "provided",
    paths: ["/home"],
  };
}

describeE2e("e2e outputs", () => {
  beforeAll(async () => {
    nix = new NixSandbox("restic-b2-e2e-outputs-nix-");
    const keys = fs.mkdtempSync(path.join(nix.dir, "keys-"));
    admin = sshKeygen(keys, "admin_ed25519", "ed25519");
    hostKey = sshKeygen(keys, "host_ed25519", "ed25519");
    p = await E2eProject.create(e2eEngine(), {
      config: config(),
      secrets: { existingKeyId: "0042e2e000000000000000107", existingKey: "K0042e2eOutputsB2KeyNeverInPlaintext3e4f5a" },
    });
  }, 120_000);

  afterAll(() => {
    p?.cleanup();
    probe?.cleanup();
    if (probeSource) fs.rmSync(probeSource, { recursive: true, force: true });
    nix?.cleanup();
  });

  test("deploy: false: pulumi up writes module.nix locally, exports localModulePath and no host or bucket-id output, no warning", async () => {
    const r = expectOk(await p.up()); // the harness rejects any "Undefined value" warning
    expect(text(r)).not.toMatch(/Undefined value/);
    // The engine ran the compiled program (program/ → bin/), not the sources.
    expect(text(r)).not.toContain("running the TypeScript sources");
    const out = JSON.parse(expectOk(await p.pulumi(["stack", "output", "--json", "--stack", p.stack])).stdout) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(["bucketName", "localModulePath", "recipients", "repository", "restore", "secretsDir", "units"]);
    expect(out.localModulePath).toBe(path.join(secretsDir(), "module.nix"));
    // The local module parses and refers to the .age files beside it, which open with the host key.
    const moduleText = fs.readFileSync(path.join(secretsDir(), "module.nix"), "utf8");
    nix.parseFile(path.join(secretsDir(), "module.nix"));
    expect(moduleText).toContain("./repo.age");
    expect(ageDecrypt(hostKey, path.join(secretsDir(), "repo.age"))).toBe(`b2:${BUCKET}`);
    expectOk(await p.preview("--expect-no-changes"));
  });

  test("positive control: an undefined output makes the engine warn, and the harness rejects that run", async () => {
    // The same program with one more export that is undefined.
    probeSource = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-e2e-probe-src-"));
    for (const name of fs.readdirSync(REPO)) {
      if (NOT_COPIED.has(name) || /^Pulumi\..+\.yaml$/.test(name)) continue;
      fs.cpSync(path.join(REPO, name), path.join(probeSource, name), { recursive: true });
    }
    // (bin/ no longer matches the edited index.ts: program/ runs the sources, with a warning.)
    const index = path.join(probeSource, "index.ts");
    const src = fs.readFileSync(index, "utf8");
    expect(src).toContain("export = outputs;");
    fs.writeFileSync(index, src.replace("export = outputs;", "export = { ...outputs, undefinedProbe: undefined };"));
    probe = await E2eProject.create(e2eEngine(), {
      source: probeSource,
      config: { ...config(), agenixDir: path.join(nix.dir, "probe-secrets-out") },
      secrets: { existingKeyId: "0042e2e000000000000000107", existingKey: "K0042e2eOutputsB2KeyNeverInPlaintext3e4f5a" },
    });
    await expect(probe.preview()).rejects.toThrow(/Undefined value \(undefinedProbe\) will not show as a stack output/);
    expect(probe.outputs.at(-1)?.code).toBe(0); // the run itself succeeded: only the warning is refused
    // Its index.ts no longer matches bin/: program/ said so and ran the sources.
    expect(text(probe.outputs.at(-1)!)).toContain("running the TypeScript sources (slower): index.ts changed since the build");
  });
});
