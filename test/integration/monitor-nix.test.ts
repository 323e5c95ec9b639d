// The monitoring section of the generated module, evaluated by nix-instantiate
// with the real NixOS module system, the real restic module and agenix
// (../shared/nixos-eval sources): heartbeat only, ntfy only, both, neither.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { BackupConfig, MonitoringFlags } from "../../lib/config/types";
import { MONITOR_SCRIPT, monitorHooks, renderModule, renderMonitoring } from "../../lib/nix";
import { NixSandbox } from "../support/nix-instantiate";
import { defaultBackup, fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { sharedPath } from "../support/shared";

const HARNESS = resolve(__dirname, "../support/monitor-nixos-eval.nix");
const STORE = "/nix/store/00000000000000000000000000000000";
const SERVICE = "restic-backups-daily";

interface Evaluated {
  failedAssertions: string[];
  warnings: string[];
  secrets: Record<string, { file: string; path: string; mode: string; owner: string; group: string }>;
  units: Record<string, string>;
  execStartPre: Record<string, string[] | string | null>;
  execStopPost: Record<string, string[] | string | null>;
}

let nix: NixSandbox;
let subset: string;
let agenix: string;
let n = 0;

beforeAll(() => {
  nix = new NixSandbox("monitor-nix-");
  const src = join(nix.dir, "src");
  mkdirSync(src);
  for (const t of ["nixpkgs-subset-7beb50e.tar.gz", "agenix-b027ee2.tar.gz"]) {
    const r = spawnSync("tar", ["-xzf", nixosEvalArchive(t), "-C", src], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cannot extract ${t}: ${r.stderr}`);
  }
  subset = join(src, "nixpkgs-subset-7beb50e");
  agenix = join(src, "agenix-b027ee2");
});

afterAll(() => nix?.cleanup());

/** ../shared/nixos-eval beside the checkout (or beside the worktree directory one level up). */
function nixosEvalArchive(name: string): string {
  const candidates = [sharedPath("nixos-eval", name), join(dirname(dirname(sharedPath())), "shared", "nixos-eval", name)];
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) throw new Error(`${name} not found in ${candidates.join(" or ")}`);
  return found;
}

function withMonitoring(b: BackupConfig, m: MonitoringFlags | undefined): BackupConfig {
  return m === undefined ? b : { ...b, monitoring: m };
}

function evaluate(text: string): Evaluated {
  const dir = join(nix.dir, `m${n++}`);
  mkdirSync(join(dir, "secrets"), { recursive: true });
  for (const f of ["env", "repo", "password", "healthcheck", "ntfy-url", "ntfy-token"]) {
    writeFileSync(join(dir, "secrets", `${f}.age`), `ciphertext ${f}\n`);
  }
  const file = join(dir, "module.nix");
  writeFileSync(file, text);
  nix.parseFile(file);
  return nix.evalJson(`import ${HARNESS}`, [
    "--argstr", "subset", subset, "--argstr", "agenix", agenix, "--argstr", "modulePath", file,
  ]) as Evaluated;
}

/** The store path the harness gives the monitor script: the hash of its exact text. */
function scriptPath(): string {
  const text = `PATH=${STORE}-curl/bin:${STORE}-coreutils/bin:${STORE}-gnused/bin:${STORE}-systemd/bin:$PATH\n` + MONITOR_SCRIPT;
  return `/nix/store/${createHash("sha256").update(text).digest("hex").slice(0, 32)}-restic-b2-monitor`;
}

const list = (v: string[] | string | null) => (v === null ? [] : Array.isArray(v) ? v : [v]);

describe.each<[string, () => BackupConfig]>([
  ["default", defaultBackup],
  ["full (with the desktop notification)", () => ({ ...fullBackup(), agenixModule: { kind: "provided" } })],
])("%s backup", (_label, backup) => {
  test("neither: the module is byte-identical to the one rendered without the monitoring fields", () => {
    const base = renderModule(moduleOptions(backup()));
    expect(renderModule(moduleOptions(withMonitoring(backup(), { heartbeat: false, ntfy: false, ntfyToken: false })))).toBe(base);
    expect(base).not.toMatch(/monitor|healthcheck|ntfy/);
    const ev = evaluate(base);
    expect(ev.failedAssertions).toEqual([]);
    expect(Object.keys(ev.secrets).sort()).toEqual(["restic-b2-daily-env", "restic-b2-daily-password", "restic-b2-daily-repo"]);
    expect(ev.units[SERVICE]).not.toContain("restic-b2-monitor");
  });

  test("heartbeat only: start ping first in ExecStartPre, result ping first in ExecStopPost, one secret", () => {
    const text = renderModule(moduleOptions(withMonitoring(backup(), { heartbeat: true, ntfy: false, ntfyToken: false })));
    const ev = evaluate(text);
    expect(ev.failedAssertions).toEqual([]);
    expect(ev.warnings).toEqual([]);
    expect(ev.secrets["restic-b2-daily-healthcheck"]).toEqual({
      file: expect.stringMatching(/\/secrets\/healthcheck\.age$/),
      path: "/run/agenix/restic-b2-daily-healthcheck",
      mode: "0400",
      owner: "root",
      group: "root",
    });
    expect(ev.secrets["restic-b2-daily-ntfy-url"]).toBeUndefined();
    const pre = list(ev.execStartPre[SERVICE]);
    const post = list(ev.execStopPost[SERVICE]);
    const s = scriptPath();
    expect(pre[0]).toBe(`-+${s} start --name ${SERVICE} --healthcheck /run/agenix/restic-b2-daily-healthcheck`);
    expect(post[0]).toBe(`-+${s} finish --name ${SERVICE} --healthcheck /run/agenix/restic-b2-daily-healthcheck`);
    // The restic module's own steps are still there, after ours.
    expect(pre.length).toBe(2);
    expect(pre[1]).toMatch(/restic-backups-daily-pre-start$/);
    expect(post.length).toBe(2);
    expect(post[1]).toMatch(/restic-backups-daily-post-stop$/);
    const unit = ev.units[SERVICE];
    expect(unit).toContain(`ExecStartPre=-+${s} start --name ${SERVICE}`);
    expect(unit.indexOf(`ExecStartPre=-+${s}`)).toBeLessThan(unit.indexOf("ExecStartPre=/nix/store"));
    expect(unit).toContain(`ExecStopPost=-+${s} finish --name ${SERVICE}`);
    expect(unit).toMatch(/ExecStart=.*restic backup/);
  });

  test("ntfy only (with token): no start hook, the alert in ExecStopPost", () => {
    const text = renderModule(moduleOptions(withMonitoring(backup(), { heartbeat: false, ntfy: true, ntfyToken: true })));
    const ev = evaluate(text);
    expect(ev.failedAssertions).toEqual([]);
    expect(Object.keys(ev.secrets).filter((k) => /ntfy|healthcheck/.test(k)).sort()).toEqual([
      "restic-b2-daily-ntfy-token",
      "restic-b2-daily-ntfy-url",
    ]);
    const pre = list(ev.execStartPre[SERVICE]);
    expect(pre.some((c) => c.includes("restic-b2-monitor"))).toBe(false);
    expect(list(ev.execStopPost[SERVICE])[0]).toBe(
      `-+${scriptPath()} finish --name ${SERVICE} --ntfy-url /run/agenix/restic-b2-daily-ntfy-url --ntfy-token /run/agenix/restic-b2-daily-ntfy-token`,
    );
  });

  test("both (ntfy without token)", () => {
    const text = renderModule(moduleOptions(withMonitoring(backup(), { heartbeat: true, ntfy: true, ntfyToken: false })));
    const ev = evaluate(text);
    expect(ev.failedAssertions).toEqual([]);
    expect(ev.secrets["restic-b2-daily-ntfy-token"]).toBeUndefined();
    expect(list(ev.execStopPost[SERVICE])[0]).toBe(
      `-+${scriptPath()} finish --name ${SERVICE} --healthcheck /run/agenix/restic-b2-daily-healthcheck --ntfy-url /run/agenix/restic-b2-daily-ntfy-url`,
    );
    // The script is defined once; the hooks refer to it.
    expect(text.split("system.build.restic-b2-monitor = pkgs.writeShellScript").length).toBe(2);
  });
});

test("the hooks attach to any unit: a drill unit with its own heartbeat and the shared ntfy secrets, defined with attribute paths", () => {
  const opts = moduleOptions(withMonitoring(defaultBackup(), { heartbeat: true, ntfy: true, ntfyToken: false }));
  const base = renderModule(moduleOptions(defaultBackup()));
  const lines = [
    // Other parts of the module may set other serviceConfig keys of the same units.
    "systemd.services.restic-backups-daily.serviceConfig.SuccessExitStatus = [ 3 ];",
    'systemd.services.restic-b2-drill-daily.serviceConfig.Type = "oneshot";',
    'systemd.services.restic-b2-drill-daily.script = "true";',
    ...renderMonitoring(opts, [
      { service: "restic-b2-drill-daily", heartbeat: { name: "restic-b2-daily-drill-healthcheck", file: "./secrets/healthcheck.age" } },
    ]),
  ].map((l) => (l === "" ? l : `  ${l}`));
  const text = base.replace(/}\n$/, lines.join("\n") + "\n}\n");
  expect(text.split("system.build.restic-b2-monitor = ").length).toBe(2);
  const ev = evaluate(text);
  expect(ev.failedAssertions).toEqual([]);
  expect(ev.secrets["restic-b2-daily-drill-healthcheck"].path).toBe("/run/agenix/restic-b2-daily-drill-healthcheck");
  const s = scriptPath();
  expect(list(ev.execStartPre["restic-b2-drill-daily"])).toEqual([
    `-+${s} start --name restic-b2-drill-daily --healthcheck /run/agenix/restic-b2-daily-drill-healthcheck`,
  ]);
  expect(list(ev.execStopPost["restic-b2-drill-daily"])).toEqual([
    `-+${s} finish --name restic-b2-drill-daily --healthcheck /run/agenix/restic-b2-daily-drill-healthcheck --ntfy-url /run/agenix/restic-b2-daily-ntfy-url`,
  ]);
  expect(list(ev.execStopPost[SERVICE])[0]).toBe(
    `-+${s} finish --name ${SERVICE} --healthcheck /run/agenix/restic-b2-daily-healthcheck --ntfy-url /run/agenix/restic-b2-daily-ntfy-url`,
  );
  expect(ev.units[SERVICE]).toContain("SuccessExitStatus=3");
});

test("renderMonitoring refuses names that systemd or Nix would interpret", () => {
  expect(() => monitorHooks("x y", "s", undefined)).toThrow(/invalid service name/);
  expect(() => monitorHooks("a%h", "s", undefined)).toThrow(/invalid service name/);
  expect(() => monitorHooks("ok", '${builtins.throw "x"}', undefined)).toThrow(/invalid secret name/);
  expect(monitorHooks("ok", undefined, undefined)).toEqual([]);
});
