// `npm run recover`'s arguments and its one adapter from the stack's
// configuration (getAllConfig's shape) to the plain target. No I/O.

import { checkRealm } from "../../lib/recover/b2";
import { USAGE, parseArgs, recoverMain } from "../../lib/recover/main";
import { TargetError, targetFromStack } from "../../lib/recover/stack";

describe("parseArgs", () => {
  test("the flags; dry run and 4 jobs by default; --project relative to the cwd", () => {
    expect(parseArgs(["--stack", "laptop", "--to", "36h"], "/p")).toEqual({ stack: "laptop", to: "36h", apply: false, jobs: 4, projectDir: "/p", help: false });
    expect(parseArgs(["--to", "2026-05-01T12:00:00Z", "--apply", "--stack", "s", "--jobs", "16", "--project", "sub"], "/p")).toMatchObject({ apply: true, jobs: 16, projectDir: "/p/sub" });
    expect(parseArgs(["--stack", "x", "--help"], "/p").help).toBe(true);
  });
  test.each([
    [[], /--stack NAME and --to TIME are required/],
    [["--stack", "s"], /--to TIME is required/],
    [["--stack", "--to", "2d"], /--stack needs a value/],
    [["--stack", "s", "--to", "2d", "--jobs", "0"], /--jobs must be a whole number from 1 to 64, got "0"/],
    [["--stack", "s", "--to", "2d", "--force"], /unknown argument "--force"/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseArgs(argv, "/p")).toThrow(message);
  });
  test("--help prints the usage and exits 0; a bad argument exits 2 with the usage line", async () => {
    let out = "";
    let err = "";
    expect(await recoverMain(["--help"], (s) => (out += s), (s) => (err += s))).toBe(0);
    expect(out).toBe(`${USAGE}\n`);
    expect(err).toBe("");
    expect(await recoverMain(["--stack", "s"], (s) => (out += s), (s) => (err += s))).toBe(2);
    expect(err).toBe("recover: --to TIME is required\nusage: npm run recover -- --stack NAME --to TIME [--apply] [--jobs N] [--project DIR] (--help for more)\n");
  });
  test("the realm: https, or http on loopback only", async () => {
    expect(checkRealm("https://b2.example/")).toBe("https://b2.example");
    expect(checkRealm("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080");
    expect(() => checkRealm("http://b2.example")).toThrow(/https URL/);
    expect(() => checkRealm("nope")).toThrow(/not a URL/);
    let err = "";
    expect(await recoverMain(["--stack", "s", "--to", "2d"], () => undefined, (s) => (err += s), { NIXOS_RESTIC_B2_REALM_URL: "http://10.0.0.1" })).toBe(2);
    expect(err).toMatch(/^recover: the B2 realm must be an https URL/);
  });
});

describe("targetFromStack", () => {
  const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt";
  const base = {
    "nixos-restic-b2:host": { value: "laptop.lan" },
    "nixos-restic-b2:hostKey": { value: hostKey },
    "nixos-restic-b2:paths": { value: '["/home"]' },
  };
  const mgmt = { "b2:applicationKeyId": { value: "K0001", secret: true }, "b2:applicationKey": { value: "MGMT-SECRET", secret: true } };

  test("bucket from the outputs, the whole bucket, lifecycleDays as the window, the stack's management key", () => {
    const t = targetFromStack("laptop", { ...base, ...mgmt }, { bucketName: "restic-laptop-1a2b3c4d" }, { B2_APPLICATION_KEY_ID: "env", B2_APPLICATION_KEY: "env" });
    expect(t).toEqual({
      stack: "laptop", bucketName: "restic-laptop-1a2b3c4d", prefix: "", repository: "b2:restic-laptop-1a2b3c4d", windowDays: 30, keyId: "K0001", key: "MGMT-SECRET",
      nextSteps: [
        `(set -a; eval "$(age -d -i ~/.ssh/id_ed25519 'secrets/laptop/restic/env.age')"; RESTIC_REPOSITORY="$(age -d -i ~/.ssh/id_ed25519 'secrets/laptop/restic/repo.age')"; RESTIC_PASSWORD="$(age -d -i ~/.ssh/id_ed25519 'secrets/laptop/restic/password.age')"; restic check)`,
        expect.stringMatching(/; restic snapshots\)$/),
      ],
    });
    expect(t.nextSteps.join()).not.toContain("MGMT-SECRET");
  });
  test("bucketName and repositoryPath from the config (the path as restic cleans it), lifecycleDays, the key from the environment", () => {
    const t = targetFromStack(
      "server",
      { ...base, "nixos-restic-b2:bucketName": { value: "my-backups" }, "nixos-restic-b2:repositoryPath": { value: "hosts/./server" }, "nixos-restic-b2:lifecycleDays": { value: "45" } },
      { bucketName: "ignored-output" },
      { B2_APPLICATION_KEY_ID: "envid", B2_APPLICATION_KEY: "envkey" },
    );
    expect(t).toMatchObject({ bucketName: "my-backups", prefix: "hosts/server/", repository: "b2:my-backups:hosts/server", windowDays: 45, keyId: "envid", key: "envkey" });
  });
  test("one list of problems naming keys, never a secret's value", () => {
    const problems = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(TargetError);
        return (e as TargetError).problems;
      }
      throw new Error("no TargetError");
    };
    expect(problems(() => targetFromStack("new", base, {}, {}))).toEqual([
      expect.stringMatching(/^bucketName: the stack has no bucketName output \(it was never deployed\)/),
      expect.stringMatching(/^b2:applicationKeyId\/b2:applicationKey: recovery needs the management key .* export B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY$/),
    ]);
    const bad = problems(() => targetFromStack("bad", { ...mgmt, "nixos-restic-b2:lifecycleDays": { value: "0" } }, {}, {}));
    expect(bad.join("\n")).toMatch(/hostKey: is required/);
    expect(bad.join("\n")).toMatch(/lifecycleDays/);
    expect(bad.join("\n")).not.toContain("MGMT-SECRET");
  });
});
