// The restore-check keys of lib/config/drill.ts (verifyOnDeploy, drill*), and
// the stack outputs that say how to read the drill's result.

import { DEFAULT_DRILL_SETTINGS, PLAIN_KEYS, RawConfig, SECRET_KEYS } from "../../lib/config";
import { restoreCommands } from "../../lib/host/restore";
import { parse, problems } from "../support/config-fixtures";

const URL_SECRET = "https://hc-ping.com/5ecret-uuid-never-shown";

test("defaults: verify on deploy, a monthly drill of 32 files up to 16 MiB, 12 pack groups", () => {
  const c = parse();
  expect(c.verify).toEqual({ verifyOnDeploy: true });
  expect(c.drill).toEqual({
    settings: { timerConfig: { OnCalendar: "monthly", Persistent: true, RandomizedDelaySec: "6h" }, sampleFiles: 32, maxFileBytes: 16777216, checkGroups: 12 },
  });
  expect(c.drill.settings).toEqual(DEFAULT_DRILL_SETTINGS);
});

test("the keys are registered; plain names are ones the Pulumi CLI accepts", () => {
  for (const k of ["verifyOnDeploy", "drill", "drillTimerConfig", "drillSampleFiles", "drillMaxFileBytes", "drillCheckGroups"]) {
    expect(PLAIN_KEYS).toContain(k);
    expect(k).not.toMatch(/passwd|pass|password|pwd|secret|token/i);
  }
  expect(SECRET_KEYS).toContain("drillHealthcheckUrl");
});

test("every setting", () => {
  const c = parse(
    {
      verifyOnDeploy: "false",
      drillTimerConfig: JSON.stringify(["OnCalendar=Sun *-*-01..07 03:00", "Persistent=false"]),
      drillSampleFiles: "0",
      drillMaxFileBytes: "1048576",
      drillCheckGroups: "256",
    },
    { drillHealthcheckUrl: URL_SECRET },
  );
  expect(c.verify.verifyOnDeploy).toBe(false);
  expect(c.drill.settings).toEqual({ timerConfig: { OnCalendar: "Sun *-*-01..07 03:00", Persistent: false }, sampleFiles: 0, maxFileBytes: 1048576, checkGroups: 256 });
  expect(c.drill.healthcheckUrl).toBe(URL_SECRET);
});

test("drill: false leaves no drill settings; the verify command stays", () => {
  const c = parse({ drill: "false" });
  expect(c.drill).toEqual({});
  expect(c.verify.verifyOnDeploy).toBe(true);
});

test.each<[RawConfig, string, string]>([
  [{ verifyOnDeploy: "yes" }, "nixos-restic-b2:verifyOnDeploy: must be true or false", '"yes"'],
  [{ drill: "monthly" }, "nixos-restic-b2:drill: must be true or false", '"monthly"'],
  [{ drillSampleFiles: "-1" }, "nixos-restic-b2:drillSampleFiles: must be a whole number from 0 to 1000", '"-1"'],
  [{ drillMaxFileBytes: "0" }, "nixos-restic-b2:drillMaxFileBytes: must be a whole number from 1 to 1099511627776", '"0"'],
  [{ drillCheckGroups: "257" }, "nixos-restic-b2:drillCheckGroups: must be a whole number from 1 to 256", '"257"'],
  [{ drillTimerConfig: JSON.stringify(["OnCalendar monthly"]) }, "nixos-restic-b2:drillTimerConfig: each entry must be a systemd [Timer] setting written Key=Value", '"OnCalendar monthly"'],
  [{ drillTimerConfig: JSON.stringify([]) }, "nixos-restic-b2:drillTimerConfig: must set at least one setting, e.g. [OnCalendar=monthly, Persistent=true, RandomizedDelaySec=6h]", ""],
  [{ paths: JSON.stringify(["/"]) }, "nixos-restic-b2:drill: needs a scratch directory outside the backed-up paths", 'got "[\\"/\\"]"'],
])("%j is refused with the key, the rule and the value", (over, rule, shown) => {
  const m = problems(over);
  expect(m).toContain(rule);
  expect(m).toContain(shown);
});

test("drillHealthcheckUrl with drill: false is refused, and its value is never shown", () => {
  const m = problems({ drill: "false" }, { drillHealthcheckUrl: URL_SECRET });
  expect(m).toContain("nixos-restic-b2:drillHealthcheckUrl: is set but drill is false");
  expect(m).not.toContain(URL_SECRET);
  expect(m).not.toContain("5ecret");
});

test("paths [\"/\"] with drill: false is fine", () => {
  expect(parse({ paths: JSON.stringify(["/"]), drill: "false" }).drill).toEqual({});
});

describe("stack outputs: restore.drill and restore.verify", () => {
  test("as root over SSH", () => {
    const r = restoreCommands(parse());
    expect(r.drill).toBe("ssh 'root@nixos.lan' cat /var/lib/restic-b2/daily/drill.json");
    expect(r.verify).toBe("ssh 'root@nixos.lan' restic-b2-verify-daily");
  });

  test("as another user (sudo), another port and backup name", () => {
    const r = restoreCommands(parse({ sshUser: "deploy", sshPort: "2222", backupName: "home" }));
    expect(r.drill).toBe("ssh -p 2222 'deploy@nixos.lan' sudo cat /var/lib/restic-b2/home/drill.json");
    expect(r.verify).toBe("ssh -p 2222 'deploy@nixos.lan' sudo restic-b2-verify-home");
  });

  test("drill off: no drill command; no secret in any output", () => {
    const r = restoreCommands(parse({ drill: "false" }));
    expect(r.drill).toBeUndefined();
    const on = restoreCommands(parse({}, { drillHealthcheckUrl: URL_SECRET }));
    expect(JSON.stringify(on)).not.toContain("5ecret");
  });
});
