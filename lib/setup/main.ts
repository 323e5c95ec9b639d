// `npm run setup -- <machine> [flags]`: creates (or updates) the stack and
// sets what `pulumi up` needs, asking only what no flag, environment variable
// or earlier answer gives. Every value is written by the Pulumi CLI's own
// `pulumi config set` (./stack), only after the whole configuration passes
// lib/config's parser (./answers), and only where it differs from what the
// stack sets (a rerun writes nothing). Prompts and errors go to stderr; no
// secret is ever printed.
//
// Exit status: 0 done (or nothing to change); 1 the answers were refused
// (bad configuration, host key not confirmed: nothing written); 2 setup
// itself failed (bad arguments, no Pulumi CLI, the CLI failed); 130 interrupted.

import * as path from "node:path";
import { ConfigError } from "../config";
import { INSTALL_CLI, findEngine } from "../engine/find";
import { Answers, Refused, check, collect } from "./answers";
import { HELP, SetupArgs, USAGE, parseArgs } from "./args";
import { CliError, PulumiCli, StackState, fullKey } from "./stack";
import { Interrupted, Io, terminalIo } from "./terminal";

/** The stack's passphrase for the CLI's child processes (env, never a command line): from the environment, else asked. */
async function passphraseEnv(io: Io, isNew: boolean, needed: boolean): Promise<Record<string, string>> {
  if (!needed || io.env.PULUMI_CONFIG_PASSPHRASE !== undefined || io.env.PULUMI_CONFIG_PASSPHRASE_FILE !== undefined || !io.interactive) return {};
  const p = await io.ask(`The passphrase that protects this project's stack secrets${isNew ? " (new stack: choose one)" : ""} (not shown): `, true);
  if (p === undefined) throw new Refused("no passphrase given (or set PULUMI_CONFIG_PASSPHRASE): nothing was written");
  if (isNew && (await io.ask("The same passphrase again (not shown): ", true)) !== p) throw new Refused("the passphrases differ: nothing was written");
  return { PULUMI_CONFIG_PASSPHRASE: p };
}

function otherPaths(cli: PulumiCli, stacks: string[], machine: string): () => string[] {
  return () =>
    stacks
      .filter((s) => s !== machine)
      .flatMap((s) => {
        const list = cli.config(s, false)[fullKey("paths")]?.value;
        try {
          const v: unknown = list === undefined ? [] : JSON.parse(list);
          return Array.isArray(v) ? v.map(String) : [];
        } catch {
          return [];
        }
      });
}

/** Writes the answers as `pulumi config set` does, plain keys first; returns the keys written. A failure says what was written before it. */
function write(cli: PulumiCli, machine: string, st: StackState, ans: Answers): string[] {
  const written: string[] = [];
  const step = (name: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      const sofar = written.length > 0 ? `; written before it: ${written.join(", ")} (rerun setup to finish)` : "; nothing was written";
      throw new CliError(`${(e as Error).message}${sofar}`);
    }
    written.push(name);
  };
  if (!st.exists) cli.init(machine);
  for (const [k, v] of Object.entries(ans.plain)) {
    step(k, () => (Array.isArray(v) ? cli.setList(machine, k, v, st.set.has(fullKey(k))) : cli.setPlain(machine, k, v)));
  }
  for (const [k, v] of Object.entries(ans.secrets)) if (v !== undefined) step(`${k} (secret)`, () => cli.setSecret(machine, k, v));
  return written;
}

async function run(a: SetupArgs, io: Io, cwd: string): Promise<number> {
  const bin = findEngine(io.env).cli?.pulumi;
  if (bin === undefined) {
    io.err(`setup: no Pulumi CLI: ${INSTALL_CLI}\n`);
    return 2;
  }
  const probe = new PulumiCli(bin, a.projectDir, io.env);
  const stacks = probe.stacks();
  const exists = stacks.includes(a.machine);
  const cli = new PulumiCli(bin, a.projectDir, { ...io.env, ...(await passphraseEnv(io, !exists, probe.usesPassphrase(a.machine, exists))) });
  const st = cli.state(a.machine, exists);
  const ans = await collect(a, st, io, otherPaths(cli, stacks, a.machine));
  const warnings = check(a.machine, st, ans);
  const written = write(cli, a.machine, st, ans);
  for (const w of warnings) io.err(`warning: ${w}\n`);
  io.out(written.length === 0 ? `Stack ${a.machine}: nothing to change.\n` : `Stack ${a.machine}: ${exists ? "" : "created; "}set ${written.join(", ")}.\n`);
  io.out(`Next: ${path.resolve(a.projectDir) === path.resolve(cwd) ? "" : `cd ${a.projectDir} && `}pulumi up -s ${a.machine}\n`);
  return 0;
}

export async function setupMain(argv: readonly string[], io: Io, cwd = process.cwd()): Promise<number> {
  let a: SetupArgs;
  try {
    a = parseArgs(argv, cwd);
  } catch (e) {
    io.err(`setup: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (a.help) {
    io.out(`${HELP}\n`);
    return 0;
  }
  try {
    return await run(a, io, cwd);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof Refused) {
      io.err(`${e instanceof ConfigError ? e.message.replace("nothing was changed", "nothing was written") : `setup: ${e.message}`}\n`);
      return 1;
    }
    if (e instanceof Interrupted) {
      io.err("setup: interrupted: nothing was written\n");
      return 130;
    }
    // The CLI's own words (CliError) or a tool that failed: one line, no stack trace.
    io.err(`setup: ${(e as Error).message}\n`);
    return 2;
  }
}

if (require.main === module) {
  setupMain(process.argv.slice(2), terminalIo()).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`setup: ${e.message}\n`);
      process.exit(2);
    },
  );
}
