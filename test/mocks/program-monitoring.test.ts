// index.ts with the monitoring keys set, under Pulumi mocks: the URLs reach
// only the encryption commands' secret stdin; the host gets the extra .age
// files and a module with the hooks; a bad URL stops the program with a
// message that names the key, not the value.
import { createHash } from "node:crypto";
import type { MockRecorder } from "../support/pulumi-mocks";
import { MONITOR_STATE_DIR } from "../../lib/host/layout";
import { installProgramMocks, programError, runProgram } from "../support/program-mocks";

const HC = "https://hc-ping.com/5b0bd2c6-0b5a-4e0f-9a43-8c1d2e3f4a5b";
const NTFY = "https://ntfy.sh/very-secret-topic-123";
const TOKEN = "tk_testonlytokenvalue000000000";
const BASE: Record<string, string> = {
  "nixos-restic-b2:host": "nixos.lan",
  "nixos-restic-b2:hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@nixos-dev",
  "nixos-restic-b2:paths": JSON.stringify(["/home"]),
  "b2:applicationKeyId": "test-mgmt-id",
  "b2:applicationKey": "test-mgmt-key",
};
const SECRET_KEYS = ["b2:applicationKeyId", "b2:applicationKey", "nixos-restic-b2:healthcheckUrl", "nixos-restic-b2:ntfyUrl", "nixos-restic-b2:ntfyToken", "nixos-restic-b2:drillHealthcheckUrl"];

let mocks: MockRecorder;
beforeAll(async () => {
  mocks = await installProgramMocks("K004-key");
});

const run = (config: Record<string, string>) => runProgram(mocks, config, SECRET_KEYS.filter((k) => k in config));

test("all three keys: three more .age files, pushed to the host; the module has the hooks; no URL elsewhere", async () => {
  await run({ ...BASE, "nixos-restic-b2:healthcheckUrl": HC, "nixos-restic-b2:ntfyUrl": NTFY, "nixos-restic-b2:ntfyToken": TOKEN });
  const names = mocks.resources.map((r) => r.name);
  expect(names).toEqual(expect.arrayContaining(["laptop-healthcheck", "laptop-ntfy-url", "laptop-ntfy-token"]));
  const deploy = mocks.one("command:remote:Command", "laptop-deploy");
  const create = String(deploy.inputs.create);
  const stdin = String(deploy.inputs.stdin);
  for (const f of ["healthcheck", "ntfy-url", "ntfy-token"]) {
    // The command names each file by sha256; the ciphertext travels on stdin.
    const text = `CIPHERTEXT of secrets/laptop/restic/${f}.age\n`;
    expect(create).toContain(`'--file' 'secrets/${f}.age=${createHash("sha256").update(text, "utf8").digest("hex")}'`);
    expect(stdin).toContain(`rb2_file 'secrets/${f}.age' '${text}'\n`);
  }
  expect(stdin).toContain("rb2_file 'module.nix' '");
  expect(stdin).toContain("--healthcheck-url ${config.age.secrets.restic-b2-daily-healthcheck.path}");
  for (const r of mocks.resources) {
    for (const [k, v] of Object.entries(r.inputs)) {
      const text = JSON.stringify(v);
      const allowed = k === "stdin" && ["laptop-healthcheck", "laptop-ntfy-url", "laptop-ntfy-token"].includes(r.name);
      for (const secret of [HC, NTFY, TOKEN]) if (!allowed) expect(text).not.toContain(secret);
    }
  }
});

test("none set: exactly the resources of before", async () => {
  await run(BASE);
  expect(mocks.resources.map((r) => r.name).filter((n) => /healthcheck|ntfy/.test(n))).toEqual([]);
});

test("a malformed URL: a ConfigError naming the key and the rule, not the value", () => {
  const err = programError({ ...BASE, "nixos-restic-b2:healthcheckUrl": "https://example.org/SECRET-x" }, SECRET_KEYS.slice(0, 3));
  expect(err.message).toMatch(/nixos-restic-b2:healthcheckUrl: must be a Healthchecks ping URL/);
  expect(err.message).not.toContain("SECRET-x");
});

test("drillHealthcheckUrl: its own .age file, pushed to the host; the drill unit pings it; the URL only in its encryption's stdin", async () => {
  const DRILL_HC = "https://hc-ping.com/0f0e0d0c-0b0a-4909-8807-060504030201";
  await run({ ...BASE, "nixos-restic-b2:drillHealthcheckUrl": DRILL_HC });
  expect(mocks.resources.map((r) => r.name)).toContain("laptop-drill-healthcheck");
  const deploy = mocks.one("command:remote:Command", "laptop-deploy");
  const text = "CIPHERTEXT of secrets/laptop/restic/drill-healthcheck.age\n";
  expect(String(deploy.inputs.create)).toContain(`'--file' 'secrets/drill-healthcheck.age=${createHash("sha256").update(text, "utf8").digest("hex")}'`);
  const stdin = String(deploy.inputs.stdin);
  expect(stdin).toContain(`rb2_file 'secrets/drill-healthcheck.age' '${text}'\n`);
  expect(stdin).toContain(`start --unit restic-b2-drill-daily --state-dir ${MONITOR_STATE_DIR} --healthcheck-url \${config.age.secrets.restic-b2-daily-drill-healthcheck.path}`);
  for (const r of mocks.resources) {
    for (const [k, v] of Object.entries(r.inputs)) {
      if (k === "stdin" && r.name === "laptop-drill-healthcheck") continue;
      expect(JSON.stringify(v)).not.toContain(DRILL_HC);
    }
  }
});

test("a malformed drillHealthcheckUrl: refused naming the key, not the value", () => {
  const err = programError({ ...BASE, "nixos-restic-b2:drillHealthcheckUrl": "https://example.org/SECRET-y" }, [...SECRET_KEYS]);
  expect(err.message).toMatch(/nixos-restic-b2:drillHealthcheckUrl: must be a Healthchecks ping URL/);
  expect(err.message).not.toContain("SECRET-y");
});
