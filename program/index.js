"use strict";
// The program's entry point (Pulumi.yaml's `main: program/`, with
// runtime.options.typescript false): runs the compiled program in bin/ when
// it was built from the sources as they are now (program/stamp.js), which
// spares every run loading TypeScript and ts-node and compiling (npm run
// bench: the module graph loads in a fraction of the time). `npm ci` and
// `npm install` build bin/ (package.json's prepare: program/build.js), and so
// does `npm run build`. When bin/ is missing or older than the sources, the
// TypeScript sources run through ts-node instead, as before, with a warning
// that says so: a stale build never runs.

const path = require("node:path");
const { ROOT, ENTRY, buildState } = require("./stamp");

function load() {
  const state = buildState();
  if (state.fresh) return require(path.join(ROOT, ENTRY));
  require("@pulumi/pulumi").log.warn(
    `running the TypeScript sources (slower): ${state.reason}; \`npm run build\` compiles the program to bin/ again`,
  );
  require("ts-node").register({ transpileOnly: true, project: path.join(ROOT, "tsconfig.json") });
  return require(path.join(ROOT, "index.ts"));
}

module.exports = load();
