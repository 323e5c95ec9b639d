// A copy of the project with its own Pulumi home and passphrase, for the
// suites that run an admin command (`npm run status`, `npm run recover`) by
// its documented entry point against stacks made with the real Pulumi CLI.

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { INSTALL_CLI } from "../../lib/engine/find";
import { findPulumiRoot } from "../../lib/status/stacks";

const PROJECT_DIR = path.resolve(__dirname, "../..");

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class AdminProject {
  /** The temporary directory: the project copy, its HOME and PULUMI_HOME are inside. */
  readonly dir: string;
  readonly project: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly pulumiBin: string;

  /** `extraEnv` is added to the environment of every command. */
  constructor(name: string, extraEnv: Record<string, string> = {}) {
    const root = findPulumiRoot();
    if (root === undefined) throw new Error(`no Pulumi CLI: ${INSTALL_CLI}`);
    this.pulumiBin = path.join(root, "bin", "pulumi");
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `restic-b2-${name}-cli-`));
    this.project = path.join(this.dir, "project");
    fs.mkdirSync(this.project);
    fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(this.project, "Pulumi.yaml"));
    this.env = {
      PATH: process.env.PATH,
      HOME: path.join(this.dir, "home"),
      PULUMI_HOME: path.join(this.dir, "pulumi-home"),
      PULUMI_BIN: this.pulumiBin,
      PULUMI_CONFIG_PASSPHRASE: `${name} test passphrase`,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      ...extraEnv,
    };
  }

  /** `pulumi <args> --non-interactive` in the project; `input` on stdin (how secrets go in). Throws on failure. */
  pulumi(args: string[], input?: string): string {
    const r = spawnSync(this.pulumiBin, [...args, "--non-interactive"], { cwd: this.project, env: this.env, input, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.status}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** An admin command's entry point (e.g. lib/status/main.ts) with `--project` set to the copy. */
  run(entry: string, args: string[]): Promise<CommandResult> {
    return new Promise((resolve) => {
      const p = spawn("node", ["-r", "ts-node/register/transpile-only", path.join(PROJECT_DIR, entry), "--project", this.project, ...args], { cwd: PROJECT_DIR, env: this.env });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += d));
      p.stderr.on("data", (d) => (stderr += d));
      p.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
