// Which NixOS release added each option of services.restic.backups.<name>,
// and the release checks built on it (lib/config/backup.ts refuses a
// setting the host's release lacks; lib/nix/module.ts guards with the same
// table). Pure data and functions.
//
// Provenance: vendored from the project's research notes
// (../shared/facts/nixos-restic-options.json, `sinceRelease` and
// `sinceConfidence` of every option; sources there are nixpkgs PRs and copies
// of nixos/modules/services/backup/restic.nix at several dates). A test checks
// this table against that file. "approx"/"uncertain" rows are the notes' own
// grading: a release is at most one step off.

export interface OptionSince {
  sinceRelease: string;
  confidence: "pr-merge-date" | "pr-date" | "approx" | "uncertain";
}

export const RESTIC_OPTION_SINCE: Readonly<Record<string, OptionSince>> = {
  passwordFile: { sinceRelease: "18.09", confidence: "approx" },
  environmentFile: { sinceRelease: "21.11", confidence: "approx" },
  repository: { sinceRelease: "18.09", confidence: "approx" },
  repositoryFile: { sinceRelease: "21.05", confidence: "approx" },
  paths: { sinceRelease: "18.09", confidence: "approx" },
  command: { sinceRelease: "25.11", confidence: "pr-merge-date" },
  exclude: { sinceRelease: "23.05", confidence: "uncertain" },
  timerConfig: { sinceRelease: "18.09", confidence: "approx" },
  user: { sinceRelease: "18.09", confidence: "approx" },
  extraBackupArgs: { sinceRelease: "18.09", confidence: "approx" },
  extraOptions: { sinceRelease: "18.09", confidence: "approx" },
  initialize: { sinceRelease: "18.09", confidence: "approx" },
  pruneOpts: { sinceRelease: "20.03", confidence: "approx" },
  runCheck: { sinceRelease: "24.05", confidence: "pr-date" },
  checkOpts: { sinceRelease: "22.11", confidence: "uncertain" },
  dynamicFilesFrom: { sinceRelease: "20.03", confidence: "approx" },
  backupPrepareCommand: { sinceRelease: "22.11", confidence: "uncertain" },
  backupCleanupCommand: { sinceRelease: "22.11", confidence: "uncertain" },
  package: { sinceRelease: "22.11", confidence: "pr-date" },
  createWrapper: { sinceRelease: "23.11", confidence: "pr-date" },
  progressFps: { sinceRelease: "24.11", confidence: "uncertain" },
  inhibitsSleep: { sinceRelease: "24.11", confidence: "approx" },
  rcloneOptions: { sinceRelease: "20.09", confidence: "approx" },
  rcloneConfig: { sinceRelease: "20.09", confidence: "approx" },
  rcloneConfigFile: { sinceRelease: "20.09", confidence: "approx" },
};

/**
 * The release assumed when the `nixosRelease` key is unset: the newest one the
 * table above describes. Every later release has all of these options, so the
 * default never refuses a configuration that a current host accepts.
 */
export const DEFAULT_NIXOS_RELEASE = "25.11";

/**
 * The oldest release the generated module can work on: it always sets
 * environmentFile (the B2 credentials), which NixOS 21.11 added.
 */
export const OLDEST_NIXOS_RELEASE = "21.11";

/**
 * From which release on restic.nix writes `paths` into a store file read with
 * `restic backup --files-from` (what lib/nix/restic-args.ts escapes for).
 * Older copies of the module (e.g. the one with the deprecated
 * s3CredentialsFile alias, about 22.11/23.05) paste the paths, space-joined,
 * onto the ExecStart= line instead. Copies seen with the --files-from form
 * still had the pre-24.11 `restic snapshots || restic init` check, so the
 * change is older than 24.11; 24.05 is the oldest release assumed to have it
 * (the exact release was not established). Before it, only paths that read
 * the same in both forms are accepted (pathIsPlain).
 */
export const PATHS_VIA_FILES_FROM_SINCE = "24.05";

/** A path that means itself both as a --files-from line and as a systemd command-line word. */
export function pathIsPlain(p: string): boolean {
  return /^[A-Za-z0-9_.,:/@+=-]+$/.test(p);
}

/** "YY.MM" (NixOS releases: 05 and 11 since 20.09... 21.05; 03/09 before) or "unstable" (newest). */
export const NIXOS_RELEASE_PATTERN = /^(?:[0-9]{2}\.(?:03|05|09|11)|unstable)$/;

/** Compare two release names: negative when a is older than b. "unstable" is newer than every release. */
export function compareReleases(a: string, b: string): number {
  const key = (r: string) => (r === "unstable" ? Infinity : Number(r.slice(0, 2)) * 100 + Number(r.slice(3)));
  return key(a) - key(b);
}

/**
 * undefined when `release` has the option; otherwise the release that added it.
 * Throws for an option the table does not list (the renderer must never emit
 * an option that does not exist in NixOS).
 */
export function missingInRelease(option: string, release: string): string | undefined {
  const since = RESTIC_OPTION_SINCE[option];
  if (since === undefined) throw new Error(`services.restic.backups.<name>.${option} is not a NixOS option`);
  return compareReleases(release, since.sinceRelease) < 0 ? since.sinceRelease : undefined;
}
