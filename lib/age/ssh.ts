// age encryption to SSH public keys and native X25519 recipients.
//
// typage (`age-encryption`) implements only the native recipient types. agenix
// encrypts secrets to SSH host and user keys, so this module adds the two SSH
// recipient types that the age CLI understands, `ssh-ed25519` and `ssh-rsa`,
// as `Recipient` objects for typage, plus a strict parser for the key lines
// users paste into the configuration.
//
// What is accepted is deliberately limited to what Debian's age 1.1.1 CLI
// (the `age` used by agenix) can decrypt: ssh-ed25519 keys, ssh-rsa keys of at
// least 2048 bits, and native X25519 `age1…` recipients. Post-quantum
// (`age1pq1…`), tag (`age1tag1…`) and plugin recipients are rejected, since
// age 1.1.1 cannot decrypt files that contain them.
//
// Error messages name a key by its comment (or its SHA-256 fingerprint when it
// has no comment) and never contain a whole key blob or any secret.

import { constants as cryptoConstants, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import type * as Chacha from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bech32 } from "@scure/base";
import type * as Age from "age-encryption";
import type { Encrypter, Recipient, Stanza } from "age-encryption";

// age-encryption and the cipher load on first use: the program only parses
// keys here (lib/config), and encrypts in lib/age/local-files.ts's own
// process; loading them would add about 50 ms to every preview (npm run bench).
let ageModule: typeof Age | undefined;
let chachaModule: typeof Chacha | undefined;
const age = (): typeof Age => (ageModule ??= require("age-encryption") as typeof Age);
const chacha = (): typeof Chacha => (chachaModule ??= require("@noble/ciphers/chacha.js") as typeof Chacha);

// ---------------------------------------------------------------------------
// Constants

/** HKDF info for both HKDF calls of the ssh-ed25519 recipient type. */
export const SSH_ED25519_LABEL = "age-encryption.org/v1/ssh-ed25519";
/** RSA-OAEP label of the ssh-rsa recipient type. */
export const SSH_RSA_LABEL = "age-encryption.org/v1/ssh-rsa";
/** Smallest RSA modulus accepted, in bits (age's documented minimum). */
export const MIN_RSA_BITS = 2048;
/** Largest RSA modulus that rage (an alternative agenix backend) accepts. */
export const RAGE_MAX_RSA_BITS = 4096;

const SUPPORTED_HINT =
  "Supported recipients are ssh-ed25519 keys, ssh-rsa keys of at least 2048 bits, and native age X25519 recipients (age1…).";
const NEW_KEY_HINT = "Use an ssh-ed25519 key instead (ssh-keygen -t ed25519), or an age1… recipient from age-keygen.";

// ---------------------------------------------------------------------------
// Types

/** A parsed, validated SSH public key that age can encrypt to. */
export interface SshPublicKey {
  /** Key type; equal to the type inside the blob. */
  type: "ssh-ed25519" | "ssh-rsa";
  /** The SSH wire-format public key. */
  blob: Uint8Array;
  /** Text after the base64 field, if any (trimmed). */
  comment?: string;
  /** "SHA256:<unpadded base64>", as printed by `ssh-keygen -lf`. */
  fingerprint: string;
  /** "<type> <base64>", without host field, options or comment. */
  normalized: string;
  /** RSA only: modulus size in bits. */
  bits?: number;
  /** ssh-keyscan / known_hosts form only: the host names of the leading field. */
  hosts?: string[];
  /** Non-fatal remarks (for example an RSA key that rage would refuse). */
  warnings?: string[];
}

/** A recipient string accepted by {@link parseRecipient}. */
export type ParsedRecipient =
  | {
      kind: "x25519";
      /** The lowercase `age1…` string. */
      normalized: string;
      /** The 32-byte X25519 public key. */
      publicKey: Uint8Array;
    }
  | {
      kind: "ssh-ed25519" | "ssh-rsa";
      /** "<type> <base64>" (what goes into secrets.nix). */
      normalized: string;
      key: SshPublicKey;
    };

/** Thrown for every recipient or key line that is rejected. */
export class RecipientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecipientError";
  }
}

// ---------------------------------------------------------------------------
// Small helpers

const textEncoder = new TextEncoder();

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function b64NoPad(bytes: Uint8Array): string {
  return b64(bytes).replace(/=+$/, "");
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/** Strict standard base64 with padding; returns null for anything non-canonical. */
function decodeStrictBase64(s: string): Uint8Array | null {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const bytes = Buffer.from(s, "base64");
  if (bytes.toString("base64") !== s) return null; // non-zero padding bits etc.
  return new Uint8Array(bytes);
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function asciiString(bytes: Uint8Array): string | null {
  for (const b of bytes) if (b < 0x21 || b > 0x7e) return null;
  return String.fromCharCode(...bytes);
}

/** Reader for the SSH wire format (RFC 4251 §5). */
class WireReader {
  private off = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  /** Returns null when the data is truncated. */
  string(): Uint8Array | null {
    if (this.remaining < 4) return null;
    const b = this.buf;
    const len = ((b[this.off] << 24) | (b[this.off + 1] << 16) | (b[this.off + 2] << 8) | b[this.off + 3]) >>> 0;
    if (len > this.remaining - 4) return null;
    const out = b.subarray(this.off + 4, this.off + 4 + len);
    this.off += 4 + len;
    return out;
  }
}

/**
 * Decodes a canonical, positive mpint. Returns the unsigned big-endian
 * magnitude, or a string describing the problem.
 */
function mpintMagnitude(raw: Uint8Array): Uint8Array | string {
  if (raw.length === 0) return "is zero";
  if (raw[0] & 0x80) return "is negative";
  if (raw[0] === 0) {
    if (raw.length === 1 || !(raw[1] & 0x80)) return "has a superfluous leading zero byte";
    return raw.subarray(1);
  }
  return raw;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + Buffer.from(bytes).toString("hex"));
}

function bitLength(magnitude: Uint8Array): number {
  // magnitude has no leading zero byte (canonical mpint)
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]));
}

/** SHA-256 fingerprint as printed by ssh-keygen -lf. */
export function sshFingerprint(blob: Uint8Array): string {
  return "SHA256:" + b64NoPad(sha256(blob));
}

/** The 6-character age stanza tag of an SSH key: unpadded base64 of SHA-256(blob)[0:4]. */
export function sshTag(blob: Uint8Array): string {
  return b64NoPad(sha256(blob).subarray(0, 4));
}

/**
 * How a key is named in messages: its comment if it has one, otherwise its
 * SHA-256 fingerprint, plus its type.
 */
export function describeKey(k: { type: string; comment?: string; fingerprint: string }): string {
  const name = k.comment ? JSON.stringify(k.comment) : k.fingerprint;
  return `${k.type} key ${name}`;
}

// ---------------------------------------------------------------------------
// Line parsing

/** Key type names that may start the key part of a line. */
const KNOWN_KEY_TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ssh-dss",
  "ssh-ed448",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-ed25519-cert-v01@openssh.com",
  "ssh-rsa-cert-v01@openssh.com",
  "ssh-dss-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
  "sk-ssh-ed25519-cert-v01@openssh.com",
  "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
]);

/** authorized_keys option keywords (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"). */
const AUTHORIZED_KEYS_OPTIONS = new Set(
  [
    "agent-forwarding",
    "cert-authority",
    "command",
    "environment",
    "expiry-time",
    "from",
    "no-agent-forwarding",
    "no-port-forwarding",
    "no-pty",
    "no-user-rc",
    "no-x11-forwarding",
    "permitlisten",
    "permitopen",
    "port-forwarding",
    "principals",
    "pty",
    "no-touch-required",
    "verify-required",
    "restrict",
    "tunnel",
    "user-rc",
    "x11-forwarding",
  ],
);

interface Token {
  text: string;
  start: number;
  end: number;
}

function tokenize(line: string): Token[] {
  const out: Token[] = [];
  const re = /[^ \t]+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  return out;
}

function looksLikeBase64Blob(s: string): boolean {
  return s.length >= 16 && /^[A-Za-z0-9+/]+=*$/.test(s);
}

/** One entry of a known_hosts / ssh-keyscan host field. */
function isHostPattern(entry: string): boolean {
  if (entry.length === 0) return false;
  if (/^\|1\|[A-Za-z0-9+/]+=*\|[A-Za-z0-9+/]+=*$/.test(entry)) return true; // hashed (ssh-keyscan -H)
  if (/^\[[A-Za-z0-9._:%-]+\]:[0-9]{1,5}$/.test(entry)) return true; // [host]:port
  return /^[A-Za-z0-9._:%*?-]+$/.test(entry); // name, IPv4, IPv6
}

function isOptionKeyword(entry: string): boolean {
  return AUTHORIZED_KEYS_OPTIONS.has(entry.toLowerCase());
}

/** Names a key in an error message before its blob could be decoded. */
function provisionalName(typeText: string, b64Text: string, comment: string | undefined): string {
  if (comment) return `${typeText} key ${JSON.stringify(comment)}`;
  const head = b64Text.length > 20 ? b64Text.slice(0, 20) + "…" : b64Text;
  return `${typeText} key starting "${head}"`;
}

function unsupportedTypeMessage(name: string, wireType: string): string {
  if (wireType.startsWith("ecdsa-sha2-")) {
    return `${name}: ECDSA keys (${wireType}) cannot be age recipients; age only encrypts to ssh-ed25519 and ssh-rsa keys. ${NEW_KEY_HINT}`;
  }
  if (wireType.startsWith("sk-")) {
    return `${name}: FIDO/security-key keys (${wireType}) cannot be age recipients: age cannot decrypt with a hardware-backed SSH key. ${NEW_KEY_HINT}`;
  }
  if (wireType.includes("-cert-v01@openssh.com")) {
    return `${name}: SSH certificates (${wireType}) cannot be age recipients; give the plain public key instead (the matching .pub file, not -cert.pub).`;
  }
  if (wireType === "ssh-dss") {
    return `${name}: DSA keys (ssh-dss) cannot be age recipients, and DSA is deprecated by OpenSSH. ${NEW_KEY_HINT}`;
  }
  return `${name}: unknown SSH key type ${JSON.stringify(wireType)}. ${SUPPORTED_HINT}`;
}

/**
 * Parses one SSH public key line.
 *
 * Accepted forms (fields separated by spaces or tabs):
 *  - authorized_keys / .pub style: `<type> <base64> [comment]`
 *  - ssh-keyscan / known_hosts style: `<hosts> <type> <base64> [comment]`, where
 *    hosts is a comma-separated list of names, addresses, `[host]:port` or
 *    hashed `|1|…|…` entries.
 *
 * Rejected (with a RecipientError naming the key and the rule): empty or
 * comment lines, several lines, authorized_keys options prefixes, known_hosts
 * markers, malformed or non-canonical base64, truncated blobs or trailing
 * bytes, a type text that differs from the type inside the blob, and any key
 * type other than ssh-ed25519 and ssh-rsa ≥ 2048 bits.
 */
export function parseSshPublicKey(line: string): SshPublicKey {
  if (typeof line !== "string") throw new RecipientError("SSH public key must be a string.");
  const trimmed = line.trim();
  if (trimmed.length === 0) {
    throw new RecipientError("Empty SSH public key line: expected \"<type> <base64> [comment]\", e.g. the contents of ~/.ssh/id_ed25519.pub.");
  }
  if (trimmed.includes("PRIVATE KEY")) {
    throw new RecipientError("This looks like an SSH *private* key. Never put private keys in the configuration; give the public key (the .pub file).");
  }
  if (/[\r\n]/.test(trimmed)) {
    throw new RecipientError("SSH public key text contains more than one line; give exactly one key per entry.");
  }
  if (trimmed.startsWith("#")) {
    throw new RecipientError("This SSH public key line is a comment (starts with #); give the key line itself.");
  }

  const tokens = tokenize(trimmed);
  // Find the key-type field: a known type name, or any token followed by a base64 blob.
  let typeIdx = -1;
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (KNOWN_KEY_TYPES.has(tokens[i].text) || (!looksLikeBase64Blob(tokens[i].text) && looksLikeBase64Blob(tokens[i + 1].text))) {
      typeIdx = i;
      break;
    }
  }
  if (typeIdx < 0) {
    throw new RecipientError(
      'Not an SSH public key line: expected "<type> <base64> [comment]" (or "<host> <type> <base64>" as printed by ssh-keyscan). ' + SUPPORTED_HINT,
    );
  }

  const typeText = tokens[typeIdx].text;
  const b64Text = tokens[typeIdx + 1].text;
  const commentText = trimmed.slice(tokens[typeIdx + 1].end).trim();
  const comment = commentText.length > 0 ? commentText : undefined;
  let name = provisionalName(typeText, b64Text, comment);

  // Leading field(s): host list (accepted) or options / markers (rejected).
  let hosts: string[] | undefined;
  if (typeIdx > 0) {
    const prefix = trimmed.slice(0, tokens[typeIdx].start).trim();
    if (prefix.startsWith("@")) {
      throw new RecipientError(
        `${name}: known_hosts markers such as ${JSON.stringify(tokens[0].text)} are not allowed; give only "<type> <base64> [comment]".`,
      );
    }
    const entries = prefix.split(",");
    if (typeIdx === 1 && entries.every(isHostPattern) && !entries.some(isOptionKeyword)) {
      hosts = entries;
    } else {
      throw new RecipientError(
        `${name}: authorized_keys options before the key type are not allowed (they mean nothing to age); remove everything before "${typeText}" and give only "<type> <base64> [comment]".`,
      );
    }
  }

  const blob = decodeStrictBase64(b64Text);
  if (blob === null) {
    throw new RecipientError(
      `${name}: the key data is not valid base64 (standard alphabet, with padding). The key was probably damaged when copying; copy the whole line from the .pub file again.`,
    );
  }
  const fingerprint = sshFingerprint(blob);
  if (!comment) name = `${typeText} key ${fingerprint}`;

  const reader = new WireReader(blob);
  const wireTypeBytes = reader.string();
  const wireType = wireTypeBytes && wireTypeBytes.length > 0 ? asciiString(wireTypeBytes) : null;
  if (wireType === null) {
    throw new RecipientError(`${name}: the key data is truncated or not an SSH public key. Copy the whole line from the .pub file again.`);
  }
  if (wireType !== typeText) {
    throw new RecipientError(
      `${name}: the type text ${JSON.stringify(typeText)} does not match the key data, which is a ${JSON.stringify(wireType)} key. The line was probably edited by hand; copy it unchanged from the .pub file.`,
    );
  }
  if (wireType !== "ssh-ed25519" && wireType !== "ssh-rsa") {
    throw new RecipientError(unsupportedTypeMessage(name, wireType));
  }

  const truncated = (): RecipientError =>
    new RecipientError(`${name}: the key data is truncated. Copy the whole line from the .pub file again.`);
  const trailing = (): RecipientError =>
    new RecipientError(`${name}: the key data has trailing bytes after the key. Copy the line unchanged from the .pub file.`);

  const normalized = `${wireType} ${b64Text}`;
  if (wireType === "ssh-ed25519") {
    const pub = reader.string();
    if (pub === null) throw truncated();
    if (pub.length !== 32) {
      throw new RecipientError(`${name}: an Ed25519 public key must be 32 bytes, this one has ${pub.length}. Copy the line from the .pub file again.`);
    }
    if (reader.remaining !== 0) throw trailing();
    let smallOrder: boolean;
    try {
      smallOrder = ed25519.Point.fromBytes(pub).isSmallOrder();
    } catch {
      throw new RecipientError(`${name}: the key data is not a valid Ed25519 public key (not a curve point). Copy the line from the .pub file again.`);
    }
    if (smallOrder) {
      throw new RecipientError(`${name}: the Ed25519 public key is a low-order point and cannot be encrypted to. Use a key generated by ssh-keygen.`);
    }
    return { type: "ssh-ed25519", blob, fingerprint, normalized, ...(comment ? { comment } : {}), ...(hosts ? { hosts } : {}) };
  }

  // ssh-rsa: mpint e, mpint n
  const eRaw = reader.string();
  const nRaw = reader.string();
  if (eRaw === null || nRaw === null) throw truncated();
  if (reader.remaining !== 0) throw trailing();
  const e = mpintMagnitude(eRaw);
  const n = mpintMagnitude(nRaw);
  if (typeof e === "string" || typeof n === "string") {
    const what = typeof e === "string" ? `exponent ${e}` : `modulus ${n as string}`;
    throw new RecipientError(`${name}: malformed RSA key data (the ${what}). Copy the line from the .pub file again.`);
  }
  const eValue = bytesToBigInt(e);
  if (eValue < 3n || (eValue & 1n) === 0n || bitLength(e) > 24) {
    throw new RecipientError(`${name}: unsupported RSA public exponent (it must be odd, at least 3 and at most 24 bits). ${NEW_KEY_HINT}`);
  }
  if (!(n[n.length - 1] & 1)) {
    throw new RecipientError(`${name}: malformed RSA key data (even modulus). Copy the line from the .pub file again.`);
  }
  const bits = bitLength(n);
  if (bits < MIN_RSA_BITS) {
    throw new RecipientError(
      `${name}: RSA key is only ${bits} bits; age requires RSA keys of at least ${MIN_RSA_BITS} bits. ${NEW_KEY_HINT}`,
    );
  }
  const warnings: string[] = [];
  if (bits > RAGE_MAX_RSA_BITS) {
    warnings.push(
      `${name}: RSA key has ${bits} bits; the Go age CLI accepts it, but rage (an optional agenix backend) refuses RSA keys over ${RAGE_MAX_RSA_BITS} bits.`,
    );
  }
  return {
    type: "ssh-rsa",
    blob,
    fingerprint,
    normalized,
    bits,
    ...(comment ? { comment } : {}),
    ...(hosts ? { hosts } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

// ---------------------------------------------------------------------------
// Recipient strings

/**
 * Parses a recipient: an SSH public key line (see {@link parseSshPublicKey}) or
 * a native X25519 recipient `age1…` (lowercase Bech32, checksum verified).
 *
 * Rejected: post-quantum `age1pq1…`, tag `age1tag1…`/`age1tagpq1…` and plugin
 * `age1<plugin>1…` recipients (age 1.1.1, which agenix uses, cannot decrypt
 * files containing them, and newer age refuses to mix post-quantum and SSH
 * recipients), age *identities* (`AGE-SECRET-KEY-…`), and anything else.
 */
export function parseRecipient(s: string): ParsedRecipient {
  if (typeof s !== "string") throw new RecipientError("A recipient must be a string.");
  const t = s.trim();
  if (/^AGE-SECRET-KEY-/i.test(t) || /^AGE-PLUGIN-/i.test(t)) {
    throw new RecipientError(
      "This is an age *identity* (a secret key), not a recipient. Never put it in the configuration; give its recipient instead (age-keygen -y <identity file> prints the age1… line).",
    );
  }
  if (/^age1/i.test(t)) {
    if (/\s/.test(t)) {
      throw new RecipientError("An age1… recipient must be given alone, without spaces, comments or further recipients on the same line.");
    }
    return parseAgeRecipient(t);
  }
  const key = parseSshPublicKey(t);
  return { kind: key.type, normalized: key.normalized, key };
}

function parseAgeRecipient(t: string): ParsedRecipient {
  if (!t.startsWith("age1")) {
    throw new RecipientError("age recipients must be written in lowercase (age1…); the age CLI does not accept other spellings.");
  }
  const sep = t.lastIndexOf("1");
  const hrp = t.slice(0, sep);
  if (hrp === "age1pq" || hrp === "age1tag" || hrp === "age1tagpq") {
    const kind = hrp === "age1pq" ? "post-quantum (age1pq1…)" : "tag (age1tag…)";
    throw new RecipientError(
      `A ${kind} age recipient was given (${t.slice(0, 16)}…): agenix's age 1.1.1 cannot decrypt files made for it. Use an X25519 recipient from age-keygen (without -pq) or an SSH key.`,
    );
  }
  if (hrp !== "age") {
    throw new RecipientError(
      `Recipient ${t.slice(0, 16)}… is an age plugin recipient (${hrp}1…); plugins are not supported here. ${SUPPORTED_HINT}`,
    );
  }
  let bytes: Uint8Array;
  try {
    const decoded = bech32.decode(t as `${string}1${string}`, false);
    bytes = bech32.fromWords(decoded.words);
  } catch {
    throw new RecipientError(
      `age recipient ${t.slice(0, 12)}… is damaged (invalid Bech32 characters or checksum). Copy the age1… line again (age-keygen -y prints it).`,
    );
  }
  if (bytes.length !== 32) {
    throw new RecipientError(`age recipient ${t.slice(0, 12)}… has the wrong length for an X25519 key (${bytes.length} bytes instead of 32).`);
  }
  return { kind: "x25519", normalized: t, publicKey: bytes };
}

// ---------------------------------------------------------------------------
// Recipients

/** Source of randomness: returns n fresh random bytes. */
export type RandomSource = (n: number) => Uint8Array;
const defaultRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

function toSshKey(key: SshPublicKey | string, want: SshPublicKey["type"]): SshPublicKey {
  const k = typeof key === "string" ? parseSshPublicKey(key) : key;
  if (k.type !== want) throw new RecipientError(`${describeKey(k)}: expected an ${want} key.`);
  return k;
}

/** age's `ssh-ed25519` recipient type. */
export class SshEd25519Recipient implements Recipient {
  readonly key: SshPublicKey;
  readonly tag: string;
  /** The recipient's X25519 public key (the Montgomery form of the Ed25519 key). */
  readonly x25519PublicKey: Uint8Array;
  private readonly random: RandomSource;

  /**
   * @param random only for known-answer tests: supplies the ephemeral scalar.
   */
  constructor(key: SshPublicKey | string, random: RandomSource = defaultRandom) {
    this.key = toSshKey(key, "ssh-ed25519");
    this.random = random;
    this.tag = sshTag(this.key.blob);
    const r = new WireReader(this.key.blob);
    r.string();
    const pub = r.string() as Uint8Array;
    this.x25519PublicKey = ed25519.utils.toMontgomery(pub);
  }

  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const label = textEncoder.encode(SSH_ED25519_LABEL);
    const ephemeral = this.random(32);
    if (ephemeral.length !== 32) throw new Error("random source returned the wrong length");
    const share = x25519.getPublicKey(ephemeral);
    const shared = x25519.getSharedSecret(ephemeral, this.x25519PublicKey); // throws on an all-zero result
    const tweak = hkdf(sha256, new Uint8Array(0), this.key.blob, label, 32);
    const tweaked = x25519.scalarMult(tweak, shared);
    const wrappingKey = hkdf(sha256, tweaked, concatBytes(share, this.x25519PublicKey), label, 32);
    const body = chacha().chacha20poly1305(wrappingKey, new Uint8Array(12)).encrypt(fileKey);
    return [new (age().Stanza)(["ssh-ed25519", this.tag, b64NoPad(share)], body)];
  }
}

/** age's `ssh-rsa` recipient type (RSA-OAEP with SHA-256 and the age label). */
export class SshRsaRecipient implements Recipient {
  readonly key: SshPublicKey;
  readonly tag: string;
  private readonly publicKey: KeyObject;

  constructor(key: SshPublicKey | string) {
    this.key = toSshKey(key, "ssh-rsa");
    this.tag = sshTag(this.key.blob);
    const r = new WireReader(this.key.blob);
    r.string();
    const e = mpintMagnitude(r.string() as Uint8Array) as Uint8Array;
    const n = mpintMagnitude(r.string() as Uint8Array) as Uint8Array;
    this.publicKey = createPublicKey({ key: { kty: "RSA", n: b64url(n), e: b64url(e) }, format: "jwk" });
  }

  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const body = publicEncrypt(
      {
        key: this.publicKey,
        padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: "sha256",
        oaepLabel: Buffer.from(SSH_RSA_LABEL, "ascii"),
      },
      fileKey,
    );
    return [new (age().Stanza)(["ssh-rsa", this.tag], new Uint8Array(body))];
  }
}

/** The typage recipient for a parsed recipient (X25519 is handled by typage itself). */
export function toAgeRecipient(r: ParsedRecipient): Recipient | string {
  switch (r.kind) {
    case "x25519":
      return r.normalized;
    case "ssh-ed25519":
      return new SshEd25519Recipient(r.key);
    case "ssh-rsa":
      return new SshRsaRecipient(r.key);
  }
}

// ---------------------------------------------------------------------------
// Encryption

function buildEncrypter(recipients: readonly string[]): Encrypter {
  if (!Array.isArray(recipients) || recipients.length === 0) {
    throw new RecipientError("Cannot encrypt to an empty recipient list: give at least one recipient.");
  }
  const enc = new (age().Encrypter)();
  const seen = new Set<string>();
  for (const s of recipients) {
    const parsed = parseRecipient(s);
    if (seen.has(parsed.normalized)) continue; // the same key twice adds nothing
    seen.add(parsed.normalized);
    enc.addRecipient(toAgeRecipient(parsed));
  }
  return enc;
}

/**
 * Encrypts to the given recipients (strings accepted by {@link parseRecipient})
 * and returns the binary age file. Stanzas follow the order of the recipients;
 * a recipient given twice is used once. All recipients are validated before
 * anything is encrypted.
 */
export async function encryptBinary(plaintext: string | Uint8Array, recipients: readonly string[]): Promise<Uint8Array> {
  const enc = buildEncrypter(recipients);
  return enc.encrypt(plaintext);
}

/** Like {@link encryptBinary}, but returns the ASCII-armored age file text. */
export async function encryptArmored(plaintext: string | Uint8Array, recipients: readonly string[]): Promise<string> {
  return age().armor.encode(await encryptBinary(plaintext, recipients));
}

/**
 * An armored age file's exact text, from the ciphertext a local command
 * printed: the command provider trims the trailing newline of a command's
 * stdout, and every armored file (encryptArmored, the copy in agenixDir) ends
 * with exactly one. Putting it back makes the host's copy byte-identical to
 * the local one, so their checksums match.
 */
export function armoredFileText(stdout: string): string {
  return stdout.replace(/\n*$/, "\n");
}
