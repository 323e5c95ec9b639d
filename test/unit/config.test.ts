import * as fs from "fs";
import * as path from "path";
import {
  DEFAULT_AGENIX_URL,
  DEFAULT_CAPABILITIES,
  DEPRECATED_KEYS,
  HOST_DESTRUCTIVE_CAPABILITIES,
  PROTECTED_CAPABILITIES,
  UNPROTECTED_WARNING,
  protectionWarning,
  MachineConfig,
  PLAIN_KEYS,
  RawConfig,
  SECRET_KEYS,
  SecretKey,
  parseConfig,
} from "../../lib/config";
import { BASE, HOST_KEY, parse, problems } from "../support/config-fixtures";

const HOST_KEY_NORMALIZED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt";
const ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKIhfSSyTIQCzFS8LNPRK0xzfk2xqaiagdjeuM8bKx6K alice@laptop";
const ADMIN_NORMALIZED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKIhfSSyTIQCzFS8LNPRK0xzfk2xqaiagdjeuM8bKx6K";
// An ECDSA public key (age cannot encrypt to it).
const ECDSA_KEY =
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WSoTPE9lJtGdoE= bob@host";

const SECRET = "s3cr3t-value-never-shown";

describe("defaults", () => {
  test("a minimal stack gets the recipe's defaults", () => {
    const c = parse();
    expect(c.storage).toEqual({
      createBucket: true,
      bucketName: undefined,
      lifecycleDays: 30,
      hostCanDelete: undefined,
      keyCapabilities: [...DEFAULT_CAPABILITIES],
      repositoryPath: undefined,
      deleteBucketOnDestroy: false,
      managementKeyId: undefined,
      managementKey: undefined,
      existingKeyId: undefined,
      existingKey: undefined,
    });
    expect(c.secrets).toEqual({ hostKey: HOST_KEY_NORMALIZED, adminKeys: [], agenixDir: "secrets/laptop/restic", resticPassword: undefined });
    expect(c.host).toEqual({
      deploy: true,
      host: "nixos.lan",
      sshPort: 22,
      sshUser: "root",
      sshPrivateKey: undefined,
      hostConfigDir: "/etc/nixos",
      importMode: "auto",
      runFirstBackup: false,
    });
    expect(c.backup).toEqual({
      backupName: "daily",
      paths: ["/home"],
      exclude: [],
      pruneOpts: ["--keep-daily 7", "--keep-weekly 5", "--keep-monthly 12"],
      timerConfig: { OnCalendar: "daily", Persistent: true },
      extraBackupArgs: [],
      checkOpts: [],
      runCheck: undefined,
      agenixModule: { kind: "fetchTarball", url: DEFAULT_AGENIX_URL },
      notify: undefined,
    });
  });

  test("empty strings (Pulumi.yaml defaults) count as unset", () => {
    const c = parse({ bucketName: "", repositoryPath: "", agenixDir: "", notifyUser: "", notifyUid: "0", runCheck: "", agenixSha256: "" });
    expect(c.storage.bucketName).toBeUndefined();
    expect(c.storage.repositoryPath).toBeUndefined();
    expect(c.secrets.agenixDir).toBe("secrets/laptop/restic");
    expect(c.backup.notify).toBeUndefined();
    expect(c.backup.runCheck).toBeUndefined();
  });

  test("the same raw config gives the same result", () => {
    expect(parse({ adminKeys: JSON.stringify([ADMIN_KEY]) })).toEqual(parse({ adminKeys: JSON.stringify([ADMIN_KEY]) }));
  });
});

// Each rule: a value that passes (and what it parses to) and one that fails
// (and the words the message must contain besides the key and the value).
type Case = { key: keyof RawConfig; good: string; check: (c: MachineConfig<string>) => unknown; expected: unknown; bad: string; rule: string; shows?: string | null };
const cases: Case[] = [
  { key: "bucketName", good: "my-backups-01", check: (c) => c.storage.bucketName, expected: "my-backups-01", bad: "short", rule: "6 to 50 characters" },
  { key: "bucketName", good: "A".repeat(50), check: (c) => c.storage.bucketName, expected: "A".repeat(50), bad: "a".repeat(51), rule: "6 to 50 characters" },
  { key: "bucketName", good: "restic-b2-ok", check: (c) => c.storage.bucketName, expected: "restic-b2-ok", bad: "bad_name_1", rule: "letters, digits and '-'" },
  { key: "bucketName", good: "xb2-backups", check: (c) => c.storage.bucketName, expected: "xb2-backups", bad: "b2-backups", rule: "must not start with 'b2-'" },
  { key: "createBucket", good: "true", check: (c) => c.storage.createBucket, expected: true, bad: "yes", rule: "must be true or false" },
  { key: "lifecycleDays", good: "7", check: (c) => c.storage.lifecycleDays, expected: 7, bad: "0", rule: "whole number from 1" },
  { key: "lifecycleDays", good: "365", check: (c) => c.storage.lifecycleDays, expected: 365, bad: "1.5", rule: "whole number" },
  { key: "keyCapabilities", good: JSON.stringify(["listFiles", "readFiles"]), check: (c) => c.storage.keyCapabilities, expected: ["listFiles", "readFiles"], bad: JSON.stringify(["readFiles", "readEverything"]), rule: "a capability B2 accepts", shows: "readEverything" },
  { key: "keyCapabilities", good: JSON.stringify(["writeFiles"]), check: (c) => c.storage.keyCapabilities, expected: ["writeFiles"], bad: JSON.stringify(["writeKeys"]), rule: "restricted to one bucket", shows: "writeKeys" },
  { key: "hostCanDelete", good: "false", check: (c) => c.storage.hostCanDelete, expected: false, bad: "no", rule: "must be true or false" },
  { key: "keyCapabilities", good: JSON.stringify(["listFiles"]), check: (c) => c.storage.keyCapabilities, expected: ["listFiles"], bad: "listFiles", rule: "list of strings" },
  { key: "repositoryPath", good: "hosts/laptop", check: (c) => c.storage.repositoryPath, expected: "hosts/laptop", bad: "/hosts/laptop", rule: "must not start with '/'" },
  { key: "repositoryPath", good: "a.b/c_d-e", check: (c) => c.storage.repositoryPath, expected: "a.b/c_d-e", bad: "hosts/../other", rule: "must not contain '..'" },
  { key: "repositoryPath", good: "x", check: (c) => c.storage.repositoryPath, expected: "x", bad: "a//b", rule: "single '/'" },
  { key: "hostKey", good: `nixos.lan ${HOST_KEY.split(" ").slice(0, 2).join(" ")}`, check: (c) => c.secrets.hostKey, expected: HOST_KEY_NORMALIZED, bad: ECDSA_KEY, rule: "ECDSA", shows: null },
  { key: "adminKeys", good: JSON.stringify([ADMIN_KEY, ADMIN_KEY]), check: (c) => c.secrets.adminKeys, expected: [ADMIN_NORMALIZED], bad: JSON.stringify([ECDSA_KEY]), rule: "ECDSA", shows: null },
  { key: "sshPort", good: "2222", check: (c) => c.host.sshPort, expected: 2222, bad: "70000", rule: "from 1 to 65535" },
  { key: "sshUser", good: "deploy", check: (c) => c.host.sshUser, expected: "deploy", bad: "root; rm -rf /", rule: "Unix user name" },
  { key: "host", good: "192.168.1.20", check: (c) => c.host.host, expected: "192.168.1.20", bad: "-oProxyCommand=evil", rule: "host name or an IP address" },
  { key: "hostConfigDir", good: "/etc/nixos/", check: (c) => c.host.hostConfigDir, expected: "/etc/nixos", bad: "etc/nixos", rule: "absolute path" },
  { key: "hostConfigDir", good: "/srv/nix config", check: (c) => c.host.hostConfigDir, expected: "/srv/nix config", bad: "/etc/../tmp", rule: "'..'" },
  { key: "importMode", good: "manual", check: (c) => c.host.importMode, expected: "manual", bad: "automatic", rule: "'auto' or 'manual'" },
  { key: "deploy", good: "false", check: (c) => c.host.deploy, expected: false, bad: "no", rule: "true or false" },
  { key: "runFirstBackup", good: "true", check: (c) => c.host.runFirstBackup, expected: true, bad: "1", rule: "true or false" },
  { key: "backupName", good: "b2_home-1", check: (c) => c.backup.backupName, expected: "b2_home-1", bad: "my backup", rule: "letters, digits, '_' or '-'" },
  { key: "paths", good: JSON.stringify(["/home", "/var/lib/with space"]), check: (c) => c.backup.paths, expected: ["/home", "/var/lib/with space"], bad: JSON.stringify(["home"]), rule: "absolute path", shows: "home" },
  { key: "paths", good: JSON.stringify(["/srv"]), check: (c) => c.backup.paths, expected: ["/srv"], bad: JSON.stringify(["/srv\n/etc"]), rule: "control characters", shows: "/srv\n/etc" },
  { key: "paths", good: JSON.stringify(["/srv"]), check: (c) => c.backup.paths, expected: ["/srv"], bad: JSON.stringify([]), rule: "at least one path", shows: null },
  { key: "pruneOpts", good: JSON.stringify(["--keep-last 3", "--keep-within=30d"]), check: (c) => c.backup.pruneOpts, expected: ["--keep-last 3", "--keep-within=30d"], bad: JSON.stringify(["keep-daily 7"]), rule: "one restic option", shows: "keep-daily 7" },
  { key: "pruneOpts", good: JSON.stringify([]), check: (c) => c.backup.pruneOpts, expected: [], bad: JSON.stringify(["--keep-daily  7"]), rule: "must not start or end with whitespace", shows: "--keep-daily  7" },
  { key: "extraBackupArgs", good: JSON.stringify(["--one-file-system"]), check: (c) => c.backup.extraBackupArgs, expected: ["--one-file-system"], bad: JSON.stringify(["--tag="]), rule: "must not be empty", shows: "--tag=" },
  { key: "checkOpts", good: JSON.stringify(["--read-data-subset 5%"]), check: (c) => c.backup.checkOpts, expected: ["--read-data-subset 5%"], bad: JSON.stringify(["with space in it"]), rule: "one restic option", shows: "with space in it" },
  { key: "runCheck", good: "false", check: (c) => c.backup.runCheck, expected: false, bad: "maybe", rule: "true or false" },
  { key: "timerConfig", good: JSON.stringify(["OnCalendar=*-*-* 03:00:00", "RandomizedDelaySec=1h", "Persistent=false"]), check: (c) => c.backup.timerConfig, expected: { OnCalendar: "*-*-* 03:00:00", RandomizedDelaySec: "1h", Persistent: false }, bad: JSON.stringify(["OnCalendar daily"]), rule: "Key=Value", shows: "OnCalendar daily" },
  { key: "timerConfig", good: JSON.stringify(["OnBootSec=10min"]), check: (c) => c.backup.timerConfig, expected: { OnBootSec: "10min" }, bad: JSON.stringify(["OnCalendar=daily", "OnCalendar=weekly"]), rule: "same key twice", shows: "OnCalendar" },
  { key: "agenixModule", good: "provided", check: (c) => c.backup.agenixModule, expected: { kind: "provided" }, bad: "http://example.org/agenix.tar.gz", rule: "https URL" },
  { key: "agenixModule", good: "https://example.org/agenix-1.tar.gz", check: (c) => c.backup.agenixModule, expected: { kind: "fetchTarball", url: "https://example.org/agenix-1.tar.gz" }, bad: 'https://example.org/a"; builtins.throw "x', rule: "https URL" },
  { key: "agenixSha256", good: "0".repeat(52), check: (c) => c.backup.agenixModule, expected: { kind: "fetchTarball", url: DEFAULT_AGENIX_URL, sha256: "0".repeat(52) }, bad: "abc", rule: "Nix sha256 hash" },
  { key: "notifyUser", good: "alice", check: (c) => c.backup.notify, expected: { user: "alice", uid: 1000 }, bad: "Alice Smith", rule: "Unix user name" },
  { key: "notifyUid", good: "1001", check: (c) => c.backup.notify, expected: { user: "alice", uid: 1001 }, bad: "0", rule: "whole number from 1" },
];

describe.each(cases)("$key", ({ key, good, check, expected, bad, rule, shows }) => {
  const extra: RawConfig = key === "notifyUser" ? { notifyUid: "1000" } : key === "notifyUid" ? { notifyUser: "alice" } : {};
  test(`accepts ${JSON.stringify(good).slice(0, 60)}`, () => {
    expect(check(parse({ ...extra, [key]: good }))).toEqual(expected);
  });
  test(`rejects ${JSON.stringify(bad).slice(0, 60)} naming the key, the rule and the value`, () => {
    const msg = problems({ ...extra, [key]: bad });
    expect(msg).toContain(`nixos-restic-b2:${key}`);
    expect(msg).toContain(rule);
    // The offending value is quoted: for lists the offending entry; keys are named by comment or fingerprint instead.
    if (shows !== null) expect(msg).toContain(JSON.stringify(shows ?? bad));
  });
});

describe("cross-key rules", () => {
  test("existing-bucket mode needs the bucket name and both key secrets", () => {
    const msg = problems({ createBucket: "false" });
    expect(msg).toContain("nixos-restic-b2:bucketName: is required when createBucket is false");
    expect(msg).toContain("nixos-restic-b2:existingKeyId: is required");
    expect(msg).toContain("nixos-restic-b2:existingKey: is required");
    expect(msg).toMatch(/^Invalid stack configuration \(3 problems\)/);
  });

  test("existing-bucket mode passes the secrets through without looking at them", () => {
    const c = parse({ createBucket: "false", bucketName: "shared-backups" }, { existingKeyId: SECRET, existingKey: SECRET });
    expect(c.storage).toMatchObject({ createBucket: false, bucketName: "shared-backups", existingKeyId: SECRET, existingKey: SECRET });
  });

  test("existing key secrets with createBucket true are a mistake", () => {
    expect(problems({}, { existingKey: SECRET, existingKeyId: SECRET })).toContain("only used with createBucket: false");
  });

  test("b2 management credentials come in pairs, and no secret value is ever shown", () => {
    const msg = problems({}, { "b2:applicationKeyId": SECRET });
    expect(msg).toContain("b2:applicationKey: b2:applicationKeyId and b2:applicationKey must be set together");
    expect(msg).not.toContain(SECRET);
  });

  test("host is required unless deploy is false", () => {
    expect(problems({ host: undefined })).toContain("nixos-restic-b2:host: is required");
    expect(parse({ host: undefined, deploy: "false" }).host.deploy).toBe(false);
  });

  test("hostKey and paths are required", () => {
    const msg = problems({ hostKey: undefined, paths: undefined });
    expect(msg).toContain("nixos-restic-b2:hostKey: is required");
    expect(msg).toContain("nixos-restic-b2:paths: is required");
  });

  test("notifyUser needs notifyUid", () => {
    expect(problems({ notifyUser: "alice" })).toContain("nixos-restic-b2:notifyUid: is required with notifyUser");
  });

  test("the host key is not repeated among the admins", () => {
    expect(parse({ adminKeys: JSON.stringify([HOST_KEY, ADMIN_KEY]) }).secrets.adminKeys).toEqual([ADMIN_NORMALIZED]);
  });

  test("every problem is reported at once", () => {
    const msg = problems({ bucketName: "x", sshPort: "0", importMode: "?" });
    expect(msg).toMatch(/^Invalid stack configuration \(3 problems\); nothing was changed:/);
  });

  test("long values are cut in messages", () => {
    const msg = problems({ bucketName: "x".repeat(500) });
    expect(msg).not.toContain("x".repeat(200));
  });

  test("secret values never reach a message, even when everything else is wrong", () => {
    const secrets = Object.fromEntries(
      (["b2:applicationKeyId", "existingKeyId", "existingKey", "resticPassword", "sshPrivateKey"] as SecretKey[]).map((k) => [k, SECRET]),
    );
    const msg = problems({ bucketName: "?", host: "?", paths: "[]" }, secrets);
    expect(msg).not.toContain(SECRET);
  });
});

describe("hostCanDelete and keyCapabilities", () => {
  test("the protected list is the recipe's without deleteFiles and without every write of bucket or file settings", () => {
    expect(PROTECTED_CAPABILITIES).toEqual([
      "listAllBucketNames", "listBuckets", "listFiles", "readBucketEncryption", "readBucketReplications", "readBuckets", "readFiles", "shareFiles", "writeFiles",
    ]);
    for (const c of ["deleteFiles", "bypassGovernance", "writeBucketEncryption", "writeBucketReplications", "writeBucketRetentions", "writeFileRetentions", "writeFileLegalHolds"]) {
      expect(HOST_DESTRUCTIVE_CAPABILITIES).toContain(c);
    }
  });

  test("unset (also as the [] Pulumi.yaml passes): the released list for unset or true, the protected list for false", () => {
    expect(parse().storage.keyCapabilities).toEqual([...DEFAULT_CAPABILITIES]);
    expect(parse({ keyCapabilities: "[]" }).storage.keyCapabilities).toEqual([...DEFAULT_CAPABILITIES]);
    expect(parse({ hostCanDelete: "true" }).storage).toMatchObject({ hostCanDelete: true, keyCapabilities: [...DEFAULT_CAPABILITIES] });
    expect(parse({ hostCanDelete: "false" }).storage).toMatchObject({ hostCanDelete: false, keyCapabilities: [...PROTECTED_CAPABILITIES] });
    expect(parse({ hostCanDelete: "false", keyCapabilities: "[]" }).storage.keyCapabilities).toEqual([...PROTECTED_CAPABILITIES]);
    // "" is how Pulumi.yaml's default of an unset tristate arrives.
    expect(parse({ hostCanDelete: "" }).storage).toMatchObject({ hostCanDelete: undefined, keyCapabilities: [...DEFAULT_CAPABILITIES] });
  });

  test("a hand-set list agreeing with hostCanDelete is kept as it is", () => {
    expect(parse({ hostCanDelete: "false", keyCapabilities: JSON.stringify(["listBuckets", "listFiles", "readFiles", "writeFiles"]) }).storage.keyCapabilities).toEqual([
      "listBuckets", "listFiles", "readFiles", "writeFiles",
    ]);
    expect(parse({ hostCanDelete: "true", keyCapabilities: JSON.stringify(["deleteFiles", "listBuckets"]) }).storage.keyCapabilities).toEqual(["deleteFiles", "listBuckets"]);
  });

  test.each([["deleteFiles"], ["writeBucketEncryption"], ["writeFileRetentions"], ["bypassGovernance"]])(
    "hostCanDelete false with %s set by hand is an error naming both keys, the capability and the list",
    (bad) => {
      const list = JSON.stringify(["listBuckets", "readFiles", "writeFiles", bad]);
      const msg = problems({ hostCanDelete: "false", keyCapabilities: list });
      expect(msg).toContain("nixos-restic-b2:keyCapabilities: contradicts hostCanDelete: false");
      expect(msg).toContain(`forbids ${bad} (`);
      expect(msg).toContain("unset keyCapabilities to get the protected list");
      expect(msg).toContain(JSON.stringify(["listBuckets", "readFiles", "writeFiles", bad]).replace(/"/g, '\\"'));
    },
  );

  test("hostCanDelete true with a hand-set list without deleteFiles is an error", () => {
    const msg = problems({ hostCanDelete: "true", keyCapabilities: JSON.stringify(["listBuckets", "writeFiles"]) });
    expect(msg).toContain("nixos-restic-b2:keyCapabilities: contradicts hostCanDelete: true: it lacks deleteFiles");
  });

  test("hostCanDelete false in existing-bucket mode is an error (the key is not this program's)", () => {
    const msg = problems({ hostCanDelete: "false", createBucket: "false", bucketName: "shared-backups" }, { existingKeyId: SECRET, existingKey: SECRET });
    expect(msg).toContain("nixos-restic-b2:hostCanDelete: false only restricts the key this program creates");
    expect(msg).not.toContain(SECRET);
  });

  test("pulumi up warns a stack that never chose while its key can delete, and only then", () => {
    expect(protectionWarning(parse().storage)).toBe(UNPROTECTED_WARNING);
    expect(UNPROTECTED_WARNING).toContain("pulumi config set hostCanDelete false");
    expect(protectionWarning(parse({ hostCanDelete: "true" }).storage)).toBeUndefined();
    expect(protectionWarning(parse({ hostCanDelete: "false" }).storage)).toBeUndefined();
    // Unset, but the hand-set list cannot delete or change the bucket: nothing to warn about.
    expect(protectionWarning(parse({ keyCapabilities: JSON.stringify(["listBuckets", "writeFiles"]) }).storage)).toBeUndefined();
    const existing = parse({ createBucket: "false", bucketName: "shared-backups" }, { existingKeyId: SECRET, existingKey: SECRET });
    expect(protectionWarning(existing.storage)).toBeUndefined();
  });
});

describe("agenixDir (formerly secretsDir)", () => {
  const DIR = "/home/me/nixos-config/secrets/laptop";

  test("agenixDir sets the local directory, without warnings", () => {
    const warnings: string[] = [];
    const c = parseConfig({ ...BASE, agenixDir: DIR }, {}, "laptop", { warnings: warnings });
    expect(c.secrets.agenixDir).toBe(DIR);
    expect(warnings).toEqual([]);
  });

  test.each([DIR, "secrets/laptop/restic", "../nixos/secrets/it's here"])(
    "secretsDir %j alone resolves to exactly what agenixDir gives, with a warning naming agenixDir",
    (dir) => {
      const warnings: string[] = [];
      const old = parseConfig({ ...BASE, secretsDir: dir }, {}, "laptop", { warnings: warnings });
      expect(old).toEqual(parseConfig({ ...BASE, agenixDir: dir }, {}, "laptop"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("nixos-restic-b2:secretsDir is deprecated");
      expect(warnings[0]).toContain(") to agenixDir, which means the same");
      expect(warnings[0]).toContain(JSON.stringify(dir));
      expect(warnings[0]).toContain("pulumi config set agenixDir");
      expect(warnings[0]).toContain("pulumi config rm secretsDir");
    },
  );

  test("the warnings sink is optional (callers with three arguments still work)", () => {
    expect(parse({ secretsDir: DIR }).secrets.agenixDir).toBe(DIR);
  });

  test("an empty value (a Pulumi.yaml default) counts as unset on both names", () => {
    const warnings: string[] = [];
    expect(parseConfig({ ...BASE, agenixDir: "", secretsDir: DIR }, {}, "laptop", { warnings: warnings }).secrets.agenixDir).toBe(DIR);
    expect(warnings).toHaveLength(1);
    const none: string[] = [];
    expect(parseConfig({ ...BASE, agenixDir: DIR, secretsDir: "" }, {}, "laptop", { warnings: none }).secrets.agenixDir).toBe(DIR);
    expect(none).toEqual([]);
  });

  test.each([
    [DIR, DIR],
    [DIR, "secrets/laptop/restic"],
  ])("both set (%j and %j) is an error naming both keys and values", (dir, old) => {
    const msg = problems({ agenixDir: dir, secretsDir: old });
    expect(msg).toMatch(/^Invalid stack configuration \(1 problem\)/);
    expect(msg).toContain("nixos-restic-b2:agenixDir: set either agenixDir or the deprecated secretsDir");
    expect(msg).toContain("pulumi config rm secretsDir");
    expect(msg).toContain(JSON.stringify(dir));
    expect(msg).toContain(JSON.stringify(old));
  });

  test("control characters are refused under either name, naming the key used", () => {
    expect(problems({ secretsDir: "/a\nb" })).toContain("nixos-restic-b2:secretsDir: must not contain control characters");
    expect(problems({ agenixDir: "/a\nb" })).toContain("nixos-restic-b2:agenixDir: must not contain control characters");
  });
});

describe("plain key names the Pulumi CLI accepts", () => {
  // The CLI's check (pkg/cmd/pulumi/config, looksLikeSecret): a plaintext
  // `pulumi config set` is refused when the key name matches this and the
  // value looks random enough (almost any real path does).
  const CLI_SECRET_NAME = /passwd|pass|password|pwd|secret|token/i; // (?i)passwd|pass|password|pwd|secret|token
  const yaml = fs.readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8");
  const configBlock = /\nconfig:\n((?:[ #].*\n|\n)*)/.exec(yaml);
  const declared = configBlock ? [...configBlock[1].matchAll(/^  ([A-Za-z0-9_:]+):/gm)].map((m) => m[1]) : [];

  test("the pattern flags what the CLI flags (so this check can fail)", () => {
    for (const name of ["secretsDir", "sshPassword", "apiToken", "PWD", "passphrase", "dbPasswd"]) expect(name).toMatch(CLI_SECRET_NAME);
    for (const name of ["agenixDir", "hostKey", "paths", "adminKeys"]) expect(name).not.toMatch(CLI_SECRET_NAME);
  });

  test("Pulumi.yaml's config block was read", () => {
    expect(declared.length).toBeGreaterThanOrEqual(20);
    expect(declared).toContain("agenixDir");
    expect(declared).toContain("notifyUid");
  });

  test.each([...new Set([...declared, ...PLAIN_KEYS])])("%s does not look like a secret's name to the CLI", (key) => {
    expect(key).not.toMatch(CLI_SECRET_NAME);
  });

  test("Pulumi.yaml declares only plain keys the parser reads, and no deprecated or secret key", () => {
    for (const key of declared) expect(PLAIN_KEYS as readonly string[]).toContain(key);
    for (const key of [...Object.keys(DEPRECATED_KEYS), ...SECRET_KEYS]) expect(declared).not.toContain(key);
  });

  test("each deprecated name is replaced by a plain key", () => {
    for (const [old, key] of Object.entries(DEPRECATED_KEYS)) {
      expect(PLAIN_KEYS as readonly string[]).toContain(key);
      expect(PLAIN_KEYS as readonly string[]).not.toContain(old);
    }
  });
});
