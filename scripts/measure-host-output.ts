// Prints what a user sees of the host deployment under the real Pulumi
// engine: sizes of the remote command, of its stdin bundle, of a failing
// `pulumi up` and of `pulumi preview --diff` after a one-path change, and the
// host commands a no-op run starts. A measurement, not a test.
//
// Runs the project's own program (index.ts) in existing-bucket mode against
// the loopback sshd of the integration tests (test/support/sshd.ts), with the
// Pulumi installation lib/engine/find.ts finds (pulumi, pulumi-language-nodejs,
// pulumi-resource-command 1.2.1; without one it prints one SKIPPED line and
// exits 0). Needs root (sshd).
//
//   npx ts-node --transpile-only scripts/measure-host-output.ts

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostCommand, hostStdin } from "../lib/host/shell";
import { COMMAND_PLUGIN_VERSION, findEngine } from "../lib/engine/find";
import { engineBinDir } from "../test/e2e/harness";
import { skipLine } from "../test/support/requires";
import { snapshotTree, TestSshd } from "../test/support/sshd";

const PROJECT = path.resolve(__dirname, "..");

function kib(n: number): string {
  return `${n} bytes (${(n / 1024).toFixed(1)} KiB)`;
}

async function main(): Promise<void> {
  const found = findEngine();
  if (found.engine === undefined) {
    process.stderr.write(skipLine("scripts/measure-host-output.ts", found.missing!) + "\n");
    return;
  }
  const srv = await TestSshd.start();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "restic-b2-measure-"));
  // Links to the CLI and its language host, first on PATH; the command plugin is registered in PULUMI_HOME below.
  const bin = engineBinDir(found.engine, work);
  const configFile = path.join(work, "Pulumi.measure.yaml");
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    PULUMI_HOME: path.join(work, "home"),
    PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "measure",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    NO_COLOR: "1",
  };
  fs.mkdirSync(path.join(work, "state"));
  const pulumi = (args: string[], input?: string) => {
    const r = spawnSync("pulumi", ["--non-interactive", "--color", "never", ...args], { cwd: PROJECT, env, input, encoding: "utf8", maxBuffer: 64 << 20 });
    return { code: r.status ?? -1, out: (r.stdout ?? "") + (r.stderr ?? "") };
  };
  const must = (args: string[], input?: string) => {
    const r = pulumi(args, input);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.out}`);
    return r.out;
  };
  const cfg = (key: string, value: string, secret = false) =>
    must(["config", "set", "--config-file", configFile, ...(secret ? ["--secret"] : ["--plaintext"]), ...(key.includes("[") ? ["--path"] : []), "--", key, value]);

  try {
    must(["plugin", "install", "resource", "command", `v${COMMAND_PLUGIN_VERSION}`, "--file", found.engine.commandPlugin, "--reinstall"]);
    must(["stack", "init", "measure"]);
    // stack init writes the passphrase salt into the project: move it to the temporary config file.
    const written = path.join(PROJECT, "Pulumi.measure.yaml");
    if (fs.existsSync(written)) fs.renameSync(written, configFile);
    cfg("createBucket", "false");
    cfg("bucketName", "shared-backups");
    cfg("repositoryPath", "measure");
    cfg("existingKeyId", "0041a2b3c4d5e6f0000000001", true);
    cfg("existingKey", "K004-measure-only-key", true);
    cfg("host", "127.0.0.1");
    cfg("sshPort", String(srv.port));
    cfg("hostKey", srv.hostPublicKey());
    cfg("sshPrivateKey", fs.readFileSync(srv.clientKey, "utf8"), true);
    cfg("hostConfigDir", srv.configDir);
    cfg("secretsDir", path.join(work, "secrets"));
    cfg("paths[0]", "/home");
    cfg("paths[1]", "/etc/nixos");
    const pristine = snapshotTree(srv.root);
    const stackArgs = ["--stack", "measure", "--config-file", configFile];

    const up = must(["up", "--yes", "--skip-preview", ...stackArgs]);
    const hostCalls = () => srv.rebuildCalls().length + srv.callLog("systemctl.calls").length + srv.callLog("verify.calls").length;
    const callsAfterUp = hostCalls();
    console.log(`first pulumi up: ${kib(up.length)}; "Undefined value" warnings: ${(up.match(/Undefined value/g) ?? []).length}`);

    const noop = pulumi(["preview", "--diff", "--expect-no-changes", ...stackArgs]);
    const noopUp = must(["up", "--yes", "--skip-preview", ...stackArgs]);
    console.log(
      `no-op: preview exit ${noop.code}, second pulumi up ${kib(noopUp.length)}; host commands: ${hostCalls() - callsAfterUp} (nixos-rebuild, systemctl, verify)`,
    );

    // The command and bundle as registered (same inputs as the program builds).
    const state = JSON.parse(must(["stack", "export", "--stack", "measure"]));
    const deploy = state.deployment.resources.find((r: { type: string }) => r.type === "command:remote:Command");
    const create: string = deploy.inputs.create;
    const stdin: string = deploy.inputs.stdin;
    console.log(`remote command text: ${kib(Buffer.byteLength(create))}; stdin bundle: ${kib(Buffer.byteLength(stdin))}`);
    console.log(`  (the bundle's script part: ${kib(Buffer.byteLength(hostStdin()))}; uninstall command: ${kib(Buffer.byteLength(hostCommand("uninstall", { hostConfigDir: srv.configDir, backupName: "daily", importMode: "auto", project: "nixos-restic-b2", stack: "measure" }, { sudo: false })))})`);

    cfg("paths[1]", "/var/lib");
    const diff = must(["preview", "--diff", ...stackArgs]);
    console.log(`pulumi preview --diff after changing one path: ${kib(diff.length)}`);
    fs.writeFileSync(path.join(work, "preview-diff.txt"), diff);

    srv.flag("fail-switch", true);
    const failed = pulumi(["up", "--yes", "--skip-preview", ...stackArgs]);
    srv.flag("fail-switch", false);
    fs.writeFileSync(path.join(work, "failed-up.txt"), failed.out);
    console.log(
      `failing pulumi up (switch fails): exit ${failed.code}, ${kib(failed.out.length)}; ` +
        `has the rebuild's last line: ${failed.out.includes("stub-evaluation-failure")}; ` +
        `has script or payload: ${/main\(\)|rb2_file|AGE ENCRYPTED|services\.restic/.test(failed.out)}`,
    );

    // Worst case: a rebuild whose last 30 lines are all long (e.g. Nix traces with store paths).
    const stub = path.join(srv.stubBin, "nixos-rebuild");
    const original = fs.readFileSync(stub, "utf8");
    fs.writeFileSync(stub, `#!/bin/sh\ni=1; while [ $i -le 40 ]; do printf 'error: line %s %s\\n' $i "$(printf '/nix/store/%.0s0123456789abcdef' 1 2 3 4 5 6 7 8 9 10 11 12)"; i=$((i + 1)); done\nexit 1\n`);
    const worst = pulumi(["up", "--yes", "--skip-preview", ...stackArgs]);
    fs.writeFileSync(stub, original);
    fs.writeFileSync(path.join(work, "failed-up-long-lines.txt"), worst.out);
    console.log(`failing pulumi up, 40 rebuild lines of 320 bytes: exit ${worst.code}, ${kib(worst.out.length)}`);

    must(["destroy", "--yes", "--skip-preview", ...stackArgs]);
    console.log(`destroy: host byte-identical to before: ${JSON.stringify(snapshotTree(srv.root)) === JSON.stringify(pristine)}`);
    console.log(`outputs kept in ${work} (preview-diff.txt, failed-up.txt)`);
  } finally {
    await srv.stop();
    if (fs.existsSync(path.join(PROJECT, "Pulumi.measure.yaml"))) console.error("note: Pulumi.measure.yaml is left in the project; remove it");
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
