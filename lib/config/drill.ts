// Restore checks: the credentials check after each deploy (verifyOnDeploy)
// and the scheduled restore drill (drill, drillTimerConfig, drillSampleFiles,
// drillMaxFileBytes, drillCheckGroups, and the secret drillHealthcheckUrl).

import { backupLayout, drillScratchDir, isBackupName } from "../host/layout";
import { DEFAULT_DRILL_TIMER_CONFIG, parseTimerSettings } from "./backup";
import { SecretKey } from "./keys";
import { Reader } from "./reader";
import { CONFIG } from "./schema";
import { BackupConfig, DrillConfig, DrillSettings, VerifyConfig } from "./types";

/**
 * The declared defaults (./schema): monthly (the 1st, 00:00) plus up to 6 h
 * of random delay, caught up after the machine was off; 32 files of at most
 * 16 MiB each; 12 pack groups, so the whole repository is read once a year.
 */
export const DEFAULT_DRILL_SETTINGS: Readonly<DrillSettings> = Object.freeze({
  timerConfig: DEFAULT_DRILL_TIMER_CONFIG,
  sampleFiles: CONFIG.drillSampleFiles.default,
  maxFileBytes: CONFIG.drillMaxFileBytes.default,
  checkGroups: CONFIG.drillCheckGroups.default,
});

export function parseRestoreChecks<S>(
  r: Reader,
  secrets: Partial<Record<SecretKey, S>>,
  backup: BackupConfig,
): { verify: VerifyConfig; drill: DrillConfig<S> } {
  const verify: VerifyConfig = { verifyOnDeploy: r.get("verifyOnDeploy") };

  const enabled = r.get("drill");
  const settings: DrillSettings = {
    timerConfig: parseTimerSettings(r, "drillTimerConfig"),
    sampleFiles: r.get("drillSampleFiles"),
    maxFileBytes: r.get("drillMaxFileBytes"),
    checkGroups: r.get("drillCheckGroups"),
  };
  const healthcheckUrl = secrets.drillHealthcheckUrl;

  if (!enabled) {
    // The other drill keys are still checked above but unused: Pulumi.yaml's
    // defaults arrive as set values, so "set by the user" cannot be told apart.
    if (healthcheckUrl !== undefined) r.fail("drillHealthcheckUrl", "is set but drill is false: nothing would ever ping it (remove it, or set drill: true)");
    return { verify, drill: {} };
  }
  // (A backup name that is not one has its own message; nothing is named after it.)
  if (isBackupName(backup.backupName) && drillScratchDir(backup.backupName, backup.paths) === undefined) {
    const l = backupLayout(backup.backupName);
    r.fail(
      "drill",
      `needs a scratch directory outside the backed-up paths to restore into, but ${l.stateDir}, ` +
        `${l.cacheDir} and ${l.runtimeDir} are all inside paths; ` +
        "set drill: false, or back up narrower paths",
      backup.paths,
    );
  }
  return { verify, drill: healthcheckUrl === undefined ? { settings } : { settings, healthcheckUrl } };
}
