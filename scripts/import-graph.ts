// The import graph of the program's own TypeScript: which lib/ folder imports
// which (and components/, index.ts), and any import cycle, between folders or
// between files. `npm run import-graph` prints it; test/unit/import-graph.test.ts
// fails on a cycle. Reads the sources only (import/export ... from, require).

import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..");

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;

/** The program's source files, relative to the root: index.ts, components/**, lib/**. */
export function sourceFiles(root = ROOT): string[] {
  const out: string[] = ["index.ts"];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(rel);
    }
  };
  walk("components");
  walk("lib");
  return out.sort();
}

function resolve(root: string, from: string, spec: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const c of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (fs.existsSync(path.join(root, c)) && fs.statSync(path.join(root, c)).isFile()) return c;
  }
  return undefined;
}

/** file → the program files it imports (type-only imports count: they are a dependency too). */
export function fileGraph(root = ROOT): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of sourceFiles(root)) {
    const text = fs.readFileSync(path.join(root, f), "utf8");
    const deps = new Set<string>();
    for (const m of text.matchAll(SPECIFIER)) {
      const target = resolve(root, f, m[1]);
      if (target === undefined) throw new Error(`${f}: cannot resolve ${m[1]}`);
      if (target !== f) deps.add(target);
    }
    g.set(f, [...deps].sort());
  }
  return g;
}

/** The node a file belongs to: lib/<folder>, components, or index.ts. */
export function folderOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "lib") return parts.length > 2 ? `lib/${parts[1]}` : "lib";
  return parts[0] === "components" ? "components" : file;
}

/** folder → the other folders it imports from. */
export function folderGraph(files: Map<string, string[]>): Map<string, string[]> {
  const g = new Map<string, Set<string>>();
  for (const [f, deps] of files) {
    const from = folderOf(f);
    if (!g.has(from)) g.set(from, new Set());
    for (const d of deps) if (folderOf(d) !== from) g.get(from)!.add(folderOf(d));
  }
  return new Map([...g].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [...v].sort()]));
}

/** Every cycle, each once, as the list of nodes around it (empty: none). */
export function cycles(g: Map<string, string[]>): string[][] {
  const found = new Map<string, string[]>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const done = new Set<string>();
  const visit = (n: string) => {
    stack.push(n);
    onStack.add(n);
    for (const d of g.get(n) ?? []) {
      if (onStack.has(d)) {
        const cycle = stack.slice(stack.indexOf(d));
        // One key per cycle, whichever node the walk entered it by.
        const start = cycle.indexOf([...cycle].sort()[0]);
        const norm = [...cycle.slice(start), ...cycle.slice(0, start)];
        found.set(norm.join(" -> "), norm);
      } else if (!done.has(d)) visit(d);
    }
    stack.pop();
    onStack.delete(n);
    done.add(n);
  };
  for (const n of g.keys()) if (!done.has(n)) visit(n);
  return [...found.values()];
}

/** The report `npm run import-graph` prints. */
export function report(root = ROOT): { text: string; ok: boolean } {
  const files = fileGraph(root);
  const folders = folderGraph(files);
  const lines = ["Imports between folders (lib/<folder>, components, index.ts):"];
  for (const [f, deps] of folders) lines.push(`  ${f} -> ${deps.length === 0 ? "(nothing)" : deps.join(", ")}`);
  const folderCycles = cycles(folders);
  const fileCycles = cycles(files);
  lines.push(folderCycles.length === 0 ? "No cycle between folders." : `Cycles between folders:\n${folderCycles.map((c) => `  ${c.join(" -> ")} -> ${c[0]}`).join("\n")}`);
  lines.push(fileCycles.length === 0 ? "No cycle between files." : `Cycles between files:\n${fileCycles.map((c) => `  ${c.join(" -> ")} -> ${c[0]}`).join("\n")}`);
  return { text: lines.join("\n") + "\n", ok: folderCycles.length === 0 && fileCycles.length === 0 };
}

if (require.main === module) {
  const r = report();
  process.stdout.write(r.text);
  process.exit(r.ok ? 0 : 1);
}
