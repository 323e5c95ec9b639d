// The monitoring section of the generated module through the real Nix
// evaluator with stubs (test/support/nix-stubs.ts), so it runs everywhere:
// heartbeat only, ntfy only, both, neither, and the drill's own hooks; the
// secrets, the hook command lines (added with lib.mkBefore), the one monitor
// script with its exact text. test/integration/monitor-nix.test.ts and
// drill-monitoring.test.ts check the same in the real NixOS module system
// (the merged unit files, the order after NixOS merges the lists) where the
// machine has nixpkgs and agenix.

import { DEFAULT_DRILL_SETTINGS } from "../../lib/config";
import type { BackupConfig, MonitoringFlags } from "../../lib/config/types";
import { MONITOR_AGE_FILES } from "../../lib/host/layout";
import { MONITOR_SCRIPT } from "../../lib/host/scripts";
import { monitorHooks, renderModule } from "../../lib/nix";
import { NixSandbox } from "../support/nix-instantiate";
import { defaultBackup, fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { StubEvaluated, evaluateWithStubs, stubScript, withoutRepoGuard } from "../support/nix-stubs";

const SERVICE = "restic-backups-daily";
const DRILL = "restic-b2-drill-daily";
const AGENIX = "/run/agenix";

let nix: NixSandbox;
beforeAll(() => {
  nix = new NixSandbox("monitor-nix-stubs-");
});
afterAll(() => nix?.cleanup());

function withMonitoring(b: BackupConfig, m: MonitoringFlags | undefined): BackupConfig {
  return m === undefined ? b : { ...b, monitoring: m };
}

/** The module (with every monitoring .age file beside it), checked to parse, applied to the stubs. */
function evaluate(text: string): StubEvaluated {
  const file = nix.writeModule(text, Object.values(MONITOR_AGE_FILES));
  nix.parseFile(file);
  return withoutRepoGuard(evaluateWithStubs(nix, file));
}

/** A unit's serviceConfig entry added with lib.mkBefore: its commands (fails when it is not mkBefore). */
function before(m: StubEvaluated, unit: string, key: "ExecStartPre" | "ExecStopPost"): string[] {
  const v = m.systemd!.services[unit].serviceConfig![key];
  expect(v).toEqual({ _type: "order", priority: 500, content: expect.any(Array) });
  return (v as { content: string[] }).content;
}

/**
 * The monitor script (system.build.restic-b2-monitor), checked against its
 * exact text; returns how the hooks start it: through systemd-cat, so its
 * lines are `journalctl -t restic-b2-monitor`'s.
 */
function monitorScript(m: StubEvaluated): string {
  const s = m.systemBuild!["restic-b2-monitor"];
  expect(stubScript(s)).toEqual({
    name: "restic-b2-monitor",
    text: "PATH=/stub/bin/bin:/stub/bin/bin:/stub/bin/bin:/stub/systemd/bin:$PATH\n" + MONITOR_SCRIPT,
  });
  return `/stub/systemd/bin/systemd-cat --identifier=restic-b2-monitor ${s}`;
}

const secret = (file: string, name: string) => ({ file, fileType: "path", mode: "0400", owner: "root", group: "root", path: `${AGENIX}/${name}` });

describe.each<[string, () => BackupConfig]>([
  ["default", defaultBackup],
  ["full (with the desktop notification)", () => ({ ...fullBackup(), agenixModule: { kind: "provided" } })],
])("%s backup", (_label, backup) => {
  test("neither: the module is byte-identical to the one rendered without the monitoring fields, with no hook and no script", () => {
    const base = renderModule(moduleOptions(backup()));
    expect(renderModule(moduleOptions(withMonitoring(backup(), { healthcheckUrl: false, ntfyUrl: false, ntfyToken: false })))).toBe(base);
    expect(base).not.toMatch(/monitor|healthcheck|ntfy/);
    const m = evaluate(base);
    expect(Object.keys(m.secrets).sort()).toEqual(["restic-b2-daily-env", "restic-b2-daily-password", "restic-b2-daily-repo"]);
    expect(m.systemBuild).toBeNull();
    // The backup unit gets only its prune step (lib/nix/backup-steps.ts).
    expect(m.systemd?.services[SERVICE]?.serviceConfig?.ExecStartPre).toBeUndefined();
    expect(m.systemd?.services[SERVICE]?.serviceConfig?.ExecStopPost).toBeUndefined();
  });

  test("heartbeat only: the start and the result ping, on the one secret", () => {
    const m = evaluate(renderModule(moduleOptions(withMonitoring(backup(), { healthcheckUrl: true, ntfyUrl: false, ntfyToken: false }))));
    expect(m.secrets["restic-b2-daily-healthcheck"]).toEqual(secret(expect.stringMatching(/\/secrets\/healthcheck\.age$/), "restic-b2-daily-healthcheck"));
    expect(Object.keys(m.secrets).filter((k) => /ntfy/.test(k))).toEqual([]);
    const s = monitorScript(m);
    expect(before(m, SERVICE, "ExecStartPre")).toEqual([`-+${s} start --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --healthcheck-url ${AGENIX}/restic-b2-daily-healthcheck`]);
    expect(before(m, SERVICE, "ExecStopPost")).toEqual([`-+${s} finish --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --healthcheck-url ${AGENIX}/restic-b2-daily-healthcheck`]);
  });

  test("ntfy only (with token): no start hook, the alert after the run", () => {
    const m = evaluate(renderModule(moduleOptions(withMonitoring(backup(), { healthcheckUrl: false, ntfyUrl: true, ntfyToken: true }))));
    expect(Object.keys(m.secrets).filter((k) => /ntfy|healthcheck/.test(k)).sort()).toEqual(["restic-b2-daily-ntfy-token", "restic-b2-daily-ntfy-url"]);
    expect(m.systemd!.services[SERVICE].serviceConfig!.ExecStartPre).toBeUndefined();
    expect(before(m, SERVICE, "ExecStopPost")).toEqual([
      `-+${monitorScript(m)} finish --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --ntfy-url ${AGENIX}/restic-b2-daily-ntfy-url --ntfy-token ${AGENIX}/restic-b2-daily-ntfy-token`,
    ]);
  });

  test("both (ntfy without token): one script, both channels in the result hook", () => {
    const text = renderModule(moduleOptions(withMonitoring(backup(), { healthcheckUrl: true, ntfyUrl: true, ntfyToken: false })));
    const m = evaluate(text);
    expect(m.secrets["restic-b2-daily-ntfy-token"]).toBeUndefined();
    expect(before(m, SERVICE, "ExecStopPost")).toEqual([
      `-+${monitorScript(m)} finish --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --healthcheck-url ${AGENIX}/restic-b2-daily-healthcheck --ntfy-url ${AGENIX}/restic-b2-daily-ntfy-url`,
    ]);
    expect(text.split("system.build.restic-b2-monitor = pkgs.writeShellScript").length).toBe(2);
  });
});

describe("the restore drill reports through the backup's channels", () => {
  const render = (monitoring: MonitoringFlags | undefined) =>
    renderModule({ ...moduleOptions({ ...fullBackup(), agenixModule: { kind: "provided" }, ...(monitoring ? { monitoring } : {}) }), drill: DEFAULT_DRILL_SETTINGS });

  test("no monitoring: the drill unit has no hooks and the module has no monitor script", () => {
    const text = render(undefined);
    expect(text).not.toContain("restic-b2-monitor");
    const m = evaluate(text);
    expect(m.systemBuild).toBeNull();
    expect(Object.keys(m.systemd!.services[DRILL].serviceConfig!).filter((k) => /^Exec(StartPre|StopPost)$/.test(k))).toEqual([]);
  });

  test("ntfy only: a failed drill publishes the alert; no heartbeat for the drill", () => {
    const m = evaluate(render({ healthcheckUrl: false, ntfyUrl: true, ntfyToken: false }));
    expect(m.systemd!.services[DRILL].serviceConfig!.ExecStartPre).toBeUndefined();
    expect(before(m, DRILL, "ExecStopPost")).toEqual([`-+${monitorScript(m)} finish --unit ${DRILL} --state-dir /var/lib/restic-b2-monitor --ntfy-url ${AGENIX}/restic-b2-daily-ntfy-url`]);
  });

  test("drillHealthcheckUrl: the drill pings its own heartbeat; the backup's heartbeat stays its own", () => {
    const m = evaluate(render({ healthcheckUrl: true, ntfyUrl: true, ntfyToken: true, drillHealthcheckUrl: true }));
    const s = monitorScript(m);
    expect(m.secrets["restic-b2-daily-drill-healthcheck"]).toEqual(secret(expect.stringMatching(/\/secrets\/drill-healthcheck\.age$/), "restic-b2-daily-drill-healthcheck"));
    expect(before(m, DRILL, "ExecStartPre")).toEqual([`-+${s} start --unit ${DRILL} --state-dir /var/lib/restic-b2-monitor --healthcheck-url ${AGENIX}/restic-b2-daily-drill-healthcheck`]);
    expect(before(m, DRILL, "ExecStopPost")).toEqual([
      `-+${s} finish --unit ${DRILL} --state-dir /var/lib/restic-b2-monitor --healthcheck-url ${AGENIX}/restic-b2-daily-drill-healthcheck --ntfy-url ${AGENIX}/restic-b2-daily-ntfy-url --ntfy-token ${AGENIX}/restic-b2-daily-ntfy-token`,
    ]);
    expect(before(m, SERVICE, "ExecStartPre")).toEqual([`-+${s} start --unit ${SERVICE} --state-dir /var/lib/restic-b2-monitor --healthcheck-url ${AGENIX}/restic-b2-daily-healthcheck`]);
    // The drill's own settings are still there beside the hooks.
    expect(m.systemd!.services[DRILL].serviceConfig).toMatchObject({ Type: "oneshot", ProtectSystem: "strict" });
  });
});

test("monitorHooks refuses names that systemd or Nix would interpret", () => {
  expect(() => monitorHooks("x y", "s", undefined)).toThrow(/invalid service name/);
  expect(() => monitorHooks("a%h", "s", undefined)).toThrow(/invalid service name/);
  expect(() => monitorHooks("ok", '${builtins.throw "x"}', undefined)).toThrow(/invalid secret name/);
  expect(monitorHooks("ok", undefined, undefined)).toEqual([]);
});
