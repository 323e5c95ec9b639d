// A bad stack configuration under the SDK's own program runner (cmd/run, what
// the Node.js language host starts for `pulumi preview`/`up`), talking to a
// stand-in engine (test/support/fake-engine.ts): the program's ConfigError
// reaches the runner as a pulumi.RunError, which it reports as the user's
// error: the list of problems once, no stack trace, no "unhandled
// exception", a failing exit. The real engine's run of the same is in
// test/e2e/refusals.e2e.test.ts (where a Pulumi installation exists).

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FakeEngine, SDK_RUN_ENTRY, startFakeEngine } from "../support/fake-engine";
import { HOST_KEY } from "../support/config-fixtures";

const PROJECT_DIR = path.resolve(__dirname, "../..");

/**
 * What the language host passes on from Pulumi.yaml: `runtime.options.typescript`
 * as PULUMI_NODEJS_TYPESCRIPT, and `main` as the program to run.
 */
function languageHostView(): { typescript: boolean; main: string } {
  const yaml = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8");
  const typescript = /^runtime:\n(?:\s+.*\n)*?\s+typescript:\s*(true|false)/m.exec(yaml)?.[1] !== "false";
  const main = /^main:\s*(\S+)/m.exec(yaml)?.[1] ?? ".";
  return { typescript, main };
}

interface Run {
  code: number | null;
  stderr: string;
  engine: FakeEngine;
}

/** The program of this project (its Pulumi.yaml `main`, or `programPath`) run by the SDK's runner with `config` as the stack config. */
async function runProgram(config: Record<string, string>, programPath?: string): Promise<Run> {
  const engine = await startFakeEngine();
  const host = languageHostView();
  const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_CONFIG: JSON.stringify(config), PULUMI_NODEJS_TYPESCRIPT: String(host.typescript) };
  delete env.PULUMI_CONFIG_SECRET_KEYS;
  const program = programPath ?? path.join(PROJECT_DIR, host.main);
  const args = [SDK_RUN_ENTRY, `--monitor=${engine.address}`, `--engine=${engine.address}`, "--project=nixos-restic-b2", "--stack=laptop", `--root-directory=${PROJECT_DIR}`, `--pwd=${PROJECT_DIR}`, program];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd: PROJECT_DIR, env });
    let stderr = "";
    p.stdout.on("data", (d) => (stderr += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", async (code) => {
      await engine.stop();
      resolve({ code, stderr, engine });
    });
  });
}

const P = "nixos-restic-b2";

describe("a bad stack config under @pulumi/pulumi's program runner", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runProgram({ [`${P}:hostKey`]: HOST_KEY, [`${P}:bucketName`]: "Bad_Name!", [`${P}:paths`]: "[]", [`${P}:host`]: "nixos.lan" });
  }, 60_000);

  test("is reported as one error message: the list of problems, each once", () => {
    const errors = run.engine.logs.filter((l) => l.severity === "error");
    expect(errors).toHaveLength(1);
    const msg = errors[0].message;
    expect(msg).toMatch(/^Invalid stack configuration \(\d+ problems?\); nothing was changed:\n/);
    expect(msg).toContain(`${P}:bucketName`);
    expect(msg).toContain('"Bad_Name!"');
    expect(msg).toContain(`${P}:paths`);
    expect(msg.split(`${P}:bucketName`)).toHaveLength(2);
  });

  test("with no stack trace, no colour codes and no 'unhandled exception'", () => {
    const all = run.engine.logs.filter((l) => l.severity !== "debug").map((l) => l.message).join("\n") + run.stderr;
    expect(all).not.toMatch(/unhandled exception/i);
    expect(all).not.toMatch(/^\s+at /m);
    expect(all).not.toContain("\u001b[");
  });

  test("and the program exits non-zero, having created no resource but the stack", () => {
    expect(run.code).not.toBe(0);
    expect(run.engine.registered.filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
  });
});

test("positive control: the same ConfigError thrown as it is, not as a RunError, is an unhandled exception with a stack trace", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-raw-error-"));
  const program = path.join(dir, "index.js");
  // Pulumi.yaml runs the program with typescript: false, so this plain program loads the TypeScript sources through ts-node itself.
  fs.writeFileSync(
    program,
    `require(${JSON.stringify(path.join(PROJECT_DIR, "node_modules", "ts-node"))}).register({ transpileOnly: true, project: ${JSON.stringify(path.join(PROJECT_DIR, "tsconfig.json"))} });\n` +
      `require(${JSON.stringify(path.join(PROJECT_DIR, "lib/config"))}).parseConfig({ bucketName: "Bad_Name!" }, {}, "laptop");\n`,
  );
  try {
    const r = await runProgram({}, program);
    const errors = r.engine.logs.filter((l) => l.severity === "error").map((l) => l.message).join("\n");
    expect(r.code).not.toBe(0);
    expect(errors).toMatch(/unhandled exception/);
    expect(errors).toMatch(/^\s+at /m);
    expect(errors).toContain("bucketName");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
