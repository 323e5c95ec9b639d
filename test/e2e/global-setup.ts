// Runs once before the e2e files: says which engine runs, or, when there is no
// complete Pulumi installation, prints the suite's one skip line (what is
// missing, how to install it); the files then register their tests as skipped
// (describeE2e), so jest counts them and exits 0.
import { findEngine } from "../../lib/engine/find";
import { skipLine } from "../support/requires";
import { E2E_SUITE } from "./harness";

export default function globalSetup(): void {
  const found = findEngine();
  if (found.engine) process.stdout.write(`\ne2e engine: ${found.engine.describe}\n`);
  else process.stderr.write(`\n${skipLine(E2E_SUITE, found.missing!)}\n`);
}
