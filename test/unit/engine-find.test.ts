// lib/engine/find.ts: which Pulumi engine the e2e suite, the bench, the CLI
// tests and `npm run status` take, over fake installations in a temp dir
// (shell scripts that print a version, as `pulumi version` and
// `pulumi-language-nodejs -version` do). The real engine is not needed here:
// these tests are the proof of the selection where no installation exists.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { COMMAND_PLUGIN_VERSION, EngineSearch, INSTALL_ENGINE, engineCache, findEngine } from "../../lib/engine/find";
import { findPulumiRoot } from "../../lib/status/stacks";

let root: string;
let n = 0;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), `engine-find-${n++}-`));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** An executable that prints `out` (and exits `code`) whatever it is asked. */
function exe(file: string, out = "", code = 0): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${out ? `echo '${out}'\n` : ""}exit ${code}\n`, { mode: 0o755 });
  return file;
}
const cli = (dir: string, v = "v3.259.0") => exe(path.join(dir, "pulumi"), v);
const host = (dir: string, v = "v3.259.0") => exe(path.join(dir, "pulumi-language-nodejs"), v);
const plugin = (dir: string) => exe(path.join(dir, "pulumi-resource-command"));
const cachedPlugin = (pulumiHome: string, version = COMMAND_PLUGIN_VERSION) => plugin(path.join(pulumiHome, "plugins", `resource-command-v${version}`));
/** A full installation in one directory (the NIXOS_RESTIC_B2_PULUMI layout). */
const full = (dir: string, v = "v3.259.0") => [cli(dir, v), host(dir, v), plugin(dir)];

/** An environment that sees only what the test made: HOME, PATH and the cache in the temp dir. */
function env(over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = path.join(root, "home");
  fs.mkdirSync(home, { recursive: true });
  return { HOME: home, PATH: path.join(root, "empty-path"), PULUMI_ENGINE_CACHE: path.join(root, "cache"), ...over };
}
const home = () => path.join(root, "home");
const installer = () => path.join(home(), ".pulumi", "bin");

/** What the old scripts/build-engine.sh left: a CLI, a language host and a provider, all answering. */
function oldCache(): string {
  const c = path.join(root, "cache");
  cli(path.join(c, "bin"));
  host(path.join(c, "bin"));
  plugin(path.join(c, "bin"));
  plugin(path.join(c, "provider"));
  return c;
}

const missingText = (r: EngineSearch) => `${r.missing?.missing} | ${r.missing?.install}`;

test("the plugin version the finder wants is the one the installed @pulumi/command SDK asks the engine for", () => {
  expect(require("@pulumi/command/package.json").pulumi).toEqual({ resource: true, name: "command", version: COMMAND_PLUGIN_VERSION });
});

describe("a complete engine", () => {
  test("NIXOS_RESTIC_B2_PULUMI wins over the installer's layout and PATH", () => {
    const dir = path.join(root, "env-dir");
    const [p, h, c] = full(dir, "v3.270.0");
    full(installer());
    cachedPlugin(path.join(home(), ".pulumi"));
    const onPath = path.join(root, "path-bin");
    full(onPath);
    const r = findEngine(env({ NIXOS_RESTIC_B2_PULUMI: dir, PATH: `${onPath}` }));
    expect(r.missing).toBeUndefined();
    expect(r.engine).toMatchObject({ pulumi: p, languageHost: h, commandPlugin: c, version: "v3.270.0", languageHostVersion: "v3.270.0", source: "NIXOS_RESTIC_B2_PULUMI" });
    expect(r.engine?.describe).toContain(`NIXOS_RESTIC_B2_PULUMI=${dir}`);
  });

  test("the installer's layout: ~/.pulumi/bin with the language host beside pulumi, the plugin in ~/.pulumi/plugins; it wins over PATH", () => {
    const [p, h] = [cli(installer()), host(installer(), "3.259.0")];
    const c = cachedPlugin(path.join(home(), ".pulumi"));
    const onPath = path.join(root, "path-bin");
    full(onPath);
    const r = findEngine(env({ PATH: `${onPath}` }));
    expect(r.engine).toMatchObject({ pulumi: p, languageHost: h, commandPlugin: c, source: "installer", languageHostVersion: "v3.259.0" });
  });

  test("the installer's layout takes the plugin from $PULUMI_HOME/plugins when PULUMI_HOME is set", () => {
    cli(installer());
    host(installer());
    cachedPlugin(path.join(home(), ".pulumi"));
    const elsewhere = path.join(root, "pulumi-home");
    const c = cachedPlugin(elsewhere);
    expect(findEngine(env({ PULUMI_HOME: elsewhere })).engine?.commandPlugin).toBe(c);
    expect(findEngine(env({ PULUMI_HOME: path.join(root, "empty-home") })).engine).toBeUndefined();
  });

  test("PATH: pulumi through a symlink, its language host beside the real binary, the plugin in the plugin cache", () => {
    const real = path.join(root, "opt", "pulumi", "bin");
    cli(real);
    const h = host(real);
    const link = path.join(root, "usr-local-bin");
    fs.mkdirSync(link);
    fs.symlinkSync(path.join(real, "pulumi"), path.join(link, "pulumi"));
    const c = cachedPlugin(path.join(home(), ".pulumi"));
    const r = findEngine(env({ PATH: `${link}` }));
    expect(r.engine).toMatchObject({ pulumi: path.join(link, "pulumi"), languageHost: h, commandPlugin: c, source: "PATH" });
  });

  test("PATH: language host and plugin in other PATH directories", () => {
    const a = path.join(root, "a");
    const b = path.join(root, "b");
    const p = cli(a);
    const h = host(b);
    const c = plugin(b);
    expect(findEngine(env({ PATH: `${a}:${b}` })).engine).toMatchObject({ pulumi: p, languageHost: h, commandPlugin: c, source: "PATH" });
  });

  test("an incomplete installer's layout does not hide a complete one on PATH", () => {
    cli(installer());
    const onPath = path.join(root, "path-bin");
    const [p] = full(onPath);
    const r = findEngine(env({ PATH: onPath }));
    expect(r.engine?.pulumi).toBe(p);
  });
});

describe("incomplete installations: what is missing, and how to install it", () => {
  test("a CLI without its language host", () => {
    const onPath = path.join(root, "path-bin");
    cli(onPath);
    cachedPlugin(path.join(home(), ".pulumi"));
    const r = findEngine(env({ PATH: onPath }));
    expect(r.engine).toBeUndefined();
    expect(r.missing?.missing).toMatch(/no Node\.js language host \(pulumi-language-nodejs\) beside pulumi or on PATH/);
    expect(r.missing?.install).toBe(INSTALL_ENGINE);
    expect(r.missing?.install).toContain("pulumi plugin install resource command 1.2.1");
    expect(r.missing?.install).toMatch(/official installer/);
  });

  test("the command plugin of another version only (and an unfinished install of the right one)", () => {
    cli(installer());
    host(installer());
    cachedPlugin(path.join(home(), ".pulumi"), "1.3.0");
    cachedPlugin(path.join(home(), ".pulumi"), "1.2.0");
    let r = findEngine(env());
    expect(r.engine).toBeUndefined();
    expect(r.missing?.missing).toContain(`no command plugin v1.2.1 in ${path.join(home(), ".pulumi", "plugins", "resource-command-v1.2.1")} (found only resource-command-v1.2.0, resource-command-v1.3.0)`);
    cachedPlugin(path.join(home(), ".pulumi"));
    fs.writeFileSync(path.join(home(), ".pulumi", "plugins", "resource-command-v1.2.1.partial"), "");
    r = findEngine(env());
    expect(r.engine).toBeUndefined();
    expect(r.missing?.missing).toContain("its install did not finish");
    fs.rmSync(path.join(home(), ".pulumi", "plugins", "resource-command-v1.2.1.partial"));
    expect(findEngine(env()).engine?.source).toBe("installer");
  });

  test("executables that do not answer with a version are not taken", () => {
    exe(path.join(installer(), "pulumi"), "", 1);
    exe(path.join(installer(), "pulumi-language-nodejs"), "usage: ...");
    cachedPlugin(path.join(home(), ".pulumi"));
    const r = findEngine(env());
    expect(r.engine).toBeUndefined();
    expect(r.missing?.missing).toContain("does not answer `pulumi version`");
    expect(r.missing?.missing).toContain("pulumi-language-nodejs does not answer `-version`");
    expect(r.cli).toBeUndefined();
  });

  test("an incomplete NIXOS_RESTIC_B2_PULUMI is reported, not passed over for the installer", () => {
    const dir = path.join(root, "env-dir");
    cli(dir);
    plugin(dir);
    full(installer());
    cachedPlugin(path.join(home(), ".pulumi"));
    const r = findEngine(env({ NIXOS_RESTIC_B2_PULUMI: dir }));
    expect(r.engine).toBeUndefined();
    expect(r.missing?.missing).toBe(`NIXOS_RESTIC_B2_PULUMI=${dir} is not a complete Pulumi installation: no Node.js language host (pulumi-language-nodejs) beside pulumi`);
    expect(r.missing?.install).toMatch(/^put pulumi, pulumi-language-nodejs and pulumi-resource-command \(v1\.2\.1\) in that directory, or unset NIXOS_RESTIC_B2_PULUMI/);
    expect(r.cli?.pulumi).toBe(path.join(dir, "pulumi"));
  });

  test("nothing at all", () => {
    const r = findEngine(env());
    expect(r.engine).toBeUndefined();
    expect(r.cli).toBeUndefined();
    expect(r.missing?.missing).toBe(`no complete Pulumi installation: no pulumi in ${installer()} or on PATH, and NIXOS_RESTIC_B2_PULUMI is not set`);
    expect(missingText(r)).not.toMatch(/\n/);
  });
});

describe("the old engine cache (scripts/build-engine.sh's) is never taken for an installation", () => {
  test("not even first on PATH, with a language host and a provider in it; its CLI still serves the CLI alone", () => {
    const c = oldCache();
    const r = findEngine(env({ PATH: `${path.join(c, "bin")}:${path.join(c, "provider")}` }));
    expect(r.engine).toBeUndefined();
    expect(r.missing?.missing).toContain(`the CLI scripts/build-engine.sh built, ${path.join(c, "bin", "pulumi")}, is not an installation`);
    expect(r.cli).toEqual({ pulumi: path.join(c, "bin", "pulumi"), version: "v3.259.0", source: "scripts/build-engine.sh's cache" });
  });

  test("nor pieces of it linked from elsewhere, next to a real CLI", () => {
    const c = oldCache();
    const bin = path.join(root, "usr-local-bin");
    cli(bin);
    fs.symlinkSync(path.join(c, "bin", "pulumi-language-nodejs"), path.join(bin, "pulumi-language-nodejs"));
    fs.symlinkSync(path.join(c, "provider", "pulumi-resource-command"), path.join(bin, "pulumi-resource-command"));
    const r = findEngine(env({ PATH: bin }));
    expect(r.engine).toBeUndefined();
    expect(r.missing?.missing).toMatch(/no Node\.js language host/);
    expect(r.missing?.missing).toMatch(/no command plugin v1\.2\.1 .*none on PATH/);
  });

  test("nor when NIXOS_RESTIC_B2_PULUMI points into it", () => {
    const c = oldCache();
    const r = findEngine(env({ NIXOS_RESTIC_B2_PULUMI: path.join(c, "bin") }));
    expect(r.engine).toBeUndefined();
    expect(r.missing?.missing).toContain("scripts/build-engine.sh's cache, which holds only the CLI, not a Pulumi installation");
  });

  test("the default cache is ~/.cache/nixos-restic-b2-engine, PULUMI_ENGINE_CACHE moves it", () => {
    expect(engineCache({ HOME: "/h" })).toBe("/h/.cache/nixos-restic-b2-engine");
    expect(engineCache({ HOME: "/h", PULUMI_ENGINE_CACHE: "/c" })).toBe("/c");
  });
});

describe("the CLI alone (npm run test:cli, npm run status)", () => {
  test("order: PULUMI_BIN, NIXOS_RESTIC_B2_PULUMI, the build-engine.sh cache, the installer, PATH", () => {
    const bin = exe(path.join(root, "x", "my-pulumi"), "v3.1.0");
    const dir = path.join(root, "env-dir");
    cli(dir, "v3.2.0");
    cli(path.join(root, "cache", "bin"), "v3.259.0");
    cli(installer(), "v3.3.0");
    const onPath = path.join(root, "path-bin");
    cli(onPath, "v3.4.0");
    const order: Array<[NodeJS.ProcessEnv, string, string]> = [
      [{ PULUMI_BIN: bin, NIXOS_RESTIC_B2_PULUMI: dir }, bin, "PULUMI_BIN"],
      [{ NIXOS_RESTIC_B2_PULUMI: dir }, path.join(dir, "pulumi"), "NIXOS_RESTIC_B2_PULUMI"],
      [{}, path.join(root, "cache", "bin", "pulumi"), "scripts/build-engine.sh's cache"],
    ];
    for (const [over, want, source] of order) expect(findEngine(env({ PATH: onPath, ...over })).cli).toMatchObject({ pulumi: want, source });
    fs.rmSync(path.join(root, "cache"), { recursive: true });
    expect(findEngine(env({ PATH: onPath })).cli).toEqual({ pulumi: path.join(installer(), "pulumi"), version: "v3.3.0", source: "the Pulumi installer's ~/.pulumi/bin" });
    fs.rmSync(installer(), { recursive: true });
    expect(findEngine(env({ PATH: onPath })).cli).toEqual({ pulumi: path.join(onPath, "pulumi"), version: "v3.4.0", source: "PATH" });
  });

  test("a PULUMI_BIN that does not run is passed over", () => {
    const broken = exe(path.join(root, "broken"), "", 127);
    const onPath = path.join(root, "path-bin");
    cli(onPath);
    expect(findEngine(env({ PULUMI_BIN: broken, PATH: onPath })).cli?.pulumi).toBe(path.join(onPath, "pulumi"));
  });
});

describe("findPulumiRoot (npm run status: PulumiCommand runs <root>/bin/pulumi)", () => {
  test("a CLI at <dir>/bin/pulumi gives <dir>; one elsewhere gets a private root linking to it", () => {
    cli(path.join(root, "cache", "bin"));
    expect(findPulumiRoot(env())).toBe(path.join(root, "cache"));
    const odd = exe(path.join(root, "opt", "my-pulumi"), "v3.259.0");
    const r = findPulumiRoot(env({ PULUMI_BIN: odd }))!;
    expect(r).not.toBe(path.join(root, "opt"));
    expect(fs.realpathSync(path.join(r, "bin", "pulumi"))).toBe(fs.realpathSync(odd));
    expect(findPulumiRoot(env({ PULUMI_ENGINE_CACHE: path.join(root, "none") }))).toBeUndefined();
  });
});
