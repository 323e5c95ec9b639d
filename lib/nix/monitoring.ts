// The monitoring part of the generated NixOS module: the agenix secrets that
// hold the heartbeat URL and the ntfy topic URL/token, and the hooks that run
// lib/host/monitor.sh from a systemd unit (ExecStartPre: the start ping;
// ExecStopPost: the result ping and, on failure, the ntfy alert).
//
// The hooks attach to ANY service: the backup unit here, and e.g. the restore
// drill's unit with its own heartbeat secret and the same ntfy secrets.
// Credentials never appear in the module: only agenix paths do, and the
// script reads the values from there at run time.
//
// Pure; the same input always gives the same bytes. The secrets' files and
// names come from lib/host/layout.ts; each value keeps its config key's name
// down to the script (healthcheckUrl → --healthcheck-url).

import type { MonitoringConfig, MonitoringFlags } from "../config/types";
import { LOG_IDENTIFIERS, MONITOR_AGE_FILES, MONITOR_STATE_DIR, MonitorAgeFile, MonitorAgeKey, agenixSecretName, backupLayout } from "../host/layout";
import { MONITOR_SCRIPT } from "../host/scripts";
import { nixAttrName, nixString } from "./escape";
import { journalCommand } from "./systemd";

export const MONITOR_SCRIPT_NAME = "restic-b2-monitor";
/** The attribute under system.build that holds the script's derivation. */
export const MONITOR_BUILD_ATTR = "restic-b2-monitor";

/**
 * The monitoring secrets by agenix file name, for AgenixSecrets' extraFiles
 * (undefined: not configured, no file). The token only goes with a topic.
 */
export function monitorSecretFiles<S>(m: MonitoringConfig<S>): Record<MonitorAgeFile, S | undefined> {
  const value: Record<MonitorAgeKey, S | undefined> = {
    healthcheckUrl: m.healthcheckUrl,
    ntfyUrl: m.ntfyUrl,
    ntfyToken: m.ntfyUrl === undefined ? undefined : m.ntfyToken,
    drillHealthcheckUrl: m.drillHealthcheckUrl,
  };
  const out = {} as Record<MonitorAgeFile, S | undefined>;
  for (const key of Object.keys(MONITOR_AGE_FILES) as MonitorAgeKey[]) out[MONITOR_AGE_FILES[key]] = value[key];
  return out;
}

/** An agenix secret: its name (age.secrets.<name>, /run/agenix/<name>) and its .age file as a Nix path. */
export interface MonitorSecret {
  name: string;
  file: string;
}

/** The ntfy secrets a unit's alert uses: the topic URL and, optionally, the token. */
export interface NtfySecrets {
  url: string;
  token?: string;
}

const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SECRET_FILE = /^\.(\/[A-Za-z0-9._-]+)+$/;
/** systemd service names (without .service) the hooks may be attached to. */
const SERVICE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,200}$/;

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(`renderMonitoring: ${message}`);
}

/** age.secrets declarations (root-only, like the module's other secrets), one attribute path each. */
export function monitorSecretDeclarations(secrets: readonly MonitorSecret[]): string[] {
  const out: string[] = [];
  for (const s of secrets) {
    check(SECRET_NAME.test(s.name), `invalid secret name ${JSON.stringify(s.name)}`);
    check(SECRET_FILE.test(s.file), `secret file must be a relative Nix path like "./secrets/x.age", got ${JSON.stringify(s.file)}`);
    out.push(`age.secrets.${nixAttrName(s.name)} = {`);
    out.push(`  file = ${s.file};`);
    out.push('  mode = "0400";');
    out.push('  owner = "root";');
    out.push('  group = "root";');
    out.push("};");
  }
  return out;
}

/** `${config.age.secrets.<name>.path}` inside a Nix string (names are validated, so no escaping is needed). */
function secretPathRef(name: string): string {
  check(SECRET_NAME.test(name), `invalid secret name ${JSON.stringify(name)}`);
  return `\${config.age.secrets.${nixAttrName(name)}.path}`;
}

/**
 * The script's one definition in a module: `system.build.restic-b2-monitor`
 * (NixOS's attribute set for build products), so every unit's hooks refer to
 * one store path and the script text is in the module once, however many
 * units report. Emitted by renderMonitoring, once, whenever any hook is.
 */
export function monitorScriptDefinition(): string[] {
  // curl is not on a unit's default PATH; coreutils, sed and journalctl are,
  // but are named too so the script never depends on the unit's environment.
  const pathLine = '"PATH=${pkgs.curl}/bin:${pkgs.coreutils}/bin:${pkgs.gnused}/bin:${config.systemd.package}/bin:$PATH\\n"';
  return [`system.build.${MONITOR_BUILD_ATTR} = pkgs.writeShellScript ${nixString(MONITOR_SCRIPT_NAME)} (${pathLine} + ${nixString(MONITOR_SCRIPT)});`];
}

/**
 * The hooks that report one service's runs: ExecStartPre (start ping, only
 * with a heartbeat) and ExecStopPost (result ping, and the ntfy alert on
 * failure). Both are prefixed "-+": a failure is ignored (the script always
 * exits 0 anyway) and the script runs as root outside the unit's sandbox, so
 * it can read /run/agenix and the journal whatever User= the unit has. They
 * are added with lib.mkBefore, so they run before the unit's own
 * ExecStartPre/ExecStopPost (NixOS merges these lists): the start ping goes
 * out before any start step can fail, and the result ping is sent even if a
 * later cleanup step misbehaves. Attribute paths only, so the unit's other
 * settings can be defined anywhere else in the module.
 *
 * The systemd command lines hold only the script's store path, fixed words,
 * the validated service name and agenix paths: nothing that systemd would
 * expand or split ($, %, quotes, spaces). They need monitorScriptDefinition()
 * once in the same module.
 *
 * @param serviceName e.g. "restic-backups-daily" (systemd.services.<serviceName>)
 * @param healthcheckUrl the agenix secret holding the heartbeat URL, or undefined
 * @param ntfy the agenix secrets of the ntfy alert, or undefined
 * @returns module lines (attribute level), [] when there is nothing to report
 */
export function monitorHooks(serviceName: string, healthcheckUrl: string | undefined, ntfy: NtfySecrets | undefined): string[] {
  if (healthcheckUrl === undefined && ntfy === undefined) return [];
  check(SERVICE_NAME.test(serviceName), `invalid service name ${JSON.stringify(serviceName)}`);
  // systemd-cat: the lines are `journalctl -t restic-b2-monitor`'s, not the store file's name.
  const script = journalCommand(LOG_IDENTIFIERS.monitor, `\${config.system.build.${MONITOR_BUILD_ATTR}}`);
  const common = `--unit ${serviceName} --state-dir ${MONITOR_STATE_DIR}`;
  const hc = healthcheckUrl === undefined ? "" : ` --healthcheck-url ${secretPathRef(healthcheckUrl)}`;
  let alert = "";
  if (ntfy !== undefined) {
    alert = ` --ntfy-url ${secretPathRef(ntfy.url)}`;
    if (ntfy.token !== undefined) alert += ` --ntfy-token ${secretPathRef(ntfy.token)}`;
  }
  const unit = `systemd.services.${nixAttrName(serviceName)}.serviceConfig`;
  const out: string[] = [];
  if (healthcheckUrl !== undefined) out.push(`${unit}.ExecStartPre = lib.mkBefore [ "-+${script} start ${common}${hc}" ];`);
  out.push(`${unit}.ExecStopPost = lib.mkBefore [ "-+${script} finish ${common}${hc}${alert}" ];`);
  return out;
}

/** The secret names for a module's agenix prefix (e.g. "restic-b2-daily" → healthcheckUrl: "restic-b2-daily-healthcheck"). */
export function monitorSecretNames(prefix: string): Record<MonitorAgeKey, string> {
  const out = {} as Record<MonitorAgeKey, string>;
  for (const key of Object.keys(MONITOR_AGE_FILES) as MonitorAgeKey[]) out[key] = agenixSecretName(prefix, MONITOR_AGE_FILES[key]);
  return out;
}

/** A sibling of another agenix file's Nix path: ("./secrets/env.age", "x.age") → "./secrets/x.age". */
export function siblingAgeFile(nixPath: string, file: string): string {
  const dir = nixPath.includes("/") ? nixPath.slice(0, nixPath.lastIndexOf("/")) : ".";
  return `${dir}/${file}`;
}

/** What renderMonitoring needs from ModuleOptions (structural, so module.ts passes its options as they are). */
export interface MonitoringModuleOptions {
  backup: { backupName: string; monitoring?: MonitoringFlags };
  secretFiles: { env: string };
  agenixSecretPrefix: string;
}

/**
 * Another unit that reports through the same channels (e.g. the restore
 * drill): its own heartbeat secret (declared here) or none, and the module's
 * ntfy secrets when ntfy is configured.
 */
export interface MonitorTarget {
  /** systemd service name without ".service". */
  service: string;
  /** Its heartbeat URL's agenix secret, e.g. { name: "restic-b2-daily-drill-healthcheck", file: "./secrets/drill-healthcheck.age" }. */
  healthcheckUrl?: MonitorSecret;
}

/**
 * The monitoring section of the module: the secrets, the script (once) and
 * the hooks of the backup unit and of every extra target. [] when nothing
 * reports, so the module is byte-for-byte what it was without monitoring.
 */
export function renderMonitoring(opts: MonitoringModuleOptions, extra: readonly MonitorTarget[] = []): string[] {
  const m: MonitoringFlags = opts.backup.monitoring ?? { healthcheckUrl: false, ntfyUrl: false, ntfyToken: false };
  const names = monitorSecretNames(opts.agenixSecretPrefix);
  const secret = (key: MonitorAgeKey): MonitorSecret => ({ name: names[key], file: siblingAgeFile(opts.secretFiles.env, MONITOR_AGE_FILES[key]) });
  const secrets: MonitorSecret[] = [];
  if (m.healthcheckUrl) secrets.push(secret("healthcheckUrl"));
  if (m.ntfyUrl) secrets.push(secret("ntfyUrl"));
  if (m.ntfyUrl && m.ntfyToken) secrets.push(secret("ntfyToken"));
  for (const t of extra) if (t.healthcheckUrl !== undefined) secrets.push(t.healthcheckUrl);
  const ntfy: NtfySecrets | undefined = m.ntfyUrl
    ? { url: names.ntfyUrl, ...(m.ntfyToken ? { token: names.ntfyToken } : {}) }
    : undefined;
  const service = backupLayout(opts.backup.backupName, "renderMonitoring").backupUnit;
  const hooks = [
    ...monitorHooks(service, m.healthcheckUrl ? names.healthcheckUrl : undefined, ntfy),
    ...extra.flatMap((t) => monitorHooks(t.service, t.healthcheckUrl?.name, ntfy)),
  ];
  if (hooks.length === 0) return [];
  return [
    "",
    "# Monitoring: the heartbeat URL and the ntfy topic are credentials, so they",
    "# are agenix secrets too; the module and the units only name their paths.",
    ...monitorSecretDeclarations(secrets),
    "",
    `# ${MONITOR_SCRIPT_NAME} (lib/host/monitor.sh) reports each run of a unit: a start`,
    "# ping before the first start step, the result (from $SERVICE_RESULT) with",
    "# this run's journal tail after the unit stops, and an ntfy alert when it",
    "# failed. It always exits 0 and is bounded in time, so it never changes the",
    "# unit's result.",
    ...monitorScriptDefinition(),
    ...hooks,
  ];
}
