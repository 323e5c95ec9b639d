// Issue 9, item 3, under the real engine: the most common hand-written
// configuration.nix shape, `imports = [ ./hardware-configuration.nix ];` on one
// line. importMode auto adds exactly one marked entry on that line, the stub
// `nixos-rebuild switch` evaluates the edited file with the real NixOS module
// system (so the import really brings in the backup, and agenix's assertion
// holds through services.openssh.enable), and `pulumi destroy` puts the file
// back byte for byte. Also the stack outputs of this mode (existing bucket,
// deploy: true): exactly the documented ones, so no "Undefined value" warning
// (which the harness refuses in every run anyway).

import * as fs from "node:fs";
import * as path from "node:path";
import { TestSshd, TreeEntry, snapshotTree } from "../support/sshd";
import { E2eProject, expectOk, text, loopbackConfig, describeE2e, e2eEngine } from "./harness";

const ONE_LINE = `{ config, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.systemd-boot.enable = true;
  networking.hostName = "handwritten";
  services.openssh.enable = true;
  system.stateVersion = "24.11";
}
`;
const EDITED_LINE = "  imports = [ ./restic-b2/module.nix /* added by nixos-restic-b2; removed by pulumi destroy */ ./hardware-configuration.nix ];";

let srv: TestSshd;
let p: E2eProject;
let pristine: TreeEntry[];
const conf = () => path.join(srv.configDir, "configuration.nix");

describeE2e("e2e one-line-imports", () => {
  beforeAll(async () => {
    srv = await TestSshd.start();
    fs.writeFileSync(conf(), ONE_LINE, { mode: 0o644 });
    pristine = snapshotTree(srv.root);
    p = await E2eProject.create(e2eEngine(), {
      config: loopbackConfig(srv, "e2e-restic-one-line"),
      secrets: { existingKeyId: "0042e2e0000000000000000f6", existingKey: "K0042e2eOneLineB2KeyNeverInPlaintext0a1b2c", sshPrivateKey: fs.readFileSync(srv.clientKey, "utf8") },
    });
  }, 120_000);

  afterAll(async () => {
    p?.cleanup();
    await srv?.stop();
  });

  test("pulumi up adds exactly one marked entry to the one-line imports list; the switch evaluates it", async () => {
    const r = expectOk(await p.up());
    expect(text(r)).toContain("import: added to configuration.nix");
    expect(srv.rebuildCalls()).toEqual(["switch"]);
    const edited = fs.readFileSync(conf(), "utf8");
    // Only that line changed, and the entry is on it once.
    expect(edited).toBe(ONE_LINE.replace("  imports = [ ./hardware-configuration.nix ];", EDITED_LINE));
    expect(edited.split("./restic-b2/module.nix")).toHaveLength(2);
    // The stub switch evaluated configuration.nix with the real module system: the
    // backup the module declares is there, so the import took effect.
    const evaluated = fs.readFileSync(path.join(srv.state, "eval.out"), "utf8");
    expect(evaluated).toContain("restic-backups-daily");
  });

  test("the stack outputs are exactly those of an existing-bucket deploy: no bucketId, no localModulePath", async () => {
    const r = expectOk(await p.pulumi(["stack", "output", "--json", "--stack", p.stack]));
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(["bucketName", "hostModulePath", "recipients", "repository", "restore", "secretsDir", "units"]);
    expect(out.hostModulePath).toBe(path.join(srv.configDir, "restic-b2", "module.nix"));
    expect(out.repository).toBe("b2:e2e-restic-one-line");
  });

  test("pulumi destroy puts configuration.nix back byte-identical (and the whole fake root)", async () => {
    expectOk(await p.destroy());
    expect(srv.rebuildCalls()).toEqual(["switch", "switch"]);
    expect(fs.readFileSync(conf(), "utf8")).toBe(ONE_LINE);
    expect(snapshotTree(srv.root)).toEqual(pristine);
  });
});
