import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ImportMode } from "../lib/config/types";
import { AGE_FILES, AgeFile, MODULE_FILE, backupLayout, hostAgeFile, installLayout } from "../lib/host/layout";
import { hostCommand, hostStdin } from "../lib/host/shell";
import { armoredFileText } from "../lib/age/ssh";

export interface HostDeploymentArgs {
  /** The Pulumi project and stack, recorded on the host as its owner (a second stack is refused). */
  project: string;
  stack: string;
  /** How to reach the machine (not which machine it is): a change is an update over the new connection. */
  host: string;
  sshPort: number;
  sshUser: string;
  /** Secret; undefined: the command provider uses the SSH agent (SSH_AUTH_SOCK). */
  sshPrivateKey?: pulumi.Input<string>;
  /** The host's SSH public key ("<type> <base64>"): the connection is refused if the host shows another. */
  hostKey: string;
  hostConfigDir: string;
  backupName: string;
  importMode: ImportMode;
  runFirstBackup: boolean;
  /**
   * After the switch, run the credentials check (installed by the module)
   * and fail and roll back when B2 refuses the deployed credentials.
   */
  verifyOnDeploy: boolean;
  /** The rendered NixOS module (module.nix on the host). */
  module: string;
  /** The armored agenix files, by name (ciphertext). */
  files: Record<AgeFile, pulumi.Input<string>>;
  /** More armored agenix files by name (monitoring secrets), pushed beside the three. */
  extraFiles?: Record<string, pulumi.Input<string>>;
}

/**
 * Pushes the module and the agenix files to the NixOS host over SSH and
 * switches to the new configuration, all in one remote command (one SSH
 * session per create, update or delete): a short `sh -s -- install ...` whose
 * stdin carries the host script and the files (lib/host/shell.ts). The host script installs atomically
 * and restores the previous files if `nixos-rebuild switch` fails; the delete
 * command removes everything it installed and switches again.
 *
 * The engine runs the command only when its inputs change, so a `pulumi up`
 * with unchanged configuration runs nothing on the host.
 *
 * Nothing ever replaces the command (a replacement would run the uninstall
 * of the old one around the install of the new): a new host, port or user is
 * an update over the new connection, and a new backup name or config dir is
 * an update too, which the host script does as one swap (it finds the old
 * install in its owner record). The delete runs with the connection in state.
 */
export class HostDeployment extends pulumi.ComponentResource {
  public readonly modulePath: string;
  public readonly service: string;
  public readonly timer: string;
  /** What the host script printed on the last install (a summary, no secrets). */
  public readonly summary: pulumi.Output<string>;

  constructor(name: string, args: HostDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nixos-restic-b2:index:HostDeployment", name, {}, opts);
    const units = backupLayout(args.backupName, "HostDeployment");
    this.modulePath = installLayout(args.hostConfigDir).modulePath;
    this.service = units.backupService;
    this.timer = units.backupTimer;

    const sudo = args.sshUser !== "root";
    const common = {
      hostConfigDir: args.hostConfigDir,
      backupName: args.backupName,
      importMode: args.importMode,
      project: args.project,
      stack: args.stack,
    };
    const extra = args.extraFiles ?? {};
    const names: string[] = [...AGE_FILES, ...Object.keys(extra).sort()];
    const input = (f: string) => (f in extra ? extra[f] : args.files[f as AgeFile]);
    const files = pulumi.all(names.map((f) => pulumi.output(input(f)))).apply((texts) => {
      const out: Record<string, string> = { [MODULE_FILE]: args.module };
      names.forEach((f, i) => (out[hostAgeFile(f)] = armoredFileText(texts[i])));
      return out;
    });
    // The command names the files by sha256 (a few hundred bytes, so a diff or
    // an error shows which file changed); the script and the files travel on
    // stdin, where a diff shows the changed lines of the module.
    const install = files.apply((f) =>
      hostCommand("install", { ...common, files: f, runFirstBackup: args.runFirstBackup, verifyOnDeploy: args.verifyOnDeploy }, { sudo }),
    );
    const stdin = files.apply((f) => hostStdin(f));

    const deploy = new command.remote.Command(
      `${name}-deploy`,
      {
        connection: {
          host: args.host,
          port: args.sshPort,
          user: args.sshUser,
          privateKey: args.sshPrivateKey === undefined ? undefined : pulumi.secret(args.sshPrivateKey),
          hostKey: args.hostKey,
        },
        // No `update`: the provider runs `create` again, and the script
        // installs idempotently, so an update never needs the
        // uninstall-then-install of a replacement.
        create: install,
        // Runs with the stdin stored with the last install (the same bundle).
        delete: hostCommand("uninstall", common, { sudo }),
        stdin,
        // Only the script's summary is streamed; a failure's lines (stderr)
        // are shown once, in the engine's error.
        logging: "stdout",
        addPreviousOutputInEnv: false,
      },
      // No triggers: a change of them would replace the command. Stacks
      // deployed before this kept [host, sshPort, hostConfigDir, backupName]
      // in state; ignoring the property keeps that old value, so dropping it
      // is no change (and no replacement) either.
      { parent: this, ignoreChanges: ["triggers"] },
    );
    this.summary = deploy.stdout;

    this.registerOutputs({ modulePath: this.modulePath, service: this.service, timer: this.timer });
  }
}
