// The stack-config values the generated-module tests share: the option
// combinations the renderer supports (VARIANTS), the parser rules that guard
// a NixOS type (TYPE_GUARDS), and hostile user strings per key and character
// class, exact or refused (*_CASES). The always-running suite
// (test/integration/nix-values.test.ts, nix-instantiate with stubs, real
// systemd and restic) and the module-system suite
// (test/integration/nix-eval.test.ts) read the same tables.

import { ConfigError, RawConfig, parseConfig } from "../../lib/config";
import type { BackupConfig } from "../../lib/config/types";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@nixos-dev";
const BASE: RawConfig = { hostKey: HOST_KEY, host: "nixos.lan", paths: JSON.stringify(["/home"]), agenixModule: "provided" };
export const j = (v: unknown) => JSON.stringify(v);

/** The backup config of BASE with `over` (a stack config as `pulumi config` holds it). */
export function backupFor(over: RawConfig): BackupConfig {
  return parseConfig({ ...BASE, ...over }, {}, "laptop").backup;
}

/** The ConfigError message for BASE with `over`; fails the test when it parses. */
export function refusal(over: RawConfig): string {
  try {
    parseConfig({ ...BASE, ...over }, {}, "laptop");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(over)} to be refused`);
}

/**
 * The store files NixOS's restic module makes from a backup's options, as it
 * writes them: `paths` one per line, each line ending in a newline
 * ("staticPaths", read with --files-from), `exclude` joined by newlines with
 * no final one ("exclude-patterns", read with --exclude-file). The
 * module-system suite checks that these are the store files' exact bytes; the
 * always-running suite feeds them to the real restic.
 */
export const staticPathsText = (paths: readonly string[]): string => paths.map((p) => `${p}\n`).join("");
export const excludePatternsText = (exclude: readonly string[]): string => exclude.join("\n");

// ---------------------------------------------------------------------------
// Every option combination the renderer supports
// ---------------------------------------------------------------------------

export const VARIANTS: [string, RawConfig][] = [
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

// ---------------------------------------------------------------------------
// Parser rules that guard a NixOS type: the parser refuses first, and the same
// value in the module is refused by NixOS itself (so the rule is needed).
// [name, bad stack config, parser message, the module's text made bad, NixOS's error]
// ---------------------------------------------------------------------------

export const TYPE_GUARDS: [string, RawConfig, RegExp, (text: string) => string, RegExp][] = [
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

// ---------------------------------------------------------------------------
// Hostile user strings: per key and character class, exact or refused
// ---------------------------------------------------------------------------

export type Outcome = "exact" | RegExp;
export const CONTROL = /must not contain (line breaks or other )?control characters/;

export const PATH_CASES: [string, string, Outcome][] = [
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

export const EXCLUDE_CASES: [string, string, Outcome][] = [
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

export const OPTION_CASES: [string, string, Outcome][] = [
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

export const TIMER_CASES: [string, string, Outcome][] = [
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

export const NAME_CASES: [string, string, Outcome][] = [
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

export const USER_CASES: [string, string, Outcome][] = [
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

export function refusedCases(cases: [string, string, Outcome][], raw: (v: string) => RawConfig) {
  return cases.filter(([, , o]) => o !== "exact").map(([cls, v, o]) => [cls, v, o as RegExp, raw(v)] as const);
}
export const exactValues = (cases: [string, string, Outcome][]) => cases.filter(([, , o]) => o === "exact").map(([, v]) => v);
