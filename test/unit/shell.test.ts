import { spawnSync } from "child_process";
import {
  hostCommand,
  HostCommandParams,
  HOST_SCRIPT,
  HOST_SCRIPT_NAME,
  MAX_COMMAND_BYTES,
  shellQuote,
} from "../../lib/host/shell";

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

describe("hostCommand", () => {
  const base: HostCommandParams = {
    configDir: "/etc/nixos",
    backupName: "daily",
    importMode: "auto",
    files: {
      "secrets/password.age": "-----BEGIN AGE ENCRYPTED FILE-----\npassword\n-----END AGE ENCRYPTED FILE-----\n",
      "module.nix": "{ ... }: { }\n",
      "secrets/env.age": "-----BEGIN AGE ENCRYPTED FILE-----\nenv\n-----END AGE ENCRYPTED FILE-----\n",
    },
    firstBackup: true,
  };
  const scriptPrefix = `sh -c ${shellQuote(HOST_SCRIPT)} ${HOST_SCRIPT_NAME} `;

  // The words after `sh -c <script> restic-b2-host`, as the remote shell splits them.
  function argsOf(line: string): string[] {
    const noSudo = line.startsWith("sudo -n ") ? line.slice("sudo -n ".length) : line;
    expect(noSudo.startsWith(scriptPrefix)).toBe(true);
    const rest = noSudo.slice(scriptPrefix.length);
    const out = runShell("sh", `sh -c ${shellQuote(`for a; do printf '%s\\0' "$a"; done`)} sh ${rest}`);
    return out.split("\0").slice(0, -1);
  }

  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

  test("HOST_SCRIPT is the script file, ending in main \"$@\"", () => {
    expect(HOST_SCRIPT).toContain("main() {");
    expect(HOST_SCRIPT.trimEnd().endsWith('main "$@"')).toBe(true);
  });

  test("install: exact arguments, files base64 in sorted order", () => {
    expect(argsOf(hostCommand("install", base, { sudo: false }))).toEqual([
      "install",
      "--config-dir", "/etc/nixos",
      "--name", "daily",
      "--import-mode", "auto",
      "--file", `module.nix=${b64(base.files!["module.nix"])}`,
      "--file", `secrets/env.age=${b64(base.files!["secrets/env.age"])}`,
      "--file", `secrets/password.age=${b64(base.files!["secrets/password.age"])}`,
      "--first-backup", "1",
    ]);
  });

  test("uninstall: no files, no first backup; system profile passed when set", () => {
    expect(argsOf(hostCommand("uninstall", { ...base, systemProfile: "/x/profile" }, { sudo: false }))).toEqual([
      "uninstall", "--config-dir", "/etc/nixos", "--name", "daily", "--import-mode", "auto",
      "--system-profile", "/x/profile",
    ]);
  });

  test("deterministic: same input, same bytes, whatever the key order", () => {
    const reordered: HostCommandParams = {
      ...base,
      files: Object.fromEntries(Object.entries(base.files!).reverse()),
    };
    const a = hostCommand("install", base, { sudo: false });
    expect(hostCommand("install", base, { sudo: false })).toBe(a);
    expect(hostCommand("install", reordered, { sudo: false })).toBe(a);
  });

  test("sudo prefix only when asked", () => {
    const plain = hostCommand("install", base, { sudo: false });
    const sudo = hostCommand("install", base, { sudo: true });
    expect(plain.startsWith("sh -c '")).toBe(true);
    expect(sudo).toBe("sudo -n " + plain);
  });

  test("a config dir with quotes and $(...) is one exact argument", () => {
    const dir = `/srv/it's "x" $(touch /tmp/pwned-unit) \`id\`;\nnext`;
    expect(argsOf(hostCommand("uninstall", { ...base, configDir: dir }, { sudo: true }))[2]).toBe(dir);
  });

  test("firstBackup defaults to 0", () => {
    const args = argsOf(hostCommand("install", { ...base, firstBackup: undefined }, { sudo: false }));
    expect(args.slice(-2)).toEqual(["--first-backup", "0"]);
  });

  test("realistic sizes fit; oversized files fail with a clear error", () => {
    const realistic = {
      ...base,
      files: {
        "module.nix": "# a generated module\n".repeat(400),
        "secrets/env.age": "x".repeat(1500),
        "secrets/repo.age": "x".repeat(800),
        "secrets/password.age": "x".repeat(800),
      },
    };
    expect(Buffer.byteLength(hostCommand("install", realistic, { sudo: true }))).toBeLessThan(MAX_COMMAND_BYTES);
    const huge = { ...base, files: { "module.nix": "x".repeat(90 * 1024) } };
    expect(() => hostCommand("install", huge, { sudo: false })).toThrow(
      /would be \d+ bytes, over the 102400-byte limit .*128 KiB.*module\.nix \(92160 bytes\)/,
    );
  });

  test("rejects bad input before building anything", () => {
    expect(() => hostCommand("install", { ...base, configDir: "etc/nixos" }, { sudo: false })).toThrow(/absolute/);
    expect(() => hostCommand("install", { ...base, backupName: "a b" }, { sudo: false })).toThrow(/backupName/);
    expect(() => hostCommand("install", { ...base, files: { "x.nix": "" } }, { sudo: false })).toThrow(/module\.nix/);
    for (const bad of ["../x", "/abs", "a/../b", "a//b", "a/", "./a", "sp ace", "a\nb"]) {
      expect(() => hostCommand("install", { ...base, files: { "module.nix": "", [bad]: "" } }, { sudo: false })).toThrow(
        /invalid file path/,
      );
    }
    expect(() => hostCommand("install", { ...base, configDir: "/a\0b" }, { sudo: false })).toThrow(/NUL/);
  });
});
