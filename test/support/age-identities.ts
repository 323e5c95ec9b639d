// Test-only age identities for the ssh-ed25519 and ssh-rsa stanza types, built
// from unencrypted OpenSSH private keys. The program itself never decrypts;
// these exist so tests can check what lib/age/ssh.ts produces and run the
// decryption-side vectors. They follow Go age's rules: a stanza of the type
// that is malformed, or that matches this key's tag but fails to decrypt, is a
// hard error (UnwrapError); a stanza for another key is skipped.

import { constants as cryptoConstants, createPrivateKey, privateDecrypt } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import type { Identity, Stanza } from "age-encryption";
import { SSH_ED25519_LABEL, SSH_RSA_LABEL, sshTag } from "../../lib/age/ssh";

/** A stanza addressed to this identity (or malformed for its type) could not be used. */
export class UnwrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnwrapError";
  }
}

// ---------------------------------------------------------------------------
// OpenSSH private key format ("openssh-key-v1")

class Reader {
  private off = 0;
  constructor(private readonly buf: Uint8Array) {}
  get remaining(): number {
    return this.buf.length - this.off;
  }
  bytes(n: number): Uint8Array {
    if (n > this.remaining) throw new Error("OpenSSH private key: truncated");
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  uint32(): number {
    const b = this.bytes(4);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }
  string(): Uint8Array {
    return this.bytes(this.uint32());
  }
  text(): string {
    return Buffer.from(this.string()).toString("utf8");
  }
  /** Unsigned magnitude of an mpint. */
  mpint(): Uint8Array {
    const raw = this.string();
    if (raw.length > 0 && raw[0] & 0x80) throw new Error("OpenSSH private key: negative mpint");
    let i = 0;
    while (i < raw.length && raw[i] === 0) i++;
    return raw.subarray(i);
  }
}

export type OpenSshPrivateKey =
  | { type: "ssh-ed25519"; publicBlob: Uint8Array; seed: Uint8Array; publicKey: Uint8Array; comment: string }
  | {
      type: "ssh-rsa";
      publicBlob: Uint8Array;
      n: Uint8Array;
      e: Uint8Array;
      d: Uint8Array;
      iqmp: Uint8Array;
      p: Uint8Array;
      q: Uint8Array;
      comment: string;
    };

const BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
const END = "-----END OPENSSH PRIVATE KEY-----";

/** Parses an unencrypted `-----BEGIN OPENSSH PRIVATE KEY-----` file. */
export function parseOpenSshPrivateKey(pem: string): OpenSshPrivateKey {
  const text = pem.trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) throw new Error("not an OpenSSH private key");
  const body = text.slice(BEGIN.length, text.length - END.length).replace(/\s+/g, "");
  const r = new Reader(new Uint8Array(Buffer.from(body, "base64")));
  const magic = r.bytes(15);
  if (Buffer.from(magic).toString("latin1") !== "openssh-key-v1\0") throw new Error("OpenSSH private key: bad magic");
  const cipher = r.text();
  const kdf = r.text();
  r.string(); // kdf options
  if (cipher !== "none" || kdf !== "none") throw new Error("OpenSSH private key: passphrase-protected keys are not supported in tests");
  if (r.uint32() !== 1) throw new Error("OpenSSH private key: expected exactly one key");
  const publicBlob = r.string();
  const priv = new Reader(r.string());
  if (r.remaining !== 0) throw new Error("OpenSSH private key: trailing data");
  if (priv.uint32() !== priv.uint32()) throw new Error("OpenSSH private key: check values differ");
  const type = priv.text();
  let key: OpenSshPrivateKey;
  if (type === "ssh-ed25519") {
    const publicKey = priv.string();
    const both = priv.string();
    if (publicKey.length !== 32 || both.length !== 64) throw new Error("OpenSSH private key: bad ed25519 lengths");
    if (!Buffer.from(both.subarray(32)).equals(Buffer.from(publicKey))) throw new Error("OpenSSH private key: ed25519 halves disagree");
    key = { type, publicBlob, seed: both.subarray(0, 32), publicKey, comment: priv.text() };
  } else if (type === "ssh-rsa") {
    const n = priv.mpint();
    const e = priv.mpint();
    const d = priv.mpint();
    const iqmp = priv.mpint();
    const p = priv.mpint();
    const q = priv.mpint();
    key = { type, publicBlob, n, e, d, iqmp, p, q, comment: priv.text() };
  } else {
    throw new Error(`OpenSSH private key: unsupported type ${type}`);
  }
  const pad = priv.bytes(priv.remaining);
  pad.forEach((b, i) => {
    if (b !== i + 1) throw new Error("OpenSSH private key: bad padding");
  });
  return key;
}

// ---------------------------------------------------------------------------
// Identities

const enc = new TextEncoder();

function decodeB64NoPadStrict(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  const bytes = Buffer.from(s, "base64");
  if (bytes.toString("base64").replace(/=+$/, "") !== s) return null;
  return new Uint8Array(bytes);
}

export class SshEd25519Identity implements Identity {
  readonly tag: string;
  private readonly scalar: Uint8Array;
  private readonly ownX25519: Uint8Array;
  private readonly publicBlob: Uint8Array;

  constructor(key: OpenSshPrivateKey & { type: "ssh-ed25519" }) {
    this.publicBlob = key.publicBlob;
    this.tag = sshTag(key.publicBlob);
    this.scalar = sha512(key.seed).subarray(0, 32);
    this.ownX25519 = x25519.getPublicKey(this.scalar);
  }

  unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
    const label = enc.encode(SSH_ED25519_LABEL);
    for (const s of stanzas) {
      if (s.args[0] !== "ssh-ed25519") continue;
      if (s.args.length !== 3) throw new UnwrapError("invalid ssh-ed25519 recipient block");
      const share = decodeB64NoPadStrict(s.args[2]);
      if (share === null || share.length !== 32) throw new UnwrapError("invalid ssh-ed25519 recipient block");
      if (s.args[1] !== this.tag) continue;
      if (s.body.length !== 32) throw new UnwrapError("ssh-ed25519 stanza body has the wrong length");
      let shared: Uint8Array;
      try {
        shared = x25519.getSharedSecret(this.scalar, share);
      } catch {
        throw new UnwrapError("ssh-ed25519 stanza: low-order ephemeral share");
      }
      const tweak = hkdf(sha256, new Uint8Array(0), this.publicBlob, label, 32);
      const tweaked = x25519.scalarMult(tweak, shared);
      const salt = new Uint8Array(64);
      salt.set(share, 0);
      salt.set(this.ownX25519, 32);
      const wrappingKey = hkdf(sha256, tweaked, salt, label, 32);
      let fileKey: Uint8Array;
      try {
        fileKey = chacha20poly1305(wrappingKey, new Uint8Array(12)).decrypt(s.body);
      } catch {
        throw new UnwrapError("ssh-ed25519 stanza: failed to decrypt the file key");
      }
      return fileKey;
    }
    return null;
  }
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString("base64url");
}
function toBig(b: Uint8Array): bigint {
  return b.length ? BigInt("0x" + Buffer.from(b).toString("hex")) : 0n;
}
function fromBig(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export class SshRsaIdentity implements Identity {
  readonly tag: string;
  private readonly privateKey: KeyObject;

  constructor(key: OpenSshPrivateKey & { type: "ssh-rsa" }) {
    this.tag = sshTag(key.publicBlob);
    const d = toBig(key.d);
    const dp = d % (toBig(key.p) - 1n);
    const dq = d % (toBig(key.q) - 1n);
    this.privateKey = createPrivateKey({
      key: {
        kty: "RSA",
        n: b64url(key.n),
        e: b64url(key.e),
        d: b64url(key.d),
        p: b64url(key.p),
        q: b64url(key.q),
        dp: b64url(fromBig(dp)),
        dq: b64url(fromBig(dq)),
        qi: b64url(key.iqmp),
      },
      format: "jwk",
    });
  }

  unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
    for (const s of stanzas) {
      if (s.args[0] !== "ssh-rsa") continue;
      if (s.args.length !== 2) throw new UnwrapError("invalid ssh-rsa recipient block");
      if (s.args[1] !== this.tag) continue;
      let fileKey: Uint8Array;
      try {
        fileKey = new Uint8Array(
          privateDecrypt(
            {
              key: this.privateKey,
              padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING,
              oaepHash: "sha256",
              oaepLabel: Buffer.from(SSH_RSA_LABEL, "ascii"),
            },
            s.body,
          ),
        );
      } catch {
        throw new UnwrapError("ssh-rsa stanza: failed to decrypt the file key");
      }
      if (fileKey.length !== 16) throw new UnwrapError("ssh-rsa stanza: file key has the wrong length");
      return fileKey;
    }
    return null;
  }
}

/** An identity from an unencrypted OpenSSH private key file's text. */
export function sshIdentityFromPem(pem: string): SshEd25519Identity | SshRsaIdentity {
  const key = parseOpenSshPrivateKey(pem);
  return key.type === "ssh-ed25519" ? new SshEd25519Identity(key) : new SshRsaIdentity(key);
}

/**
 * An identity for typage's Decrypter from a key file's text: an OpenSSH
 * private key, or an age-keygen file (the AGE-SECRET-KEY-1… line is returned
 * as a string, which typage handles natively).
 */
export function identityFromKeyFile(text: string): Identity | string {
  if (text.includes(BEGIN)) return sshIdentityFromPem(text);
  const line = text.split(/\r?\n/).find((l) => l.startsWith("AGE-SECRET-KEY-"));
  if (!line) throw new Error("key file holds neither an OpenSSH private key nor an age identity");
  return line.trim();
}
