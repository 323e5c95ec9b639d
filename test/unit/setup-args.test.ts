// The pure parts of `npm run setup`: its flags, the fingerprint (checked
// against ssh-keygen's own), and which keys a stack file sets.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "../../lib/setup/args";
import { fingerprint, normalizeFingerprint } from "../../lib/setup/hostkey";
import { PulumiCli, keysSetIn } from "../../lib/setup/stack";

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-setup-unit-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("flags: repeatable lists, paths resolved against the working directory, --help wins, bad arguments named", () => {
  const a = parseArgs(["laptop", "--host", "h", "--port", "2222", "--admin-key", "k.pub", "--admin-key", "/abs.pub", "--path", "/home", "--path", "/srv", "--yes"], "/work");
  expect(a).toMatchObject({ machine: "laptop", host: "h", port: "2222", adminKeyFiles: ["/work/k.pub", "/abs.pub"], paths: ["/home", "/srv"], yes: true, projectDir: "/work" });
  expect(parseArgs(["--bogus", "-h"], "/w").help).toBe(true);
  expect(() => parseArgs(["laptop", "--host"], "/w")).toThrow("--host needs a value");
  expect(() => parseArgs(["laptop", "desk"], "/w")).toThrow('unknown argument "desk"');
  expect(() => parseArgs(["--yes"], "/w")).toThrow("the machine (the stack's name) is missing");
  expect(() => parseArgs(["my laptop"], "/w")).toThrow(`the machine "my laptop" must be a stack name: letters, digits, '-', '_' and '.'`);
});

test("the fingerprint is the one ssh-keygen -l prints; a typed one may lack SHA256: or keep its padding", () => {
  const key = path.join(dir, "k");
  spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const line = fs.readFileSync(`${key}.pub`, "utf8");
  const printed = spawnSync("ssh-keygen", ["-lf", `${key}.pub`], { encoding: "utf8" }).stdout.split(" ")[1];
  expect(printed).toMatch(/^SHA256:/);
  expect(fingerprint(line)).toBe(printed);
  expect(normalizeFingerprint(printed.slice("SHA256:".length) + "=")).toBe(printed);
  expect(normalizeFingerprint(` ${printed} `)).toBe(printed);
});

test("keysSetIn: the top-level keys of the config: block, quoted or not; none for a missing file", () => {
  const f = path.join(dir, "Pulumi.x.yaml");
  fs.writeFileSync(
    f,
    [
      "encryptionsalt: v1:abc",
      "config:",
      "  nixos-restic-b2:host: 127.0.0.1",
      "  nixos-restic-b2:paths:",
      "    - /home",
      "    - nixos-restic-b2:notakey: x",
      '  "b2:applicationKeyId":',
      "    secure: v1:xyz",
      "other:",
      "  nixos-restic-b2:outside: 1",
      "",
    ].join("\n"),
  );
  expect([...keysSetIn(f)]).toEqual(["nixos-restic-b2:host", "nixos-restic-b2:paths", "b2:applicationKeyId"]);
  expect(keysSetIn(path.join(dir, "none.yaml")).size).toBe(0);
});

test("usesPassphrase: an existing stack by its encryptionsalt, a new one by the backend (self-managed: yes; Pulumi Cloud or none: no)", () => {
  const project = path.join(dir, "project");
  fs.mkdirSync(project);
  const yaml = (backend: string) => fs.writeFileSync(path.join(project, "Pulumi.yaml"), `name: p\nruntime: nodejs\n${backend}`);
  const cli = (env: NodeJS.ProcessEnv = {}) => new PulumiCli("/no/pulumi", project, env);
  yaml("backend:\n  url: file://.\n");
  expect(cli().usesPassphrase("new", false)).toBe(true);
  expect(cli({ PULUMI_BACKEND_URL: "https://api.pulumi.com" }).usesPassphrase("new", false)).toBe(false);
  yaml("");
  expect(cli().usesPassphrase("new", false)).toBe(false);
  expect(cli({ PULUMI_BACKEND_URL: "s3://bucket/prefix" }).usesPassphrase("new", false)).toBe(true);
  fs.writeFileSync(path.join(project, "Pulumi.salted.yaml"), "encryptionsalt: v1:abc\nconfig: {}\n");
  fs.writeFileSync(path.join(project, "Pulumi.cloud.yaml"), "config:\n  p:x: y\n");
  expect(cli().usesPassphrase("salted", true)).toBe(true);
  expect(cli().usesPassphrase("cloud", true)).toBe(false);
});
