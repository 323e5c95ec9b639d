// The generated NixOS module (restic backup + agenix secrets + optional
// desktop notification on failure). Every user value goes through ./escape.
//
// Pure: no Pulumi, no I/O. The same input always gives the same bytes.

import { RESTIC_OPTION_KEYS } from "../config/keys";
import {
  DEFAULT_NIXOS_RELEASE,
  NIXOS_RELEASE_PATTERN,
  PATHS_VIA_FILES_FROM_SINCE,
  compareReleases,
  missingInRelease,
  pathIsPlain,
} from "../config/nixos-release";
import type { BackupConfig, DrillSettings } from "../config/types";
import { UNIX_USER_PATTERN } from "../config/values";
import { BackupLayout, LOG_IDENTIFIERS, MONITOR_AGE_FILES, agenixSecretName, backupLayout } from "../host/layout";
import { backupLockLines, backupUnitLines } from "./backup-steps";
import { renderRestoreChecks } from "./drill";
import { renderRepoGuard } from "./repo-guard";
import { NixValue, nixAttrName, nixString, nixValue } from "./escape";
import { excludeFileLine, filesFromLine, resticOptionText } from "./restic-args";
import { checkTimerSettings, systemdEscape, timerSettingsLines } from "./systemd";
import { MonitorTarget, monitorSecretNames, renderMonitoring, siblingAgeFile } from "./monitoring";

// ---------------------------------------------------------------------------
// Module rendering
// ---------------------------------------------------------------------------

export interface ModuleOptions {
  backup: BackupConfig;
  /** Nix path expressions relative to the module file, e.g. "./secrets/env.age". */
  secretFiles: { env: string; repo: string; password: string };
  /** e.g. "restic-b2-daily" → age.secrets."restic-b2-daily-env" etc. */
  agenixSecretPrefix: string;
  /** The restore drill (lib/nix/drill.ts); undefined: none. */
  drill?: DrillSettings;
}

/**
 * Every `services.restic.backups.<name>` option renderModule can emit.
 * A test checks these against the option list of current nixpkgs.
 */
export const EMITTED_RESTIC_OPTIONS = [
  "initialize", "environmentFile", "repositoryFile", "passwordFile", "backupPrepareCommand", ...RESTIC_OPTION_KEYS,
] as const;
export type EmittedResticOption = (typeof EMITTED_RESTIC_OPTIONS)[number];

/** The agenix secret prefix becomes a file name under /run/agenix. */
export const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** systemd unit setting names. */
export { UNIT_KEY_PATTERN } from "./systemd";
/** The shape required of secretFiles entries (fixed by the program, not user input). */
export const SECRET_FILE_PATTERN = /^\.\/[A-Za-z0-9._\/-]+$/;

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(`renderModule: ${message}`);
}

/**
 * The renderer's own guards, for callers that skipped lib/config/ (which has
 * given the user's messages): the parameters the program fixes (secret
 * prefix, secret files), what the writers need (timer settings, a release
 * the option table knows, a uid Nix text can hold), and the rules they share
 * with the parser (UNIX_USER_PATTERN). The backup name is backupLayout's.
 */
function validate(opts: ModuleOptions): void {
  const b = opts.backup;
  check(
    SECRET_PREFIX_PATTERN.test(opts.agenixSecretPrefix),
    `invalid agenixSecretPrefix ${JSON.stringify(opts.agenixSecretPrefix)} (allowed: ${SECRET_PREFIX_PATTERN})`,
  );
  for (const [k, p] of Object.entries(opts.secretFiles)) {
    // The pattern from the contract, plus what a Nix path literal needs:
    // no empty segment ("//") and no trailing slash.
    check(
      SECRET_FILE_PATTERN.test(p) && /^\.(\/[A-Za-z0-9._-]+)+$/.test(p),
      `secretFiles.${k} must be a relative Nix path like "./secrets/env.age", got ${JSON.stringify(p)}`,
    );
  }
  checkTimerSettings("timerConfig", b.timerConfig);
  if (b.agenixModule.kind === "fetchTarball") {
    const { url, sha256 } = b.agenixModule as { url: unknown; sha256?: unknown };
    check(typeof url === "string" && url !== "", "agenixModule.url must be a non-empty string");
    check(sha256 === undefined || (typeof sha256 === "string" && sha256 !== ""), "agenixModule.sha256 must be a non-empty string when set");
  } else {
    check(b.agenixModule.kind === "provided", "agenixModule.kind must be 'fetchTarball' or 'provided'");
  }
  check(
    b.nixosRelease === undefined || NIXOS_RELEASE_PATTERN.test(b.nixosRelease),
    `invalid nixosRelease ${JSON.stringify(b.nixosRelease)} (like "25.11")`,
  );
  if (b.notify !== undefined) {
    check(UNIX_USER_PATTERN.test(b.notify.user), `invalid notify.user ${JSON.stringify(b.notify.user)} (allowed: ${UNIX_USER_PATTERN})`);
    check(
      Number.isSafeInteger(b.notify.uid) && b.notify.uid >= 0 && b.notify.uid < 4294967295,
      `invalid notify.uid ${b.notify.uid}`,
    );
  }
}

/** Small line builder with 2-space indentation; module sections append to it. */
export class Out {
  private readonly lines: string[] = [];
  private depth = 0;
  line(text = ""): this {
    this.lines.push(text === "" ? "" : "  ".repeat(this.depth) + text);
    return this;
  }
  open(text: string): this {
    this.line(text);
    this.depth++;
    return this;
  }
  close(text: string): this {
    this.depth--;
    this.line(text);
    return this;
  }
  list(name: string, values: readonly NixValue[]): this {
    if (values.length === 0) return this.line(`${name} = [ ];`);
    this.open(`${name} = [`);
    for (const v of values) this.line(nixValue(v));
    return this.close("];");
  }
  toString(): string {
    return this.lines.join("\n") + "\n";
  }
}

/** What every module section sees: the validated options and the names derived from them. */
export interface RenderContext {
  readonly opts: ModuleOptions;
  readonly backup: BackupConfig;
  readonly name: string;
  /** The host's NixOS release (BackupConfig.nixosRelease or the default). */
  readonly release: string;
  /** The backup's units, commands and directories (lib/host/layout.ts). */
  readonly layout: BackupLayout;
  /** age.secrets attribute name of a secret. */
  secretName(kind: SecretKind): string;
  /** Nix expression for the decrypted file's path (`config.age.secrets.<n>.path`). */
  secretPath(kind: SecretKind): string;
  /**
   * Nix expressions for environment.systemPackages. A Nix attrset cannot
   * define that option twice, so sections push here and the last section
   * writes the one list.
   */
  readonly systemPackages: string[];
}
export type SecretKind = "env" | "repo" | "password";

/**
 * One part of the module: appends Nix attribute definitions (at the module's
 * top level, indentation 1) to `o`. A new feature is a new section function
 * (in its own file under lib/nix/) and one call in renderModule.
 */
export type ModuleSection = (o: Out, ctx: RenderContext) => void;

function headerSection(o: Out, ctx: RenderContext): void {
  o.line("# Generated by nixos-restic-b2. Do not edit this file: it is overwritten on");
  o.line("# every `pulumi up`. To change it, change the stack configuration");
  o.line("# (`pulumi config set ...`) and run `pulumi up` again.");
  o.line("#");
  o.line(`# restic backup "${ctx.name}" to Backblaze B2; credentials, repository and`);
  o.line("# password are agenix secrets decrypted on this host at activation.");
  o.line("{ config, pkgs, lib, ... }:");
  o.line();
}

function agenixImportSection(o: Out, ctx: RenderContext): void {
  const m = ctx.backup.agenixModule;
  if (m.kind === "fetchTarball") {
    o.line("# The agenix NixOS module.");
    o.open("imports = [");
    o.open('"${builtins.fetchTarball {');
    o.line(`url = ${nixString(m.url)};`);
    // lib/config/ may leave sha256 out (then Nix fetches without a pin).
    const sha256: string | undefined = m.sha256;
    if (sha256 !== undefined) o.line(`sha256 = ${nixString(sha256)};`);
    o.close('}}/modules/age.nix"');
    o.close("];");
    o.line();
  } else {
    o.line("# The agenix NixOS module is imported by the host configuration.");
    o.line();
  }
}

function ageSecretsSection(o: Out, ctx: RenderContext): void {
  o.line("# Ciphertext is copied to the store (path literals); plaintext appears only");
  o.line("# under /run/agenix, readable by root alone.");
  o.open("age.secrets = {");
  for (const kind of ["env", "repo", "password"] as const) {
    o.open(`${nixAttrName(ctx.secretName(kind))} = {`);
    o.line(`file = ${ctx.opts.secretFiles[kind]};`);
    o.line('mode = "0400";');
    o.line('owner = "root";');
    o.line('group = "root";');
    o.close("};");
  }
  o.close("};");
  o.line();
}

/** Throws unless the host's release has the option (lib/config/ refuses such configs first). */
function requireOption(ctx: RenderContext, option: EmittedResticOption): void {
  const since = missingInRelease(option, ctx.release);
  check(since === undefined, `services.restic.backups.<name>.${option} needs NixOS ${since} or newer; the host runs ${ctx.release}`);
}

function resticSection(o: Out, ctx: RenderContext): void {
  const b = ctx.backup;
  const emitted: EmittedResticOption[] = ["initialize", "environmentFile", "repositoryFile", "passwordFile", "paths", "pruneOpts", "timerConfig", "extraBackupArgs"];
  if (b.exclude.length > 0) emitted.push("exclude");
  if (b.checkOpts.length > 0) emitted.push("checkOpts");
  if (b.runCheck !== undefined) emitted.push("runCheck");
  // The host lock with the drill is taken in the prepare command.
  const lock = ctx.opts.drill !== undefined && missingInRelease("backupPrepareCommand", ctx.release) === undefined;
  if (lock) emitted.push("backupPrepareCommand");
  for (const option of emitted) requireOption(ctx, option);
  if (compareReleases(ctx.release, PATHS_VIA_FILES_FROM_SINCE) < 0) {
    const bad = b.paths.find((p) => !pathIsPlain(p));
    check(bad === undefined, `path ${JSON.stringify(bad)}: before NixOS ${PATHS_VIA_FILES_FROM_SINCE} only paths of [A-Za-z0-9_.,:/@+=-] arrive as written; the host runs ${ctx.release}`);
  }

  o.line("# Values are written so that restic and systemd read back exactly the");
  o.line("# configured text (see lib/nix/restic-args.ts and lib/nix/systemd.ts).");
  o.open(`services.restic.backups.${nixAttrName(ctx.name)} = {`);
  o.line("initialize = true;");
  o.line(`environmentFile = ${ctx.secretPath("env")};`);
  o.line(`repositoryFile = ${ctx.secretPath("repo")};`);
  o.line(`passwordFile = ${ctx.secretPath("password")};`);
  o.list("paths", b.paths.map(filesFromLine));
  if (b.exclude.length > 0) o.list("exclude", b.exclude.map(excludeFileLine));
  // The prune is the module's own step (backupUnitLines), not the restic module's.
  o.list("pruneOpts", []);
  if (lock) for (const l of backupLockLines(ctx.name)) o.line(l);
  o.open("timerConfig = {");
  for (const l of timerSettingsLines(b.timerConfig)) o.line(l);
  o.close("};");
  o.list("extraBackupArgs", b.extraBackupArgs.map(resticOptionText));
  if (b.checkOpts.length > 0) o.list("checkOpts", b.checkOpts.map(resticOptionText));
  if (b.runCheck !== undefined) o.line(`runCheck = ${b.runCheck ? "true" : "false"};`);
  o.close("};");
  for (const l of backupUnitLines(ctx.name, lock, b.pruneOpts.map(resticOptionText))) o.line(l);
}

function notifySection(o: Out, ctx: RenderContext): void {
  const b = ctx.backup;
  if (b.notify === undefined) return;
  const name = ctx.name;
  o.line();
  o.line("# Desktop notification when the backup unit fails.");
  o.line("# The notifier runs as the desktop user, so notify-send can reach that user's");
  o.line("# session bus (which accepts only its own uid; the user must be logged in or");
  o.line("# lingering). Reading a system unit's journal normally needs root or the");
  o.line("# systemd-journal group; SupplementaryGroups grants that group to this one");
  o.line("# service only, without adding the user account to it. The only values in");
  o.line("# the script are the validated backup name and Nix store paths; the journal");
  o.line("# text is passed to notify-send as one quoted shell argument at run time.");
  const l = ctx.layout;
  o.line(`systemd.services.${nixAttrName(l.backupUnit)}.onFailure = [ ${nixString(`${l.backupNotifyUnit}.service`)} ];`);
  notifyUnit(o, ctx, l.backupUnit, l.backupNotifyUnit, `restic backup ${name}`, `Backup ${name} failed`);
  if (ctx.opts.drill !== undefined) {
    // The drill's unit names this one in its own onFailure (./drill), so the
    // message says what failed and shows the drill's journal, not the backup's.
    o.line();
    o.line("# The same notification when the restore drill fails.");
    notifyUnit(o, ctx, l.drillUnit, l.drillNotifyUnit, `restic restore drill ${name}`, `Restore drill ${name} failed`);
  }
  ctx.systemPackages.push("pkgs.libnotify");
}

/** One notifier unit: the last journal lines of `watched` in a desktop notification titled `title`. */
function notifyUnit(o: Out, ctx: RenderContext, watched: string, unitName: string, what: string, title: string): void {
  const notify = ctx.backup.notify!;
  o.line();
  o.open(`systemd.services.${nixAttrName(unitName)} = {`);
  o.line(`description = ${nixString(systemdEscape(`Desktop notification: ${what} failed`, "setting"))};`);
  o.open("serviceConfig = {");
  o.line('Type = "oneshot";');
  o.line(`User = ${nixString(systemdEscape(notify.user, "setting"))};`);
  o.line('SupplementaryGroups = [ "systemd-journal" ];');
  o.close("};");
  o.line(`environment.DBUS_SESSION_BUS_ADDRESS = ${nixString(`unix:path=/run/user/${notify.uid}/bus`)};`);
  o.open("script = ''");
  // The failed run's lines from the unit's own processes (restic, the pre-start
  // and prune steps; $MONITOR_INVOCATION_ID, which systemd gives a unit started
  // by OnFailure=), without the monitor's (LOG_IDENTIFIERS.monitor) and
  // systemd's; the unit's last lines where systemd passes no id.
  o.line(`if [ -n "$MONITOR_INVOCATION_ID" ]; then select="_SYSTEMD_INVOCATION_ID=$MONITOR_INVOCATION_ID"; else select="--unit=${watched}.service"; fi`);
  // The monitor's filter only where its hooks exist (without monitoring the module names no monitor).
  const m = ctx.backup.monitoring;
  const hooked = m !== undefined && (m.healthcheckUrl || m.ntfyUrl || m.drillHealthcheckUrl === true);
  const monitorFilter = hooked ? `-e '/^[^ ]* ${LOG_IDENTIFIERS.monitor}\\[[0-9]*\\]: /d' ` : "";
  o.line(
    `lines="$(\${config.systemd.package}/bin/journalctl "$select" --no-pager --output=short-iso --no-hostname | \${pkgs.gnused}/bin/sed ${monitorFilter}-e '/^[^ ]* systemd\\[1\\]: /d' -e 's/^[^ ]* //' | \${pkgs.coreutils}/bin/tail -n 10 || true)"`,
  );
  // The body starts with fixed text, so journal output starting with "-"
  // cannot be taken for a notify-send option.
  o.line(`body="Last journal lines of ${watched}.service:`);
  o.line('$lines"');
  o.line(
    `\${pkgs.libnotify}/bin/notify-send --urgency=critical --app-name=restic ${shellSingleQuote(title)} "$body"`,
  );
  o.close("'';");
  o.close("};");
}

/** The repository's identity (./repo-guard): its hooks in the backup unit and the reset command. */
function repoGuardSection(o: Out, ctx: RenderContext): void {
  const g = renderRepoGuard(ctx.name);
  for (const l of g.lines) o.line(l);
  ctx.systemPackages.push(g.resetPackage);
}

/** Heartbeat and ntfy hooks (./monitoring); nothing when neither is configured. */
function monitoringSection(o: Out, ctx: RenderContext): void {
  const m = ctx.backup.monitoring;
  // The restore drill reports like the backup: the ntfy alert when ntfy is
  // configured, and its own heartbeat (drillHealthcheckUrl) if set.
  const extra: MonitorTarget[] = [];
  if (ctx.opts.drill !== undefined) {
    const names = monitorSecretNames(ctx.opts.agenixSecretPrefix);
    const file = siblingAgeFile(ctx.opts.secretFiles.env, MONITOR_AGE_FILES.drillHealthcheckUrl);
    extra.push({
      service: ctx.layout.drillUnit,
      ...(m?.drillHealthcheckUrl ? { healthcheckUrl: { name: names.drillHealthcheckUrl, file } } : {}),
    });
  }
  for (const l of renderMonitoring(ctx.opts, extra)) o.line(l);
}

/**
 * The credentials check command (always) and the restore drill
 * (./drill), with the module's one environment.systemPackages definition:
 * what earlier sections pushed to ctx.systemPackages, then the check command.
 */
function restoreChecksSection(o: Out, ctx: RenderContext): void {
  const b = ctx.backup;
  const checks = renderRestoreChecks({
    backupName: ctx.name,
    paths: b.paths,
    drill: ctx.opts.drill,
    notifyService: b.notify === undefined ? undefined : ctx.layout.drillNotifyUnit,
    secretPaths: { env: ctx.secretPath("env"), repo: ctx.secretPath("repo"), password: ctx.secretPath("password") },
    otherPackages: ctx.systemPackages,
  });
  for (const l of checks) o.line(l);
}

/**
 * The NixOS module (`restic.nix`) for one backup.
 *
 * Emission rules (deterministic, see EMITTED_RESTIC_OPTIONS):
 * - always: initialize, environmentFile, repositoryFile, passwordFile, paths,
 *   pruneOpts, timerConfig (keys sorted), extraBackupArgs. These all exist
 *   since NixOS 21.11, the release that introduced environmentFile.
 * - exclude and checkOpts: only when non-empty (newer options; omitting the
 *   default keeps a minimal module valid on older releases).
 * - runCheck: only when defined in the config (NixOS >= 24.05).
 * An option the host's release (backup.nixosRelease) lacks is an error.
 */
export function renderModule(opts: ModuleOptions): string {
  const layout = backupLayout(opts.backup.backupName, "renderModule");
  validate(opts);
  const b = opts.backup;
  const secretName = (kind: SecretKind) => agenixSecretName(opts.agenixSecretPrefix, `${kind}.age`);
  const ctx: RenderContext = {
    opts,
    backup: b,
    name: b.backupName,
    release: b.nixosRelease ?? DEFAULT_NIXOS_RELEASE,
    layout,
    secretName,
    secretPath: (kind) => `config.age.secrets.${nixAttrName(secretName(kind))}.path`,
    systemPackages: [],
  };
  const o = new Out();
  headerSection(o, ctx);
  o.open("{");
  agenixImportSection(o, ctx);
  ageSecretsSection(o, ctx);
  resticSection(o, ctx);
  notifySection(o, ctx);
  repoGuardSection(o, ctx);
  restoreChecksSection(o, ctx);
  // After every unit it attaches to: its hooks are attribute paths into units
  // defined above as attribute sets (Nix lets a path extend an earlier set,
  // not a set follow a path).
  monitoringSection(o, ctx);
  o.close("}");
  return o.toString();
}

/**
 * Single-quotes a constant for the shell inside a Nix '' string. Only used on
 * text built from the validated backup name; it refuses anything that would
 * need escaping at either level, rather than escaping it.
 */
function shellSingleQuote(s: string): string {
  if (!/^[A-Za-z0-9 _.:-]*$/.test(s)) throw new Error(`renderModule: unexpected characters in script text ${JSON.stringify(s)}`);
  return `'${s}'`;
}
