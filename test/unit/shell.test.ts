import { spawnSync } from "child_process";
import { createHash } from "crypto";
import {
  BUNDLE_HEADER,
  fileSha256,
  hostCommand,
  HostCommandParams,
  hostStdin,
  shellQuote,
} from "../../lib/host/shell";
import { HOST_SCRIPT } from "../../lib/host/scripts";

const SHELLS = ["sh", "bash"];

const TRICKY: string[] = [
  "",
  "plain",
  "two words",
  "it's",
  "'",
  "''",
  "'''",
  "a'b'c",
  '"',
  `'"'"'`,
  "$(touch /tmp/pwned-unit)",
  "`touch /tmp/pwned-unit`",
  "${HOME}",
  "$HOME",
  "$1 $@ $*",
  "; rm -rf /nonexistent-unit ;",
  "a && b || c | d",
  "line one\nline two\n",
  "\n",
  "tab\there",
  "back\\slash \\' \\\\",
  "*.nix ?[a-z]",
  "~root",
  "-n",
  "--",
  "!event",
  "# not a comment",
  "é ü 日本 🙂",
  "\x01\x7f",
  "{a,b}",
  ">out <in 2>&1",
];

// stdout of `<shell> -c <script>`, as bytes decoded as UTF-8.
function runShell(shell: string, script: string): string {
  const r = spawnSync(shell, ["-c", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${shell} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

describe("shellQuote", () => {
  test.each(TRICKY.map((s) => [JSON.stringify(s), s]))("round-trips %s", (_label, s) => {
    for (const shell of SHELLS) {
      expect(runShell(shell, "printf %s " + shellQuote(s))).toBe(s);
      // As a positional parameter to an inner shell, the way the host script gets its arguments.
      expect(runShell(shell, `sh -c 'printf %s "$1"' sh ${shellQuote(s)}`)).toBe(s);
    }
  });

  test("all tricky strings together stay separate words", () => {
    const script = `for a; do printf '%s\\0' "$a"; done`;
    const out = runShell("sh", `sh -c ${shellQuote(script)} sh ${TRICKY.map(shellQuote).join(" ")}`);
    expect(out.split("\0").slice(0, -1)).toEqual(TRICKY);
  });

  test("is exactly single quotes with '\\'' for quotes", () => {
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("abc")).toBe("'abc'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  test("rejects NUL", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("hostCommand and hostStdin", () => {
  const base: HostCommandParams = {
    hostConfigDir: "/etc/nixos",
    backupName: "daily",
    importMode: "auto",
    project: "nixos-restic-b2",
    stack: "laptop",
    files: {
      "secrets/password.age": "-----BEGIN AGE ENCRYPTED FILE-----\npassword\n-----END AGE ENCRYPTED FILE-----\n",
      "module.nix": "{ ... }: { x = ''it's'' + \"$(touch /tmp/pwned-unit)\"; }\n",
      "secrets/env.age": "-----BEGIN AGE ENCRYPTED FILE-----\nenv\n-----END AGE ENCRYPTED FILE-----\n",
    },
    runFirstBackup: true,
  };
  const prefix = "sh -s -- ";
  const sha = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

  // The words after `sh -s --`, as the remote shell splits them.
  function argsOf(line: string): string[] {
    const noSudo = line.startsWith("sudo -n ") ? line.slice("sudo -n ".length) : line;
    expect(noSudo.startsWith(prefix)).toBe(true);
    const rest = noSudo.slice(prefix.length);
    const out = runShell("sh", `sh -c ${shellQuote(`for a; do printf '%s\\0' "$a"; done`)} sh ${rest}`);
    return out.split("\0").slice(0, -1);
  }

  test("HOST_SCRIPT is the script file, ending in main \"$@\"", () => {
    expect(HOST_SCRIPT).toContain("main() {");
    expect(HOST_SCRIPT.endsWith('\nmain "$@"\n')).toBe(true);
  });

  test("install: exact arguments, each file named with its sha256 in sorted order, no payload", () => {
    const line = hostCommand("install", base, { sudo: false });
    expect(argsOf(line)).toEqual([
      "install",
      "--host-config-dir", "/etc/nixos",
      "--backup-name", "daily",
      "--import-mode", "auto",
      "--project", "nixos-restic-b2",
      "--stack", "laptop",
      "--file", `module.nix=${sha(base.files!["module.nix"])}`,
      "--file", `secrets/env.age=${sha(base.files!["secrets/env.age"])}`,
      "--file", `secrets/password.age=${sha(base.files!["secrets/password.age"])}`,
      "--run-first-backup", "1",
      "--verify-on-deploy", "1",
    ]);
    expect(fileSha256(base.files!["module.nix"])).toBe(sha(base.files!["module.nix"]));
    expect(line).not.toContain("AGE ENCRYPTED");
    expect(line).not.toContain("main()");
    expect(Buffer.byteLength(line)).toBeLessThan(600);
  });

  test("verifyOnDeploy: 1 by default, 0 when switched off", () => {
    expect(argsOf(hostCommand("install", { ...base, verifyOnDeploy: false }, { sudo: false })).slice(-2)).toEqual(["--verify-on-deploy", "0"]);
    expect(argsOf(hostCommand("install", { ...base, verifyOnDeploy: true }, { sudo: false })).slice(-2)).toEqual(["--verify-on-deploy", "1"]);
  });

  test("uninstall: no files, no first backup, no verify; system profile passed when set", () => {
    expect(argsOf(hostCommand("uninstall", { ...base, systemProfile: "/x/profile" }, { sudo: false }))).toEqual([
      "uninstall", "--host-config-dir", "/etc/nixos", "--backup-name", "daily", "--import-mode", "auto",
      "--project", "nixos-restic-b2", "--stack", "laptop",
      "--system-profile", "/x/profile",
    ]);
  });

  test("project and stack: Pulumi's names only (they go into the host's owner record)", () => {
    for (const ok of ["a", "nixos-restic-b2", "Prod.eu_1", "x".repeat(100)]) {
      expect(() => hostCommand("install", { ...base, stack: ok }, { sudo: false })).not.toThrow();
    }
    for (const bad of ["", "a b", "a/b", "x\ny", "x".repeat(101), "a'b", "$(id)"]) {
      expect(() => hostCommand("install", { ...base, stack: bad }, { sudo: false })).toThrow(/stack must be/);
      expect(() => hostCommand("uninstall", { ...base, project: bad }, { sudo: false })).toThrow(/project must be/);
    }
  });

  test("deterministic: same input, same bytes, whatever the key order", () => {
    const reordered: HostCommandParams = {
      ...base,
      files: Object.fromEntries(Object.entries(base.files!).reverse()),
    };
    const a = hostCommand("install", base, { sudo: false });
    expect(hostCommand("install", base, { sudo: false })).toBe(a);
    expect(hostCommand("install", reordered, { sudo: false })).toBe(a);
    expect(hostStdin(reordered.files)).toBe(hostStdin(base.files));
  });

  test("sudo prefix only when asked", () => {
    const plain = hostCommand("install", base, { sudo: false });
    const sudo = hostCommand("install", base, { sudo: true });
    expect(plain.startsWith("sh -s -- 'install'")).toBe(true);
    expect(sudo).toBe("sudo -n " + plain);
  });

  test("a config dir with quotes and $(...) is one exact argument", () => {
    const dir = `/srv/it's "x" $(touch /tmp/pwned-unit) \`id\`;\nnext`;
    expect(argsOf(hostCommand("uninstall", { ...base, hostConfigDir: dir }, { sudo: true }))[2]).toBe(dir);
  });

  test("runFirstBackup defaults to 0", () => {
    const args = argsOf(hostCommand("install", { ...base, runFirstBackup: undefined }, { sudo: false }));
    expect(args.slice(-4)).toEqual(["--run-first-backup", "0", "--verify-on-deploy", "1"]);
  });

  test("the bundle: header, the script without its last line, one quoted record per file, then main", () => {
    const b = hostStdin(base.files);
    const body = HOST_SCRIPT.slice(0, -'main "$@"\n'.length);
    expect(b.startsWith(BUNDLE_HEADER + body)).toBe(true);
    expect(b.slice((BUNDLE_HEADER + body).length)).toBe(
      ["module.nix", "secrets/env.age", "secrets/password.age"]
        .map((rel) => `rb2_file ${shellQuote(rel)} ${shellQuote(base.files![rel])}\n`)
        .join("") + 'main "$@"\n',
    );
    expect(hostStdin()).toBe(BUNDLE_HEADER + body + 'main "$@"\n');
    // Each line of a file is a line of the bundle (so a diff shows the changed ones).
    expect(b).toContain("\nrb2_file 'secrets/env.age' '-----BEGIN AGE ENCRYPTED FILE-----\nenv\n-----END AGE ENCRYPTED FILE-----\n'\n");
  });

  test("the bundle, run by sh -s, hands the exact file texts to the script and runs nothing else", () => {
    for (const shell of SHELLS) {
      // Replace main with a dump of what the records stored.
      const dump = `main() { i=1; while [ $i -le $rb2_n ]; do eval "printf '%s\\\\0%s\\\\0' \\"\\$rb2_rel_$i\\" \\"\\$rb2_txt_$i\\""; i=$((i + 1)); done; }\n`;
      const b = hostStdin(base.files).replace(/\nmain "\$@"\n$/, `\n${dump}main "$@"\n`);
      const r = spawnSync(shell, ["-s", "--", "install"], { input: b, encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const parts = r.stdout.split("\0").slice(0, -1);
      expect(parts).toEqual(["module.nix", "secrets/env.age", "secrets/password.age"].flatMap((rel) => [rel, base.files![rel]]));
    }
  });

  test("a bundle cut short runs nothing", () => {
    const b = hostStdin(base.files);
    for (const cut of [b.length - 2, b.length - 12, Math.floor(b.length / 2), b.length - 200]) {
      const r = spawnSync("sh", ["-s", "--", "install", "--host-config-dir", "/nonexistent-unit"], { input: b.slice(0, cut), encoding: "utf8" });
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toContain("restic-b2-host:");
    }
  });

  test("pulumi's diff cannot read the bundle as JSON or YAML (so it shows a line diff)", () => {
    const yaml = require("js-yaml") as { load(s: string): unknown };
    const b = hostStdin(base.files);
    expect(() => JSON.parse(b)).toThrow();
    expect(() => yaml.load(b.trim())).toThrow();
  });

  test("large files fit: nothing grows the command line", () => {
    const huge = { ...base, files: { "module.nix": "x".repeat(200 * 1024) } };
    expect(Buffer.byteLength(hostCommand("install", huge, { sudo: true }))).toBeLessThan(400);
    expect(hostStdin(huge.files).length).toBeGreaterThan(200 * 1024);
  });

  test("rejects bad input before building anything", () => {
    expect(() => hostCommand("install", { ...base, hostConfigDir: "etc/nixos" }, { sudo: false })).toThrow(/absolute/);
    expect(() => hostCommand("install", { ...base, backupName: "a b" }, { sudo: false })).toThrow(/backupName/);
    expect(() => hostCommand("install", { ...base, files: { "x.nix": "" } }, { sudo: false })).toThrow(/module\.nix/);
    for (const bad of ["../x", "/abs", "a/../b", "a//b", "a/", "./a", "sp ace", "a\nb"]) {
      expect(() => hostCommand("install", { ...base, files: { "module.nix": "", [bad]: "" } }, { sudo: false })).toThrow(
        /invalid file path/,
      );
      expect(() => hostStdin({ "module.nix": "", [bad]: "" })).toThrow(/invalid file path/);
    }
    expect(() => hostCommand("install", { ...base, hostConfigDir: "/a\0b" }, { sudo: false })).toThrow(/NUL/);
    expect(() => hostStdin({ "module.nix": "a\0b" })).toThrow(/NUL/);
  });
});
