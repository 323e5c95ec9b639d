// Ready-to-paste restore commands for the stack outputs. Pure; no secret
// values: they say where the secrets are, never what they are.

import { AGE_FILES, AgeFile, RESTORE_TARGET, backupLayout } from "./layout";
import { shellQuote } from "./shell";

export interface RestoreCommands {
  /** On the host: the NixOS module's `restic-<name>` wrapper has the unit's repository, password and B2 key. */
  onHost: string;
  /** From an admin's machine: decrypt the agenix files with your SSH key and run restic directly (bash). */
  fromAdminMachine: string;
  /** The last restore drill's result (root-only JSON on the host); undefined when the drill is off. */
  drill?: string;
  /** The credentials check the deploy runs: does the repository open with the deployed password and key? */
  verify: string;
}

/** What the commands are made of: the parts of the parsed stack config they need (MachineConfig has them). */
export interface RestoreInput {
  backup: { backupName: string };
  host: { host: string; sshPort: number; sshUser: string };
  secrets: { agenixDir: string };
  drill: { settings?: unknown };
}

/**
 * `restic <args>` from an admin's machine (bash): the agenix files decrypted
 * with the admin's SSH key straight into restic's environment, so no secret
 * is on a command line or in a file.
 */
export function adminResticCommand(cfg: Pick<RestoreInput, "secrets">, resticArgs: string): string {
  const [env, repo, password]: readonly AgeFile[] = AGE_FILES;
  const age = (f: AgeFile) => `"$(age -d -i ~/.ssh/id_ed25519 ${shellQuote(`${cfg.secrets.agenixDir}/${f}`)})"`;
  return `(set -a; eval ${age(env)}; RESTIC_REPOSITORY=${age(repo)}; RESTIC_PASSWORD=${age(password)}; restic ${resticArgs})`;
}

export function restoreCommands(cfg: RestoreInput): RestoreCommands {
  const layout = backupLayout(cfg.backup.backupName, "restoreCommands");
  const wrapper = `${layout.wrapperCommand} restore latest --target ${RESTORE_TARGET.host}`;
  const sudo = cfg.host.sshUser === "root" ? "" : "sudo ";
  const port = cfg.host.sshPort === 22 ? "" : `-p ${cfg.host.sshPort} `;
  const onHostRun = (command: string) =>
    cfg.host.host === "" ? `sudo ${command}` : `ssh ${port}${shellQuote(`${cfg.host.sshUser}@${cfg.host.host}`)} ${sudo}${command}`;
  const onHost = onHostRun(wrapper);
  const fromAdminMachine = adminResticCommand(cfg, `restore latest --target ${RESTORE_TARGET.admin}`);
  const verify = onHostRun(layout.verifyCommand);
  if (cfg.drill.settings === undefined) return { onHost, fromAdminMachine, verify };
  return { onHost, fromAdminMachine, drill: onHostRun(`cat ${layout.drillResult}`), verify };
}
