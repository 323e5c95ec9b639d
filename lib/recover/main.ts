// `npm run recover -- --stack NAME --to TIME [--apply] [--jobs N] [--project DIR]`
// (also: node -r ts-node/register/transpile-only lib/recover/main.ts ...):
// put a machine's restic repository on B2 back as it was at TIME, with the
// stack's management key, from the admin's machine. Dry run unless --apply.
//
// Exit status: 0 done, or nothing to do, or the dry run printed; 1 a B2 call
// failed (what was done stays done; run it again); 2 the command was refused
// (arguments, configuration, TIME outside the protection window, no bucket).
//
// NIXOS_RESTIC_B2_REALM_URL points b2_authorize_account elsewhere than B2
// (an https URL, or http on loopback: the tests' simulator).

import * as path from "node:path";
import { checkRealm } from "./b2";
import { RecoverOptions, recover } from "./run";
import { TargetError, loadTarget } from "./stack";
import { TIME_FORMS } from "./window";
import { runAdminMain, stackReadErrorText } from "../status/stacks";

export const USAGE = `usage: npm run recover -- --stack NAME --to TIME [--apply] [--jobs N] [--project DIR]

Puts the stack's restic repository on B2 back as it was at TIME: every file
version uploaded after TIME is deleted and every hide marker made after TIME
is removed, so exactly the files visible at TIME are visible again. Uses the
stack's management key (b2:applicationKeyId/b2:applicationKey, or
B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY), never the host's.

  --stack NAME   the machine's stack
  --to TIME      ${TIME_FORMS};
                 no older than the protection window (the bucket's lifecycle rule)
  --apply        do it (without: only print what would change; nothing is changed)
  --jobs N       deletions in flight at once (default 4)
  --project DIR  the Pulumi project (default: the current directory)
  --help         this text`;

export interface RecoverArgs extends Pick<RecoverOptions, "to" | "apply" | "jobs"> {
  stack: string;
  projectDir: string;
  help: boolean;
}

/** The arguments, or an Error naming the bad one. `--help` wins over everything else. */
export function parseArgs(argv: readonly string[], cwd: string): RecoverArgs {
  if (argv.includes("--help") || argv.includes("-h")) return { stack: "", to: "", apply: false, jobs: 4, projectDir: cwd, help: true };
  let stack: string | undefined;
  let to: string | undefined;
  const a = { apply: false, jobs: 4, projectDir: cwd, help: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--apply") a.apply = true;
    else if (flag === "--stack") stack = value();
    else if (flag === "--to") to = value();
    else if (flag === "--project") a.projectDir = path.resolve(cwd, value());
    else if (flag === "--jobs") {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 64) throw new Error(`--jobs must be a whole number from 1 to 64, got ${JSON.stringify(v)}`);
      a.jobs = Number(v);
    } else throw new Error(`unknown argument ${JSON.stringify(flag)}`);
  }
  const missing = [stack === undefined ? "--stack NAME" : "", to === undefined ? "--to TIME" : ""].filter((m) => m !== "");
  if (missing.length > 0) throw new Error(`${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} required`);
  return { ...a, stack: stack!, to: to! };
}

export async function recoverMain(argv: readonly string[], out: (s: string) => void, err: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args: RecoverArgs;
  let realm: string | undefined;
  try {
    args = parseArgs(argv, process.cwd());
    if (env.NIXOS_RESTIC_B2_REALM_URL) realm = checkRealm(env.NIXOS_RESTIC_B2_REALM_URL);
  } catch (e) {
    err(`recover: ${(e as Error).message}\n${USAGE.split("\n")[0]} (--help for more)\n`);
    return 2;
  }
  if (args.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  let target;
  try {
    target = await loadTarget(args.projectDir, args.stack, env);
  } catch (e) {
    if (e instanceof TargetError) {
      err(`recover: the stack ${args.stack} cannot be recovered as configured:\n${e.problems.map((p) => `  - ${p}`).join("\n")}\n`);
    } else {
      err(`recover: cannot read the stack: ${stackReadErrorText(e)}\n`);
    }
    return 2;
  }
  return recover(target, { to: args.to, apply: args.apply, jobs: args.jobs, realm }, (line) => out(`${line}\n`), (line) => err(`${line}\n`));
}

if (require.main === module) runAdminMain("recover", recoverMain);
