// The remote command that puts the restic-b2 module on a host (or takes it
// away): a short command line (hostCommand) and a stdin bundle (hostStdin)
// with the host script and the files. Pure: no I/O except reading the host
// script once at module load.
//
// sshd hands the command line to the remote user's login shell as ONE
// argument (`$SHELL -c '<line>'`), so every value is quoted with shellQuote
// and the host script only ever sees them as separate arguments. The bundle
// is shell too (the script reads it with `sh -s`), and every file text in it
// is one shellQuote'd word.

import * as crypto from "crypto";
import { MODULE_FILE, STACK_ID_PATTERN, checkBackupName } from "./layout";
import { HOST_SCRIPT } from "./scripts";

/**
 * Quotes a string for POSIX sh: the result is one shell word that expands to
 * exactly `s`. Single quotes around everything; each `'` becomes `'\''`.
 * NUL cannot be part of a shell word (or a C string), so it is rejected.
 */
export function shellQuote(s: string): string {
  if (s.includes("\0")) {
    throw new Error("shellQuote: a NUL character cannot be passed through a shell");
  }
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

/** The name the script prints in its messages. */
export const HOST_SCRIPT_NAME = "restic-b2-host";

/** The script's last line: the bundle puts the files between the rest of the script and it. */
const MAIN_LINE = 'main "$@"\n';
if (!HOST_SCRIPT.endsWith("\n" + MAIN_LINE)) {
  throw new Error(`lib/host/restic-b2-host.sh must end with the line ${JSON.stringify(MAIN_LINE)}`);
}

/**
 * First line of every bundle. For sh it is the no-op `:`; it also keeps
 * `pulumi preview --diff` from decoding the bundle as YAML (a value holding
 * ": " is not valid there), so the diff is a plain line diff.
 */
export const BUNDLE_HEADER = ": restic-b2-host bundle: the host script, its files, then main\n";

/** The host script's parameters; each is named after the stack config key it comes from. */
export interface HostCommandParams {
  /** Absolute path of the NixOS configuration directory on the host, e.g. /etc/nixos. */
  hostConfigDir: string;
  /** Backup name: the script gets the units and commands named after it (lib/host/layout.ts). */
  backupName: string;
  importMode: "auto" | "manual";
  /**
   * The Pulumi project and stack: the install records them as the host's
   * owner (lib/host/layout.ts OWNER_RECORD), refuses a host another stack
   * owns, and the uninstall removes only its own stack's install.
   */
  project: string;
  stack: string;
  /**
   * install only (ignored by uninstall): relative path under restic-b2/ → file
   * text, e.g. {"module.nix": "...", "secrets/env.age": "-----BEGIN AGE..."}.
   * The command names each with its sha256; the text travels in the bundle
   * (hostStdin). Must contain "module.nix".
   */
  files?: Record<string, string>;
  /** install only: start the backup's service once after the switch. */
  runFirstBackup?: boolean;
  /** install only: run the credentials check after the switch (default true). */
  verifyOnDeploy?: boolean;
  /**
   * The NixOS system profile whose target is compared before and after a
   * switch to decide on `nixos-rebuild switch --rollback`.
   * Default (left out of the command): /nix/var/nix/profiles/system.
   */
  systemProfile?: string;
}

/** Same rule as the host script: a plain relative path, no "." or ".." parts. */
function isValidRelPath(rel: string): boolean {
  if (!/^[A-Za-z0-9._/-]+$/.test(rel)) return false;
  if (rel.startsWith("/") || rel.endsWith("/")) return false;
  return rel.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

/** Hex sha256 of a file's UTF-8 bytes, as the host's sha256sum prints it. */
export function fileSha256(text: string): string {
  return crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

function sortedFiles(files: Record<string, string> | undefined): string[] {
  const names = Object.keys(files ?? {}).sort();
  for (const rel of names) {
    if (!isValidRelPath(rel)) {
      throw new Error(`hostCommand: invalid file path ${JSON.stringify(rel)} (relative, [A-Za-z0-9._/-], no "." or ".." parts)`);
    }
  }
  return names;
}

/**
 * The short command line for `remote.Command` (create: "install", delete:
 * "uninstall"): `sh -s -- <action> <args...>`, prefixed with `sudo -n ` when
 * the SSH user is not root. It carries no payload: install names each file
 * with its sha256 (`--file REL=SHA256`), and the script and the files arrive
 * on stdin (hostStdin). Deterministic: the same input always gives the same bytes.
 */
export function hostCommand(
  action: "install" | "uninstall",
  p: HostCommandParams,
  opts: { sudo: boolean },
): string {
  if (action !== "install" && action !== "uninstall") {
    throw new Error(`hostCommand: unknown action ${JSON.stringify(action)}`);
  }
  if (!p.hostConfigDir.startsWith("/")) {
    throw new Error(`hostCommand: hostConfigDir must be an absolute path, got ${JSON.stringify(p.hostConfigDir)}`);
  }
  // The script builds the backup's names from it with the same layout (lib/host/layout.ts layoutShell).
  checkBackupName(p.backupName, "hostCommand");
  if (p.importMode !== "auto" && p.importMode !== "manual") {
    throw new Error(`hostCommand: importMode must be "auto" or "manual", got ${JSON.stringify(p.importMode)}`);
  }
  for (const key of ["project", "stack"] as const) {
    if (!STACK_ID_PATTERN.test(p[key])) {
      throw new Error(`hostCommand: ${key} must be 1 to 100 letters, digits, '_', '.' or '-', got ${JSON.stringify(p[key])}`);
    }
  }
  if (p.systemProfile !== undefined && !p.systemProfile.startsWith("/")) {
    throw new Error(`hostCommand: systemProfile must be an absolute path, got ${JSON.stringify(p.systemProfile)}`);
  }

  const args: string[] = [
    action,
    "--host-config-dir", p.hostConfigDir,
    "--backup-name", p.backupName,
    "--import-mode", p.importMode,
    "--project", p.project,
    "--stack", p.stack,
  ];
  if (action === "install") {
    const names = sortedFiles(p.files);
    if (!names.includes(MODULE_FILE)) {
      throw new Error(`hostCommand: install needs files[${JSON.stringify(MODULE_FILE)}]`);
    }
    for (const rel of names) args.push("--file", `${rel}=${fileSha256(p.files![rel])}`);
    args.push("--run-first-backup", p.runFirstBackup ? "1" : "0");
    args.push("--verify-on-deploy", p.verifyOnDeploy === false ? "0" : "1");
  }
  if (p.systemProfile !== undefined) {
    args.push("--system-profile", p.systemProfile);
  }
  return (opts.sudo ? "sudo -n " : "") + ["sh", "-s", "--", ...args.map(shellQuote)].join(" ");
}

/**
 * The stdin of the remote command: a POSIX sh script that `sh -s` runs. It is
 * BUNDLE_HEADER, the host script without its last line, one
 * `rb2_file 'REL' 'TEXT'` line per file (sorted; TEXT quoted with shellQuote,
 * so the module's lines stay readable in a diff), and `main "$@"`. Nothing
 * runs before that last line has arrived. The same bundle serves uninstall
 * (the engine sends the stored stdin with the delete command), which ignores
 * the files. Deterministic.
 */
export function hostStdin(files: Record<string, string> = {}): string {
  const names = sortedFiles(files);
  const body = HOST_SCRIPT.slice(0, HOST_SCRIPT.length - MAIN_LINE.length);
  const records = names.map((rel) => `rb2_file ${shellQuote(rel)} ${shellQuote(files[rel])}\n`).join("");
  return BUNDLE_HEADER + body + records + MAIN_LINE;
}
