// How Pulumi runs the program (Pulumi.yaml `main: program/`, typescript
// false): program/build.js compiles it to bin/ with a stamp of the sources,
// and program/index.js runs bin/ only while the stamp matches, the TypeScript
// sources through ts-node otherwise, with a warning. Real tools: the
// TypeScript compiler and fresh Node processes, on a copy of the project (its
// node_modules linked), under Pulumi's mocks in place of the engine.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const REPO = path.resolve(__dirname, "../..");
const COPIED = ["index.ts", "components", "lib", "program", "tsconfig.json", "tsconfig.build.json", "package.json", "Pulumi.yaml"];

let dir: string;
let project: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-build-"));
  project = path.join(dir, "project");
  fs.mkdirSync(project);
  for (const f of COPIED) fs.cpSync(path.join(REPO, f), path.join(project, f), { recursive: true });
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(project, "node_modules"));
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function build(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(project, "program", "build.js"), ...args], { cwd: project, encoding: "utf8" });
  return { code: r.status, out: r.stdout + r.stderr };
}

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@nixos-dev";
const CONFIG: Record<string, string> = {
  "nixos-restic-b2:host": "nixos.lan",
  "nixos-restic-b2:hostKey": HOST_KEY,
  "nixos-restic-b2:paths": JSON.stringify(["/home", "/etc/nixos"]),
  "b2:applicationKeyId": "test-mgmt-id-0001",
  "b2:applicationKey": "test-mgmt-key-0001",
};

// Runs program/ as the language host does (require of the main directory),
// under mocks; prints what it registered, what it exported, and which modules
// the process loaded.
const RUNNER = `
const path = require("node:path");
const project = process.argv[1];
const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [project] }));
const registered = [];
pulumi.runtime.setMocks({
  newResource: (a) => { registered.push(a.type + " " + a.name); return { id: a.name + "-id", state: { ...a.inputs, stdout: "0123abcd", bucketId: "bkt-0001", applicationKeyId: "kid-0001", applicationKey: "K004-key" } }; },
  call: (a) => a.inputs,
}, "nixos-restic-b2", "laptop", true);
pulumi.runtime.setAllConfig(JSON.parse(process.env.RUNNER_CONFIG), ["b2:applicationKeyId", "b2:applicationKey"]);
const exported = require(path.join(project, "program") + "/");
pulumi.output(exported).apply((outputs) => {
  setTimeout(() => {
    const loaded = Object.keys(require.cache);
    const has = (p) => loaded.some((f) => f.includes(p));
    process.stdout.write(JSON.stringify({
      outputs,
      registered: registered.sort(),
      bin: loaded.includes(path.join(project, "bin", "index.js")),
      sources: loaded.includes(path.join(project, "index.ts")),
      tsNode: has("/node_modules/ts-node/"),
      age: has("/node_modules/age-encryption/"),
    }));
  }, 300);
});
`;

interface Run {
  outputs: Record<string, unknown>;
  registered: string[];
  bin: boolean;
  sources: boolean;
  tsNode: boolean;
  age: boolean;
}

function runProgram(): { run: Run; stderr: string } {
  const r = spawnSync(process.execPath, ["-e", RUNNER, project], { cwd: project, encoding: "utf8", env: { ...process.env, RUNNER_CONFIG: JSON.stringify(CONFIG) } });
  if (r.status !== 0) throw new Error(`the program failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { run: JSON.parse(r.stdout) as Run, stderr: r.stderr };
}

const stamp = () => JSON.parse(fs.readFileSync(path.join(project, "bin", "build.json"), "utf8")) as { files: Record<string, string> };
const edit = (file: string, text: string) => fs.appendFileSync(path.join(project, file), text);

let compiled: Run;

test("the build compiles the program to bin/, copies the host scripts, and stamps every file it read", () => {
  const r = build();
  expect(r).toMatchObject({ code: 0 });
  expect(r.out).toMatch(/compiled \d+ files to bin\//);
  const files = Object.keys(stamp().files);
  expect(files).toEqual(expect.arrayContaining(["index.ts", "components/host.ts", "lib/config/schema.ts", "lib/host/restic-b2-host.sh", "lib/host/backup-name.sh", "tsconfig.json", "tsconfig.build.json"]));
  // Only what the program imports: not the admin commands, not the tests.
  expect(files.filter((f) => f.startsWith("lib/status/") || f.startsWith("test/") || f.startsWith("node_modules/"))).toEqual([]);
  for (const sh of fs.readdirSync(path.join(project, "lib", "host")).filter((f) => f.endsWith(".sh"))) {
    expect(fs.readFileSync(path.join(project, "bin", "lib", "host", sh), "utf8")).toBe(fs.readFileSync(path.join(project, "lib", "host", sh), "utf8"));
  }
  expect(build().out).toContain("bin/ is up to date");
});

test("an up-to-date bin/ runs compiled: no ts-node, no age-encryption in the process", () => {
  const { run, stderr } = runProgram();
  compiled = run;
  // (@pulumi/pulumi itself loads the TypeScript compiler, for closure serialization.)
  expect(run).toMatchObject({ bin: true, sources: false, tsNode: false, age: false });
  expect(run.registered).toContain("command:remote:Command laptop-deploy");
  expect(Object.keys(run.outputs).sort()).toEqual(["bucketId", "bucketName", "hostModulePath", "recipients", "repository", "restore", "secretsDir", "units"]);
  expect(stderr).not.toContain("running the TypeScript sources");
});

test.each([
  ["lib/nix/escape.ts", "\n// edited after the build\n"],
  ["lib/host/drill.sh", "\n# edited after the build\n"],
  ["tsconfig.build.json", "\n"],
])("after an edit of %s, the sources run through ts-node with a warning, and do the same", (file, text) => {
  const before = fs.readFileSync(path.join(project, file), "utf8");
  edit(file, text);
  try {
    const { run, stderr } = runProgram();
    expect(stderr).toContain(`running the TypeScript sources (slower): ${file} changed since the build; \`npm run build\``);
    expect(run).toMatchObject({ bin: false, sources: true, tsNode: true });
    expect(run.outputs).toEqual(compiled.outputs);
    expect(run.registered).toEqual(compiled.registered);
  } finally {
    fs.writeFileSync(path.join(project, file), before);
  }
  // The same contents again: bin/ is current again (contents count, not times).
  expect(runProgram().run).toMatchObject({ bin: true, sources: false });
});

test("building after an edit makes bin/ current, with the new file's digest", () => {
  const file = "lib/nix/escape.ts";
  const before = fs.readFileSync(path.join(project, file), "utf8");
  const old = stamp().files[file];
  edit(file, "\n// edited, then built\n");
  try {
    expect(build().out).toMatch(/compiled \d+ files/);
    expect(stamp().files[file]).not.toBe(old);
    expect(runProgram().run).toMatchObject({ bin: true, sources: false });
  } finally {
    fs.writeFileSync(path.join(project, file), before);
  }
  expect(build().code).toBe(0);
});

test("without bin/index.js, or without a stamp, the sources run", () => {
  build();
  fs.rmSync(path.join(project, "bin", "index.js"));
  expect(runProgram().stderr).toContain("bin/index.js is missing");
  fs.rmSync(path.join(project, "bin"), { recursive: true });
  expect(runProgram().stderr).toContain("bin/ has not been built (no bin/build.json)");
});

test("a type error fails the build, names the file, and leaves no stamp (bin/ is missing here: the test before removed it)", () => {
  const file = path.join(project, "lib", "host", "restore.ts");
  const before = fs.readFileSync(file, "utf8");
  try {
    edit("lib/host/restore.ts", "\nexport const broken: number = \"text\";\n");
    const r = build();
    expect(r.code).toBe(1);
    expect(r.out).toContain("lib/host/restore.ts");
    expect(r.out).toMatch(/1 error\(s\); bin\/ is not up to date/);
    expect(fs.existsSync(path.join(project, "bin", "build.json"))).toBe(false);
  } finally {
    fs.writeFileSync(file, before);
  }
  expect(build().code).toBe(0);
});
