// What a suite needs that a machine may lack (a Pulumi installation, nixpkgs
// and agenix, data in ../shared/): the one way to say so. When the need is
// met the tests run as usual; when it is not, one line on stderr names the
// suite, what is missing and how to get it, and the tests are registered as
// skipped, so jest and scripts/test-all.sh count them ("N skipped") instead
// of leaving them out. A suite that ran and failed still fails: this decides
// only whether it runs.
//
//   const nixpkgs = nixosEvalAvailability();          // undefined, or why not
//   describeWhen(nixpkgs, "module system", () => { ... });
//
// The body is still called (jest collects the skipped tests from it), so it
// may declare tests and hooks but must not use the missing thing itself.

/** Why a requirement is not met: what is missing, and how to get it. */
export interface Missing {
  missing: string;
  install: string;
}

/** The one line a skipped suite prints. */
export function skipLine(suite: string, why: Missing): string {
  return `SKIPPED ${suite}: ${why.missing}; to run it: ${why.install}`;
}

const announced = new Set<string>();

/** Prints the skip line once per suite name and process. */
export function announceSkip(suite: string, why: Missing): void {
  const line = skipLine(suite, why);
  if (announced.has(line)) return;
  announced.add(line);
  process.stderr.write(line + "\n");
}

/** `describe` when `why` is undefined; otherwise the skip line and `describe.skip`. */
export function describeWhen(why: Missing | undefined, name: string, fn: () => void): void {
  if (why === undefined) {
    describe(name, fn);
    return;
  }
  announceSkip(name, why);
  describe.skip(name, fn);
}
