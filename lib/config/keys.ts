// The key lists, derived from the declarations in ./schema (add a key there,
// not here), and the one reader of the raw stack config.

import { CONFIG, ConfigKey, DEPRECATED_KEYS, DeprecatedKey, PlainKey, SecretKey, declOf } from "./schema";

export { DEPRECATED_KEYS } from "./schema";
export type { DeprecatedKey, PlainKey, SecretKey } from "./schema";

/** The project's config namespace (`nixos-restic-b2:<key>` in Pulumi.<stack>.yaml). */
export const PROJECT = "nixos-restic-b2";

const ALL_KEYS = Object.keys(CONFIG) as ConfigKey[];

/** Keys read with requireSecret/getSecret; their values never reach the parser's messages. */
export const SECRET_KEYS: readonly SecretKey[] = ALL_KEYS.filter((k): k is SecretKey => declOf(k).type === "secret");

/** Every plain key the program reads from the project namespace. */
export const PLAIN_KEYS: readonly PlainKey[] = ALL_KEYS.filter((k): k is PlainKey => declOf(k).type !== "secret");

/**
 * Plain keys that set the services.restic.backups.<name> option of the same
 * name (lib/nix/module.ts emits them under that name: EMITTED_RESTIC_OPTIONS).
 */
export type ResticOptionKey = { [K in PlainKey]: (typeof CONFIG)[K] extends { resticOption: true } ? K : never }[PlainKey];
export const RESTIC_OPTION_KEYS: readonly ResticOptionKey[] = PLAIN_KEYS.filter((k): k is ResticOptionKey => declOf(k).resticOption === true);

/** The secret keys whose plaintext's form the parser checks (the monitoring URLs and token); never shown in a message. */
export type FormCheckedSecretKey = { [K in SecretKey]: (typeof CONFIG)[K] extends { formChecked: true } ? K : never }[SecretKey];
export const FORM_CHECKED_SECRET_KEYS: readonly FormCheckedSecretKey[] = SECRET_KEYS.filter(
  (k): k is FormCheckedSecretKey => (declOf(k) as { formChecked?: true }).formChecked === true,
);

export type RawConfig = Partial<Record<PlainKey | DeprecatedKey, string>>;

/**
 * The raw plain config the parser takes: every plain key and every deprecated
 * name still read, from `get` (a project key without the namespace → its
 * string value, or undefined when unset). The program, the status command and
 * the CLI tests all read the stack config through this.
 */
export function readRawConfig(get: (key: PlainKey | DeprecatedKey) => string | undefined): RawConfig {
  const raw: RawConfig = {};
  for (const key of [...PLAIN_KEYS, ...(Object.keys(DEPRECATED_KEYS) as DeprecatedKey[])]) {
    const v = get(key);
    if (v !== undefined) raw[key] = v;
  }
  return raw;
}
