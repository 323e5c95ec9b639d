import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";

// Two kinds of outside material, kept apart:
//  - test data (age vectors, the NixOS restic option list) is vendored in
//    test/fixtures/ (see its PROVENANCE.md): fixturePath();
//  - data files that live only in the read-only shared/ folder: sharedPath().
// No code comes from shared/: the Pulumi engine and nixpkgs/agenix come from
// the machine (test/support/nixos-eval.ts for nixpkgs and agenix).

const REPO = path.resolve(__dirname, "../..");
export const FIXTURES_DIR = path.join(REPO, "test", "fixtures");
export const fixturePath = (...parts: string[]): string => path.join(FIXTURES_DIR, ...parts);

/** Vendored data that older call sites still ask shared/ for. */
const VENDORED: Record<string, string[]> = {
  "age-vectors": ["age-vectors"],
  "facts/nixos-restic-options.json": ["nixos-restic-options.json"],
};

/**
 * The shared/ folder: $NIXOS_RESTIC_B2_SHARED, else `shared` beside the
 * repository (how CI lays it out), else beside the main checkout of a git
 * worktree. Undefined when none exists.
 */
export function findSharedDir(): string | undefined {
  const candidates = [process.env.NIXOS_RESTIC_B2_SHARED, path.join(REPO, "..", "shared")];
  const common = spawnSync("git", ["-C", REPO, "rev-parse", "--path-format=absolute", "--git-common-dir"], { encoding: "utf8" });
  if (common.status === 0 && common.stdout.trim()) candidates.push(path.join(path.dirname(path.dirname(common.stdout.trim())), "shared"));
  for (const c of candidates) if (c && fs.existsSync(path.join(c, "README.md"))) return path.resolve(c);
  return undefined;
}

/**
 * A path in shared/. Throws when shared/ is not there.
 * Vendored data (age-vectors, the option list) resolves to test/fixtures/.
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
        "Put shared/ there or set NIXOS_RESTIC_B2_SHARED.",
    );
  }
  return path.join(dir, ...parts);
}
