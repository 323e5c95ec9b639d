// How user values reach restic through the NixOS restic module, and the rules
// that keep them exact. Pure: no Pulumi, no I/O. lib/config/ uses the
// *Problem functions to refuse values with a message naming the config key;
// the renderer uses the *Text/*Line functions and throws if a caller skipped
// the parser.
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

import { systemdEscape } from "./systemd";

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_RULE = "must not contain line breaks or other control characters";

/** One restic option: `--flag`, `--flag value` or `--flag=value`. */
const OPTION = /^(--?[A-Za-z][A-Za-z0-9-]*)(?:([ =])([\s\S]*))?$/;

/** Why `entry` is not one restic option (a flag and at most one value), or undefined. */
export function resticOptionProblem(entry: string): string | undefined {
  if (CONTROL.test(entry)) return CONTROL_RULE;
  const m = OPTION.exec(entry);
  if (!m) return "each entry must be one restic option: a flag like --keep-daily, then optionally one value after a space or '=' (e.g. '--keep-daily 7', '--tag=my tag')";
  const value = m[3];
  if (value !== undefined) {
    if (value === "") return "the value after the flag must not be empty";
    if (/^\s|\s$/.test(value)) return "the value must not start or end with whitespace (write exactly one space or '=' between flag and value)";
  }
  return undefined;
}

/**
 * The entry as systemd command-line text that gives restic exactly the flag
 * and the value: `--keep-daily 7` → `--keep-daily 7`, `--tag my tag` →
 * `--tag "my tag"`, `--read-data-subset=5%` → `--read-data-subset=5%%`.
 */
export function resticOptionText(entry: string): string {
  const problem = resticOptionProblem(entry);
  if (problem !== undefined) throw new Error(`renderModule: restic option ${JSON.stringify(entry)}: ${problem}`);
  const m = OPTION.exec(entry)!;
  const [, flag, sep, value] = m;
  if (sep === undefined) return systemdEscape(flag, "exec-arg");
  if (sep === "=") return systemdEscape(`${flag}=${value}`, "exec-arg");
  return `${systemdEscape(flag, "exec-arg")} ${systemdEscape(value, "exec-arg")}`;
}

/** Why a backup path cannot be given to restic exactly, or undefined. */
export function backupPathProblem(p: string): string | undefined {
  if (CONTROL.test(p)) return CONTROL_RULE;
  if (!p.startsWith("/")) return "must be an absolute path (starting with /)";
  if (p.split("/").includes("..")) return "must not contain '..' segments";
  if (/[*?]/.test(p)) {
    return "is a literal path: '*' and '?' would be wildcards to restic (--files-from); list the directory above instead and leave parts out with exclude";
  }
  return undefined;
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

/**
 * Why `pattern` is not a restic exclude pattern that an exclude file can hold
 * with its meaning unchanged, or undefined. Checks Go filepath.Match syntax
 * (what restic's matcher uses per path component): `\` must escape a
 * character; `[` must close; a class is not empty and its ranges are complete.
 */
export function excludePatternProblem(pattern: string): string | undefined {
  if (CONTROL.test(pattern)) return CONTROL_RULE;
  if (pattern === "") return "must not be empty";
  if (/^\s|\s$/u.test(pattern)) return "must not start or end with whitespace (restic trims exclude-file lines)";
  const s = Array.from(pattern.startsWith("!") ? pattern.slice(1) : pattern);
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") {
      if (++i >= s.length) return "ends with a lone backslash (an escape needs a character after it)";
    } else if (s[i] === "[") {
      i++;
      if (s[i] === "^") i++;
      let n = 0;
      for (;;) {
        if (i >= s.length) return "has a '[' that is never closed (write \\[ for a literal bracket)";
        if (s[i] === "]" && n > 0) break;
        const lo = s[i] === "\\" ? s[++i] : s[i];
        if (lo === undefined || lo === "]" || lo === "-" || lo === "/") return "has a malformed [...] class (write \\[ for a literal bracket)";
        i++;
        if (s[i] === "-") {
          const hi = s[i + 1] === "\\" ? s[i + 2] : s[i + 1];
          if (hi === undefined || hi === "]" || hi === "-" || hi === "/") return "has an incomplete range in a [...] class";
          i += s[i + 1] === "\\" ? 3 : 2;
        }
        n++;
      }
    } else if (s[i] === "/" && i > 0 && s[i - 1] === "/") {
      // restic splits patterns at '/': an empty component matches nothing sensible
      return "must not contain '//'";
    }
  }
  return undefined;
}

/** The --exclude-file line that restic reads back as exactly `pattern`. */
export function excludeFileLine(pattern: string): string {
  const problem = excludePatternProblem(pattern);
  if (problem !== undefined) throw new Error(`renderModule: exclude pattern ${JSON.stringify(pattern)}: ${problem}`);
  const line = pattern.replace(/\$/g, "$$$$");
  return line.startsWith("#") ? `\\${line}` : line;
}
