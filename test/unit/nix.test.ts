// Pure tests of lib/nix/. The real Nix evaluator checks the same outputs in
// test/integration/nix-instantiate.test.ts; here the exact source text is
// checked line by line (no snapshots).

import { readFileSync } from "node:fs";
import type { BackupConfig } from "../../lib/config/types";
import { DEFAULT_DRILL_SETTINGS } from "../../lib/config";
import {
  EMITTED_RESTIC_OPTIONS,
  excludeFileLine,
  filesFromLine,
  nixAttrName,
  nixString,
  nixValue,
  renderModule,
  resticOptionText,
  systemdEscape,
} from "../../lib/nix";
import { backupPathProblem, excludePatternProblem, resticOptionProblem } from "../../lib/config/restic-rules";
import { backupLayout } from "../../lib/host/layout";
import { PRUNE_SCRIPT, REPO_LOCK_SCRIPT } from "../../lib/host/scripts";
import {
  AGENIX_SHA256,
  AGENIX_URL,
  HOSTILE,
  SECRET_FILES,
  defaultBackup,
  fullBackup,
  moduleOptions,
} from "../support/nix-module-fixtures";
import { fixturePath } from "../support/shared";

// The option list of current nixpkgs (services.restic.backups.<name>), kept
// outside the repository; NIXOS_RESTIC_OPTIONS_JSON points elsewhere.
const OPTIONS_JSON: Record<string, unknown> = JSON.parse(
  readFileSync(fixturePath("nixos-restic-options.json"), "utf8"),
);

const render = (b: BackupConfig) => renderModule(moduleOptions(b));
const lines = (text: string) => text.split("\n");

/** The lines of the attrset opened by the line `opener` (exactly, with indentation), up to its closing line. */
function block(text: string, opener: string): string[] {
  const ls = lines(text);
  const start = ls.indexOf(opener);
  if (start < 0) throw new Error(`no line ${JSON.stringify(opener)} in:\n${text}`);
  const indent = opener.length - opener.trimStart().length;
  const end = ls.findIndex((l, i) => i > start && l.length > 0 && l.length - l.trimStart().length === indent);
  if (end < 0) throw new Error(`block ${opener} not closed`);
  return ls.slice(start, end + 1);
}

/** Names of the options set directly inside services.restic.backups.daily. */
function resticOptionNames(text: string): string[] {
  return block(text, "  services.restic.backups.daily = {")
    .map((l) => /^ {4}([A-Za-z]+) = /.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

describe("nixString", () => {
  test.each<[string, string, string]>([
    ["empty", "", '""'],
    ["plain", "/home/alice", '"/home/alice"'],
    ["double quote", 'a"b', '"a\\"b"'],
    ["backslash", "a\\b", '"a\\\\b"'],
    ["interpolation", "${x}", '"\\${x}"'],
    ["interpolation of a builtin", "${builtins.readFile /etc/shadow}", '"\\${builtins.readFile /etc/shadow}"'],
    ["lone dollar", "$", '"$"'],
    ["trailing dollar", "a$", '"a$"'],
    ["double dollar", "$$", '"$$"'],
    ["dollar before interpolation", "$${x}", '"$\\${x}"'],
    ["backslash before interpolation", "\\${x}", '"\\\\\\${x}"'],
    ["dollar then brace split by text", "$ {x}", '"$ {x}"'],
    ["unterminated interpolation", "${", '"\\${"'],
    ["closing brace", "}", '"}"'],
    ["newline", "a\nb", '"a\\nb"'],
    ["carriage return", "a\rb", '"a\\rb"'],
    ["CRLF", "a\r\n", '"a\\r\\n"'],
    ["tab", "a\tb", '"a\\tb"'],
    ["single quote", "it's", '"it\'s"'],
    ["indented-string escape", "''${x}", "\"''\\${x}\""],
    ["backticks and command substitution", "`id` $(id)", '"`id` $(id)"'],
    ["non-ASCII", "Ünïcødé ✓", '"Ünïcødé ✓"'],
    ["astral plane", "😀", '"😀"'],
    ["other control characters pass through", "\x01\x1b\x7f", '"\x01\x1b\x7f"'],
  ])("%s", (_name, input, expected) => {
    expect(nixString(input)).toBe(expected);
  });

  test.each<[string, string]>([
    ["NUL", "\0"],
    ["NUL inside", "a\0b"],
    ["lone high surrogate", "a\uD800"],
    ["lone low surrogate", "\uDC00a"],
    ["reversed pair", "\uDC00\uD800"],
  ])("throws for %s", (_name, input) => {
    expect(() => nixString(input)).toThrow();
  });

  test("every hostile value is escaped so no unescaped ${ or raw line break remains", () => {
    for (const h of HOSTILE) {
      const lit = nixString(h);
      expect(lit.startsWith('"') && lit.endsWith('"')).toBe(true);
      expect(lit).not.toMatch(/[\n\r\t]/);
      // Scan like the Nix lexer: `\` escapes the next character; `${` opens an interpolation.
      const body = lit.slice(1, -1);
      for (let i = 0; i < body.length; i++) {
        if (body[i] === "\\") {
          i++;
          continue;
        }
        expect(body[i]).not.toBe('"');
        expect(body.slice(i, i + 2)).not.toBe("${");
      }
    }
  });
});

describe("nixAttrName", () => {
  test.each<[string, string]>([
    ["daily", "daily"],
    ["restic-b2-daily-env", "restic-b2-daily-env"],
    ["_private", "_private"],
    ["a'b", "a'b"],
    ["OnCalendar", "OnCalendar"],
    ["2daily", '"2daily"'],
    ["-x", '"-x"'],
    ["a.b", '"a.b"'],
    ["a b", '"a b"'],
    ["", '""'],
    ["in", '"in"'],
    ["or", '"or"'],
    ["let", '"let"'],
    ["rec", '"rec"'],
    ["inherit", '"inherit"'],
    ["__curPos", '"__curPos"'],
    ["${x}", '"\\${x}"'],
    ["Ü", '"Ü"'],
  ])("%j → %s", (input, expected) => {
    expect(nixAttrName(input)).toBe(expected);
  });
});

describe("nixValue", () => {
  test.each<[string, Parameters<typeof nixValue>[0], string]>([
    ["string", "x", '"x"'],
    ["true", true, "true"],
    ["false", false, "false"],
    ["zero", 0, "0"],
    ["negative zero", -0, "0"],
    ["integer", 3600, "3600"],
    ["negative integer", -5, "(-5)"],
    ["empty list", [], "[ ]"],
    ["mixed nested list", ["a", 1, -1, [true, "${x}"]], '[ "a" 1 (-1) [ true "\\${x}" ] ]'],
  ])("%s", (_name, input, expected) => {
    expect(nixValue(input)).toBe(expected);
  });

  test.each<[string, unknown]>([
    ["fraction", 1.5],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["unsafe integer", 2 ** 53],
    ["null", null],
    ["undefined", undefined],
    ["object", { a: 1 }],
    ["string with NUL", "a\0"],
  ])("throws for %s", (_name, input) => {
    expect(() => nixValue(input as never)).toThrow();
  });
});

describe("renderModule: default config", () => {
  const text = render(defaultBackup());

  test("layout: header, function head, 2-space indentation, trailing newline", () => {
    const ls = lines(text);
    expect(ls[0]).toMatch(/^# Generated by nixos-restic-b2\. Do not edit/);
    expect(text).toMatch(/To change it, change the stack configuration/);
    expect(ls).toContain("{ config, pkgs, lib, ... }:");
    expect(text.endsWith("\n}\n")).toBe(true);
    expect(text.endsWith("\n\n")).toBe(false);
    for (const l of ls) {
      expect(l).not.toMatch(/\t/);
      expect(l).not.toMatch(/ $/);
      expect((l.length - l.trimStart().length) % 2).toBe(0);
    }
  });

  test("no imports for a provided agenix module", () => {
    expect(text).not.toMatch(/imports/);
    expect(text).not.toMatch(/fetchTarball/);
  });

  test("three root-only agenix secrets backed by path literals", () => {
    for (const kind of ["env", "repo", "password"] as const) {
      expect(block(text, `    restic-b2-daily-${kind} = {`)).toEqual([
        `    restic-b2-daily-${kind} = {`,
        `      file = ${SECRET_FILES[kind]};`,
        '      mode = "0400";',
        '      owner = "root";',
        '      group = "root";',
        "    };",
      ]);
    }
  });

  test("restic backup block", () => {
    expect(block(text, "  services.restic.backups.daily = {")).toEqual([
      "  services.restic.backups.daily = {",
      "    initialize = true;",
      "    environmentFile = config.age.secrets.restic-b2-daily-env.path;",
      "    repositoryFile = config.age.secrets.restic-b2-daily-repo.path;",
      "    passwordFile = config.age.secrets.restic-b2-daily-password.path;",
      "    paths = [",
      '      "/home"',
      "    ];",
      "    pruneOpts = [ ];",
      "    timerConfig = {",
      '      OnCalendar = "daily";',
      "      Persistent = true;",
      "    };",
      "    extraBackupArgs = [ ];",
      "  };",
    ]);
  });

  test("the prune is the module's own step after the backup, with the options as systemd words", () => {
    const step = block(text, "  systemd.services.restic-backups-daily.serviceConfig.ExecStart = lib.mkAfter [");
    expect(step).toHaveLength(3);
    expect(step[1]).toMatch(/^ {4}\("\$\{config\.systemd\.package\}\/bin\/systemd-cat --identifier=restic-b2-prune \$\{pkgs\.writeShellScript "restic-b2-prune" /);
    expect(step[1]).toContain(`${nixString(PRUNE_SCRIPT)})}`);
    expect(step[1].endsWith(
      '} --restic ${config.services.restic.backups.daily.package or pkgs.restic}/bin/restic --state-dir /var/lib/restic-b2/daily --retry-lock 2h --skip-limit 7 -- " + "--keep-daily 7 --keep-weekly 5 --keep-monthly 12")',
    )).toBe(true);
    // Without a drill there is no host lock, so nothing pins KillMode.
    expect(text).not.toMatch(/KillMode|backupPrepareCommand/);
    const none = defaultBackup();
    none.pruneOpts = [];
    expect(render(none)).not.toMatch(/restic-b2-prune|forget/);
  });

  test("with the drill: the prepare command waits for it, KillMode is pinned, the drill logs as restic-b2-drill", () => {
    const t = renderModule({ ...moduleOptions(defaultBackup()), drill: DEFAULT_DRILL_SETTINGS });
    const prepare = lines(t).find((l) => l.startsWith("    backupPrepareCommand = "))!;
    expect(prepare).toMatch(/^ {4}backupPrepareCommand = "\$\{config\.systemd\.package\}\/bin\/systemd-cat --identifier=restic-b2-repo-lock \$\{pkgs\.writeShellScript "restic-b2-repo-lock" /);
    expect(prepare).toContain(`${nixString(REPO_LOCK_SCRIPT)})}`);
    expect(prepare.endsWith(`} '--lock' '/var/lib/restic-b2/daily/repository.lock' '--wait' '21600'";`)).toBe(true);
    expect(t).toContain('\n  systemd.services.restic-backups-daily.serviceConfig.KillMode = "control-group";\n');
    expect(t).toContain('\n      SyslogIdentifier = "restic-b2-drill";\n');
    expect(t).not.toMatch(/backupCleanupCommand/);
  });

  test("exclude, checkOpts, runCheck and notification are absent", () => {
    expect(resticOptionNames(text)).not.toEqual(expect.arrayContaining(["exclude"]));
    expect(text).not.toMatch(/\bexclude\b/);
    expect(text).not.toMatch(/\bcheckOpts\b/);
    expect(text).not.toMatch(/\brunCheck\b/);
    expect(text).not.toMatch(/onFailure/);
    expect(text).not.toMatch(/restic-b2-drill/);
    // The backup unit's only additions are the prune step (lib/nix/backup-steps.ts) and the repository guard's pre-start and postStart (lib/nix/repo-guard.ts).
    expect(text.match(/^ *systemd\.services\.[^ ]+/gm)).toEqual([
      "  systemd.services.restic-backups-daily.serviceConfig.ExecStart",
      "  systemd.services.restic-backups-daily.preStart",
      "  systemd.services.restic-backups-daily.postStart",
    ]);
    expect(text).not.toMatch(/libnotify/);
    expect(text).not.toMatch(/notify-send/);
  });
});

describe("renderModule: full config", () => {
  const text = render(fullBackup());

  test("imports agenix via fetchTarball", () => {
    expect(block(text, "  imports = [")).toEqual([
      "  imports = [",
      '    "${builtins.fetchTarball {',
      `      url = ${nixString(AGENIX_URL)};`,
      `      sha256 = ${nixString(AGENIX_SHA256)};`,
      '    }}/modules/age.nix"',
      "  ];",
    ]);
  });

  test("fetchTarball without sha256 omits the sha256 attribute", () => {
    const b = fullBackup();
    b.agenixModule = { kind: "fetchTarball", url: AGENIX_URL };
    const t = render(b);
    expect(t).toContain(`      url = ${nixString(AGENIX_URL)};\n    }}/modules/age.nix"`);
    expect(t).not.toMatch(/sha256/);
  });

  test("restic backup block", () => {
    expect(block(text, "  services.restic.backups.daily = {")).toEqual([
      "  services.restic.backups.daily = {",
      "    initialize = true;",
      "    environmentFile = config.age.secrets.restic-b2-daily-env.path;",
      "    repositoryFile = config.age.secrets.restic-b2-daily-repo.path;",
      "    passwordFile = config.age.secrets.restic-b2-daily-password.path;",
      "    paths = [",
      '      "/home"',
      '      "/etc"',
      '      "/var/lib"',
      "    ];",
      "    exclude = [",
      '      "/home/*/.cache"',
      '      "*.tmp"',
      "    ];",
      "    pruneOpts = [ ];",
      "    timerConfig = {",
      '      AccuracySec = "1m";',
      '      OnCalendar = "*-*-* 02:30:00";',
      "      Persistent = true;",
      "      RandomizedDelaySec = 3600;",
      "    };",
      "    extraBackupArgs = [",
      '      "--one-file-system"',
      '      "--exclude-caches"',
      "    ];",
      "    checkOpts = [",
      '      "--read-data-subset=5%%"',
      "    ];",
      "    runCheck = true;",
      "  };",
    ]);
  });

  test("failure notification", () => {
    const svc = backupLayout("daily").backupNotifyUnit;
    expect(svc).toBe("restic-backups-daily-notify-failure");
    expect(lines(text)).toContain(`  systemd.services.restic-backups-daily.onFailure = [ "${svc}.service" ];`);
    const unit = block(text, `  systemd.services.${svc} = {`);
    expect(unit).toContain('      Type = "oneshot";');
    expect(unit).toContain('      User = "alice";');
    expect(unit).toContain('      SupplementaryGroups = [ "systemd-journal" ];');
    expect(unit).toContain('    environment.DBUS_SESSION_BUS_ADDRESS = "unix:path=/run/user/1000/bus";');
    // The failed run's lines (systemd's $MONITOR_INVOCATION_ID), without the monitor's and systemd's.
    expect(unit).toContain(
      '      if [ -n "$MONITOR_INVOCATION_ID" ]; then select="_SYSTEMD_INVOCATION_ID=$MONITOR_INVOCATION_ID"; else select="--unit=restic-backups-daily.service"; fi',
    );
    expect(unit).toContain(
      `      lines="$(\${config.systemd.package}/bin/journalctl "$select" --no-pager --output=short-iso --no-hostname | \${pkgs.gnused}/bin/sed -e '/^[^ ]* systemd\\[1\\]: /d' -e 's/^[^ ]* //' | \${pkgs.coreutils}/bin/tail -n 10 || true)"`,
    );
    expect(unit).toContain(
      "      ${pkgs.libnotify}/bin/notify-send --urgency=critical --app-name=restic 'Backup daily failed' \"$body\"",
    );
    expect(block(text, "  environment.systemPackages = [")[1]).toBe("    pkgs.libnotify");
  });

  test("runCheck false is rendered; runCheck undefined is omitted; checkOpts only when non-empty", () => {
    const off = fullBackup();
    off.runCheck = false;
    expect(resticOptionNames(render(off))).toContain("runCheck");
    expect(lines(render(off))).toContain("    runCheck = false;");

    const unset = fullBackup();
    delete unset.runCheck;
    expect(resticOptionNames(render(unset))).not.toContain("runCheck");
    expect(resticOptionNames(render(unset))).toContain("checkOpts");

    const noCheck = fullBackup();
    noCheck.checkOpts = [];
    expect(resticOptionNames(render(noCheck))).not.toContain("checkOpts");
    expect(resticOptionNames(render(noCheck))).toContain("runCheck");
  });

  test("a backup name that is not a Nix identifier is quoted everywhere", () => {
    const b = fullBackup();
    b.backupName = "2nightly";
    const t = render(b);
    expect(lines(t)).toContain('  services.restic.backups."2nightly" = {');
    expect(lines(t)).toContain(
      '  systemd.services.restic-backups-2nightly.onFailure = [ "restic-backups-2nightly-notify-failure.service" ];',
    );
    expect(lines(t)).toContain("    environmentFile = config.age.secrets.restic-b2-2nightly-env.path;");
  });
});

describe("renderModule: options and determinism", () => {
  test("every option the renderer can emit exists in current nixpkgs", () => {
    for (const o of EMITTED_RESTIC_OPTIONS) expect(Object.keys(OPTIONS_JSON)).toContain(o);
  });

  test("the full config emits exactly the declared option list; the default a subset", () => {
    // The prepare command (the host lock shared with the drill) comes with the drill.
    const withDrill = renderModule({ ...moduleOptions(fullBackup()), drill: DEFAULT_DRILL_SETTINGS });
    expect([...resticOptionNames(withDrill)].sort()).toEqual([...EMITTED_RESTIC_OPTIONS].sort());
    expect(resticOptionNames(render(fullBackup()))).not.toContain("backupPrepareCommand");
    for (const o of resticOptionNames(render(defaultBackup()))) expect(EMITTED_RESTIC_OPTIONS).toContain(o);
  });

  test("same input gives the same bytes", () => {
    expect(render(fullBackup())).toBe(render(fullBackup()));
    expect(render(defaultBackup())).toBe(render(defaultBackup()));
  });

  test("timerConfig key order does not matter", () => {
    const a = fullBackup();
    const b = fullBackup();
    b.timerConfig = Object.fromEntries(Object.entries(a.timerConfig).reverse());
    expect(Object.keys(b.timerConfig)).not.toEqual(Object.keys(a.timerConfig));
    expect(render(b)).toBe(render(a));
  });

  test("the input is not mutated", () => {
    const b = fullBackup();
    render(b);
    expect(b).toEqual(fullBackup());
  });
});

// Values the parser accepts that are hostile to Nix, systemd or restic.
const HOSTILE_PATHS = ["/a \"quoted\" path\\with\\backslashes", "/${builtins.readFile /etc/shadow}", "/$(id) `id` it's", "/Ünïcødé ✓ 😀", "/100% [draft]", "/trailing space ", "/# not a comment", "/a;b", "/''${x}"];
const HOSTILE_EXCLUDE = ["${HOME}", "$x", "#tmp", "*.tmp", "/home/*/.cache", "[ab]c", "\\*literal", "Ünï ✓", "'q' \"dq\"", "''${x}"];
const HOSTILE_OPTIONS = ["--tag ${builtins.throw \"pwned\"}", "--tag $(id)", "--tag `id`", "--host=%H", "--tag a;b", "--tag 'single' \"double\"", "--tag Ünïcødé ✓", "--tag ''${x}", "--exclude-if-present=.nobackup"];

describe("renderModule: user values", () => {
  test("list values are rendered through the restic rules and nixString, in order", () => {
    const b = defaultBackup();
    b.paths = [...HOSTILE_PATHS];
    b.exclude = [...HOSTILE_EXCLUDE].reverse();
    b.pruneOpts = [...HOSTILE_OPTIONS];
    const t = render(b);
    expect(block(t, "    paths = [").slice(1, -1)).toEqual(HOSTILE_PATHS.map((h) => `      ${nixString(filesFromLine(h))}`));
    expect(block(t, "    exclude = [").slice(1, -1)).toEqual([...HOSTILE_EXCLUDE].reverse().map((h) => `      ${nixString(excludeFileLine(h))}`));
    // The prune options go to the module's own prune step: one Nix string of systemd words.
    expect(t).toContain(` + ${nixString(HOSTILE_OPTIONS.map(resticOptionText).join(" "))})\n  ];`);
  });

  test("the only interpolations in the output are the renderer's own", () => {
    const b = fullBackup();
    b.paths = [...HOSTILE_PATHS];
    b.exclude = [...HOSTILE_EXCLUDE];
    b.pruneOpts = [...HOSTILE_OPTIONS];
    b.extraBackupArgs = [...HOSTILE_OPTIONS];
    b.checkOpts = [...HOSTILE_OPTIONS];
    b.agenixModule = { kind: "fetchTarball", url: '${builtins.throw "pwned"}', sha256: "$(id)${x}" };
    const t = render(b);
    // `${` preceded by an even number of backslashes is a live interpolation.
    const live = t.match(/(?<!\\)(?:\\\\)*\$\{[^}\n]*/g) ?? [];
    // The renderer's own: agenix import, notify script, and the credentials
    // check command's wrapper (lib/nix/drill.ts; the embedded script is one
    // escaped string, so the scan stops inside it at its first "}").
    const own = [
      "${builtins.fetchTarball {",
      "${config.systemd.package",
      "${pkgs.libnotify",
      "${pkgs.coreutils",
      "${pkgs.gnused",
      "${pkgs.gnugrep",
      "${pkgs.jq",
      "${pkgs.util-linux",
      '${pkgs.writeShellScript "restic-b2-verify" "#!/usr/bin/env bash\\n',
      '${pkgs.writeShellScript "restic-b2-prune" ("PATH=',
      "${config.services.restic.backups.daily.package or pkgs.restic",
      "${lib.escapeShellArg config.age.secrets.restic-b2-daily-",
      `\${"'--backup-name' 'daily' '--timeout' '60' '--repository-id-file' '/var/lib/restic-b2/daily/repository-id'"`,
      "${config.system.build.restic-b2-repo-guard-daily",
      `\${"'--backup-name' 'daily' '--id-file' '/var/lib/restic-b2/daily/repository-id'"`,
    ];
    expect(live.filter((l) => !own.some((o) => l.startsWith(o)))).toEqual([]);
    expect(own.filter((o) => !live.some((l) => l.startsWith(o)))).toEqual([]);
    // The scan itself finds an interpolation after an escaped backslash.
    expect('"\\\\${x}"'.match(/(?<!\\)(?:\\\\)*\$\{[^}\n]*/g)).toEqual(["\\\\${x"]);
  });

  test.each<[string, (b: BackupConfig) => void]>([
    ["a newline in a path", (b) => (b.paths = ["/a\nExecStartPost=/bin/evil"])],
    ["a newline in an exclude pattern", (b) => (b.exclude = ["a\nb"])],
    ["a newline in a prune option", (b) => (b.pruneOpts = ["--keep-daily 7\nExecStartPost=/bin/evil"])],
    ["a newline in an extra backup argument", (b) => (b.extraBackupArgs = ["--tag a\nb"])],
    ["a CR in a check option", (b) => (b.checkOpts = ["--read-data-subset=1\r"])],
    ["a newline in a timer value", (b) => (b.timerConfig = { OnCalendar: "daily\nOnBootSec=1" })],
    ["a line separator in a path", (b) => (b.paths = ["/a\u2028b"])],
    ["a NEL in an option", (b) => (b.pruneOpts = ["--tag a\u0085b"])],
    ["a glob star in a path", (b) => (b.paths = ["/home/*/Documents"])],
    ["a relative path", (b) => (b.paths = ["home"])],
    ["an option without a flag", (b) => (b.pruneOpts = ["keep-daily 7"])],
    ["a malformed exclude pattern", (b) => (b.exclude = ["[abc"])],
    ["a timer value with trailing whitespace", (b) => (b.timerConfig = { OnCalendar: "daily " })],
    ["a timer value ending in a backslash", (b) => (b.timerConfig = { OnCalendar: "daily\\" })],
  ])("the renderer itself refuses %s (even when a caller skipped the parser)", (_name, mutate) => {
    const b = fullBackup();
    mutate(b);
    expect(() => render(b)).toThrow(/renderModule|systemdEscape/);
  });
});

describe("renderModule: validation", () => {
  const cases: [string, (b: BackupConfig) => void][] = [
    ["backup name with a space", (b) => (b.backupName = "my backup")],
    ["backup name with a slash", (b) => (b.backupName = "a/b")],
    ["backup name with ${", (b) => (b.backupName = "${x}")],
    ["backup name starting with -", (b) => (b.backupName = "-x")],
    ["empty backup name", (b) => (b.backupName = "")],
    ["backup name too long", (b) => (b.backupName = "a".repeat(65))],
    ["empty timerConfig", (b) => (b.timerConfig = {})],
    ["timer key with a space", (b) => (b.timerConfig = { "On Calendar": "daily" })],
    ["timer key with =", (b) => (b.timerConfig = { "OnCalendar=daily\nX": "daily" })],
    ["timer value with a newline", (b) => (b.timerConfig = { OnCalendar: "daily\nOnBootSec=1" })],
    ["timer value with a CR", (b) => (b.timerConfig = { OnCalendar: "daily\r" })],
    ["fractional timer value", (b) => (b.timerConfig = { RandomizedDelaySec: 1.5 })],
    ["notify user with capitals", (b) => (b.notify = { user: "Alice", uid: 1000 })],
    ["notify user with shell syntax", (b) => (b.notify = { user: "a;id", uid: 1000 })],
    ["notify user with a quote", (b) => (b.notify = { user: "a'b", uid: 1000 })],
    ["negative uid", (b) => (b.notify = { user: "alice", uid: -1 })],
    ["fractional uid", (b) => (b.notify = { user: "alice", uid: 1000.5 })],
    ["uid 2^32-1", (b) => (b.notify = { user: "alice", uid: 4294967295 })],
    ["empty sha256", (b) => (b.agenixModule = { kind: "fetchTarball", url: AGENIX_URL, sha256: "" })],
    ["empty url", (b) => (b.agenixModule = { kind: "fetchTarball", url: "" })],
    ["NUL in a path", (b) => (b.paths = ["/a\0b"])],
  ];
  test.each(cases)("rejects %s", (_name, mutate) => {
    const b = fullBackup();
    mutate(b);
    expect(() => render(b)).toThrow(/renderModule|nixString|nixValue/);
  });

  test.each([
    "secrets/env.age",
    "/abs/env.age",
    "./",
    "./a//b.age",
    "./a/",
    "./a b.age",
    './a".age',
    "./${x}.age",
    "../env.age",
  ])("rejects secret file %j", (p) => {
    const opts = moduleOptions(defaultBackup());
    opts.secretFiles.repo = p;
    expect(() => renderModule(opts)).toThrow(/secretFiles\.repo/);
  });

  test.each(["", "a/b", "-x", "a b", "${x}"])("rejects agenix secret prefix %j", (p) => {
    expect(() => renderModule(moduleOptions(defaultBackup(), p))).toThrow(/agenixSecretPrefix/);
  });

  test("accepts the boundary values", () => {
    const b = fullBackup();
    b.backupName = "_" + "a".repeat(63);
    b.notify = { user: "_" + "a".repeat(31), uid: 0 };
    expect(() => render(b)).not.toThrow();
    b.notify = { user: "alice", uid: 4294967294 };
    expect(() => render(b)).not.toThrow();
    const opts = moduleOptions(defaultBackup(), "restic.b2_x-1");
    expect(renderModule(opts)).toContain('  age.secrets = {\n    "restic.b2_x-1-env" = {');
    expect(renderModule(opts)).toContain('config.age.secrets."restic.b2_x-1-env".path;');
  });
});

describe("systemdEscape", () => {
  test.each<[string, string, string]>([
    ["plain word", "--keep-daily", "--keep-daily"],
    ["digits and path", "/run/x:1,2@a+b=c", "/run/x:1,2@a+b=c"],
    ["space", "my tag", '"my tag"'],
    ["double quote", 'a"b', '"a\\"b"'],
    ["single quote", "it's", "\"it's\""],
    ["backslash", "a\\b", '"a\\\\b"'],
    ["percent", "5%", "5%%"],
    ["specifier", "%h", "%%h"],
    ["dollar", "$HOME", "$$HOME"],
    ["dollar brace", "${X}", '"$${X}"'],
    ["double dollar", "$$", "$$$$"],
    ["semicolon", ";", '";"'],
    ["hash", "#1", '"#1"'],
    ["glob", "*?[x]", '"*?[x]"'],
    ["empty", "", '""'],
    ["non-ASCII", "Ünï ✓", '"Ünï ✓"'],
    ["everything", "a b\"c'd\\e%f$g", '"a b\\"c\'d\\\\e%%f$$g"'],
  ])("exec-arg: %s", (_name, input, expected) => {
    expect(systemdEscape(input, "exec-arg")).toBe(expected);
  });

  test.each<[string, string, string]>([
    ["calendar", "Mon..Fri *-*-* 02:30:00", "Mon..Fri *-*-* 02:30:00"],
    ["percent", "a%b", "a%%b"],
    ["quotes stay (settings are not unquoted)", 'say "hi"', 'say "hi"'],
  ])("setting: %s", (_name, input, expected) => {
    expect(systemdEscape(input, "setting")).toBe(expected);
  });

  test.each<[string, string, "exec-arg" | "setting"]>([
    ["newline", "a\nb", "exec-arg"],
    ["carriage return", "a\r", "exec-arg"],
    ["tab", "a\tb", "exec-arg"],
    ["NUL", "a\0", "exec-arg"],
    ["NEL", "a\u0085", "setting"],
    ["line separator", "a\u2028", "setting"],
    ["lone surrogate", "a\uD800", "exec-arg"],
    ["setting with leading space", " a", "setting"],
    ["setting with trailing space", "a ", "setting"],
    ["empty setting", "", "setting"],
    ["setting ending in a backslash", "a\\", "setting"],
  ])("throws for %s", (_name, input, context) => {
    expect(() => systemdEscape(input, context)).toThrow(/systemdEscape/);
  });
});

describe("restic value rules", () => {
  test.each<[string, string]>([
    ["/home", "/home"],
    ["/srv/with space", "/srv/with space"],
    ["/srv/[2020] a", "/srv/\\[2020\\] a"],
    ["/srv/a]b", "/srv/a\\]b"],
    ["/srv/back\\slash", "/srv/back\\\\slash"],
    ["/srv/trail ", "/srv/trail[ ]"],
    ["/srv/two  ", "/srv/two[ ][ ]"],
    ["/srv/[x]/", "/srv/\\[x\\]"],
    ["/srv/$HOME/100%/#x", "/srv/$HOME/100%/#x"],
    ["/", "/"],
  ])("filesFromLine(%j) = %j", (input, expected) => {
    expect(filesFromLine(input)).toBe(expected);
  });

  test.each<[string, string]>([
    ["*.tmp", "*.tmp"],
    ["$HOME", "$$HOME"],
    ["#x", "\\#x"],
    ["a#b", "a#b"],
    ["!keep", "!keep"],
    ["[ab]c", "[ab]c"],
  ])("excludeFileLine(%j) = %j", (input, expected) => {
    expect(excludeFileLine(input)).toBe(expected);
  });

  test.each<[string, RegExp]>([
    ["", /must not be empty/],
    [" a", /whitespace/],
    ["[abc", /never closed/],
    ["[]a", /malformed/],
    ["[a-]", /incomplete range/],
    ["a\\", /lone backslash/],
    ["a//b", /'\/\/'/],
    ["a\nb", /control characters/],
  ])("excludePatternProblem(%j)", (input, rule) => {
    expect(excludePatternProblem(input)).toMatch(rule);
  });

  test.each<[string, string]>([
    ["--one-file-system", "--one-file-system"],
    ["--keep-daily 7", "--keep-daily 7"],
    ["--keep-within=30d", "--keep-within=30d"],
    ["--tag my tag", '--tag "my tag"'],
    ["--tag=my tag", '"--tag=my tag"'],
    ["--read-data-subset=5%", "--read-data-subset=5%%"],
    ["-v", "-v"],
  ])("resticOptionText(%j) = %j", (input, expected) => {
    expect(resticOptionText(input)).toBe(expected);
  });

  test.each(["keep", "--", "--keep-daily  7", "--tag=", "--tag x ", "--tag a\nb", "- x"])("resticOptionProblem(%j) is a problem", (input) => {
    expect(resticOptionProblem(input)).toBeDefined();
  });

  test.each(["/home/*", "/srv/a?", "srv", "/a/../b", "/a\nb"])("backupPathProblem(%j) is a problem", (input) => {
    expect(backupPathProblem(input)).toBeDefined();
  });
});

describe("[Timer] settings: one checker and one escaper for the backup's and the drill's timer", () => {
  const render = (timer: Record<string, string | boolean>) => {
    const b = defaultBackup();
    b.timerConfig = { ...timer };
    return renderModule({ ...moduleOptions(b), drill: { ...DEFAULT_DRILL_SETTINGS, timerConfig: { ...timer } } });
  };

  test("a % reaches both timers doubled, so systemd reads it back as written", () => {
    const text = render({ OnCalendar: "*-*-* %H:00" });
    expect(text.split('OnCalendar = "*-*-* %%H:00";')).toHaveLength(3);
    expect(text).not.toContain('"*-*-* %H:00"');
  });

  test.each([
    ["empty", {}, /drill\.timerConfig must not be empty/],
    ["a bad key", { "On Calendar": "daily" }, /invalid drill\.timerConfig key "On Calendar"/],
    ["a line break", { OnCalendar: "daily\nOnBootSec=1" }, /drill\.timerConfig\.OnCalendar must not contain line breaks/],
  ])("the drill's timer is refused like the backup's: %s", (_label, timer, message) => {
    const b = defaultBackup();
    expect(() => renderModule({ ...moduleOptions(b), drill: { ...DEFAULT_DRILL_SETTINGS, timerConfig: timer as Record<string, string> } })).toThrow(message);
    b.timerConfig = timer as Record<string, string>;
    expect(() => renderModule(moduleOptions(b))).toThrow(new RegExp(message.source.replace("drill\\.", "")));
  });
});
