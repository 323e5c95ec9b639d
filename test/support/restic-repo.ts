// Real restic repositories for the tests (Debian's restic, local backend),
// with the credential files laid out the way the NixOS module passes them to
// lib/host/verify.sh and lib/host/drill.sh. Fails (never skips) when restic
// is missing; set RESTIC to use another binary.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const RESTIC = process.env.RESTIC ?? "restic";

export interface Credentials {
  env: string;
  repo: string;
  password: string;
}

/** A working directory holding repositories, credential files and source trees. */
export class ResticLab {
  readonly dir: string;

  /** `bin`: the restic binary (default RESTIC; test/support/restic-versions.ts lists the others). */
  constructor(prefix = "restic-lab-", readonly bin = RESTIC) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    const r = spawnSync(bin, ["version"], { encoding: "utf8" });
    if (r.error || r.status !== 0) {
      this.cleanup();
      throw new Error(`${bin} is required for these tests: ${r.error?.message ?? r.stderr}`);
    }
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Credential files (0600) for a repository location and password. */
  credentials(label: string, repository: string, password: string, env = 'B2_ACCOUNT_ID="unused"\nB2_ACCOUNT_KEY="unused"\n'): Credentials {
    const d = this.path("creds", label);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    const c = { env: join(d, "env"), repo: join(d, "repo"), password: join(d, "password") };
    writeFileSync(c.env, env, { mode: 0o600 });
    writeFileSync(c.repo, repository, { mode: 0o600 });
    writeFileSync(c.password, password, { mode: 0o600 });
    return c;
  }

  /** Runs restic against a repository with the password in a file (never an argument). */
  restic(c: Credentials, args: string[], input?: string): string {
    const r = spawnSync(this.bin, ["--no-cache", ...args], {
      encoding: "utf8",
      input,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: this.path(), RESTIC_REPOSITORY_FILE: c.repo, RESTIC_PASSWORD_FILE: c.password },
    });
    if (r.status !== 0) throw new Error(`restic ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
    return r.stdout;
  }

  /** A new, empty repository at <dir>/<label>. */
  init(label: string, password = "correct horse battery staple"): Credentials {
    const c = this.credentials(label, this.path(label), password);
    this.restic(c, ["init"]);
    return c;
  }

  /**
   * Fills a repository: `rounds` backups of one source tree, each adding files
   * (so the repository gets several data and tree packs). Returns the tree.
   */
  fill(c: Credentials, label: string, rounds: number, filesPerRound = 3, bytes = 40_000): string {
    const src = this.path("src", label);
    for (let i = 0; i < rounds; i++) {
      const d = join(src, `round-${i}`);
      mkdirSync(d, { recursive: true });
      for (let j = 0; j < filesPerRound; j++) {
        writeFileSync(join(d, `file-${j}.bin`), randomBytes(bytes));
      }
      writeFileSync(join(d, "small.txt"), `round ${i}\n`);
      this.restic(c, ["backup", "--quiet", src]);
    }
    return src;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The pack files of a local repository that hold file contents only (no
 * trees), from restic's own index: damaging one of them breaks the data of
 * some files but not the repository's structure.
 */
export function dataPacks(lab: ResticLab, c: Credentials, repoDir: string): string[] {
  const out: string[] = [];
  for (const index of lab.restic(c, ["list", "index"]).split("\n").filter(Boolean)) {
    const { packs } = JSON.parse(lab.restic(c, ["cat", "index", index])) as { packs: { id: string; blobs: { type: string }[] }[] };
    for (const p of packs) if (p.blobs.every((b) => b.type === "data")) out.push(join(repoDir, "data", p.id.slice(0, 2), p.id));
  }
  return out.sort();
}

/** Overwrites bytes in the middle of a file (keeps its size), as bit rot would. */
export function damage(file: string): void {
  chmodSync(file, 0o600);
  const size = statSync(file).size;
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, Buffer.from("DAMAGED-BY-THE-TEST-SUITE"), 0, 25, Math.floor(size / 2));
  } finally {
    closeSync(fd);
  }
}
