// lib/nix/ against the real Nix evaluator (nix-instantiate, no daemon),
// sandboxed by test/support/nix-instantiate.ts.

import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { BackupConfig } from "../../lib/config/types";
import {
  EMITTED_RESTIC_OPTIONS,
  excludeFileLine,
  filesFromLine,
  nixString,
  renderModule,
  resticOptionText,
} from "../../lib/nix";
import { excludePatternProblem } from "../../lib/config/restic-rules";
import { HOSTILE, defaultBackup, fullBackup, moduleOptions } from "../support/nix-module-fixtures";
import { NixResult, NixSandbox } from "../support/nix-instantiate";
import { StubEvalOptions, evaluateWithStubs, pruneStepOptions, stubScript, withoutPruneStep, withoutRepoGuard } from "../support/nix-stubs";

let nix: NixSandbox;
let tmp: string;

function nixInstantiate(args: string[]): NixResult {
  return nix.run(args);
}

function evalJson(expr: string, args: string[] = []): unknown {
  return nix.evalJson(expr, args);
}

/** Writes a rendered module (plus dummy ciphertext files) into its own directory; returns the module path. */
const writeModule = (text: string) => nix.writeModule(text);

function parses(file: string): NixResult {
  return nixInstantiate(["--parse", file]);
}

/** The module applied to the stubs (test/support/nix-stubs.ts). */
// The repository guard's parts are checked (exactly) and set aside by withoutRepoGuard.
const evaluateModule = (file: string, stubs?: StubEvalOptions) => withoutRepoGuard(evaluateWithStubs(nix, file, stubs), "daily", stubs?.restic);

// The hostile strings that each option accepts (the others are refused by the
// parser and the renderer; test/integration/nix-eval.test.ts covers which).
const oneLine = HOSTILE.filter((h) => !/[\u0000-\u001f\u007f]/.test(h));
const asOption = (h: string) => `--tag ${h.trim() === "" ? "x" : h.trim()}`;
function hostileBackup(): BackupConfig {
  const b = fullBackup();
  b.paths = oneLine.map((h) => `/${h.replace(/[*?]/g, "").replace(/\.\./g, "")}`);
  b.exclude = oneLine.filter((h) => excludePatternProblem(h) === undefined);
  b.pruneOpts = oneLine.slice(0, 10).map(asOption);
  b.extraBackupArgs = oneLine.slice(10, 20).map(asOption);
  b.checkOpts = oneLine.slice(20).map(asOption);
  b.timerConfig = { OnCalendar: "Mon..Fri *-*-* 02:30:00 Europe/Berlin", AccuracySec: "1min 30s", Persistent: false, RandomizedDelaySec: 0 };
  b.agenixModule = {
    kind: "fetchTarball",
    url: 'https://example.invalid/${builtins.throw "pwned"}/"\\`id`.tar.gz',
    sha256: "$(id)$${x}\\${y}",
  };
  return b;
}

beforeAll(() => {
  nix = new NixSandbox();
  tmp = nix.dir;
});

afterAll(() => {
  nix?.cleanup();
});

describe("nixString round-trips through nix-instantiate --eval", () => {
  test.each(HOSTILE.map((h) => [JSON.stringify(h), h]))("%s", (_label, h) => {
    expect(evalJson(nixString(h))).toBe(h);
  });

  test("all hostile values at once, inside a list", () => {
    expect(evalJson(`[ ${HOSTILE.map(nixString).join(" ")} ]`)).toEqual(HOSTILE);
  });

  test("${...} in a value is not evaluated", () => {
    const v = '${builtins.throw "pwned"}';
    expect(evalJson(nixString(v))).toBe(v);
    // The same text without escaping does run: the check above can fail.
    expect(() => evalJson(`"${v}"`)).toThrow(/pwned/);
  });

  test("non-ASCII text comes back byte for byte", () => {
    const v = "Ünïcødé ✓ 😀";
    const r = nixInstantiate(["--eval", "--expr", `builtins.stringLength ${nixString(v)}`]);
    expect(r.stdout.trim()).toBe(String(Buffer.byteLength(v, "utf8")));
  });
});

describe("rendered modules", () => {
  test.each<[string, () => BackupConfig]>([
    ["default", defaultBackup],
    ["full", fullBackup],
    ["hostile", hostileBackup],
  ])("%s module parses with --parse", (_name, make) => {
    const r = parses(writeModule(renderModule(moduleOptions(make()))));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("--parse rejects broken Nix (the parse check can fail)", () => {
    const text = renderModule(moduleOptions(defaultBackup())).replace("initialize = true;", "initialize = true");
    expect(parses(writeModule(text)).status).not.toBe(0);
  });

  test("default module evaluates to the expected configuration", () => {
    const file = writeModule(renderModule(moduleOptions(defaultBackup())));
    const m = evaluateModule(file);
    expect(m.topLevel).toEqual(["age", "environment", "services", "systemd"]);
    expect(m.imports).toBeNull();
    // Only the prune step (lib/nix/backup-steps.ts), with the options restic's own prune had.
    expect(withoutPruneStep(m, "restic-backups-daily")).toEqual({});
    expect(pruneStepOptions(m, "restic-backups-daily")).toBe("--keep-daily 7 --keep-weekly 5 --keep-monthly 12");
    // Only the credentials check command (test/integration/drill-nix.test.ts covers it).
    expect(m.systemPackages!.map((p) => stubScript(p).name)).toEqual(["restic-b2-verify-daily"]);
    expect(m.restic).toEqual({
      daily: {
        initialize: true,
        environmentFile: "/run/agenix/restic-b2-daily-env",
        repositoryFile: "/run/agenix/restic-b2-daily-repo",
        passwordFile: "/run/agenix/restic-b2-daily-password",
        paths: ["/home"],
        pruneOpts: [],
        timerConfig: { OnCalendar: "daily", Persistent: true },
        extraBackupArgs: [],
      },
    });
    const dir = dirname(file);
    const secret = (kind: string) => ({
      file: `${dir}/secrets/${kind}.age`,
      fileType: "path",
      mode: "0400",
      owner: "root",
      group: "root",
      path: `/run/agenix/restic-b2-daily-${kind}`,
    });
    expect(m.secrets).toEqual({
      "restic-b2-daily-env": secret("env"),
      "restic-b2-daily-repo": secret("repo"),
      "restic-b2-daily-password": secret("password"),
    });
  });

  test("hostile values evaluate back exactly", () => {
    const b = hostileBackup();
    const m = evaluateModule(writeModule(renderModule(moduleOptions(b))));
    const r = m.restic.daily;
    // Without a drill, no host lock: the prepare command is not emitted.
    const noLock = new Set(["backupPrepareCommand"]);
    expect(Object.keys(r).sort()).toEqual(EMITTED_RESTIC_OPTIONS.filter((o) => !noLock.has(o)).sort());
    expect(r.paths).toEqual(b.paths.map(filesFromLine));
    expect(r.exclude).toEqual(b.exclude.map(excludeFileLine));
    expect(r.pruneOpts).toEqual([]);
    expect(pruneStepOptions(m, "restic-backups-daily")).toBe(b.pruneOpts.map(resticOptionText).join(" "));
    expect(r.extraBackupArgs).toEqual(b.extraBackupArgs.map(resticOptionText));
    expect(r.checkOpts).toEqual(b.checkOpts.map(resticOptionText));
    expect(r.runCheck).toBe(true);
    expect(r.timerConfig).toEqual(b.timerConfig);
    // The fetchTarball arguments, through the stub.
    expect(m.imports).toHaveLength(1);
    const imp = m.imports![0];
    const prefix = "/stub-fetchTarball/";
    const suffix = "/modules/age.nix";
    expect(imp.startsWith(prefix) && imp.endsWith(suffix)).toBe(true);
    expect(JSON.parse(imp.slice(prefix.length, -suffix.length))).toEqual({
      url: (b.agenixModule as { url: string }).url,
      sha256: (b.agenixModule as { sha256: string }).sha256,
    });
  });

  test("restic options evaluate without forcing the fetchTarball import", () => {
    // Plain import (real builtins): fetchTarball is not called because
    // `imports` is never forced. The URL points at a missing local file, so
    // forcing it fails at once and without network access.
    const b = fullBackup();
    b.agenixModule = { kind: "fetchTarball", url: `file://${tmp}/missing/agenix.tar.gz` };
    const file = writeModule(renderModule(moduleOptions(b)));
    const stub = '{ age.secrets = builtins.mapAttrs (n: s: { path = "/run/agenix/" + n; }) m.age.secrets; }';
    const expr = `{ f }: let m = import (/. + f) { config = ${stub}; pkgs = { }; lib = { }; }; in m.services.restic.backups.daily.paths`;
    expect(evalJson(expr, ["--argstr", "f", file])).toEqual(fullBackup().paths);
    // Forcing imports with the real builtin does fail: the check above can fail.
    const forced = `{ f }: let m = import (/. + f) { config = { }; pkgs = { }; lib = { }; }; in m.imports`;
    expect(() => evalJson(forced, ["--argstr", "f", file])).toThrow(/missing\/agenix\.tar\.gz/);
  });

  test("without notify there is no notification unit or libnotify (only the prune step)", () => {
    const b = fullBackup();
    delete b.notify;
    const m = evaluateModule(writeModule(renderModule(moduleOptions(b))));
    expect(m.topLevel).toEqual(["age", "environment", "imports", "services", "systemd"]);
    expect(withoutPruneStep(m, "restic-backups-daily")).toEqual({});
    expect(m.systemPackages!.map((p) => stubScript(p).name)).toEqual(["restic-b2-verify-daily"]);
  });

  test("the notification shows the failed run's lines of restic and the unit's steps, not the monitor's nor systemd's", () => {
    const fake = join(tmp, "notify-fakes");
    mkdirSync(join(fake, "bin"), { recursive: true });
    const journal = [
      "2026-12-03T00:00:01+0000 restic-b2-monitor[10]: heartbeat start ping: sent (HTTP 200)",
      "2026-12-03T00:00:02+0000 restic-backups-daily-pre-start[11]: restic-b2-repo-lock: the restore drill finished after 3s; the backup starts",
      ...Array.from({ length: 12 }, (_, i) => `2026-12-03T00:00:03+0000 restic[12]: line ${i + 1}`),
      "2026-12-03T00:00:04+0000 restic[12]: Fatal: unable to open config file: wrong password or no key found",
      "2026-12-03T00:00:05+0000 systemd[1]: restic-backups-daily.service: Main process exited, code=exited, status=12/n/a",
      "2026-12-03T00:00:06+0000 restic-b2-monitor[13]: ntfy alert: sent (HTTP 200)",
    ].join("\n");
    writeFileSync(join(fake, "journal"), journal + "\n");
    writeFileSync(join(fake, "bin", "journalctl"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${fake}/journalctl.args\ncat ${fake}/journal\n`, { mode: 0o755 });
    writeFileSync(join(fake, "bin", "notify-send"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\036' "$a"; done > ${fake}/notify.args\n`, { mode: 0o755 });
    // With monitoring, so the monitor's lines are there to be dropped.
    const monitored = { ...fullBackup(), monitoring: { healthcheckUrl: true, ntfyUrl: false, ntfyToken: false } };
    const m = evaluateModule(nix.writeModule(renderModule(moduleOptions(monitored)), ["healthcheck.age"]), { bin: "/usr", systemdPackage: fake, libnotify: fake });
    const script = join(fake, "notify.sh");
    writeFileSync(script, (m.systemd!.services["restic-backups-daily-notify-failure"] as { script: string }).script);
    const run = (env: Record<string, string>) => {
      const r = spawnSync("bash", ["-e", script], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", ...env } });
      expect(r.status).toBe(0);
      return { args: readFileSync(join(fake, "journalctl.args"), "utf8").split("\n"), notify: readFileSync(join(fake, "notify.args"), "utf8").split("\u001e") };
    };
    const r = run({ MONITOR_INVOCATION_ID: "0123456789abcdef0123456789abcdef" });
    expect(r.args[0]).toBe("_SYSTEMD_INVOCATION_ID=0123456789abcdef0123456789abcdef");
    expect(r.notify.slice(0, 3)).toEqual(["--urgency=critical", "--app-name=restic", "Backup daily failed"]);
    expect(r.notify[3]).toBe(
      ["Last journal lines of restic-backups-daily.service:", ...Array.from({ length: 9 }, (_, i) => `restic[12]: line ${i + 4}`), "restic[12]: Fatal: unable to open config file: wrong password or no key found"].join("\n"),
    );
    // Without the id (systemd before 251): the unit's lines, the same selection.
    expect(run({}).args[0]).toBe("--unit=restic-backups-daily.service");
  });

  test("notify: units, user, bus address and script", () => {
    const m = evaluateModule(writeModule(renderModule(moduleOptions(fullBackup()))));
    expect(m.topLevel).toEqual(["age", "environment", "imports", "services", "systemd"]);
    expect(m.systemPackages![0]).toBe("/stub/libnotify");
    expect(m.systemPackages!.slice(1).map((p) => stubScript(p).name)).toEqual(["restic-b2-verify-daily"]);
    const services = withoutPruneStep(m, "restic-backups-daily");
    expect(Object.keys(services).sort()).toEqual(["restic-backups-daily", "restic-backups-daily-notify-failure"]);
    expect(services["restic-backups-daily"]).toEqual({ onFailure: ["restic-backups-daily-notify-failure.service"] });
    const n = services["restic-backups-daily-notify-failure"];
    expect(n.serviceConfig).toEqual({ Type: "oneshot", User: "alice", SupplementaryGroups: ["systemd-journal"] });
    expect(n.environment).toEqual({ DBUS_SESSION_BUS_ADDRESS: "unix:path=/run/user/1000/bus" });
    expect(n.script).toBe(
      [
        'if [ -n "$MONITOR_INVOCATION_ID" ]; then select="_SYSTEMD_INVOCATION_ID=$MONITOR_INVOCATION_ID"; else select="--unit=restic-backups-daily.service"; fi',
        `lines="$(/stub/systemd/bin/journalctl "$select" --no-pager --output=short-iso --no-hostname | /stub/bin/bin/sed -e '/^[^ ]* systemd\\[1\\]: /d' -e 's/^[^ ]* //' | /stub/bin/bin/tail -n 10 || true)"`,
        'body="Last journal lines of restic-backups-daily.service:',
        '$lines"',
        "/stub/libnotify/bin/notify-send --urgency=critical --app-name=restic 'Backup daily failed' \"$body\"",
        "",
      ].join("\n"),
    );
  });

  test("notify script run with bash passes the journal text as one argument", () => {
    // Stub journalctl prints hostile lines and fails; stub notify-send records its argv.
    const stubs = join(tmp, "stubs");
    const argvFile = join(tmp, "notify-argv");
    const journal = ["-x --help", "$(touch /tmp/pwned)", "`id`", "'quoted' \"double\"", "${HOME}", "Ünïcødé ✓"];
    mkdirSync(join(stubs, "systemd", "bin"), { recursive: true });
    mkdirSync(join(stubs, "libnotify", "bin"), { recursive: true });
    const journalctl = join(stubs, "systemd", "bin", "journalctl");
    writeFileSync(journalctl, `#!/bin/sh\ncat ${join(stubs, "journal.txt")}\nexit 1\n`);
    // journalctl's short-iso lines without the host name, as the script asks for them.
    writeFileSync(join(stubs, "journal.txt"), journal.map((l) => `2026-12-03T00:00:00+0000 restic[5]: ${l}`).join("\n") + "\n");
    const notifySend = join(stubs, "libnotify", "bin", "notify-send");
    writeFileSync(notifySend, `#!/bin/sh\nprintf '%s\\0' "$@" > ${argvFile}\n`);
    chmodSync(journalctl, 0o755);
    chmodSync(notifySend, 0o755);

    const m = evaluateModule(writeModule(renderModule(moduleOptions(fullBackup()))), {
      bin: "/usr",
      systemdPackage: join(stubs, "systemd"),
      libnotify: join(stubs, "libnotify"),
    });
    const script = m.systemd!.services["restic-backups-daily-notify-failure"].script as string;
    // NixOS runs `script` with `set -e`.
    const r = spawnSync("bash", ["--norc", "--noprofile", "-e", "-c", script], {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", HOME: join(tmp, "home") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const argv = readFileSync(argvFile, "utf8").split("\0").slice(0, -1);
    expect(argv).toEqual([
      "--urgency=critical",
      "--app-name=restic",
      "Backup daily failed",
      `Last journal lines of restic-backups-daily.service:\n${journal.map((l) => `restic[5]: ${l}`).join("\n")}`,
    ]);
  });
});
