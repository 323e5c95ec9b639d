// The steps the module adds to the backup unit that NixOS's restic module
// makes: the wait for a running restore drill (backupPrepareCommand, the
// host lock of lib/host/repo-lock.sh) and the prune (its own ExecStart= step,
// lib/host/prune.sh, instead of the restic module's, so that a prune that
// cannot lock the repository is a warning and not a failed backup). Each logs
// under its LOG_IDENTIFIERS name through systemd-cat.
//
// Pure; the same input always gives the same bytes.

import { LOG_IDENTIFIERS, backupLayout } from "../host/layout";
import { PRUNE_SCRIPT, REPO_LOCK_SCRIPT } from "../host/scripts";
import { shellQuote } from "../host/shell";
import { nixAttrName, nixString } from "./escape";
import { journalCommand } from "./systemd";

/**
 * Seconds a backup waits for a running drill, and a drill for a running
 * backup, on the host lock they share (layout.repositoryLock). After it the
 * backup goes on without the lock; the drill is recorded as skipped.
 */
export const REPOSITORY_LOCK_WAIT_SECONDS = 6 * 3600;

/** How long `restic forget --prune` retries restic's own lock, where the host's restic has --retry-lock (0.16+). */
export const PRUNE_RETRY_LOCK = "2h";

/** After this many backups in a row whose prune found the repository locked, the lock error fails the backup. */
export const PRUNE_SKIP_LIMIT = 7;

/** The first line of the hooks' scripts (a Nix string): the tools they use, whatever the unit's PATH. */
const PATH_LINE = '"PATH=${pkgs.coreutils}/bin:${pkgs.gnused}/bin:${pkgs.util-linux}/bin:$PATH\\n"';

/** The restic binary the backup unit runs, as a Nix string fragment (the package option where the release has one). */
export function resticBinary(backupName: string): string {
  return `\${config.services.restic.backups.${nixAttrName(backupName)}.package or pkgs.restic}/bin/restic`;
}

/**
 * The line inside services.restic.backups.<name> that makes the backup take
 * the host lock it shares with the drill (lib/host/repo-lock.sh): the first
 * thing of the unit's pre-start step. systemd releases it when the unit ends
 * (KillMode=control-group, pinned by backupUnitLines).
 */
export function backupLockLines(backupName: string): string[] {
  const layout = backupLayout(backupName, "renderModule");
  const script = `\${pkgs.writeShellScript "restic-b2-repo-lock" (${PATH_LINE} + ${nixString(REPO_LOCK_SCRIPT)})}`;
  const args = ["--lock", layout.repositoryLock, "--wait", String(REPOSITORY_LOCK_WAIT_SECONDS)].map(shellQuote).join(" ");
  return [
    "# The host lock shared with the restore drill: the backup waits for a running",
    "# drill (lib/host/repo-lock.sh), so its prune does not meet the drill's locks.",
    `backupPrepareCommand = "${journalCommand(LOG_IDENTIFIERS.repoLock, script)} ${nixString(args).slice(1, -1)}";`,
  ];
}

/**
 * Attribute paths into the backup unit (module top level): with the host lock,
 * KillMode pinned to systemd's default, which the lock relies on; when pruneOpts is
 * not empty, the prune step after the backup (and after restic's check, when
 * runCheck is on: NixOS's ExecStart= list is one definition, so an added step
 * can only come before or after all of it).
 *
 * @param pruneOpts the options as systemd command-line text (resticOptionText)
 */
export function backupUnitLines(backupName: string, lock: boolean, pruneOpts: readonly string[]): string[] {
  const layout = backupLayout(backupName, "renderModule");
  const unit = `systemd.services.${nixAttrName(layout.backupUnit)}.serviceConfig`;
  const out: string[] = [];
  if (lock) {
    out.push(
      "# The host lock of backupPrepareCommand is held by a process left in the unit's",
      "# cgroup: systemd stops it when the unit ends, however it ends.",
      `${unit}.KillMode = "control-group";`,
    );
  }
  if (pruneOpts.length === 0) return out;
  const script =
    `\${pkgs.writeShellScript "restic-b2-prune" (${PATH_LINE} + ${nixString(PRUNE_SCRIPT)})}`;
  const fixed = ["--state-dir", layout.stateDir, "--retry-lock", PRUNE_RETRY_LOCK, "--skip-limit", String(PRUNE_SKIP_LIMIT), "--"].join(" ");
  out.push(
    "# restic forget --prune (lib/host/prune.sh): with --retry-lock where restic has it",
    `# (0.16+, up to ${PRUNE_RETRY_LOCK}); a repository still locked is a warning, not a failed backup.`,
    `${unit}.ExecStart = lib.mkAfter [`,
    `  ("${journalCommand(LOG_IDENTIFIERS.prune, script)} --restic ${resticBinary(backupName)} ${fixed} " + ${nixString(pruneOpts.join(" "))})`,
    "];",
  );
  return out;
}
