// HostDeployment under Pulumi mocks: the one remote command it registers,
// its pinned connection, secret handling and stable inputs, and which changes
// the engine would run as an update or a replacement (test/support/replace-plan.ts).
import * as pulumi from "@pulumi/pulumi";
import { hostCommand, hostStdin } from "../../lib/host/shell";
import type { HostDeploymentArgs } from "../../components/host";
import { MockRecorder, RecordedResource, installPulumiMocks, isSecret, settled } from "../support/pulumi-mocks";
import { COMMAND_REPLACE_KEYS, plannedStep } from "../support/replace-plan";

const REMOTE = "command:remote:Command";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-test-only\n-----END OPENSSH PRIVATE KEY-----\n";
const FILES = {
  "env.age": "-----BEGIN AGE ENCRYPTED FILE-----\nZW52\n-----END AGE ENCRYPTED FILE-----\n",
  "repo.age": "-----BEGIN AGE ENCRYPTED FILE-----\ncmVwbw==\n-----END AGE ENCRYPTED FILE-----\n",
  "password.age": "-----BEGIN AGE ENCRYPTED FILE-----\ncGFzcw==\n-----END AGE ENCRYPTED FILE-----\n",
};

type Module = typeof import("../../components/host");
let mocks: MockRecorder;
let mod: Module;

beforeAll(async () => {
  mocks = await installPulumiMocks({ outputs: () => ({ stdout: "installed", stderr: "" }) });
  mod = require("../../components/host") as Module;
});
beforeEach(() => mocks.reset());

function args(over: Partial<HostDeploymentArgs> = {}): HostDeploymentArgs {
  return {
    project: "nixos-restic-b2",
    stack: "laptop",
    host: "nixos.lan",
    sshPort: 22,
    sshUser: "root",
    sshPrivateKey: pulumi.secret(PRIVATE_KEY),
    hostKey: HOST_KEY,
    hostConfigDir: "/etc/nixos",
    backupName: "daily",
    importMode: "auto",
    runFirstBackup: false,
    verifyOnDeploy: true,
    module: "{ config, pkgs, lib, ... }:\n{ }\n",
    files: { "env.age": pulumi.output(FILES["env.age"]), "repo.age": FILES["repo.age"], "password.age": FILES["password.age"] },
    ...over,
  };
}

async function build(a = args()) {
  const h = new mod.HostDeployment("laptop", a, { transformations: [mocks.recordOptions] });
  await settled(h.summary);
  return h;
}

const expectedFiles = (module: string) => ({
  "module.nix": module,
  "secrets/env.age": FILES["env.age"],
  "secrets/repo.age": FILES["repo.age"],
  "secrets/password.age": FILES["password.age"],
});

test("one remote command: a short install on create (and so on update), uninstall on delete, the bundle on stdin", async () => {
  await build();
  const r = mocks.one(REMOTE);
  expect(r.name).toBe("laptop-deploy");
  const common = { hostConfigDir: "/etc/nixos", backupName: "daily", importMode: "auto" as const, project: "nixos-restic-b2", stack: "laptop" };
  const install = hostCommand("install", { ...common, files: expectedFiles(args().module), runFirstBackup: false, verifyOnDeploy: true }, { sudo: false });
  expect(r.inputs.create).toBe(install);
  // No update command: the provider runs create again.
  expect(r.inputs.update).toBeUndefined();
  expect(r.inputs.delete).toBe(hostCommand("uninstall", common, { sudo: false }));
  expect(r.inputs.stdin).toBe(hostStdin(expectedFiles(args().module)));
  expect(Buffer.byteLength(r.inputs.create)).toBeLessThan(600);
  expect(r.inputs.create).not.toContain("AGE ENCRYPTED");
  expect(r.inputs.logging).toBe("stdout");
  expect(r.inputs.addPreviousOutputInEnv).toBe(false);
  expect(r.inputs.triggers).toBeUndefined();
  expect(mocks.resources.filter((x) => x.custom)).toHaveLength(1);
});

test("the connection is pinned to the host key and the private key is secret", async () => {
  await build();
  const r = mocks.one(REMOTE);
  // dialErrorLimit and perDialTimeout are the command SDK's own defaults.
  expect(r.inputs.connection).toEqual({ host: "nixos.lan", port: 22, user: "root", privateKey: PRIVATE_KEY, hostKey: HOST_KEY, dialErrorLimit: 10, perDialTimeout: 15 });
  expect(r.secretPaths.some((p) => p === "connection" || p === "connection.privateKey")).toBe(true);
  // The install command carries only ciphertext and the module: not secret.
  expect(r.secretPaths.filter((p) => !p.startsWith("connection"))).toEqual([]);
  const props = mocks.optionsOf("laptop-deploy").props as { connection: pulumi.Output<unknown> };
  expect(await isSecret(pulumi.output(props.connection))).toBe(true);
});

test("without a private key the connection falls back to the SSH agent", async () => {
  await build(args({ sshPrivateKey: undefined }));
  expect(mocks.one(REMOTE).inputs.connection).toEqual({ host: "nixos.lan", port: 22, user: "root", hostKey: HOST_KEY, dialErrorLimit: 10, perDialTimeout: 15 });
});

test("a non-root SSH user runs the script through sudo -n", async () => {
  await build(args({ sshUser: "deploy", sshPort: 2222 }));
  const r = mocks.one(REMOTE);
  expect(r.inputs.create.startsWith("sudo -n sh -s -- ")).toBe(true);
  expect(r.inputs.delete.startsWith("sudo -n sh -s -- ")).toBe(true);
  expect(r.inputs.connection).toMatchObject({ user: "deploy", port: 2222 });
});

async function registered(a: HostDeploymentArgs): Promise<RecordedResource> {
  mocks.reset();
  await build(a);
  return mocks.one(REMOTE);
}

/** The step the engine plans from a deploy registered with `from` to one registered with `to`. */
async function stepBetween(from: HostDeploymentArgs, to: HostDeploymentArgs) {
  const old = await registered(from);
  const next = await registered(to);
  return { plan: plannedStep(old.inputs, next.inputs, next.request!, COMMAND_REPLACE_KEYS), old, next };
}

describe("which changes replace the deploy command: none", () => {
  test("nothing ever asks for a replacement or a delete before it", async () => {
    const r = await registered(args());
    expect(r.request!.deleteBeforeReplace).not.toBe(true);
    expect(r.request!.ignoreChanges).toEqual(["triggers"]);
    // The command SDK's own replaceOnChanges (triggers[*]) stays; nothing of the program's.
    expect(r.request!.replaceOnChanges).toEqual(["triggers[*]"]);
    expect(mocks.optionsOf("laptop-deploy").opts.parent).toBeDefined();
  });

  test.each([
    ["host", { host: "10.0.0.7" }, { host: "10.0.0.7" }],
    ["sshPort", { sshPort: 2222 }, { port: 2222 }],
    ["sshUser", { sshUser: "deploy" }, { user: "deploy" }],
  ] as [string, Partial<HostDeploymentArgs>, Record<string, unknown>][])("a new %s is an update over the new connection, with the same install", async (key, over, connection) => {
    const { plan, old, next } = await stepBetween(args(), args(over));
    expect(plan.step).toBe("update");
    expect(plan.replaceBy).toEqual([]);
    expect(plan.changed).toContain("connection");
    expect(next.inputs.connection).toMatchObject(connection);
    // A non-root user also puts sudo -n in front of the commands.
    if (key !== "sshUser") {
      // Where the machine is reached changed, not what is installed on it.
      expect(plan.changed).toEqual(["connection"]);
      expect(next.inputs.create).toBe(old.inputs.create);
    }
  });

  test.each([
    ["backupName", { backupName: "monthly" }],
    ["hostConfigDir", { hostConfigDir: "/srv/nixos" }],
  ] as const)("a new %s is an update: the install swaps it on the host (the delete is the new one, for destroy)", async (_key, over) => {
    const { plan, next } = await stepBetween(args(), args(over));
    expect(plan.step).toBe("update");
    expect(plan.replaceBy).toEqual([]);
    expect(plan.changed).toEqual(expect.arrayContaining(["create", "delete"]));
    expect(next.inputs.create).toContain(`'${Object.values(over)[0]}'`);
  });

  test("a stack deployed with the previous release (triggers in state) plans an update, not a replacement", async () => {
    const old = await registered(args());
    const previous = { ...old.inputs, triggers: ["nixos.lan", 22, "/etc/nixos", "daily"] };
    const next = await registered(args({ sshPort: 2222, backupName: "monthly" }));
    expect(plannedStep(previous, next.inputs, next.request!, COMMAND_REPLACE_KEYS).step).toBe("update");
    expect(plannedStep(previous, old.inputs, old.request!, COMMAND_REPLACE_KEYS).step).toBe("same");
    // Positive control: without ignoreChanges, dropping the triggers would replace (install, then the old uninstall).
    const unguarded = plannedStep(previous, next.inputs, { ...next.request!, ignoreChanges: [] }, COMMAND_REPLACE_KEYS);
    expect(unguarded).toMatchObject({ step: "replace", replaceBy: ["triggers"], deleteFirst: false });
  });

  test("the same arguments plan no step", async () => {
    const { plan } = await stepBetween(args(), args());
    expect(plan).toEqual({ step: "same", changed: [], replaceBy: [], deleteFirst: false });
  });
});

test("the .age files reach the host with the final newline the command provider trims from stdout", async () => {
  const trimmed = { "env.age": FILES["env.age"].trimEnd(), "repo.age": FILES["repo.age"].trimEnd(), "password.age": FILES["password.age"].trimEnd() };
  await build(args({ files: trimmed }));
  const r = mocks.one(REMOTE);
  expect(r.inputs.stdin).toBe(hostStdin(expectedFiles(args().module)));
});

test("runFirstBackup reaches the host script", async () => {
  await build(args({ runFirstBackup: true }));
  const common = { hostConfigDir: "/etc/nixos", backupName: "daily", importMode: "auto" as const, project: "nixos-restic-b2", stack: "laptop" };
  expect(mocks.one(REMOTE).inputs.create).toBe(
    hostCommand("install", { ...common, files: expectedFiles(args().module), runFirstBackup: true, verifyOnDeploy: true }, { sudo: false }),
  );
});

test("verifyOnDeploy reaches the host script", async () => {
  await build(args({ verifyOnDeploy: false }));
  expect(mocks.one(REMOTE).inputs.create).toContain("'--verify-on-deploy' '0'");
  mocks.reset();
  await build();
  expect(mocks.one(REMOTE).inputs.create).toContain("'--verify-on-deploy' '1'");
});

test("the same arguments give byte-identical inputs; a changed module changes only the install", async () => {
  await build();
  const first = mocks.one(REMOTE).inputs;
  mocks.reset();
  await build();
  expect(JSON.stringify(mocks.one(REMOTE).inputs)).toBe(JSON.stringify(first));
  mocks.reset();
  await build(args({ module: "{ ... }: { }\n" }));
  const changed = mocks.one(REMOTE).inputs;
  expect(changed.create).not.toBe(first.create);
  expect(changed.stdin).not.toBe(first.stdin);
  expect(changed.delete).toBe(first.delete);
  // Only the module's hash changed on the command line.
  const words = (c: string) => c.split(" ");
  const differing = words(changed.create).filter((w: string, i: number) => w !== words(first.create)[i]);
  expect(differing).toHaveLength(1);
  expect(differing[0]).toMatch(/^'module\.nix=[0-9a-f]{64}'$/);
});

test("outputs: module path and unit names", async () => {
  const h = await build(args({ hostConfigDir: "/srv/nixos", backupName: "b2" }));
  expect(h.modulePath).toBe("/srv/nixos/restic-b2/module.nix");
  expect(h.service).toBe("restic-backups-b2.service");
  expect(h.timer).toBe("restic-backups-b2.timer");
});
