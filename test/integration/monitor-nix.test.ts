// The monitoring section of the generated module, evaluated in the real NixOS
// module system with the real restic module and agenix (test/support/nixos-eval.ts),
// rendered to the unit files NixOS writes: heartbeat only, ntfy only, both, neither.
// Needs nixpkgs and agenix on the machine (test/support/nixos-eval.ts): without
// them the suite is skipped, with one line, and its tests are counted as
// skipped. What can be checked without them runs everywhere:
// test/integration/monitor-nix-stubs.test.ts.

import type { BackupConfig, MonitoringFlags } from "../../lib/config/types";
import { MONITOR_AGE_FILES } from "../../lib/host/layout";
import { MONITOR_SCRIPT } from "../../lib/host/scripts";
import { renderModule, renderMonitoring } from "../../lib/nix";
import { defaultBackup, fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { EvalResult, NixosEval, nixosEvalAvailability, stubPackagePath, unitValues, verifyEvaluation } from "../support/nixos-eval";
import { describeWhen } from "../support/requires";

describeWhen(nixosEvalAvailability(), "the monitoring section in the NixOS module system", () => {
  const SERVICE = "restic-backups-daily";

  let ev: NixosEval;
  beforeAll(() => {
    ev = new NixosEval();
  });
  afterAll(() => ev?.cleanup());

  function withMonitoring(b: BackupConfig, m: MonitoringFlags | undefined): BackupConfig {
    return m === undefined ? b : { ...b, monitoring: m };
  }

  /** Evaluates a module (with every monitoring .age file beside it); its units must pass systemd-analyze verify. */
  function evaluate(text: string): EvalResult {
    const r = ev.evaluate([ev.writeModule(text, Object.values(MONITOR_AGE_FILES))]);
    expect(verifyEvaluation(r).problems).toEqual([]);
    return r;
  }

  /** The ExecStartPre= / ExecStopPost= commands of a unit, in order, as NixOS writes them. */
  const pre = (r: EvalResult, unit: string) => unitValues(r.services[unit], "Service", "ExecStartPre");
  const post = (r: EvalResult, unit: string) => unitValues(r.services[unit], "Service", "ExecStopPost");

  /**
   * How the hooks start the monitor script: systemd-cat with its journal
   * identifier, then the script's store path, checked against its exact text:
   * the writeShellScript shell line, the PATH line of the module and MONITOR_SCRIPT.
   */
  function scriptPath(r: EvalResult): string {
    const text =
      `#!${stubPackagePath("bash")}/bin/bash\n` +
      `PATH=${["curl", "coreutils", "gnused", "systemd"].map((p) => `${stubPackagePath(p)}/bin`).join(":")}:$PATH\n` +
      MONITOR_SCRIPT;
    const found = Object.entries(r.files).filter(([p, f]) => p.endsWith("-restic-b2-monitor") && f.text === text && f.executable);
    expect(found).toHaveLength(1);
    return `${stubPackagePath("systemd")}/bin/systemd-cat --identifier=restic-b2-monitor ${found[0][0]}`;
  }

  describe.each<[string, () => BackupConfig]>([
    ["default", defaultBackup],
    ["full (with the desktop notification)", () => ({ ...fullBackup(), agenixModule: { kind: "provided" } })],
  ])("%s backup", (_label, backup) => {
    test("neither: the module is byte-identical to the one rendered without the monitoring fields", () => {
      const base = renderModule(moduleOptions(backup()));
      expect(renderModule(moduleOptions(withMonitoring(backup(), { healthcheckUrl: false, ntfyUrl: false, ntfyToken: false })))).toBe(base);
      expect(base).not.toMatch(/monitor|healthcheck|ntfy/);
      const r = evaluate(base);
      expect(r.failedAssertions).toEqual([]);
      expect(Object.keys(r.ageSecrets).sort()).toEqual(["restic-b2-daily-env", "restic-b2-daily-password", "restic-b2-daily-repo"]);
      expect(r.services[SERVICE]).not.toContain("restic-b2-monitor");
      expect(Object.keys(r.files).filter((f) => f.includes("restic-b2-monitor"))).toEqual([]);
    });

    test("heartbeat only: start ping first in ExecStartPre, result ping first in ExecStopPost, one secret", () => {
      const text = renderModule(moduleOptions(withMonitoring(backup(), { healthcheckUrl: true, ntfyUrl: false, ntfyToken: false })));
      const r = evaluate(text);
      expect(r.failedAssertions).toEqual([]);
      expect(r.warnings).toEqual([]);
      expect(r.ageSecrets["restic-b2-daily-healthcheck"]).toEqual({
        name: "restic-b2-daily-healthcheck",
        file: expect.stringMatching(/\/secrets\/healthcheck\.age$/),
        path: "/run/agenix/restic-b2-daily-healthcheck",
        mode: "0400",
        owner: "root",
        group: "root",
        symlink: true,
      });
      expect(r.ageSecrets["restic-b2-daily-ntfy-url"]).toBeUndefined();
      const starts = pre(r, SERVICE);
      const stops = post(r, SERVICE);
      const s = scriptPath(r);
      expect(starts[0]).toBe(`-+${s} start --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --healthcheck-url /run/agenix/restic-b2-daily-healthcheck`);
      expect(stops[0]).toBe(`-+${s} finish --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --healthcheck-url /run/agenix/restic-b2-daily-healthcheck`);
      // The restic module's own steps are still there, after ours.
      expect(starts.length).toBe(2);
      expect(starts[1]).toMatch(/^\/nix\/store\/[0-9a-z]{32}-restic-backups-daily-pre-start\/bin\/restic-backups-daily-pre-start$/);
      expect(r.files[starts[1]].executable).toBe(true);
      expect(stops.length).toBe(2);
      expect(stops[1]).toMatch(/^\/nix\/store\/[0-9a-z]{32}-restic-backups-daily-post-stop\/bin\/restic-backups-daily-post-stop$/);
      expect(r.files[stops[1]].executable).toBe(true);
      expect(unitValues(r.services[SERVICE], "Service", "ExecStart").join("\n")).toMatch(/restic backup/);
    });

    test("ntfy only (with token): no start hook, the alert in ExecStopPost", () => {
      const text = renderModule(moduleOptions(withMonitoring(backup(), { healthcheckUrl: false, ntfyUrl: true, ntfyToken: true })));
      const r = evaluate(text);
      expect(r.failedAssertions).toEqual([]);
      expect(Object.keys(r.ageSecrets).filter((k) => /ntfy|healthcheck/.test(k)).sort()).toEqual([
        "restic-b2-daily-ntfy-token",
        "restic-b2-daily-ntfy-url",
      ]);
      expect(pre(r, SERVICE).some((c) => c.includes("restic-b2-monitor"))).toBe(false);
      expect(post(r, SERVICE)[0]).toBe(
        `-+${scriptPath(r)} finish --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --ntfy-url /run/agenix/restic-b2-daily-ntfy-url --ntfy-token /run/agenix/restic-b2-daily-ntfy-token`,
      );
    });

    test("both (ntfy without token)", () => {
      const text = renderModule(moduleOptions(withMonitoring(backup(), { healthcheckUrl: true, ntfyUrl: true, ntfyToken: false })));
      const r = evaluate(text);
      expect(r.failedAssertions).toEqual([]);
      expect(r.ageSecrets["restic-b2-daily-ntfy-token"]).toBeUndefined();
      expect(post(r, SERVICE)[0]).toBe(
        `-+${scriptPath(r)} finish --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --healthcheck-url /run/agenix/restic-b2-daily-healthcheck --ntfy-url /run/agenix/restic-b2-daily-ntfy-url`,
      );
      // The script is defined once; the hooks refer to it.
      expect(text.split("system.build.restic-b2-monitor = pkgs.writeShellScript").length).toBe(2);
    });
  });

  test("the hooks attach to any unit: a drill unit with its own heartbeat and the shared ntfy secrets, defined with attribute paths", () => {
    const opts = moduleOptions(withMonitoring(defaultBackup(), { healthcheckUrl: true, ntfyUrl: true, ntfyToken: false }));
    const base = renderModule(moduleOptions(defaultBackup()));
    const lines = [
      // Other parts of the module may set other serviceConfig keys of the same units.
      "systemd.services.restic-backups-daily.serviceConfig.SuccessExitStatus = [ 3 ];",
      'systemd.services.restic-b2-drill-daily.serviceConfig.Type = "oneshot";',
      'systemd.services.restic-b2-drill-daily.script = "true";',
      ...renderMonitoring(opts, [
        { service: "restic-b2-drill-daily", healthcheckUrl: { name: "restic-b2-daily-drill-healthcheck", file: "./secrets/healthcheck.age" } },
      ]),
    ].map((l) => (l === "" ? l : `  ${l}`));
    const text = base.replace(/}\n$/, lines.join("\n") + "\n}\n");
    expect(text.split("system.build.restic-b2-monitor = ").length).toBe(2);
    const r = evaluate(text);
    expect(r.failedAssertions).toEqual([]);
    expect(r.ageSecrets["restic-b2-daily-drill-healthcheck"].path).toBe("/run/agenix/restic-b2-daily-drill-healthcheck");
    const s = scriptPath(r);
    expect(pre(r, "restic-b2-drill-daily")).toEqual([
      `-+${s} start --unit restic-b2-drill-daily --state-dir /var/lib/restic-b2-monitor --healthcheck-url /run/agenix/restic-b2-daily-drill-healthcheck`,
    ]);
    expect(post(r, "restic-b2-drill-daily")).toEqual([
      `-+${s} finish --unit restic-b2-drill-daily --state-dir /var/lib/restic-b2-monitor --healthcheck-url /run/agenix/restic-b2-daily-drill-healthcheck --ntfy-url /run/agenix/restic-b2-daily-ntfy-url`,
    ]);
    expect(post(r, SERVICE)[0]).toBe(
      `-+${s} finish --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --healthcheck-url /run/agenix/restic-b2-daily-healthcheck --ntfy-url /run/agenix/restic-b2-daily-ntfy-url`,
    );
    expect(unitValues(r.services[SERVICE], "Service", "SuccessExitStatus")).toEqual(["3"]);
  });
});
