// Parser tests for lib/age/ssh.ts: real keys from ssh-keygen plus hand-built
// blobs for the kinds ssh-keygen cannot make here.

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { bech32 } from "@scure/base";
import { generateHybridIdentity, identityToRecipient } from "age-encryption";
import {
  RecipientError,
  describeKey,
  encryptArmored,
  encryptBinary,
  parseRecipient,
  parseSshPublicKey,
  sshTag,
} from "../../lib/age/ssh";
import { fixturePath } from "../support/shared";

// ---------------------------------------------------------------------------
// helpers

function sshString(b: Uint8Array | string): Buffer {
  const body = typeof b === "string" ? Buffer.from(b, "ascii") : Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function mpint(v: bigint): Buffer {
  if (v === 0n) return sshString(new Uint8Array(0));
  let hex = v.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  let b = Buffer.from(hex, "hex");
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

function line(type: string, blob: Uint8Array, comment?: string): string {
  return `${type} ${Buffer.from(blob).toString("base64")}${comment === undefined ? "" : " " + comment}`;
}

function blobOf(pubLine: string): Buffer {
  return Buffer.from(pubLine.trim().split(/\s+/)[1], "base64");
}

function fingerprintOf(blob: Uint8Array): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

function rejection(input: string): Error {
  try {
    parseSshPublicKey(input);
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(RecipientError);
    return e as Error;
  }
  throw new Error(`expected the line to be rejected: ${input.slice(0, 40)}`);
}

function recipientRejection(input: string): Error {
  try {
    parseRecipient(input);
  } catch (e) {
    expect(e).toBeInstanceOf(RecipientError);
    return e as Error;
  }
  throw new Error(`expected the recipient to be rejected: ${input.slice(0, 40)}`);
}

// ---------------------------------------------------------------------------
// keys from ssh-keygen

let dir: string;
const pub: Record<string, string> = {};
const sshKeygenFingerprint: Record<string, string> = {};

const GENERATED: Array<[name: string, args: string[], comment: string]> = [
  ["ed25519", ["-t", "ed25519"], "alice@laptop"],
  ["ed25519_nocomment", ["-t", "ed25519"], ""],
  ["rsa2048", ["-t", "rsa", "-b", "2048"], "rsa 2048 key"],
  ["rsa1024", ["-t", "rsa", "-b", "1024"], "old-rsa"],
  ["rsa1024_nocomment", ["-t", "rsa", "-b", "1024"], ""],
  ["ecdsa256", ["-t", "ecdsa", "-b", "256"], "ecdsa-laptop"],
  ["ecdsa384", ["-t", "ecdsa", "-b", "384"], ""],
  ["ecdsa521", ["-t", "ecdsa", "-b", "521"], "p521"],
  ["dsa", ["-t", "dsa"], "legacy-dsa"],
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "age-ssh-unit-"));
  for (const [name, args, comment] of GENERATED) {
    const file = join(dir, name);
    execFileSync("ssh-keygen", ["-q", ...args, "-N", "", "-C", comment, "-f", file], { stdio: "pipe" });
    pub[name] = readFileSync(file + ".pub", "utf8");
    // "<bits> SHA256:<fp> <comment> (<TYPE>)"
    sshKeygenFingerprint[name] = execFileSync("ssh-keygen", ["-lf", file + ".pub"], { encoding: "utf8" }).split(" ")[1];
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe("parseSshPublicKey: accepted forms", () => {
  test("ssh-ed25519 .pub line with comment; fingerprint equals ssh-keygen -lf", () => {
    const k = parseSshPublicKey(pub.ed25519);
    const b64 = pub.ed25519.split(" ")[1];
    expect(k.type).toBe("ssh-ed25519");
    expect(k.comment).toBe("alice@laptop");
    expect(k.fingerprint).toBe(sshKeygenFingerprint.ed25519);
    expect(k.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(k.normalized).toBe(`ssh-ed25519 ${b64}`);
    expect(Buffer.from(k.blob).equals(Buffer.from(b64, "base64"))).toBe(true);
    expect(k.blob.length).toBe(51);
    expect(k.bits).toBeUndefined();
    expect(k.hosts).toBeUndefined();
  });

  test("ssh-rsa 2048 line: bits and fingerprint", () => {
    const k = parseSshPublicKey(pub.rsa2048);
    expect(k.type).toBe("ssh-rsa");
    expect(k.bits).toBe(2048);
    expect(k.comment).toBe("rsa 2048 key");
    expect(k.fingerprint).toBe(sshKeygenFingerprint.rsa2048);
    expect(k.normalized).toBe(`ssh-rsa ${pub.rsa2048.split(" ")[1]}`);
    expect(k.warnings).toBeUndefined();
  });

  test("shared test-vector keys (rsa3072, kat ed25519) match ssh-keygen -lf", () => {
    for (const name of ["rsa3072", "rsa2048", "ed25519", "kat_ed25519"]) {
      const file = fixturePath("age-vectors/ssh/keys", `${name}.pub`);
      const expected = execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" }).split(" ")[1];
      expect(parseSshPublicKey(readFileSync(file, "utf8")).fingerprint).toBe(expected);
    }
    expect(parseSshPublicKey(readFileSync(fixturePath("age-vectors/ssh/keys/rsa3072.pub"), "utf8")).bits).toBe(3072);
  });

  test("tag is the unpadded base64 of the first 4 bytes of SHA-256(blob)", () => {
    const kat = JSON.parse(readFileSync(fixturePath("age-vectors/ssh/ed25519-kat.json"), "utf8"));
    expect(sshTag(parseSshPublicKey(kat.ssh_public_key_line).blob)).toBe(kat.tag_arg);
  });

  const b64 = () => pub.ed25519.split(" ")[1];
  const normalized = () => `ssh-ed25519 ${b64()}`;

  test.each<[string, () => string, string | undefined, string[] | undefined]>([
    ["no comment", () => `ssh-ed25519 ${b64()}`, undefined, undefined],
    ["comment with spaces", () => `ssh-ed25519 ${b64()} root@host  (backup key)`, "root@host  (backup key)", undefined],
    ["tab separators", () => `ssh-ed25519\t${b64()}\tme@x`, "me@x", undefined],
    ["surrounding whitespace and CRLF", () => `  ssh-ed25519 ${b64()} me@x\r\n`, "me@x", undefined],
    ["ssh-keyscan output", () => `host.example.org ssh-ed25519 ${b64()}`, undefined, ["host.example.org"]],
    ["ssh-keyscan with comma list", () => `nas,nas.lan,192.168.1.10 ssh-ed25519 ${b64()}`, undefined, ["nas", "nas.lan", "192.168.1.10"]],
    ["ssh-keyscan with [host]:port", () => `[nas.lan]:2222 ssh-ed25519 ${b64()}`, undefined, ["[nas.lan]:2222"]],
    ["ssh-keyscan with IPv6", () => `2001:db8::1 ssh-ed25519 ${b64()}`, undefined, ["2001:db8::1"]],
    [
      "ssh-keyscan -H hashed host",
      () => `|1|c2FsdHNhbHRzYWx0c2FsdHNhbHQ=|aGFzaGhhc2hoYXNoaGFzaGhhc2g= ssh-ed25519 ${b64()}`,
      undefined,
      ["|1|c2FsdHNhbHRzYWx0c2FsdHNhbHQ=|aGFzaGhhc2hoYXNoaGFzaGhhc2g="],
    ],
    ["known_hosts line with comment", () => `backup-host ssh-ed25519 ${b64()} added 2024`, "added 2024", ["backup-host"]],
  ])("accepts %s", (_name, input, comment, hosts) => {
    const k = parseSshPublicKey(input());
    expect(k.type).toBe("ssh-ed25519");
    expect(k.normalized).toBe(normalized());
    expect(k.fingerprint).toBe(sshKeygenFingerprint.ed25519);
    expect(k.comment).toBe(comment);
    expect(k.hosts).toEqual(hosts);
  });

  test("real ssh-keyscan-shaped output for an RSA host key", () => {
    const k = parseSshPublicKey(`myhost ${pub.rsa2048.split(" ").slice(0, 2).join(" ")}`);
    expect(k.type).toBe("ssh-rsa");
    expect(k.hosts).toEqual(["myhost"]);
    expect(k.comment).toBeUndefined();
  });

  test("RSA over 4096 bits is accepted with a warning about rage", () => {
    // a crafted 4104-bit odd modulus (never used to encrypt here)
    const nBytes = randomBytes(513);
    nBytes[0] = 0x80;
    nBytes[512] |= 1;
    const n = BigInt("0x" + nBytes.toString("hex"));
    const blob = Buffer.concat([sshString("ssh-rsa"), mpint(65537n), mpint(n)]);
    const k = parseSshPublicKey(line("ssh-rsa", blob, "big"));
    expect(k.bits).toBe(4104);
    expect(k.warnings).toHaveLength(1);
    expect(k.warnings![0]).toMatch(/rage/);
    expect(k.warnings![0]).toContain('"big"');
  });
});

describe("parseSshPublicKey: rejections", () => {
  const ed = () => blobOf(pub.ed25519);
  const rsa3072Field = () => readFileSync(fixturePath("age-vectors/ssh/keys/rsa3072.pub"), "utf8").split(" ")[1];
  const edPoint = () => ed().subarray(19);

  // Each case: input, expected name in the message, patterns for the rule/advice.
  type Case = [name: string, input: () => string, keyName: () => string | null, patterns: RegExp[]];
  const cases: Case[] = [
    ["ECDSA P-256 (comment)", () => pub.ecdsa256, () => '"ecdsa-laptop"', [/ECDSA/, /ssh-ed25519 and ssh-rsa/, /ssh-keygen -t ed25519/]],
    ["ECDSA P-384 (no comment → fingerprint)", () => pub.ecdsa384, () => sshKeygenFingerprint.ecdsa384, [/ECDSA/, /ecdsa-sha2-nistp384/]],
    ["ECDSA P-521", () => pub.ecdsa521, () => '"p521"', [/ECDSA/]],
    ["DSA", () => pub.dsa, () => '"legacy-dsa"', [/DSA keys \(ssh-dss\)/, /ssh-keygen -t ed25519/]],
    ["RSA 1024 (comment)", () => pub.rsa1024, () => '"old-rsa"', [/only 1024 bits/, /at least 2048 bits/, /ssh-keygen -t ed25519/]],
    ["RSA 1024 (no comment → fingerprint)", () => pub.rsa1024_nocomment, () => sshKeygenFingerprint.rsa1024_nocomment, [/1024 bits/, /at least 2048/]],
    [
      "sk-ssh-ed25519 (FIDO)",
      () => line("sk-ssh-ed25519@openssh.com", Buffer.concat([sshString("sk-ssh-ed25519@openssh.com"), sshString(edPoint()), sshString("ssh:")]), "yubikey"),
      () => '"yubikey"',
      [/FIDO/, /sk-ssh-ed25519@openssh\.com/, /ssh-keygen -t ed25519/],
    ],
    [
      "sk-ecdsa (FIDO)",
      () => {
        const q = Buffer.concat([Buffer.from([4]), randomBytes(64)]);
        const blob = Buffer.concat([sshString("sk-ecdsa-sha2-nistp256@openssh.com"), sshString("nistp256"), sshString(q), sshString("ssh:")]);
        return line("sk-ecdsa-sha2-nistp256@openssh.com", blob);
      },
      () => "SHA256:",
      [/FIDO/],
    ],
    [
      "certificate",
      () => line("ssh-ed25519-cert-v01@openssh.com", Buffer.concat([sshString("ssh-ed25519-cert-v01@openssh.com"), sshString(randomBytes(32))]), "cert"),
      () => '"cert"',
      [/certificates/, /\.pub/],
    ],
    [
      "unknown type",
      () => line("ssh-foo", Buffer.concat([sshString("ssh-foo"), sshString(randomBytes(32))]), "foo"),
      () => '"foo"',
      [/unknown SSH key type "ssh-foo"/, /Supported recipients are/],
    ],
    [
      "type text ssh-rsa, blob ssh-ed25519",
      () => `ssh-rsa ${ed().toString("base64")} mixed`,
      () => '"mixed"',
      [/type text "ssh-rsa" does not match the key data, which is a "ssh-ed25519" key/, /copy it unchanged/],
    ],
    [
      "type text ssh-ed25519, blob ssh-rsa",
      () => `ssh-ed25519 ${pub.rsa2048.split(" ")[1]}`,
      () => fingerprintOf(blobOf(pub.rsa2048)),
      [/does not match/, /"ssh-rsa" key/],
    ],
    [
      "type text ssh-ed25519, blob ecdsa",
      () => `ssh-ed25519 ${pub.ecdsa256.split(" ")[1]} x`,
      () => '"x"',
      [/does not match/],
    ],
    ["trailing garbage in the blob", () => line("ssh-ed25519", Buffer.concat([ed(), Buffer.from([0, 1, 2])]), "tg"), () => '"tg"', [/trailing bytes/]],
    [
      "trailing garbage in an RSA blob",
      () => line("ssh-rsa", Buffer.concat([blobOf(pub.rsa2048), sshString("x")])),
      () => fingerprintOf(Buffer.concat([blobOf(pub.rsa2048), sshString("x")])),
      [/trailing bytes/],
    ],
    ["truncated ed25519 blob", () => line("ssh-ed25519", ed().subarray(0, 40), "tr"), () => '"tr"', [/truncated/, /copy the whole line/i]],
    ["truncated RSA blob", () => line("ssh-rsa", blobOf(pub.rsa2048).subarray(0, 200), "trr"), () => '"trr"', [/truncated/]],
    ["blob too short for a type", () => `ssh-ed25519 ${Buffer.from([0, 0, 0, 11, 0x73]).toString("base64")}AAAAAAAAAAAAAAAA`, () => null, [/base64|truncated/]],
    ["wrong ed25519 key length", () => line("ssh-ed25519", Buffer.concat([sshString("ssh-ed25519"), sshString(randomBytes(31))]), "len"), () => '"len"', [/must be 32 bytes/]],
    [
      "base64 with an invalid character",
      () => `ssh-ed25519 ${pub.ed25519.split(" ")[1].slice(0, 30)}!${pub.ed25519.split(" ")[1].slice(31)} bad`,
      () => '"bad"',
      [/not valid base64/, /copy the whole line/i],
    ],
    [
      "base64 without its padding",
      () => `ssh-rsa ${rsa3072Field().replace(/=+$/, "")} pad`,
      () => '"pad"',
      [/not valid base64/],
    ],
    [
      "non-canonical base64 (padding bits set)",
      () => {
        // the 3072-bit blob is 407 bytes, so its last base64 digit before "=" carries 2 unused bits
        const r = rsa3072Field();
        const last = r.indexOf("=") - 1;
        const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const changed = alphabet[alphabet.indexOf(r[last]) ^ 1];
        expect(Buffer.from(r.slice(0, last) + changed + "=", "base64").equals(Buffer.from(r, "base64"))).toBe(true);
        return `ssh-rsa ${r.slice(0, last)}${changed}${r.slice(last + 1)} nc`;
      },
      () => '"nc"',
      [/not valid base64/],
    ],
    [
      "invalid Ed25519 point",
      () => {
        // find 32 bytes that do not decode as a point
        for (;;) {
          const p = randomBytes(32);
          try {
            ed25519.Point.fromBytes(p);
          } catch {
            return line("ssh-ed25519", Buffer.concat([sshString("ssh-ed25519"), sshString(p)]), "np");
          }
        }
      },
      () => '"np"',
      [/not a valid Ed25519 public key/],
    ],
    [
      "low-order Ed25519 point",
      () => {
        const p = Buffer.alloc(32);
        p[0] = 0xec; // y = -1 = p-1, a point of order 2
        for (let i = 1; i < 31; i++) p[i] = 0xff;
        p[31] = 0x7f;
        return line("ssh-ed25519", Buffer.concat([sshString("ssh-ed25519"), sshString(p)]), "lo");
      },
      () => '"lo"',
      [/low-order/],
    ],
    [
      "RSA with even exponent",
      () => {
        // rebuild the 2048-bit key with e = 65536: "ssh-rsa" (11 bytes), e = 01 00 01 (7 bytes), then n
        const b = blobOf(pub.rsa2048);
        const nLen = b.readUInt32BE(18);
        const n = b.subarray(22, 22 + nLen);
        return line("ssh-rsa", Buffer.concat([sshString("ssh-rsa"), mpint(65536n), sshString(n)]), "ev");
      },
      () => '"ev"',
      [/public exponent/],
    ],
    [
      "RSA mpint with a superfluous leading zero",
      () => {
        const b = blobOf(pub.rsa2048);
        const nLen = b.readUInt32BE(18);
        const n = b.subarray(22, 22 + nLen);
        return line("ssh-rsa", Buffer.concat([sshString("ssh-rsa"), sshString(Buffer.from([0, 1, 0, 1])), sshString(n)]), "lz");
      },
      () => '"lz"',
      [/malformed RSA key data/, /leading zero/],
    ],
  ];

  test.each(cases)("rejects %s", (_name, input, keyName, patterns) => {
    const text = input();
    const e = rejection(text);
    const name = keyName();
    if (name !== null) expect(e.message).toContain(name);
    for (const p of patterns) expect(e.message).toMatch(p);
    // never the whole blob
    const b64field = text.trim().split(/\s+/).find((t) => t.length > 40);
    if (b64field) expect(e.message).not.toContain(b64field);
  });

  test("a key with a comment is named by its comment, otherwise by the ssh-keygen fingerprint", () => {
    expect(rejection(pub.rsa1024).message).toMatch(/^ssh-rsa key "old-rsa": /);
    expect(rejection(pub.rsa1024_nocomment).message).toMatch(new RegExp(`^ssh-rsa key ${sshKeygenFingerprint.rsa1024_nocomment.replace(/[+/]/g, "\\$&")}: `));
  });

  test.each<[string, () => string, RegExp]>([
    ["empty line", () => "", /Empty SSH public key line/],
    ["whitespace only", () => " \t \n", /Empty SSH public key line/],
    ["comment line", () => `# ${pub.ed25519}`, /is a comment/],
    ["two lines", () => `${pub.ed25519}${pub.rsa2048}`, /more than one line/],
    ["only a type", () => "ssh-ed25519", /Not an SSH public key line/],
    ["only base64", () => pub.ed25519.split(" ")[1], /Not an SSH public key line/],
    ["random words", () => "hello world", /Not an SSH public key line/],
    ["from= options", () => `from="10.0.0.0/8" ${pub.ed25519}`, /authorized_keys options/],
    ["no-pty option", () => `no-pty ${pub.ed25519}`, /authorized_keys options/],
    ["restrict,command option with spaces", () => `restrict,command="echo a b" ${pub.ed25519}`, /authorized_keys options/],
    ["options before an RSA key", () => `no-port-forwarding,no-X11-forwarding ${pub.rsa2048}`, /authorized_keys options/],
    ["known_hosts marker", () => `@cert-authority *.example.org ${pub.ed25519}`, /known_hosts markers/],
    ["private key pasted", () => readFileSync(join(dir, "ed25519"), "utf8"), /private\* key/],
  ])("rejects %s", (_name, input, pattern) => {
    const text = input();
    const e = rejection(text);
    expect(e.message).toMatch(pattern);
  });

  test("options rejection tells what to remove and names the key", () => {
    const e = rejection(`no-pty ${pub.ed25519}`);
    expect(e.message).toContain('"alice@laptop"');
    expect(e.message).toMatch(/remove everything before "ssh-ed25519"/);
  });

  test("a pasted private key is not echoed", () => {
    const pem = readFileSync(join(dir, "ed25519"), "utf8");
    const body = pem.split("\n")[1];
    const e = rejection(pem);
    expect(e.message).not.toContain(body);
  });
});

describe("describeKey", () => {
  test("comment if present, else fingerprint", () => {
    expect(describeKey(parseSshPublicKey(pub.ed25519))).toBe('ssh-ed25519 key "alice@laptop"');
    expect(describeKey(parseSshPublicKey(pub.ed25519_nocomment))).toBe(`ssh-ed25519 key ${sshKeygenFingerprint.ed25519_nocomment}`);
  });
});

describe("parseRecipient", () => {
  const X25519_RECIPIENT = "age1nx4vxkvl264yz8sxhzlsmr3kfcy0hgxj920d7ktlav800wff0v6s4c264c"; // shared vector keys/x25519.txt

  test("accepts an X25519 age1 recipient", () => {
    const r = parseRecipient(` ${X25519_RECIPIENT}\n`);
    expect(r.kind).toBe("x25519");
    expect(r.normalized).toBe(X25519_RECIPIENT);
    if (r.kind === "x25519") expect(r.publicKey.length).toBe(32);
  });

  test("accepts a recipient from age-keygen", () => {
    const out = execFileSync("age-keygen", [], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const recipient = /# public key: (age1[a-z0-9]+)/.exec(out)![1];
    expect(parseRecipient(recipient).normalized).toBe(recipient);
  });

  test("accepts SSH keys, normalized without comment or host", () => {
    const r = parseRecipient(pub.ed25519);
    expect(r.kind).toBe("ssh-ed25519");
    expect(r.normalized).toBe(pub.ed25519.split(" ").slice(0, 2).join(" "));
    const h = parseRecipient(`host ${pub.rsa2048.split(" ").slice(0, 2).join(" ")}`);
    expect(h.kind).toBe("ssh-rsa");
    expect(h.normalized).toBe(pub.rsa2048.split(" ").slice(0, 2).join(" "));
  });

  test("rejects a bad Bech32 checksum", () => {
    const last = X25519_RECIPIENT[X25519_RECIPIENT.length - 1];
    const bad = X25519_RECIPIENT.slice(0, -1) + (last === "q" ? "p" : "q");
    expect(recipientRejection(bad).message).toMatch(/damaged \(invalid Bech32 characters or checksum\)/);
    expect(recipientRejection(X25519_RECIPIENT.replace("x4", "x5")).message).toMatch(/checksum/);
  });

  test("rejects a wrong-length X25519 payload", () => {
    const short = bech32.encode("age", bech32.toWords(randomBytes(31)));
    expect(recipientRejection(short).message).toMatch(/31 bytes instead of 32/);
  });

  test("rejects an age1 recipient with a comment", () => {
    expect(recipientRejection(`${X25519_RECIPIENT} # laptop`).message).toMatch(/must be given alone/);
  });

  test("rejects upper-case age1", () => {
    expect(recipientRejection(X25519_RECIPIENT.toUpperCase()).message).toMatch(/lowercase/);
  });

  test("rejects post-quantum age1pq1 recipients", async () => {
    const pq = await identityToRecipient(await generateHybridIdentity());
    expect(pq.startsWith("age1pq1")).toBe(true);
    expect(recipientRejection(pq).message).toMatch(/post-quantum.*age 1\.1\.1 cannot decrypt/);
  });

  test("rejects tag and plugin recipients", () => {
    const tag = bech32.encode("age1tag", bech32.toWords(randomBytes(33)), false);
    expect(recipientRejection(tag).message).toMatch(/tag \(age1tag…\).*cannot decrypt/);
    const plugin = bech32.encode("age1yubikey", bech32.toWords(randomBytes(33)), false);
    expect(recipientRejection(plugin).message).toMatch(/plugin recipient \(age1yubikey1…\)/);
  });

  test("rejects an age identity without echoing it", () => {
    const secret = "AGE-SECRET-KEY-1LHX8LHAXWWLKDPGGAWEXWR737AYXL8JFNLYYEPHGCNE5ZXPQRV8S7KMDJK";
    const e = recipientRejection(secret);
    expect(e.message).toMatch(/identity \*?\(a secret key\)|\*identity\*/);
    expect(e.message).not.toContain(secret.slice(16));
  });

  test("rejects unsupported SSH keys like parseSshPublicKey", () => {
    expect(recipientRejection(pub.ecdsa256).message).toMatch(/ECDSA/);
    expect(recipientRejection("").message).toMatch(/Empty/);
  });
});

describe("encrypt* argument checks", () => {
  test("an empty recipient list is rejected", async () => {
    await expect(encryptBinary("x", [])).rejects.toThrow(/empty recipient list/);
    await expect(encryptArmored("x", [])).rejects.toThrow(/empty recipient list/);
  });

  test("one bad recipient rejects the whole call", async () => {
    await expect(encryptArmored("x", [pub.ed25519, pub.rsa1024])).rejects.toThrow(/"old-rsa".*at least 2048/);
  });
});
