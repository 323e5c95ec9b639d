// lib/host/verify.sh (restic-b2-verify-<name>), once with the machine's restic
// (Debian's, 0.14) and once with the release NixOS ships (0.18;
// test/support/restic-versions.ts), against
// a real local repository (opens / missing / wrong password), restic's rest:
// backend at a closed port and at a server that never answers (unreachable),
// and at a local HTTP server answering 401/403 (key refused) or 503.

import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { AddressInfo, Server, Socket, createServer as createTcpServer } from "node:net";
import { createServer } from "node:http";
import { join } from "node:path";
import { renderEnvFile } from "../../lib/nix/agenix";
import { describeWhen } from "../support/requires";
import { Credentials, ResticLab } from "../support/restic-repo";
import { ResticRelease, resticReleases } from "../support/restic-versions";

const SCRIPT = join(__dirname, "..", "..", "lib", "host", "verify.sh");
const PASSWORD = "the 'deployed' password $(id) `x`";

for (const release of resticReleases()) {
  describeWhen(release.missing, `verify.sh (restic ${release.label})`, () => suite(release));
}

function suite(release: ResticRelease): void {
  const RESTIC = release.path;
  let lab: ResticLab;
  let repo: Credentials;
  beforeAll(() => {
    lab = new ResticLab("restic-verify-test-", RESTIC);
    repo = lab.init("repo", PASSWORD);
  });
  afterAll(() => lab?.cleanup());

  interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
    ms: number;
  }

  function verifyArgs(c: Credentials, extra: string[] = [], restic = RESTIC): string[] {
    return [SCRIPT, "--backup-name", "daily", "--restic", restic, "--env-file", c.env, "--repository-file", c.repo, "--password-file", c.password, ...extra];
  }

  function verifyEnv() {
    // What an inherited environment might carry must not override the deployed files.
    return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: lab.path(), RESTIC_PASSWORD: "inherited", RESTIC_REPOSITORY: "/nonexistent" };
  }

  function verify(c: Credentials, extra: string[] = []): Run {
    const t = Date.now();
    const r = spawnSync("bash", verifyArgs(c, extra), { encoding: "utf8", env: verifyEnv() });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t };
  }

  /** Same, without blocking the event loop (for tests whose HTTP server runs in this process). */
  function verifyAsync(c: Credentials, extra: string[] = []): Promise<Run> {
    const t = Date.now();
    return new Promise((resolve) => {
      const p = spawn("bash", verifyArgs(c, extra), { env: verifyEnv() });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += d));
      p.stderr.on("data", (d) => (stderr += d));
      p.on("close", (status) => resolve({ status, stdout, stderr, ms: Date.now() - t }));
    });
  }

  /** A local HTTP server answering every request with one status (a refusing storage). */
  async function withHttp<T>(status: number, f: (url: string, requests: string[]) => Promise<T>): Promise<T> {
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(status, { "Content-Length": "0" });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      return await f(`rest:http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  /** A closed port on 127.0.0.1 (bound, then released). */
  async function closedPort(): Promise<number> {
    const s = createTcpServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
  }

  test("0: the repository opens with the deployed password", () => {
    const r = verify(repo);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("restic-b2-verify-daily: repository opens: the password and the storage key are accepted\n");
    expect(r.status).toBe(0);
  });

  test("10: no repository yet (the first backup will create it)", () => {
    const c = lab.credentials("missing", lab.path("not-initialised"), PASSWORD);
    const r = verify(c);
    expect(r.stdout).toBe("restic-b2-verify-daily: no repository yet: the first backup run will create it (initialize)\n");
    expect(r.status).toBe(10);
  });

  test("12: wrong password, with restic's own message and never the password", () => {
    const c = lab.credentials("wrong", readFileSync(repo.repo, "utf8"), "a wrong password");
    const r = verify(c);
    expect(r.status).toBe(12);
    expect(r.stdout).toContain("restic-b2-verify-daily: wrong password: the repository exists but does not accept the deployed password");
    expect(r.stdout).toContain("  restic: Fatal: wrong password or no key found");
    expect(r.stdout + r.stderr).not.toContain("a wrong password");
  });

  test.each([401, 403])("13: the storage refuses the key (HTTP %i), with restic's message", async (status) => {
    await withHttp(status, async (url, requests) => {
      const r = await verifyAsync(lab.credentials(`refused-${status}`, url, PASSWORD));
      expect(requests.length).toBeGreaterThan(0); // restic really asked the server
      expect(r.status).toBe(13);
      expect(r.stdout).toContain("key refused: the storage does not accept the deployed key");
      expect(r.stdout).toMatch(new RegExp(`restic: .*${status}`));
    });
  });

  test("20: the storage answers 503 (B2 down): unreachable, not a failure of the key", async () => {
    await withHttp(503, async (url) => {
      // restic 0.18 retries a 503 with backoff, so it gets the whole --timeout
      // ("no answer within 15s"); 0.14 gives up at once. Both are unreachable.
      const r = await verifyAsync(lab.credentials("down", url, PASSWORD), ["--timeout", "15"]);
      expect(r.status).toBe(20);
      expect(r.stdout).toContain("unreachable");
    });
  });

  test("20: connection refused (a closed port on 127.0.0.1)", async () => {
    const c = lab.credentials("closed", `rest:http://127.0.0.1:${await closedPort()}/`, PASSWORD);
    const r = verify(c);
    expect(r.status).toBe(20);
    expect(r.stdout).toContain("restic-b2-verify-daily: unreachable: could not reach the repository's storage");
    expect(r.stdout).toContain("connection refused");
  });

  test("20 within the time bound: a server that accepts connections and never answers", async () => {
    const sockets: Socket[] = [];
    const server: Server = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const c = lab.credentials("hang", `rest:http://127.0.0.1:${(server.address() as AddressInfo).port}/`, PASSWORD);
      const r = await verifyAsync(c, ["--timeout", "3"]);
      expect(r.status).toBe(20);
      expect(r.stdout).toContain("unreachable: no answer within 3s");
      expect(r.ms).toBeGreaterThanOrEqual(3000);
      expect(r.ms).toBeLessThan(15000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  test("1: a missing agenix file is reported, not taken for a missing repository", () => {
    const r = verify({ ...repo, password: lab.path("no-such-password-file") });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("cannot read");
  });

  test("2: bad arguments", () => {
    const r = spawnSync("bash", [SCRIPT, "--backup-name", "daily"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--restic is required");
  });

  test("restic gets the env file's variables exactly (as the agenix env.age renders them), and no secret as an argument", () => {
    // A recorder in front of the real restic: its argv and B2_* environment.
    const rec = lab.path("recorded");
    const wrapper = lab.path("recording-restic");
    writeFileSync(wrapper, `#!/bin/bash\n{ printf 'ARG:%s\\n' "$@"; env | grep -E '^(B2_|RESTIC_)' | sort; } > ${rec}\nexec ${RESTIC} "$@"\n`, { mode: 0o755 });
    const keyId = "0042abc";
    const key = 'K004"quoted"\\back$slash`tick` $(id) \'single\'';
    const c = lab.credentials("env", readFileSync(repo.repo, "utf8"), PASSWORD, renderEnvFile(keyId, key));
    const r = spawnSync("bash", verifyArgs(c, [], wrapper), { encoding: "utf8", env: verifyEnv() });
    expect(r.status).toBe(0);
    const lines = readFileSync(rec, "utf8").split("\n");
    expect(lines).toContain(`B2_ACCOUNT_ID=${keyId}`);
    expect(lines).toContain(`B2_ACCOUNT_KEY=${key}`);
    expect(lines).toContain(`RESTIC_PASSWORD_FILE=${c.password}`);
    expect(lines).toContain(`RESTIC_REPOSITORY_FILE=${c.repo}`);
    expect(lines.filter((l) => l.startsWith("RESTIC_PASSWORD=") || l.startsWith("RESTIC_REPOSITORY="))).toEqual([]);
    const argv = lines.filter((l) => l.startsWith("ARG:"));
    expect(argv).toEqual(["ARG:--no-cache", "ARG:--no-lock", "ARG:cat", "ARG:config"]);
    expect(r.stdout + r.stderr).not.toContain(key);
  });

  test("a held exclusive lock: the check still opens the repository, takes no lock and writes nothing", async () => {
    const repoDir = readFileSync(repo.repo, "utf8").trim();
    const locks = () => spawnSync("ls", [join(repoDir, "locks")], { encoding: "utf8" }).stdout.split("\n").filter((l) => l !== "");
    expect(locks()).toEqual([]);
    // `restic key passwd` holds an exclusive lock while it waits for the new password on stdin.
    const holder = spawn(RESTIC, ["key", "passwd"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: lab.path(), RESTIC_REPOSITORY_FILE: repo.repo, RESTIC_PASSWORD_FILE: repo.password },
      stdio: ["pipe", "ignore", "ignore"],
    });
    try {
      const deadline = Date.now() + 20_000;
      while (locks().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const held = locks();
      expect(held).toHaveLength(1);
      const r = await verifyAsync(repo);
      expect(r.stdout).toContain("repository opens");
      expect(r.status).toBe(0);
      expect(locks()).toEqual(held);
    } finally {
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("close", r));
      spawnSync(RESTIC, ["unlock", "--remove-all"], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: lab.path(), RESTIC_REPOSITORY_FILE: repo.repo, RESTIC_PASSWORD_FILE: repo.password },
      });
    }
    expect(locks()).toEqual([]);
  });

  test("11: a lock failure (restic >= 0.17's exit code) is reported as locked, not as a failure", () => {
    const fake = lab.path("restic-locked");
    writeFileSync(fake, "#!/bin/sh\necho 'Fatal: unable to create lock in backend: repository is already locked exclusively by PID 42' >&2\nexit 11\n", { mode: 0o755 });
    const r = spawnSync("bash", verifyArgs(repo, [], fake), { encoding: "utf8", env: verifyEnv() });
    expect(r.status).toBe(11);
    expect(r.stdout).toContain("repository is locked by another restic process");
  });

  describe("with the repository id the backup unit recorded (--repository-id-file)", () => {
    const idOf = (c: Credentials) => (JSON.parse(lab.restic(c, ["cat", "config"])) as { id: string }).id;
    const record = (id: string) => {
      const f = lab.path(`record-${id.slice(0, 6)}`);
      writeFileSync(f, `${id}\n`, { mode: 0o600 });
      return ["--repository-id-file", f];
    };

    test("the recorded repository: 0, as without a record", () => {
      const r = verify(repo, record(idOf(repo)));
      expect(r.status).toBe(0);
      expect(r.stdout).toBe("restic-b2-verify-daily: repository opens: the password and the storage key are accepted\n");
    });

    test("another repository at the location: 14, expected and found", () => {
      const other = "12".repeat(32);
      const r = verify(repo, record(other));
      expect(r.status).toBe(14);
      expect(r.stdout).toContain(`not this host's repository: expected repository id ${other}, found repository id ${idOf(repo)}`);
      expect(r.stdout).toContain("restic-b2-reset-daily");
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    });

    test("no repository at the location after a first backup: 14, not 'the first backup creates it'", () => {
      const c = lab.credentials("vanished", lab.path("vanished-repo"), PASSWORD);
      const id = "34".repeat(32);
      const r = verify(c, record(id));
      expect(r.status).toBe(14);
      expect(r.stdout).toContain(`no repository at the configured location, but this host has backed up to repository id ${id}`);
      // No record (or a missing record file): still 10.
      expect(verify(c, ["--repository-id-file", lab.path("no-record")]).status).toBe(10);
    });
  });
}
