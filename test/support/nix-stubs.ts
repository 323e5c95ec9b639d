// Stand-ins for the parts of nixpkgs a rendered module uses besides its own
// options, for evaluating it with nix-instantiate without nixpkgs.
//
// pkgs.writeShellScript / writeShellScriptBin return a value whose string
// form is "/stub-script:" + builtins.toJSON { name; text; } + ":end", so the
// exact script text a module embeds can be read back from wherever the
// module interpolates it (ExecStart, another script, systemPackages).
// lib.escapeShellArg quotes as nixpkgs' does (single quotes, ' as '\'');
// lib.mkBefore returns what nixpkgs' does ({ _type = "order"; priority = 500;
// content; }), so a definition's order shows in the result; the module's own
// system.build entries are in `config` (the monitor script lives there).
// evaluateWithStubs applies a module to them with nix-instantiate.

import { backupLayout } from "../../lib/host/layout";
import { REPO_GUARD_SCRIPT } from "../../lib/host/scripts";
import type { NixSandbox } from "./nix-instantiate";

/** A Nix function of { bin, restic } (store paths as strings): an attrset of package stand-ins. */
const NIX_PKGS_STUB = `{ bin, restic }: {
    coreutils = bin; gnused = bin; gnugrep = bin; jq = bin; util-linux = bin; curl = bin;
    inherit restic;
    writeShellScript = name: text: { outPath = "/stub-script:" + builtins.toJSON { inherit name text; } + ":end"; };
    writeShellScriptBin = name: text: { outPath = "/stub-script:" + builtins.toJSON { inherit name text; } + ":end"; };
  }`;

const NIX_LIB_STUB = `{
    escapeShellArg = arg: "'" + builtins.replaceStrings [ "'" ] [ "'\\\\''" ] (toString arg) + "'";
    mkBefore = content: { _type = "order"; priority = 500; inherit content; };
    mkAfter = content: { _type = "order"; priority = 1500; inherit content; };
  }`;

export interface StubScript {
  name: string;
  text: string;
}

const STUB = /\/stub-script:(\{"name":"(?:[^"\\]|\\.)*","text":"(?:[^"\\]|\\.)*"\}):end/g;

/** Every script embedded (at the top level) in a string, in order. */
export function stubScripts(s: string): StubScript[] {
  return [...s.matchAll(STUB)].map((m) => JSON.parse(m[1]) as StubScript);
}

/** The one script a string is (e.g. an ExecStart value or a systemPackages entry). */
export function stubScript(s: string): StubScript {
  const all = stubScripts(s);
  if (all.length !== 1 || !s.startsWith("/stub-script:") || !s.endsWith(":end")) throw new Error(`not one stub script: ${s.slice(0, 200)}`);
  return all[0];
}

export interface StubEvalOptions {
  /** Store path of coreutils, gnused, gnugrep, jq, util-linux and curl. Default "/stub/bin". */
  bin?: string;
  /** Store path of restic. Default "/stub/restic". */
  restic?: string;
  /** config.systemd.package. Default "/stub/systemd". */
  systemdPackage?: string;
  /** pkgs.libnotify. Default "/stub/libnotify". */
  libnotify?: string;
  /** The directory agenix decrypts into (each secret's path is <agenixDir>/<name>). Default "/run/agenix". */
  agenixDir?: string;
}

/** The parts of a module applied to the stubs (see STUB_EVALUATOR). */
export interface StubEvaluated {
  /** The module's top-level attribute names. */
  topLevel: string[];
  imports: string[] | null;
  restic: Record<string, Record<string, unknown>>;
  /** config.age.secrets with the path agenix gives them; `file` as a string, `fileType` its Nix type. */
  secrets: Record<string, { file: string; fileType: string; mode: string; owner: string; group: string; path: string }>;
  systemd: {
    services: Record<string, Record<string, unknown> & { serviceConfig?: Record<string, unknown> }>;
    timers?: Record<string, Record<string, unknown>>;
  } | null;
  systemPackages: string[] | null;
  /** The module's system.build entries (their string form). */
  systemBuild: Record<string, string> | null;
}

/**
 * A Nix function that applies a rendered module to the stubs and returns the
 * parts under test (no module system: the module's own attribute set).
 * `config` is a fixpoint over the module's own age.secrets (each gets the
 * path agenix would give it), so references to undeclared secrets fail.
 * `builtins.fetchTarball` is replaced through scopedImport, so `imports`
 * can be forced without network access and shows the exact url and sha256.
 */
const STUB_EVALUATOR = `
{ modulePath, bin, restic, systemdPackage, libnotify, agenixDir }:
let
  fakeBuiltins = builtins // {
    fetchTarball = a: "/stub-fetchTarball/" + builtins.toJSON a;
  };
  m = scopedImport { builtins = fakeBuiltins; } (/. + modulePath) {
    inherit config;
    pkgs = (${NIX_PKGS_STUB}) { inherit bin restic; } // { inherit libnotify; };
    lib = ${NIX_LIB_STUB};
  };
  config = {
    age.secrets = builtins.mapAttrs (n: s: s // { path = agenixDir + "/" + n; }) m.age.secrets;
    systemd.package = systemdPackage;
    system.build = m.system.build or { };
  };
in {
  topLevel = builtins.attrNames m;
  imports = m.imports or null;
  restic = m.services.restic.backups;
  secrets = builtins.mapAttrs
    (n: s: s // { fileType = builtins.typeOf s.file; file = toString s.file; })
    config.age.secrets;
  systemd = m.systemd or null;
  systemPackages = if m ? environment then map toString m.environment.systemPackages else null;
  systemBuild = if m ? system then builtins.mapAttrs (n: toString) m.system.build else null;
}`;

/** Applies the module file to the stubs with nix-instantiate (throws with Nix's message on failure). */
export function evaluateWithStubs(nix: NixSandbox, modulePath: string, opts: StubEvalOptions = {}): StubEvaluated {
  const args: Record<string, string> = {
    modulePath,
    bin: opts.bin ?? "/stub/bin",
    restic: opts.restic ?? "/stub/restic",
    systemdPackage: opts.systemdPackage ?? "/stub/systemd",
    libnotify: opts.libnotify ?? "/stub/libnotify",
    agenixDir: opts.agenixDir ?? "/run/agenix",
  };
  return nix.evalJson(STUB_EVALUATOR, Object.entries(args).flatMap(([k, v]) => ["--argstr", k, v])) as StubEvaluated;
}

/**
 * The backup unit's prune step (lib/nix/backup-steps.ts: an ExecStart= added
 * after NixOS's own): the prune options as the systemd words after " -- ", or
 * undefined when the module adds no such step. The options reach restic
 * through this step, not through services.restic.backups.<name>.pruneOpts.
 */
export function pruneStepOptions(m: StubEvaluated, backupUnit: string): string | undefined {
  const exec = m.systemd?.services[backupUnit]?.serviceConfig?.ExecStart as { _type?: string; priority?: number; content?: string[] } | undefined;
  if (exec === undefined) return undefined;
  if (exec._type !== "order" || exec.priority !== 1500 || exec.content?.length !== 1) throw new Error(`unexpected ExecStart of ${backupUnit}: ${JSON.stringify(exec).slice(0, 200)}`);
  const line = exec.content[0];
  const script = stubScripts(line);
  if (script.length !== 1 || script[0].name !== "restic-b2-prune") throw new Error(`the ExecStart added to ${backupUnit} is not the prune step`);
  const tail = line.slice(line.lastIndexOf(":end") + 4);
  return tail.slice(tail.indexOf(" -- ") + 4);
}

/** m.systemd's services without what pruneStepOptions reads (the backup unit's added ExecStart). */
export function withoutPruneStep(m: StubEvaluated, backupUnit: string): Record<string, Record<string, unknown>> {
  const services = { ...(m.systemd?.services ?? {}) };
  const unit = services[backupUnit];
  if (unit?.serviceConfig?.ExecStart === undefined) return services;
  const { ExecStart: _, ...serviceConfig } = unit.serviceConfig;
  const { serviceConfig: __, ...rest } = unit;
  services[backupUnit] = Object.keys(serviceConfig).length === 0 ? rest : { ...rest, serviceConfig };
  if (Object.keys(services[backupUnit]).length === 0) delete services[backupUnit];
  return services;
}

/**
 * The repository guard's parts of an evaluated module (lib/nix/repo-guard.ts),
 * checked exactly: its script in system.build, the backup unit's preStart
 * (lib.mkBefore) and postStart, and the reset command in systemPackages.
 * Returns the module without them, as it was before the guard, so tests
 * about the other parts keep their own assertions. `restic`: the stub's
 * restic store path.
 */
export function withoutRepoGuard(m: StubEvaluated, name = "daily", restic = "/stub/restic"): StubEvaluated {
  const layout = backupLayout(name);
  const attr = `restic-b2-repo-guard-${name}`;
  const script = m.systemBuild?.[attr];
  if (script === undefined) throw new Error(`withoutRepoGuard: no system.build.${attr}`);
  const inner = stubScript(script);
  expect(inner.name).toBe("restic-b2-repo-guard");
  expect(inner.text).toMatch(/^PATH=[^\n]*:\$PATH\n/);
  expect(inner.text.slice(inner.text.indexOf("\n") + 1)).toBe(REPO_GUARD_SCRIPT);
  const args = `'--backup-name' '${name}' '--id-file' '${layout.repositoryIdFile}'`;
  const services = { ...(m.systemd?.services ?? {}) };
  const { preStart, postStart, ...rest } = services[layout.backupUnit] ?? {};
  expect(preStart).toEqual({ _type: "order", priority: 500, content: `${script} check --restic ${restic}/bin/restic ${args}\n` });
  expect(postStart).toBe(`${script} record --restic ${restic}/bin/restic ${args}\n`);
  if (Object.keys(rest).length === 0) delete services[layout.backupUnit];
  else services[layout.backupUnit] = rest;
  const resets = (m.systemPackages ?? []).filter((p) => p.startsWith("/stub-script:") && stubScript(p).name === layout.resetCommand);
  expect(resets.map((p) => stubScript(p).text)).toEqual([`exec ${script} reset ${args}\n`]);
  const build = { ...m.systemBuild };
  delete build[attr];
  const hasBuild = Object.keys(build).length > 0;
  const hasSystemd = Object.keys(services).length > 0 || m.systemd?.timers !== undefined;
  return {
    ...m,
    topLevel: m.topLevel.filter((k) => (k !== "system" || hasBuild) && (k !== "systemd" || hasSystemd)),
    systemd: hasSystemd ? { ...m.systemd!, services } : null,
    systemPackages: (m.systemPackages ?? []).filter((p) => !resets.includes(p)),
    systemBuild: hasBuild ? build : null,
  };
}
