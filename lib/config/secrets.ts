// Secrets settings: who the agenix files are encrypted to, and where they go.

import { parseRecipient, parseSshPublicKey } from "../age/ssh";
import { SecretKey } from "./keys";
import { Reader } from "./reader";
import { SecretsConfig } from "./types";

export function parseSecrets<S>(r: Reader, secrets: Partial<Record<SecretKey, S>>, stack: string): SecretsConfig<S> {
  let hostKey = "";
  const hostKeyRaw = r.string("hostKey");
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
  for (const k of r.stringList("adminKeys", [])) {
    try {
      const n = parseRecipient(k).normalized;
      if (!adminKeys.includes(n) && n !== hostKey) adminKeys.push(n);
    } catch (e) {
      r.fail("adminKeys", (e as Error).message);
    }
  }
  const secretsDir = r.string("secretsDir") ?? `secrets/${stack}/restic`;

  return { hostKey, adminKeys, secretsDir, resticPassword: secrets.resticPassword };
}
