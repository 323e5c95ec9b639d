// A real OpenSSH server on 127.0.0.1 for integration tests, plus a fake NixOS
// root with stub nixos-rebuild / systemctl / journalctl.
//
// Each test suite starts its own sshd (own temp dir, own port, own host key)
// and must call stop() in afterAll. sshd needs root (it switches to the login
// user); CI runs as root, and so must anyone running these tests.

import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { OWNER_RECORD } from "../../lib/host/layout";
import { shellQuote } from "../../lib/host/shell";
import { NIX_INSTANTIATE, makeNixDirs, nixEnvironment } from "./nix-instantiate";
import { hostSwitchEvaluation, nixosEvalAvailability } from "./nixos-eval";
import type { Missing } from "./requires";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Login user (default root). */
  user?: string;
  /** The only key trusted for the server ("ssh-ed25519 AAAA..."); default: the real host key. */
  knownHostKey?: string;
  /** Bytes sent on the command's stdin (as remote.Command's `stdin` input does); default: none. */
  stdin?: string;
}

/** Fails with a clear message unless running as root (never skips). */
export function requireRoot(): void {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    throw new Error(
      "These integration tests start a real sshd and create a sudo test user, so they must run as root " +
        "(CI runs as root). Re-run as root, e.g. `sudo npx jest test/integration`.",
    );
  }
}

function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  }
  return r.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- stubs ------------------------------------------------------------------

/**
 * The stub scripts, with the state directory baked in. State files:
 *   rebuild.calls   one line per nixos-rebuild call (its arguments)
 *   config-dir      the config dir whose configuration.nix the stub nixos-rebuild checks
 *   switch-check    how `switch` checks it (SwitchCheck): "evaluate" in the real NixOS
 *                   module system (test/support/nixos-eval.ts), or "parse" only
 *   switch.checked  one line per file a switch checked: "evaluate <file>" / "parse <file>"
 *   no-agenix       flag: the host's configuration does not provide agenix (evaluate)
 *   fail-switch     flag: `switch` prints some lines and fails
 *   fail-switch-after-profile  flag: like fail-switch, after making a new generation
 *   timer-inactive  flag: `systemctl is-active` says inactive
 *   fail-start      flag: `systemctl start` fails
 *   systemctl.calls / journalctl.calls  call logs
 *   profiles/system symlink to system-N-link: the fake system profile
 *   capture-ps      flag: nixos-rebuild writes the process list (ps -e -o args) to ps.txt
 *   verify-exit     exit code of the stub restic-b2-verify-<name> (default 0)
 *   verify.calls    one line per restic-b2-verify-<name> call
 */
function stubScripts(state: string, evaluate: boolean): Record<string, string> {
  const q = shellQuote(state);
  const newGeneration = `
  cur=$(readlink "$st/profiles/system")
  n=\${cur#system-}; n=\${n%-link}
  n=$((n + 1))
  : > "$st/profiles/system-$n-link"
  ln -sfn "system-$n-link" "$st/profiles/system"`;
  return {
    "nixos-rebuild": `#!/bin/sh
st=${q}
printf '%s\\n' "$*" >> "$st/rebuild.calls"
if [ -e "$st/capture-ps" ]; then ps -e -o args > "$st/ps.txt" 2>&1; fi
case "$*" in
"switch --rollback")
  cur=$(readlink "$st/profiles/system")
  n=\${cur#system-}; n=\${n%-link}
  ln -sfn "system-$((n - 1))-link" "$st/profiles/system"
  echo "stub: rolled back to generation $((n - 1))"
  exit 0 ;;
switch) ;;
*) echo "stub nixos-rebuild: unsupported: $*" >&2; exit 2 ;;
esac
echo "building the system configuration..."
cfg=$(cat "$st/config-dir")
${switchCheck(state, evaluate)}
if [ -e "$st/fail-switch-after-profile" ]; then
  ${newGeneration}
  echo "activating the configuration..."
  echo "stub-activation-error: unit restic-backups-x.service could not start"
  exit 4
fi
if [ -e "$st/fail-switch" ]; then
  i=1
  while [ $i -le 40 ]; do echo "stub-build-log line $i"; i=$((i + 1)); done
  echo "error: stub-evaluation-failure: attribute 'restic' missing"
  exit 1
fi
${newGeneration}
echo "activating the configuration..."
exit 0
`,
    systemctl: `#!/bin/sh
st=${q}
printf '%s\\n' "$*" >> "$st/systemctl.calls"
case "$1" in
is-active)
  if [ -e "$st/timer-inactive" ]; then echo inactive; exit 3; fi
  echo active; exit 0 ;;
start)
  if [ -e "$st/fail-start" ]; then
    echo "Job for $2 failed because the control process exited with error code." >&2
    exit 1
  fi
  exit 0 ;;
*) exit 0 ;;
esac
`,
    [VERIFY_STUB]: verifyStub(state),
    journalctl: `#!/bin/sh
st=${q}
printf '%s\\n' "$*" >> "$st/journalctl.calls"
echo "stub-journal: restic[123]: Fatal: unable to open config file: B2 bucket not found"
echo "stub-journal: systemd[1]: restic-backups.service: Failed with result 'exit-code'."
`,
  };
}

/**
 * How the stub `nixos-rebuild switch` checks the host's configuration before
 * it "activates" it:
 *   evaluate  configuration.nix, with everything it imports, in the real NixOS
 *             module system, as a real switch does (needs nixpkgs and agenix:
 *             nixosEvalAvailability); a module NixOS rejects fails the switch;
 *   parse     the fallback without them: `nix-instantiate --parse` of
 *             configuration.nix and of the installed restic-b2/module.nix, so
 *             a file that is not Nix fails the switch, but nothing is evaluated.
 */
export type SwitchCheck = "evaluate" | "parse";

/** The shell text of the check: a `case` on the state file switch-check. */
function switchCheck(state: string, evaluate: boolean): string {
  const nixDir = path.join(state, "nix-parse");
  const env = Object.entries({ PATH: process.env.PATH ?? "/usr/bin:/bin", ...nixEnvironment(nixDir) })
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join(" ");
  const parse = `for f in "$cfg/configuration.nix" "$cfg/restic-b2/module.nix"; do
  if [ "$f" != "$cfg/configuration.nix" ] && [ ! -e "$f" ]; then continue; fi
  printf 'parse %s\n' "$f" >> "$st/switch.checked"
  if ! env -i ${env} ${shellQuote(NIX_INSTANTIATE)} --readonly-mode --parse "$f" > /dev/null 2> "$st/parse.err"; then
    cat "$st/parse.err"
    exit 1
  fi
done`;
  // Without the module system there is no evaluation branch: "evaluate" then fails loudly.
  const evaluation = evaluate
    ? `printf 'evaluate %s\n' "$cfg/configuration.nix" >> "$st/switch.checked"
${hostSwitchEvaluation(state)}`
    : `echo "stub nixos-rebuild: switch-check is evaluate, but this fake host was set up without the NixOS module system" >&2
exit 2`;
  return `case $(cat "$st/switch-check") in
evaluate)
${evaluation}
  ;;
*)
${parse}
  ;;
esac`;
}

let parseOnlyAnnounced = false;

/** The one line saying that the fake host's switch only parses (once per test file). */
function announceParseOnlySwitch(why: Missing): void {
  if (parseOnlyAnnounced) return;
  parseOnlyAnnounced = true;
  process.stderr.write(
    `fake NixOS host: its nixos-rebuild switch only parses configuration.nix and restic-b2/module.nix (nix-instantiate --parse), ` +
      `without the NixOS module system: ${why.missing}; to evaluate them: ${why.install}\n`,
  );
}

/** Name of the stub deploy-time credentials check installed by default (backup name "daily"). */
const VERIFY_STUB = "restic-b2-verify-daily";

/**
 * A stub restic-b2-verify-<name> (the NixOS module installs the real one): it
 * exits with the code in the state file verify-exit (default 0), printing a
 * line like the real check's for that code.
 */
function verifyStub(state: string): string {
  return `#!/bin/sh
st=${shellQuote(state)}
printf '%s\\n' "\${0##*/} $*" >> "$st/verify.calls"
code=0
if [ -s "$st/verify-exit" ]; then code=$(cat "$st/verify-exit"); fi
case $code in
0) echo "stub-verify: repository opens" ;;
10) echo "stub-verify: repository does not exist yet" ;;
12) echo "stub-verify: wrong password"; echo "Fatal: wrong password or no key found" ;;
13) echo "stub-verify: access denied"; echo "Fatal: unable to open repository: b2_authorize_account: 401: unauthorized" ;;
20) echo "stub-verify: repository unreachable" ;;
*) echo "stub-verify: unexpected failure $code" ;;
esac
exit "$code"
`;
}

const DEFAULT_CONFIGURATION_NIX = `# Edit this configuration file to define what should be installed on
# your system.  Help is available in the configuration.nix(5) man page
# and in the NixOS manual (accessible by running 'nixos-help').

{ config, pkgs, ... }:

{
  imports =
    [ # Include the results of the hardware scan.
      ./hardware-configuration.nix
    ];

  # Use the systemd-boot EFI boot loader.
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "nixos"; # Define your hostname.

  services.openssh.enable = true;

  system.stateVersion = "24.11"; # Did you read the comment?
}
`;

const DEFAULT_HARDWARE_NIX = `# Do not modify this file!  It was generated by 'nixos-generate-config'.
{ config, lib, pkgs, modulesPath, ... }:

{
  imports = [ (modulesPath + "/installer/scan/not-detected.nix") ];
  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
}
`;

// ---- tree snapshots ---------------------------------------------------------

export interface TreeEntry {
  path: string;
  type: "dir" | "file" | "symlink";
  mode: string;
  uid: number;
  gid: number;
  /** file: base64 of the bytes; symlink: the link target; dir: "". */
  content: string;
}

/** Every path under dir (sorted), with type, permission bits, owner and exact bytes. */
export function snapshotTree(dir: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const walk = (rel: string) => {
    const abs = rel === "" ? dir : path.join(dir, rel);
    const st = fs.lstatSync(abs);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
    if (st.isSymbolicLink()) {
      out.push({ path: rel, type: "symlink", mode, uid: st.uid, gid: st.gid, content: fs.readlinkSync(abs) });
    } else if (st.isDirectory()) {
      out.push({ path: rel, type: "dir", mode, uid: st.uid, gid: st.gid, content: "" });
      for (const name of fs.readdirSync(abs).sort()) walk(rel === "" ? name : path.join(rel, name));
    } else {
      out.push({ path: rel, type: "file", mode, uid: st.uid, gid: st.gid, content: fs.readFileSync(abs).toString("base64") });
    }
  };
  walk("");
  return out;
}

// ---- sudo test user ---------------------------------------------------------

/**
 * The environment variable that moves the host script's owner record
 * (lib/host/layout.ts OWNER_RECORD) into the fake root: every session of the
 * test sshd has it (SetEnv), and sudo keeps it for the test user.
 */
export const OWNER_RECORD_ENV = "RESTIC_B2_OWNER_RECORD";

export const SUDO_USER = "restic-b2-test";

/**
 * Makes sure a non-root login user with passwordless sudo exists, for the
 * "SSH user is not root" path. Created when missing (`useradd -m`); its
 * password field is set to "*" because sshd without PAM refuses accounts that
 * are locked with "!". The sudoers entry turns secure_path off for this user,
 * so sudo keeps the session's PATH (the sshd's SetEnv puts this run's stub bin
 * dir first, and that is how the script finds the stub nixos-rebuild). Each
 * test process writes its own entry (/etc/sudoers.d/restic-b2-test-<pid>) and
 * removes only that one, so suites running at the same time (other worktrees
 * on the same machine) do not take each other's sudo away. The file is
 * checked with `visudo -cf` before it is renamed into place, so a bad entry
 * can never break sudo for the machine.
 */
export function ensureSudoUser(stubBin: string, user: string = SUDO_USER): string {
  requireRoot();
  if (!fs.existsSync(stubBin)) throw new Error(`ensureSudoUser: no stub bin dir ${stubBin}`);
  if (spawnSync("id", ["-u", user]).status !== 0) {
    sh("useradd", ["-m", "-s", "/bin/sh", user]);
  }
  sh("usermod", ["-p", "*", user]);
  const entry =
    `# nixos-restic-b2 integration tests (test/support/sshd.ts): passwordless sudo for the test user\n` +
    `Defaults:${user} !secure_path\n` +
    `Defaults:${user} env_keep += "${OWNER_RECORD_ENV}"\n` +
    `${user} ALL=(ALL) NOPASSWD: ALL\n`;
  const target = sudoEntryPath(user);
  const tmp = `/etc/sudoers.d/.${user}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, entry, { mode: 0o440 });
  try {
    sh("visudo", ["-cf", tmp]);
    fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return user;
}

/** This process's sudoers entry for `user` (sudo reads files in sudoers.d whose names have no "."). */
function sudoEntryPath(user: string): string {
  return `/etc/sudoers.d/${user}-${process.pid}`;
}

/** Removes this process's sudoers entry again (the account stays: it has no password and no keys outside the tests). */
export function removeSudoEntry(user: string = SUDO_USER): void {
  fs.rmSync(sudoEntryPath(user), { force: true });
}

// ---- the server -------------------------------------------------------------

export class TestSshd {
  /** Temp dir holding everything of this server. */
  readonly dir: string;
  /** The fake NixOS root: <dir>/root with etc/nixos/{configuration,hardware-configuration}.nix. */
  readonly root: string;
  readonly configDir: string;
  readonly stubBin: string;
  /** Stub state (outside the fake root, so snapshots of the root are unaffected). */
  readonly state: string;
  /** The fake system profile symlink, for HostCommandParams.systemProfile. */
  readonly systemProfile: string;
  /** The host script's owner record, inside the fake root (OWNER_RECORD_ENV). */
  readonly ownerRecord: string;
  readonly hostKey: string;
  readonly hostPubKey: string;
  readonly clientKey: string;
  port = 0;
  /** Whether the stub switch can evaluate (nixpkgs and agenix were found); otherwise it only parses. */
  readonly canEvaluate: boolean;
  private readonly noModuleSystem?: Missing;
  private proc?: ChildProcess;
  private log = "";

  private constructor() {
    requireRoot();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-sshd-"));
    // sshd reads the authorized keys as the login user: the tree must be traversable.
    fs.chmodSync(this.dir, 0o755);
    this.root = path.join(this.dir, "root");
    this.configDir = path.join(this.root, "etc", "nixos");
    this.stubBin = path.join(this.dir, "bin");
    this.state = path.join(this.dir, "state");
    this.systemProfile = path.join(this.state, "profiles", "system");
    this.ownerRecord = path.join(this.root, OWNER_RECORD);
    this.hostKey = path.join(this.dir, "ssh_host_ed25519_key");
    this.hostPubKey = this.hostKey + ".pub";
    this.clientKey = path.join(this.dir, "client_ed25519_key");
    try {
      // A broken NIXOS_EVAL_* setting throws here: the suite fails, it does not fall back.
      this.noModuleSystem = nixosEvalAvailability();
    } catch (e) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      throw e;
    }
    this.canEvaluate = this.noModuleSystem === undefined;
  }

  static async start(): Promise<TestSshd> {
    const s = new TestSshd();
    try {
      s.setUp();
      await s.launch();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  private setUp(): void {
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "restic-b2-test-host", "-f", this.hostKey]);
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "restic-b2-test-client", "-f", this.clientKey]);
    const keys = path.join(this.dir, "keys");
    fs.mkdirSync(keys, { mode: 0o755 });
    const pub = fs.readFileSync(this.clientKey + ".pub", "utf8");
    for (const user of ["root", SUDO_USER]) fs.writeFileSync(path.join(keys, user), pub, { mode: 0o644 });

    fs.mkdirSync(this.configDir, { recursive: true, mode: 0o755 });
    this.resetRoot();

    fs.mkdirSync(path.join(this.state, "profiles"), { recursive: true });
    fs.writeFileSync(path.join(this.state, "profiles", "system-1-link"), "");
    fs.symlinkSync("system-1-link", this.systemProfile);
    this.setConfigDir(this.configDir);
    makeNixDirs(path.join(this.state, "nix-parse"));
    if (this.noModuleSystem) announceParseOnlySwitch(this.noModuleSystem);
    this.setSwitchCheck(this.canEvaluate ? "evaluate" : "parse");

    fs.mkdirSync(this.stubBin, { mode: 0o755 });
    for (const [name, text] of Object.entries(stubScripts(this.state, this.canEvaluate))) {
      fs.writeFileSync(path.join(this.stubBin, name), text, { mode: 0o755 });
    }

    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  }

  /** Puts the default etc/nixos and an empty var/lib back and removes anything else from the fake root. */
  resetRoot(): void {
    for (const name of fs.readdirSync(this.root)) {
      if (name !== "etc") fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
    }
    fs.rmSync(this.configDir, { recursive: true, force: true });
    fs.mkdirSync(this.configDir, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(this.configDir, "configuration.nix"), DEFAULT_CONFIGURATION_NIX, { mode: 0o644 });
    fs.writeFileSync(path.join(this.configDir, "hardware-configuration.nix"), DEFAULT_HARDWARE_NIX, { mode: 0o644 });
    // Where the owner record's directory goes, as on every NixOS host.
    fs.mkdirSync(path.dirname(path.dirname(this.ownerRecord)), { recursive: true, mode: 0o755 });
    fs.chmodSync(path.join(this.root, "var"), 0o755);
    fs.chmodSync(path.dirname(path.dirname(this.ownerRecord)), 0o755);
  }

  /** Writes a default NixOS config into another directory (e.g. one with a hostile name). */
  writeDefaultConfig(dir: string): void {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(dir, "configuration.nix"), DEFAULT_CONFIGURATION_NIX, { mode: 0o644 });
    fs.writeFileSync(path.join(dir, "hardware-configuration.nix"), DEFAULT_HARDWARE_NIX, { mode: 0o644 });
  }

  /** Which config dir the stub nixos-rebuild checks. */
  setConfigDir(dir: string): void {
    fs.writeFileSync(path.join(this.state, "config-dir"), dir);
  }

  /**
   * How the stub switch checks the configuration (SwitchCheck). A new server
   * evaluates when it can (canEvaluate) and parses otherwise; "evaluate"
   * without the module system throws.
   */
  setSwitchCheck(mode: SwitchCheck): void {
    if (mode === "evaluate" && !this.canEvaluate) {
      throw new Error(`the stub switch cannot evaluate on this machine: ${this.noModuleSystem!.missing}`);
    }
    fs.writeFileSync(path.join(this.state, "switch-check"), mode);
  }

  /** Sets or clears a stub flag file (fail-switch, fail-switch-after-profile, timer-inactive, fail-start). */
  flag(name: string, on: boolean): void {
    const p = path.join(this.state, name);
    if (on) fs.writeFileSync(p, "");
    else fs.rmSync(p, { force: true });
  }

  /** Lines the stub nixos-rebuild logged (one per call: its arguments). */
  rebuildCalls(): string[] {
    return this.callLog("rebuild.calls");
  }

  callLog(file: string): string[] {
    const p = path.join(this.state, file);
    if (!fs.existsSync(p)) return [];
    return fs.readFileSync(p, "utf8").split("\n").filter((l) => l !== "");
  }

  /**
   * Puts `sh` → /bin/bash first on the session PATH (bash then runs in POSIX
   * mode, as /bin/sh does on NixOS), or removes it (the system sh, e.g. dash).
   */
  useBashAsSh(on: boolean): void {
    const link = path.join(this.stubBin, "sh");
    fs.rmSync(link, { force: true });
    if (on) fs.symlinkSync("/bin/bash", link);
  }

  /** Sets the exit code of the stub restic-b2-verify-<name> (undefined: back to 0). */
  setVerifyExit(code: number | undefined): void {
    const p = path.join(this.state, "verify-exit");
    if (code === undefined) fs.rmSync(p, { force: true });
    else fs.writeFileSync(p, String(code));
  }

  /** Installs or removes the stub restic-b2-verify-<name> (as if the module had or had not installed it). */
  setVerifyStub(present: boolean, backupName = "daily"): void {
    const p = path.join(this.stubBin, `restic-b2-verify-${backupName}`);
    if (present) fs.writeFileSync(p, verifyStub(this.state), { mode: 0o755 });
    else fs.rmSync(p, { force: true });
  }

  profileTarget(): string {
    return fs.readlinkSync(this.systemProfile);
  }

  private async launch(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort();
      const config = path.join(this.dir, "sshd_config");
      fs.writeFileSync(
        config,
        [
          `ListenAddress 127.0.0.1`,
          `Port ${this.port}`,
          `HostKey ${this.hostKey}`,
          `PidFile ${path.join(this.dir, "sshd.pid")}`,
          `UsePAM no`,
          `StrictModes no`,
          `AuthorizedKeysFile ${path.join(this.dir, "keys")}/%u`,
          `PermitRootLogin prohibit-password`,
          `PasswordAuthentication no`,
          `KbdInteractiveAuthentication no`,
          `SetEnv PATH=${this.stubBin}:/usr/bin:/bin ${OWNER_RECORD_ENV}=${this.ownerRecord}`,
          ``,
        ].join("\n"),
      );
      this.log = "";
      const proc = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
      this.proc = proc;
      proc.stderr!.on("data", (d) => (this.log += d.toString()));
      let exited = false;
      proc.once("exit", () => (exited = true));
      const deadline = Date.now() + 10_000;
      while (!exited && Date.now() < deadline) {
        if (await canConnect(this.port)) return;
        await sleep(50);
      }
      if (!exited) {
        await this.stop();
        throw new Error(`sshd did not start listening on port ${this.port}:\n${this.log}`);
      }
      if (!/Address already in use/.test(this.log)) {
        throw new Error(`sshd exited at start:\n${this.log}`);
      }
      // Port race with another process: try another port.
    }
    throw new Error(`sshd could not find a free port:\n${this.log}`);
  }

  /** What sshd logged so far (LogLevel INFO on stderr): e.g. one "Accepted publickey" line per authenticated session. */
  serverLog(): string {
    return this.log;
  }

  /** "ssh-ed25519 AAAA..." of this server's host key. */
  hostPublicKey(): string {
    return fs.readFileSync(this.hostPubKey, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  }

  /** Runs one command over SSH with the system ssh client, trusting only the pinned host key. */
  run(command: string, opts: RunOptions = {}): Promise<RunResult> {
    const user = opts.user ?? "root";
    const known = fs.mkdtempSync(path.join(this.dir, "known-"));
    const knownFile = path.join(known, "known_hosts");
    fs.writeFileSync(knownFile, `[127.0.0.1]:${this.port} ${opts.knownHostKey ?? this.hostPublicKey()}\n`);
    const args = [
      "-F", "none",
      "-p", String(this.port),
      "-i", this.clientKey,
      "-o", "IdentitiesOnly=yes",
      "-o", "BatchMode=yes",
      "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${knownFile}`,
      "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "LogLevel=ERROR",
      "-o", "ConnectTimeout=10",
      "-l", user,
      "127.0.0.1",
      "--",
      command,
    ];
    return new Promise((resolve, reject) => {
      const p = spawn("ssh", args, { stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
      if (opts.stdin !== undefined) {
        p.stdin!.on("error", () => undefined); // the remote side may stop reading early
        p.stdin!.end(opts.stdin);
      }
      let stdout = "";
      let stderr = "";
      p.stdout!.on("data", (d) => (stdout += d.toString()));
      p.stderr!.on("data", (d) => (stderr += d.toString()));
      p.on("error", reject);
      p.on("close", (code) => {
        fs.rmSync(known, { recursive: true, force: true });
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  /**
   * Moves sshd to another free port on the same fake root, as an admin who
   * moves a machine's sshd does: the old port stops listening before the new
   * one opens. The server log starts over. Returns the new port.
   */
  async movePort(): Promise<number> {
    const old = this.port;
    await this.stopProcess();
    for (;;) {
      await this.launch();
      if (this.port !== old) return this.port;
      await this.stopProcess();
    }
  }

  /** Stops sshd (SIGTERM, then SIGKILL) and removes the temp dir. Safe to call twice. */
  async stop(): Promise<void> {
    await this.stopProcess();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async stopProcess(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((r) => proc.once("exit", () => r()));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await gone;
      clearTimeout(timer);
    }
  }
}
