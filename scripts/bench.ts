// npm run bench: a benchmark (prints figures; asserts nothing).
//
// Everywhere (no engine needed): how long the program's module graph takes to
// load (index.ts's imports and everything they import, without running
// index.ts, which needs an engine), each in a fresh Node process, compared
// with @pulumi/pulumi alone (which every Pulumi Node.js program loads):
//   - compiled, as Pulumi.yaml's main runs it now (program/: the stamp check,
//     then bin/), and the same with age-encryption loaded eagerly (as before
//     lib/age/ssh.ts loaded it on first use);
//   - through ts-node transpile-only (program/'s fallback when bin/ is stale);
//   - through ts-node type-checking, as the language host ran the program
//     before (runtime.options.typescript true, tsconfig.json without noCheck).
// bin/ is built first when it is not up to date (node program/build.js).
//
// On the engine the e2e suite uses and this machine, in one run:
//   - median wall time of `pulumi preview` of the e2e stack (this program,
//     existing-bucket mode, against a loopback sshd and fake NixOS root) and of
//     a bare Pulumi TypeScript program with one @pulumi/command local command,
//     and their ratio; the same for a no-op `pulumi up`;
//   - peak memory of each: the largest single process (GNU time's maximum
//     resident set size) and the whole process tree (CLI, language host, Node
//     program, providers: sum of RSS, sampled every 50 ms);
//   - SSH sessions of a first `up`, a no-op `up` and an update, counted at the
//     sshd (its "Accepted publickey" log lines).
// BENCH_RUNS=<n> sets the runs per median (default 5). Needs root (sshd) and
// a complete Pulumi engine (lib/engine/find.ts); without one it prints one
// SKIPPED line naming what is missing and exits 0.

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findEngine } from "../lib/engine/find";
import { E2eProject, REPO, expectOk, sshSessions } from "../test/e2e/harness";
import { skipLine } from "../test/support/requires";
import { TestSshd } from "../test/support/sshd";
import { fileGraph } from "./import-graph";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TIME = "/usr/bin/time";

interface Sample {
  seconds: number;
  /** GNU time: maximum resident set size of the largest process, KiB. */
  maxRssKiB: number;
  /** Peak of the summed RSS of the whole process tree, KiB. */
  treeKiB: number;
}

/** Sum of VmRSS (KiB) of pid and all its descendants, from /proc. */
function treeRss(root: number): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const status = fs.readFileSync(`/proc/${e}/status`, "utf8");
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      rss.set(Number(e), kb);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // the process ended meanwhile
    }
  }
  let sum = 0;
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    sum += rss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return sum;
}

/** Runs pulumi under GNU time in the project, sampling the process tree. */
function timed(p: E2eProject, args: string[]): Promise<Sample> {
  const full = [...args, "--non-interactive", "--color", "never"];
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(TIME, ["-v", p.engine.pulumi, ...full], { cwd: p.project, env: p.env(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let treeKiB = 0;
    const timer = setInterval(() => {
      if (child.pid) treeKiB = Math.max(treeKiB, treeRss(child.pid));
    }, 50);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) return reject(new Error(`pulumi ${full.join(" ")} exited ${code}:\n${out}\n${err}`));
      const maxRssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? NaN);
      resolve({ seconds, maxRssKiB, treeKiB });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

async function series(p: E2eProject, args: string[]): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await timed(p, args));
  return out;
}

function bareProgram(dir: string): string {
  const src = path.join(dir, "bare-src");
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, "Pulumi.yaml"), "name: bare-bench\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nmain: index.ts\n");
  fs.writeFileSync(
    path.join(src, "index.ts"),
    'import * as command from "@pulumi/command";\n\nexport const out = new command.local.Command("hello", { create: "echo hello" }).stdout;\n',
  );
  fs.copyFileSync(path.join(REPO, "tsconfig.json"), path.join(src, "tsconfig.json"));
  fs.writeFileSync(path.join(src, "package.json"), JSON.stringify({ name: "bare-bench", private: true, main: "index.ts" }, null, 2));
  return src;
}

// ---------------------------------------------------------------------------
// The module graph, everywhere

type LoadVariant = "pulumi" | "compiled" | "compiled-eager-age" | "ts-transpile" | "ts-typecheck";

/**
 * Run in a fresh `node -e`: loads @pulumi/pulumi, then the program's modules
 * the way the variant runs them; prints the milliseconds that took.
 */
const LOADER = `
const path = require("node:path");
const [variant, root, ...modules] = process.argv.slice(1);
const from = (m) => require(require.resolve(m, { paths: [root] }));
const t0 = process.hrtime.bigint();
from("@pulumi/pulumi");
if (variant === "compiled" || variant === "compiled-eager-age") {
  if (!require(path.join(root, "program", "stamp.js")).buildState(root).fresh) throw new Error("bin/ is not up to date");
  if (variant === "compiled-eager-age") { from("age-encryption"); from("@noble/ciphers/chacha.js"); }
  for (const m of modules) require(path.join(root, "bin", m.replace(/\\.ts$/, ".js")));
} else if (variant === "ts-transpile" || variant === "ts-typecheck") {
  // ts-transpile: as program/index.js falls back; ts-typecheck: the options
  // the language host registers ts-node with when runtime.options.typescript is true.
  from("ts-node").register(variant === "ts-transpile"
    ? { transpileOnly: true, project: path.join(root, "tsconfig.json") }
    : { compiler: "typescript", transpileOnly: undefined, project: path.join(root, "tsconfig.json"), skipProject: false,
        compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true" } });
  for (const m of modules) require(path.join(root, m));
}
process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6));
`;

function loadOnce(variant: LoadVariant, modules: string[]): number {
  const r = spawnSync(process.execPath, ["-e", LOADER, variant, REPO, ...modules], { cwd: REPO, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`loading the module graph (${variant}) failed:\n${r.stderr}`);
  return Number(r.stdout) / 1000;
}

function moduleGraphFigures(): string[] {
  const state = spawnSync(process.execPath, [path.join(REPO, "program", "build.js")], { cwd: REPO, encoding: "utf8" });
  if (state.status !== 0) throw new Error(`node program/build.js failed:\n${state.stdout}${state.stderr}`);
  const modules = fileGraph(REPO).get("index.ts") ?? [];
  const variants: [LoadVariant, string][] = [
    ["pulumi", "@pulumi/pulumi alone"],
    ["compiled", "program, compiled (program/ → bin/, now)"],
    ["compiled-eager-age", "  the same, age-encryption loaded eagerly"],
    ["ts-transpile", "program, ts-node transpile-only (stale bin/)"],
    ["ts-typecheck", "program, ts-node type-checking (before)"],
  ];
  // One warm-up run each (the file cache), then the variants in turn, so a
  // busy spell on a shared machine falls on all of them alike.
  const runs = new Map<LoadVariant, number[]>(variants.map(([v]) => [v, []]));
  for (const [v] of variants) loadOnce(v, modules);
  for (let i = 0; i < RUNS; i++) for (const [v] of variants) runs.get(v)!.push(loadOnce(v, modules));
  const base = median(runs.get("pulumi")!);
  const lines = variants.map(([v, label]) => {
    const m = median(runs.get(v)!);
    const vs = v === "pulumi" ? "" : `  ${(m / base).toFixed(2)}x, the program's own +${(m - base).toFixed(2)} s`;
    return `  ${label.padEnd(46)} ${m.toFixed(2)} s${vs}   (runs: ${runs.get(v)!.map((x) => x.toFixed(2)).join(" ")})`;
  });
  return [`module graph load (index.ts's ${modules.length} imports and theirs; fresh Node process each, median of ${RUNS}):`, ...lines];
}

async function main(): Promise<void> {
  process.stdout.write(
    [`machine: ${os.cpus().length} CPU(s), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`, ...moduleGraphFigures()].join("\n") + "\n",
  );
  const found = findEngine();
  if (found.engine === undefined) {
    // Nothing to measure without a complete engine: say so in one line, and exit 0.
    process.stderr.write(skipLine("npm run bench", found.missing!) + "\n");
    return;
  }
  const engine = found.engine;
  if (!fs.existsSync(TIME)) throw new Error(`${TIME} is missing: apt-get install time`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-bench-"));
  const srv = await TestSshd.start();
  let e2e: E2eProject | undefined;
  let bare: E2eProject | undefined;
  try {
    e2e = await E2eProject.create(engine, {
      config: {
        createBucket: false,
        bucketName: "bench-restic-b2",
        hostKey: srv.hostPublicKey(),
        secretsDir: path.join(work, "secrets-out"),
        host: "127.0.0.1",
        sshPort: srv.port,
        hostConfigDir: srv.configDir,
        agenixModule: "provided",
        paths: ["/home", "/etc/nixos"],
      },
      secrets: { existingKeyId: "0042bench000000000000000e5", existingKey: "K0042benchB2KeyNeverInPlaintext0a1b2c3d", sshPrivateKey: fs.readFileSync(srv.clientKey, "utf8") },
    });
    bare = await E2eProject.create(engine, { source: bareProgram(work), stack: "bench", config: {} });

    const s0 = sshSessions(srv.serverLog());
    const firstUp = await timed(e2e, ["up", "--yes", "--skip-preview", "--stack", e2e.stack]);
    const s1 = sshSessions(srv.serverLog());
    expectOk(await bare.up());

    const e2ePreview = await series(e2e, ["preview", "--stack", e2e.stack]);
    const barePreview = await series(bare, ["preview", "--stack", bare.stack]);
    const s2 = sshSessions(srv.serverLog());
    const e2eUp = await series(e2e, ["up", "--yes", "--skip-preview", "--stack", e2e.stack]);
    const s3 = sshSessions(srv.serverLog());
    const bareUp = await series(bare, ["up", "--yes", "--skip-preview", "--stack", bare.stack]);

    e2e.setConfig({ ...e2e.config, paths: ["/home", "/etc/nixos", "/srv"] });
    const s4 = sshSessions(srv.serverLog());
    const update = await timed(e2e, ["up", "--yes", "--skip-preview", "--stack", e2e.stack]);
    const s5 = sshSessions(srv.serverLog());
    expectOk(await e2e.destroy());

    const row = (name: string, a: Sample[], b: Sample[]) => {
      const ma = median(a.map((x) => x.seconds));
      const mb = median(b.map((x) => x.seconds));
      return [
        `${name}: median ${ma.toFixed(2)} s (e2e stack) vs ${mb.toFixed(2)} s (bare program): ${(ma / mb).toFixed(2)}x`,
        `  peak memory, largest process (GNU time max RSS): ${mib(Math.max(...a.map((x) => x.maxRssKiB)))} vs ${mib(Math.max(...b.map((x) => x.maxRssKiB)))}`,
        `  peak memory, whole process tree (sum of RSS):    ${mib(Math.max(...a.map((x) => x.treeKiB)))} vs ${mib(Math.max(...b.map((x) => x.treeKiB)))}`,
        `  runs (s): ${a.map((x) => x.seconds.toFixed(2)).join(" ")} | ${b.map((x) => x.seconds.toFixed(2)).join(" ")}`,
      ].join("\n");
    };
    const lines = [
      `engine: ${engine.describe}`,
      `machine: ${os.cpus().length} CPU(s), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; ${RUNS} runs per median`,
      row("pulumi preview", e2ePreview, barePreview),
      row("no-op pulumi up", e2eUp, bareUp),
      `first pulumi up (e2e stack): ${firstUp.seconds.toFixed(2)} s; update (paths changed): ${update.seconds.toFixed(2)} s`,
      `SSH sessions at the sshd: first up ${s1 - s0}, no-op up ${(s3 - s2) / RUNS} per run (${s3 - s2} in ${RUNS}), update ${s5 - s4}`,
    ];
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    e2e?.cleanup();
    bare?.cleanup();
    await srv.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
