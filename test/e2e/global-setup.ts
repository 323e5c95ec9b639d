// Runs once before the e2e files: finds the engine (or fails with what to do)
// and says which one runs, so the test output records it.
import { findEngine } from "./harness";

export default function globalSetup(): void {
  const engine = findEngine();
  process.stdout.write(`\ne2e engine: ${engine.describe}\n`);
}
