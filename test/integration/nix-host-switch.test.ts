// The fake host's stub `nixos-rebuild switch` (test/support/sshd.ts) checks
// the host's configuration.nix with the installed module before it activates:
//  - in the real NixOS module system (test/support/nixos-eval.ts) where the
//    machine has nixpkgs and agenix, so a module NixOS would reject fails the
//    switch, and the host script puts everything back; without them these
//    tests are skipped, with one line, and counted;
//  - with `nix-instantiate --parse` of configuration.nix and the module (the
//    fallback without them), tested everywhere: a file that is not Nix fails
//    the switch and is rolled back.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfig } from "../../lib/config";
import { hostCommand, hostStdin } from "../../lib/host/shell";
import { renderModule } from "../../lib/nix";
import { nixosEvalAvailability } from "../support/nixos-eval";
import { describeWhen } from "../support/requires";
import { requireRoot, snapshotTree, TestSshd } from "../support/sshd";

requireRoot();

let srv: TestSshd;
let AGE: Record<"env" | "repo" | "password", string>;

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@nixos-dev";

/** A module rendered from a parsed stack config, as `pulumi up` makes it (default agenix import: fetchTarball of the pinned commit). */
function module(over: Record<string, string> = {}): string {
  const cfg = parseConfig({ hostKey: HOST_KEY, host: "h", paths: JSON.stringify(["/home", "/srv/[2020] photos"]), notifyUser: "alice", notifyUid: "1000", ...over }, {}, "laptop");
  return renderModule({
    backup: cfg.backup,
    secretFiles: { env: "./secrets/env.age", repo: "./secrets/repo.age", password: "./secrets/password.age" },
    agenixSecretPrefix: `restic-b2-${cfg.backup.backupName}`,
  });
}

function ageEncrypt(plaintext: string): string {
  const r = spawnSync("age", ["-a", "-R", srv.hostPubKey], { input: plaintext, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`age failed: ${r.stderr}`);
  return r.stdout;
}

const install = (moduleText: string) => {
  const files = { "module.nix": moduleText, "secrets/env.age": AGE.env, "secrets/repo.age": AGE.repo, "secrets/password.age": AGE.password };
  return srv.run(
    hostCommand(
      "install",
      { hostConfigDir: srv.configDir, backupName: "daily", importMode: "auto", project: "nixos-restic-b2", stack: "switch", systemProfile: srv.systemProfile, files },
      { sudo: false },
    ),
    { stdin: hostStdin(files) },
  );
};

beforeAll(async () => {
  srv = await TestSshd.start();
  AGE = { env: ageEncrypt("B2_ACCOUNT_ID=1\nB2_ACCOUNT_KEY=2\n"), repo: ageEncrypt("b2:bucket:host\n"), password: ageEncrypt("pw\n") };
}, 30_000);
afterAll(async () => {
  await srv?.stop();
});
beforeEach(() => {
  srv.resetRoot();
  srv.setConfigDir(srv.configDir);
  srv.flag("no-agenix", false);
});

/** The files the stub switches checked since `from` ("parse <file>" / "evaluate <file>"). */
const checked = (from: number) => srv.callLog("switch.checked").slice(from);

/** A switch that fails and leaves the host as it was: non-zero exit, Nix's message, same tree and profile. */
async function expectRolledBack(moduleText: string, message: RegExp): Promise<void> {
  const good = await install(module());
  if (good.code !== 0) throw new Error(good.stderr);
  const before = snapshotTree(srv.root);
  const profile = srv.profileTarget();
  const r = await install(moduleText);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/nixos-rebuild switch failed/);
  expect(r.stderr).toMatch(message);
  expect(snapshotTree(srv.root)).toEqual(before);
  expect(srv.profileTarget()).toBe(profile);
}

describe("without the module system: the switch parses configuration.nix and the module", () => {
  beforeEach(() => srv.setSwitchCheck("parse"));

  test("the rendered module installs; the switch parsed exactly configuration.nix and restic-b2/module.nix", async () => {
    const [calls, from] = [srv.rebuildCalls().length, srv.callLog("switch.checked").length];
    const r = await install(module());
    if (r.code !== 0) throw new Error(r.stderr);
    expect(srv.rebuildCalls().slice(calls)).toEqual(["switch"]);
    expect(checked(from)).toEqual([`parse ${srv.configDir}/configuration.nix`, `parse ${srv.configDir}/restic-b2/module.nix`]);
  });

  test("a module that does not parse fails the switch with Nix's message and the host is as before", async () => {
    const bad = module().replace("initialize = true;", "initialize = true");
    expect(bad).not.toBe(module());
    await expectRolledBack(bad, /syntax error/);
  });

  test("a configuration.nix that does not parse fails the switch; the host script restores it", async () => {
    const conf = path.join(srv.configDir, "configuration.nix");
    // Broken after the imports list, which the host script still finds and edits.
    const broken = fs.readFileSync(conf, "utf8").replace('networking.hostName = "nixos";', 'networking.hostName = "nixos"');
    fs.writeFileSync(conf, broken);
    const before = snapshotTree(srv.root);
    const r = await install(module());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nixos-rebuild switch failed/);
    expect(r.stderr).toMatch(/syntax error/);
    expect(snapshotTree(srv.root)).toEqual(before);
    expect(fs.readFileSync(conf, "utf8")).toBe(broken);
  });
});

describeWhen(nixosEvalAvailability(), "the stub switch in the NixOS module system", () => {
  beforeEach(() => srv.setSwitchCheck("evaluate"));

  /** What the stub's evaluation produced for the last switch. */
  const evaluated = () => JSON.parse(fs.readFileSync(path.join(srv.state, "eval.out"), "utf8")) as { services: Record<string, string>; timers: Record<string, string> };

  test("the stub switch evaluates the whole host: the rendered module installs, with the units NixOS would write", async () => {
    const [calls, from] = [srv.rebuildCalls().length, srv.callLog("switch.checked").length];
    const r = await install(module());
    if (r.code !== 0) throw new Error(r.stderr);
    expect(srv.rebuildCalls().slice(calls)).toEqual(["switch"]);
    expect(checked(from)).toEqual([`evaluate ${srv.configDir}/configuration.nix`]);
    const out = evaluated();
    expect(Object.keys(out.services).sort()).toEqual(["restic-backups-daily", "restic-backups-daily-notify-failure"]);
    expect(out.services["restic-backups-daily"]).toContain("\nEnvironmentFile=/run/agenix/restic-b2-daily-env\n");
    expect(out.services["restic-backups-daily"]).toContain("\nOnFailure=restic-backups-daily-notify-failure.service\n");
    expect(out.timers["restic-backups-daily"]).toContain("\nOnCalendar=daily\nPersistent=true\n");
  });

  test.each<[string, (m: string) => string, RegExp]>([
    // The host script cuts each rebuild line to 120 bytes (the whole failure output
    // stays under 8 KiB), so long NixOS messages are matched on their start.
    ["a wrong type", (m) => m.replace("initialize = true;", 'initialize = "yes";'), /initialize' is not of type `boolean'/],
    ["an option that does not exist", (m) => m.replace("initialize = true;", "initialize = true;\n    pathz = [ ];"), /pathz' does not exist/],
    ["an agenix secret option that does not exist", (m) => m.replace('mode = "0400";', 'mode = "0400";\n      ownr = "root";'), /ownr' does not exist/],
    ["an invalid unit name", (m) => m.replace('[ "restic-backups-daily-notify-failure.service" ]', '[ "restic-backups-daily notify.service" ]'), /onFailure.* is not of type /],
  ])("%s: the switch fails with NixOS's message and the host is as before", async (_name, mutate, message) => {
    const bad = mutate(module());
    expect(bad).not.toBe(module());
    await expectRolledBack(bad, message);
  });

  test("a failed NixOS assertion fails the first install, which leaves no trace", async () => {
    const before = snapshotTree(srv.root);
    // A host without SSH host keys: agenix cannot decrypt and says so.
    const conf = path.join(srv.configDir, "configuration.nix");
    fs.writeFileSync(conf, fs.readFileSync(conf, "utf8").replace("services.openssh.enable = true;", "services.openssh.enable = false;"));
    const edited = snapshotTree(srv.root);
    expect(edited).not.toEqual(before);
    const r = await install(module());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Failed assertions:");
    expect(r.stderr).toContain("age.identityPaths must be set");
    expect(snapshotTree(srv.root)).toEqual(edited);
  });

  test("agenixModule: provided on a host whose configuration has no agenix fails the switch", async () => {
    srv.flag("no-agenix", true);
    const r = await install(module({ agenixModule: "provided" }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/The option `age' does not exist|age\.secrets.* does not exist/);
    // The generated import brings agenix itself: the same host accepts it.
    const ok = await install(module());
    if (ok.code !== 0) throw new Error(ok.stderr);
  });
});
