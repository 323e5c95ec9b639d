// The generated module in the real NixOS module system (test/support/nixos-eval.ts):
// every option combination the renderer supports evaluates with no failed
// assertion and no warning, the units hold exactly the expected lines, and
// `systemd-analyze verify` accepts them; the parser refuses what NixOS would
// refuse; hostile user strings reach systemd and restic byte-exact or are
// refused with a message naming the key.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, RawConfig, parseConfig } from "../../lib/config";
import type { BackupConfig } from "../../lib/config/types";
import {
  excludeFileLine,
  filesFromLine,
  renderModule,
  resticOptionText,
  systemdEscape,
} from "../../lib/nix";
import { backupLayout } from "../../lib/host/layout";
import { moduleOptions } from "../support/nix-module-fixtures";
import { EvalResult, NixosEval, StoreFile, unitValues, verifyEvaluation, verifyUnits } from "../support/nixos-eval";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@nixos-dev";
const BASE: RawConfig = { hostKey: HOST_KEY, host: "nixos.lan", paths: JSON.stringify(["/home"]), agenixModule: "provided" };
const j = (v: unknown) => JSON.stringify(v);

function backupFor(over: RawConfig): BackupConfig {
  return parseConfig({ ...BASE, ...over }, {}, "laptop").backup;
}

function refusal(over: RawConfig): string {
  try {
    parseConfig({ ...BASE, ...over }, {}, "laptop");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(over)} to be refused`);
}

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
  expect(ev.source.description).toMatch(ev.source.kind === "archive" ? /sha256 checked/ : /nixpkgs/);
});

// ---------------------------------------------------------------------------
// Every option combination the renderer supports
// ---------------------------------------------------------------------------

const VARIANTS: [string, RawConfig][] = [
  ["default (agenix provided by the host)", {}],
  ["generated agenix import (builtins.fetchTarball of the pinned commit)", { agenixModule: "" }],
  ["generated agenix import with sha256", { agenixModule: "", agenixSha256: "0".repeat(52) }],
  ["notifications on", { notifyUser: "alice", notifyUid: "1000" }],
  [
    "full",
    {
      backupName: "nightly",
      paths: j(["/home", "/etc/nixos", "/var/lib/with space", "/srv/[2020] photos"]),
      exclude: j(["/home/*/.cache", "*.tmp", "$RECYCLE.BIN", "#recent"]),
      pruneOpts: j(["--keep-daily 7", "--keep-weekly 5", "--keep-monthly 12", "--keep-tag=keep forever"]),
      extraBackupArgs: j(["--one-file-system", "--exclude-caches", "--tag nightly %h", "--host=laptop"]),
      checkOpts: j(["--read-data-subset=5%"]),
      runCheck: "true",
      timerConfig: j(["OnCalendar=*-*-* 02:30:00", "RandomizedDelaySec=1h", "Persistent=true"]),
      notifyUser: "alice",
      notifyUid: "1000",
    },
  ],
  ["no pruning", { pruneOpts: "[]" }],
  ["exclude patterns", { exclude: j(["/home/*/.cache", "**/node_modules", "!important.tmp", "*.tmp"]) }],
  ["timer: calendar with weekdays and a time zone", { timerConfig: j(["OnCalendar=Mon..Fri *-*-* 02:30:00 Europe/Berlin", "Persistent=true"]) }],
  ["timer: monotonic", { timerConfig: j(["OnBootSec=15min", "OnUnitActiveSec=1d"]) }],
  [
    "timer: randomized delay, accuracy, no catch-up",
    { timerConfig: j(["OnCalendar=daily", "RandomizedDelaySec=1h 30min", "FixedRandomDelay=true", "AccuracySec=1min", "Persistent=false"]) },
  ],
  [
    "timer: every setting the parser knows",
    {
      timerConfig: j([
        "OnActiveSec=1h", "OnBootSec=10min", "OnStartupSec=20min", "OnUnitActiveSec=1d", "OnUnitInactiveSec=2d",
        "OnCalendar=weekly", "AccuracySec=1s", "RandomizedDelaySec=5m", "FixedRandomDelay=false", "OnClockChange=false",
        "OnTimezoneChange=false", "Persistent=true", "WakeSystem=false", "RemainAfterElapse=true",
      ]),
    },
  ],
  ["checkOpts only (runCheck follows them)", { checkOpts: j(["--read-data-subset 1/10"]) }],
  ["checkOpts with runCheck false", { checkOpts: j(["--read-data"]), runCheck: "false" }],
  ["runCheck true without checkOpts", { runCheck: "true" }],
  ["a backup name that is not a Nix identifier", { backupName: "2nightly", notifyUser: "bob", notifyUid: "1001" }],
  ["nixosRelease 24.05 with checks", { nixosRelease: "24.05", checkOpts: j(["--read-data-subset=1%"]), runCheck: "true" }],
  ["nixosRelease 21.11, the oldest", { nixosRelease: "21.11" }],
];

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

  test("ExecStart= runs backup, prune and check with exactly the configured arguments", () => {
    const svc = r.services[unit];
    const exec = unitValues(svc, "Service", "ExecStart");
    const restic = exec[0].split(" ")[0];
    expect(restic).toMatch(/^\/nix\/store\/[0-9a-f]{32}-restic-stub\/bin\/restic$/);
    const excludeFile = b.exclude.length > 0 ? [`--exclude-file=${storeFile(r, "exclude-patterns")[0]}`] : [];
    const runCheck = b.runCheck ?? b.checkOpts.length > 0;
    expect(exec).toEqual([
      [`${restic} backup`, ...b.extraBackupArgs.map(resticOptionText), ...excludeFile, `--files-from=/run/restic-backups-${name}/includes`].join(" "),
      ...(b.pruneOpts.length > 0 ? [`${restic} unlock`, `${restic} forget --prune ${b.pruneOpts.map(resticOptionText).join(" ")}`] : []),
      ...(runCheck ? [`${restic} check ${b.checkOpts.map(resticOptionText).join(" ")}`] : []),
    ]);
  });

  test("the store files hold exactly the paths and exclude lines", () => {
    const [staticPaths, paths] = storeFile(r, "staticPaths");
    expect(paths.text).toBe(b.paths.map(filesFromLine).map((l) => `${l}\n`).join(""));
    const [, preStart] = storeFile(r, `${unit}-pre-start`);
    expect(preStart.text).toContain(`\ncat ${staticPaths} >> /run/restic-backups-${name}/includes\n`);
    if (b.exclude.length > 0) expect(storeFile(r, "exclude-patterns")[1].text).toBe(b.exclude.map(excludeFileLine).join("\n"));
    else expect(Object.keys(r.files).filter((p) => p.endsWith("-exclude-patterns"))).toEqual([]);
  });

  test("systemd-analyze verify accepts every unit", () => {
    expectVerified(r);
  });
});

test("importMode and deploy change where the module goes, not its bytes", () => {
  const text = (over: RawConfig) => renderFor(backupFor(over));
  expect(text({ importMode: "manual" })).toBe(text({ importMode: "auto" }));
  expect(text({ deploy: "false" })).toBe(text({}));
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

  test("without NixOS sources the harness fails, saying what to install", () => {
    const saved = { ...process.env };
    try {
      process.env.NIXOS_EVAL_SOURCE = "nixpkgs"; // skip the archives
      process.env.NIX_PATH = "nixpkgs=/nonexistent";
      delete process.env.NIXOS_EVAL_NIXPKGS;
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fresh = require("../support/nixos-eval") as typeof import("../support/nixos-eval");
        expect(() => fresh.nixosEvalSource()).toThrow(/no NixOS sources found\. The NixOS module-system tests need Nix and the NixOS sources\. Install nix-instantiate/);
      });
    } finally {
      process.env = saved;
    }
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
// Parser rules that guard a NixOS type: the parser refuses first, and the same
// value in the module is refused by NixOS itself (so the rule is needed).
// ---------------------------------------------------------------------------

const TYPE_GUARDS: [string, RawConfig, RegExp, (text: string) => string, RegExp][] = [
  ["paths is a list", { paths: j("/home") }, /paths: must be a list of strings/, (t) => t.replace(/paths = \[\n\s*"\/home"\n\s*\];/, 'paths = "/home";'), /paths' is not of type `null or \(list of string\)'/],
  ["paths entries are strings", { paths: "[1]" }, /paths: must be a list of strings/, (t) => t.replace(/paths = \[\n\s*"\/home"\n\s*\];/, "paths = [ 1 ];"), /paths\.\"\[definition 1-entry 1\]\"' is not of type `string'/],
  ["exclude is a list of strings", { exclude: j("*.tmp") }, /exclude: must be a list of strings/, (t) => t.replace("    pruneOpts", '    exclude = "*.tmp";\n    pruneOpts'), /exclude' is not of type `list of string'/],
  ["pruneOpts entries are strings", { pruneOpts: "[7]" }, /pruneOpts: must be a list of strings/, (t) => t.replace(/pruneOpts = \[[^\]]*\];/, "pruneOpts = [ 7 ];"), /pruneOpts\.\"\[definition 1-entry 1\]\"' is not of type `string'/],
  ["extraBackupArgs is a list", { extraBackupArgs: j("--one-file-system") }, /extraBackupArgs: must be a list of strings/, (t) => t.replace("extraBackupArgs = [ ];", 'extraBackupArgs = "--one-file-system";'), /extraBackupArgs' is not of type `list of string'/],
  ["checkOpts entries are strings", { checkOpts: "[true]" }, /checkOpts: must be a list of strings/, (t) => t.replace("extraBackupArgs = [ ];", "extraBackupArgs = [ ];\n    checkOpts = [ true ];"), /checkOpts\.\"\[definition 1-entry 1\]\"' is not of type `string'/],
  ["runCheck is a boolean", { runCheck: "yes" }, /runCheck: must be true or false/, (t) => t.replace("extraBackupArgs = [ ];", 'extraBackupArgs = [ ];\n    runCheck = "yes";'), /runCheck' is not of type `boolean'/],
  ["timerConfig is Key=Value settings", { timerConfig: j(["daily"]) }, /timerConfig: each entry must be a systemd \[Timer\] setting written Key=Value/, (t) => t.replace(/timerConfig = \{[^}]*\};/, 'timerConfig = "daily";'), /timerConfig' is not of type `null or \(attribute set of \(systemd option\)\)'/],
  ["timerConfig values are strings or booleans", { timerConfig: j(["Persistent=[true]"]) }, /Persistent must be true or false/, (t) => t.replace("Persistent = true;", "Persistent = { a = 1; };"), /cannot coerce a set to a string/],
  ["the backup name makes valid unit names", { backupName: "my backup", notifyUser: "alice", notifyUid: "1000" }, /backupName: must be 1 to 64 letters/, (t) => t.replace(/restic-backups-daily-notify-failure\.service/, "restic-backups-my backup-notify-failure.service"), /onFailure.* is not of type `string matching the pattern/s],
];

describe.each(TYPE_GUARDS)("parser rule: %s", (_name, bad, parserMessage, mutate, nixosError) => {
  test("the parser refuses the value, naming the key", () => {
    expect(refusal(bad)).toMatch(parserMessage);
  });
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
// Hostile user strings: per key and character class, exact or refused
// ---------------------------------------------------------------------------

type Outcome = "exact" | RegExp;
const CONTROL = /must not contain (line breaks or other )?control characters/;

const PATH_CASES: [string, string, Outcome][] = [
  ["inner space", "/srv/with space", "exact"],
  ["trailing space", "/srv/trailing ", "exact"],
  ["trailing no-break space", "/srv/nbsp\u00a0", "exact"],
  ["tab", "/srv/a\tb", CONTROL],
  ["double quote", '/srv/say "hi"', "exact"],
  ["single quote", "/srv/it's", "exact"],
  ["dollar", "/srv/$HOME/${x}$$", "exact"],
  ["percent", "/srv/100% %h %z", "exact"],
  ["hash", "/srv/#notes", "exact"],
  ["star", "/home/*/Documents", /paths: is a literal path: '\*' and '\?' would be wildcards/],
  ["question mark", "/srv/file?", /paths: is a literal path/],
  ["brackets", "/srv/[2020] photos/]x[", "exact"],
  ["backslash", "/srv/back\\slash\\", "exact"],
  ["semicolon and backtick", "/srv/a;b `id`", "exact"],
  ["newline", "/srv/a\nb", CONTROL],
  ["carriage return", "/srv/a\rb", CONTROL],
  ["escape character", "/srv/\x1b[31m", CONTROL],
  ["NEL (C1 control)", "/srv/a\u0085b", /paths: must not contain line breaks or other control characters/],
  ["non-ASCII", "/srv/Ünïcødé ✓ 😀", "exact"],
  ["relative", "srv", /paths: must be an absolute path/],
  ["dot-dot", "/srv/../etc", /paths: must not contain '\.\.' segments/],
];

const EXCLUDE_CASES: [string, string, Outcome][] = [
  ["inner space", "My Documents", "exact"],
  ["leading space", " lead", /exclude: each entry must be one restic exclude pattern: it must not start or end with whitespace/],
  ["trailing space", "trail ", /must not start or end with whitespace/],
  ["tab", "a\tb", CONTROL],
  ["quotes", `"q" 'q'`, "exact"],
  ["dollar", "$HOME", "exact"],
  ["dollar brace", "${X}.bak", "exact"],
  ["percent", "100%", "exact"],
  ["leading hash", "#recent", "exact"],
  ["inner hash", "a#b", "exact"],
  ["glob star", "*.tmp", "exact"],
  ["glob question", "file?.log", "exact"],
  ["class", "[ab]c", "exact"],
  ["unclosed class", "[abc", /it has a '\[' that is never closed/],
  ["escaped star", "\\*literal", "exact"],
  ["lone trailing backslash", "x\\", /it ends with a lone backslash/],
  ["negation", "!keep.tmp", "exact"],
  ["newline", "a\nb", CONTROL],
  ["non-ASCII", "Ünï ✓", "exact"],
];

const OPTION_CASES: [string, string, Outcome][] = [
  ["flag only", "--one-file-system", "exact"],
  ["inner space in the value", "--tag my tag", "exact"],
  ["= value with a space", "--tag=my tag", "exact"],
  ["two spaces", "--keep-daily  7", /the value must not start or end with whitespace/],
  ["trailing space", "--tag x ", /must not start or end with whitespace/],
  ["tab", "--tag\tx", CONTROL],
  ["double quote", '--tag "quoted"', "exact"],
  ["single quote", "--tag it's", "exact"],
  ["dollar", "--tag $HOME${X}$$", "exact"],
  ["percent specifiers", "--host=%H %h %z %%", "exact"],
  ["hash", "--tag #1", "exact"],
  ["glob characters", "--tag *?[x]", "exact"],
  ["backslash", "--tag a\\b\\", "exact"],
  ["semicolon", "--tag ;", "exact"],
  ["backtick and command substitution", "--tag `id` $(id)", "exact"],
  ["newline", "--tag a\nExecStartPost=/bin/evil", CONTROL],
  ["non-ASCII", "--tag Ünïcødé ✓ 😀", "exact"],
  ["no flag", "keep-daily 7", /each entry must be one restic option/],
  ["empty value", "--tag=", /the value after the flag must not be empty/],
];

const TIMER_CASES: [string, string, Outcome][] = [
  ["calendar with spaces", "OnCalendar=Mon..Fri *-*-* 02:30:00", "exact"],
  ["time zone", "OnCalendar=*-*-* 02:00 America/Port-au-Prince", "exact"],
  ["time span", "RandomizedDelaySec=1h 30min", "exact"],
  ["trailing space", "OnCalendar=daily ", /value may only hold letters, digits, single spaces/],
  ["tab", "OnCalendar=daily\tx", CONTROL],
  ["quote", 'OnCalendar="daily"', /value may only hold/],
  ["dollar", "OnCalendar=$DAY", /value may only hold/],
  ["percent", "OnCalendar=%h", /'%' would be a systemd specifier/],
  ["hash", "OnCalendar=daily #x", /value may only hold/],
  ["question mark", "OnCalendar=?", /value may only hold/],
  ["bracket", "OnCalendar=[daily]", /value may only hold/],
  ["backslash", "OnCalendar=daily\\", /value may only hold/],
  ["newline", "OnCalendar=daily\nOnBootSec=1", CONTROL],
  ["non-ASCII", "OnCalendar=Mö", /value may only hold/],
  ["boolean not true/false", "Persistent=yes", /Persistent must be true or false/],
  ["unknown setting", "OnCalender=daily", /OnCalender is not a \[Timer\] setting/],
  ["Unit= (would start another unit)", "Unit=evil.service", /Unit is not a \[Timer\] setting/],
  ["no trigger", "RandomizedDelaySec=1h", /must include a trigger/],
];

const NAME_CASES: [string, string, Outcome][] = [
  ["letters digits _ -", "b2_home-1", "exact"],
  ["space", "my backup", /backupName: must be 1 to 64 letters/],
  ["quote", 'a"b', /backupName: must be 1 to 64/],
  ["dollar", "a$b", /backupName: must be 1 to 64/],
  ["percent", "a%h", /backupName: must be 1 to 64/],
  ["hash", "a#b", /backupName: must be 1 to 64/],
  ["glob", "a*", /backupName: must be 1 to 64/],
  ["backslash", "a\\b", /backupName: must be 1 to 64/],
  ["newline", "a\nb", /backupName: must not contain control characters/],
  ["non-ASCII", "Ünï", /backupName: must be 1 to 64/],
  ["dot (unit name suffix)", "a.service", /backupName: must be 1 to 64/],
];

const USER_CASES: [string, string, Outcome][] = [
  ["plain", "alice_2-x", "exact"],
  ["space", "alice smith", /notifyUser: must be a Unix user name/],
  ["quote", "al'ice", /notifyUser: must be a Unix user name/],
  ["dollar", "al$ice", /notifyUser: must be a Unix user name/],
  ["percent", "%u", /notifyUser: must be a Unix user name/],
  ["hash", "#a", /notifyUser: must be a Unix user name/],
  ["glob", "a*", /notifyUser: must be a Unix user name/],
  ["backslash", "a\\b", /notifyUser: must be a Unix user name/],
  ["newline", "a\nb", /notifyUser: must not contain control characters/],
  ["non-ASCII", "ålice", /notifyUser: must be a Unix user name/],
];

function refusedCases(cases: [string, string, Outcome][], raw: (v: string) => RawConfig) {
  return cases.filter(([, , o]) => o !== "exact").map(([cls, v, o]) => [cls, v, o as RegExp, raw(v)] as const);
}
const exactValues = (cases: [string, string, Outcome][]) => cases.filter(([, , o]) => o === "exact").map(([, v]) => v);

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

describe("accepted hostile values arrive exactly", () => {
  test("paths: the --files-from file holds the exact glob of each path; units verify", () => {
    const paths = exactValues(PATH_CASES);
    const b = backupFor({ paths: j(paths) });
    const r = evaluate(b);
    expectClean(r);
    expect(r.restic.daily.paths).toEqual(paths.map(filesFromLine));
    expect(storeFile(r, "staticPaths")[1].text).toBe(paths.map((p) => `${filesFromLine(p)}\n`).join(""));
    expectVerified(r);
  });

  test("exclude: the --exclude-file holds each pattern in exclude-file syntax; units verify", () => {
    const patterns = exactValues(EXCLUDE_CASES);
    const b = backupFor({ exclude: j(patterns) });
    const r = evaluate(b);
    expectClean(r);
    expect(storeFile(r, "exclude-patterns")[1].text).toBe(patterns.map(excludeFileLine).join("\n"));
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
  expect(exec.some((l) => / forget --prune /.test(l))).toBe(true);
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
// restic itself reads the store files back as the user meant them
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
    const r = evaluate(backupFor({ paths: j(paths) }));
    const includes = path.join(tmp, "includes");
    fs.writeFileSync(includes, storeFile(r, "staticPaths")[1].text);
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
    const r = evaluate(backupFor({ exclude: j(patterns) }));
    const excludeFile = path.join(tmp, "excludes");
    fs.writeFileSync(excludeFile, storeFile(r, "exclude-patterns")[1].text);
    const viaFile = snapshotPaths([tree, `--exclude-file=${excludeFile}`]);
    const viaArgs = snapshotPaths([tree, ...patterns.map((p) => `--exclude=${p}`)]);
    expect(viaFile).toEqual(viaArgs);
    expect(viaFile.filter((p) => p.startsWith(tree))).toEqual([tree, ...["keep.txt", "[ab]c", "xliteral"].map((f) => path.join(tree, f))].sort());
    // The check can fail: the raw patterns as file lines mean something else ($ expanded, # a comment).
    fs.writeFileSync(excludeFile, patterns.join("\n"));
    expect(snapshotPaths([tree, `--exclude-file=${excludeFile}`])).not.toEqual(viaArgs);
  });
});
