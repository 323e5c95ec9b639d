// The host key setup pins: one ed25519 key from `ssh-keyscan`, its SHA256
// fingerprint as `ssh-keygen -l` prints it, and the command that prints the
// same on the machine's own console.

import { spawnSync } from "node:child_process";
import { sshFingerprint } from "../age/ssh";

/** What the user runs on the machine's console to compare. */
export const CONSOLE_COMMAND = "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub";

/** `SHA256:<base64 without padding>` of the key blob of an OpenSSH public key line. */
export function fingerprint(keyLine: string): string {
  const blob = keyLine.trim().split(/\s+/)[1] ?? "";
  return sshFingerprint(Buffer.from(blob, "base64"));
}

/** A fingerprint as the user may type it (with or without `SHA256:`, with padding), in fingerprint()'s form. */
export function normalizeFingerprint(fp: string): string {
  return `SHA256:${fp.trim().replace(/^SHA256:/i, "").replace(/=+$/, "")}`;
}

/** The host's ed25519 key (`ssh-ed25519 AAAA...`, no host name), or an Error saying why not. The host and port are checked values. */
export function scanHostKey(host: string, port: number, timeoutSeconds = 10): string {
  const r = spawnSync("ssh-keyscan", ["-T", String(timeoutSeconds), "-t", "ed25519", "-p", String(port), "--", host], { encoding: "utf8" });
  if (r.error) throw new Error(`ssh-keyscan could not run: ${r.error.message}`);
  for (const line of r.stdout.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (!line.startsWith("#") && f[1] === "ssh-ed25519" && f[2] !== undefined) return `ssh-ed25519 ${f[2]}`;
  }
  const why = r.stderr.trim().split("\n").filter((l) => !l.startsWith("#")).slice(-1)[0];
  throw new Error(`ssh-keyscan -t ed25519 -p ${port} ${host} found no ed25519 host key${why ? `: ${why}` : " (is sshd running and reachable?)"}`);
}
