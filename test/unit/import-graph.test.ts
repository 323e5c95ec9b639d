// No import cycles: between the lib/ folders (the data flows config →
// nix/host renderers → components → index.ts, with lib/host/layout.ts the
// contract at the bottom) and between files. scripts/import-graph.ts reads
// the sources; `npm run import-graph` prints the same graph.

import { cycles, fileGraph, folderGraph, folderOf, report } from "../../scripts/import-graph";

const files = fileGraph();
const folders = folderGraph(files);

test("the graph covers the program: every lib/ folder, the components and index.ts", () => {
  expect([...folders.keys()]).toEqual(["components", "index.ts", "lib/age", "lib/config", "lib/engine", "lib/host", "lib/nix", "lib/recover", "lib/setup", "lib/status"]);
  expect(files.get("index.ts")).toEqual(expect.arrayContaining(["lib/config/index.ts", "components/host.ts"]));
});

test("no cycle between lib/ folders, nor between any two files", () => {
  expect(cycles(folders)).toEqual([]);
  expect(cycles(files)).toEqual([]);
  expect(report().ok).toBe(true);
});

test("lib/ never imports the components or index.ts, and the components never import index.ts", () => {
  for (const [from, deps] of folders) {
    if (from.startsWith("lib")) expect(deps.filter((d) => !d.startsWith("lib/"))).toEqual([]);
    if (from === "components") expect(deps).not.toContain("index.ts");
  }
});

test("lib/host (the host contract) and lib/age import no other lib/ folder", () => {
  expect(folders.get("lib/host")).toEqual([]);
  expect(folders.get("lib/age")).toEqual([]);
});

test("the cycle finder finds cycles (positive control)", () => {
  const g = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "d"]],
    ["d", []],
    ["x", ["x2"]],
    ["x2", ["x"]],
  ]);
  expect(cycles(g)).toEqual([
    ["a", "b", "c"],
    ["x", "x2"],
  ]);
  expect(folderOf("lib/nix/module.ts")).toBe("lib/nix");
});
