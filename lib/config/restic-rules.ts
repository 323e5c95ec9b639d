// The rules that user values obey so that restic reads back exactly what was
// configured (why: lib/nix/restic-args.ts, which renders them). Pure. Each
// *Problem function says why a value cannot be used, or undefined: lib/config/
// turns that into the user's message naming the key; the renderers throw
// with it if a caller skipped the parser.

import { CONTROL_CHARACTERS } from "./values";

const CONTROL_RULE = "must not contain line breaks or other control characters";

/** One restic option: `--flag`, `--flag value` or `--flag=value`. */
export const RESTIC_OPTION = /^(--?[A-Za-z][A-Za-z0-9-]*)(?:([ =])([\s\S]*))?$/;

/** Why `entry` is not one restic option (a flag and at most one value), or undefined. */
export function resticOptionProblem(entry: string): string | undefined {
  if (CONTROL_CHARACTERS.test(entry)) return CONTROL_RULE;
  const m = RESTIC_OPTION.exec(entry);
  if (!m) return "each entry must be one restic option: a flag like --keep-daily, then optionally one value after a space or '=' (e.g. '--keep-daily 7', '--tag=my tag')";
  const value = m[3];
  if (value !== undefined) {
    if (value === "") return "the value after the flag must not be empty";
    if (/^\s|\s$/.test(value)) return "the value must not start or end with whitespace (write exactly one space or '=' between flag and value)";
  }
  return undefined;
}

/** Why a backup path cannot be given to restic exactly, or undefined. */
export function backupPathProblem(p: string): string | undefined {
  if (CONTROL_CHARACTERS.test(p)) return CONTROL_RULE;
  if (!p.startsWith("/")) return "must be an absolute path (starting with /)";
  if (p.split("/").includes("..")) return "must not contain '..' segments";
  if (/[*?]/.test(p)) {
    return "is a literal path: '*' and '?' would be wildcards to restic (--files-from); list the directory above instead and leave parts out with exclude";
  }
  return undefined;
}

/**
 * Why `pattern` is not a restic exclude pattern that an exclude file can hold
 * with its meaning unchanged, or undefined. Checks Go filepath.Match syntax
 * (what restic's matcher uses per path component): `\` must escape a
 * character; `[` must close; a class is not empty and its ranges are complete.
 */
export function excludePatternProblem(pattern: string): string | undefined {
  if (CONTROL_CHARACTERS.test(pattern)) return CONTROL_RULE;
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
