# Evaluates a generated module with the real NixOS module system, the real
# restic module and the real agenix module (from ../shared/nixos-eval), with
# stub packages that keep their text and never build anything. Returns the
# rendered unit files and the parts the monitoring tests look at.
#
#   nix-instantiate --eval --strict --json monitor-nixos-eval.nix \
#     --argstr subset <nixpkgs-subset dir> --argstr agenix <agenix dir> --argstr modulePath <module.nix>
{ subset, agenix, modulePath }:
let
  lib = import (subset + "/lib");
  inherit (lib) mkOption types;

  stubPkg = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    meta.mainProgram = name;
    overrideAttrs = _: stubPkg name;
  };
  # A script's store path carries the hash of its text, so tests can check the text.
  script = name: text: (stubPkg "script-${name}") // {
    inherit text;
    outPath = "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" text)}-${name}";
  };
  scriptBin = name: text: (script name text) // {
    overrideAttrs = f: (scriptBin name text) // (f { });
  };
  pkgs = lib.genAttrs [
    "restic" "openssh" "systemd" "coreutils" "findutils" "gnugrep" "gnused" "bash" "libnotify"
    "age" "rage" "util-linux" "jq" "sudo" "rclone" "lndir" "curl"
  ] stubPkg // {
    runtimeShell = "/nix/store/00000000000000000000000000000000-bash/bin/bash";
    buildPackages = { lndir = stubPkg "lndir"; };
    writeText = name: text: script name text;
    writeTextFile = a: script a.name a.text;
    writeScript = name: text: script name text;
    writeShellScript = name: text: script name text;
    writeShellScriptBin = name: text: scriptBin name text;
    writeShellApplication = a: scriptBin a.name a.text;
    runCommand = name: _: _: stubPkg name;
  };

  loose = mkOption { type = types.attrsOf types.anything; default = { }; };

  stubs = { config, utils, ... }: {
    options = {
      assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
      warnings = mkOption { type = types.listOf types.str; default = [ ]; };
      systemd.services = mkOption { type = utils.systemdUtils.types.services; default = { }; };
      systemd.timers = mkOption { type = utils.systemdUtils.types.timers; default = { }; };
      systemd.package = mkOption { type = types.anything; default = pkgs.systemd; };
      systemd.globalEnvironment = mkOption { type = types.attrsOf types.anything; default = { }; };
      systemd.enableStrictShellChecks = mkOption { type = types.bool; default = false; };
      systemd.tmpfiles = loose;
      systemd.sysusers.enable = mkOption { type = types.bool; default = false; };
      services.userborn.enable = mkOption { type = types.bool; default = false; };
      services.openssh.enable = mkOption { type = types.bool; default = true; };
      services.openssh.hostKeys = mkOption {
        type = types.listOf types.anything;
        default = [ { type = "ed25519"; path = "/etc/ssh/ssh_host_ed25519_key"; } ];
      };
      programs.ssh.package = mkOption { type = types.anything; default = pkgs.openssh; };
      environment.systemPackages = mkOption { type = types.listOf types.anything; default = [ ]; };
      environment.etc = loose;
      users.users = mkOption { type = types.attrsOf types.anything; default = { root = { uid = 0; name = "root"; }; }; };
      users.groups = loose;
      system.activationScripts = loose;
      system.build = mkOption { type = types.lazyAttrsOf types.unspecified; default = { }; };
      i18n = loose;
      boot = loose;
      security = loose;
      networking = loose;
      nixpkgs = loose;
      meta = loose;
    };
  };

  eval = lib.evalModules {
    modules = [
      stubs
      (subset + "/nixos/modules/services/backup/restic.nix")
      (agenix + "/modules/age.nix")
      (/. + modulePath)
      ({ config, ... }: {
        _module.args = {
          inherit pkgs;
          utils = import (subset + "/nixos/lib/utils.nix") { inherit lib config pkgs; };
        };
      })
    ];
  };
  cfg = eval.config;
  utils = import (subset + "/nixos/lib/utils.nix") { inherit lib pkgs; config = cfg; };
  toUnit = utils.systemdUtils.lib.serviceToUnit;
in
{
  failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
  warnings = cfg.warnings;
  secrets = builtins.mapAttrs (n: s: { file = toString s.file; inherit (s) path mode owner group; }) cfg.age.secrets;
  units = builtins.mapAttrs (n: s: (toUnit s).text) cfg.systemd.services;
  execStartPre = builtins.mapAttrs (n: s: s.serviceConfig.ExecStartPre or null) cfg.systemd.services;
  execStopPost = builtins.mapAttrs (n: s: s.serviceConfig.ExecStopPost or null) cfg.systemd.services;
}
