// One SSH session to a stack's host with the system `ssh` client, pinned to
// the stack's host key (a private known_hosts file holding only that key),
// authenticated with the stack's private key or the user's agent.
//
// The private key never touches a file or a command line: a private
// ssh-agent is started for the session (its socket in a 0700 temp
// directory), the key is given to `ssh-add -` on stdin, and the agent is
// stopped and the directory removed afterwards.

import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** "<type> <base64>" */
  hostKey: string;
  /** The private key's text, or undefined to use SSH_AUTH_SOCK. */
  privateKey?: string;
}

export interface SshResult {
  /** ssh's exit status (255: ssh itself failed: unreachable, host key, auth), or null when killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function run(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; input?: string; timeoutMs: number }): Promise<SshResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: opts.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, opts.timeoutMs);
    p.stdout.on("data", (d) => (stdout += d.toString()));
    p.stderr.on("data", (d) => (stderr += d.toString()));
    p.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + e.message, timedOut });
    });
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    p.stdin.on("error", () => undefined);
    p.stdin.end(opts.input ?? "");
  });
}

/** Starts `ssh-agent -D -a <socket>` and waits for the socket. */
async function startAgent(socket: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const agent = spawn("ssh-agent", ["-D", "-a", socket], { env, stdio: ["ignore", "ignore", "pipe"] });
  let failed = "";
  agent.stderr!.on("data", (d) => (failed += d.toString()));
  const deadline = Date.now() + 5000;
  while (!fs.existsSync(socket)) {
    if (agent.exitCode !== null || Date.now() > deadline) {
      agent.kill("SIGKILL");
      throw new Error(`ssh-agent did not start: ${failed.trim() || "timeout"}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return agent;
}

function stopAgent(agent: ChildProcess): Promise<void> {
  if (agent.exitCode !== null || agent.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    agent.once("exit", () => resolve());
    agent.kill("SIGTERM");
  });
}

/** Runs `command` on the target (one session); never throws for a remote or connection failure. */
export async function sshRun(t: SshTarget, command: string, timeoutMs = 180_000): Promise<SshResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-status-"));
  fs.chmodSync(dir, 0o700);
  let agent: ChildProcess | undefined;
  try {
    const known = path.join(dir, "known_hosts");
    const hostName = t.host.replace(/^\[(.*)\]$/, "$1");
    const entry = t.port === 22 ? hostName : `[${hostName}]:${t.port}`;
    fs.writeFileSync(known, `${entry} ${t.hostKey}\n`, { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (t.privateKey !== undefined) {
      const socket = path.join(dir, "agent.sock");
      agent = await startAgent(socket, env);
      env.SSH_AUTH_SOCK = socket;
      const key = t.privateKey.endsWith("\n") ? t.privateKey : `${t.privateKey}\n`;
      const added = await run("ssh-add", ["-q", "-"], { env, input: key, timeoutMs: 10_000 });
      if (added.code !== 0) {
        // ssh-add's message names no key material.
        return { code: 255, stdout: "", stderr: `sshPrivateKey could not be loaded: ${added.stderr.trim()}`, timedOut: false };
      }
    }
    const args = [
      "-F", "none",
      "-p", String(t.port),
      "-o", "BatchMode=yes",
      "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${known}`,
      "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "HostKeyAlgorithms=" + t.hostKey.split(" ")[0] + (t.hostKey.startsWith("ssh-rsa") ? ",rsa-sha2-512,rsa-sha2-256" : ""),
      "-o", "ConnectTimeout=15",
      "-o", "ServerAliveInterval=15",
      "-o", "ServerAliveCountMax=3",
      "-o", "LogLevel=ERROR",
      "-l", t.user,
      "--",
      hostName,
      command,
    ];
    return await run("ssh", args, { env, timeoutMs });
  } finally {
    if (agent !== undefined) await stopAgent(agent);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
