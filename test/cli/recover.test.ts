// `npm run recover` end to end: stacks made with the real Pulumi CLI in a copy
// of the project, read back through the Automation API by the documented
// entry point (node -r ts-node/register/transpile-only lib/recover/main.ts),
// against b2sdk's B2 simulator behind our loopback front end (a simulation of
// B2, not B2), reached through NIXOS_RESTIC_B2_REALM_URL.
// Needs the Pulumi CLI (the one lib/engine/find.ts picks) and b2sdk (scripts/python-packages.sh).

import { B2Client } from "../../lib/recover/b2";
import { FileVersion } from "../../lib/recover/plan";
import { INSTALL_CLI } from "../../lib/engine/find";
import { findPulumiRoot } from "../../lib/status/stacks";
import { AdminProject } from "../support/admin-project";
import { B2Simulator, createBucket, hide, simulatorAvailability, upload, visibleFiles } from "../support/b2-simulator";
import { Missing, describeWhen } from "../support/requires";

const DAY = 86_400_000;
const BUCKET = "restic-cli-sim";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt";

const needs = (): Missing | undefined =>
  findPulumiRoot() === undefined ? { missing: "no Pulumi CLI", install: INSTALL_CLI } : simulatorAvailability();

describeWhen(needs(), "npm run recover (Pulumi CLI stacks, B2 simulator)", () => {
  let admin: AdminProject;
  let sim: B2Simulator;
  let master: B2Client;
  let bucketId: string;
  let T: string;
  let atT: Record<string, string>;
  let before: FileVersion[];
  const pulumi = (args: string[], input?: string) => admin.pulumi(args, input);
  const recoverCli = (args: string[]) => admin.run("lib/recover/main.ts", args);

  beforeAll(async () => {
    sim = await B2Simulator.start();
    admin = new AdminProject("recover", { NIXOS_RESTIC_B2_REALM_URL: sim.realm });

    // The repository under laptop/: three files, then TIME, then two hidden and one overwritten.
    await sim.setClock(-3 * DAY);
    master = await sim.master();
    bucketId = await createBucket(master, BUCKET, 30);
    for (const f of ["config", "data/p1", "snapshots/s1"]) await upload(master, bucketId, `laptop/${f}`, f);
    T = new Date(Date.now() - 2 * DAY).toISOString();
    atT = await visibleFiles(master, bucketId, "laptop/");
    await sim.setClock(-DAY);
    await hide(master, bucketId, "laptop/data/p1");
    await hide(master, bucketId, "laptop/snapshots/s1");
    await upload(master, bucketId, "laptop/config", "garbage");
    before = await master.listFileVersions(bucketId, "");

    pulumi(["stack", "init", "laptop"]);
    const set = (k: string, v: string) => pulumi(["config", "set", "--stack", "laptop", k, v]);
    set("host", "laptop.lan");
    set("hostKey", HOST_KEY);
    set("bucketName", BUCKET);
    set("repositoryPath", "laptop");
    pulumi(["config", "set", "--stack", "laptop", "--path", "paths[0]", "/home"]);
    // The management key goes in on stdin, as the README says for secrets.
    pulumi(["config", "set", "--stack", "laptop", "--secret", "b2:applicationKeyId"], sim.masterKeyId);
    pulumi(["config", "set", "--stack", "laptop", "--secret", "b2:applicationKey"], sim.masterKey);
    // A stack that cannot be recovered: no host key, never deployed, no management key.
    pulumi(["stack", "init", "broken"]);
    pulumi(["config", "set", "--stack", "broken", "--path", "paths[0]", "/home"]);
  }, 180000);

  afterAll(() => {
    sim?.stop();
    admin?.remove();
  });

  test("--help: the usage, exit 0", async () => {
    const r = await recoverCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run recover -- --stack NAME --to TIME \[--apply\]/);
  });

  test("an unusable stack: one clean list of problems, exit 2, no stack trace; an unknown stack: exit 2", async () => {
    const r = await recoverCli(["--stack", "broken", "--to", "1d"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^recover: the stack broken cannot be recovered as configured:\n {2}- nixos-restic-b2:hostKey: is required/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const unknown = await recoverCli(["--stack", "nope", "--to", "1d"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no stack named "nope"/);
  }, 60000);

  test("dry run, then --apply: the files visible at TIME are back; the key never printed", async () => {
    const dry = await recoverCli(["--stack", "laptop", "--to", T]);
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`recover laptop: b2:${BUCKET}:laptop back to ${T} (dry run)`);
    expect(dry.stdout).toMatch(/would delete 1 version uploaded after TIME .*, remove 2 hide markers made after TIME/);
    expect(dry.stdout).toMatch(/after --apply, check the repository .*\n {2}\(set -a; eval "\$\(age -d -i ~\/.ssh\/id_ed25519 'secrets\/laptop\/restic\/env.age'\)".*restic check\)\n/);
    expect(await master.listFileVersions(bucketId, "")).toEqual(before);

    const r = await recoverCli(["--stack", "laptop", "--to", T, "--apply"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await visibleFiles(master, bucketId, "laptop/")).toEqual(atT);
    expect(r.stdout).toMatch(/done: 3 changes made/);
    for (const out of [dry.stdout, r.stdout]) expect(out).not.toContain(sim.masterKey);
  }, 60000);

  test("a TIME older than the window: refused, exit 2", async () => {
    const r = await recoverCli(["--stack", "laptop", "--to", new Date(Date.now() - 40 * DAY).toISOString()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^recover: refused: --to \S+ is older than the protection window/);
  }, 60000);
});
