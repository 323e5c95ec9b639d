// The restore drill reports through the backup's channels: with ntfy set its
// unit gets the alert hook, with drillHealthcheckUrl its own heartbeat, and
// with neither nothing changes. Evaluated in the real NixOS module system
// (test/support/nixos-eval.ts) and rendered to the unit files NixOS writes.
// Needs nixpkgs and agenix on the machine (test/support/nixos-eval.ts): without
// them the suite is skipped, with one line, and its tests are counted as
// skipped. What can be checked without them runs everywhere:
// test/integration/monitor-nix-stubs.test.ts.

import { DEFAULT_DRILL_SETTINGS } from "../../lib/config";
import type { BackupConfig, MonitoringFlags } from "../../lib/config/types";
import { MONITOR_AGE_FILES } from "../../lib/host/layout";
import { renderModule } from "../../lib/nix";
import { fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { EvalResult, NixosEval, nixosEvalAvailability, unitValues, verifyEvaluation } from "../support/nixos-eval";
import { describeWhen } from "../support/requires";

describeWhen(nixosEvalAvailability(), "the drill's monitoring in the NixOS module system", () => {
  let ev: NixosEval;
  beforeAll(() => {
    ev = new NixosEval();
  });
  afterAll(() => ev?.cleanup());

  const DRILL = "restic-b2-drill-daily";

  function render(monitoring: MonitoringFlags | undefined): string {
    const backup: BackupConfig = { ...fullBackup(), agenixModule: { kind: "provided" }, ...(monitoring ? { monitoring } : {}) };
    return renderModule({ ...moduleOptions(backup), drill: DEFAULT_DRILL_SETTINGS });
  }

  function evaluate(text: string): EvalResult {
    const r = ev.evaluate([ev.writeModule(text, Object.values(MONITOR_AGE_FILES))]);
    expect(verifyEvaluation(r).problems).toEqual([]);
    return r;
  }

  const hook = (r: EvalResult, key: "ExecStartPre" | "ExecStopPost") =>
    unitValues(r.services[DRILL], "Service", key).filter((l) => l.includes("restic-b2-monitor"));

  test("no monitoring: the drill unit has no hooks and the module has no monitor script", () => {
    const text = render(undefined);
    expect(text).not.toContain("restic-b2-monitor");
    const r = evaluate(text);
    expect(hook(r, "ExecStartPre")).toEqual([]);
    expect(hook(r, "ExecStopPost")).toEqual([]);
  });

  test("ntfy only: a failed drill publishes the alert; no heartbeat for the drill", () => {
    const r = evaluate(render({ healthcheckUrl: false, ntfyUrl: true, ntfyToken: false }));
    expect(hook(r, "ExecStartPre")).toEqual([]);
    const [post] = hook(r, "ExecStopPost");
    expect(post).toMatch(/^-\+\/nix\/store\/\S+ finish --unit restic-b2-drill-daily --state-dir \/var\/lib\/restic-b2-monitor --ntfy-url \/run\/agenix\/restic-b2-daily-ntfy-url$/);
  });

  test("drillHealthcheckUrl: the drill pings its own heartbeat at start and end; the backup's heartbeat stays its own", () => {
    const r = evaluate(render({ healthcheckUrl: true, ntfyUrl: true, ntfyToken: true, drillHealthcheckUrl: true }));
    expect(r.ageSecrets["restic-b2-daily-drill-healthcheck"].path).toBe("/run/agenix/restic-b2-daily-drill-healthcheck");
    expect(r.ageSecrets["restic-b2-daily-drill-healthcheck"].mode).toBe("0400");
    const [pre] = hook(r, "ExecStartPre");
    expect(pre).toMatch(/ start --unit restic-b2-drill-daily --state-dir \/var\/lib\/restic-b2-monitor --healthcheck-url \/run\/agenix\/restic-b2-daily-drill-healthcheck$/);
    const [post] = hook(r, "ExecStopPost");
    expect(post).toMatch(
      / finish --unit restic-b2-drill-daily --state-dir \/var\/lib\/restic-b2-monitor --healthcheck-url \/run\/agenix\/restic-b2-daily-drill-healthcheck --ntfy-url \/run\/agenix\/restic-b2-daily-ntfy-url --ntfy-token \/run\/agenix\/restic-b2-daily-ntfy-token$/,
    );
    const backupPre = unitValues(r.services["restic-backups-daily"], "Service", "ExecStartPre").filter((l) => l.includes("restic-b2-monitor"));
    expect(backupPre).toHaveLength(1);
    expect(backupPre[0]).toMatch(/--healthcheck-url \/run\/agenix\/restic-b2-daily-healthcheck$/);
  });
});
