// The real Nix evaluator (nix-instantiate) for tests, with no daemon and
// nothing outside a temporary directory: every call runs with --readonly-mode
// and the store, state, log, config and home directories pointed into it.
// Fails (never skips) when nix-instantiate is missing; set NIX_INSTANTIATE to
// use another binary.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NIX_INSTANTIATE = process.env.NIX_INSTANTIATE ?? "nix-instantiate";

export interface NixResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export class NixSandbox {
  /** The temporary directory; also the working directory of every call. */
  readonly dir: string;

  constructor(prefix = "nix-instantiate-test-") {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    for (const d of ["home", "nix/etc"]) mkdirSync(join(this.dir, d), { recursive: true });
    const r = spawnSync(NIX_INSTANTIATE, ["--version"], { env: this.env(), encoding: "utf8" });
    if (r.error || r.status !== 0) {
      this.cleanup();
      throw new Error(`${NIX_INSTANTIATE} is required for these tests: ${r.error?.message ?? r.stderr}`);
    }
  }

  env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: join(this.dir, "home"),
      NIX_STORE_DIR: join(this.dir, "nix", "store"),
      NIX_STATE_DIR: join(this.dir, "nix", "var"),
      NIX_LOG_DIR: join(this.dir, "nix", "log"),
      NIX_CONF_DIR: join(this.dir, "nix", "etc"),
      NIX_PATH: "",
      // A fresh machine has no nixbld group; without this Nix warns about it.
      NIX_CONFIG: "build-users-group =",
    };
  }

  run(args: string[]): NixResult {
    const r = spawnSync(NIX_INSTANTIATE, ["--readonly-mode", ...args], { env: this.env(), encoding: "utf8", cwd: this.dir });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Evaluates an expression strictly and returns the parsed JSON; throws with Nix's message on failure. */
  evalJson(expr: string, args: string[] = []): unknown {
    const r = this.run(["--eval", "--strict", "--json", "--expr", expr, ...args]);
    if (r.status !== 0) throw new Error(`nix-instantiate failed (${r.status}):\n${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** Parses a file (no evaluation); throws with Nix's message when it does not parse. */
  parseFile(file: string): void {
    const r = this.run(["--parse", file]);
    if (r.status !== 0) throw new Error(`nix-instantiate --parse ${file} failed:\n${r.stderr}`);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
