// The generated module in the real NixOS module system (test/support/nixos-eval.ts):
// every option combination the renderer supports evaluates with no failed
// assertion and no warning, the units hold exactly the expected lines, and
// `systemd-analyze verify` accepts them; NixOS itself refuses what the parser
// refuses; hostile user strings reach the units and store files byte-exact.
// Needs nixpkgs and agenix on the machine: without them the suite is skipped,
// with one line, and its tests are counted as skipped. What can be checked
// without them runs everywhere in test/integration/nix-values.test.ts (the
// same tables: test/support/nix-value-cases.ts).

import * as fs from "node:fs";
import * as path from "node:path";
import type { BackupConfig } from "../../lib/config/types";
import { backupLayout } from "../../lib/host/layout";
import { excludeFileLine, filesFromLine, renderModule, resticOptionText } from "../../lib/nix";
import { moduleOptions } from "../support/nix-module-fixtures";
import {
  EXCLUDE_CASES,
  NAME_CASES,
  OPTION_CASES,
  PATH_CASES,
  TIMER_CASES,
  TYPE_GUARDS,
  USER_CASES,
  VARIANTS,
  backupFor,
  excludePatternsText,
  exactValues,
  j,
  staticPathsText,
} from "../support/nix-value-cases";
import { EvalResult, NixosEval, StoreFile, nixosEvalAvailability, stubPackagePath, unitValues, verifyEvaluation, verifyUnits } from "../support/nixos-eval";
import { describeWhen } from "../support/requires";

describeWhen(nixosEvalAvailability(), "the generated module in the NixOS module system", () => {
  let ev: NixosEval;
  beforeAll(() => {
    ev = new NixosEval();
  });
  afterAll(() => ev?.cleanup());

  const renderFor = (b: BackupConfig) => renderModule(moduleOptions(b));
  /** A provided agenix module is imported by the harness (as by the host); a generated import brings its own. */
  const evaluate = (b: BackupConfig, text = renderFor(b)) => ev.evaluateModule(text, { importAgenix: b.agenixModule.kind === "provided" });

  function expectClean(r: EvalResult): void {
    expect(r.failedAssertions).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.evalWarnings).toEqual([]);
  }

  function expectVerified(r: EvalResult): void {
    const v = verifyEvaluation(r);
    expect(v.problems).toEqual([]);
    expect(v.code).toBe(0);
  }

  /** The store file whose name ends with `-<name>` (the stub writers keep the name). */
  function storeFile(r: EvalResult, name: string): [string, StoreFile] {
    const hits = Object.entries(r.files).filter(([p]) => p.endsWith(`-${name}`) || p.endsWith(`-${name}/bin/${name}`));
    expect(hits).toHaveLength(1);
    return hits[0];
  }

  /** `Key=value` lines of one section, in order. */
  function section(text: string, name: string): string[] {
    const lines = text.split("\n");
    const start = lines.indexOf(`[${name}]`);
    if (start < 0) return [];
    const end = lines.findIndex((l, i) => i > start && /^\[.+\]$/.test(l));
    return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l !== "");
  }

  test("the harness says which NixOS it evaluates with", () => {
    expect(fs.existsSync(path.join(ev.source.nixpkgs, "nixos/modules/services/backup/restic.nix"))).toBe(true);
    expect(fs.existsSync(path.join(ev.source.agenix, "modules/age.nix"))).toBe(true);
    expect(ev.source.description).toMatch(/^nixpkgs .* \((NIXOS_EVAL_NIXPKGS|<nixpkgs> on the Nix search path)\), agenix .* \((NIXOS_EVAL_AGENIX|<agenix> on the Nix search path)\)$/);
  });

  // ---------------------------------------------------------------------------
  // Every option combination the renderer supports (VARIANTS)
  // ---------------------------------------------------------------------------

  describe.each(VARIANTS)("%s", (_name, over) => {
    const b = backupFor(over);
    const name = b.backupName;
    const unit = `restic-backups-${name}`;
    let r: EvalResult;
    beforeAll(() => {
      r = evaluate(b);
    });

    test("no failed assertion, no warning", () => {
      expectClean(r);
    });

    test("credentials, repository and password on the agenix paths", () => {
      const svc = r.services[unit];
      expect(unitValues(svc, "Service", "EnvironmentFile")).toEqual([`/run/agenix/restic-b2-${name}-env`]);
      expect(unitValues(svc, "Service", "Environment")).toEqual(
        expect.arrayContaining([`"RESTIC_REPOSITORY_FILE=/run/agenix/restic-b2-${name}-repo"`, `"RESTIC_PASSWORD_FILE=/run/agenix/restic-b2-${name}-password"`]),
      );
      expect(unitValues(svc, "Service", "Environment").filter((e) => /RESTIC_REPOSITORY=|RESTIC_PASSWORD=/.test(e))).toEqual([]);
      expect(r.ageSecrets).toEqual(
        Object.fromEntries(
          ["env", "repo", "password"].map((k) => [
            `restic-b2-${name}-${k}`,
            { name: `restic-b2-${name}-${k}`, path: `/run/agenix/restic-b2-${name}-${k}`, mode: "0400", owner: "root", group: "root", symlink: true, file: expect.stringMatching(new RegExp(`/secrets/${k}\\.age$`)) },
          ]),
        ),
      );
      expect(r.identityPaths).toEqual(["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ed25519_key"]);
    });

    test("OnFailure= exactly when notifications are on", () => {
      const svc = r.services[unit];
      const notify = backupLayout(name).backupNotifyUnit;
      if (b.notify) {
        expect(unitValues(svc, "Unit", "OnFailure")).toEqual([`${notify}.service`]);
        const n = r.services[notify];
        expect(unitValues(n, "Service", "User")).toEqual([b.notify.user]);
        expect(unitValues(n, "Service", "Type")).toEqual(["oneshot"]);
        expect(unitValues(n, "Service", "SupplementaryGroups")).toEqual(["systemd-journal"]);
        expect(unitValues(n, "Service", "Environment")).toContain(`"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/${b.notify.uid}/bus"`);
        expect(r.systemPackages).toContain("libnotify-stub");
      } else {
        expect(unitValues(svc, "Unit", "OnFailure")).toEqual([]);
        expect(Object.keys(r.services)).toEqual([unit]);
      }
    });

    test("the timer has exactly the configured settings", () => {
      expect(Object.keys(r.timers)).toEqual([unit]);
      const expected = Object.keys(b.timerConfig).sort().map((k) => `${k}=${String(b.timerConfig[k])}`);
      expect(section(r.timers[unit], "Timer")).toEqual(expected);
      expect(section(r.timers[unit], "Install")).toEqual(["WantedBy=timers.target"]);
    });

    test("ExecStart= runs backup, check and the prune step with exactly the configured arguments", () => {
      const svc = r.services[unit];
      const exec = unitValues(svc, "Service", "ExecStart");
      const restic = exec[0].split(" ")[0];
      expect(restic).toMatch(/^\/nix\/store\/[0-9a-f]{32}-restic-stub\/bin\/restic$/);
      const excludeFile = b.exclude.length > 0 ? [`--exclude-file=${storeFile(r, "exclude-patterns")[0]}`] : [];
      const runCheck = b.runCheck ?? b.checkOpts.length > 0;
      // The prune is the module's own step (lib/nix/backup-steps.ts), added after
      // the restic module's list: a locked repository is a warning there.
      const prune =
        `${stubPackagePath("systemd")}/bin/systemd-cat --identifier=restic-b2-prune ${storeFile(r, "restic-b2-prune")[0]} --restic ${restic}` +
        ` --state-dir /var/lib/restic-b2/${name} --retry-lock 2h --skip-limit 7 -- ${b.pruneOpts.map(resticOptionText).join(" ")}`;
      expect(exec).toEqual([
        [`${restic} backup`, ...b.extraBackupArgs.map(resticOptionText), ...excludeFile, `--files-from=/run/restic-backups-${name}/includes`].join(" "),
        ...(runCheck ? [`${restic} check ${b.checkOpts.map(resticOptionText).join(" ")}`] : []),
        ...(b.pruneOpts.length > 0 ? [prune] : []),
      ]);
    });

    test("the store files hold exactly the paths and exclude lines", () => {
      const [staticPaths, paths] = storeFile(r, "staticPaths");
      expect(paths.text).toBe(staticPathsText(b.paths.map(filesFromLine)));
      const [, preStart] = storeFile(r, `${unit}-pre-start`);
      expect(preStart.text).toContain(`\ncat ${staticPaths} >> /run/restic-backups-${name}/includes\n`);
      if (b.exclude.length > 0) expect(storeFile(r, "exclude-patterns")[1].text).toBe(excludePatternsText(b.exclude.map(excludeFileLine)));
      else expect(Object.keys(r.files).filter((p) => p.endsWith("-exclude-patterns"))).toEqual([]);
    });

    test("the repository guard (lib/nix/repo-guard.ts): first in the pre-start, before `restic cat config || restic init`; record after the backup", () => {
      const [, preStart] = storeFile(r, `${unit}-pre-start`);
      const idFile = `'--id-file' '${backupLayout(name).repositoryIdFile}'`;
      const guard = preStart.text.indexOf(` check --restic `);
      expect(guard).toBeGreaterThan(-1);
      expect(preStart.text).toContain(idFile);
      expect(preStart.text.search(/cat config[^\n]*\|\|[^\n]* init/)).toBeGreaterThan(guard);
      const [, postStart] = storeFile(r, `${unit}-post-start`);
      expect(postStart.text).toContain(` record --restic `);
      expect(postStart.text).toContain(idFile);
      expect(unitValues(r.services[unit], "Service", "ExecStartPost")).toHaveLength(1);
    });

    test("systemd-analyze verify accepts every unit", () => {
      expectVerified(r);
    });
  });

  // ---------------------------------------------------------------------------
  // The harness can fail
  // ---------------------------------------------------------------------------

  describe("the harness reports what NixOS refuses", () => {
    const base = () => backupFor({});

    test("agenix's own assertion when the host has no SSH host keys", () => {
      const r = ev.evaluateModule(renderFor(base()), { opensshEnable: false });
      expect(r.failedAssertions.join("\n")).toMatch(/age\.identityPaths must be set/);
    });

    test("an unknown restic option", () => {
      const text = renderFor(base()).replace("initialize = true;", "initialize = true;\n    pathz = [ ];");
      expect(() => ev.evaluateModule(text)).toThrow(/pathz.*does not exist/s);
    });

    test("age.secrets without the agenix module (agenixModule: provided on a host without agenix)", () => {
      expect(() => ev.evaluateModule(renderFor(base()), { importAgenix: false })).toThrow(/option `age' does not exist|age\.secrets.*does not exist/s);
    });

    test("a fetchTarball import of an agenix the harness does not have", () => {
      const b = backupFor({ agenixModule: "https://example.org/other-agenix.tar.gz" });
      expect(() => evaluate(b)).toThrow(/offline, cannot fetch https:\/\/example\.org\/other-agenix\.tar\.gz/);
    });

    test("the restic module's own assertion", () => {
      const text = renderFor(base()).replace(/ {4}environmentFile = .*\n/, "").replace(/ {4}passwordFile = .*\n/, "");
      expect(ev.evaluateModule(text).failedAssertions.join("\n")).toMatch(/passwordFile or environmentFile must be set/);
    });

    test("config.warnings and evaluation warnings (lib.warn) are collected", () => {
      const text = renderFor(base()).replace("{ config, pkgs, lib, ... }:\n\n{", '{ config, pkgs, lib, ... }:\n\n{\n  warnings = [ (lib.warn "an evaluation warning" "a module warning") ];');
      const r = ev.evaluateModule(text);
      expect(r.warnings).toEqual(["a module warning"]);
      expect(r.evalWarnings.join("\n")).toMatch(/an evaluation warning/);
    });

    test("systemd-analyze verify refuses a bad unit", () => {
      const r = evaluate(base());
      const svc = r.services["restic-backups-daily"].replace("--files-from=", "--files-from=%z");
      const v = verifyUnits({ "restic-backups-daily.service": svc }, r.files);
      expect(v.code).not.toBe(0);
      expect(v.problems.join("\n")).toMatch(/specifier/i);
    });
  });

  // ---------------------------------------------------------------------------
  // Parser rules that guard a NixOS type (TYPE_GUARDS): NixOS itself refuses the
  // value the parser refuses (nix-values.test.ts checks the parser's half)
  // ---------------------------------------------------------------------------

  describe.each(TYPE_GUARDS)("parser rule: %s", (_name, _bad, _parserMessage, mutate, nixosError) => {
    test("NixOS itself would refuse it with a type error", () => {
      const text = renderFor(backupFor({ notifyUser: "alice", notifyUid: "1000" }));
      const broken = mutate(text);
      expect(broken).not.toBe(text);
      let err: unknown;
      try {
        const r = ev.evaluateModule(broken);
        // Some values pass the type but break the unit: then systemd refuses it.
        err = new Error(verifyEvaluation(r).problems.join("\n") || "accepted");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(nixosError);
    });
  });

  // ---------------------------------------------------------------------------
  // Hostile user strings the parser accepts arrive exactly (*_CASES)
  // ---------------------------------------------------------------------------

  describe("accepted hostile values arrive exactly", () => {
    test("paths: the --files-from file holds the exact glob of each path; units verify", () => {
      const paths = exactValues(PATH_CASES);
      const b = backupFor({ paths: j(paths) });
      const r = evaluate(b);
      expectClean(r);
      expect(r.restic.daily.paths).toEqual(paths.map(filesFromLine));
      expect(storeFile(r, "staticPaths")[1].text).toBe(staticPathsText(paths.map(filesFromLine)));
      expectVerified(r);
    });

    test("exclude: the --exclude-file holds each pattern in exclude-file syntax; units verify", () => {
      const patterns = exactValues(EXCLUDE_CASES);
      const b = backupFor({ exclude: j(patterns) });
      const r = evaluate(b);
      expectClean(r);
      expect(storeFile(r, "exclude-patterns")[1].text).toBe(excludePatternsText(patterns.map(excludeFileLine)));
      expect(storeFile(r, "exclude-patterns")[1].text.split("\n")).toEqual(
        expect.arrayContaining(["$$HOME", "$${X}.bak", "\\#recent", "100%", "\\*literal", "[ab]c", '"q" \'q\''] as string[]),
      );
      expectVerified(r);
    });

    test.each(["extraBackupArgs", "pruneOpts", "checkOpts"])("%s: each option is exactly its words on the ExecStart line; units verify", (key) => {
      const opts = exactValues(OPTION_CASES);
      const b = backupFor({ [key]: j(opts) });
      const r = evaluate(b);
      expectClean(r);
      const exec = unitValues(r.services["restic-backups-daily"], "Service", "ExecStart").join("\n");
      for (const o of opts) expect(exec).toContain(` ${resticOptionText(o)}`);
      expect(exec).toContain(' --tag "my tag"');
      expect(exec).toContain(' "--host=%%H %%h %%z %%%%"'); // "--host=%H %h %z %%": one word, no specifier left
      expect(exec).toContain(' --tag "$$HOME$${X}$$$$"');
      expect(exec).toContain(' --tag ";"');
      expectVerified(r);
    });

    test("timer values: the [Timer] lines hold them; units verify", () => {
      for (const entry of exactValues(TIMER_CASES)) {
        const entries = entry.startsWith("OnCalendar=") ? [entry] : ["OnCalendar=daily", entry];
        const r = evaluate(backupFor({ timerConfig: j(entries) }));
        expectClean(r);
        expect(section(r.timers["restic-backups-daily"], "Timer")).toEqual(entries);
        expectVerified(r);
      }
    });

    test("backupName and notifyUser: unit names and User= as given; units verify", () => {
      const r = evaluate(backupFor({ backupName: exactValues(NAME_CASES)[0], notifyUser: exactValues(USER_CASES)[0], notifyUid: "1000" }));
      expectClean(r);
      expect(Object.keys(r.services).sort()).toEqual(["restic-backups-b2_home-1", "restic-backups-b2_home-1-notify-failure"]);
      expect(unitValues(r.services["restic-backups-b2_home-1-notify-failure"], "Service", "User")).toEqual(["alice_2-x"]);
      expectVerified(r);
    });

    test("all of them at once in one module", () => {
      const r = evaluate(
        backupFor({
          paths: j(exactValues(PATH_CASES)),
          exclude: j(exactValues(EXCLUDE_CASES)),
          extraBackupArgs: j(exactValues(OPTION_CASES)),
          pruneOpts: j(exactValues(OPTION_CASES)),
          checkOpts: j(exactValues(OPTION_CASES)),
          timerConfig: j(exactValues(TIMER_CASES).filter((e, i, all) => all.findIndex((x) => x.split("=")[0] === e.split("=")[0]) === i)),
          notifyUser: "alice",
          notifyUid: "1000",
        }),
      );
      expectClean(r);
      expectVerified(r);
    });
  });

  test("why paths go through --files-from: with paths = [ ] the restic module runs no backup, so --files-from-verbatim in extraBackupArgs cannot replace them", () => {
    const text = renderFor(backupFor({}))
      .replace(/paths = \[\n\s*"\/home"\n\s*\];/, "paths = [ ];")
      .replace("extraBackupArgs = [ ];", 'extraBackupArgs = [ "--files-from-verbatim=${pkgs.writeText "paths" "/home"}" ];');
    const r = ev.evaluateModule(text);
    expectClean(r);
    const exec = unitValues(r.services["restic-backups-daily"], "Service", "ExecStart");
    expect(exec.some((l) => / backup /.test(l))).toBe(false);
    expect(exec.some((l) => / --identifier=restic-b2-prune /.test(l))).toBe(true);
  });
});
