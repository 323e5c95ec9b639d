// Reads every stack's configuration through Pulumi's Automation API
// (LocalWorkspace on the project directory): `listStacks`, then
// `getAllConfig` per stack, with secrets decrypted by the CLI into this
// process's memory only. Each stack goes through the program's own parser
// (lib/config/), so status sees the same defaults and rules as `pulumi up`.

import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { INSTALL_CLI, findEngine } from "../engine/find";
import { ConfigError, PROJECT, destructiveCapabilities, RawConfig, SECRET_KEYS, SecretKey, parseConfig, readRawConfig } from "../config";
import { StackTarget, defaultMaxAgeHours } from "./report";

/**
 * The installation root of the Pulumi CLI lib/engine/find.ts picks
 * (PULUMI_BIN, NIXOS_RESTIC_B2_PULUMI, the CLI scripts/build-engine.sh built,
 * the installer's, PATH's): PulumiCommand runs `<root>/bin/pulumi`, so a CLI
 * not at such a path gets a private root whose bin/pulumi links to it
 * (removed when the process exits). Undefined when there is no CLI.
 */
export function findPulumiRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const cli = findEngine(env).cli?.pulumi;
  if (cli === undefined) return undefined;
  if (path.basename(cli) === "pulumi" && path.basename(path.dirname(cli)) === "bin") return path.dirname(path.dirname(cli));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-pulumi-"));
  process.once("exit", () => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, "bin"));
  fs.symlinkSync(path.resolve(cli), path.join(root, "bin", "pulumi"));
  return root;
}

export interface LoadOptions {
  projectDir: string;
  /** Only this stack (default: all). */
  stack?: string;
  /** Overrides every stack's limit (hours). */
  maxAgeHours?: number;
  /** Extra environment for the CLI (tests: PULUMI_HOME, the passphrase). */
  envVars?: Record<string, string>;
}

/** One stack's configuration as `getAllConfig` returns it (secrets decrypted, in memory only). */
export type StackConfig = Record<string, { value: string; secret?: boolean }>;

/** The parser's inputs from a stack's configuration: the plain keys and the secret keys' values. */
export function configInputs(all: StackConfig): { raw: RawConfig; secrets: Partial<Record<SecretKey, string>> } {
  const raw = readRawConfig((key) => all[`${PROJECT}:${key}`]?.value);
  const secrets: Partial<Record<SecretKey, string>> = {};
  for (const key of SECRET_KEYS) {
    const v = all[key.includes(":") ? key : `${PROJECT}:${key}`];
    if (v !== undefined) secrets[key] = v.value;
  }
  return { raw, secrets };
}

/** Maps one stack's `getAllConfig` result to a target (pure: tested without the CLI). */
export function targetFromConfig(
  stack: string,
  all: StackConfig,
  maxAgeHours?: number,
  outputs: Record<string, unknown> = {},
): StackTarget {
  const { raw, secrets } = configInputs(all);
  const repository = typeof outputs.repository === "string" ? outputs.repository : undefined;
  try {
    const cfg = parseConfig(raw, secrets, stack, { secretText: secrets });
    return {
      stack,
      backupName: cfg.backup.backupName,
      deploy: cfg.host.deploy,
      host: cfg.host.host,
      sshPort: cfg.host.sshPort,
      sshUser: cfg.host.sshUser,
      hostKey: cfg.secrets.hostKey,
      sshPrivateKey: cfg.host.sshPrivateKey,
      maxAgeHours: maxAgeHours ?? defaultMaxAgeHours(cfg.backup.timerConfig),
      protection: {
        ...(cfg.storage.createBucket ? { protected: destructiveCapabilities(cfg.storage.keyCapabilities).length === 0 } : {}),
        windowDays: cfg.storage.lifecycleDays,
      },
      ...(repository === undefined ? {} : { repository }),
    };
  } catch (e) {
    // ConfigError messages name keys and rules, never a secret's value.
    const message = e instanceof ConfigError ? e.problems.join("; ") : "the configuration could not be read";
    return {
      stack,
      backupName: raw.backupName ?? "daily",
      deploy: false,
      host: raw.host ?? "",
      sshPort: 22,
      sshUser: "root",
      hostKey: "",
      maxAgeHours: maxAgeHours ?? 26,
      configError: message,
    };
  }
}

/** The project's workspace through the CLI, and the stacks asked for (all, or `stack`, which must exist). */
export async function openStacks(opts: { projectDir: string; stack?: string; envVars?: Record<string, string> }): Promise<{ ws: LocalWorkspace; names: string[] }> {
  const root = findPulumiRoot();
  if (root === undefined) throw new Error(`no Pulumi CLI: ${INSTALL_CLI}`);
  const pulumiCommand = await PulumiCommand.get({ root, skipVersionCheck: true });
  const ws = await LocalWorkspace.create({ workDir: opts.projectDir, pulumiCommand, envVars: opts.envVars });
  const names = (await ws.listStacks()).map((s) => s.name).sort();
  if (opts.stack !== undefined && !names.includes(opts.stack)) {
    throw new Error(`no stack named ${JSON.stringify(opts.stack)} in ${opts.projectDir} (stacks: ${names.join(", ") || "none"})`);
  }
  return { ws, names: opts.stack === undefined ? names : [opts.stack] };
}

/** One stack's configuration and its non-secret outputs ({} before the first deploy). */
export async function readStack(ws: LocalWorkspace, name: string): Promise<{ config: StackConfig; outputs: Record<string, unknown> }> {
  const config = (await ws.getAllConfig(name)) as StackConfig;
  let outputs: Record<string, unknown> = {};
  try {
    const o = await ws.stackOutputs(name);
    outputs = Object.fromEntries(Object.entries(o).filter(([, v]) => !v.secret).map(([k, v]) => [k, v.value]));
  } catch {
    // No state yet (never deployed): nothing to show from outputs.
  }
  return { config, outputs };
}

export async function loadStacks(opts: LoadOptions): Promise<StackTarget[]> {
  const { ws, names } = await openStacks(opts);
  const targets: StackTarget[] = [];
  for (const name of names) {
    const { config, outputs } = await readStack(ws, name);
    targets.push(targetFromConfig(name, config, opts.maxAgeHours, outputs));
  }
  return targets;
}

/**
 * An error from reading the stacks, as an admin command prints it: its first
 * six lines (Automation API errors carry the CLI's stderr, which holds no
 * secret values).
 */
export function stackReadErrorText(e: unknown): string {
  return ((e as Error).message ?? String(e)).split("\n").slice(0, 6).join("\n");
}

/** Runs an admin command's main from the command line: its exit status, or 2 with `<prog>: <message>` when it throws. */
export function runAdminMain(prog: string, main: (argv: string[], out: (s: string) => void, err: (s: string) => void) => Promise<number>): void {
  main(process.argv.slice(2), (s) => process.stdout.write(s), (s) => process.stderr.write(s)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`${prog}: ${e.message}\n`);
      process.exit(2);
    },
  );
}
