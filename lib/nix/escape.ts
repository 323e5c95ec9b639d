// The one Nix string escaper every user value goes through, and the small
// helpers built on it (attribute names, values). Pure: no Pulumi, no I/O.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A double-quoted Nix string literal that evaluates to exactly `s`.
 *
 * Escaped: `\` → `\\`, `"` → `\"`, `${` → `\${` (so user text is never
 * interpolated), newline/CR/tab → `\n`/`\r`/`\t` (a raw CR would be
 * normalised to LF by the Nix lexer). A `$` not followed by `{` needs no
 * escape (`"$$"`, `"a$"` and `"$${x}"` are literal in Nix). Every other
 * character, including other control characters and non-ASCII text, is written
 * as is: Nix strings are byte strings and the source file is UTF-8.
 *
 * Throws for NUL (Nix strings are C strings and cannot hold it; silently
 * dropping or truncating would change the value) and for lone UTF-16
 * surrogates (they have no UTF-8 encoding, so they could not round-trip).
 */
export function nixString(s: string): string {
  if (typeof s !== "string") {
    throw new TypeError(`nixString: expected a string, got ${typeof s}`);
  }
  if (s.includes("\0")) {
    throw new Error("nixString: Nix strings cannot contain NUL characters");
  }
  if (LONE_SURROGATE.test(s)) {
    throw new Error("nixString: string contains a lone UTF-16 surrogate (not valid Unicode)");
  }
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    switch (c) {
      case "\\":
        out += "\\\\";
        break;
      case '"':
        out += '\\"';
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      case "$":
        out += s[i + 1] === "{" ? "\\$" : "$";
        break;
      default:
        out += c;
    }
  }
  return out + '"';
}

const NIX_KEYWORDS = new Set([
  "assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with",
  // Lexed as special tokens by Nix; quoting is always safe.
  "__curPos",
]);

/** Nix identifier syntax: a bare attribute name is only safe when it matches. */
const NIX_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_'-]*$/;

/** An attribute name: bare when it is a plain identifier and not a keyword, else a quoted string. */
export function nixAttrName(s: string): string {
  if (NIX_IDENTIFIER.test(s) && !NIX_KEYWORDS.has(s)) return s;
  return nixString(s);
}

export type NixValue = string | number | boolean | NixValue[];

/**
 * A Nix expression for a string, integer, boolean or (nested) list.
 * Numbers must be safe integers: Nix floats are printed lossily by
 * `toString` (6 significant digits), so fractional values must be passed as
 * strings (e.g. "1.5s"). Negative integers are parenthesised because `[ -1 ]`
 * does not parse.
 */
export function nixValue(v: NixValue): string {
  if (typeof v === "string") return nixString(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) {
      throw new Error(`nixValue: only safe integers are supported, got ${v} (pass fractional values as strings)`);
    }
    if (v < 0) return `(${v})`;
    return String(v === 0 ? 0 : v); // also maps -0 to 0
  }
  if (Array.isArray(v)) {
    return v.length === 0 ? "[ ]" : `[ ${v.map(nixValue).join(" ")} ]`;
  }
  throw new TypeError(`nixValue: unsupported value of type ${typeof v}`);
}
