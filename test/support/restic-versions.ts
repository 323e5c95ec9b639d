// The restic binaries the host-script tests run against: the machine's own
// (Debian's restic, 0.14 on bookworm; RESTIC overrides it) and the release
// NixOS ships, which scripts/restic-versions.sh builds from the Go module
// proxy into ~/.cache/nixos-restic-b2-restic/v<version>/restic. Exit codes and
// messages differ between them (10, 11, 12 exist only since 0.17; JSON errors
// with --json; --retry-lock since 0.16), so these suites run once per binary:
//
//   for (const r of resticReleases()) describeWhen(r.missing, `... (restic ${r.label})`, () => { ... r.path ... });
//
// A release that is not there is one SKIPPED line and skipped tests, never a
// silent pass.

import { spawnSync } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Missing } from "./requires";
import { RESTIC } from "./restic-repo";

/** The releases scripts/restic-versions.sh installs (keep in step with its VERSIONS). */
export const RESTIC_RELEASES = ["0.18.1"] as const;

export interface ResticRelease {
  /** "0.14.0 (the machine's restic)", "0.18.1". */
  label: string;
  /** The binary. */
  path: string;
  /** major, minor (0 0 when missing). */
  version: [number, number];
  /** Why it cannot run, or undefined. */
  missing?: Missing;
}

function versionOf(path: string): [number, number] | undefined {
  const r = spawnSync(path, ["version"], { encoding: "utf8" });
  const m = r.status === 0 ? /^restic (\d+)\.(\d+)\.\d+/.exec(r.stdout) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The machine's restic, then each installed release; the missing ones with the reason. */
export function resticReleases(): ResticRelease[] {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "nixos-restic-b2-restic");
  const candidates = [
    { path: RESTIC, label: (v?: [number, number]) => `${v ? v.join(".") : "?"} (the machine's restic)`, install: "apt-get install restic (scripts/debian-packages.txt)" },
    ...RESTIC_RELEASES.map((rel) => ({ path: join(cache, `v${rel}`, "restic"), label: () => rel, install: "scripts/restic-versions.sh" })),
  ];
  return candidates.map((c) => {
    const v = versionOf(c.path);
    return {
      label: c.label(v),
      path: c.path,
      version: v ?? [0, 0],
      ...(v === undefined ? { missing: { missing: `no working restic at ${c.path}`, install: c.install } } : {}),
    };
  });
}

/** Whether a release has restic's --retry-lock (0.16+). */
export const hasRetryLock = (r: ResticRelease) => r.version[0] > 0 || r.version[1] >= 16;
