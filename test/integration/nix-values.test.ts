// The generated module's user values, checked without nixpkgs (these run
// everywhere; test/integration/nix-eval.test.ts checks the same tables in the
// real NixOS module system where the machine has it):
//  - every option combination the renderer supports parses and evaluates
//    (nix-instantiate with stubs, test/support/nix-stubs.ts) to exactly the
//    restic options, agenix secrets, agenix import and units asked for;
//  - the parser refuses, naming the key and the value, what NixOS's types
//    would refuse, and every hostile value it must refuse; the edits that make
//    the module-system suite's NixOS refuse them still apply to the module;
//  - the hostile values it accepts evaluate to exactly the words systemd and
//    restic must get; systemd itself decodes each escaped word back to the
//    user's text; the real restic reads the path and exclude files NixOS makes
//    from those values as the user meant them.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RawConfig } from "../../lib/config";
import type { BackupConfig } from "../../lib/config/types";
import {
  EMITTED_RESTIC_OPTIONS,
  excludeFileLine,
  filesFromLine,
  renderModule,
  resticOptionText,
  systemdEscape,
} from "../../lib/nix";
import { backupLayout } from "../../lib/host/layout";
import { NixSandbox } from "../support/nix-instantiate";
import { moduleOptions } from "../support/nix-module-fixtures";
import { StubEvaluated, evaluateWithStubs, pruneStepOptions, withoutPruneStep, withoutRepoGuard } from "../support/nix-stubs";
import {
  EXCLUDE_CASES,
  NAME_CASES,
  OPTION_CASES,
  Outcome,
  PATH_CASES,
  TIMER_CASES,
  TYPE_GUARDS,
  USER_CASES,
  VARIANTS,
  backupFor,
  excludePatternsText,
  exactValues,
  j,
  refusal,
  refusedCases,
  staticPathsText,
} from "../support/nix-value-cases";
import { StoreFile, verifyUnits } from "../support/systemd-verify";

let nix: NixSandbox;
beforeAll(() => {
  nix = new NixSandbox("nix-values-test-");
});
afterAll(() => nix?.cleanup());

const renderFor = (b: BackupConfig) => renderModule(moduleOptions(b));

/** The module of `b`, checked to parse, applied to the stubs. */
function stubEvaluate(b: BackupConfig): StubEvaluated & { dir: string } {
  const file = nix.writeModule(renderFor(b));
  nix.parseFile(file);
  return { ...withoutRepoGuard(evaluateWithStubs(nix, file), b.backupName), dir: path.dirname(file) };
}

/** services.restic.backups.<name> of `b`'s module, as Nix evaluates it. */
const resticOf = (b: BackupConfig) => stubEvaluate(b).restic[b.backupName];

test("importMode and deploy change where the module goes, not its bytes", () => {
  const text = (over: RawConfig) => renderFor(backupFor(over));
  expect(text({ importMode: "manual" })).toBe(text({ importMode: "auto" }));
  expect(text({ deploy: "false" })).toBe(text({}));
});

// ---------------------------------------------------------------------------
// Every option combination the renderer supports (VARIANTS), through Nix
// ---------------------------------------------------------------------------

describe.each(VARIANTS)("%s", (_name, over) => {
  const b = backupFor(over);
  const name = b.backupName;
  let m: StubEvaluated & { dir: string };
  beforeAll(() => {
    m = stubEvaluate(b);
  });

  test("the restic options are exactly the configured values, in the words restic and systemd get", () => {
    const secret = (k: string) => `/run/agenix/restic-b2-${name}-${k}`;
    expect(m.restic).toEqual({
      [name]: {
        initialize: true,
        environmentFile: secret("env"),
        repositoryFile: secret("repo"),
        passwordFile: secret("password"),
        paths: b.paths.map(filesFromLine),
        // The prune is the module's own step (lib/nix/backup-steps.ts), below.
        pruneOpts: [],
        timerConfig: b.timerConfig,
        extraBackupArgs: b.extraBackupArgs.map(resticOptionText),
        // Newer options only when set (nixosRelease: test/unit/nix-release.test.ts).
        ...(b.exclude.length > 0 ? { exclude: b.exclude.map(excludeFileLine) } : {}),
        ...(b.checkOpts.length > 0 ? { checkOpts: b.checkOpts.map(resticOptionText) } : {}),
        ...(b.runCheck !== undefined ? { runCheck: b.runCheck } : {}),
      },
    });
    for (const o of Object.keys(m.restic[name])) expect(EMITTED_RESTIC_OPTIONS).toContain(o);
    const unit = backupLayout(name).backupUnit;
    expect(pruneStepOptions(m, unit)).toEqual(b.pruneOpts.length === 0 ? undefined : b.pruneOpts.map(resticOptionText).join(" "));
  });

  test("the three agenix secrets, readable by root alone, from the .age files beside the module", () => {
    expect(m.secrets).toEqual(
      Object.fromEntries(
        ["env", "repo", "password"].map((k) => [
          `restic-b2-${name}-${k}`,
          { file: `${m.dir}/secrets/${k}.age`, fileType: "path", mode: "0400", owner: "root", group: "root", path: `/run/agenix/restic-b2-${name}-${k}` },
        ]),
      ),
    );
  });

  test("agenix: imported by the host, or fetched from the configured URL", () => {
    if (b.agenixModule.kind === "provided") {
      expect(m.imports).toBeNull();
    } else {
      const { url, sha256 } = b.agenixModule;
      expect(m.imports).toHaveLength(1);
      const [, args] = /^\/stub-fetchTarball\/(.*)\/modules\/age\.nix$/.exec(m.imports![0]) ?? [];
      expect(JSON.parse(args)).toEqual(sha256 === undefined ? { url } : { url, sha256 });
    }
  });

  test("the notification unit exactly when notifications are on", () => {
    const notify = backupLayout(name).backupNotifyUnit;
    const services = withoutPruneStep(m, backupLayout(name).backupUnit);
    if (b.notify) {
      expect(Object.keys(services).sort()).toEqual([`restic-backups-${name}`, notify].sort());
      expect(services[`restic-backups-${name}`]).toEqual({ onFailure: [`${notify}.service`] });
      expect(m.systemd!.services[notify].serviceConfig).toMatchObject({ User: b.notify.user });
      expect(m.systemd!.services[notify].environment).toEqual({ DBUS_SESSION_BUS_ADDRESS: `unix:path=/run/user/${b.notify.uid}/bus` });
    } else {
      expect(services).toEqual({});
    }
  });
});

// ---------------------------------------------------------------------------
// Parser rules that guard a NixOS type (TYPE_GUARDS)
// ---------------------------------------------------------------------------

describe.each(TYPE_GUARDS)("parser rule: %s", (_name, bad, parserMessage, mutate) => {
  test("the parser refuses the value, naming the key", () => {
    expect(refusal(bad)).toMatch(parserMessage);
  });
  test("the module-system suite's edit still applies to the module, which still parses (NixOS's types refuse it, not Nix's grammar)", () => {
    const text = renderFor(backupFor({ notifyUser: "alice", notifyUid: "1000" }));
    const broken = mutate(text);
    expect(broken).not.toBe(text);
    nix.parseFile(nix.writeModule(broken));
  });
});

// ---------------------------------------------------------------------------
// Hostile user strings: per key and character class, exact or refused
// ---------------------------------------------------------------------------

describe.each<[string, [string, string, Outcome][], (v: string) => RawConfig]>([
  ["paths", PATH_CASES, (v) => ({ paths: j([v]) })],
  ["exclude", EXCLUDE_CASES, (v) => ({ exclude: j([v]) })],
  ["extraBackupArgs", OPTION_CASES, (v) => ({ extraBackupArgs: j([v]) })],
  ["pruneOpts", OPTION_CASES, (v) => ({ pruneOpts: j([v]) })],
  ["checkOpts", OPTION_CASES, (v) => ({ checkOpts: j([v]) })],
  ["timerConfig", TIMER_CASES, (v) => ({ timerConfig: j([v]) })],
  ["backupName", NAME_CASES, (v) => ({ backupName: v })],
  ["notifyUser", USER_CASES, (v) => ({ notifyUser: v, notifyUid: "1000" })],
])("%s: refused values name the key and say why", (key, cases, raw) => {
  const refused = refusedCases(cases, raw);
  test.each(refused.map(([cls, v, o, r]) => [cls, v, o, r]))("%s %j", (_cls, v, o, r) => {
    const msg = refusal(r as RawConfig);
    expect(msg).toContain(`nixos-restic-b2:${key}: `);
    expect(msg).toMatch(o as RegExp);
    expect(msg).toContain(JSON.stringify(v).slice(1, 40)); // the bad value is shown
  });
});

describe("accepted hostile values evaluate to exactly the words systemd and restic get", () => {
  test("all of them at once in one module", () => {
    const timer = exactValues(TIMER_CASES).filter((e, i, all) => all.findIndex((x) => x.split("=")[0] === e.split("=")[0]) === i);
    const b = backupFor({
      backupName: exactValues(NAME_CASES)[0],
      paths: j(exactValues(PATH_CASES)),
      exclude: j(exactValues(EXCLUDE_CASES)),
      extraBackupArgs: j(exactValues(OPTION_CASES)),
      pruneOpts: j(exactValues(OPTION_CASES)),
      checkOpts: j(exactValues(OPTION_CASES)),
      timerConfig: j(timer),
      notifyUser: exactValues(USER_CASES)[0],
      notifyUid: "1000",
    });
    const m = stubEvaluate(b);
    const r = m.restic["b2_home-1"];
    expect(r.paths).toEqual(exactValues(PATH_CASES).map(filesFromLine));
    expect(r.exclude).toEqual(exactValues(EXCLUDE_CASES).map(excludeFileLine));
    for (const key of ["extraBackupArgs", "checkOpts"]) expect(r[key]).toEqual(exactValues(OPTION_CASES).map(resticOptionText));
    expect(pruneStepOptions(m, "restic-backups-b2_home-1")).toBe(exactValues(OPTION_CASES).map(resticOptionText).join(" "));
    expect(r.extraBackupArgs).toEqual(expect.arrayContaining(['--tag "my tag"', '"--host=%%H %%h %%z %%%%"', '--tag "$$HOME$${X}$$$$"', '--tag ";"']));
    expect(Object.entries(r.timerConfig as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).sort()).toEqual([...timer].sort());
    expect(Object.keys(m.systemd!.services).sort()).toEqual(["restic-backups-b2_home-1", "restic-backups-b2_home-1-notify-failure"]);
    expect(m.systemd!.services["restic-backups-b2_home-1-notify-failure"].serviceConfig).toMatchObject({ User: "alice_2-x" });
  });
});

// ---------------------------------------------------------------------------
// systemd itself decodes each escaped word back to the user's text
// ---------------------------------------------------------------------------

/**
 * What systemd's command-line parser makes of systemdEscape(word): a unit
 * whose executable is `/probe/<n>/<word>` is verified under a root where only
 * that file exists. systemd either finds it (the word came back exactly) or
 * names the path it parsed in its message ("contains special characters:
 * <path>" / "<path> is not executable").
 */
function decodedBySystemd(words: string[]): string[] {
  const units: Record<string, string> = {};
  const files: Record<string, StoreFile> = {};
  words.forEach((w, i) => {
    const probe = `/probe/${i}/${w}`;
    units[`probe${i}.service`] = `[Service]\nType=oneshot\nExecStart=${systemdEscape(probe, "exec-arg")}\n`;
    // `$$` stays `$$` when the unit is loaded; systemd turns it into `$` when it
    // runs the command (systemd.service(5), "Command lines").
    files[probe.replace(/\$/g, "$$$$")] = { text: "#!/bin/sh\n", executable: true };
  });
  const v = verifyUnits(units, {}, files);
  return words.map((w, i) => {
    const mine = v.problems.filter((l) => l.includes(`probe${i}.service`) || l.includes(`/probe/${i}/`));
    for (const l of mine) {
      const m = / contains special characters: (\/probe\/.*)$/.exec(l) ?? /Command (\/probe\/.*) is not executable/.exec(l);
      if (m) return m[1].slice(`/probe/${i}/`.length);
    }
    return mine.length === 0 ? w.replace(/\$/g, "$$$$") : `unparsed: ${mine.join(" | ")}`;
  });
}

test("systemd decodes every escaped word to exactly the user's text", () => {
  const words = [
    "plain", "my tag", "say \"hi\"", "it's", "a\\b\\", "100% %h %z %%", "#1", "*?[x]", ";", "`id` $(id)", "Ünïcødé ✓ 😀",
    "$HOME${X}$$", " lead", "trail ", "a'b\"c\\d",
  ];
  const expected = words.map((w) => w.replace(/\$/g, "$$$$"));
  expect(decodedBySystemd(words)).toEqual(expected);
  // The probe can fail: unescaped, systemd expands the specifier.
  const raw = verifyUnits({ "raw.service": "[Service]\nType=oneshot\nExecStart=/probe/%h\n" }, {}, { "/probe/%h": { text: "#!/bin/sh\n", executable: true } });
  expect(raw.problems.join("\n")).toMatch(/\/probe\/\/root|not executable/);
});

// ---------------------------------------------------------------------------
// restic itself reads the files NixOS makes from the values as the user meant them
// (the values as Nix evaluates them; the files as NixOS's restic module writes
// them: staticPathsText, excludePatternsText, whose bytes nix-eval.test.ts checks)
// ---------------------------------------------------------------------------

describe("restic reads the generated files as the user meant them", () => {
  let tmp: string;
  const env = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: path.join(tmp, "home"), RESTIC_PASSWORD: "test", RESTIC_CACHE_DIR: path.join(tmp, "cache") });
  const restic = (args: string[]) => {
    const r = spawnSync("restic", args, { env: env(), encoding: "utf8" });
    if (r.error) throw new Error(`restic is required (Debian: apt-get install restic): ${r.error.message}`);
    return r;
  };
  let repoN = 0;
  /** Backs up with the given arguments into a fresh repository; returns the sorted paths in the snapshot. */
  const snapshotPaths = (args: string[]): string[] => {
    const repo = path.join(tmp, `repo${repoN++}`);
    expect(restic(["-r", repo, "init"]).status).toBe(0);
    const b = restic(["-r", repo, "backup", "--host", "t", ...args]);
    if (b.status !== 0) throw new Error(`restic backup failed: ${b.stderr}`);
    const ls = restic(["-r", repo, "ls", "--json", "latest"]);
    expect(ls.status).toBe(0);
    return ls.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { struct_type: string; path?: string })
      .filter((n) => n.struct_type === "node")
      .map((n) => n.path!)
      .sort();
  };

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "restic-exact-"));
    fs.mkdirSync(path.join(tmp, "home"));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("paths: --files-from with the generated file backs up exactly the literal paths", () => {
    const tree = path.join(tmp, "tree");
    const names = ["[2020] a", "trail ", "nbsp\u00a0", "back\\slash", "100% done", "$HOME", "#hash", 'quote"s', "Ünï ✓", "semi;colon", "sp ace", "br]acket"];
    // What the unescaped lines would match instead (globbing, trimming, comments).
    const decoys = ["2 a", "trail", "nbsp", "backslash"];
    for (const n of [...names, ...decoys]) {
      fs.mkdirSync(path.join(tree, n), { recursive: true });
      fs.writeFileSync(path.join(tree, n, "f"), n);
    }
    const paths = names.map((n) => path.join(tree, n));
    const includes = path.join(tmp, "includes");
    fs.writeFileSync(includes, staticPathsText(resticOf(backupFor({ paths: j(paths) })).paths as string[]));
    const viaFile = snapshotPaths([`--files-from=${includes}`]);
    const literal = snapshotPaths(paths);
    expect(viaFile).toEqual(literal);
    for (const n of names) expect(viaFile).toContain(path.join(tree, n, "f"));
    for (const d of decoys) expect(viaFile).not.toContain(path.join(tree, d, "f"));
    // The check can fail: the raw paths as --files-from lines pick up the decoys or lose paths.
    fs.writeFileSync(includes, paths.join("\n") + "\n");
    expect(snapshotPaths([`--files-from=${includes}`])).not.toEqual(literal);
  });

  test("exclude: --exclude-file with the generated file excludes what --exclude <pattern> excludes", () => {
    const tree = path.join(tmp, "xtree");
    const files = ["keep.txt", "$HOME", "#recent", "ac", "bc", "[ab]c", "*literal", "xliteral", "a.tmp", "My Documents", "100%", "Ünï ✓", "file1.log", "${X}.bak", '"q" \'q\''];
    fs.mkdirSync(tree, { recursive: true });
    for (const f of files) fs.writeFileSync(path.join(tree, f), f);
    const patterns = ["$HOME", "${X}.bak", "#recent", "[ab]c", "\\*literal", "*.tmp", "My Documents", "100%", "Ünï ✓", "file?.log", '"q" \'q\''];
    const excludeFile = path.join(tmp, "excludes");
    fs.writeFileSync(excludeFile, excludePatternsText(resticOf(backupFor({ exclude: j(patterns) })).exclude as string[]));
    const viaFile = snapshotPaths([tree, `--exclude-file=${excludeFile}`]);
    const viaArgs = snapshotPaths([tree, ...patterns.map((p) => `--exclude=${p}`)]);
    expect(viaFile).toEqual(viaArgs);
    expect(viaFile.filter((p) => p.startsWith(tree))).toEqual([tree, ...["keep.txt", "[ab]c", "xliteral"].map((f) => path.join(tree, f))].sort());
    // The check can fail: the raw patterns as file lines mean something else ($ expanded, # a comment).
    fs.writeFileSync(excludeFile, patterns.join("\n"));
    expect(snapshotPaths([tree, `--exclude-file=${excludeFile}`])).not.toEqual(viaArgs);
  });
});
