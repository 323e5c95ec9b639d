// What must stop `pulumi up` before anything happens on the host, under the
// real engine: a host that shows another key than hostKey (the SSH connection
// is refused, nothing runs), and bad values (the parser's message, and no
// SSH connection at all).

import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, PLAIN_KEYS, RawConfig, parseConfig } from "../../lib/config";
import { TestSshd, TreeEntry, snapshotTree } from "../support/sshd";
import { E2eProject, findLeaks, leakPlaces, privateKeyLines, publicKey, sshKeygen, sshSessions, text, describeE2e, e2eEngine } from "./harness";

let srv: TestSshd;
let p: E2eProject;
let keys: string;
let pristine: TreeEntry[];
const SECRETS = { existingKeyId: "0042e2e0000000000000000c3", existingKey: "K0042e2eRefusalsB2KeyNeverInPlaintext4d5e6f" };

function goodConfig(): Record<string, unknown> {
  return {
    createBucket: false,
    bucketName: "e2e-restic-refusals",
    hostKey: srv.hostPublicKey(),
    agenixDir: path.join(keys, "secrets-out"),
    host: "127.0.0.1",
    sshPort: srv.port,
    hostConfigDir: srv.configDir,
    agenixModule: "provided",
    paths: ["/home"],
  };
}

/** The problems lib/config/ reports for this config, computed in-process: the CLI must show each. */
function parserProblems(config: Record<string, unknown>): string[] {
  const raw: RawConfig = {};
  for (const k of PLAIN_KEYS) if (config[k] !== undefined) raw[k] = typeof config[k] === "string" ? (config[k] as string) : JSON.stringify(config[k]);
  try {
    parseConfig(raw, SECRETS, p.stack);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("the parser accepted the config");
}

/** Nothing reached the host: no stub call, no SSH session, the fake root unchanged. */
function expectHostUntouched(sessionsBefore: number): void {
  expect(srv.rebuildCalls()).toEqual([]);
  expect(srv.callLog("systemctl.calls")).toEqual([]);
  expect(sshSessions(srv.serverLog())).toBe(sessionsBefore);
  expect(snapshotTree(srv.root)).toEqual(pristine);
}

describeE2e("e2e refusals", () => {
  beforeAll(async () => {
    srv = await TestSshd.start();
    keys = fs.mkdtempSync(path.join(srv.dir, "e2e-keys-"));
    pristine = snapshotTree(srv.root);
    p = await E2eProject.create(e2eEngine(), {
      config: {},
      secrets: { ...SECRETS, sshPrivateKey: fs.readFileSync(srv.clientKey, "utf8") },
    });
  }, 120_000);

  afterAll(async () => {
    p?.cleanup();
    await srv?.stop();
  });

  test("a host that shows another host key than hostKey is refused; nothing runs on it", async () => {
    const other = publicKey(sshKeygen(keys, "other_host", "ed25519")).split(" ").slice(0, 2).join(" ");
    p.setConfig({ ...goodConfig(), hostKey: other });
    const sessions = sshSessions(srv.serverLog());
    const r = await p.up();
    expect(r.code).not.toBe(0);
    expect(text(r)).toMatch(/host key mismatch/i);
    expectHostUntouched(sessions);
  });

  test.each([
    ["an invalid bucket name", { bucketName: "b2-Not_Valid!" }, "bucketName"],
    ["an ECDSA hostKey", { hostKey: "" }, "hostKey"],
    ["a newline in a path", { paths: ["/home", "/srv/line1\nline2"] }, "paths"],
  ])("%s fails before anything reaches the host, with the parser's message", async (_name, change, key) => {
    const config: Record<string, unknown> = { ...goodConfig(), agenixDir: path.join(keys, `secrets-${key}`), ...change };
    if (key === "hostKey") config.hostKey = publicKey(sshKeygen(keys, "ecdsa_host", "ecdsa"));
    const problems = parserProblems(config);
    expect(problems.join("\n")).toContain(key);
    p.setConfig(config);
    const sessions = sshSessions(srv.serverLog());
    const logBefore = srv.serverLog().length;
    const r = await p.up();
    expect(r.code).not.toBe(0);
    for (const problem of problems) expect(text(r)).toContain(problem);
    expect(text(r)).toContain("nothing was changed");
    // A user error (pulumi.RunError): each problem once, no stack trace, no colour, no "unhandled exception".
    for (const problem of problems) expect(text(r).split(problem)).toHaveLength(2);
    expect(text(r)).not.toMatch(/unhandled exception/i);
    expect(text(r)).not.toMatch(/^\s+at .*[(:]\d+/m);
    expect(text(r)).not.toContain("\u001b[");
    const pr = await p.preview();
    expect(pr.code).not.toBe(0);
    for (const problem of problems) expect(text(pr).split(problem)).toHaveLength(2);
    expect(text(pr)).not.toMatch(/unhandled exception/i);
    expect(srv.serverLog().slice(logBefore)).toBe(""); // not even a connection attempt
    expectHostUntouched(sessions);
    expect(fs.existsSync(path.join(keys, `secrets-${key}`))).toBe(false); // nothing written locally either
  });

  test("no plaintext B2 key or SSH private key in state, .pulumi/ or any CLI output of the refused runs", async () => {
    const secrets: Record<string, string> = { "B2 key": SECRETS.existingKey, "B2 key id": SECRETS.existingKeyId };
    privateKeyLines(fs.readFileSync(srv.clientKey, "utf8")).forEach((l, i) => (secrets[`SSH private key line ${i + 1}`] = l));
    expect(p.outputs.filter((o) => o.code !== 0).length).toBeGreaterThanOrEqual(4);
    expect(findLeaks(await leakPlaces(p), secrets)).toEqual([]);
  });
});
