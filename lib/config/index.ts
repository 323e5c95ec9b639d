// The stack configuration parser: raw `pulumi config` values in, one typed
// MachineConfig out, or one ConfigError that lists every problem found.
//
// Pure code: no Pulumi import. index.ts reads every plain key with
// `config.get()` (strings; structured values arrive as JSON text) and every
// secret key with `config.getSecret()`; secrets are passed here only so the
// parser can check that they are present. Their values are never inspected,
// so they can never appear in an error message.
//
// Every key is declared once in ./schema (type, default, rule, area, doc);
// ./reader reads raw values through those declarations, ./keys derives the
// key lists. One file per area for the rules across keys: ./storage,
// ./secrets, ./host, ./backup, ./monitoring, ./drill. The rules of single
// values that renderers reuse as guards: ./values, ./restic-rules, ./b2,
// ./nixos-release.

import { parseBackup } from "./backup";
import { parseRestoreChecks } from "./drill";
import { parseHost } from "./host";
import { parseMonitoring } from "./monitoring";
import { RawConfig, SecretKey } from "./keys";
import { ConfigError, Reader } from "./reader";
import { parseSecrets } from "./secrets";
import { parseStorage } from "./storage";
import { MachineConfig } from "./types";

export * from "./types";
export * from "./keys";
export { AREAS, CONFIG, valueProblem } from "./schema";
export type { Area, ConfigKey, KeyDecl, Value } from "./schema";
export { ConfigError } from "./reader";
export {
  ACCOUNT_ONLY_CAPABILITIES,
  B2_CAPABILITIES,
  BUCKET_NAME_PATTERN,
  DEFAULT_CAPABILITIES,
  HOST_DESTRUCTIVE_CAPABILITIES,
  PROTECTED_CAPABILITIES,
  bucketNameProblem,
  defaultCapabilities,
  destructiveCapabilities,
  keyNamePrefix,
  normalizeRepositoryPath,
  repositoryUrl,
} from "./b2";
export { UNPROTECTED_WARNING, missingForExistingBucket, protectionWarning } from "./storage";
export { DEFAULT_AGENIX_URL, DEFAULT_PRUNE_OPTS, DEFAULT_TIMER_CONFIG } from "./backup";
export { DEFAULT_DRILL_SETTINGS } from "./drill";
export { heartbeatUrlProblem, ntfyUrlProblem } from "./monitoring";

export interface ParseOptions {
  warnings?: string[];
  secretText?: Partial<Record<SecretKey, string>>;
}

/**
 * Parse and validate one machine's stack configuration.
 * @param raw plain keys of the project namespace, as `config.get()` returns them
 * @param secrets the secret keys that are set (values are never inspected)
 * @param stack the stack name (the machine)
 * @param opts.warnings optional sink: messages about accepted but deprecated
 *   keys are pushed here (index.ts logs them with pulumi.log.warn); never secrets
 * @param opts.secretText plaintext of the secret keys whose form is checked
 *   (the monitoring URLs and token, FORM_CHECKED_SECRET_KEYS); only tested
 *   against the rules, never shown in a message
 */
export function parseConfig<S>(
  raw: RawConfig,
  secrets: Partial<Record<SecretKey, S>>,
  stack: string,
  opts: ParseOptions = {},
): MachineConfig<S> {
  const { warnings = [], secretText = {} } = opts;
  const r = new Reader(raw);
  const storage = parseStorage(r, secrets);
  const secretsConfig = parseSecrets(r, secrets, stack, warnings);
  const host = parseHost(r, secrets);
  const backup = parseBackup(r);
  const monitoring = parseMonitoring(r, secrets, secretText);
  if (monitoring.flags !== undefined) backup.monitoring = monitoring.flags;
  const { verify, drill } = parseRestoreChecks(r, secrets, backup);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return { stack, storage, secrets: secretsConfig, host, backup, monitoring: monitoring.config, verify, drill };
}
