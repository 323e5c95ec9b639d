// The program's own pieces chained for real, as `pulumi up` runs them, minus
// the Pulumi engine (see docs/testing.md): the exact local commands the
// secrets component registers (password generation, encryption, secrets.nix)
// run through sh in the project directory, the module is rendered from a
// parsed stack config, and the exact remote command goes over a real sshd to
// a fake NixOS root. Then: the pushed and local files decrypt with the age
// CLI to exactly the plaintexts, Nix parses and evaluates what was written,
// and uninstall leaves the fake root as it was.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderEnvFile, renderSecretsNix } from "../../lib/nix/agenix";
import { AGE_FILES, installLayout } from "../../lib/host/layout";
import { parseConfig } from "../../lib/config";
import { renderModule } from "../../lib/nix";
import { hostCommand, hostStdin } from "../../lib/host/shell";
import { RANDOM_HEX_COMMAND } from "../../components/random";
import { localFilesCommand } from "../../components/secrets";
import { NixSandbox } from "../support/nix-instantiate";
import { requireRoot, snapshotTree, TestSshd } from "../support/sshd";

requireRoot();

const PROJECT_DIR = path.resolve(__dirname, "../..");
// Fake B2 credentials that exist only in this test.
const KEY_ID = "0041a2b3c4d5e6f0000000001";
const KEY = "K004abc+def/ghi$`\"\\x";

let srv: TestSshd;
let nix: NixSandbox;
let work: string;
let adminKey: string;

/** Runs a command line the way @pulumi/command's local.Command does: sh -c, in the project directory. */
function local(commandLine: string, stdin = ""): string {
  const r = spawnSync("sh", ["-c", commandLine], { cwd: PROJECT_DIR, input: stdin, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`local command failed (${r.status}): ${commandLine.slice(0, 120)}\n${r.stderr}`);
  return r.stdout;
}

function ageDecrypt(identity: string, file: string): string {
  const r = spawnSync("age", ["-d", "-i", identity, file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`age -d failed: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  srv = await TestSshd.start();
  nix = new NixSandbox("restic-b2-pipeline-nix-");
  work = fs.mkdtempSync(path.join(srv.dir, "work-"));
  adminKey = path.join(work, "admin_ed25519");
  const kg = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "admin@test", "-f", adminKey]);
  if (kg.status !== 0) throw new Error(String(kg.stderr));
}, 30_000);

afterAll(async () => {
  await srv?.stop();
  nix?.cleanup();
});

test("config → password → agenix files → module → push → switch → decrypt → uninstall", async () => {
  const pristine = snapshotTree(srv.root);
  const secretsDir = path.join(work, "secrets", "laptop", "restic");
  const cfg = parseConfig(
    {
      host: "127.0.0.1",
      hostKey: `127.0.0.1 ${srv.hostPublicKey()}`,
      adminKeys: JSON.stringify([fs.readFileSync(`${adminKey}.pub`, "utf8").trim()]),
      paths: JSON.stringify(["/home", `/srv/it's "quoted" \${builtins.throw "x"}`]),
      hostConfigDir: srv.configDir,
      secretsDir,
      notifyUser: "alice",
      notifyUid: "1000",
    },
    {},
    "laptop",
  );
  const recipients = [cfg.secrets.hostKey, ...cfg.secrets.adminKeys];
  expect(recipients).toHaveLength(2);

  // The password: the exact command the secrets component registers.
  const password = local(RANDOM_HEX_COMMAND(32)).trim();
  expect(password).toMatch(/^[0-9a-f]{64}$/);
  expect(local(RANDOM_HEX_COMMAND(32)).trim()).not.toBe(password);

  // The three agenix files and secrets.nix, through lib/age/local-files.ts.
  const plaintexts: Record<string, string> = {
    "env.age": renderEnvFile(KEY_ID, KEY),
    "repo.age": "b2:restic-laptop-0123abcd",
    "password.age": password,
  };
  const ciphertexts: Record<string, string> = {};
  for (const file of AGE_FILES) {
    const out = local(
      localFilesCommand("encrypt", path.join(secretsDir, file)),
      JSON.stringify({ recipients, plaintext: plaintexts[file] }),
    );
    expect(out).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]*\n-----END AGE ENCRYPTED FILE-----\n$/);
    expect(fs.readFileSync(path.join(secretsDir, file), "utf8")).toBe(out);
    expect(out).not.toContain(password);
    ciphertexts[file] = out;
  }
  local(localFilesCommand("write", path.join(secretsDir, "secrets.nix")), renderSecretsNix("laptop", cfg.secrets.hostKey, cfg.secrets.adminKeys));
  expect(fs.readdirSync(secretsDir).sort()).toEqual(["env.age", "password.age", "repo.age", "secrets.nix"]);
  for (const f of fs.readdirSync(secretsDir)) {
    expect((fs.statSync(path.join(secretsDir, f)).mode & 0o777).toString(8)).toBe("644");
  }

  // secrets.nix as the agenix CLI reads it.
  expect(nix.evalJson(`import ${path.join(secretsDir, "secrets.nix")}`)).toEqual(
    Object.fromEntries(AGE_FILES.map((f) => [f, { publicKeys: recipients }])),
  );

  // The local files open with the admin's key.
  for (const file of AGE_FILES) expect(ageDecrypt(adminKey, path.join(secretsDir, file))).toBe(plaintexts[file]);

  // Push: the exact remote command HostDeployment registers.
  const module = renderModule({
    backup: cfg.backup,
    secretFiles: { env: "./secrets/env.age", repo: "./secrets/repo.age", password: "./secrets/password.age" },
    agenixSecretPrefix: `restic-b2-${cfg.backup.backupName}`,
  });
  const files: Record<string, string> = { "module.nix": module };
  for (const f of AGE_FILES) files[`secrets/${f}`] = ciphertexts[f];
  const params = { hostConfigDir: cfg.host.hostConfigDir, backupName: cfg.backup.backupName, importMode: cfg.host.importMode, project: "nixos-restic-b2", stack: "pipeline", systemProfile: srv.systemProfile };
  const before = srv.rebuildCalls().length;
  // As HostDeployment registers it: the short create command, the bundle on stdin.
  const create = hostCommand("install", { ...params, files, runFirstBackup: false, verifyOnDeploy: true }, { sudo: false });
  const stdin = hostStdin(files);
  expect(create).not.toContain("AGE ENCRYPTED");
  const r = await srv.run(create, { stdin });
  if (r.code !== 0) throw new Error(r.stderr);
  expect(srv.rebuildCalls().slice(before)).toEqual(["switch"]);
  expect(r.stdout).toContain("restic-backups-daily.timer: active");
  expect(r.stdout).toContain("verify: repository opens");

  // On the host: the module parses and evaluates back to the exact paths; the files open with the host key.
  const layout = installLayout(cfg.host.hostConfigDir);
  expect(fs.readFileSync(layout.modulePath, "utf8")).toBe(module);
  nix.parseFile(layout.modulePath);
  const stub = `{ config = { age.secrets = builtins.mapAttrs (n: _: { path = "/run/agenix/\${n}"; }) (import ${layout.modulePath} { config = {}; pkgs = {}; lib = {}; }).age.secrets; }; pkgs = {}; lib = {}; }`;
  const evaluated = nix.evalJson(`(import ${layout.modulePath} ${stub}).services.restic.backups.daily.paths`);
  expect(evaluated).toEqual(cfg.backup.paths);
  for (const f of AGE_FILES) {
    const pushed = path.join(layout.ageDir, f);
    expect(ageDecrypt(srv.hostKey, pushed)).toBe(plaintexts[f]);
    expect((fs.statSync(pushed).mode & 0o777).toString(8)).toBe("600");
  }
  const conf = fs.readFileSync(path.join(srv.configDir, "configuration.nix"), "utf8");
  expect(conf.split("\n").filter((l) => l.includes("./restic-b2/module.nix"))).toHaveLength(1);

  // pulumi destroy: the remote command's delete, with the stdin stored by the install.
  const u = await srv.run(hostCommand("uninstall", params, { sudo: false }), { stdin });
  if (u.code !== 0) throw new Error(u.stderr);
  expect(snapshotTree(srv.root)).toEqual(pristine);
}, 60_000);

test("the encrypt command refuses bad requests without echoing the plaintext", () => {
  const file = path.join(work, "refused.age");
  const plaintext = "do-not-echo-this-plaintext";
  const r = spawnSync("sh", ["-c", localFilesCommand("encrypt", file)], {
    cwd: PROJECT_DIR,
    input: JSON.stringify({ recipients: ["ecdsa-sha2-nistp256 AAAA"], plaintext }),
    encoding: "utf8",
  });
  expect(r.status).not.toBe(0);
  expect(r.stderr + r.stdout).not.toContain(plaintext);
  expect(fs.existsSync(file)).toBe(false);
  expect(fs.readdirSync(work).filter((n) => n.includes(".tmp"))).toEqual([]);
});
