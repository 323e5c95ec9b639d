// The repository's identity, as NixOS module text: lib/host/repo-guard.sh
// (embedded byte for byte) as system.build.restic-b2-repo-guard-<name>, run
// from the backup unit
//   - first in its pre-start (`preStart = lib.mkBefore`): `check`, before the
//     restic module's own pre-start (backupPrepareCommand, then
//     `restic cat config || restic init` with initialize = true), so a
//     repository that vanished or was replaced fails the unit before restic
//     could initialize a new one;
//   - after a successful backup (`postStart`, systemd's ExecStartPost): `record`;
// and the command restic-b2-reset-<name> (`reset`), for starting over on purpose.
//
// preStart and postStart are NixOS `lines` options: these definitions merge
// with the restic module's own preStart (which runs backupPrepareCommand, so
// a section that sets that option still coexists), and no other part of the
// module needs to know about them.
//
// Pure. Same input, same bytes. Names and paths come from lib/host/layout.ts.

import { backupLayout } from "../host/layout";
import { REPO_GUARD_SCRIPT } from "../host/scripts";
import { shellQuote } from "../host/shell";
import { nixAttrName, nixString } from "./escape";

/** The system.build attribute of backup `name`'s guard script. */
export function repoGuardBuildAttr(name: string): string {
  return `restic-b2-repo-guard-${backupLayout(name, "renderModule").name}`;
}

/** What the section gives the module: top-level lines, and a package for environment.systemPackages. */
export interface RepoGuardText {
  lines: string[];
  /** The restic-b2-reset-<name> command (a Nix expression). */
  resetPackage: string;
}

/**
 * The guard of backup `name`. Its shell text is the script with a PATH line
 * (jq, coreutils, sed); the restic path is the backup's package, as the drill's.
 */
export function renderRepoGuard(name: string): RepoGuardText {
  const layout = backupLayout(name, "renderModule");
  const attr = nixAttrName(name);
  const build = repoGuardBuildAttr(name);
  const guard = `\${config.system.build.${nixAttrName(build)}}`;
  const restic = `\${config.services.restic.backups.${attr}.package or pkgs.restic}/bin/restic`;
  const common = ["--backup-name", name, "--id-file", layout.repositoryIdFile].map(shellQuote).join(" ");
  // Fixed words and Nix interpolations only; the arguments go through shellQuote and nixString.
  const command = (action: "check" | "record") => `"${guard} ${action} --restic ${restic} \${${nixString(common)}}\\n"`;
  const pathLine = '"PATH=${pkgs.jq}/bin:${pkgs.coreutils}/bin:${pkgs.gnused}/bin:$PATH\\n"';
  const unit = `systemd.services.${nixAttrName(layout.backupUnit)}`;
  return {
    lines: [
      "",
      "# Repository identity (lib/host/repo-guard.sh): the first successful backup",
      `# records the repository's id in ${layout.repositoryIdFile}; from then on`,
      "# a missing or different repository fails the backup before the restic",
      "# module's pre-start can initialize a new one (it runs `restic init` when",
      `# \`restic cat config\` fails). \`${layout.resetCommand}\` removes the record, to start over.`,
      `system.build.${nixAttrName(build)} = pkgs.writeShellScript "restic-b2-repo-guard" (${pathLine} + ${nixString(REPO_GUARD_SCRIPT)});`,
      `${unit}.preStart = lib.mkBefore ${command("check")};`,
      `${unit}.postStart = ${command("record")};`,
    ],
    resetPackage: `(pkgs.writeShellScriptBin ${nixString(layout.resetCommand)} "exec ${guard} reset \${${nixString(common)}}\\n")`,
  };
}
