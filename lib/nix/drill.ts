// The restore checks of one backup, as NixOS module text: the credentials
// check command `restic-b2-verify-<name>` (always installed) and the restore
// drill unit and timer `restic-b2-drill-<name>` (when the drill is on). The
// scripts themselves are lib/host/verify.sh and lib/host/drill.sh, embedded
// byte for byte with pkgs.writeShellScript; the module only passes them the
// production paths.
//
// Pure. Same input, same bytes. Names and paths come from lib/host/layout.ts.

import type { DrillSettings } from "../config/types";
import { LOG_IDENTIFIERS, backupLayout, drillScratchDir } from "../host/layout";
import { DRILL_SCRIPT, VERIFY_SCRIPT } from "../host/scripts";
import { shellQuote } from "../host/shell";
import { REPOSITORY_LOCK_WAIT_SECONDS, resticBinary } from "./backup-steps";
import { nixAttrName, nixString } from "./escape";
import { checkTimerSettings, timerSettingsLines } from "./systemd";

/** The longest a drill may run (systemd TimeoutStartSec=); then it is stopped and counts as failed. */
export const DRILL_TIMEOUT = "1d";

/** Seconds restic-b2-verify-<name> gives restic to open the repository (`--timeout N` overrides). */
export const VERIFY_TIMEOUT_SECONDS = 60;

export interface RestoreChecksOptions {
  backupName: string;
  /** The backed-up paths: the drill never restores inside them. */
  paths: readonly string[];
  /** The drill's settings; undefined: no drill unit (the verify command is always installed). */
  drill?: DrillSettings;
  /** The unit to start when the drill fails (the backup's desktop notification), if any. */
  notifyService?: string;
  /** Nix expressions of the agenix files' paths on the host. */
  secretPaths: { env: string; repo: string; password: string };
  /** Other Nix expressions for environment.systemPackages (this renders the one definition). */
  otherPackages: readonly string[];
}

/** Attribute definitions for the module's top-level attribute set. */
export type RestoreChecks = string[];

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(`renderModule: ${message}`);
}

/**
 * The renderer's own guards (lib/config/ has given the user's messages): the
 * timer must be writable as a unit section, and the drill needs somewhere to
 * restore to.
 */
function validate(o: RestoreChecksOptions): void {
  const d = o.drill;
  if (d === undefined) return;
  checkTimerSettings("drill.timerConfig", d.timerConfig);
  check(
    drillScratchDir(o.backupName, o.paths) !== undefined,
    "the drill needs a scratch directory outside the backed-up paths (state, cache and runtime directories are all inside them)",
  );
}

/**
 * A shell wrapper (a Nix '' string body): PATH, then exec of the embedded
 * script with the production arguments. Nix-evaluated values (store paths,
 * agenix paths) are interpolated through lib.escapeShellArg; every other
 * argument is quoted with shellQuote here and written as a Nix string.
 */
function wrapper(script: string, scriptName: string, nixArgs: string[], args: string[]): string[] {
  const fixed = args.map(shellQuote).join(" ");
  return [
    "export PATH=${pkgs.coreutils}/bin:${pkgs.gnused}/bin:${pkgs.gnugrep}/bin:${pkgs.jq}/bin:${pkgs.util-linux}/bin",
    `exec \${pkgs.writeShellScript ${nixString(scriptName)} ${nixString(script)}} \\`,
    ...nixArgs.map((a) => `  ${a} \\`),
    `  \${${nixString(fixed)}} "$@"`,
  ];
}

/** The lines of `(pkgs.writeShellScript[Bin] "name" '' ... '')`. */
function shellScriptExpr(builder: "writeShellScript" | "writeShellScriptBin", name: string, body: string[]): string[] {
  return [`(pkgs.${builder} ${nixString(name)} ''`, ...body.map((l) => `  ${l}`), "'')"];
}

/**
 * The restore checks of one backup: the credentials check command, and (when
 * opts.drill is set) the drill service and timer. Called once by renderModule.
 */
export function renderRestoreChecks(opts: RestoreChecksOptions): RestoreChecks {
  const layout = backupLayout(opts.backupName, "renderModule");
  validate(opts);
  const name = opts.backupName;
  const restic = resticBinary(name);
  const credentialArgs = [
    `--restic ${restic}`,
    `--env-file \${lib.escapeShellArg ${opts.secretPaths.env}}`,
    `--repository-file \${lib.escapeShellArg ${opts.secretPaths.repo}}`,
    `--password-file \${lib.escapeShellArg ${opts.secretPaths.password}}`,
  ];

  const verify = shellScriptExpr(
    "writeShellScriptBin",
    layout.verifyCommand,
    wrapper(VERIFY_SCRIPT, "restic-b2-verify", credentialArgs, [
      "--backup-name", name, "--timeout", String(VERIFY_TIMEOUT_SECONDS), "--repository-id-file", layout.repositoryIdFile,
    ]),
  );

  const lines: string[] = [];
  const d = opts.drill;
  if (d !== undefined) {
    const unit = layout.drillUnit;
    const scratch = drillScratchDir(name, opts.paths)!;
    const args = [
      "--backup-name", name,
      "--state-dir", layout.stateDir,
      "--scratch-dir", scratch.dir,
      "--sample-files", String(d.sampleFiles),
      "--max-file-bytes", String(d.maxFileBytes),
      "--check-groups", String(d.checkGroups),
      "--repository-lock", layout.repositoryLock,
      "--repository-lock-wait", String(REPOSITORY_LOCK_WAIT_SECONDS),
      "--repository-id-file", layout.repositoryIdFile,
      ...opts.paths.flatMap((p) => ["--backup-path", p]),
    ];
    const exec = shellScriptExpr("writeShellScript", unit, wrapper(DRILL_SCRIPT, "restic-b2-drill", credentialArgs, args));
    lines.push(
      "",
      "# Restore drill: restic check of one rotating pack group, then a verified",
      "# restore of a random sample into a private scratch directory that is removed",
      `# afterwards. Result: ${layout.drillResult}. Run it by hand with`,
      `# \`systemctl start ${layout.drillService}\`. The sandbox leaves only the drill's own`,
      "# state, cache and runtime directories writable.",
      `systemd.services.${nixAttrName(unit)} = {`,
      `  description = ${nixString(`Restore drill of the restic backup ${name}`)};`,
      '  wants = [ "network-online.target" ];',
      `  after = [ "network-online.target" ${nixString(layout.backupService)} ];`,
    );
    if (opts.notifyService !== undefined) lines.push(`  onFailure = [ ${nixString(`${opts.notifyService}.service`)} ];`);
    lines.push(
      "  restartIfChanged = false;",
      "  serviceConfig = {",
      '    Type = "oneshot";',
      '    User = "root";',
      `    StateDirectory = ${nixString(layout.systemdDirName)};`,
      '    StateDirectoryMode = "0700";',
    );
    if (scratch.kind === "cache") lines.push(`    CacheDirectory = ${nixString(layout.systemdDirName)};`, '    CacheDirectoryMode = "0700";');
    if (scratch.kind === "runtime") lines.push(`    RuntimeDirectory = ${nixString(layout.systemdDirName)};`, '    RuntimeDirectoryMode = "0700";');
    lines.push(
      '    ProtectSystem = "strict";',
      '    ProtectHome = "read-only";',
      "    PrivateTmp = true;",
      "    NoNewPrivileges = true;",
      // A drill that hangs (a stalled connection) would otherwise block every
      // later one without a word: after a day it is stopped, recorded and reported.
      `    TimeoutStartSec = ${nixString(DRILL_TIMEOUT)};`,
      // restic's lines too: `journalctl -t restic-b2-drill` (the hooks log as restic-b2-monitor).
      `    SyslogIdentifier = ${nixString(LOG_IDENTIFIERS.drill)};`,
      "    Nice = 10;",
      '    IOSchedulingClass = "idle";',
      // A store path: nothing in it that systemd would expand.
      `    ExecStart = "\${${exec[0]}`,
      ...exec.slice(1, -1).map((l) => `    ${l}`),
      `    ${exec[exec.length - 1]}}";`,
      "  };",
      "};",
      `systemd.timers.${nixAttrName(unit)} = {`,
      `  description = ${nixString(`Timer of the restore drill of the restic backup ${name}`)};`,
      '  wantedBy = [ "timers.target" ];',
      "  timerConfig = {",
      ...timerSettingsLines(d.timerConfig).map((l) => `    ${l}`),
      "  };",
      "};",
    );
  }
  lines.push(
    "",
    `# Credentials check, run by the deploy after the switch: \`${layout.verifyCommand}\``,
    "# exits 0 (opens), 10 (no repository yet), 12 (wrong password), 13 (key",
    "# refused), 14 (not the repository this host backed up to) or 20 (unreachable).",
    "environment.systemPackages = [",
    ...opts.otherPackages.map((p) => `  ${p}`),
    ...verify.map((l) => `  ${l}`),
    "];",
  );
  return lines;
}
