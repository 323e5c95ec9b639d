// Monitoring settings: the off-host heartbeat (Healthchecks or Uptime Kuma)
// and the ntfy alert for failed runs. All three keys are secrets (a ping URL
// or topic URL is a credential: whoever knows it can report a fake success),
// so no message here ever shows a value: only the key and the rule.

import { SecretKey } from "./keys";
import { Reader } from "./reader";
import { MonitoringConfig, MonitoringFlags } from "./types";

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SLUG = /^[a-z0-9_-]+$/;
const PING_KEY = /^[A-Za-z0-9_-]{8,}$/;
const NTFY_TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
/** Characters of an access token (ntfy's are `tk_` and 29 letters/digits). */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]+$/;
/** What the host script can write into curl's config as is: no whitespace, quotes, backslashes or control characters. */
const URL_CHARS = /^[^\s"'\\`\u0000-\u001f\u007f]+$/;

export type HeartbeatKind = "healthchecks" | "uptime-kuma";

/**
 * An http:// or https:// URL, the scheme in any case (schemes are
 * case-insensitive, RFC 3986 3.1). The twin of http_scheme_ok in
 * lib/host/monitor.sh; test/integration/url-scheme.test.ts runs one table of
 * URLs through both.
 */
export const HTTP_URL_SCHEME = /^https?:\/\/./i;

function parsedUrl(text: string): URL | undefined {
  if (!URL_CHARS.test(text) || !HTTP_URL_SCHEME.test(text)) return undefined;
  try {
    const u = new URL(text);
    return u.hostname === "" ? undefined : u;
  } catch {
    return undefined;
  }
}

/**
 * What kind of heartbeat URL this is, or why it cannot be one (a rule, never
 * the value). Also used for the restore drill's own heartbeat URL.
 */
export function heartbeatUrlProblem(text: string): { kind: HeartbeatKind } | { problem: string } {
  const u = parsedUrl(text);
  if (u === undefined) {
    return { problem: "must be an http(s) URL without spaces, quotes or backslashes (the value is not shown: it is a secret)" };
  }
  if (u.hash !== "") return { problem: "must not contain a #fragment" };
  const segs = u.pathname.split("/").filter((s) => s !== "");
  const push = segs.indexOf("api");
  if (push >= 0 && segs[push + 1] === "push") {
    if (segs.length !== push + 3) return { problem: "an Uptime Kuma push URL must end with /api/push/<push token>" };
    return { kind: "uptime-kuma" };
  }
  const last = segs[segs.length - 1] ?? "";
  const prev = segs[segs.length - 2] ?? "";
  if (/^(start|fail|log|[0-9]{1,3})$/.test(last) && (UUID.test(prev) || segs.length >= 3)) {
    return { problem: "must be the check's ping URL itself, without /start, /fail, /log or an exit status (the program adds them)" };
  }
  if (/(^|&)rid=/.test(u.search.slice(1))) return { problem: "must not carry a rid= parameter (each run adds its own)" };
  if (UUID.test(last)) {
    if (u.search !== "") return { problem: "a Healthchecks UUID URL takes no query string (?create=1 works with slug URLs only)" };
    return { kind: "healthchecks" };
  }
  if (SLUG.test(last) && PING_KEY.test(prev)) {
    if (u.search !== "" && u.search !== "?create=1") return { problem: "a Healthchecks slug URL takes no query string other than ?create=1" };
    return { kind: "healthchecks" };
  }
  return {
    problem:
      "must be a Healthchecks ping URL (https://hc-ping.com/<uuid>, https://hc-ping.com/<ping-key>/<slug>, " +
      "or a self-hosted https://<server>/ping/<uuid>) or an Uptime Kuma push URL (https://<server>/api/push/<token>)",
  };
}

/** Why the text cannot be an ntfy topic URL, or undefined when it can. */
export function ntfyUrlProblem(text: string): string | undefined {
  const u = parsedUrl(text);
  if (u === undefined) return "must be an http(s) URL without spaces, quotes or backslashes (the value is not shown: it is a secret)";
  if (u.search !== "" || u.hash !== "") return "must be the topic URL without a query string or #fragment";
  const segs = u.pathname.split("/").filter((s) => s !== "");
  if (segs.length === 0 || !NTFY_TOPIC.test(segs[segs.length - 1]) || u.pathname.endsWith("/")) {
    return "must be the full topic URL, e.g. https://ntfy.sh/<topic> (a topic is 1 to 64 letters, digits, '-' or '_')";
  }
  return undefined;
}

/**
 * Checks the monitoring secrets. Presence comes from `secrets` (any value
 * type); the rules are checked on `text`, the plaintext of those keys, when
 * the caller has it (the program reads it from the stack config; it is only
 * tested here, never copied into a message or the result's flags).
 */
export function parseMonitoring<S>(
  r: Reader,
  secrets: Partial<Record<SecretKey, S>>,
  text: Partial<Record<SecretKey, string>> = {},
): { config: MonitoringConfig<S>; flags?: MonitoringFlags } {
  if (text.healthcheckUrl !== undefined) {
    const res = heartbeatUrlProblem(text.healthcheckUrl);
    if ("problem" in res) r.fail("healthcheckUrl", res.problem);
  }
  if (text.drillHealthcheckUrl !== undefined) {
    const res = heartbeatUrlProblem(text.drillHealthcheckUrl);
    if ("problem" in res) r.fail("drillHealthcheckUrl", res.problem);
  }
  if (text.ntfyUrl !== undefined) {
    const p = ntfyUrlProblem(text.ntfyUrl);
    if (p !== undefined) r.fail("ntfyUrl", p);
  }
  if (secrets.ntfyToken !== undefined && secrets.ntfyUrl === undefined) {
    r.fail("ntfyToken", "is only used with ntfyUrl (set the topic URL too, or remove the token)");
  }
  if (text.ntfyToken !== undefined && !TOKEN_PATTERN.test(text.ntfyToken)) {
    r.fail("ntfyToken", "must be an ntfy access token (tk_...: letters, digits and ._~+/=-, no spaces; the value is not shown)");
  }

  const config: MonitoringConfig<S> = {
    healthcheckUrl: secrets.healthcheckUrl,
    ntfyUrl: secrets.ntfyUrl,
    ntfyToken: secrets.ntfyUrl === undefined ? undefined : secrets.ntfyToken,
    drillHealthcheckUrl: secrets.drillHealthcheckUrl,
  };
  const flags: MonitoringFlags = {
    healthcheckUrl: secrets.healthcheckUrl !== undefined,
    ntfyUrl: secrets.ntfyUrl !== undefined,
    ntfyToken: config.ntfyToken !== undefined,
    ...(secrets.drillHealthcheckUrl !== undefined ? { drillHealthcheckUrl: true } : {}),
  };
  return { config, flags: flags.healthcheckUrl || flags.ntfyUrl || flags.drillHealthcheckUrl ? flags : undefined };
}
