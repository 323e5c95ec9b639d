// systemd's own parser over the units the generated module defines itself,
// without nixpkgs (runs everywhere): the restore drill's service and timer,
// the desktop-notification units, the monitor hooks, and the backup's timer
// settings, written from the definitions nix-instantiate evaluates with stubs
// (test/support/stub-units.ts), then `systemd-analyze verify`: unknown or
// malformed directives, bad values and missing executables fail. The backup
// service itself comes from NixOS's restic module: the module-system suites
// (nix-eval, drill-nixos, monitor-nix) verify the units NixOS writes.

import { DEFAULT_DRILL_SETTINGS } from "../../lib/config";
import type { BackupConfig, MonitoringFlags } from "../../lib/config/types";
import { MONITOR_AGE_FILES, backupLayout } from "../../lib/host/layout";
import { renderModule } from "../../lib/nix";
import { NixSandbox } from "../support/nix-instantiate";
import { fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { StubEvaluated, evaluateWithStubs } from "../support/nix-stubs";
import { OPTION_CASES, TIMER_CASES, VARIANTS, backupFor, exactValues, j } from "../support/nix-value-cases";
import { StubUnits, addedServiceUnit, backupTimerUnits, stubUnits } from "../support/stub-units";
import { verifyUnits } from "../support/systemd-verify";

const DRILL = "restic-b2-drill-daily";

let nix: NixSandbox;
beforeAll(() => {
  nix = new NixSandbox("nix-units-test-");
});
afterAll(() => nix?.cleanup());

function evaluate(b: BackupConfig, drill = true): StubEvaluated {
  const file = nix.writeModule(renderModule({ ...moduleOptions(b), drill: drill ? DEFAULT_DRILL_SETTINGS : undefined }), Object.values(MONITOR_AGE_FILES));
  // A store path for systemd, so verify finds a stand-in systemd-cat.
  return evaluateWithStubs(nix, file, { systemdPackage: `/nix/store/${"1".repeat(32)}-systemd` });
}

const withMonitoring = (m?: MonitoringFlags): BackupConfig => ({ ...fullBackup(), agenixModule: { kind: "provided" }, ...(m ? { monitoring: m } : {}) });

function expectVerified(u: StubUnits): void {
  const v = verifyUnits(u.units, u.files);
  expect(v.problems).toEqual([]);
  expect(v.code).toBe(0);
}

test("the drill's service and timer and both notification units pass systemd-analyze verify", () => {
  const u = stubUnits(evaluate(withMonitoring()));
  // The backup unit only gets OnFailure= here; NixOS's restic module makes it.
  expect(u.partial).toEqual(["restic-backups-daily"]);
  expect(Object.keys(u.units).sort()).toEqual(
    [`${DRILL}.service`, `${DRILL}.timer`, `${backupLayout("daily").backupNotifyUnit}.service`, `${DRILL}-notify-failure.service`].sort(),
  );
  const drill = u.units[`${DRILL}.service`].split("\n");
  for (const line of ["OnFailure=restic-b2-drill-daily-notify-failure.service", "X-RestartIfChanged=false", "ProtectSystem=strict", "PrivateTmp=true", "Nice=10"]) {
    expect(drill).toContain(line);
  }
  expect(u.units[`${DRILL}.timer`]).toContain("[Timer]\nOnCalendar=monthly\nPersistent=true\nRandomizedDelaySec=6h\n");
  expect(u.units[`${backupLayout("daily").backupNotifyUnit}.service`]).toContain('\nEnvironment="DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus"\n');
  expectVerified(u);
  // The check can fail: a misspelt directive and a bad value are reported.
  const bad = { ...u.units, [`${DRILL}.service`]: u.units[`${DRILL}.service`].replace("ProtectSystem=strict", "ProtectSystm=strict").replace("Nice=10", "Nice=ten") };
  const v = verifyUnits(bad, u.files);
  expect(v.problems.join("\n")).toContain("ProtectSystm");
  expect(v.problems.join("\n")).toMatch(/nice priority 'ten'/);
});

test.each<[string, MonitoringFlags]>([
  ["heartbeat and ntfy with token", { healthcheckUrl: true, ntfyUrl: true, ntfyToken: true, drillHealthcheckUrl: true }],
  ["ntfy only", { healthcheckUrl: false, ntfyUrl: true, ntfyToken: false }],
])("the drill's unit with the monitor hooks (%s) passes systemd-analyze verify", (_label, flags) => {
  const u = stubUnits(evaluate(withMonitoring(flags)));
  const hooks = u.units[`${DRILL}.service`].split("\n").filter((l) => l.includes("-restic-b2-monitor "));
  expect(hooks.length).toBe(flags.drillHealthcheckUrl ? 2 : 1);
  for (const h of hooks) {
    expect(h).toMatch(/^Exec(StartPre|StopPost)=-\+\/nix\/store\/1{32}-systemd\/bin\/systemd-cat --identifier=restic-b2-monitor \/nix\/store\/[0-9a-f]{32}-restic-b2-monitor (start|finish) --unit restic-b2-drill-daily /);
  }
  expectVerified(u);
  // The check can fail: systemd parses the hook lines (a relative command is refused).
  const bad = { ...u.units, [`${DRILL}.service`]: u.units[`${DRILL}.service`].replace(/=-\+\/nix\/store\//g, "=-+nix/store/") };
  expect(verifyUnits(bad, u.files).problems.join("\n")).toMatch(/absolute/i);
});

test("what the module adds to the backup unit (KillMode=, the prune step with hostile options) passes systemd-analyze verify", () => {
  const b = fullBackup();
  b.pruneOpts = exactValues(OPTION_CASES);
  const u = addedServiceUnit(evaluate(b), "restic-backups-daily");
  const text = u.units["restic-backups-daily.service"];
  expect(text).toContain("\nKillMode=control-group\n");
  expect(text).toMatch(/\nExecStart=\/nix\/store\/1{32}-systemd\/bin\/systemd-cat --identifier=restic-b2-prune \/nix\/store\/[0-9a-f]{32}-restic-b2-prune --restic /);
  expectVerified(u);
  // The check can fail: a bad KillMode is reported.
  expect(verifyUnits({ "restic-backups-daily.service": text.replace("KillMode=control-group", "KillMode=group") }, u.files).problems.join("\n")).toMatch(/kill mode/i);
});

test("the backup's timer settings, of every option combination and every accepted timer value, pass systemd's timer parser", () => {
  const timers = [
    ...VARIANTS.map(([, over]) => backupFor(over)),
    ...exactValues(TIMER_CASES).map((e) => backupFor({ timerConfig: j(e.startsWith("OnCalendar=") ? [e] : ["OnCalendar=daily", e]) })),
  ].map((b) => evaluate(b, false).restic[b.backupName].timerConfig as Record<string, unknown>);
  for (const t of timers) expectVerified(backupTimerUnits("daily", t));
  // The check can fail: a calendar systemd cannot parse.
  const v = verifyUnits(backupTimerUnits("daily", { OnCalendar: "every other day" }).units);
  expect(v.problems.join("\n")).toMatch(/calendar|OnCalendar/i);
});
