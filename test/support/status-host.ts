// Makes a TestSshd fake host answer the status command: a `systemctl show`
// stub with chosen unit properties (other systemctl calls go to sshd.ts's
// stub), a `restic-<name>` wrapper that runs the real restic against a local
// repository the test creates, and drill.json on demand.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { shellQuote } from "../../lib/host/shell";
import type { TestSshd } from "./sshd";

export const RESTIC = "/usr/bin/restic";

export interface FakeBackupHost {
  name: string;
  repo: string;
  passwordFile: string;
  /** Runs the real restic against this host's repository; throws on failure. */
  restic(args: string[]): string;
  setService(props: Record<string, string>): void;
  setTimer(props: Record<string, string>): void;
  /** Writes /var/lib/restic-b2/<name>/drill.json (or removes it with undefined). */
  setDrill(json: unknown): void;
  /** Writes the backup's recorded repository id, /var/lib/restic-b2/<name>/repository-id (or removes it with undefined). */
  setRepositoryId(id: string | undefined): void;
  /** The id of this host's repository (restic cat config). */
  repositoryId(): string;
  cleanup(): void;
}

export function setUpBackupHost(sshd: TestSshd, name: string): FakeBackupHost {
  const base = path.join(sshd.dir, `backup-host-${name}`);
  const repo = path.join(base, "repo");
  const props = path.join(base, "props");
  fs.mkdirSync(props, { recursive: true });
  const passwordFile = path.join(base, "password");
  fs.writeFileSync(passwordFile, "status test repository password\n", { mode: 0o600 });
  const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: passwordFile, RESTIC_CACHE_DIR: path.join(base, "cache") };
  const restic = (args: string[]): string => {
    const r = spawnSync(RESTIC, args, { env, encoding: "utf8" });
    if (r.error) throw new Error(`restic is required for these tests (Debian package restic): ${r.error.message}`);
    if (r.status !== 0) throw new Error(`restic ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  restic(["init"]);

  // The NixOS wrapper sets the unit's environment and execs restic.
  fs.writeFileSync(
    path.join(sshd.stubBin, `restic-${name}`),
    `#!/bin/sh\nRESTIC_REPOSITORY=${shellQuote(repo)} RESTIC_PASSWORD_FILE=${shellQuote(passwordFile)} ` +
      `RESTIC_CACHE_DIR=${shellQuote(path.join(base, "cache"))}\nexport RESTIC_REPOSITORY RESTIC_PASSWORD_FILE RESTIC_CACHE_DIR\nexec ${RESTIC} "$@"\n`,
    { mode: 0o755 },
  );
  const systemctl = path.join(sshd.stubBin, "systemctl");
  const orig = path.join(sshd.stubBin, "systemctl.sshd-stub");
  if (!fs.existsSync(orig)) fs.renameSync(systemctl, orig);
  fs.writeFileSync(
    systemctl,
    `#!/bin/sh
# show UNIT --property=A,B [--timestamp=unix]: the properties written by the test.
if [ "$1" = show ]; then
  f=${shellQuote(props)}/"$2"
  if [ -e "$f" ]; then cat "$f"; else printf 'LoadState=not-found\\nActiveState=inactive\\n'; fi
  exit 0
fi
exec ${shellQuote(orig)} "$@"
`,
    { mode: 0o755 },
  );
  const write = (unit: string, p: Record<string, string>) =>
    fs.writeFileSync(path.join(props, unit), Object.entries(p).map(([k, v]) => `${k}=${v}\n`).join(""));
  const drillDir = `/var/lib/restic-b2/${name}`;
  return {
    name,
    repo,
    passwordFile,
    restic,
    setService: (p) => write(`restic-backups-${name}.service`, p),
    setTimer: (p) => write(`restic-backups-${name}.timer`, p),
    setDrill: (json) => {
      if (json === undefined) fs.rmSync(drillDir, { recursive: true, force: true });
      else {
        fs.mkdirSync(drillDir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(drillDir, "drill.json"), JSON.stringify(json), { mode: 0o600 });
      }
    },
    setRepositoryId: (id) => {
      const file = path.join(drillDir, "repository-id");
      if (id === undefined) fs.rmSync(file, { force: true });
      else {
        fs.mkdirSync(drillDir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, `${id}\n`, { mode: 0o600 });
      }
    },
    repositoryId: () => (JSON.parse(restic(["--no-lock", "cat", "config"])) as { id: string }).id,
    cleanup: () => {
      fs.rmSync(drillDir, { recursive: true, force: true });
      try {
        fs.rmdirSync(path.dirname(drillDir)); // only when empty (no other user of /var/lib/restic-b2)
      } catch {
        // not empty, or already gone
      }
    },
  };
}

/** "@<unix seconds>" as `systemctl show --timestamp=unix` prints it. */
export const unixStamp = (d: Date): string => `@${Math.floor(d.getTime() / 1000)}`;
