# The NixOS module-system harness (test material, not part of the program).
#
# Evaluates modules with the real NixOS module system (nixpkgs lib/), the real
# systemd unit types and the real restic module, plus agenix's real
# modules/age.nix, and returns what NixOS would write: the unit file texts of
# every systemd service and timer, age.secrets, failed assertions and
# warnings. Everything else of NixOS is a stub (see `stubs` below); nothing is
# built or fetched. Called by test/support/nixos-eval.ts and by the fake
# host's stub `nixos-rebuild switch` (test/support/sshd.ts) with
#   nix-instantiate --readonly-mode --eval --strict --json <this file> --argstr argsJson '<json>'
#     [--argstr configuration <file>] [--argstr importAgenix false]
#
# argsJson fields:
#   nixpkgs       directory with lib/, nixos/lib/ and nixos/modules/services/backup/restic.nix
#   agenix        directory with modules/age.nix
#   modules       module files to evaluate (the module under test, or a host's configuration.nix)
#   importAgenix  import agenix's age.nix (as a host whose configuration provides it does)
#   hostMode      true: evaluate a whole host configuration (options this harness does not
#                 declare are accepted freely, as the rest of NixOS would declare them) and
#                 fail like nixos-rebuild on failed assertions; false: only the declared stubs
#                 exist, so a typo in any option path of the module under test is an error
#   opensshEnable services.openssh.enable in the harness's own host module (null: not set)
#   storeDir      the store directory fake store paths live in (default /nix/store)
#   agenixUrls    URLs builtins.fetchTarball resolves to the local agenix directory
#   modulesPath   directory given to modules as `modulesPath`
#
# Store files: the stub pkgs writers (writeText, writeShellScript, ...) return
# fake store paths; each one is reported once on stderr as a line
#   trace: NIXOS_EVAL_FILE {"path":...,"text":...,"executable":...}
# when NixOS first uses its path, so the caller gets every file's exact bytes.
{
  argsJson,
  # A module file given on its own (any bytes in the path; the fake host's
  # configuration.nix), evaluated after args.modules.
  configuration ? null,
  # "false": do not import agenix (overrides args.importAgenix).
  importAgenix ? null,
}:
let
  args = builtins.fromJSON argsJson;
  storeDir = args.storeDir or "/nix/store";
  hostMode = args.hostMode or false;
  lib = import (args.nixpkgs + "/lib");
  inherit (lib) mkOption types;

  # ---- loading files: builtins.fetchTarball works offline for agenix only ----
  agenixUrls = args.agenixUrls or [ ];
  fakeBuiltins = builtins // {
    fetchTarball =
      a:
      let
        url = if builtins.isString a then a else a.url;
      in
      if builtins.elem url agenixUrls then
        args.agenix
      else
        throw "nixos-eval: offline, cannot fetch ${url} (only the pinned agenix URLs are available)";
  };
  isPathLike = m: builtins.isPath m || (builtins.isString m && builtins.substring 0 1 m == "/");
  # Every module file is imported with the fetchTarball above, and so are the
  # files it imports. `key` keeps evalModules' de-duplication by file.
  loadFile =
    file:
    let
      f = scopedImport { builtins = fakeBuiltins; } file;
      fixImports = m: if m ? imports then m // { imports = map load m.imports; } else m;
    in
    {
      _file = toString file;
      key = toString file;
      imports = [
        (if builtins.isFunction f then lib.setFunctionArgs (a: fixImports (f a)) (builtins.functionArgs f) else fixImports f)
      ];
    };
  load = m: if isPathLike m then loadFile m else m;

  # ---- stub pkgs: derivation-shaped attrsets, never `derivation` ----
  hashOf = s: builtins.substring 0 32 (builtins.hashString "sha256" s);
  report =
    path: text: executable:
    builtins.trace ("NIXOS_EVAL_FILE " + builtins.toJSON { inherit path text executable; }) path;
  mkDrv =
    {
      name,
      mainProgram ? lib.getName name,
      outPath ? "${storeDir}/${hashOf name}-${name}",
      extra ? { },
    }:
    let
      self = {
        type = "derivation";
        inherit name outPath;
        outputs = [ "out" ];
        out = self;
        outputName = "out";
        meta = { inherit mainProgram; };
        drvPath = "${storeDir}/${hashOf ("drv" + name)}-${name}.drv";
        overrideAttrs = f: mkDrv {
          name = (f { }).name or name;
          inherit mainProgram outPath extra;
        };
        override = _: self;
        passthru = { };
        version = "0";
        pname = lib.getName name;
      } // extra;
    in
    self;
  pkg = name: mkDrv { name = "${name}-stub"; mainProgram = name; };
  # A store file with known text; `destination` as in writeTextFile.
  fileDrv =
    {
      name,
      text,
      executable ? false,
      destination ? "",
      mainProgram ? name,
    }:
    let
      base = "${storeDir}/${hashOf (name + "\n" + destination + "\n" + text)}-${name}";
    in
    mkDrv {
      inherit name mainProgram;
      outPath =
        if destination == "" then report base text executable else builtins.seq (report (base + destination) text executable) base;
      extra = { inherit text; };
    };
  bash = pkg "bash";
  runtimeShell = "${bash}/bin/bash";
  pkgNames = [
    "restic" "openssh" "systemd" "coreutils" "findutils" "gnugrep" "gnused" "bash" "libnotify" "age" "rage"
    "util-linux" "jq" "sudo" "rclone" "lndir" "mount" "curl" "gawk" "gzip" "gnutar" "procps" "iproute2" "nix"
    "shadow" "getent" "glibc" "kmod" "git" "vim" "nano" "hostname" "diffutils" "less" "which" "openssl" "python3"
  ];
  pkgs =
    lib.genAttrs pkgNames pkg
    // {
      inherit bash runtimeShell lib;
      systemd = pkg "systemd" // { withSysusers = true; };
      buildPackages = pkgs;
      stdenv = { hostPlatform = { system = "x86_64-linux"; isLinux = true; isDarwin = false; }; isLinux = true; isDarwin = false; };
      writeText = name: text: fileDrv { inherit name text; };
      writeScript = name: text: fileDrv { inherit name text; executable = true; };
      writeShellScript = name: text: fileDrv { inherit name; executable = true; text = "#!${runtimeShell}\n" + text; };
      writeShellScriptBin =
        name: text:
        fileDrv { inherit name; executable = true; destination = "/bin/${name}"; text = "#!${runtimeShell}\n" + text; };
      writeShellApplication =
        { name, text, runtimeInputs ? [ ], ... }:
        fileDrv {
          inherit name;
          executable = true;
          destination = "/bin/${name}";
          text = "#!${runtimeShell}\nset -o errexit\nset -o nounset\nset -o pipefail\n"
            + lib.optionalString (runtimeInputs != [ ]) "export PATH=\"${lib.makeBinPath runtimeInputs}:$PATH\"\n" + text;
        };
      writeTextFile =
        { name, text, executable ? false, destination ? "", ... }: fileDrv { inherit name text executable destination; };
      runCommand = name: _env: _script: mkDrv { inherit name; };
      runCommandLocal = name: _env: _script: mkDrv { inherit name; };
      symlinkJoin = { name, ... }: mkDrv { inherit name; };
    };

  loose = mkOption { type = types.lazyAttrsOf types.anything; default = { }; };
  looseList = mkOption { type = types.listOf types.anything; default = [ ]; };

  # ---- declarations the restic, agenix and generated modules use ----
  stubs =
    { config, options, ... }:
    let
      utils = import (args.nixpkgs + "/nixos/lib/utils.nix") { inherit lib config pkgs; };
    in
    {
      options = {
        assertions = mkOption { type = types.listOf types.unspecified; default = [ ]; };
        warnings = mkOption { type = types.listOf types.str; default = [ ]; };
        systemd = {
          package = mkOption { type = types.package; default = pkgs.systemd; };
          globalEnvironment = mkOption { type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ])); default = { }; };
          enableStrictShellChecks = mkOption { type = types.bool; default = false; };
          services = mkOption { type = utils.systemdUtils.types.services; default = { }; };
          timers = mkOption { type = utils.systemdUtils.types.timers; default = { }; };
          tmpfiles = loose;
          sysusers.enable = mkOption { type = types.bool; default = false; };
          user = loose;
          targets = loose;
          sockets = loose;
          paths = loose;
          mounts = looseList;
          packages = looseList;
        };
        services = {
          userborn.enable = mkOption { type = types.bool; default = false; };
          openssh = {
            enable = mkOption { type = types.bool; default = false; };
            hostKeys = mkOption {
              type = types.listOf types.attrs;
              default = [
                { type = "rsa"; bits = 4096; path = "/etc/ssh/ssh_host_rsa_key"; }
                { type = "ed25519"; path = "/etc/ssh/ssh_host_ed25519_key"; }
              ];
            };
          };
        };
        programs.ssh.package = mkOption { type = types.package; default = pkgs.openssh; };
        environment = {
          systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
          etc = loose;
          variables = loose;
          shellAliases = loose;
        };
        users = {
          users = mkOption {
            type = types.attrsOf (types.submodule ({ name, ... }: { freeformType = types.attrsOf types.anything; options.name = mkOption { type = types.str; default = name; }; options.group = mkOption { type = types.str; default = ""; }; }));
            default = { };
          };
          groups = loose;
          mutableUsers = mkOption { type = types.bool; default = true; };
        };
        system = {
          activationScripts = mkOption {
            type = types.attrsOf (types.either types.str (types.submodule {
              options.deps = mkOption { type = types.listOf types.str; default = [ ]; };
              options.text = mkOption { type = types.lines; };
              options.supportsDryActivation = mkOption { type = types.bool; default = false; };
            }));
            default = { };
          };
          stateVersion = mkOption { type = types.str; default = "26.05"; };
          # As in NixOS (nixos/modules/system/activation/top-level.nix): build
          # products by name, lazily typed (the monitoring script lives here).
          build = mkOption { type = types.lazyAttrsOf types.unspecified; default = { }; };
        };
        i18n.defaultLocale = mkOption { type = types.str; default = "en_US.UTF-8"; };
        boot = loose;
        security = loose;
        networking = loose;
        nixpkgs = loose;
        meta = loose;
      };
      config = {
        _module.args = { inherit pkgs utils; };
        users.users.root = { uid = 0; group = "root"; home = "/root"; };
        users.groups.root.gid = 0;
      };
    };

  hostModule = lib.optionalAttrs ((args.opensshEnable or null) != null) {
    services.openssh.enable = args.opensshEnable;
  };

  withAgenix = if importAgenix != null then importAgenix != "false" else args.importAgenix or true;
  evaluated = lib.evalModules {
    # As in NixOS: modulesPath is known before any config (imports use it).
    specialArgs.modulesPath = args.modulesPath;
    modules =
      [ stubs hostModule (args.nixpkgs + "/nixos/modules/services/backup/restic.nix") ]
      # The rest of NixOS would declare every other option a host sets.
      ++ lib.optional hostMode { _module.freeformType = types.lazyAttrsOf types.anything; }
      ++ lib.optional withAgenix (loadFile (args.agenix + "/modules/age.nix"))
      ++ map loadFile (args.modules ++ lib.optional (configuration != null) configuration);
  };
  config = evaluated.config;
  inherit (utils0.systemdUtils.lib) serviceToUnit timerToUnit;
  utils0 = import (args.nixpkgs + "/nixos/lib/utils.nix") { inherit lib config pkgs; };

  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  units = {
    services = lib.mapAttrs (n: s: (serviceToUnit s).text) (lib.filterAttrs (_: s: s.enable) config.systemd.services);
    timers = lib.mapAttrs (n: t: (timerToUnit t).text) (lib.filterAttrs (_: t: t.enable) config.systemd.timers);
  };
  result = units // {
    inherit failedAssertions;
    warnings = config.warnings;
    ageSecrets = lib.mapAttrs (n: s: {
      inherit (s) name path mode owner group symlink;
      # toString: forcing a path would copy the .age file into a store.
      file = toString s.file;
    }) (config.age.secrets or { });
    identityPaths = map toString (config.age.identityPaths or [ ]);
    systemPackages = map (p: p.name or (toString p)) config.environment.systemPackages;
    systemPackagePaths = map toString config.environment.systemPackages;
    restic = lib.mapAttrs (n: b: {
      inherit (b) paths exclude pruneOpts extraBackupArgs checkOpts runCheck initialize timerConfig
        passwordFile environmentFile repositoryFile repository user;
    }) config.services.restic.backups;
  };
  # In host mode the freeform type accepts undeclared options, so `age.*`
  # without the agenix module (imported neither by the harness nor by the
  # host's configuration) would pass silently; NixOS refuses it.
  agenixCheck =
    if hostMode && !(evaluated.options ? age) && config ? age then
      throw "The option `age' does not exist. Definition values: age.secrets is set, but the host's configuration does not import the agenix module (agenixModule: provided needs it)."
    else
      true;
in
builtins.seq agenixCheck (
if hostMode && failedAssertions != [ ] then
  # What nixos-rebuild prints for failed assertions (nixos/modules/misc/assertions.nix).
  throw "\nFailed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failedAssertions}"
else if hostMode then
  builtins.deepSeq result (lib.foldr (w: r: builtins.trace "warning: ${w}" r) { ok = true; inherit (result) services timers; } config.warnings)
else
  result
)
