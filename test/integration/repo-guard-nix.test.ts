// The repository guard as the rendered module holds it (lib/nix/repo-guard.ts),
// through the real Nix evaluator with the stubs (test/support/nix-stubs.ts),
// run for real: the backup unit's preStart (lib.mkBefore, so before the restic
// module's `restic cat config || restic init`), the backup, its postStart, and
// the restic-b2-reset-<name> command, against a local restic repository. The
// only change to the rendered commands: the state file moves from /var/lib into
// the test's directory. Where nixpkgs exists, the module-system suite shows the
// pre-start as NixOS writes it (test/integration/drill-nixos.test.ts).

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupLayout } from "../../lib/host/layout";
import { renderModule } from "../../lib/nix";
import { NixSandbox } from "../support/nix-instantiate";
import { defaultBackup, moduleOptions } from "../support/nix-module-fixtures";
import { evaluateWithStubs, stubScript } from "../support/nix-stubs";
import { ResticLab } from "../support/restic-repo";

let nix: NixSandbox;
let lab: ResticLab;
beforeAll(() => {
  nix = new NixSandbox("repo-guard-nix-test-");
  lab = new ResticLab("repo-guard-nix-lab-");
});
afterAll(() => {
  nix?.cleanup();
  lab?.cleanup();
});

const layout = backupLayout("daily");

test("the rendered pre-start refuses a vanished repository before init can run; the rendered reset starts over", () => {
  const m = evaluateWithStubs(nix, nix.writeModule(renderModule(moduleOptions(defaultBackup()))), { bin: "/usr", restic: "/usr" });
  const guardRef = m.systemBuild!["restic-b2-repo-guard-daily"];
  const guard = stubScript(guardRef);
  const guardFile = lab.path("restic-b2-repo-guard");
  writeFileSync(guardFile, `#!/bin/bash\n${guard.text}`, { mode: 0o755 });
  const idFile = lab.path("state", "repository-id");
  const local = (cmd: string) => cmd.split(guardRef).join(guardFile).split(layout.repositoryIdFile).join(idFile);
  const svc = m.systemd!.services[layout.backupUnit] as { preStart: { _type: string; priority: number; content: string }; postStart: string };
  expect(svc.preStart._type).toBe("order");
  expect(svc.preStart.priority).toBeLessThan(1000); // before the restic module's own preStart text (default priority)
  const reset = m.systemPackages!.map(stubScript).find((s) => s.name === layout.resetCommand)!;
  const resetFile = lab.path(layout.resetCommand);
  writeFileSync(resetFile, `#!/bin/bash\n${local(reset.text)}`, { mode: 0o755 });

  const c = lab.credentials("daily", lab.path("repo"), "pw");
  const src = lab.path("src");
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "a"), "a\n");
  const env = { PATH: "/usr/bin:/bin", HOME: lab.path("home"), RESTIC_REPOSITORY_FILE: c.repo, RESTIC_PASSWORD_FILE: c.password, RESTIC_CACHE_DIR: lab.path("cache") };
  // NixOS's pre-start script: `set -e`, the definitions in priority order (ours,
  // then the restic module's init with initialize = true), then ExecStart, then postStart.
  const run = () =>
    spawnSync("bash", ["-c", ["set -e", local(svc.preStart.content), "restic cat config > /dev/null || restic init", `restic backup --quiet ${src}`, "echo BACKUP-DONE", local(svc.postStart)].join("\n")], { encoding: "utf8", env });

  const first = run();
  expect(first.status).toBe(0);
  const id = readFileSync(idFile, "utf8").trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  rmSync(lab.path("repo"), { recursive: true });
  const second = run();
  expect(second.status).toBe(1);
  expect(second.stdout).toContain(`restic-b2-repo-guard-daily: FAIL: expected repository id ${id}, found no repository`);
  expect(second.stdout + second.stderr).not.toContain("BACKUP-DONE");
  expect(existsSync(lab.path("repo"))).toBe(false);
  const r = spawnSync(resetFile, [], { encoding: "utf8", env });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`removed the record of repository id ${id}`);
  const third = run();
  expect(third.status).toBe(0);
  expect(readFileSync(idFile, "utf8").trim()).not.toBe(id);
});
