// `systemd-analyze verify` of unit files for tests: systemd's own parser
// over unit texts, with the /nix/store files they name in place under a
// temporary root. Needs only the machine's systemd (Debian: systemd), no
// nixpkgs: the module-system suites verify the units NixOS writes
// (test/support/nixos-eval.ts), the others units written from the module's
// own definitions (test/support/stub-units.ts) or by hand.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A file in the store: its exact text and whether it is executable. */
export interface StoreFile {
  text: string;
  executable: boolean;
}

export interface VerifyResult {
  code: number | null;
  /** verify's output lines that concern the given units (empty when it accepts them). */
  problems: string[];
  output: string;
}

function systemUnitDir(): string {
  for (const d of ["/usr/lib/systemd/system", "/lib/systemd/system"]) if (fs.existsSync(path.join(d, "sysinit.target"))) return d;
  throw new Error("systemd-analyze verify needs the machine's systemd units (Debian: `apt-get install systemd`)");
}

/**
 * Runs `systemd-analyze verify --root=<tmp>` on unit files (name → text).
 *
 * The units name fake store paths (the harness builds nothing). So that
 * verify checks them like on NixOS, every /nix/store path they or the store
 * files mention is created under the temporary root: store files the
 * evaluation produced with their exact text and mode, package executables
 * (`<store>/<hash>-<pkg>/bin/<prog>`) as stand-in `#!/bin/sh` executables.
 * The root also gets the machine's own system units, so dependencies such as
 * network-online.target and timers.target resolve. Then verify loads and
 * checks each unit: syntax, specifiers, ExecStart= parsing and that every
 * command exists and is executable.
 */
export function verifyUnits(units: Record<string, string>, files: Record<string, StoreFile> = {}, extra: Record<string, StoreFile> = {}): VerifyResult {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "systemd-verify-"));
  try {
    fs.mkdirSync(path.join(root, "usr", "lib", "systemd"), { recursive: true });
    const cp = spawnSync("cp", ["-a", systemUnitDir(), path.join(root, "usr", "lib", "systemd", "system")], { encoding: "utf8" });
    if (cp.status !== 0) throw new Error(`cp of the system units failed: ${cp.stderr}`);
    const unitDir = path.join(root, "etc", "systemd", "system");
    fs.mkdirSync(unitDir, { recursive: true });
    for (const [name, text] of Object.entries(units)) fs.writeFileSync(path.join(unitDir, name), text);
    const all = { ...files, ...extra };
    const mentioned = new Set<string>();
    const scan = (t: string) => {
      for (const m of t.matchAll(/\/nix\/store\/[0-9a-z]{32}-[^\s"'`;:)$]+/g)) mentioned.add(m[0]);
    };
    for (const t of Object.values(units)) scan(t);
    for (const f of Object.values(all)) scan(f.text);
    for (const p of Object.keys(all)) mentioned.add(p);
    for (const p of [...mentioned].sort()) {
      const target = path.join(root, p);
      if (fs.existsSync(target)) continue;
      const f = all[p];
      fs.mkdirSync(path.dirname(target), { recursive: true });
      if (f) fs.writeFileSync(target, f.text, { mode: f.executable ? 0o755 : 0o444 });
      else if (/\/bin\/[^/]+$/.test(p)) fs.writeFileSync(target, "#!/bin/sh\n# stand-in for a package executable\nexit 0\n", { mode: 0o755 });
      else fs.mkdirSync(target, { recursive: true });
    }
    const r = spawnSync("systemd-analyze", ["verify", `--root=${root}`, ...Object.keys(units)], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SYSTEMD_LOG_COLOR: "0" } });
    if (r.error) throw new Error(`systemd-analyze is required (Debian: apt-get install systemd): ${r.error.message}`);
    const output = (r.stdout + r.stderr).trim();
    const names = Object.keys(units);
    const problems = output.split("\n").filter((l) => l !== "" && (l.includes(root) || names.some((n) => l.includes(n))));
    return { code: r.status, problems, output };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
