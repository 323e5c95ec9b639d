// Issue 12, "Done when", under the real engine and with the REAL credentials
// check: `pulumi up` with a wrong resticPassword for an existing repository
// fails with restic's own message and leaves the host as it was; with the
// right password it succeeds and reports that the repository opens.
//
// The fake host's restic-b2-verify-daily is not the stub of test/support/sshd.ts
// here but a wrapper (installed by this file over the stub) that does what
// NixOS does with the deployed module: it decrypts the pushed agenix files
// <hostConfigDir>/restic-b2/secrets/{env,repo,password}.age with the host's SSH
// key (age -d -i, as agenix does at activation) into a private 0700 directory,
// then runs lib/host/verify.sh, byte for byte the script the module embeds, with
// the arguments the module's wrapper passes (lib/nix/drill.ts: --backup-name, --restic,
// --env-file, --repository-file, --password-file, --timeout), with Debian's real
// restic against a real local repository made with password A.
//
// One substitution, said plainly: the stack's repository is `b2:<bucket>:<path>`
// (existing-bucket mode), and Backblaze B2 cannot be reached from here, so the
// wrapper checks that the pushed repo.age holds exactly that location and then
// hands verify.sh a repository file naming the local repository instead. The
// password is the one decrypted from the pushed password.age, untouched: a wrong
// resticPassword really reaches restic, and restic really refuses it.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { shellQuote } from "../../lib/host/shell";
import { TestSshd, TreeEntry, snapshotTree } from "../support/sshd";
import { E2eProject, REPO, ageDecrypt, expectOk, findLeaks, leakPlaces, text, loopbackConfig, describeE2e, e2eEngine } from "./harness";

const BUCKET = "e2e-restic-credentials";
const REPOSITORY_PATH = "hosts/laptop";
/** The repository's real password (A) and a wrong one (B); both long enough for the leak scan. */
const PASSWORD_A = "e2e-repository-password-A-4f1d9c27b6e0";
const PASSWORD_B = "e2e-wrong-password-B-8a3e5b19c0d7f2";
const KEY = "K0042e2eCredentialsB2KeyNeverInPlaintext5c6d";

let srv: TestSshd;
let p: E2eProject;
let pristine: TreeEntry[];
/** The local restic repository (password A), outside the fake root. */
let repoDir: string;
/** Where the wrapper makes its private decryption directories, and logs its runs. */
let runBase: string;

const secretsOnHost = () => path.join(srv.configDir, "restic-b2", "secrets");
const wrapperRuns = () => (fs.existsSync(path.join(runBase, "runs")) ? fs.readFileSync(path.join(runBase, "runs"), "utf8").split("\n").filter(Boolean) : []);

function restic(args: string[], passwordFile: string): string {
  const r = spawnSync("restic", ["--no-cache", ...args], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", HOME: srv.dir, RESTIC_REPOSITORY: repoDir, RESTIC_PASSWORD_FILE: passwordFile },
  });
  if (r.status !== 0) throw new Error(`restic ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** The host's restic-b2-verify-daily: decrypt like agenix, then the real lib/host/verify.sh. */
function verifyWrapper(): string {
  const q = shellQuote;
  return `#!/bin/sh
# e2e (test/e2e/credentials.e2e.test.ts): the real credentials check with agenix's decryption done by age.
set -u
umask 077
run=$(mktemp -d ${q(path.join(runBase, "agenix.XXXXXX"))}) || exit 1
trap 'rm -rf "$run"' EXIT
echo run >> ${q(path.join(runBase, "runs"))}
for n in env repo password; do
  if ! age -d -i ${q(srv.hostKey)} -o "$run/$n" ${q(secretsOnHost())}/"$n".age; then
    echo "e2e-verify-wrapper: cannot decrypt $n.age with the host key"
    exit 1
  fi
done
# B2 cannot be reached from the test machine: the pushed location must be the
# stack's b2: repository; restic is then pointed at the local repository.
if [ "$(cat "$run/repo")" != ${q(`b2:${BUCKET}:${REPOSITORY_PATH}`)} ]; then
  echo "e2e-verify-wrapper: repo.age does not hold the stack's repository"
  exit 1
fi
printf '%s' ${q(repoDir)} > "$run/repo"
bash ${q(path.join(REPO, "lib", "host", "verify.sh"))} --backup-name daily --restic "$(command -v restic)" \\
  --env-file "$run/env" --repository-file "$run/repo" --password-file "$run/password" --timeout 60 "$@"
`;
}

describeE2e("e2e credentials", () => {
  beforeAll(async () => {
    srv = await TestSshd.start();
    runBase = fs.mkdtempSync(path.join(srv.dir, "verify-runs-"));
    // The existing repository, made with password A (from a 0600 file, never an argument).
    repoDir = path.join(srv.dir, "restic-repo");
    const pw = path.join(runBase, "init-password");
    fs.writeFileSync(pw, PASSWORD_A, { mode: 0o600 });
    restic(["init"], pw);
    fs.rmSync(pw);
    fs.writeFileSync(path.join(srv.stubBin, "restic-b2-verify-daily"), verifyWrapper(), { mode: 0o755 });
    pristine = snapshotTree(srv.root);
    p = await E2eProject.create(e2eEngine(), {
      config: loopbackConfig(srv, BUCKET, { repositoryPath: REPOSITORY_PATH }),
      secrets: { existingKeyId: "0042e2e0000000000000000e5", existingKey: KEY, resticPassword: PASSWORD_B, sshPrivateKey: fs.readFileSync(srv.clientKey, "utf8") },
    });
  }, 120_000);

  afterAll(async () => {
    p?.cleanup();
    await srv?.stop();
  });

  test("the wrapper's repository opens with password A and refuses B (real restic, before any deploy)", () => {
    for (const [pw, code] of [[PASSWORD_A, 0], [PASSWORD_B, 12]] as const) {
      const dir = fs.mkdtempSync(path.join(runBase, "probe-"));
      const f = path.join(dir, "password");
      fs.writeFileSync(f, pw, { mode: 0o600 });
      fs.writeFileSync(path.join(dir, "repo"), repoDir, { mode: 0o600 });
      const r = spawnSync("bash", [path.join(REPO, "lib", "host", "verify.sh"), "--backup-name", "daily", "--restic", "restic", "--repository-file", path.join(dir, "repo"), "--password-file", f], {
        encoding: "utf8",
        env: { PATH: "/usr/bin:/bin", HOME: srv.dir },
      });
      fs.rmSync(dir, { recursive: true });
      expect({ code: r.status, out: r.stdout }).toEqual({ code, out: expect.stringContaining(code === 0 ? "repository opens" : "Fatal: wrong password or no key found") });
    }
  });

  test("pulumi up with a wrong resticPassword for the existing repository fails with restic's message; the host is as before", async () => {
    const r = await p.up();
    expect(r.code).not.toBe(0);
    const out = text(r);
    // The real check ran (not the stub), through the pushed password.age ...
    expect(wrapperRuns()).toHaveLength(1);
    expect(out).not.toContain("stub-verify");
    expect(out).toContain("restic-b2-verify-daily refused the deployed credentials (exit 12)");
    expect(out).toContain("restic-b2-verify-daily: wrong password: the repository exists but does not accept the deployed password (resticPassword)");
    // ... and restic's own message is in the output.
    expect(out).toMatch(/restic: Fatal: wrong password or no key found/);
    expect(out).toContain("restic-b2-host: restored the previous state of");
    // Readable like a failed switch (issue 9): short, no script or payload.
    expect(Buffer.byteLength(out)).toBeLessThan(8192);
    for (const payload of ["rb2_file", "BEGIN AGE ENCRYPTED FILE", "age-encryption.org/v1", "verify_repository() {"]) expect(out).not.toContain(payload);
    // Rolled back like a failed switch: the fake root is byte-identical to before. (The
    // engine runs the production command, which watches /nix/var/nix/profiles/system,
    // not the stub's profile, so no `switch --rollback` is seen here; the generation
    // rollback is covered by the host-script tests that pass --system-profile.)
    expect(srv.rebuildCalls()).toEqual(["switch"]);
    expect(snapshotTree(srv.root)).toEqual(pristine);
    expect(fs.readdirSync(runBase).filter((n) => n.startsWith("agenix."))).toEqual([]);
    expect(out).not.toContain(PASSWORD_B);
  });

  test("with the repository's password pulumi up succeeds and reports that the repository opens", async () => {
    await p.setSecret("resticPassword", PASSWORD_A);
    const r = expectOk(await p.up());
    expect(wrapperRuns()).toHaveLength(2);
    expect(text(r)).toContain("verify: repository opens");
    expect(ageDecrypt(srv.hostKey, path.join(secretsOnHost(), "password.age"))).toBe(PASSWORD_A);
    expect(ageDecrypt(srv.hostKey, path.join(secretsOnHost(), "repo.age"))).toBe(`b2:${BUCKET}:${REPOSITORY_PATH}`);
    expect(fs.readdirSync(runBase).filter((n) => n.startsWith("agenix."))).toEqual([]);
  });

  test("a wrong password on an update fails too and leaves the deployed host exactly as it was", async () => {
    const installed = snapshotTree(srv.root);
    await p.setSecret("resticPassword", PASSWORD_B);
    const r = await p.up();
    expect(r.code).not.toBe(0);
    expect(wrapperRuns()).toHaveLength(3);
    expect(text(r)).toMatch(/restic: Fatal: wrong password or no key found/);
    expect(snapshotTree(srv.root)).toEqual(installed);
    expect(ageDecrypt(srv.hostKey, path.join(secretsOnHost(), "password.age"))).toBe(PASSWORD_A);
    // Back to A: the state's inputs match the host again, then destroy restores the first bytes.
    await p.setSecret("resticPassword", PASSWORD_A);
    expectOk(await p.up());
    expect(wrapperRuns()).toHaveLength(4);
    expectOk(await p.destroy());
    expect(snapshotTree(srv.root)).toEqual(pristine);
  });

  test("no plaintext restic password (right or wrong) or B2 key in state, .pulumi/ or any CLI output", async () => {
    expect(findLeaks(await leakPlaces(p), { "restic password A": PASSWORD_A, "restic password B": PASSWORD_B, "B2 key": KEY })).toEqual([]);
  });
});
