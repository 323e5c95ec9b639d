// The one systemd escaping function: every user value that ends up in a unit
// file (an ExecStart= argument, a [Timer] setting) goes through systemdEscape.
// Pure: no Pulumi, no I/O.
//
// What systemd does to a unit file line (systemd.syntax(7), systemd.unit(5),
// systemd.service(5) "Command lines"), and what the function does about it:
// - A line break ends the setting and a later line would be a new directive,
//   a trailing backslash joins the next line: line breaks and other control
//   characters are refused (thrown), in every context. There is no escape for
//   them that every setting understands, and no user value needs them.
// - `%` starts a specifier (`%h` → a home directory, an unknown one makes the
//   unit invalid) in ExecStart= arguments and in most other settings
//   (OnCalendar= too): `%` → `%%`.
// - ExecStart= only: the line is split into words at whitespace; double and
//   single quotes group and are removed; backslash escapes (C style) are
//   decoded; a lone `;` separates commands; `$NAME`/`${NAME}` are replaced by
//   environment variables when the command runs (a bare `$NAME` word even
//   splits into several words): `$` → `$$`, and a word with anything beyond
//   [A-Za-z0-9_.,:/@+=-] is written in double quotes with `\` → `\\` and
//   `"` → `\"`. So one user value is always exactly one argument.
// - Other settings: systemd strips leading and trailing whitespace and does
//   not unquote, so such values are refused rather than changed.
// NixOS adds nothing: it writes `Key=<value>` (lists as repeated lines).

import type { UnitValue } from "../config/types";
import { CONTROL_CHARACTERS } from "../config/values";
import { nixAttrName, nixValue } from "./escape";

export type SystemdContext =
  /** One word of an ExecStart=/ExecStartPre=/... command line (never the executable itself). */
  | "exec-arg"
  /** The whole value of a unit setting such as OnCalendar= (specifiers apply, no unquoting). */
  | "setting";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Words that need no quotes on a systemd command line (after `%`/`$` are doubled). */
const PLAIN_WORD = /^[A-Za-z0-9_.,:/@+=%$-]+$/;

/**
 * Text that systemd turns back into exactly `value`: one command-line argument
 * ("exec-arg") or one setting value ("setting"). Throws for values no escape
 * can carry (see the file comment); callers (lib/config/) refuse those first
 * with a message that names the config key.
 */
export function systemdEscape(value: string, context: SystemdContext): string {
  if (typeof value !== "string") throw new TypeError(`systemdEscape: expected a string, got ${typeof value}`);
  const show = JSON.stringify(value);
  if (CONTROL_CHARACTERS.test(value)) throw new Error(`systemdEscape: line breaks and control characters cannot appear in a unit file: ${show}`);
  if (LONE_SURROGATE.test(value)) throw new Error(`systemdEscape: lone UTF-16 surrogate (not valid Unicode): ${show}`);
  const specifiersEscaped = value.replace(/%/g, "%%");
  if (context === "setting") {
    if (value === "" || /^\s|\s$/.test(value)) {
      throw new Error(`systemdEscape: a setting value must be non-empty without leading or trailing whitespace (systemd strips it): ${show}`);
    }
    if (value.endsWith("\\")) throw new Error(`systemdEscape: a trailing backslash would join the next line: ${show}`);
    return specifiersEscaped;
  }
  if (context !== "exec-arg") throw new Error(`systemdEscape: unknown context ${JSON.stringify(context)}`);
  const word = specifiersEscaped.replace(/\$/g, "$$$$");
  if (PLAIN_WORD.test(word)) return word;
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The words of one command line (arguments only), each escaped, joined by spaces. */
export function systemdCommandArgs(words: readonly string[]): string {
  return words.map((w) => systemdEscape(w, "exec-arg")).join(" ");
}

/** systemd unit setting names. */
export const UNIT_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * Throws (as the renderer) unless `timer` is a [Timer] settings set NixOS can
 * write: at least one setting, setting names only, scalar values, no line
 * breaks. `label` names it in the message (e.g. "timerConfig").
 */
export function checkTimerSettings(label: string, timer: Readonly<Record<string, unknown>>): void {
  const fail = (message: string) => {
    throw new Error(`renderModule: ${message}`);
  };
  const keys = Object.keys(timer);
  if (keys.length === 0) fail(`${label} must not be empty (a timer without a trigger is refused by systemd)`);
  for (const k of keys) {
    if (!UNIT_KEY_PATTERN.test(k)) fail(`invalid ${label} key ${JSON.stringify(k)}`);
    const v = timer[k];
    if (typeof v !== "boolean" && typeof v !== "number" && typeof v !== "string") fail(`${label}.${k} must be a string, number or boolean`);
    // NixOS writes the value into the unit file verbatim: a line break would
    // start a new directive.
    if (typeof v === "string" && /[\r\n]/.test(v)) fail(`${label}.${k} must not contain line breaks`);
  }
}

/** The attribute lines of a checked [Timer] settings set, keys sorted, each string value through systemdEscape. */
export function timerSettingsLines(timer: Readonly<Record<string, UnitValue>>): string[] {
  return Object.keys(timer)
    .sort()
    .map((k) => {
      const v = timer[k];
      return `${nixAttrName(k)} = ${nixValue(typeof v === "string" ? systemdEscape(v, "setting") : v)};`;
    });
}

/**
 * The start of a command (a Nix string fragment, for a unit's command line or
 * a shell line) that runs `script` with its stdout and stderr in the journal
 * under `identifier` (systemd-cat execs it: the exit status is the script's).
 * A unit's streams would carry the basename of the store file, hash included.
 */
export function journalCommand(identifier: string, script: string): string {
  if (!/^[a-z0-9-]+$/.test(identifier)) throw new Error(`journalCommand: invalid identifier ${JSON.stringify(identifier)}`);
  return `\${config.systemd.package}/bin/systemd-cat --identifier=${identifier} ${script}`;
}
