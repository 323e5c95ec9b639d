// Runs lib/host/monitor.sh the way systemd does (SERVICE_RESULT, EXIT_CODE,
// EXIT_STATUS, INVOCATION_ID in the environment), with a stub journalctl that
// prints a chosen journal and a curl wrapper that logs its argument list
// before running the real curl, so tests can check that no credential is
// ever on a command line.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { shellQuote } from "../../lib/host/shell";

export const MONITOR_SCRIPT = path.resolve(__dirname, "../../lib/host/monitor.sh");

export interface MonitorRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Argument lists curl was started with, one per call. */
  curlArgs: string[][];
  /** Argument lists journalctl was started with. */
  journalArgs: string[][];
  /** The B2 credentials curl saw in its environment (should be ""). */
  curlB2Env: string;
}

export class MonitorHost {
  readonly dir: string;
  readonly bin: string;
  readonly secrets: string;
  private readonly journalFile: string;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-monitor-"));
    this.bin = path.join(this.dir, "bin");
    this.secrets = path.join(this.dir, "agenix");
    fs.mkdirSync(this.bin);
    fs.mkdirSync(this.secrets, { mode: 0o700 });
    this.journalFile = path.join(this.dir, "journal.txt");
    fs.writeFileSync(this.journalFile, "");
    const curl = spawnPath("curl");
    // NUL-separated argument lists, one record per call.
    fs.writeFileSync(
      path.join(this.bin, "curl"),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\037' "$a"; done >> ${shellQuote(path.join(this.dir, "curl.args"))}\n` +
        `printf '\\036' >> ${shellQuote(path.join(this.dir, "curl.args"))}\n` +
        // What curl would inherit of the unit's B2 credentials (nothing, if the script drops them).
        `printf '%s' "\${B2_ACCOUNT_ID:-}\${B2_ACCOUNT_KEY:-}" >> ${shellQuote(path.join(this.dir, "curl.env"))}\nexec ${shellQuote(curl)} "$@"\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(this.bin, "journalctl"),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\037' "$a"; done >> ${shellQuote(path.join(this.dir, "journalctl.args"))}\n` +
        `printf '\\036' >> ${shellQuote(path.join(this.dir, "journalctl.args"))}\ncat ${shellQuote(this.journalFile)}\n`,
      { mode: 0o755 },
    );
  }

  /** Writes a credential file (0600) and returns its path. */
  secret(name: string, value: string): string {
    const p = path.join(this.secrets, name);
    fs.writeFileSync(p, value, { mode: 0o600 });
    return p;
  }

  setJournal(text: string | Buffer): void {
    fs.writeFileSync(this.journalFile, text);
  }

  private records(file: string): string[][] {
    const p = path.join(this.dir, file);
    if (!fs.existsSync(p)) return [];
    const text = fs.readFileSync(p, "utf8");
    fs.rmSync(p);
    return text
      .split("\x1e")
      .filter((r) => r !== "")
      .map((r) => r.split("\x1f").slice(0, -1));
  }

  private take(file: string): string {
    const p = path.join(this.dir, file);
    if (!fs.existsSync(p)) return "";
    const text = fs.readFileSync(p, "utf8");
    fs.rmSync(p);
    return text;
  }

  /** Runs the script with `shell` (sh = the system sh, or bash) and the given systemd variables. */
  run(args: string[], env: Record<string, string | undefined>, shell = "sh"): Promise<MonitorRun> {
    const started = Date.now();
    const fullEnv: NodeJS.ProcessEnv = { PATH: `${this.bin}:/usr/bin:/bin`, LANG: "C.UTF-8" };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) fullEnv[k] = v;
    return new Promise((resolve, reject) => {
      const p = spawn(shell, [MONITOR_SCRIPT, ...args], { env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += d.toString()));
      p.stderr.on("data", (d) => (stderr += d.toString()));
      p.on("error", reject);
      p.on("close", (code) =>
        resolve({
          code,
          stdout,
          stderr,
          ms: Date.now() - started,
          curlArgs: this.records("curl.args"),
          journalArgs: this.records("journalctl.args"),
          curlB2Env: this.take("curl.env"),
        }),
      );
    });
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function spawnPath(cmd: string): string {
  for (const d of ["/usr/bin", "/bin", "/usr/local/bin"]) {
    const p = path.join(d, cmd);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${cmd} is required for these tests (Debian package ${cmd})`);
}
