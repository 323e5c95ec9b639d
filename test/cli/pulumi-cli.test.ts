// Pulumi.yaml and the stack files against the real Pulumi CLI: the one
// lib/engine/find.ts picks (PULUMI_BIN, NIXOS_RESTIC_B2_PULUMI, the CLI
// scripts/build-engine.sh builds from the Go module proxy, the installer's,
// PATH's; only the CLI is needed). These tests stop where the
// CLI would start the program: they check what the CLI does before that, and
// that the config it hands the program parses. The program itself runs under
// the engine in the e2e suite (test/e2e, `npm run test:e2e`).
//
// Run with `npm run test:cli`; .ci/run builds the CLI first. Fails, never
// skips, when no CLI is found.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PLAIN_KEYS, PROJECT, RawConfig, parseConfig, readRawConfig } from "../../lib/config";
import { INSTALL_CLI, findEngine } from "../../lib/engine/find";

const PROJECT_DIR = path.resolve(__dirname, "../..");

function findPulumi(): string {
  const cli = findEngine().cli;
  if (cli === undefined) throw new Error(`no Pulumi CLI: ${INSTALL_CLI}`);
  return cli.pulumi;
}

const PULUMI = findPulumi();

/** Whether this CLI finds a Node.js language host: beside it (after symlinks) or on PATH. */
function languageHostReachable(): boolean {
  const dirs = [path.dirname(fs.realpathSync(PULUMI)), ...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean)];
  return dirs.some((d) => fs.existsSync(path.join(d, "pulumi-language-nodejs")));
}
let dir: string;
let project: string;

function pulumi(args: string[], input?: string) {
  const r = spawnSync(PULUMI, [...args, "--non-interactive"], {
    cwd: project,
    input,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: path.join(dir, "home"),
      PULUMI_HOME: path.join(dir, "pulumi-home"),
      PULUMI_CONFIG_PASSPHRASE: "test passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], input?: string): string {
  const r = pulumi(args, input);
  if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The config as the CLI hands it to the program: `config.get(key)` returns `value`. */
function rawConfig(stack: string): { raw: RawConfig; secrets: Record<string, string>; all: Record<string, { value: string; secret: boolean }> } {
  const all = JSON.parse(ok(["config", "--json", "--show-secrets", "--stack", stack])) as Record<string, { value: string; secret: boolean }>;
  const raw = readRawConfig((key) => all[`${PROJECT}:${key}`]?.value);
  const secrets = Object.fromEntries(Object.entries(all).filter(([, v]) => v.secret).map(([k, v]) => [k, v.value]));
  return { raw, secrets, all };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-cli-"));
  project = path.join(dir, "project");
  // A copy of the project's own files (what a user clones), without state.
  fs.mkdirSync(project);
  // program/ is Pulumi.yaml's main: the CLI refuses a project whose main is missing.
  for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "package.json", "tsconfig.json", "index.ts", "program"]) {
    fs.cpSync(path.join(PROJECT_DIR, f), path.join(project, f), { recursive: true });
  }
  expect(ok(["version"]).trim()).toMatch(/^v3\.\d+\.\d+/);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the example stack: state lands inside the project, and the config parses", () => {
  ok(["stack", "init", "dev"]);
  expect(fs.existsSync(path.join(project, ".pulumi", "stacks", "nixos-restic-b2", "dev.json"))).toBe(true);
  const { raw } = rawConfig("dev");
  const cfg = parseConfig(raw, {}, "dev");
  expect(cfg.host.host).toBe("nixos-dev.lan");
  expect(cfg.backup.paths).toEqual(["/home", "/etc/nixos", "/var/lib"]);
  expect(cfg.backup.notify).toEqual({ user: "alice", uid: 1000 });
  expect(cfg.secrets.adminKeys).toHaveLength(1);
});

test("Pulumi.yaml's defaults and the parser's defaults agree", () => {
  // Only the keys the stack file sets, as if Pulumi.yaml declared no defaults.
  const { raw: withDefaults } = rawConfig("dev");
  const stackFile = fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8");
  const setInFile = PLAIN_KEYS.filter((k) => stackFile.includes(`${PROJECT}:${k}:`));
  const onlySet: RawConfig = Object.fromEntries(setInFile.map((k) => [k, withDefaults[k]]));
  expect(Object.keys(withDefaults).length).toBeGreaterThan(setInFile.length);
  expect(parseConfig(withDefaults, {}, "dev")).toEqual(parseConfig(onlySet, {}, "dev"));
});

test("every key the program reads is declared, with a description", () => {
  const { all } = rawConfig("dev");
  const declaredOrSet = Object.keys(all).map((k) => k.replace(`${PROJECT}:`, ""));
  const required = ["hostKey", "paths"];
  for (const key of PLAIN_KEYS) {
    if (!required.includes(key)) expect(declaredOrSet).toContain(key);
  }
  const yaml = fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8");
  for (const key of PLAIN_KEYS) expect(yaml).toMatch(new RegExp(`\\n  ${key}:\\n(    .*\\n)*    description: "`));
});

test("a stack without the required keys is refused before the program runs", () => {
  ok(["stack", "init", "bare"]);
  const r = pulumi(["preview", "--stack", "bare"]);
  expect(r.code).not.toBe(0);
  expect(r.stderr + r.stdout).toContain("Stack 'bare' is missing configuration values 'hostKey' and 'paths'");
});

test.each([
  ["lifecycleDays", "thirty", "must be of type 'integer'"],
  ["createBucket", "maybe", "must be of type 'boolean'"],
  ["sshPort", "ssh", "must be of type 'integer'"],
])("a mistyped %s is refused before the program runs", (key, value, message) => {
  ok(["stack", "select", "dev"]);
  ok(["config", "set", key, value, "--stack", "dev"]);
  try {
    const r = pulumi(["preview", "--stack", "dev"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain(`Stack 'dev' with configuration key '${key}' ${message}`);
  } finally {
    ok(["config", "rm", key, "--stack", "dev"]);
  }
});

test("secrets set with --secret are stored encrypted and reach the program as secrets", () => {
  const secret = "K004-not-a-real-key-cli-test";
  ok(["config", "set", "--secret", "b2:applicationKey", "--stack", "dev"], secret);
  ok(["config", "set", "--secret", "existingKey", "--stack", "dev"], secret);
  const file = fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8");
  expect(file).not.toContain(secret);
  expect(file).toMatch(/b2:applicationKey:\n\s+secure: /);
  const { secrets } = rawConfig("dev");
  expect(secrets["b2:applicationKey"]).toBe(secret);
  expect(secrets[`${PROJECT}:existingKey`]).toBe(secret);
});

describe("agenixDir: a path under a plain key the CLI accepts", () => {
  const DIR = "/home/me/nixos-config/secrets/laptop";

  test("`pulumi config set agenixDir <path>` succeeds, stores plaintext and reaches the parser", () => {
    ok(["stack", "select", "dev"]);
    ok(["config", "set", "agenixDir", DIR, "--stack", "dev"]);
    try {
      const file = fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8");
      expect(file).toContain(`${PROJECT}:agenixDir: ${DIR}`);
      const { raw, all } = rawConfig("dev");
      expect(all[`${PROJECT}:agenixDir`]).toMatchObject({ value: DIR, secret: false });
      const warnings: string[] = [];
      expect(parseConfig(raw, {}, "dev", { warnings }).secrets.agenixDir).toBe(DIR);
      expect(warnings).toEqual([]);
    } finally {
      ok(["config", "rm", "agenixDir", "--stack", "dev"]);
    }
  });

  test("`pulumi config set secretsDir <same path>` is refused by the CLI (why the key was renamed)", () => {
    const r = pulumi(["config", "set", "secretsDir", DIR, "--stack", "dev"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain(`config value for '${PROJECT}:secretsDir' looks like a secret`);
    expect(fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8")).not.toContain("secretsDir");
  });

  test("an existing stack file with secretsDir (no longer declared) still passes the CLI's checks and parses, with a warning", () => {
    // As an existing stack has it: written with --plaintext (or by hand) before the rename.
    ok(["config", "set", "--plaintext", "secretsDir", DIR, "--stack", "dev"]);
    try {
      expect(fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8")).not.toMatch(/\n  secretsDir:/);
      const { all, raw } = rawConfig("dev");
      // The program reads it with config.get(): the plain value, as before.
      expect(all[`${PROJECT}:secretsDir`]).toMatchObject({ value: DIR, secret: false });
      const warnings: string[] = [];
      const withOld = parseConfig(raw, {}, "dev", { warnings });
      expect(withOld.secrets.agenixDir).toBe(DIR);
      expect(warnings.join("\n")).toContain("pulumi config set agenixDir");
      // The CLI's own config checks (types, required keys) run before the
      // program and do not object to the undeclared key: preview gets past
      // them (a config problem stops it before, with "validating stack
      // config", as the refusals above show) to the language host. A CLI
      // alone (the one scripts/build-engine.sh builds) stops there, finding
      // no pulumi-language-nodejs; one with its language host runs the
      // program up to the stack resource.
      const p = pulumi(["preview", "--stack", "dev"]);
      expect(p.stderr + p.stdout).not.toContain("validating stack config");
      if (languageHostReachable()) expect(p.stdout).toContain("pulumi:pulumi:Stack nixos-restic-b2-dev");
      else expect(p.stderr).toContain("failed to load language plugin nodejs: no language plugin 'pulumi-language-nodejs' found");
    } finally {
      ok(["config", "rm", "secretsDir", "--stack", "dev"]);
    }
  });
});
