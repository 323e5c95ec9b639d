// Ready-to-paste restore commands for the stack outputs. Pure; no secret
// values: they say where the secrets are, never what they are.

import { MachineConfig } from "../config/types";
import { drillStatePath, verifyCommandName } from "../nix/drill";
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

/**
 * `restic <args>` from an admin's machine (bash): the agenix files decrypted
 * with the admin's SSH key straight into restic's environment, so no secret
 * is on a command line or in a file.
 */
export function adminResticCommand<S>(cfg: MachineConfig<S>, resticArgs: string): string {
  const age = (f: string) => `"$(age -d -i ~/.ssh/id_ed25519 ${shellQuote(`${cfg.secrets.secretsDir}/${f}`)})"`;
  return `(set -a; eval ${age("env.age")}; RESTIC_REPOSITORY=${age("repo.age")}; RESTIC_PASSWORD=${age("password.age")}; restic ${resticArgs})`;
}

export function restoreCommands<S>(cfg: MachineConfig<S>): RestoreCommands {
  const wrapper = `restic-${cfg.backup.backupName} restore latest --target /var/lib/restic-restore`;
  const sudo = cfg.host.sshUser === "root" ? "" : "sudo ";
  const port = cfg.host.sshPort === 22 ? "" : `-p ${cfg.host.sshPort} `;
  const onHostRun = (command: string) =>
    cfg.host.host === "" ? `sudo ${command}` : `ssh ${port}${shellQuote(`${cfg.host.sshUser}@${cfg.host.host}`)} ${sudo}${command}`;
  const onHost = onHostRun(wrapper);
  const fromAdminMachine = adminResticCommand(cfg, "restore latest --target ./restic-restore");
  const name = cfg.backup.backupName;
  const verify = onHostRun(verifyCommandName(name));
  if (cfg.drill.settings === undefined) return { onHost, fromAdminMachine, verify };
  return { onHost, fromAdminMachine, drill: onHostRun(`cat ${drillStatePath(name)}`), verify };
}
