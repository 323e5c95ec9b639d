// The upstream age vector sets (the age testkit's x25519 and armor cases, and
// agenix's example secrets) may not be committed to the repository; the tests
// that run them read them from shared/age-vectors/ and are counted as skipped
// when shared/ is not there. The project's own SSH vectors stay in
// test/fixtures/age-vectors/ssh/ and always run; the age CLI round trips
// (test/integration/age-cli.test.ts) check interoperability from a plain clone.
//
//   const cctv = sharedAgeVectors("cctv");
//   describeWhen(cctv.missing, "...", () => { test("...", () => read(cctv.dir())) });
//
// Deciding costs a stat; nothing is read until a test calls dir().

import * as fs from "node:fs";
import * as path from "node:path";
import type { Missing } from "./requires";
import { findSharedDir } from "./shared";

export interface SharedVectors {
  /** Why the set cannot be read, or undefined when it can. */
  missing: Missing | undefined;
  /** The set's folder; throws when it is missing (call it only inside tests and hooks). */
  dir(): string;
}

/** One folder of shared/age-vectors/ (`cctv`, `agenix-examples`). */
export function sharedAgeVectors(set: string): SharedVectors {
  const shared = findSharedDir();
  const folder = shared && path.join(shared, "age-vectors", set);
  const present = folder !== undefined && fs.existsSync(folder) && fs.statSync(folder).isDirectory();
  const missing: Missing | undefined = present
    ? undefined
    : {
        missing: shared
          ? `${path.join(shared, "age-vectors", set)} does not exist`
          : process.env.NIXOS_RESTIC_B2_SHARED
            ? `NIXOS_RESTIC_B2_SHARED=${process.env.NIXOS_RESTIC_B2_SHARED} is not the shared/ folder (upstream age vectors, age-vectors/${set}/)`
            : `the shared/ folder (upstream age vectors, age-vectors/${set}/) is not beside the repository`,
        install: "put shared/ beside the repository, or set NIXOS_RESTIC_B2_SHARED to its path",
      };
  return {
    missing,
    dir: () => {
      if (!present) throw new Error(`age-vectors/${set} read although it is missing: ${missing!.missing}`);
      return folder!;
    },
  };
}
