// One table of monitoring URLs through both places that judge them: the
// config parser (lib/config/monitoring.ts, HTTP_URL_SCHEME: what `pulumi up`
// accepts) and the host script (lib/host/monitor.sh, http_scheme_ok: what the
// unit then sends to), so a URL the parser accepts is never one the monitor
// ignores. The rows differ in the scheme only (the rest is a valid
// Healthchecks, Uptime Kuma or ntfy URL), so the two verdicts are the scheme
// rule's. The script runs for real (sh and bash) against a recording server
// on loopback; an https row cannot complete against it, so "accepted" there
// means the script tried to send.

import { ConfigError, parseConfig } from "../../lib/config";
import { BASE } from "../support/config-fixtures";
import { HttpRecorder } from "../support/http-recorder";
import { MonitorHost } from "../support/monitor-host";

const UUID = "5b0bd2c6-0b5a-4e0f-9a43-8c1d2e3f4a5b";
const KUMA = "kumaPushToken77";
const TOPIC = "backups-topic-42";

type Key = "healthcheckUrl" | "ntfyUrl";
/** [config key, the URL with {host} for 127.0.0.1:<port>, accepted by the scheme rule] */
const TABLE: [Key, string, boolean][] = [
  ["healthcheckUrl", `http://{host}/ping/${UUID}`, true],
  ["healthcheckUrl", `HTTP://{host}/ping/${UUID}`, true],
  ["healthcheckUrl", `Http://{host}/ping/${UUID}`, true],
  ["healthcheckUrl", `HTTPS://{host}/ping/${UUID}`, true],
  ["healthcheckUrl", `hTtPs://{host}/ping/${UUID}`, true],
  ["healthcheckUrl", `HTTP://{host}/api/push/${KUMA}`, true],
  ["healthcheckUrl", `ftp://{host}/ping/${UUID}`, false],
  ["healthcheckUrl", `httpx://{host}/ping/${UUID}`, false],
  ["healthcheckUrl", `xhttp://{host}/ping/${UUID}`, false],
  ["healthcheckUrl", `HTTPS:{host}/ping/${UUID}`, false],
  ["healthcheckUrl", `http:/{host}/ping/${UUID}`, false],
  ["healthcheckUrl", `http://`, false],
  ["healthcheckUrl", ` http://{host}/ping/${UUID}`, false],
  ["ntfyUrl", `http://{host}/${TOPIC}`, true],
  ["ntfyUrl", `HTTP://{host}/${TOPIC}`, true],
  ["ntfyUrl", `HttpS://{host}/${TOPIC}`, true],
  ["ntfyUrl", `Ftp://{host}/${TOPIC}`, false],
  ["ntfyUrl", `h ttp://{host}/${TOPIC}`, false],
];

let srv: HttpRecorder;
let host: MonitorHost;
let H: string;
beforeAll(async () => {
  srv = await HttpRecorder.start();
  host = new MonitorHost();
  H = srv.url("").replace(/^http:\/\//, "");
});
afterAll(async () => {
  await srv.stop();
  host?.cleanup();
});

/** The parser's verdict: does the stack config with this secret parse? */
function parserAccepts(key: Key, url: string): boolean {
  try {
    // As the program passes them: the secret (here a string) and its plaintext.
    parseConfig<string>(BASE, { [key]: url }, "laptop", { secretText: { [key]: url } });
    return true;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    expect(e.message).toContain(key);
    expect(e.message).not.toContain(H);
    return false;
  }
}

let files = 0;
/** The script's verdict: does it try to send to the URL (finish of a failed run, so ntfy alerts too)? */
async function scriptAccepts(key: Key, url: string, shell: string): Promise<boolean> {
  srv.reset();
  const file = host.secret(`url-${files++}`, `${url}\n`);
  const flag = key === "healthcheckUrl" ? "--healthcheck-url" : "--ntfy-url";
  const r = await host.run(["finish", "--unit", "restic-backups-daily", flag, file, "--max-time", "2", "--retries", "0"], { SERVICE_RESULT: "exit-code", EXIT_CODE: "exited", EXIT_STATUS: "1" }, shell);
  expect(r.code).toBe(0);
  const what = key === "healthcheckUrl" ? "heartbeat" : "ntfy";
  const refused = r.stdout.includes(`${what}: ${file} does not hold an http(s) URL; nothing sent`);
  const tried = new RegExp(`^restic-b2-monitor: ${what === "ntfy" ? "ntfy alert" : "heartbeat[^:]*"}: (sent|not delivered)`, "m").test(r.stdout);
  if (refused === tried) throw new Error(`neither or both: ${r.stdout}${r.stderr}`);
  expect(refused).toBe(!tried);
  if (tried && /^http:/i.test(url)) {
    // Plain http: the recorder saw the request, on the URL's own path.
    expect(srv.requests).toHaveLength(1);
    expect(srv.requests[0].url.startsWith(new URL(url).pathname)).toBe(true);
  }
  return tried;
}

describe.each(["sh", "bash"])("the scheme rule in the parser and in monitor.sh (%s)", (shell) => {
  test.each(TABLE)("%s %j: accepted %s by both", async (key, template, accepted) => {
    const url = template.replace("{host}", H);
    expect(parserAccepts(key, url)).toBe(accepted);
    expect(await scriptAccepts(key, url, shell)).toBe(accepted);
  });
});
