// The real Nix evaluator (nix-instantiate) for tests, with no daemon and
// nothing outside a temporary directory: every call runs with --readonly-mode
// and the store, state, log, config and home directories pointed into it.
// Fails (never skips) when nix-instantiate is missing; set NIX_INSTANTIATE to
// use another binary.
//
// The configuration is the tests' own, never the machine's: NIX_CONF_DIR is an
// empty directory and NIX_CONFIG sets what Nix would otherwise take from the
// machine. Run as root, Nix defaults build-users-group to "nixbld" and warns
// when that group does not exist (Debian's nix-bin on a fresh machine), so the
// tests set it empty: no build users are needed to parse or evaluate. Any
// other warning still reaches stderr, which the tests require to be empty.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NIX_INSTANTIATE = process.env.NIX_INSTANTIATE ?? "nix-instantiate";

export interface NixResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Nix settings the tests control (see the header): no machine config, no build users, no NIX_PATH. */
export const NIX_TEST_CONFIG = "build-users-group =\n";

/**
 * The environment for nix-instantiate with everything under `dir` (its
 * home, nix/etc, nix/store, nix/var, nix/log: see makeNixDirs).
 * Also used by the NixOS module-system harness (test/support/nixos-eval.ts).
 */
export function nixEnvironment(dir: string): Record<string, string> {
  return {
    HOME: join(dir, "home"),
    NIX_STORE_DIR: join(dir, "nix", "store"),
    NIX_STATE_DIR: join(dir, "nix", "var"),
    NIX_LOG_DIR: join(dir, "nix", "log"),
    NIX_CONF_DIR: join(dir, "nix", "etc"),
    NIX_CONFIG: NIX_TEST_CONFIG,
    NIX_PATH: "",
  };
}

/** Creates the directories nixEnvironment(dir) names. */
export function makeNixDirs(dir: string): void {
  for (const d of ["home", "nix/etc", "nix/store", "nix/var", "nix/log"]) mkdirSync(join(dir, d), { recursive: true });
}

/**
 * Writes a module file into a new directory under `parent`, with dummy
 * ciphertext beside it (secrets/{env,repo,password}.age, as the renderer's
 * default secretFiles expect, plus `extraSecrets`, file names such as
 * "healthcheck.age"), and returns its path.
 */
export function writeModuleDir(parent: string, text: string, extraSecrets: readonly string[] = [], name = "module.nix"): string {
  const dir = mkdtempSync(join(parent, "module-"));
  mkdirSync(join(dir, "secrets"));
  for (const f of ["env.age", "repo.age", "password.age", ...extraSecrets]) writeFileSync(join(dir, "secrets", f), `ciphertext ${f}\n`);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** One nix-instantiate call in a throw-away sandbox (for tests that need a single call). */
export function nixInstantiateOnce(args: string[]): NixResult {
  const sandbox = new NixSandbox();
  try {
    return sandbox.run(args);
  } finally {
    sandbox.cleanup();
  }
}

export class NixSandbox {
  /** The temporary directory; also the working directory of every call. */
  readonly dir: string;

  constructor(prefix = "nix-instantiate-test-") {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    makeNixDirs(this.dir);
    const r = spawnSync(NIX_INSTANTIATE, ["--version"], { env: this.env(), encoding: "utf8" });
    if (r.error || r.status !== 0) {
      this.cleanup();
      throw new Error(`${NIX_INSTANTIATE} is required for these tests: ${r.error?.message ?? r.stderr}`);
    }
  }

  env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? "/usr/bin:/bin", ...nixEnvironment(this.dir) };
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

  /** writeModuleDir in the sandbox. */
  writeModule(text: string, extraSecrets: readonly string[] = [], name = "module.nix"): string {
    return writeModuleDir(this.dir, text, extraSecrets, name);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
