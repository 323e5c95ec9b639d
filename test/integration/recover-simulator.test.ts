// `recover` against a B2 that behaves like B2: b2sdk's own in-memory
// simulation of the native API (RawSimulator) behind our loopback front end
// (test/support/b2-simulator.py). A simulation of B2, not B2.
//
// The history: a restic-like repository under host/ written over two days by
// the host's key, which has restic's hide-only capabilities (no deleteFiles);
// then TIME; then an attacker with root on the host uses that key to hide,
// overwrite and add files and tries to delete versions, change the lifecycle
// rule, make itself a better key and delete the bucket. `recover --to TIME`
// must bring back exactly the files visible at TIME (b2_list_file_names, the
// simulator's own idea of visibility), each in its version at TIME.
//
// What the simulator does not model, and so this suite does not claim:
// - a bucket-restricted key: the simulator's upload, hide and delete checks do
//   not pass the bucket, so it refuses those calls to any bucket-restricted
//   key, with or without the capability. The host key here is account-wide:
//   then a refused delete is refused for the capability alone (the control
//   key with deleteFiles may delete), which is what this suite is about.
// - file lock (b2_update_file_retention, b2_update_file_legal_hold): the
//   simulator checks no capability there, so the front end does not offer
//   them; the suite checks the host key holds none of the capabilities B2
//   asks for them (writeFileRetentions, writeFileLegalHolds, bypassGovernance,
//   writeBucketRetentions).
// - the lifecycle rule itself: the simulator stores it but never deletes a
//   version; the window is checked by the command against the rule's figure.

import { B2Client, B2Error } from "../../lib/recover/b2";
import { FileVersion } from "../../lib/recover/plan";
import { RecoverTarget, recover } from "../../lib/recover/run";
import { B2Simulator, createBucket, createKey, hide, simulatorAvailability, startLargeFile, upload, visibleFiles } from "../support/b2-simulator";
import { describeWhen } from "../support/requires";
import { DEFAULT_CAPABILITIES, PROTECTED_CAPABILITIES } from "../../lib/config/b2";

const DAY = 86_400_000;
/** restic's hide-only key in its changelog (0.15.0, issue 2134): restic hides instead of deleting with it. */
const HIDE_ONLY = ["listBuckets", "readFiles", "writeFiles", "listFiles"];
const BUCKET = "restic-laptop-sim";
const PREFIX = "host/";

describeWhen(simulatorAvailability(), "recover against b2sdk's B2 simulator", () => {
  let sim: B2Simulator;
  let master: B2Client;
  let host: B2Client;
  let bucketId: string;
  let T: number;
  let atT: Record<string, string>;
  let afterAttack: FileVersion[];
  const refusedDeletes: B2Error[] = [];
  const log: string[] = [];
  let target: RecoverTarget;

  const run = async (to: string, apply: boolean, extra: Partial<RecoverTarget> = {}) => {
    const lines: string[] = [];
    const code = await recover({ ...target, ...extra }, { to, apply, jobs: 4, realm: sim.realm, backoffMs: 1 }, (l) => lines.push(l));
    log.push(...lines);
    return { code, text: lines.join("\n") };
  };
  const all = () => master.listFileVersions(bucketId, "");
  const refused = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (e: unknown) => e);
    expect(e).toBeInstanceOf(B2Error);
    return e as B2Error;
  };

  beforeAll(async () => {
    const t0 = Date.now();
    sim = await B2Simulator.start();
    await sim.setClock(-5 * DAY);
    master = await sim.master();
    bucketId = await createBucket(master, BUCKET, 30);
    const key = await createKey(master, "restic-laptop", HIDE_ONLY);
    host = await B2Client.authorize(key.applicationKeyId, key.applicationKey, { realm: sim.realm, backoffMs: 1 });

    // Day -5: `restic init` and the first backup, by the host.
    for (const f of ["config", "keys/k1", "data/00/p1", "data/01/p2", "index/i1", "snapshots/s1"]) await upload(host, bucketId, PREFIX + f, `first ${f}`);
    // Beside the repository, outside the prefix, before and after it in name order.
    await upload(master, bucketId, "aaa-other/x", "not the repository");
    await upload(master, bucketId, "zzz-other/y", "not the repository");
    // Day -4: a second backup and a prune, with hides (the key cannot delete).
    await sim.setClock(-4 * DAY);
    await upload(host, bucketId, PREFIX + "locks/l1", "lock");
    await hide(host, bucketId, PREFIX + "locks/l1");
    await upload(host, bucketId, PREFIX + "data/02/p3", "second pack");
    await upload(host, bucketId, PREFIX + "snapshots/s2", "second snapshot");
    await upload(host, bucketId, PREFIX + "index/i1", "rewritten index");
    await upload(host, bucketId, PREFIX + "index/i0", "old index");
    await hide(host, bucketId, PREFIX + "index/i0");
    await startLargeFile(host, bucketId, PREFIX + "data/05/interrupted-before");

    T = Date.now() - 3 * DAY;
    await sim.setClock(-3 * DAY + 1000);
    atT = await visibleFiles(master, bucketId, PREFIX);

    // Day -2: the attacker, with root on the host and the host's key.
    await sim.setClock(-2 * DAY);
    for (const name of Object.keys(atT)) await hide(host, bucketId, name);
    await upload(host, bucketId, PREFIX + "config", "ransom note");
    await upload(host, bucketId, PREFIX + "keys/k1", "garbage 1");
    await upload(host, bucketId, PREFIX + "keys/k1", "garbage 2");
    await upload(host, bucketId, PREFIX + "data/03/junk", "new garbage");
    await upload(host, bucketId, PREFIX + "tmp/x", "made and hidden after TIME");
    await hide(host, bucketId, PREFIX + "tmp/x");
    await upload(host, bucketId, PREFIX + "index/i1", "upload after the hide");
    await upload(host, bucketId, PREFIX + "locks/l1", "hidden before TIME, back after");
    await startLargeFile(host, bucketId, PREFIX + "data/04/big");
    for (const v of await host.listFileVersions(bucketId, PREFIX)) {
      refusedDeletes.push(await refused(host.deleteFileVersion(v.fileName, v.fileId)));
    }
    // Outside the repository, after TIME: recovery must leave it.
    await upload(master, bucketId, "zzz-other/y", "changed after TIME, outside the repository");
    afterAttack = await all();
    target = { stack: "laptop", bucketName: BUCKET, prefix: PREFIX, repository: `b2:${BUCKET}:host`, windowDays: 30, keyId: sim.masterKeyId, key: sim.masterKey, nextSteps: ["restic check", "restic snapshots"] };
    process.stderr.write(`recover simulator history: ${afterAttack.length} versions (${afterAttack.filter((v) => v.fileName.startsWith(PREFIX)).length} under ${PREFIX}), built in ${Date.now() - t0} ms\n`);
  }, 60000);

  afterAll(() => sim?.stop());

  test("the history is what the test means: files hidden and overwritten after TIME", async () => {
    expect(Object.keys(atT).sort()).toEqual(["config", "data/00/p1", "data/01/p2", "data/02/p3", "index/i1", "keys/k1", "snapshots/s1", "snapshots/s2"].map((f) => PREFIX + f));
    const now = await visibleFiles(master, bucketId, PREFIX);
    expect(Object.keys(now).sort()).toEqual(["config", "data/03/junk", "index/i1", "keys/k1", "locks/l1"].map((f) => PREFIX + f));
    for (const v of afterAttack) expect(v.uploadTimestamp).toBeGreaterThan(Date.now() - 6 * DAY);
  });

  test("the host's key (no deleteFiles) cannot do what an attacker needs", async () => {
    // Every version under the repository: refused a delete, for the capability.
    const underPrefix = afterAttack.filter((v) => v.fileName.startsWith(PREFIX)).length;
    expect(refusedDeletes).toHaveLength(underPrefix);
    for (const e of refusedDeletes) expect([e.status, e.code]).toEqual([401, "unauthorized"]);
    expect((await refused(host.call("b2_update_bucket", { accountId: host.accountId, bucketId, lifecycleRules: [{ fileNamePrefix: "", daysFromHidingToDeleting: 1 }] }))).status).toBe(401);
    expect((await refused(host.call("b2_create_key", { accountId: host.accountId, keyName: "mine", capabilities: ["deleteFiles", "listFiles"] }))).status).toBe(401);
    expect((await refused(host.call("b2_delete_bucket", { accountId: host.accountId, bucketId }))).status).toBe(401);
    // What B2 asks for file lock and governance bypass: none of it on the key.
    for (const c of ["deleteFiles", "writeBuckets", "writeKeys", "deleteBuckets", "writeBucketRetentions", "writeFileRetentions", "writeFileLegalHolds", "bypassGovernance"]) {
      expect(host.allowed.capabilities).not.toContain(c);
    }
    // Nothing moved: the rule is still 30 days, every version is still there.
    expect((await master.bucket(BUCKET))?.lifecycleRules).toEqual([expect.objectContaining({ fileNamePrefix: "", daysFromHidingToDeleting: 30 })]);
    expect(await all()).toEqual(afterAttack);
    // The control: the same key with deleteFiles may delete (here a scratch file), so the refusals above are the capability's.
    const k = await createKey(master, "control", [...HIDE_ONLY, "deleteFiles"]);
    const control = await B2Client.authorize(k.applicationKeyId, k.applicationKey, { realm: sim.realm });
    const scratch = await upload(control, bucketId, "scratch/file", "x");
    await control.deleteFileVersion("scratch/file", scratch);
    expect(await all()).toEqual(afterAttack);
  });

  test("TIME older than the protection window is refused, saying why; nothing changes", async () => {
    const r = await run("31d", true);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/older than the protection window: .*30 days after it was hidden \(daysFromHidingToDeleting of the bucket's lifecycle rule\), so versions that were current then may already be gone/);
    expect(await all()).toEqual(afterAttack);
  });

  test("the dry run says what it would do and changes nothing", async () => {
    const r = await run(new Date(T).toISOString(), false);
    expect(r.code).toBe(0);
    expect(r.text).toContain(`recover laptop: b2:${BUCKET}:host back to ${new Date(T).toISOString()} (dry run)`);
    expect(r.text).toMatch(/protection window: 30 days/);
    expect(r.text).toMatch(/at TIME 8 files were visible/);
    // After TIME: 7 uploads (config, k1 twice, junk, tmp/x, i1, l1), 9 hide markers (the 8 files, tmp/x), 1 large file.
    expect(r.text).toMatch(/would delete 7 versions uploaded after TIME \(\d+ B\), remove 9 hide markers made after TIME, cancel 1 unfinished large file started after TIME/);
    expect(r.text).toMatch(/afterwards: 5 files visible again, 3 files back to their version at TIME \(\d+ B together\), 2 files not visible at TIME \(new or hidden then\) no longer visible\nnote: whatever was uploaded after TIME goes, backups made after TIME too/);
    expect(r.text).toMatch(/the oldest 10 changes of 17:\n {2}remove the hide marker made \S+ host\/config\n/);
    expect(r.text).toMatch(/dry run: nothing was changed/);
    expect(r.text).toMatch(/after --apply, check the repository .*\n {2}restic check\n {2}restic snapshots/);
    expect(await all()).toEqual(afterAttack);
  });

  test("--apply brings back exactly the files visible at TIME; a second run finds nothing", async () => {
    const t0 = Date.now();
    const r = await run(new Date(T).toISOString(), true);
    const ms = Date.now() - t0;
    expect(r.code).toBe(0);
    expect(await visibleFiles(master, bucketId, PREFIX)).toEqual(atT);
    expect(r.text).toMatch(/applying 17 changes, 4 at a time:/);
    expect(r.text).toMatch(/ {2}17\/17 done/);
    expect(r.text).toMatch(/done: 17 changes made; the files visible at .* are visible again/);
    // Outside the repository: untouched (both versions of zzz-other/y, aaa-other/x).
    const outside = (await all()).filter((v) => !v.fileName.startsWith(PREFIX));
    expect(outside).toEqual(afterAttack.filter((v) => !v.fileName.startsWith(PREFIX)));
    // The large file left unfinished before TIME is still there; the one started after is gone.
    const names = (await all()).map((v) => `${v.action} ${v.fileName}`);
    expect(names).toContain(`start ${PREFIX}data/05/interrupted-before`);
    expect(names).not.toContain(`start ${PREFIX}data/04/big`);
    const again = await run(new Date(T).toISOString(), true);
    expect(again.code).toBe(0);
    expect(again.text).toMatch(/nothing changed after TIME: nothing to do\nnow check the repository/);
    process.stderr.write(`recover simulator: --apply of 17 changes in ${ms} ms\n`);
  });

  test("no secret in anything the command printed", () => {
    const text = log.join("\n");
    expect(log.length).toBeGreaterThan(10);
    expect(text).not.toContain(sim.masterKey);
    expect(text).not.toMatch(/auth_token_\d/);
  });
});

// The program's own capability list for a protected host key (hostCanDelete:
// false, lib/config/b2.ts PROTECTED_CAPABILITIES), not a list written here:
// what restic does with it (upload, overwrite, hide instead of delete) works,
// and what would destroy a version or change the bucket is refused. The same
// simulator limits as above: the key is account-wide here (the simulator
// refuses every write to a bucket-restricted key, whatever its capabilities,
// so the bucket and name-prefix restriction the program adds is not exercised),
// file lock calls are not offered (the list is checked to hold none of their
// capabilities), and no lifecycle rule ever deletes anything.
describeWhen(simulatorAvailability(), "the program's protected host key against b2sdk's B2 simulator", () => {
  let sim: B2Simulator;
  let master: B2Client;
  let bucketId: string;
  const refused = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (e: unknown) => e);
    expect(e).toBeInstanceOf(B2Error);
    return e as B2Error;
  };
  const keyWith = async (name: string, capabilities: readonly string[]) => {
    const k = await createKey(master, name, [...capabilities]);
    return B2Client.authorize(k.applicationKeyId, k.applicationKey, { realm: sim.realm, backoffMs: 1 });
  };

  beforeAll(async () => {
    sim = await B2Simulator.start();
    master = await sim.master();
    bucketId = await createBucket(master, "restic-protected-sim", 30);
  }, 60000);
  afterAll(() => sim?.stop());

  test("restic's operations work with it: list the bucket, upload, overwrite, read back, hide", async () => {
    const host = await keyWith("restic-protected", PROTECTED_CAPABILITIES);
    expect(host.allowed.capabilities.slice().sort()).toEqual([...PROTECTED_CAPABILITIES].sort());
    expect((await host.bucket("restic-protected-sim"))?.bucketId).toBe(bucketId);
    await upload(host, bucketId, "host/config", "repository config");
    await upload(host, bucketId, "host/locks/l1", "lock");
    await upload(host, bucketId, "host/index/i1", "index");
    await upload(host, bucketId, "host/index/i1", "index, rewritten");
    // What restic does when a delete is refused: it hides the file (restic 0.15.0, B2 keys that may hide but not delete).
    await hide(host, bucketId, "host/locks/l1");
    expect(await visibleFiles(host, bucketId, "host/")).toEqual({ "host/config": expect.any(String), "host/index/i1": expect.any(String) });
  });

  test("and nothing that destroys a version or changes the bucket: every delete refused, the bucket settings kept", async () => {
    const host = await keyWith("restic-protected-2", PROTECTED_CAPABILITIES);
    await upload(host, bucketId, "host/data/p1", "pack");
    const versions = await host.listFileVersions(bucketId, "host/");
    expect(versions.length).toBeGreaterThanOrEqual(5);
    for (const v of versions) expect([(await refused(host.deleteFileVersion(v.fileName, v.fileId))).status]).toEqual([401]);
    expect((await refused(host.call("b2_update_bucket", { accountId: host.accountId, bucketId, lifecycleRules: [{ fileNamePrefix: "", daysFromHidingToDeleting: 1 }] }))).status).toBe(401);
    // (An encryption change answers 400 here before any capability check, so it proves nothing and is left out;
    // the list's lack of writeBucketEncryption is checked below.)
    expect((await refused(host.call("b2_create_key", { accountId: host.accountId, keyName: "mine", capabilities: ["deleteFiles"] }))).status).toBe(401);
    expect((await refused(host.call("b2_delete_bucket", { accountId: host.accountId, bucketId }))).status).toBe(401);
    // File lock is not simulated: the list holds none of what B2 asks for it.
    for (const c of ["deleteFiles", "bypassGovernance", "writeFileRetentions", "writeFileLegalHolds", "writeBucketRetentions", "writeBucketEncryption"]) {
      expect(PROTECTED_CAPABILITIES).not.toContain(c);
    }
    expect(await host.listFileVersions(bucketId, "host/")).toEqual(versions);
    expect((await master.bucket("restic-protected-sim"))?.lifecycleRules).toEqual([expect.objectContaining({ daysFromHidingToDeleting: 30 })]);
  });

  test("the control: the program's unprotected list (DEFAULT_CAPABILITIES, with deleteFiles) may delete", async () => {
    const unprotected = await keyWith("restic-unprotected", DEFAULT_CAPABILITIES);
    const id = await upload(unprotected, bucketId, "scratch/file", "x");
    await unprotected.deleteFileVersion("scratch/file", id);
    expect((await master.listFileVersions(bucketId, "scratch/")).length).toBe(0);
  });
});

describeWhen(simulatorAvailability(), "recover's B2 client against the simulator: errors, retries, tokens", () => {
  let sim: B2Simulator;
  let master: B2Client;
  let bucketId: string;
  let target: RecoverTarget;
  const T = () => new Date(Date.now() - DAY).toISOString();

  beforeAll(async () => {
    sim = await B2Simulator.start();
    await sim.setClock(-2 * DAY);
    master = await sim.master();
    bucketId = await createBucket(master, "restic-errors-sim", 30);
    for (let i = 0; i < 5; i++) await upload(master, bucketId, `f${i}`, `v${i}`);
    await sim.setClock(-DAY + 60_000);
    for (let i = 0; i < 5; i++) await hide(master, bucketId, `f${i}`);
    target = { stack: "server", bucketName: "restic-errors-sim", prefix: "", repository: "b2:restic-errors-sim", windowDays: 30, keyId: sim.masterKeyId, key: sim.masterKey, nextSteps: [] };
  }, 60000);
  afterAll(() => sim?.stop());

  const run = async (jobs: number) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await recover(target, { to: T(), apply: true, jobs, realm: sim.realm, backoffMs: 1 }, (l) => out.push(l), (l) => err.push(l));
    return { code, out: out.join("\n"), err: err.join("\n") };
  };

  test("a B2 error stops the run clearly; what was done stays done; the next run does the rest", async () => {
    await sim.failNext(1, 400, "bad_request", "b2_delete_file_version", 2);
    const first = await run(1);
    expect(first.code).toBe(1);
    expect(first.err).toMatch(/^recover: stopped after 2 of 5 changes: could not remove the hide marker made \S+ f2: b2_delete_file_version: 400 bad_request: injected by the test\. What was done stays done; run the same command again to do the rest\.$/);
    expect(Object.keys(await visibleFiles(master, bucketId, ""))).toEqual(["f0", "f1"]);
    // Two 503s on the way: retried, not fatal.
    await sim.failNext(2, 503, "service_unavailable");
    const second = await run(4);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/done: 3 changes made/);
    expect(Object.keys(await visibleFiles(master, bucketId, ""))).toEqual(["f0", "f1", "f2", "f3", "f4"]);
  });

  test("an expired token: authorized again once, transparently", async () => {
    await sim.expireTokens();
    // 5 uploads and the 5 hide markers are gone: 5 versions.
    expect((await master.listFileVersions(bucketId, "")).length).toBe(5);
  });

  test("a wrong key, and an unknown bucket: clear errors, exit 1 and 2, no secret", async () => {
    const errors: string[] = [];
    const opts = { to: T(), apply: false, jobs: 1, realm: sim.realm, backoffMs: 1 };
    expect(await recover({ ...target, key: "not-the-key" }, opts, () => undefined, (l) => errors.push(l))).toBe(1);
    expect(await recover({ ...target, bucketName: "restic-nope-sim" }, opts, () => undefined, (l) => errors.push(l))).toBe(2);
    expect(errors).toEqual([expect.stringMatching(/^recover: b2_authorize_account: 401 /), "recover: the management key sees no bucket named restic-nope-sim"]);
    expect(errors.join()).not.toContain("not-the-key");
  });
});
