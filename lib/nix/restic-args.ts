// How user values reach restic through the NixOS restic module: the
// renderers that write each value so restic reads back exactly the configured
// text. Pure: no Pulumi, no I/O. The rules these values obey (the *Problem
// functions) are lib/config/restic-rules.ts: lib/config/ refuses a value with
// a message naming the config key, and these renderers throw with the same
// rule if a caller skipped the parser.
//
// What restic.nix does with each value (nixos/modules/services/backup/restic.nix):
// - extraBackupArgs, pruneOpts, checkOpts: joined with spaces into ExecStart=
//   lines (no shell; systemd splits words, unquotes, expands % and $). Each
//   entry is one restic option: a flag, then optionally one value after a
//   space or `=`. The value is made one exact argument by systemdEscape.
// - paths: one per line into a store file that is appended to the file read
//   by `restic backup --files-from`. restic trims each line, skips empty lines
//   and lines starting with `#`, and expands each line as a glob
//   (Go filepath.Glob: `*`, `?`, `[...]`, `\` escapes). A path is written so
//   that the glob matches exactly that path: `[`, `]` and `\` are escaped with
//   `\`, and a trailing whitespace character is written as a one-character
//   class `[c]` (trimming would drop it). `*` and `?` are refused instead: until
//   now they worked as wildcards, and silently turning `/home/*/Documents` into
//   a literal name would drop data from the backup without an error.
//   `restic backup --files-from-verbatim` would avoid globbing, but restic.nix
//   runs a backup only when `paths` (or dynamicFilesFrom) is non-empty and then
//   always adds its own `--files-from`, so paths cannot go there instead.
// - exclude: one per line into the `--exclude-file`. These are restic patterns
//   and stay patterns; what the file format adds is undone: `$` → `$$` (restic
//   expands $VAR in exclude files, and `$$` is a literal `$`), a leading `#`
//   (a comment line) → `\#`. Leading or trailing whitespace (trimmed by
//   restic) and malformed patterns (restic refuses them at backup time) are
//   refused.

import { RESTIC_OPTION, backupPathProblem, excludePatternProblem, resticOptionProblem } from "../config/restic-rules";
import { systemdEscape } from "./systemd";

/**
 * The entry as systemd command-line text that gives restic exactly the flag
 * and the value: `--keep-daily 7` → `--keep-daily 7`, `--tag my tag` →
 * `--tag "my tag"`, `--read-data-subset=5%` → `--read-data-subset=5%%`.
 */
export function resticOptionText(entry: string): string {
  const problem = resticOptionProblem(entry);
  if (problem !== undefined) throw new Error(`renderModule: restic option ${JSON.stringify(entry)}: ${problem}`);
  const m = RESTIC_OPTION.exec(entry)!;
  const [, flag, sep, value] = m;
  if (sep === undefined) return systemdEscape(flag, "exec-arg");
  if (sep === "=") return systemdEscape(`${flag}=${value}`, "exec-arg");
  return `${systemdEscape(flag, "exec-arg")} ${systemdEscape(value, "exec-arg")}`;
}

const TRAILING_SPACE = /\s$/u;

/** The --files-from line whose glob expansion is exactly the path `p`. */
export function filesFromLine(p: string): string {
  const problem = backupPathProblem(p);
  if (problem !== undefined) throw new Error(`renderModule: path ${JSON.stringify(p)}: ${problem}`);
  if (!/[[\]\\]/.test(p) && !TRAILING_SPACE.test(p)) return p; // no glob syntax: restic takes the line as is
  // A glob with a trailing slash matches nothing; the path means the same without it.
  let path = p.length > 1 ? p.replace(/\/+$/, "") : p;
  let tail = "";
  const chars = Array.from(path);
  while (chars.length > 0 && TRAILING_SPACE.test(chars[chars.length - 1])) tail = `[${chars.pop()}]` + tail;
  path = chars.join("");
  return path.replace(/[[\]\\]/g, (c) => `\\${c}`) + tail;
}

/** The --exclude-file line that restic reads back as exactly `pattern`. */
export function excludeFileLine(pattern: string): string {
  const problem = excludePatternProblem(pattern);
  if (problem !== undefined) throw new Error(`renderModule: exclude pattern ${JSON.stringify(pattern)}: ${problem}`);
  const line = pattern.replace(/\$/g, "$$$$");
  return line.startsWith("#") ? `\\${line}` : line;
}
