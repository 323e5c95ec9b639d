// The upstream age vector sets (the age testkit's x25519 and armor cases, and
// agenix's example secrets) may not be committed to the repository; the tests
// that run them read them from shared/age-vectors/ and are counted as skipped
// when shared/ is not there. The project's own SSH vectors stay in
// test/fixtures/age-vectors/ssh/ and always run; the age CLI round trips
// (test/integration/age-cli.test.ts) check interoperability from a plain clone.
//
//   const upstream = sharedAgeVectors(["cctv", "agenix-examples"]);
//   describeWhen(upstream.missing, "...", () => { test("...", () => read(upstream.dir("cctv"))) });
//
// Deciding costs a stat per set; nothing is read until a test calls dir().

import * as fs from "node:fs";
import * as path from "node:path";
import type { Missing } from "./requires";
import { findSharedDir } from "./shared";

export interface SharedVectors {
  /** Why the sets cannot be read, or undefined when they all can. */
  missing: Missing | undefined;
  /** A set's folder; throws when it is missing (call it only inside tests and hooks). */
  dir(set: string): string;
}

/** Folders of shared/age-vectors/ (`cctv`, `agenix-examples`), all or none. */
export function sharedAgeVectors(sets: string[]): SharedVectors {
  const shared = findSharedDir();
  const folder = (set: string): string | undefined => shared && path.join(shared, "age-vectors", set);
  const absent = sets.filter((s) => {
    const f = folder(s);
    return f === undefined || !fs.existsSync(f) || !fs.statSync(f).isDirectory();
  });
  const what = `upstream age vectors, age-vectors/{${sets.join(",")}}/`;
  const missing: Missing | undefined =
    absent.length === 0
      ? undefined
      : {
          missing: shared
            ? `${absent.map((s) => folder(s)).join(" and ")} missing`
            : process.env.NIXOS_RESTIC_B2_SHARED
              ? `NIXOS_RESTIC_B2_SHARED=${process.env.NIXOS_RESTIC_B2_SHARED} is not the shared/ folder (${what})`
              : `the shared/ folder (${what}) is not beside the repository`,
          install: "put shared/ beside the repository, or set NIXOS_RESTIC_B2_SHARED to its path",
        };
  return {
    missing,
    dir: (set) => {
      if (!sets.includes(set)) throw new Error(`age-vectors/${set} was not asked for`);
      if (missing) throw new Error(`age-vectors/${set} read although it is missing: ${missing.missing}`);
      return folder(set)!;
    },
  };
}
