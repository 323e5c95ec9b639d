// Hostile values in `paths` and `exclude` under the real engine: quotes,
// Nix interpolation, command substitution, backticks, spaces, shell
// separators. They must reach the host as data: nothing they name runs
// (locally or on the host), and the module on the host evaluates back to the
// strings restic is meant to read. Newlines are refused by the parser (test/e2e/refusals).

import * as fs from "node:fs";
import * as path from "node:path";
import { excludeFileLine, filesFromLine } from "../../lib/nix/restic-args";
import { NixSandbox } from "../support/nix-instantiate";
import { TestSshd, TreeEntry, snapshotTree } from "../support/sshd";
import { E2eProject, ageDecrypt, evaluateBackup, expectOk, findLeaks, leakPlaces, passwordFromState, privateKeyLines, describeE2e, e2eEngine } from "./harness";

let srv: TestSshd;
let nix: NixSandbox;
let p: E2eProject;
let canary: string;
let pristine: TreeEntry[];
let paths: string[];
let exclude: string[];
let password = "";
const KEY = "K0042e2eHostileB2KeyNeverInPlaintext1a2b3c";

describeE2e("e2e hostile", () => {
  beforeAll(async () => {
    srv = await TestSshd.start();
    nix = new NixSandbox("restic-b2-e2e-hostile-nix-");
    canary = fs.mkdtempSync(path.join(nix.dir, "canary-"));
    const c = (n: number) => path.join(canary, `ran-${n}`);
    paths = [
      `/srv/it's a "quoted" path`,
      `/srv/\${builtins.throw "pwned"}`,
      `/srv/$(touch ${c(1)})`,
      `/srv/\`touch ${c(2)}\``,
      `/srv/with space/and\\backslash`,
      `/srv/semi; touch ${c(3)} #`,
      `/srv/'; touch ${c(4)}; echo '`,
      `/srv/$HOME/\${HOME}/$$`,
      `/srv/ünïcode/☃`,
    ];
    exclude = [
      `*.$(touch ${c(5)})`,
      `\`touch ${c(6)}\``,
      `\${pkgs.hello}`,
      `" ; touch ${c(7)} ; "`,
      `\\\${x}\\\\`,
      `--exclude-if-present $(touch ${c(8)})`,
      `*~`,
    ];
    pristine = snapshotTree(srv.root);
    p = await E2eProject.create(e2eEngine(), {
      config: {
        createBucket: false,
        bucketName: "e2e-restic-hostile",
        hostKey: srv.hostPublicKey(),
        agenixDir: path.join(nix.dir, "secrets-out"),
        host: "127.0.0.1",
        sshPort: srv.port,
        hostConfigDir: srv.configDir,
        agenixModule: "provided",
        paths,
        exclude,
      },
      secrets: { existingKeyId: "0042e2e0000000000000000b2", existingKey: KEY, sshPrivateKey: fs.readFileSync(srv.clientKey, "utf8") },
    });
  }, 120_000);

  afterAll(async () => {
    p?.cleanup();
    nix?.cleanup();
    await srv?.stop();
  });

  test("pulumi up: the hostile strings arrive as data; nothing they name ran", async () => {
    expectOk(await p.up());
    expect(fs.readdirSync(canary)).toEqual([]);
    expect(srv.rebuildCalls()).toEqual(["switch"]);
    password = passwordFromState((await p.exportState(true)).deployment);

    const b = evaluateBackup(nix, path.join(srv.configDir, "restic-b2", "module.nix"));
    // The module holds each value as restic's files will read it (lib/nix/restic-args.ts:
    // paths as literal --files-from globs, exclude patterns with $ doubled), which the
    // module-system tests check against restic itself.
    expect({ paths: b.paths, exclude: b.exclude }).toEqual({ paths: paths.map(filesFromLine), exclude: exclude.map(excludeFileLine) });
    expect(ageDecrypt(srv.hostKey, path.join(srv.configDir, "restic-b2", "secrets", "repo.age"))).toBe("b2:e2e-restic-hostile");
    expect(fs.readdirSync(canary)).toEqual([]);
  });

  test("a second run is a no-op with hostile values too", async () => {
    const before = srv.rebuildCalls().length;
    expectOk(await p.preview("--expect-no-changes"));
    expectOk(await p.up());
    expect(srv.rebuildCalls().length).toBe(before);
  });

  test("destroy: the host is byte-identical to before, still nothing ran", async () => {
    expectOk(await p.destroy());
    expect(snapshotTree(srv.root)).toEqual(pristine);
    expect(fs.readdirSync(canary)).toEqual([]);
  });

  test("no plaintext restic password, B2 key or SSH private key in state, .pulumi/ or any CLI output", async () => {
    const secrets: Record<string, string> = { "restic password": password, "B2 key": KEY };
    privateKeyLines(fs.readFileSync(srv.clientKey, "utf8")).forEach((l, i) => (secrets[`SSH private key line ${i + 1}`] = l));
    expect(findLeaks(await leakPlaces(p), secrets)).toEqual([]);
  });
});
