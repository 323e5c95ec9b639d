import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { renderEnvFile, renderSecretsNix } from "../lib/nix/agenix";
import { AGE_FILES, AgeFile, MODULE_FILE, checkExtraAgeFiles } from "../lib/host/layout";
import { shellQuote } from "../lib/host/shell";
import { randomHex } from "./random";

export interface AgenixSecretsArgs {
  /** The stack (machine) name, written into secrets.nix's header. */
  stack: string;
  /** The host's SSH public key, normalised ("<type> <base64>"). */
  hostKey: string;
  /** Admin recipients, normalised. */
  adminKeys: string[];
  /** agenixDir: the local directory, relative to the project (or absolute), for the .age files and secrets.nix. */
  agenixDir: string;
  /** B2 key id and key restic uses (secrets). */
  keyId: pulumi.Input<string>;
  key: pulumi.Input<string>;
  /** The restic repository string, b2:<bucket>[:<path>]. */
  repository: pulumi.Input<string>;
  /** A password the user supplied for an existing repository; undefined: generate one. */
  resticPassword?: pulumi.Input<string>;
  /**
   * A NixOS module to write beside the files as module.nix (referring to
   * them as ./env.age etc.), for machines deployed by other tools.
   */
  module?: string;
  /**
   * More agenix files, by file name (e.g. "healthcheck.age" → the ping URL,
   * a secret): each is encrypted like the three, listed in secrets.nix, and
   * removed from agenixDir when it is no longer configured. An undefined
   * value means "not configured": no file, no resource.
   */
  extraFiles?: Record<string, pulumi.Input<string> | undefined>;
}

/**
 * The command a local command runs to encrypt stdin to a file, or to write
 * stdin to a file, with the same TypeScript loader the program uses. The
 * engine starts the command provider in the project directory, and a local
 * command without `dir` runs there, so the relative path holds; `dir` is not
 * set because an absolute path would differ between checkouts and make every
 * admin's first `pulumi up` re-encrypt.
 */
export function localFilesCommand(verb: "encrypt" | "write" | "remove", file: string): string {
  return `node -r ts-node/register/transpile-only lib/age/local-files.ts ${verb} ${shellQuote(file)}`;
}

/**
 * The agenix files for one machine: env.age (B2 key as an EnvironmentFile),
 * repo.age (the restic repository), password.age (the restic password), each
 * encrypted to the host's SSH key and every admin key, plus secrets.nix.
 *
 * age encryption is randomized, so encrypting in the program on every run
 * would change every preview. Each file is instead produced by a local
 * command whose inputs are the recipients and the plaintext (a secret, sent
 * on stdin): the engine reruns it only when one of those changes, and the
 * ciphertext it printed is kept in state as its stdout.
 */
export class AgenixSecrets extends pulumi.ComponentResource {
  /** ASCII-armored age files, by file name (ciphertext: not secret). */
  public readonly files: Record<AgeFile, pulumi.Output<string>>;
  /** The extra files' ciphertext, by file name (only those configured). */
  public readonly extraFiles: Record<string, pulumi.Output<string>>;
  /** The restic password (secret). */
  public readonly password: pulumi.Output<string>;
  /** Everyone the files are encrypted to: the host key first, then the admins. */
  public readonly recipients: string[];
  public readonly secretsNix: string;

  constructor(name: string, args: AgenixSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nixos-restic-b2:index:AgenixSecrets", name, {}, opts);
    const child = { parent: this };

    this.recipients = [args.hostKey, ...args.adminKeys];
    // The generated password always exists, even while a user-supplied one is
    // in use, so removing resticPassword later returns to the same generated
    // password instead of making a new one.
    const generated = randomHex(`${name}-restic-password`, 32, true, child);
    this.password = args.resticPassword !== undefined ? pulumi.secret(args.resticPassword) : generated;

    const plaintexts: Record<AgeFile, pulumi.Output<string>> = {
      "env.age": pulumi.all([args.keyId, args.key]).apply(([id, key]) => renderEnvFile(id, key)),
      "repo.age": pulumi.output(args.repository),
      "password.age": this.password,
    };

    const encrypt = (file: string, plaintext: pulumi.Input<string>, removable: boolean) => {
      const request = pulumi.output(plaintext).apply((p) => JSON.stringify({ recipients: this.recipients, plaintext: p }));
      const target = path.join(args.agenixDir, file);
      return new command.local.Command(
        `${name}-${file.replace(/\.age$/, "")}`,
        {
          create: localFilesCommand("encrypt", target),
          ...(removable ? { delete: `rm -f -- ${shellQuote(target)}` } : {}),
          stdin: pulumi.secret(request),
          // stdout is the ciphertext; only errors are worth showing.
          logging: "stderr",
        },
        child,
      ).stdout;
    };
    const files = {} as Record<AgeFile, pulumi.Output<string>>;
    for (const file of AGE_FILES) files[file] = encrypt(file, plaintexts[file], false);
    this.files = files;

    // Extra files (monitoring secrets) carry nothing needed to restore, so
    // unlike the three they are removed with their resource.
    const extraNames = Object.keys(args.extraFiles ?? {})
      .filter((f) => args.extraFiles![f] !== undefined)
      .sort();
    checkExtraAgeFiles(extraNames);
    this.extraFiles = {};
    for (const file of extraNames) this.extraFiles[file] = encrypt(file, args.extraFiles![file]!, true);

    this.secretsNix = renderSecretsNix(args.stack, args.hostKey, args.adminKeys, extraNames);
    const plainFiles: [string, string][] = [["secrets.nix", this.secretsNix]];
    if (args.module !== undefined) plainFiles.push([MODULE_FILE, args.module]);
    for (const [file, text] of plainFiles) {
      new command.local.Command(
        `${name}-${file.replace(/\.nix$/, "")}-nix`,
        { create: localFilesCommand("write", path.join(args.agenixDir, file)), stdin: text, logging: "stderr" },
        child,
      );
    }
    if (args.module === undefined) {
      // Deployed by this program: a module.nix left in agenixDir by an
      // earlier deploy: false would be stale (a flake still importing it would
      // run an old module). The same resource as the writer above, so
      // deploy false → true is an update that removes the file, and true →
      // false one that writes it again.
      new command.local.Command(
        `${name}-module-nix`,
        { create: localFilesCommand("remove", path.join(args.agenixDir, MODULE_FILE)), logging: "stderr" },
        child,
      );
    }

    this.registerOutputs({ files: this.files, recipients: this.recipients });
  }
}
