// Round trips between lib/age/ssh.ts and the real age CLI (Debian's age 1.1.1,
// the decryptor agenix uses), in both directions: the program encrypts and
// `age -d` decrypts; `age -e` encrypts and the test identities
// (test/support/age-identities.ts for ssh-ed25519/ssh-rsa, age-encryption's
// own for X25519) decrypt. The program itself only encrypts. Every key is made
// here by ssh-keygen and age-keygen, so a plain clone checks interoperability
// with the reference implementation without any stored vector. Keys and
// ciphertext live in a 0700 temp dir that is removed afterwards; plaintext
// only travels through stdin/stdout.

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decrypter, armor } from "age-encryption";
import { SshEd25519Recipient, SshRsaRecipient, encryptArmored, encryptBinary, parseRecipient } from "../../lib/age/ssh";
import { identityFromKeyFile } from "../support/age-identities";

const AGE = "/usr/bin/age";

let dir: string;
const recipients: Record<string, string> = {};
const identityFile: Record<string, string> = {};

const SSH_KEYS: Array<[name: string, args: string[]]> = [
  ["ed25519", ["-t", "ed25519"]],
  ["ed25519_b", ["-t", "ed25519"]],
  ["rsa2048", ["-t", "rsa", "-b", "2048"]],
  ["rsa3072", ["-t", "rsa", "-b", "3072"]],
  ["rsa4096", ["-t", "rsa", "-b", "4096"]],
];
const ALL = ["ed25519", "ed25519_b", "rsa2048", "rsa3072", "rsa4096", "x25519"] as const;
/** Keys made beside the others that are never a recipient (files in the temp dir). */
const OUTSIDERS = ["outsider", "outsider_rsa", "outsider_x25519.txt"];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "age-cli-it-"));
  chmodSync(dir, 0o700);
  for (const [name, args] of SSH_KEYS) {
    const file = join(dir, name);
    execFileSync("ssh-keygen", ["-q", ...args, "-N", "", "-C", `${name}@test`, "-f", file], { stdio: "pipe" });
    recipients[name] = readFileSync(file + ".pub", "utf8").trim();
    identityFile[name] = file;
  }
  const ageKey = join(dir, "x25519.txt");
  execFileSync("age-keygen", ["-o", ageKey], { stdio: "pipe" });
  identityFile.x25519 = ageKey;
  recipients.x25519 = execFileSync("age-keygen", ["-y", ageKey], { encoding: "utf8" }).trim();
  // an unrelated key that is never a recipient
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "outsider", "-f", join(dir, "outsider")], { stdio: "pipe" });
  execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "outsider-rsa", "-f", join(dir, "outsider_rsa")], { stdio: "pipe" });
  execFileSync("age-keygen", ["-o", join(dir, "outsider_x25519.txt")], { stdio: "pipe" });
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ageDecrypt(ciphertext: Uint8Array | string, keyFile: string): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(AGE, ["-d", "-i", keyFile], { input: ciphertext, maxBuffer: 16 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

const PLAINTEXT =
  "B2_ACCOUNT_ID=\"0021a2b3c4d5\"\nB2_ACCOUNT_KEY='K002abc/def+ghi=='\n" +
  "# ünïcödé: Grüße, 日本語, emoji 🔐, quotes \" ' `\n" +
  "\ttrailing spaces   \n\nlast line without newline";

describe("age 1.1.1 CLI decrypts what encryptArmored / encryptBinary produce", () => {
  test("the age CLI is the expected version; the keys live in a 0700 directory", () => {
    expect(execFileSync(AGE, ["--version"], { encoding: "utf8" }).trim()).toBe("1.1.1");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  test.each([
    ["encryptArmored", true],
    ["encryptBinary", false],
  ] as const)("%s to ed25519 ×2, RSA 2048/3072/4096 and X25519: each identity alone decrypts", async (_name, armored) => {
    const list = ALL.map((k) => recipients[k]);
    const ciphertext = armored ? await encryptArmored(PLAINTEXT, list) : await encryptBinary(PLAINTEXT, list);
    if (armored) expect(ciphertext as string).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    for (const k of ALL) {
      const r = ageDecrypt(ciphertext, identityFile[k]);
      expect([k, r.status, r.stderr]).toEqual([k, 0, ""]);
      expect(r.stdout.toString("utf8")).toBe(PLAINTEXT);
    }
  });

  test("ciphertext written to a file decrypts with age -d -i KEY FILE", async () => {
    const file = join(dir, "secret.age");
    writeFileSync(file, await encryptArmored(PLAINTEXT, [recipients.rsa3072, recipients.ed25519]));
    for (const k of ["rsa3072", "ed25519"]) {
      const r = spawnSync(AGE, ["--decrypt", "-i", identityFile[k], file]);
      expect(r.status).toBe(0);
      expect(r.stdout.toString("utf8")).toBe(PLAINTEXT);
    }
  });

  test.each([
    ["ed25519", "outsider"],
    ["rsa2048", "outsider_rsa"],
    ["x25519", "outsider"],
  ])("a key that is not a recipient fails (recipients: %s, key: %s)", async (recipient, outsider) => {
    const ct = await encryptBinary(PLAINTEXT, [recipients[recipient]]);
    const r = ageDecrypt(ct, join(dir, outsider));
    expect(r.status).not.toBe(0);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/no identity matched any of the recipients/);
  });

  test.each([
    ["encryptArmored", true],
    ["encryptBinary", false],
  ] as const)("%s to several recipients: keys that are not among them fail", async (_name, armored) => {
    const list = ALL.map((k) => recipients[k]);
    const ciphertext = armored ? await encryptArmored(PLAINTEXT, list) : await encryptBinary(PLAINTEXT, list);
    for (const outsider of OUTSIDERS) {
      const r = ageDecrypt(ciphertext, join(dir, outsider));
      expect([outsider, r.status === 0, r.stdout.length]).toEqual([outsider, false, 0]);
      expect(r.stderr).toMatch(/no identity matched any of the recipients/);
    }
  });

  test("recipients in ssh-keyscan form and with comments work and are normalized", async () => {
    const [type, b64] = recipients.ed25519.split(" ");
    const ct = await encryptArmored(PLAINTEXT, [`host.example.org,10.1.2.3 ${type} ${b64}`, `${recipients.rsa2048} extra comment words`]);
    expect(ageDecrypt(ct, identityFile.ed25519).stdout.toString("utf8")).toBe(PLAINTEXT);
    expect(ageDecrypt(ct, identityFile.rsa2048).stdout.toString("utf8")).toBe(PLAINTEXT);
  });

  test("an empty plaintext round-trips", async () => {
    const r = ageDecrypt(await encryptBinary("", [recipients.ed25519]), identityFile.ed25519);
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBe(0);
  });
});

/** The identity the tests decrypt with: age-identities.ts for SSH keys, age-encryption's own for X25519. */
const testIdentity = (keyFile: string) => identityFromKeyFile(readFileSync(keyFile, "utf8"));

/** `age -e` to the given arguments (`-r …`/`-R …`), armored or binary. */
function ageEncrypt(args: string[], armored: boolean, input: string | Uint8Array = PLAINTEXT): Uint8Array {
  const r = spawnSync(AGE, ["-e", ...(armored ? ["-a"] : []), ...args], { input, maxBuffer: 16 << 20 });
  expect([r.status, r.stderr.toString("utf8")]).toEqual([0, ""]);
  return armored ? armor.decode(r.stdout.toString("utf8")) : new Uint8Array(r.stdout);
}

/** The arguments of each stanza line of a binary age header. */
function stanzaArgs(file: Uint8Array): string[][] {
  const text = Buffer.from(file).toString("latin1");
  expect(text.startsWith("age-encryption.org/v1\n")).toBe(true);
  return text.slice(0, text.indexOf("\n---")).split("\n").filter((l) => l.startsWith("-> ")).map((l) => l.slice(3).split(" "));
}

/** Decrypts with one identity: the plaintext, or the error message. */
async function decryptAlone(file: Uint8Array, keyFile: string): Promise<{ plaintext?: Buffer; error?: string }> {
  const d = new Decrypter();
  d.addIdentity(testIdentity(keyFile));
  try {
    return { plaintext: Buffer.from(await d.decrypt(file)) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe("the age CLI encrypts, the test identities decrypt (each alone)", () => {
  const viaFlags = (): string[] => ALL.flatMap((k) => ["-r", recipients[k]]);
  const viaFile = (): string[] => {
    const file = join(dir, "recipients.txt");
    writeFileSync(file, ["# the recipients, as a user would list them", ...ALL.map((k) => recipients[k]), ""].join("\n"));
    return ["-R", file];
  };

  test.each([
    ["-a, -r per recipient", true, viaFlags],
    ["binary, -r per recipient", false, viaFlags],
    ["-a, -R recipients file", true, viaFile],
    ["binary, -R recipients file", false, viaFile],
  ] as const)("age -e %s to ed25519 ×2, RSA 2048/3072/4096 and X25519", async (_name, armored, args) => {
    const file = ageEncrypt(args(), armored);
    // one stanza per recipient, in order, with the tags lib/age/ssh.ts computes
    const stanzas = stanzaArgs(file);
    expect(stanzas.map((a) => a[0])).toEqual(["ssh-ed25519", "ssh-ed25519", "ssh-rsa", "ssh-rsa", "ssh-rsa", "X25519"]);
    expect(stanzas[0][1]).toBe(new SshEd25519Recipient(recipients.ed25519).tag);
    expect(stanzas[1][1]).toBe(new SshEd25519Recipient(recipients.ed25519_b).tag);
    expect(stanzas[3][1]).toBe(new SshRsaRecipient(recipients.rsa3072).tag);
    for (const k of ALL) {
      const r = await decryptAlone(file, identityFile[k]);
      expect([k, r.error]).toEqual([k, undefined]);
      expect(r.plaintext!.toString("utf8")).toBe(PLAINTEXT);
    }
    for (const outsider of OUTSIDERS) {
      expect([outsider, await decryptAlone(file, join(dir, outsider))]).toEqual([outsider, { error: "no identity matched any of the file's recipients" }]);
    }
  });

  test.each(["ed25519", "rsa2048", "x25519"])("a file for %s alone is refused by every other key", async (k) => {
    const file = ageEncrypt(["-r", recipients[k]], false);
    expect((await decryptAlone(file, identityFile[k])).plaintext?.toString("utf8")).toBe(PLAINTEXT);
    for (const other of [...ALL.filter((o) => o !== k), ...OUTSIDERS]) {
      const keyFile = identityFile[other] ?? join(dir, other);
      expect([other, await decryptAlone(file, keyFile)]).toEqual([other, { error: "no identity matched any of the file's recipients" }]);
    }
  });

  test("binary plaintext of more than one 64 KiB chunk, ssh-rsa and ssh-ed25519", async () => {
    const data = new Uint8Array(150_000).map((_, i) => (i * 131 + (i >> 9)) & 0xff);
    const file = ageEncrypt(["-r", recipients.rsa4096, "-r", recipients.ed25519_b], false, data);
    for (const k of ["rsa4096", "ed25519_b"]) {
      const r = await decryptAlone(file, identityFile[k]);
      expect([k, r.error]).toEqual([k, undefined]);
      expect(r.plaintext!.equals(Buffer.from(data))).toBe(true);
    }
  });
});

describe("normalized recipients are accepted by the age CLI (as agenix passes them)", () => {
  test.each(ALL)("age -r <normalized %s> → test identity decrypts", async (k) => {
    const normalized = parseRecipient(recipients[k]).normalized;
    const r = spawnSync(AGE, ["-e", "-a", "-r", normalized], { input: PLAINTEXT });
    expect(r.status).toBe(0);
    const d = new Decrypter();
    d.addIdentity(identityFromKeyFile(readFileSync(identityFile[k], "utf8")));
    expect(await d.decrypt(armor.decode(r.stdout.toString("utf8")), "text")).toBe(PLAINTEXT);
  });
});
