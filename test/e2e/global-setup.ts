// Runs once before the e2e files: says which engine runs, or, when there is no
// complete Pulumi installation, prints the suite's one skip line (what is
// missing, how to install it); the files then register their tests as skipped
// (describeE2e), so jest counts them and exits 0. With an engine, it first
// brings bin/ up to date (node program/build.js; nothing to do after `npm ci`),
// so each project copy runs the program compiled, as Pulumi runs it for a user.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { findEngine } from "../../lib/engine/find";
import { skipLine } from "../support/requires";
import { E2E_SUITE } from "./harness";

export default function globalSetup(): void {
  const found = findEngine();
  if (found.engine) {
    process.stdout.write(`\ne2e engine: ${found.engine.describe}\n`);
    const root = path.resolve(__dirname, "../..");
    const b = spawnSync(process.execPath, [path.join(root, "program", "build.js")], { cwd: root, encoding: "utf8" });
    if (b.status !== 0) throw new Error(`node program/build.js failed (${b.status}):\n${b.stdout}${b.stderr}`);
    process.stdout.write(b.stdout);
  } else process.stderr.write(`\n${skipLine(E2E_SUITE, found.missing!)}\n`);
}
