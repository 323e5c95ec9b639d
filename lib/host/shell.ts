// Building the one command line that remote.Command sends over SSH to put the
// restic-b2 module on a host (or take it away). Pure: no I/O except reading
// the host script once at module load.
//
// sshd hands the command line to the remote user's login shell as ONE
// argument (`$SHELL -c '<line>'`), so every value is quoted with shellQuote
// and the host script only ever sees them as separate arguments.

import * as fs from "fs";
import * as path from "path";

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

/** The host-side script (lib/host/restic-b2-host.sh), sent in full with every command. */
export const HOST_SCRIPT: string = fs.readFileSync(path.join(__dirname, "restic-b2-host.sh"), "utf8");

/** The name the script runs under ($0), shown in its messages. */
export const HOST_SCRIPT_NAME = "restic-b2-host";

/**
 * Upper bound for the whole command line, in bytes. Linux limits one argument
 * to 128 KiB (MAX_ARG_STRLEN), and the remote shell receives the whole line as
 * one argument; the margin leaves room for the shell and sudo.
 */
export const MAX_COMMAND_BYTES = 100 * 1024;

export interface HostCommandParams {
  /** Absolute path of the NixOS configuration directory on the host, e.g. /etc/nixos. */
  configDir: string;
  /** Backup name: the units are restic-backups-<name>.{service,timer}. */
  backupName: string;
  importMode: "auto" | "manual";
  /**
   * install only (ignored by uninstall): relative path under restic-b2/ → file
   * text, e.g. {"module.nix": "...", "secrets/env.age": "-----BEGIN AGE..."}.
   * Sent base64-encoded, in sorted key order. Must contain "module.nix".
   */
  files?: Record<string, string>;
  /** install only: start restic-backups-<name>.service once after the switch. */
  firstBackup?: boolean;
  /**
   * The NixOS system profile whose target is compared before and after a
   * switch to decide on `nixos-rebuild switch --rollback`.
   * Default (left out of the command): /nix/var/nix/profiles/system.
   */
  systemProfile?: string;
}

const BACKUP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Same rule as the host script: a plain relative path, no "." or ".." parts. */
function isValidRelPath(rel: string): boolean {
  if (!/^[A-Za-z0-9._/-]+$/.test(rel)) return false;
  if (rel.startsWith("/") || rel.endsWith("/")) return false;
  return rel.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

/**
 * The exact command line for `remote.Command` (create/update: "install",
 * delete: "uninstall"): `sh -c <script> restic-b2-host <action> <args...>`,
 * prefixed with `sudo -n ` when the SSH user is not root.
 * Deterministic: the same input always gives the same bytes.
 */
export function hostCommand(
  action: "install" | "uninstall",
  p: HostCommandParams,
  opts: { sudo: boolean },
): string {
  if (action !== "install" && action !== "uninstall") {
    throw new Error(`hostCommand: unknown action ${JSON.stringify(action)}`);
  }
  if (!p.configDir.startsWith("/")) {
    throw new Error(`hostCommand: configDir must be an absolute path, got ${JSON.stringify(p.configDir)}`);
  }
  if (!BACKUP_NAME.test(p.backupName)) {
    throw new Error(`hostCommand: backupName must match ${BACKUP_NAME.source}, got ${JSON.stringify(p.backupName)}`);
  }
  if (p.importMode !== "auto" && p.importMode !== "manual") {
    throw new Error(`hostCommand: importMode must be "auto" or "manual", got ${JSON.stringify(p.importMode)}`);
  }
  if (p.systemProfile !== undefined && !p.systemProfile.startsWith("/")) {
    throw new Error(`hostCommand: systemProfile must be an absolute path, got ${JSON.stringify(p.systemProfile)}`);
  }

  const args: string[] = [action, "--config-dir", p.configDir, "--name", p.backupName, "--import-mode", p.importMode];
  if (action === "install") {
    const files = p.files ?? {};
    const names = Object.keys(files).sort();
    if (!names.includes("module.nix")) {
      throw new Error('hostCommand: install needs files["module.nix"]');
    }
    for (const rel of names) {
      if (!isValidRelPath(rel)) {
        throw new Error(`hostCommand: invalid file path ${JSON.stringify(rel)} (relative, [A-Za-z0-9._/-], no "." or ".." parts)`);
      }
      args.push("--file", `${rel}=${Buffer.from(files[rel], "utf8").toString("base64")}`);
    }
    args.push("--first-backup", p.firstBackup ? "1" : "0");
  }
  if (p.systemProfile !== undefined) {
    args.push("--system-profile", p.systemProfile);
  }

  const line =
    (opts.sudo ? "sudo -n " : "") +
    ["sh", "-c", shellQuote(HOST_SCRIPT), HOST_SCRIPT_NAME, ...args.map(shellQuote)].join(" ");
  const bytes = Buffer.byteLength(line, "utf8");
  if (bytes > MAX_COMMAND_BYTES) {
    const sizes = Object.entries(p.files ?? {})
      .map(([rel, text]) => `${rel} (${Buffer.byteLength(text, "utf8")} bytes)`)
      .join(", ");
    throw new Error(
      `hostCommand: the ${action} command would be ${bytes} bytes, over the ${MAX_COMMAND_BYTES}-byte limit ` +
        `(Linux passes the whole SSH command line as one argument, at most 128 KiB). Files: ${sizes || "none"}`,
    );
  }
  return line;
}
