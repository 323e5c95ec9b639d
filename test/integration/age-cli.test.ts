// Round trips between lib/age/ssh.ts and the real age CLI (Debian's age 1.1.1,
// the decryptor agenix uses). Keys and ciphertext live in a temp dir that is
// removed afterwards; plaintext only travels through stdin/stdout.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decrypter, armor } from "age-encryption";
import { encryptArmored, encryptBinary, parseRecipient } from "../../lib/age/ssh";
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

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "age-cli-it-"));
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
  test("the age CLI is the expected version", () => {
    expect(execFileSync(AGE, ["--version"], { encoding: "utf8" }).trim()).toBe("1.1.1");
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
