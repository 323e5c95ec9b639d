"use strict";
// Compiles the program (index.ts and everything it imports, tsconfig.build.json)
// to bin/, copies the host scripts beside the compiled lib/host/, and writes
// bin/build.json (program/stamp.js) last, so an interrupted build is never
// taken for a complete one. Runs as package.json's prepare (`npm ci`, `npm
// install`) and as `npm run build`; does nothing when bin/ is already up to
// date (`--force` builds anyway). A type error fails the build and leaves no
// stamp, like `tsc`.

const fs = require("node:fs");
const path = require("node:path");
const { ROOT, BUILD_DIR, STAMP, CONFIG_FILES, HOST_SCRIPT_DIR, digests, buildState } = require("./stamp");

function fail(message) {
  process.stderr.write(`program/build.js: ${message}\n`);
  process.exit(1);
}

function compile(ts) {
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, "tsconfig.build.json"), {}, host);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences });
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0) {
    const formatHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => "\n" };
    process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost));
    fail(`${diagnostics.length} error(s); ${BUILD_DIR}/ is not up to date, so the program runs from the TypeScript sources`);
  }
  // The project's own sources the compiler read (not node_modules, not .d.ts).
  return program
    .getSourceFiles()
    .map((f) => path.relative(ROOT, f.fileName).split(path.sep).join("/"))
    .filter((f) => !f.startsWith("..") && !f.startsWith("node_modules/") && !f.endsWith(".d.ts"))
    .sort();
}

function copyHostScripts() {
  const from = path.join(ROOT, HOST_SCRIPT_DIR);
  const to = path.join(ROOT, BUILD_DIR, HOST_SCRIPT_DIR);
  const copied = [];
  for (const f of fs.readdirSync(from).filter((f) => f.endsWith(".sh")).sort()) {
    fs.copyFileSync(path.join(from, f), path.join(to, f));
    copied.push(path.posix.join(HOST_SCRIPT_DIR.split(path.sep).join("/"), f));
  }
  return copied;
}

function main(argv) {
  const force = argv.includes("--force");
  if (argv.some((a) => a !== "--force")) fail("usage: node program/build.js [--force]");
  if (!force && buildState().fresh) {
    process.stdout.write(`program/build.js: ${BUILD_DIR}/ is up to date\n`);
    return;
  }
  let ts;
  try {
    ts = require("typescript");
  } catch {
    fail("the typescript package is missing: run `npm ci` (with the dev dependencies) in the project");
  }
  const started = Date.now();
  fs.rmSync(path.join(ROOT, STAMP), { force: true });
  const sources = compile(ts);
  const scripts = copyHostScripts();
  const files = digests(ROOT, [...sources, ...CONFIG_FILES, ...scripts].sort());
  fs.writeFileSync(path.join(ROOT, STAMP), JSON.stringify({ files }, null, 2) + "\n");
  process.stdout.write(`program/build.js: compiled ${sources.length} files to ${BUILD_DIR}/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

main(process.argv.slice(2));
