// Setup talks to the stack through the Pulumi CLI itself (the one
// lib/engine/find.ts picks), so what it writes is what `pulumi config set`
// writes: plain values as arguments, secrets with --secret on stdin (never
// on a command line), lists with --path 'key[i]'.
//
// `pulumi config --json` also shows Pulumi.yaml's defaults; which keys the
// stack itself sets is read from its stack file, so setup writes a key that
// is only defaulted when the user asks for it, and nothing on a rerun.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT } from "../config";

/** A key's full name in the stack file. */
export const fullKey = (k: string) => (k.includes(":") ? k : `${PROJECT}:${k}`);

export type ConfigJson = Record<string, { value?: string; secret?: boolean }>;

/** What a stack holds: every value the program will see (defaults included), and the keys its file sets. */
export interface StackState {
  exists: boolean;
  values: ConfigJson;
  set: ReadonlySet<string>;
}

export class CliError extends Error {}

const LOGIN_HINT =
  "this project's state backend needs a login: run `pulumi login` (or `pulumi login --local`, or set PULUMI_BACKEND_URL), then setup again; " +
  "the project's own Pulumi.yaml keeps the state in the project (backend file://.), which needs none";

export class PulumiCli {
  constructor(
    private readonly bin: string,
    readonly projectDir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** `pulumi <args>`; `input` on stdin (how a secret goes in). Throws a CliError with the CLI's last lines (never the input). */
  must(args: string[], input?: string): string {
    const r = spawnSync(this.bin, ["--non-interactive", ...args], {
      cwd: this.projectDir,
      env: { PULUMI_SKIP_UPDATE_CHECK: "true", ...this.env },
      input: input ?? "",
      encoding: "utf8",
    });
    if (r.error) throw new CliError(`pulumi could not run: ${r.error.message}`);
    if (r.status === 0) return r.stdout;
    const tail = r.stderr.trim().split("\n").filter((l) => l.trim() !== "").slice(-3).join(" ").replace(/^error: /, "");
    if (/PULUMI_ACCESS_TOKEN|pulumi login/.test(r.stderr)) throw new CliError(LOGIN_HINT);
    throw new CliError(`pulumi ${args.slice(0, 2).join(" ")} failed: ${tail}`);
  }

  stacks(): string[] {
    return (JSON.parse(this.must(["stack", "ls", "--json"]) || "[]") as { name: string }[]).map((s) => s.name);
  }

  /** Every value the program sees; `showSecrets`: decrypted, into this process's memory only. */
  config(stack: string, showSecrets: boolean): ConfigJson {
    const args = ["config", "--json", "--stack", stack, ...(showSecrets ? ["--show-secrets"] : [])];
    return JSON.parse(this.must(args) || "{}") as ConfigJson;
  }

  state(stack: string, exists: boolean): StackState {
    if (!exists) return { exists, values: {}, set: new Set() };
    return { exists, values: this.config(stack, true), set: keysSetIn(this.stackFile(stack)) };
  }

  /** Pulumi.<stack>.yaml, in Pulumi.yaml's stackConfigDir when it names one. */
  stackFile(stack: string): string {
    const project = fs.readFileSync(path.join(this.projectDir, "Pulumi.yaml"), "utf8");
    const dir = /^stackConfigDir:\s*["']?([^"'\s#]+)/m.exec(project)?.[1] ?? ".";
    return path.resolve(this.projectDir, dir, `Pulumi.${stack}.yaml`);
  }

  /**
   * Whether the stack's secrets are under a passphrase: an existing stack's
   * file has an encryptionsalt; a new stack gets one on a self-managed
   * backend (PULUMI_BACKEND_URL or Pulumi.yaml's backend url, other than
   * Pulumi Cloud's https). Without either, the logged-in backend decides.
   */
  usesPassphrase(stack: string, exists: boolean): boolean {
    if (exists) {
      try {
        return /^encryptionsalt:/m.test(fs.readFileSync(this.stackFile(stack), "utf8"));
      } catch {
        return false;
      }
    }
    const project = fs.readFileSync(path.join(this.projectDir, "Pulumi.yaml"), "utf8");
    const url = this.env.PULUMI_BACKEND_URL || /^backend:\s*\n\s+url:\s*["']?([^"'\s#]+)/m.exec(project)?.[1];
    return url !== undefined && !/^https?:/i.test(url);
  }

  init(stack: string): void {
    this.must(["stack", "init", "--no-select", stack]);
  }

  setPlain(stack: string, key: string, value: string): void {
    this.must(["config", "set", "--stack", stack, "--", key, value]);
  }

  /** A list as `pulumi config set --path 'key[i]' entry` for each entry, after removing the old one. */
  setList(stack: string, key: string, entries: readonly string[], replace: boolean): void {
    if (replace) this.must(["config", "rm", "--stack", stack, "--", key]);
    entries.forEach((e, i) => this.must(["config", "set", "--stack", stack, "--path", "--", `${key}[${i}]`, e]));
  }

  setSecret(stack: string, key: string, value: string): void {
    this.must(["config", "set", "--stack", stack, "--secret", "--", key], value);
  }
}

/** The full names of the keys a stack file's `config:` block sets (top-level keys of that map). */
export function keysSetIn(file: string): Set<string> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return new Set();
  }
  const keys = new Set<string>();
  let inConfig = false;
  for (const line of text.split("\n")) {
    if (/^\S/.test(line)) inConfig = /^config:\s*$/.test(line);
    const m = inConfig ? /^ {2}(["']?)([^\s"':]+:[^\s"':]+)\1:(\s|$)/.exec(line) : null;
    if (m) keys.add(m[2]);
  }
  return keys;
}
