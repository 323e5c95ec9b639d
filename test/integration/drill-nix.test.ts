// The restore checks in the rendered module (lib/nix/drill.ts), through the
// real Nix evaluator: the drill unit and timer with the drill on and off, the
// credentials check command, the exact script bytes they embed, the
// arguments they pass (hostile values included, run with bash), and both
// wrappers run for real against a local restic repository.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_DRILL_SETTINGS } from "../../lib/config";
import type { BackupConfig, DrillSettings } from "../../lib/config/types";
import { drillScratchDir } from "../../lib/host/layout";
import { DRILL_SCRIPT, REPO_LOCK_SCRIPT, VERIFY_SCRIPT } from "../../lib/host/scripts";
import { renderModule } from "../../lib/nix";
import { NixSandbox } from "../support/nix-instantiate";
import { HOSTILE, defaultBackup, fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { StubScript, evaluateWithStubs, stubScript, stubScripts, withoutPruneStep, withoutRepoGuard } from "../support/nix-stubs";
import { ResticLab } from "../support/restic-repo";

let nix: NixSandbox;
let lab: ResticLab;
beforeAll(() => {
  nix = new NixSandbox("drill-nix-test-");
  lab = new ResticLab("drill-nix-lab-");
});
afterAll(() => {
  nix?.cleanup();
  lab?.cleanup();
});

let counter = 0;
const writeModule = (text: string) => nix.writeModule(text);

function render(b: BackupConfig, drill?: DrillSettings): string {
  return renderModule({ ...moduleOptions(b), drill });
}

/** The module applied to the stubs (test/support/nix-stubs.ts), with real executables: bash runs its wrappers. */
function evaluate(text: string, agenixDir = "/run/agenix") {
  const m = withoutRepoGuard(evaluateWithStubs(nix, writeModule(text), { bin: "/usr", restic: "/usr", agenixDir }), "daily", "/usr");
  return { ...m, services: m.systemd?.services ?? {}, timers: m.systemd?.timers ?? {}, packages: m.systemPackages ?? [] };
}

const defaults = (): DrillSettings => ({ ...DEFAULT_DRILL_SETTINGS, timerConfig: { ...DEFAULT_DRILL_SETTINGS.timerConfig } });

/** The wrapper a unit runs and the script it embeds. */
function wrapperOf(value: string): { wrapper: StubScript; inner: StubScript } {
  const wrapper = stubScript(value);
  const inner = stubScripts(wrapper.text);
  expect(inner).toHaveLength(1);
  return { wrapper, inner: inner[0] };
}

/**
 * Writes a wrapper as a runnable file (writeShellScript puts a shell on the
 * first line), with its embedded script replaced by `innerFile`.
 */
function materialize(w: StubScript, innerFile: string): string {
  const file = lab.path(`wrapper-${counter++}`);
  const text = w.text.replace(/\/stub-script:\{"name":"(?:[^"\\]|\\.)*","text":"(?:[^"\\]|\\.)*"\}:end/, innerFile);
  writeFileSync(file, `#!/bin/bash\n${text}`, { mode: 0o755 });
  return file;
}

describe("drill off", () => {
  test("parses and evaluates; only the credentials check command is added", () => {
    const text = render(defaultBackup());
    const file = writeModule(text);
    expect(nix.run(["--parse", file]).status).toBe(0);
    const m = evaluate(text);
    expect(m.topLevel).toEqual(["age", "environment", "services", "systemd"]);
    // The backup unit gets only its prune step: no host lock without a drill.
    expect(withoutPruneStep(m, "restic-backups-daily")).toEqual({});
    expect(m.restic.daily.backupPrepareCommand).toBeUndefined();
    expect(m.timers).toEqual({});
    expect(m.packages).toHaveLength(1);
    const { wrapper, inner } = wrapperOf(m.packages[0]);
    expect(wrapper.name).toBe("restic-b2-verify-daily");
    expect(inner).toEqual({ name: "restic-b2-verify", text: VERIFY_SCRIPT });
    expect(text).not.toContain("restic-b2-drill");
  });
});

describe("drill on", () => {
  test("parses and evaluates to a oneshot service and a timer with the defaults", () => {
    const text = render(defaultBackup(), defaults());
    expect(nix.run(["--parse", writeModule(text)]).status).toBe(0);
    const m = evaluate(text);
    expect(m.topLevel).toEqual(["age", "environment", "services", "systemd"]);
    expect(Object.keys(m.services).sort()).toEqual(["restic-b2-drill-daily", "restic-backups-daily"]);
    // The backup's side of the host lock: the prepare command waits for a drill,
    // and systemd's KillMode (which releases it) is pinned.
    expect(withoutPruneStep(m, "restic-backups-daily")["restic-backups-daily"]).toEqual({ serviceConfig: { KillMode: "control-group" } });
    const prepare = m.restic.daily.backupPrepareCommand as string;
    expect(prepare.startsWith("/stub/systemd/bin/systemd-cat --identifier=restic-b2-repo-lock /stub-script:")).toBe(true);
    expect(stubScripts(prepare).map((x) => x.name)).toEqual(["restic-b2-repo-lock"]);
    expect(stubScripts(prepare)[0].text.endsWith(REPO_LOCK_SCRIPT)).toBe(true);
    expect(prepare.endsWith(":end '--lock' '/var/lib/restic-b2/daily/repository.lock' '--wait' '21600'")).toBe(true);
    const s = m.services["restic-b2-drill-daily"];
    const { ExecStart, ...serviceConfig } = s.serviceConfig!;
    expect({ ...s, serviceConfig }).toEqual({
      description: "Restore drill of the restic backup daily",
      wants: ["network-online.target"],
      after: ["network-online.target", "restic-backups-daily.service"],
      restartIfChanged: false,
      serviceConfig: {
        Type: "oneshot",
        User: "root",
        StateDirectory: "restic-b2/daily",
        StateDirectoryMode: "0700",
        ProtectSystem: "strict",
        ProtectHome: "read-only",
        PrivateTmp: true,
        NoNewPrivileges: true,
        TimeoutStartSec: "1d",
        SyslogIdentifier: "restic-b2-drill",
        Nice: 10,
        IOSchedulingClass: "idle",
      },
    });
    expect(m.timers).toEqual({
      "restic-b2-drill-daily": {
        description: "Timer of the restore drill of the restic backup daily",
        wantedBy: ["timers.target"],
        timerConfig: { OnCalendar: "monthly", Persistent: true, RandomizedDelaySec: "6h" },
      },
    });
    const { wrapper, inner } = wrapperOf(ExecStart as string);
    expect(wrapper.name).toBe("restic-b2-drill-daily");
    expect(inner).toEqual({ name: "restic-b2-drill", text: DRILL_SCRIPT });
    expect(wrapper.text.split("\n")[0]).toBe("export PATH=/usr/bin:/usr/bin:/usr/bin:/usr/bin:/usr/bin");
    expect(m.packages.map((p) => stubScript(p).name)).toEqual(["restic-b2-verify-daily"]);
  });

  test("with notifications on, a failed drill starts its own notification unit, which shows the drill's journal", () => {
    const m = evaluate(render(fullBackup(), defaults()));
    expect(m.services["restic-b2-drill-daily"].onFailure).toEqual(["restic-b2-drill-daily-notify-failure.service"]);
    const notify = m.services["restic-b2-drill-daily-notify-failure"] as { script: string; description: string };
    expect(notify.description).toBe("Desktop notification: restic restore drill daily failed");
    expect(notify.script).toContain("--unit=restic-b2-drill-daily.service");
    expect(notify.script).toContain("'Restore drill daily failed'");
    expect(m.services["restic-backups-daily-notify-failure"]).toBeDefined();
    expect(m.packages[0]).toBe("/stub/libnotify");
    // /var/lib is backed up: the scratch directory moves to the cache directory.
    expect(m.services["restic-b2-drill-daily"].serviceConfig).toMatchObject({ CacheDirectory: "restic-b2/daily", CacheDirectoryMode: "0700" });
  });

  test("the scratch directory is never inside a backed-up path", () => {
    expect(drillScratchDir("daily", ["/home"])).toEqual({ kind: "state", dir: "/var/lib/restic-b2/daily" });
    expect(drillScratchDir("daily", ["/var/lib/"])).toEqual({ kind: "cache", dir: "/var/cache/restic-b2/daily" });
    expect(drillScratchDir("daily", ["/var"])).toEqual({ kind: "runtime", dir: "/run/restic-b2/daily" });
    expect(drillScratchDir("daily", ["/var/lib/restic-b2-other", "/var/cache/restic"])).toEqual({ kind: "state", dir: "/var/lib/restic-b2/daily" });
    expect(drillScratchDir("daily", ["/"])).toBeUndefined();
    const b = defaultBackup();
    b.paths = ["/var"];
    expect(evaluate(render(b, defaults())).services["restic-b2-drill-daily"].serviceConfig).toMatchObject({
      RuntimeDirectory: "restic-b2/daily",
      RuntimeDirectoryMode: "0700",
    });
    b.paths = ["/"];
    expect(() => render(b, defaults())).toThrow(/scratch directory outside the backed-up paths/);
  });

  test("settings and hostile paths reach the script as exactly these arguments (bash runs the wrapper)", () => {
    const b = defaultBackup();
    // Every hostile value a path may hold: line breaks and control characters,
    // and the glob characters * and ?, are refused by the parser and the renderer.
    b.paths = HOSTILE.filter((h) => !/[\u0000-\u001f\u007f*?]/.test(h)).map((h) => `/x/${h}`);
    const d: DrillSettings = { timerConfig: { OnCalendar: "*-*-01 04:00:00", Persistent: false }, sampleFiles: 7, maxFileBytes: 1234, checkGroups: 5 };
    const m = evaluate(render(b, d), "/run/age'nix dir");
    expect(m.timers["restic-b2-drill-daily"].timerConfig).toEqual({ OnCalendar: "*-*-01 04:00:00", Persistent: false });
    const { wrapper } = wrapperOf(m.services["restic-b2-drill-daily"].serviceConfig!.ExecStart as string);
    const argv = lab.path("argv");
    const recorder = lab.path("recorder");
    writeFileSync(recorder, `#!/bin/bash\nprintf '%s\\0' "$@" > ${argv}\n`, { mode: 0o755 });
    const r = spawnSync(materialize(wrapper, recorder), ["--lock-delay", "9"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(argv, "utf8").split("\0").slice(0, -1)).toEqual([
      "--restic", "/usr/bin/restic",
      "--env-file", "/run/age'nix dir/restic-b2-daily-env",
      "--repository-file", "/run/age'nix dir/restic-b2-daily-repo",
      "--password-file", "/run/age'nix dir/restic-b2-daily-password",
      "--backup-name", "daily",
      "--state-dir", "/var/lib/restic-b2/daily",
      "--scratch-dir", "/var/lib/restic-b2/daily",
      "--sample-files", "7",
      "--max-file-bytes", "1234",
      "--check-groups", "5",
      "--repository-lock", "/var/lib/restic-b2/daily/repository.lock",
      "--repository-lock-wait", "21600",
      "--repository-id-file", "/var/lib/restic-b2/daily/repository-id",
      ...b.paths.flatMap((p) => ["--backup-path", p]),
      "--lock-delay", "9",
    ]);
  });
});

describe("the rendered commands run for real", () => {
  test("restic-b2-verify-daily opens a real repository; restic-b2-drill-daily drills it", () => {
    const c = lab.init("real");
    lab.fill(c, "real", 2);
    // The agenix directory the module refers to, with the three files.
    const agenix = lab.path("agenix");
    mkdirSync(agenix, { recursive: true, mode: 0o700 });
    for (const [kind, file] of [["env", c.env], ["repo", c.repo], ["password", c.password]]) {
      writeFileSync(join(agenix, `restic-b2-daily-${kind}`), readFileSync(file), { mode: 0o600 });
    }
    const m = evaluate(render(defaultBackup(), defaults()), agenix);
    const verify = wrapperOf(m.packages[0]);
    const verifyScript = lab.path("verify.sh");
    writeFileSync(verifyScript, verify.inner.text, { mode: 0o755 });
    const env = { PATH: "/usr/bin:/bin", HOME: lab.path() };
    const v = spawnSync(materialize(verify.wrapper, verifyScript), [], { encoding: "utf8", env });
    expect(v.stdout).toBe("restic-b2-verify-daily: repository opens: the password and the storage key are accepted\n");
    expect(v.status).toBe(0);

    const drill = wrapperOf(m.services["restic-b2-drill-daily"].serviceConfig!.ExecStart as string);
    const drillScript = lab.path("drill.sh");
    writeFileSync(drillScript, drill.inner.text, { mode: 0o755 });
    // The production state directory is /var/lib/restic-b2/daily; later arguments win.
    const state = lab.path("state");
    const scratch = lab.path("scratch");
    const d = spawnSync(materialize(drill.wrapper, drillScript), ["--state-dir", state, "--scratch-dir", scratch, "--sample-files", "3", "--repository-lock", join(state, "repository.lock")], { encoding: "utf8", env });
    expect(d.status).toBe(0);
    const result = JSON.parse(readFileSync(join(state, "drill.json"), "utf8"));
    expect(result).toMatchObject({ version: 1, result: "pass", filesRestored: 3, checkSubset: "1/12" });
    expect(readdirSync(scratch)).toEqual([]);
  });
});
