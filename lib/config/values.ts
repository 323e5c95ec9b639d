// Rules about single values that the parser (the user's messages) and the
// renderers and escapers (their own guards) share, so each is written once.
// Pure; imports nothing.

/**
 * Characters no value may hold: C0 and C1 controls (newline, tab, NUL, NEL,
 * ...), DEL, and the Unicode line and paragraph separators. A line break would
 * end a unit-file setting, a --files-from or exclude-file line, a Nix comment
 * or a message line; none of them can be escaped for every reader.
 */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Plain Linux user names (no trailing `$`, at most 32 characters). */
export const UNIX_USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
