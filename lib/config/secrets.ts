// Secrets settings: who the agenix files are encrypted to, and where they go.

import { parseRecipient, parseSshPublicKey } from "../age/ssh";
import { DEPRECATED_KEYS, PROJECT, SecretKey } from "./keys";
import { Reader } from "./reader";
import { SecretsConfig } from "./types";

export function parseSecrets<S>(
  r: Reader,
  secrets: Partial<Record<SecretKey, S>>,
  stack: string,
  warnings: string[] = [],
): SecretsConfig<S> {
  let hostKey = "";
  const hostKeyRaw = r.get("hostKey");
  if (hostKeyRaw === undefined || hostKeyRaw.trim() === "") {
    r.fail("hostKey", "is required: the host's SSH public key, e.g. the output of `ssh-keyscan -t ed25519 <host>`");
  } else {
    try {
      hostKey = parseSshPublicKey(hostKeyRaw).normalized;
    } catch (e) {
      r.fail("hostKey", (e as Error).message);
    }
  }
  const adminKeys: string[] = [];
  for (const k of r.get("adminKeys")) {
    try {
      const n = parseRecipient(k).normalized;
      if (!adminKeys.includes(n) && n !== hostKey) adminKeys.push(n);
    } catch (e) {
      r.fail("adminKeys", (e as Error).message);
    }
  }
  const agenixDir = localDir(r, warnings) ?? `secrets/${stack}/restic`;

  return { hostKey, adminKeys, agenixDir, resticPassword: secrets.resticPassword };
}

/**
 * The local directory for the agenix files: agenixDir, or the deprecated
 * secretsDir (same meaning and value, so an existing stack resolves to the
 * same directory and sees no diff), with a warning; both set is an error.
 */
function localDir(r: Reader, warnings: string[]): string | undefined {
  const key = DEPRECATED_KEYS.secretsDir;
  const dir = r.get(key);
  const old = r.string("secretsDir");
  if (old === undefined) return dir;
  if (dir !== undefined) {
    r.fail(key, `set either ${key} or the deprecated secretsDir (same meaning), not both: \`pulumi config rm secretsDir\` (secretsDir is ${JSON.stringify(old)})`, dir);
    return dir;
  }
  warnings.push(
    `${PROJECT}:secretsDir is deprecated: the Pulumi CLI refuses \`pulumi config set\` of a path under a name containing "secret". ` +
      `Move its value (${JSON.stringify(old)}) to ${key}, which means the same and changes nothing in the stack: ` +
      `\`pulumi config set ${key} <that value>\`, then \`pulumi config rm secretsDir\`.`,
  );
  return old;
}
