// `npm run status [-- --stack NAME] [--json] [--max-age 26h] [--project DIR]`
// (also: node -r ts-node/register/transpile-only lib/status/main.ts ...):
// every machine's backup state, one SSH session per host, hosts in parallel.
//
// Exit status: 0 all well; 1 some machine needs attention (newest snapshot
// older than the limit, last run failed, timer not active, host unreachable,
// unusable configuration); 2 the command itself failed (bad arguments, no
// Pulumi CLI, unknown stack).

import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { HostStatus, StackTarget, exitCode, formatJson, formatTable, judge, parseMaxAge, parseStatusOutput, statusCommand } from "./report";
import { sshRun } from "./ssh";
import { loadStacks, runAdminMain, stackReadErrorText } from "./stacks";

export interface StatusArgs {
  stack?: string;
  json: boolean;
  maxAgeHours?: number;
  projectDir: string;
}

export const USAGE = "usage: npm run status -- [--stack NAME] [--json] [--max-age 26h|90m|2d] [--project DIR]";

export function parseArgs(argv: readonly string[], cwd: string): StatusArgs {
  const a: StatusArgs = { json: false, projectDir: cwd };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === "--json") a.json = true;
    else if (flag === "--stack") a.stack = value();
    else if (flag === "--max-age") a.maxAgeHours = parseMaxAge(value());
    else if (flag === "--project") a.projectDir = path.resolve(cwd, value());
    else throw new Error(`unknown argument ${JSON.stringify(flag)}\n${USAGE}`);
  }
  return a;
}

/** Asks one host (or not, with deploy: false or a bad configuration) and judges the answer. */
export async function checkTarget(t: StackTarget, now: () => Date = () => new Date()): Promise<HostStatus> {
  const s: HostStatus = {
    stack: t.stack,
    backupName: t.backupName,
    host: t.host,
    checked: t.deploy && t.configError === undefined,
    maxAgeHours: t.maxAgeHours,
    problems: [],
    ...(t.repository === undefined ? {} : { repository: t.repository }),
    ...(t.protection === undefined ? {} : { protection: t.protection }),
  };
  if (t.configError !== undefined) {
    s.problems.push(`configuration: ${t.configError}`);
    return s;
  }
  if (!s.checked) return s;
  const nonce = randomBytes(12).toString("hex");
  const r = await sshRun(
    { host: t.host, port: t.sshPort, user: t.sshUser, hostKey: t.hostKey, privateKey: t.sshPrivateKey },
    statusCommand(t.backupName, nonce, t.sshUser !== "root"),
  );
  if (r.code === 255 || r.timedOut || r.code === null) {
    s.reachable = false;
    s.error = r.timedOut ? "no answer within 180 s" : r.stderr.trim().split("\n").slice(-2).join(" ") || `ssh exited ${r.code}`;
    return judge(s, now());
  }
  s.reachable = true;
  parseStatusOutput(r.stdout, nonce, s);
  if (r.code !== 0 && s.error === undefined) s.error = `the status script exited ${r.code}: ${r.stderr.trim().split("\n").slice(-2).join(" ")}`;
  return judge(s, now());
}

export async function statusMain(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let args: StatusArgs;
  try {
    args = parseArgs(argv, process.cwd());
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 2;
  }
  let targets: StackTarget[];
  try {
    targets = await loadStacks({ projectDir: args.projectDir, stack: args.stack, maxAgeHours: args.maxAgeHours });
  } catch (e) {
    err(`status: cannot read the stacks: ${stackReadErrorText(e)}\n`);
    return 2;
  }
  const all = await Promise.all(targets.map((t) => checkTarget(t)));
  out(args.json ? formatJson(all, new Date()) : formatTable(all));
  return exitCode(all);
}

if (require.main === module) runAdminMain("status", statusMain);
