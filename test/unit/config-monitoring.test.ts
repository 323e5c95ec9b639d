// lib/config/monitoring.ts: the monitoring secrets (healthcheckUrl, ntfyUrl,
// ntfyToken). Every message names the key and the rule, never the value.

import { ConfigError, SECRET_KEYS, SecretKey, heartbeatUrlProblem, ntfyUrlProblem, parseConfig } from "../../lib/config";
import { BASE } from "../support/config-fixtures";

const UUID = "5b0bd2c6-0b5a-4e0f-9a43-8c1d2e3f4a5b";

function parse(values: Partial<Record<SecretKey, string>>) {
  // The program passes Outputs as `secrets` and the plaintext as the 4th argument; here both are strings.
  return parseConfig<string>(BASE, values, "laptop", { secretText: values });
}

function problems(values: Partial<Record<SecretKey, string>>): string {
  try {
    parse(values);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const msg = (e as Error).message;
    for (const v of Object.values(values)) expect(msg).not.toContain(v);
    return msg;
  }
  throw new Error("expected a ConfigError");
}

test("the three keys are secret keys", () => {
  for (const k of ["healthcheckUrl", "ntfyUrl", "ntfyToken"]) expect(SECRET_KEYS).toContain(k);
});

test("nothing set: no monitoring flags (the module renders as before)", () => {
  const c = parse({});
  expect(c.backup.monitoring).toBeUndefined();
  expect("monitoring" in c.backup).toBe(false);
  expect(c.monitoring).toEqual({ healthcheckUrl: undefined, ntfyUrl: undefined, ntfyToken: undefined });
});

test.each([
  `https://hc-ping.com/${UUID}`,
  `https://hc-ping.com/${UUID.toUpperCase()}`,
  "https://hc-ping.com/fqOOd6-F4MMNuCEnzTU01w/db-backups",
  "https://hc-ping.com/fqOOd6-F4MMNuCEnzTU01w/db-backups?create=1",
  `https://hc.example.org/ping/${UUID}`,
  `http://10.0.0.5:8000/ping/${UUID}`,
])("accepted Healthchecks URL %s", (url) => {
  expect(heartbeatUrlProblem(url)).toEqual({ kind: "healthchecks" });
  const c = parse({ healthcheckUrl: url });
  expect(c.backup.monitoring).toEqual({ healthcheckUrl: true, ntfyUrl: false, ntfyToken: false });
  expect(c.monitoring.healthcheckUrl).toBe(url);
});

test.each([
  "https://status.example.org/api/push/Xk3pQ9zT1a",
  "https://status.example.org/api/push/Xk3pQ9zT1a?status=up&msg=OK&ping=",
  "http://192.168.1.2:3001/api/push/abc",
])("accepted Uptime Kuma URL %s", (url) => {
  expect(heartbeatUrlProblem(url)).toEqual({ kind: "uptime-kuma" });
});

test.each([
  ["hc-ping.com/" + UUID, /must be an http\(s\) URL/],
  [`ftp://hc-ping.com/${UUID}`, /must be an http\(s\) URL/],
  [`https://hc-ping.com/${UUID} `, /must be an http\(s\) URL/],
  [`https://hc-ping.com/"${UUID}`, /must be an http\(s\) URL/],
  [`https://hc-ping.com/${UUID}/start`, /without \/start, \/fail, \/log or an exit status/],
  [`https://hc-ping.com/${UUID}/fail`, /without \/start/],
  [`https://hc-ping.com/${UUID}/1`, /without \/start/],
  [`https://hc-ping.com/${UUID}?rid=${UUID}`, /rid=/],
  [`https://hc-ping.com/${UUID}?create=1`, /slug URLs only/],
  ["https://hc-ping.com/index.html", /must be a Healthchecks ping URL .* or an Uptime Kuma push URL/],
  ["https://example.org/some/page", /must be a Healthchecks ping URL/],
  ["https://status.example.org/api/push/", /must end with \/api\/push\/<push token>/],
  [`https://hc-ping.com/${UUID}#x`, /#fragment/],
])("refused healthcheckUrl %s", (url, rule) => {
  const msg = problems({ healthcheckUrl: url });
  expect(msg).toMatch(/nixos-restic-b2:healthcheckUrl: /);
  expect(msg).toMatch(rule);
});

test("ntfy: topic URL accepted, with or without a token; flags say which", () => {
  const c = parse({ ntfyUrl: "https://ntfy.sh/my-backups_42", ntfyToken: "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2" });
  expect(c.backup.monitoring).toEqual({ healthcheckUrl: false, ntfyUrl: true, ntfyToken: true });
  expect(ntfyUrlProblem("https://ntfy.example.org/sub/path/topic")).toBeUndefined();
  expect(parse({ ntfyUrl: "https://ntfy.sh/t" }).backup.monitoring).toEqual({ healthcheckUrl: false, ntfyUrl: true, ntfyToken: false });
});

test.each([
  ["https://ntfy.example.org/", /full topic URL/],
  ["https://ntfy.sh/topic/", /full topic URL/],
  ["https://ntfy.sh/bad.topic", /full topic URL/],
  ["https://ntfy.sh/" + "a".repeat(65), /full topic URL/],
  ["https://ntfy.sh/topic?auth=abc", /without a query string/],
  ["ntfy.sh/topic", /must be an http\(s\) URL/],
])("refused ntfyUrl %s", (url, rule) => {
  const msg = problems({ ntfyUrl: url });
  expect(msg).toMatch(/nixos-restic-b2:ntfyUrl: /);
  expect(msg).toMatch(rule);
});

test("ntfyToken: needs ntfyUrl, and token characters only", () => {
  expect(problems({ ntfyToken: "tk_abc" })).toMatch(/nixos-restic-b2:ntfyToken: is only used with ntfyUrl/);
  expect(problems({ ntfyUrl: "https://ntfy.sh/t", ntfyToken: "tk_abc def\"" })).toMatch(
    /nixos-restic-b2:ntfyToken: must be an ntfy access token/,
  );
});

test("every problem at once, still no value", () => {
  const msg = problems({ healthcheckUrl: "nope-secret-1", ntfyUrl: "nope-secret-2" });
  expect(msg).toMatch(/\(2 problems\)/);
});

test("with the secrets as opaque values (no plaintext given) only presence is checked", () => {
  const opaque = { healthcheckUrl: { secret: 1 }, ntfyUrl: { secret: 2 } };
  const c = parseConfig(BASE, opaque, "laptop");
  expect(c.backup.monitoring).toEqual({ healthcheckUrl: true, ntfyUrl: true, ntfyToken: false });
  expect(c.monitoring.healthcheckUrl).toBe(opaque.healthcheckUrl);
});
