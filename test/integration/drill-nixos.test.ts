// The drill's unit and timer in the real NixOS module system, with the real
// restic and agenix modules (test/support/nixos-eval.ts), rendered to unit
// files exactly as NixOS writes them, then checked by systemd-analyze verify.
// Needs nixpkgs and agenix on the machine (test/support/nixos-eval.ts): without
// them the suite is skipped, with one line, and its tests are counted as
// skipped. What can be checked without them runs everywhere:
// test/integration/drill-nix.test.ts and nix-units.test.ts.

import { DEFAULT_DRILL_SETTINGS } from "../../lib/config";
import { DRILL_SCRIPT } from "../../lib/host/scripts";
import { renderModule } from "../../lib/nix";
import { fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { NixosEval, nixosEvalAvailability, stubPackagePath, verifyEvaluation, verifyUnits } from "../support/nixos-eval";
import { describeWhen } from "../support/requires";

describeWhen(nixosEvalAvailability(), "the drill's units in the NixOS module system", () => {
  const DRILL = "restic-b2-drill-daily";

  let ev: NixosEval;
  beforeAll(() => {
    ev = new NixosEval();
  });
  afterAll(() => ev?.cleanup());

  test("the drill unit and timer are valid NixOS units and valid systemd units", () => {
    const b = fullBackup();
    b.agenixModule = { kind: "provided" };
    const r = ev.evaluateModule(renderModule({ ...moduleOptions(b), drill: { ...DEFAULT_DRILL_SETTINGS } }));
    expect(r.failedAssertions).toEqual([]);
    expect(r.warnings).toEqual([]);

    // The backup's notification dependency, the repository guard's reset command,
    // the credentials check and the restic module's own wrapper; the drill adds no other package.
    expect(r.systemPackages).toEqual(["libnotify-stub", "restic-b2-reset-daily", "restic-b2-verify-daily", "restic-daily"]);
    const service = r.services[DRILL].split("\n");
    for (const line of [
      "After=network-online.target restic-backups-daily.service",
      "OnFailure=restic-b2-drill-daily-notify-failure.service",
      "Wants=network-online.target",
      "X-RestartIfChanged=false",
      "CacheDirectory=restic-b2/daily",
      "CacheDirectoryMode=0700",
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
    // ExecStart is the drill's wrapper, a store file that runs the exact drill script.
    const exec = service.filter((l) => l.startsWith("ExecStart="));
    expect(exec).toHaveLength(1);
    const wrapper = exec[0].slice("ExecStart=".length);
    expect(wrapper).toMatch(/^\/nix\/store\/[0-9a-z]{32}-restic-b2-drill-daily$/);
    expect(r.files[wrapper].executable).toBe(true);
    const inner = /exec (\/nix\/store\/[0-9a-z]{32}-restic-b2-drill) /.exec(r.files[wrapper].text);
    expect(inner).not.toBeNull();
    expect(r.files[inner![1]]).toEqual({ text: `#!${stubPackagePath("bash")}/bin/bash\n` + DRILL_SCRIPT, executable: true });

    expect(r.timers[DRILL]).toContain("[Timer]\nOnCalendar=monthly\nPersistent=true\nRandomizedDelaySec=6h\n");
    expect(r.timers[DRILL]).toContain("[Install]\nWantedBy=timers.target\n");

    // systemd's own parser over every unit (the drill's, the backup's and its
    // notification unit), with the store files in place: unknown or malformed
    // directives and missing executables fail.
    const v = verifyEvaluation(r);
    expect(v.problems).toEqual([]);
    expect(v.code).toBe(0);
    // The check can fail: a misspelt directive is reported.
    const bad = verifyUnits({ [`${DRILL}.service`]: r.services[DRILL].replace("ProtectSystem=strict", "ProtectSystm=strict") }, r.files);
    expect(bad.problems.join("\n")).toContain("ProtectSystm");
  });
});
