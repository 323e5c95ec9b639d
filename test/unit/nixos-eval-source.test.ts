// Where the NixOS module-system tests take nixpkgs and agenix from
// (test/support/nixos-eval.ts), over fake trees: NIXOS_EVAL_NIXPKGS /
// NIXOS_EVAL_AGENIX first, else <nixpkgs> / <agenix> on the Nix search path
// (looked up by the real nix-instantiate --find-file over NIX_PATH entries);
// nothing found is a skip (a Missing, one line), a setting that points at the
// wrong thing is a failure. The real module system cannot run on a machine
// without nixpkgs: these tests prove the choice, not the evaluation.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NixSandbox, makeNixDirs, nixEnvironment } from "../support/nix-instantiate";
import {
  AGENIX_FILES,
  FindFile,
  NIXOS_EVAL_NIX,
  NIXPKGS_FILES,
  NixosEvalSettingError,
  resolveNixosEval,
  selectNixosSources,
} from "../support/nixos-eval";
import { skipLine } from "../support/requires";

let tmp: string;
let nixpkgs: string;
let agenix: string;
let otherNixpkgs: string;
let notNixpkgs: string;

/** A directory holding `files` (each a tiny Nix file). */
function tree(name: string, files: readonly string[]): string {
  const dir = path.join(tmp, name);
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), "{ }\n");
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-eval-source-"));
  nixpkgs = tree("nixpkgs", NIXPKGS_FILES);
  otherNixpkgs = tree("other-nixpkgs", NIXPKGS_FILES);
  agenix = tree("agenix", AGENIX_FILES);
  // lib/ and nixos/lib/ but no restic module: not a nixpkgs tree.
  notNixpkgs = tree("not-nixpkgs", NIXPKGS_FILES.filter((f) => !f.endsWith("restic.nix")));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A search path of name → directory, as `nix-instantiate --find-file` would answer. */
const searchPath = (entries: Record<string, string>): FindFile => (name) => entries[name];
const nothing: FindFile = () => undefined;

describe("selectNixosSources", () => {
  test("both variables set to the trees: used, and the line says so", () => {
    const s = selectNixosSources({ NIXOS_EVAL_NIXPKGS: nixpkgs, NIXOS_EVAL_AGENIX: agenix }, searchPath({ nixpkgs: otherNixpkgs }));
    expect(s).toEqual({ source: { nixpkgs, agenix, description: `nixpkgs ${nixpkgs} (NIXOS_EVAL_NIXPKGS), agenix ${agenix} (NIXOS_EVAL_AGENIX)` } });
  });

  test("a relative variable is taken from the working directory", () => {
    const s = selectNixosSources({ NIXOS_EVAL_NIXPKGS: path.relative(process.cwd(), nixpkgs), NIXOS_EVAL_AGENIX: agenix }, nothing);
    expect(s.source?.nixpkgs).toBe(nixpkgs);
  });

  test("neither variable set: <nixpkgs> and <agenix> on the search path", () => {
    const s = selectNixosSources({}, searchPath({ nixpkgs, agenix }));
    expect(s.source).toEqual({ nixpkgs, agenix, description: `nixpkgs ${nixpkgs} (<nixpkgs> on the Nix search path), agenix ${agenix} (<agenix> on the Nix search path)` });
  });

  test("one variable set, the other tree from the search path", () => {
    const s = selectNixosSources({ NIXOS_EVAL_NIXPKGS: nixpkgs }, searchPath({ nixpkgs: otherNixpkgs, agenix }));
    expect(s.source).toEqual({ nixpkgs, agenix, description: `nixpkgs ${nixpkgs} (NIXOS_EVAL_NIXPKGS), agenix ${agenix} (<agenix> on the Nix search path)` });
  });

  test("nothing at all: a Missing (the suites skip), one line naming both and how to get them", () => {
    const s = selectNixosSources({}, nothing);
    expect(s.source).toBeUndefined();
    const line = skipLine("the module system", s.missing!);
    expect(line).not.toContain("\n");
    expect(line).toMatch(/^SKIPPED the module system: no nixpkgs and no agenix \(.*\); to run it: NIXOS_EVAL_NIXPKGS=.*NIXOS_EVAL_AGENIX=.*NIX_PATH=/);
  });

  test("empty variables count as unset", () => {
    expect(selectNixosSources({ NIXOS_EVAL_NIXPKGS: "", NIXOS_EVAL_AGENIX: "" }, nothing).missing).toBeDefined();
  });

  test("nixpkgs on the search path but no agenix: a Missing that names agenix only", () => {
    const s = selectNixosSources({}, searchPath({ nixpkgs }));
    expect(s.missing!.missing).toMatch(/^no agenix \(NIXOS_EVAL_AGENIX unset, no <agenix> on the Nix search path\)$/);
  });

  test.each<[string, Record<string, string>]>([
    ["NIXOS_EVAL_NIXPKGS", { NIXOS_EVAL_AGENIX: "agenix" }],
    ["NIXOS_EVAL_AGENIX", { NIXOS_EVAL_NIXPKGS: "nixpkgs" }],
  ])("%s set to a tree that is not one: a failure naming the variable and what the tree lacks", (variable) => {
    const settings = { NIXOS_EVAL_NIXPKGS: nixpkgs, NIXOS_EVAL_AGENIX: agenix, [variable]: notNixpkgs };
    const lacks = variable === "NIXOS_EVAL_NIXPKGS" ? "nixos/modules/services/backup/restic.nix" : "modules/age.nix";
    expect(() => selectNixosSources(settings, searchPath({ nixpkgs, agenix }))).toThrow(NixosEvalSettingError);
    expect(() => selectNixosSources(settings, searchPath({ nixpkgs, agenix }))).toThrow(new RegExp(`${variable}=${notNixpkgs} is not a .* tree: it has no ${lacks}\\.`));
  });

  test("a variable set to a directory that does not exist: a failure", () => {
    expect(() => selectNixosSources({ NIXOS_EVAL_NIXPKGS: path.join(tmp, "nope"), NIXOS_EVAL_AGENIX: agenix }, nothing)).toThrow(/NIXOS_EVAL_NIXPKGS=.*nope is not a nixpkgs tree: it has no lib\/default\.nix, nixos\/lib\/utils\.nix, nixos\/modules/);
  });

  test.each(["NIXOS_EVAL_NIXPKGS", "NIXOS_EVAL_AGENIX"])("only %s set and the other tree nowhere: a failure, not a skip", (variable) => {
    const settings = variable === "NIXOS_EVAL_NIXPKGS" ? { NIXOS_EVAL_NIXPKGS: nixpkgs } : { NIXOS_EVAL_AGENIX: agenix };
    const other = variable === "NIXOS_EVAL_NIXPKGS" ? "agenix" : "nixpkgs";
    expect(() => selectNixosSources(settings, nothing)).toThrow(new RegExp(`${variable} is set, but no ${other} was found .* unset ${variable}\\.$`));
  });

  test("a <nixpkgs> on the search path that is not nixpkgs: a failure naming that entry", () => {
    expect(() => selectNixosSources({}, searchPath({ nixpkgs: notNixpkgs, agenix }))).toThrow(
      new RegExp(`<nixpkgs> on the Nix search path is ${notNixpkgs}, which is not a nixpkgs tree: it has no nixos/modules/services/backup/restic\\.nix`),
    );
  });
});

describe("resolveNixosEval: the variables and the real nix-instantiate --find-file", () => {
  /** An environment with nothing of the machine's Nix: own HOME (no channels), empty config, the given NIX_PATH. */
  function env(over: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const dir = fs.mkdtempSync(path.join(tmp, "env-"));
    makeNixDirs(dir);
    return { PATH: process.env.PATH, ...nixEnvironment(dir), ...over };
  }

  test("NIX_PATH entries nixpkgs= and agenix=", () => {
    const s = resolveNixosEval(env({ NIX_PATH: `nixpkgs=${nixpkgs}:agenix=${agenix}` }));
    expect(s.source).toEqual({ nixpkgs, agenix, description: expect.stringContaining("(<nixpkgs> on the Nix search path)") });
  });

  test("a NIX_PATH directory holding nixpkgs/ and agenix/ (as a channels directory does)", () => {
    const s = resolveNixosEval(env({ NIX_PATH: tmp }));
    expect(s.source).toMatchObject({ nixpkgs, agenix });
  });

  test("the variables win over NIX_PATH", () => {
    const s = resolveNixosEval(env({ NIX_PATH: `nixpkgs=${otherNixpkgs}:agenix=${agenix}`, NIXOS_EVAL_NIXPKGS: nixpkgs }));
    expect(s.source).toMatchObject({ nixpkgs, agenix });
    expect(s.source!.description).toContain("(NIXOS_EVAL_NIXPKGS)");
  });

  test("NIX_PATH entries that do not exist, or no NIX_PATH at all: a Missing", () => {
    expect(resolveNixosEval(env({ NIX_PATH: `nixpkgs=${tmp}/nope:agenix=${tmp}/nope` })).missing).toBeDefined();
    expect(resolveNixosEval(env({ NIX_PATH: "" })).missing!.missing).toMatch(/^no nixpkgs and no agenix /);
  });

  test("NIX_PATH's <nixpkgs> not a nixpkgs tree: a failure", () => {
    expect(() => resolveNixosEval(env({ NIX_PATH: `nixpkgs=${notNixpkgs}:agenix=${agenix}` }))).toThrow(NixosEvalSettingError);
  });

  test("NIXOS_EVAL_NIXPKGS set to a tree that is not nixpkgs: a failure", () => {
    expect(() => resolveNixosEval(env({ NIX_PATH: "", NIXOS_EVAL_NIXPKGS: notNixpkgs, NIXOS_EVAL_AGENIX: agenix }))).toThrow(/NIXOS_EVAL_NIXPKGS=.* is not a nixpkgs tree/);
  });
});

test("the harness's Nix side parses (nix-instantiate --parse)", () => {
  const nix = new NixSandbox("nixos-eval-parse-");
  try {
    const r = nix.run(["--parse", NIXOS_EVAL_NIX]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  } finally {
    nix.cleanup();
  }
});
