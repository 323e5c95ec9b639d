// Stand-ins for the parts of nixpkgs a rendered module uses besides its own
// options, for evaluating it with nix-instantiate without nixpkgs.
//
// pkgs.writeShellScript / writeShellScriptBin return a value whose string
// form is "/stub-script:" + builtins.toJSON { name; text; } + ":end", so the
// exact script text a module embeds can be read back from wherever the
// module interpolates it (ExecStart, another script, systemPackages).
// lib.escapeShellArg quotes as nixpkgs' does (single quotes, ' as '\'').

/** A Nix expression: an attrset of package stand-ins (store paths given as strings). */
export function nixPkgsStub(paths: { bin: string; restic: string }): string {
  const p = JSON.stringify;
  return `{
    coreutils = ${p(paths.bin)}; gnused = ${p(paths.bin)}; gnugrep = ${p(paths.bin)}; jq = ${p(paths.bin)}; util-linux = ${p(paths.bin)};
    restic = ${p(paths.restic)};
    writeShellScript = name: text: { outPath = "/stub-script:" + builtins.toJSON { inherit name text; } + ":end"; };
    writeShellScriptBin = name: text: { outPath = "/stub-script:" + builtins.toJSON { inherit name text; } + ":end"; };
  }`;
}

export const NIX_LIB_STUB = `{
    escapeShellArg = arg: "'" + builtins.replaceStrings [ "'" ] [ "'\\\\''" ] (toString arg) + "'";
  }`;

export interface StubScript {
  name: string;
  text: string;
}

const STUB = /\/stub-script:(\{"name":"(?:[^"\\]|\\.)*","text":"(?:[^"\\]|\\.)*"\}):end/g;

/** Every script embedded (at the top level) in a string, in order. */
export function stubScripts(s: string): StubScript[] {
  return [...s.matchAll(STUB)].map((m) => JSON.parse(m[1]) as StubScript);
}

/** The one script a string is (e.g. an ExecStart value or a systemPackages entry). */
export function stubScript(s: string): StubScript {
  const all = stubScripts(s);
  if (all.length !== 1 || !s.startsWith("/stub-script:") || !s.endsWith(":end")) throw new Error(`not one stub script: ${s.slice(0, 200)}`);
  return all[0];
}
