import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";

// Two kinds of outside material, kept apart:
//  - test data of the project's own (its SSH age vectors, the NixOS restic
//    option list) lives in test/fixtures/ (see its PROVENANCE.md):
//    fixturePath(); upstream vectors, which the repository may not hold, are
//    read from shared/age-vectors/ (test/support/shared-age-vectors.ts);
//  - what cannot live in the repository (the Pulumi engine sources, the NixOS
//    module-system files) comes from the read-only shared/ folder, only as the
//    fallback when the machine has no Pulumi or nixpkgs of its own:
//    sharedPath(), which fails with what to install when shared/ is missing.

const REPO = path.resolve(__dirname, "../..");
export const FIXTURES_DIR = path.join(REPO, "test", "fixtures");
export const fixturePath = (...parts: string[]): string => path.join(FIXTURES_DIR, ...parts);

/** Vendored data that older call sites still ask shared/ for. */
const VENDORED: Record<string, string[]> = {
  "facts/nixos-restic-options.json": ["nixos-restic-options.json"],
};

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

/**
 * A path in shared/ (engine sources, nixos-eval). Throws, naming what to
 * install, when shared/ is not there: the suite fails, it never skips.
 * Vendored data (the option list) resolves to test/fixtures/.
 */
export function sharedPath(...parts: string[]): string {
  const rel = path.posix.join(...parts.flatMap((p) => p.split(path.sep)));
  for (const [prefix, target] of Object.entries(VENDORED)) {
    if (rel === prefix || rel.startsWith(prefix + "/")) return path.join(FIXTURES_DIR, ...target, rel.slice(prefix.length));
  }
  const dir = findSharedDir();
  if (!dir) {
    throw new Error(
      `${rel} is needed from the shared/ folder, which is not beside the repository (${path.join(REPO, "..", "shared")}). ` +
        "Put shared/ there or set NIXOS_RESTIC_B2_SHARED; or install what it stands in for: " +
        "the Pulumi CLI with its Node.js language host and the command plugin v1.2.1 (engine/), or a nixpkgs checkout on NIX_PATH (nixos-eval/).",
    );
  }
  return path.join(dir, ...parts);
}
