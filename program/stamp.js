"use strict";
// Whether bin/ (the compiled program) was built from the sources as they are
// now. program/build.js compiles index.ts and what it imports to bin/ and
// writes bin/build.json: the SHA-256 of every file the build read (the .ts
// files the compiler took, the tsconfig files, the host scripts copied beside
// the compiled lib/host/). program/index.js runs bin/ only while every one of
// them is unchanged. Contents, not times: a copy or a checkout changes every
// file's mtime, and an edited file with an old mtime must still count.

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

/** The project root (this file is in program/). */
const ROOT = path.resolve(__dirname, "..");
/** Where the compiled program goes (tsconfig.build.json's outDir). */
const BUILD_DIR = "bin";
const STAMP = path.join(BUILD_DIR, "build.json");
const ENTRY = path.join(BUILD_DIR, "index.js");
/** Files the build depends on besides the compiled sources (paths relative to the root). */
const CONFIG_FILES = ["tsconfig.json", "tsconfig.build.json"];
/** Read at run time from beside the compiled lib/host/scripts.js, so copied there. */
const HOST_SCRIPT_DIR = path.join("lib", "host");

function digest(root, rel) {
  return crypto.createHash("sha256").update(fs.readFileSync(path.join(root, rel))).digest("hex");
}

/** file (relative to root, with /) → its digest. */
function digests(root, files) {
  return Object.fromEntries(files.map((f) => [f, digest(root, f)]));
}

/**
 * { fresh: true } when bin/ matches the sources, else { fresh: false, reason }
 * (one line saying what differs). Reads the stamp and every file it lists.
 */
function buildState(root = ROOT) {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(root, STAMP), "utf8"));
  } catch {
    return { fresh: false, reason: `${BUILD_DIR}/ has not been built (no ${STAMP})` };
  }
  if (!fs.existsSync(path.join(root, ENTRY))) return { fresh: false, reason: `${ENTRY} is missing` };
  const files = stamp && typeof stamp.files === "object" && stamp.files !== null ? stamp.files : {};
  if (Object.keys(files).length === 0) return { fresh: false, reason: `${STAMP} lists no sources` };
  for (const [file, want] of Object.entries(files)) {
    let got;
    try {
      got = digest(root, file);
    } catch {
      return { fresh: false, reason: `${file} was removed since the build` };
    }
    if (got !== want) return { fresh: false, reason: `${file} changed since the build` };
  }
  return { fresh: true };
}

module.exports = { ROOT, BUILD_DIR, STAMP, ENTRY, CONFIG_FILES, HOST_SCRIPT_DIR, digests, buildState };
