// Decryption-side vectors and round trips of lib/age/ssh.ts through the test
// identities. The project's own SSH vectors (test/fixtures/age-vectors/ssh/)
// always run; the upstream sets (the age testkit's x25519 and armor cases,
// agenix's example secrets) are read from shared/age-vectors/ and are counted
// as skipped, with one line, when shared/ is not there.

import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { x25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { Decrypter, armor } from "age-encryption";
import type { Identity } from "age-encryption";
import { SshEd25519Recipient, SshRsaRecipient, encryptArmored, encryptBinary, parseSshPublicKey } from "../../lib/age/ssh";
import { UnwrapError, identityFromKeyFile, parseOpenSshPrivateKey, sshIdentityFromPem } from "../support/age-identities";
import { describeWhen } from "../support/requires";
import { fixturePath } from "../support/shared";
import { sharedAgeVectors } from "../support/shared-age-vectors";

const SSH = fixturePath("age-vectors", "ssh");
const UPSTREAM = sharedAgeVectors(["agenix-examples", "cctv"]);

type Outcome = "success" | "no match" | "HMAC failure" | "unwrap error" | "header failure" | "payload failure" | "armor failure";

interface Result {
  outcome: Outcome;
  plaintext?: Uint8Array;
  error?: unknown;
}

/** Decrypts with the given identities and classifies the result. */
async function decryptWith(file: Uint8Array, identities: Array<Identity | string>, passphrases: string[] = []): Promise<Result> {
  const d = new Decrypter();
  for (const i of identities) d.addIdentity(i);
  for (const p of passphrases) d.addPassphrase(p);
  try {
    await d.decryptHeader(file);
  } catch (error) {
    if (error instanceof UnwrapError) return { outcome: "unwrap error", error };
    const msg = (error as Error).message;
    if (msg === "no identity matched any of the file's recipients") return { outcome: "no match", error };
    if (msg === "invalid header HMAC") return { outcome: "HMAC failure", error };
    return { outcome: "header failure", error };
  }
  try {
    return { outcome: "success", plaintext: await d.decrypt(file) };
  } catch (error) {
    return { outcome: "payload failure", error };
  }
}

const sha256hex = (b: Uint8Array | string): string => createHash("sha256").update(b).digest("hex");
const keyFile = (rel: string): string => readFileSync(join(SSH, rel), "utf8");

/** Stanzas of a binary age header as text: [args, body line count]. */
function headerStanzas(file: Uint8Array): Array<{ args: string[]; bodyLines: string[] }> {
  const text = Buffer.from(file).toString("latin1");
  const end = text.indexOf("\n---");
  expect(end).toBeGreaterThan(0);
  const lines = text.slice(0, end).split("\n");
  expect(lines[0]).toBe("age-encryption.org/v1");
  const out: Array<{ args: string[]; bodyLines: string[] }> = [];
  for (const l of lines.slice(1)) {
    if (l.startsWith("-> ")) out.push({ args: l.slice(3).split(" "), bodyLines: [] });
    else out[out.length - 1].bodyLines.push(l);
  }
  return out;
}

// ---------------------------------------------------------------------------

describe("ssh vectors (manifest.json), each identity alone", () => {
  const manifest: Array<{
    file: string;
    identities: string[];
    expect: Outcome;
    armored: boolean;
    file_key: string;
    plaintext_file?: string | null;
    plaintext?: string;
    payload_sha256: string | null;
  }> = JSON.parse(readFileSync(join(SSH, "manifest.json"), "utf8"));

  const cases = manifest.flatMap((m) => m.identities.map((id) => [m.file, id, m.expect, m] as const));

  test("the manifest has the cases the README lists", () => {
    expect(manifest).toHaveLength(15);
    expect(cases.length).toBe(18); // multi.age has 3 identities, ed25519_then_rsa_both_valid 2
  });

  test.each(cases)("%s with %s → %s", async (file, id, expected, m) => {
    let bytes: Uint8Array = new Uint8Array(readFileSync(join(SSH, file)));
    if (m.armored) bytes = armor.decode(Buffer.from(bytes).toString("utf8"));
    const r = await decryptWith(bytes, [identityFromKeyFile(keyFile(id))]);
    expect(r.outcome).toBe(expected);
    if (expected === "success") {
      expect(sha256hex(r.plaintext!)).toBe(m.payload_sha256);
      const want = m.plaintext ?? keyFile(m.plaintext_file!);
      expect(Buffer.from(r.plaintext!).toString("utf8")).toBe(want);
    }
  });

  test("a key that is not a recipient gets 'no match' on the CLI-made files", async () => {
    const other = sshIdentityFromPem(keyFile("keys/rsa3072"));
    for (const f of ["files/ed25519.age", "files/rsa2048.age", "files/multi.age"]) {
      expect((await decryptWith(new Uint8Array(readFileSync(join(SSH, f))), [other])).outcome).toBe("no match");
    }
  });
});

describe("ssh-ed25519 known-answer test (ed25519-kat.json)", () => {
  const kat = JSON.parse(readFileSync(join(SSH, "ed25519-kat.json"), "utf8"));
  const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

  test("every intermediate value and the stanza", () => {
    const key = parseSshPublicKey(kat.ssh_public_key_line);
    expect(hex(key.blob)).toBe(kat.ssh_wire_public_key);
    expect(sha256hex(key.blob)).toBe(kat.sha256_of_wire_key);

    const ephemeral = Buffer.from(kat.ephemeral_scalar, "hex");
    let calls = 0;
    const r = new SshEd25519Recipient(key, (n) => {
      calls++;
      expect(n).toBe(32);
      return new Uint8Array(ephemeral);
    });
    expect(r.tag).toBe(kat.tag_arg);
    expect(hex(r.x25519PublicKey)).toBe(kat.recipient_x25519_public_key);

    const stanzas = r.wrapFileKey(new Uint8Array(Buffer.from(kat.file_key, "hex")));
    expect(calls).toBe(1);
    expect(stanzas).toHaveLength(1);
    const [s] = stanzas;
    expect(s.args).toEqual(["ssh-ed25519", kat.tag_arg, kat.ephemeral_share_arg]);
    expect(hex(s.body)).toBe(kat.stanza_body);
    const text = `-> ${s.args.join(" ")}\n${Buffer.from(s.body).toString("base64").replace(/=+$/, "")}\n`;
    expect(text).toBe(kat.stanza_text);
  });

  test("the identity side derives the same X25519 key from the private key", () => {
    const priv = parseOpenSshPrivateKey(keyFile("keys/kat_ed25519"));
    if (priv.type !== "ssh-ed25519") throw new Error("expected an ed25519 key");
    expect(Buffer.from(priv.seed).toString("hex")).toBe(kat.ed25519_seed);
    const scalar = sha512(priv.seed).subarray(0, 32);
    expect(hex(scalar)).toBe(kat.identity_x25519_scalar_sha512_seed_first32);
    expect(hex(x25519.getPublicKey(scalar))).toBe(kat.recipient_x25519_public_key);
  });
});

function agenixExamples(): void {
  const AG = (...p: string[]): string => join(UPSTREAM.dir("agenix-examples"), ...p);
  const table: Array<[file: string, user1: Outcome, system1: Outcome, sha: string]> = [
    ["secret1.age", "success", "success", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"],
    ["secret2.age", "success", "no match", "15296cbd7565d6b3583fcfe1d92246cbe27bd9b7c5862784c78f1176c3b622b0"],
    ["passwordfile-user1.age", "success", "success", "d16974ba3a7e1720c73b4503ed9363166de85272b511ced73705249c70b86432"],
    ["-leading-hyphen-filename.age", "success", "success", "a86743480d086751a3b98265603f45c14e5062f61af410f21a246bcb8dcefe50"],
    ["armored-secret.age", "success", "no match", "03ba204e50d126e4674c005e04d82e84c21366780af1f43bd54a37816b6ab340"],
  ];
  const cases = table.flatMap(([f, u, s, sha]) => [
    [f, "user1", u, sha] as const,
    [f, "system1", s, sha] as const,
  ]);

  test.each(cases)("%s with %s → %s", async (file, who, expected, sha) => {
    const raw = readFileSync(AG("example", file));
    const text = raw.toString("latin1");
    const bytes = text.startsWith("-----BEGIN AGE ENCRYPTED FILE-----") ? armor.decode(raw.toString("utf8")) : new Uint8Array(raw);
    const id = sshIdentityFromPem(readFileSync(AG("example_keys", who), "utf8"));
    const r = await decryptWith(bytes, [id]);
    expect(r.outcome).toBe(expected);
    if (expected === "success") expect(sha256hex(r.plaintext!)).toBe(sha);
  });

  test("the example public keys parse and match the private keys' tags", () => {
    for (const who of ["user1", "system1"]) {
      const k = parseSshPublicKey(readFileSync(AG("example_keys", `${who}.pub`), "utf8"));
      const id = sshIdentityFromPem(readFileSync(AG("example_keys", who), "utf8"));
      expect(new SshEd25519Recipient(k).tag).toBe(id.tag);
    }
  });
}

// The names are listed here, not read from the folder, so that the cases are
// collected (and counted as skipped) without shared/; the first test checks
// that the folder holds exactly these.
const CCTV_X25519 = "bad_tag extra_argument grease identity long_file_key long_share low_order lowercase multiple_recipients no_match not_canonical_body not_canonical_share short_share";
const CCTV_ARMOR =
  "crlf empty empty_last_line empty_line_begin empty_line_end eol_between_padding full_last_line garbage_encoded garbage_leading garbage_trailing " +
  "header_crlf headers hybrid invalid_character_header invalid_character_payload long_line lowercase no_end_line no_eol no_match no_padding " +
  "not_canonical pgp_checksum scrypt short_line whitespace_begin whitespace_end whitespace_eol whitespace_last_line whitespace_line_start " +
  "whitespace_outside wrong_type x25519";
const CCTV_NAMES = ["x25519", ...CCTV_X25519.split(" ").map((s) => `x25519_${s}`), ...CCTV_ARMOR.split(" ").map((s) => `armor_${s}`)].sort();

function cctvVectors(): void {
  const KNOWN = new Set(["expect", "payload", "file key", "identity", "passphrase", "armored", "compressed", "comment"]);
  const names = CCTV_NAMES;

  function parseVector(buf: Buffer) {
    const sep = buf.indexOf("\n\n");
    expect(sep).toBeGreaterThan(0);
    const headers: Array<[string, string]> = buf
      .subarray(0, sep)
      .toString("utf8")
      .split("\n")
      .map((l) => {
        const i = l.indexOf(": ");
        return [l.slice(0, i), l.slice(i + 2)];
      });
    return { headers, body: buf.subarray(sep + 2) };
  }

  test("the shared folder holds exactly the listed files", () => {
    expect(readdirSync(UPSTREAM.dir("cctv")).filter((f) => /^(x25519|armor_)/.test(f)).sort()).toEqual(names);
    // The shared README says 48 (33 armor_* + 15 x25519*); the folder holds 14 x25519* files.
    expect(names.filter((n) => n.startsWith("armor_"))).toHaveLength(33);
    expect(names.filter((n) => n.startsWith("x25519"))).toHaveLength(14);
  });

  test.each(names)("%s", async (name) => {
    const { headers, body } = parseVector(readFileSync(join(UPSTREAM.dir("cctv"), name)));
    for (const [k] of headers) expect(KNOWN.has(k)).toBe(true); // nothing skipped silently
    const get = (k: string) => headers.filter(([h]) => h === k).map(([, v]) => v);
    const expected = get("expect")[0] as Outcome;
    let data: Uint8Array = new Uint8Array(get("compressed")[0] === "zlib" ? inflateSync(body) : body);
    if (get("armored")[0] === "yes") {
      try {
        data = armor.decode(Buffer.from(data).toString("utf8"));
      } catch (error) {
        expect(expected).toBe("armor failure");
        return;
      }
    }
    const r = await decryptWith(data, get("identity"), get("passphrase"));
    expect(r.outcome).toBe(expected);
    if (expected === "success") expect(sha256hex(r.plaintext!)).toBe(get("payload")[0]);
  });
}

describeWhen(UPSTREAM.missing, "upstream age vectors (shared/age-vectors)", () => {
  describe("agenix example secrets", agenixExamples);
  describe("CCTV x25519* and armor_* vectors", cctvVectors);
});

describe("round trips: lib/age/ssh.ts encryption → test identities", () => {
  const pubs = {
    ed25519: keyFile("keys/ed25519.pub"),
    rsa2048: keyFile("keys/rsa2048.pub"),
    rsa3072: keyFile("keys/rsa3072.pub"),
    x25519: /# public key: (age1\S+)/.exec(keyFile("keys/x25519.txt"))![1],
  };
  const ids = {
    ed25519: identityFromKeyFile(keyFile("keys/ed25519")),
    rsa2048: identityFromKeyFile(keyFile("keys/rsa2048")),
    rsa3072: identityFromKeyFile(keyFile("keys/rsa3072")),
    x25519: identityFromKeyFile(keyFile("keys/x25519.txt")),
  };
  const plaintext = 'line 1\nrestic "password" with \'quotes\' — ünïcödé ✓ 🔐\n\tlast line without newline';
  const order = ["rsa3072", "ed25519", "x25519", "rsa2048"] as const;

  test.each([false, true])("armored=%s: each identity alone decrypts; stanzas follow recipient order", async (armored) => {
    const recipients = order.map((k) => pubs[k]);
    const file = armored ? armor.decode(await encryptArmored(plaintext, recipients)) : await encryptBinary(plaintext, recipients);
    const stanzas = headerStanzas(file);
    expect(stanzas.map((s) => s.args[0])).toEqual(["ssh-rsa", "ssh-ed25519", "X25519", "ssh-rsa"]);
    // ssh-rsa 3072: tag, 384-byte body = 8 full lines + the empty final line
    expect(stanzas[0].args).toEqual(["ssh-rsa", new SshRsaRecipient(pubs.rsa3072).tag]);
    expect(stanzas[0].bodyLines.map((l) => l.length)).toEqual([64, 64, 64, 64, 64, 64, 64, 64, 0]);
    // ssh-ed25519: tag, 43-char share, one 43-char body line
    expect(stanzas[1].args[1]).toBe(new SshEd25519Recipient(pubs.ed25519).tag);
    expect(stanzas[1].args[2]).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(stanzas[1].bodyLines.map((l) => l.length)).toEqual([43]);
    // ssh-rsa 2048: 256 bytes = 5 full lines + 22 chars
    expect(stanzas[3].bodyLines.map((l) => l.length)).toEqual([64, 64, 64, 64, 64, 22]);

    for (const k of order) {
      const r = await decryptWith(file, [ids[k]]);
      expect([k, r.outcome]).toEqual([k, "success"]);
      expect(Buffer.from(r.plaintext!).toString("utf8")).toBe(plaintext);
    }
  });

  test("an identity that is not a recipient gets no match", async () => {
    const file = await encryptBinary(plaintext, [pubs.ed25519, pubs.rsa2048]);
    expect((await decryptWith(file, [ids.rsa3072])).outcome).toBe("no match");
    expect((await decryptWith(file, [ids.x25519])).outcome).toBe("no match");
    const kat = sshIdentityFromPem(keyFile("keys/kat_ed25519"));
    expect((await decryptWith(file, [kat])).outcome).toBe("no match");
  });

  test("armored output is the armor of a valid file", async () => {
    const text = await encryptArmored(plaintext, [pubs.ed25519]);
    expect(text.startsWith("-----BEGIN AGE ENCRYPTED FILE-----\n")).toBe(true);
    expect(text.endsWith("-----END AGE ENCRYPTED FILE-----\n")).toBe(true);
    for (const l of text.split("\n").slice(1, -2)) expect(l.length).toBeLessThanOrEqual(64);
    expect(text).not.toContain("restic");
  });

  test("binary plaintext round-trips", async () => {
    const data = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff); // more than one 64 KiB chunk
    const file = await encryptBinary(data, [pubs.rsa2048]);
    const r = await decryptWith(file, [ids.rsa2048]);
    expect(r.outcome).toBe("success");
    expect(Buffer.from(r.plaintext!).equals(Buffer.from(data))).toBe(true);
  });

  test("a fresh ephemeral share and file key per file", async () => {
    const a = headerStanzas(await encryptBinary("x", [pubs.ed25519]))[0];
    const b = headerStanzas(await encryptBinary("x", [pubs.ed25519]))[0];
    expect(a.args[2]).not.toBe(b.args[2]);
    expect(a.bodyLines[0]).not.toBe(b.bodyLines[0]);
  });

  test("a recipient given twice (even with another comment or host field) is used once", async () => {
    const bare = pubs.ed25519.split(" ").slice(0, 2).join(" ");
    const file = await encryptBinary("x", [pubs.ed25519, `myhost ${bare}`, bare + " other", pubs.x25519]);
    expect(headerStanzas(file).map((s) => s.args[0])).toEqual(["ssh-ed25519", "X25519"]);
  });

  test("a tampered ssh-ed25519 body is an unwrap error, not a silent no match", async () => {
    const file = Buffer.from(await encryptBinary("x", [pubs.ed25519]));
    const text = file.toString("latin1");
    const bodyStart = text.indexOf("\n", text.indexOf("-> ssh-ed25519")) + 1;
    file[bodyStart] = file[bodyStart] === 0x41 ? 0x42 : 0x41;
    expect((await decryptWith(new Uint8Array(file), [ids.ed25519])).outcome).toBe("unwrap error");
  });
});
