import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";

// Two kinds of outside material, kept apart:
//  - test data of the project's own (its SSH age vectors, the NixOS restic
//    option list) lives in test/fixtures/ (see its PROVENANCE.md):
//    fixturePath(); upstream vectors, which the repository may not hold, are
//    read from shared/age-vectors/ (test/support/shared-age-vectors.ts);
//  - data files that live only in the read-only shared/ folder, found with
//    findSharedDir() by the suites that read them (skipped without it).
// No code comes from shared/: the Pulumi engine and nixpkgs/agenix come from
// the machine (test/support/nixos-eval.ts for nixpkgs and agenix).

const REPO = path.resolve(__dirname, "../..");
export const FIXTURES_DIR = path.join(REPO, "test", "fixtures");
export const fixturePath = (...parts: string[]): string => path.join(FIXTURES_DIR, ...parts);

/**
 * The shared/ folder: $NIXOS_RESTIC_B2_SHARED when set (the only place looked
 * then: point it at an empty directory to run as if shared/ were absent),
 * else `shared` beside the repository (how CI lays it out), else beside the
 * main checkout of a git worktree. Undefined when none exists.
 */
export function findSharedDir(): string | undefined {
  const forced = process.env.NIXOS_RESTIC_B2_SHARED;
  if (forced) return fs.existsSync(path.join(forced, "README.md")) ? path.resolve(forced) : undefined;
  const candidates = [path.join(REPO, "..", "shared")];
  const common = spawnSync("git", ["-C", REPO, "rev-parse", "--path-format=absolute", "--git-common-dir"], { encoding: "utf8" });
  if (common.status === 0 && common.stdout.trim()) candidates.push(path.join(path.dirname(path.dirname(common.stdout.trim())), "shared"));
  for (const c of candidates) if (c && fs.existsSync(path.join(c, "README.md"))) return path.resolve(c);
  return undefined;
}
