// The drill's unit and timer through the real NixOS unit types (the module
// system and systemd libraries of ../shared/nixos-eval), rendered to unit
// files exactly as NixOS writes them, then checked by systemd-analyze verify.

import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_DRILL_SETTINGS } from "../../lib/config";
import { renderModule } from "../../lib/nix";
import { NixSandbox } from "../support/nix-instantiate";
import { fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { sharedPath } from "../support/shared";

let nix: NixSandbox;
let subset: string;
beforeAll(() => {
  nix = new NixSandbox("drill-nixos-test-");
  const r = spawnSync("tar", ["xzf", sharedPath("nixos-eval", "nixpkgs-subset-7beb50e.tar.gz"), "-C", nix.dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot extract the NixOS subset: ${r.stderr}`);
  subset = join(nix.dir, "nixpkgs-subset-7beb50e");
});
afterAll(() => nix?.cleanup());

// Only systemd.services/timers get their real types; the module's other
// options are loose stand-ins (the restic and agenix modules are not loaded).
const EVAL = (subsetDir: string, modulePath: string) => `
let
  lib = import ${subsetDir}/lib;
  drv = name: { type = "derivation"; inherit name; outPath = "/nix/store/00000000000000000000000000000000-" + name; meta.mainProgram = name; };
  script = name: text: (drv name) // { inherit text; };
  pkgs = {
    coreutils = drv "coreutils"; findutils = drv "findutils"; gnused = drv "gnused"; gnugrep = drv "gnugrep";
    jq = drv "jq"; util-linux = drv "util-linux"; restic = drv "restic"; libnotify = drv "libnotify"; bash = drv "bash"; systemd = drv "systemd";
    runtimeShell = "/bin/sh"; writeShellScript = script; writeShellScriptBin = script; writeText = script;
  };
  stubs = {
    options = {
      age.secrets = lib.mkOption { type = lib.types.attrsOf (lib.types.submodule ({ name, ... }: {
        freeformType = lib.types.attrsOf lib.types.anything;
        options.path = lib.mkOption { type = lib.types.str; default = "/run/agenix/" + name; };
      })); };
      services.restic.backups = lib.mkOption { type = lib.types.attrsOf lib.types.anything; };
      environment.systemPackages = lib.mkOption { type = lib.types.listOf lib.types.package; };
      systemd.services = lib.mkOption { type = utils.systemdUtils.types.services; default = { }; };
      systemd.timers = lib.mkOption { type = utils.systemdUtils.types.timers; default = { }; };
      systemd.package = lib.mkOption { default = drv "systemd"; };
      systemd.globalEnvironment = lib.mkOption { default = { }; };
      systemd.enableStrictShellChecks = lib.mkOption { default = false; };
    };
  };
  utils = import ${subsetDir}/nixos/lib/utils.nix { inherit lib pkgs; config = ev.config; };
  ev = lib.evalModules { modules = [ stubs ${modulePath} { _module.args = { inherit pkgs utils; }; } ]; };
  u = utils.systemdUtils.lib;
in {
  service = (u.serviceToUnit ev.config.systemd.services."restic-b2-drill-daily").text;
  timer = (u.timerToUnit ev.config.systemd.timers."restic-b2-drill-daily").text;
  packages = map (p: p.name) ev.config.environment.systemPackages;
}`;

test("the drill unit and timer are valid NixOS units and valid systemd units", () => {
  const b = fullBackup();
  b.agenixModule = { kind: "provided" };
  const dir = join(nix.dir, "module");
  mkdirSync(join(dir, "secrets"), { recursive: true });
  for (const f of ["env", "repo", "password"]) writeFileSync(join(dir, "secrets", `${f}.age`), "ciphertext\n");
  writeFileSync(join(dir, "module.nix"), renderModule({ ...moduleOptions(b), drill: { ...DEFAULT_DRILL_SETTINGS } }));
  const out = nix.evalJson(EVAL(subset, join(dir, "module.nix"))) as { service: string; timer: string; packages: string[] };

  expect(out.packages).toEqual(["libnotify", "restic-b2-verify-daily"]);
  const service = out.service.split("\n");
  for (const line of [
    "After=network-online.target restic-backups-daily.service",
    "OnFailure=restic-b2-drill-daily-notify-failure.service",
    "Wants=network-online.target",
    "X-RestartIfChanged=false",
    "CacheDirectory=restic-b2/daily",
    "CacheDirectoryMode=0700",
    "ExecStart=/nix/store/00000000000000000000000000000000-restic-b2-drill-daily",
    "ProtectSystem=strict",
    "ProtectHome=read-only",
    "PrivateTmp=true",
    "StateDirectory=restic-b2/daily",
    "StateDirectoryMode=0700",
    "Type=oneshot",
    "TimeoutStartSec=1d",
  ]) {
    expect(service).toContain(line);
  }
  expect(out.timer).toContain("[Timer]\nOnCalendar=monthly\nPersistent=true\nRandomizedDelaySec=6h\n");
  expect(out.timer).toContain("[Install]\nWantedBy=timers.target\n");

  // systemd's own parser: unknown or malformed directives fail. The store path
  // does not exist here, so ExecStart points at a real executable instead.
  const units = join(nix.dir, "units");
  mkdirSync(units);
  const exe = join(units, "drill-stand-in");
  writeFileSync(exe, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  writeFileSync(join(units, "restic-b2-drill-daily.service"), out.service.replace(/^ExecStart=.*$/m, `ExecStart=${exe}`));
  writeFileSync(join(units, "restic-b2-drill-daily.timer"), out.timer);
  writeFileSync(join(units, "restic-b2-drill-daily-notify-failure.service"), `[Service]\nType=oneshot\nExecStart=${exe}\n`);
  const v = spawnSync("systemd-analyze", ["verify", "--man=no", "restic-b2-drill-daily.timer", "restic-b2-drill-daily.service"], {
    cwd: units,
    encoding: "utf8",
  });
  expect(v.stderr).toBe("");
  expect(v.status).toBe(0);
  // The check can fail: a misspelt directive is reported.
  writeFileSync(join(units, "restic-b2-drill-daily.service"), out.service.replace(/^ExecStart=.*$/m, `ExecStart=${exe}\nProtectSystm=strict`));
  const bad = spawnSync("systemd-analyze", ["verify", "--man=no", "restic-b2-drill-daily.service"], { cwd: units, encoding: "utf8" });
  expect(bad.stderr).toContain("ProtectSystm");
});
