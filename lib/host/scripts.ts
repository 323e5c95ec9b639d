// The scripts that run on the host, as they are shipped (in the deploy's
// stdin bundle, in the status command's line, or embedded in the NixOS
// module): each file of lib/host/ with every line `# @include <file>`
// replaced by that file of lib/host/, so a shell rule is written once
// (lib/host/backup-name.sh), or by layout.sh, the host contract generated
// from lib/host/layout.ts. Read once at load; pure otherwise.

import * as fs from "node:fs";
import * as path from "node:path";
import { layoutShell } from "./layout";

/** Files made here rather than read. */
const GENERATED: Record<string, () => string> = { "layout.sh": layoutShell };

const INCLUDE = /^# @include ([a-z0-9-]+\.sh)$/gm;

/** The shipped text of lib/host/<file>. */
export function hostScriptText(file: string): string {
  const text = fs.readFileSync(path.join(__dirname, file), "utf8");
  return text.replace(INCLUDE, (_line, inc: string) => {
    const body = inc in GENERATED ? GENERATED[inc]() : fs.readFileSync(path.join(__dirname, inc), "utf8");
    if (/^# @include /m.test(body)) throw new Error(`lib/host/${inc}: an included file cannot include another`);
    return body.replace(/\n$/, "");
  });
}

/** restic-b2-host: installs and uninstalls the module (lib/host/shell.ts sends it). */
export const HOST_SCRIPT = hostScriptText("restic-b2-host.sh");
/** restic-b2-status: one machine's state for `npm run status` (lib/status/report.ts sends it). */
export const STATUS_SCRIPT = hostScriptText("status.sh");
/** restic-b2-verify: the credentials check (embedded by lib/nix/drill.ts). */
export const VERIFY_SCRIPT = hostScriptText("verify.sh");
/** restic-b2-drill: the restore drill (embedded by lib/nix/drill.ts). */
export const DRILL_SCRIPT = hostScriptText("drill.sh");
/** restic-b2-monitor: the heartbeat and the alert (embedded by lib/nix/monitoring.ts). */
export const MONITOR_SCRIPT = hostScriptText("monitor.sh");
/** restic-b2-repo-lock: the backup unit's side of the lock shared with the drill (embedded by lib/nix/backup-steps.ts). */
export const REPO_LOCK_SCRIPT = hostScriptText("repo-lock.sh");
/** restic-b2-prune: the backup unit's forget --prune (embedded by lib/nix/backup-steps.ts). */
export const PRUNE_SCRIPT = hostScriptText("prune.sh");
/** restic-b2-repo-guard: the repository's recorded id (embedded by lib/nix/repo-guard.ts). */
export const REPO_GUARD_SCRIPT = hostScriptText("repo-guard.sh");
