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

/** Why a user name cannot be used (sshUser, notifyUser), or undefined. */
export function unixUserProblem(user: string): string | undefined {
  return UNIX_USER_PATTERN.test(user) ? undefined : "must be a Unix user name (lower-case letters, digits, '_' and '-')";
}

/** Host names and IP addresses (IPv6 optionally in brackets). */
export const HOST_NAME_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/;

/** Why a host name cannot be used, or undefined. */
export function hostNameProblem(host: string): string | undefined {
  return HOST_NAME_PATTERN.test(host) ? undefined : "must be a host name or an IP address";
}

/** Why a path cannot be an absolute path without '..' segments, or undefined. */
export function absolutePathProblem(p: string): string | undefined {
  if (!p.startsWith("/")) return "must be an absolute path (starting with /)";
  if (p.split("/").includes("..")) return "must not contain '..' segments";
  return undefined;
}
