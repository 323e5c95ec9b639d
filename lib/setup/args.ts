// `npm run setup -- <machine> [flags]`: the answers given as flags.

import * as path from "node:path";

export interface SetupArgs {
  help: boolean;
  machine: string;
  host?: string;
  port?: string;
  user?: string;
  hostKeyFingerprint?: string;
  adminKeyFiles: string[];
  paths: string[];
  sshPrivateKeyFile?: string;
  healthcheckUrl: boolean;
  ntfyUrl: boolean;
  yes: boolean;
  projectDir: string;
}

export const USAGE =
  "usage: npm run setup -- <machine> [--host H] [--port P] [--user U] [--host-key-fingerprint SHA256:...] " +
  "[--admin-key FILE]... [--path DIR]... [--ssh-private-key FILE] [--healthcheck-url] [--ntfy-url] [--yes] [--project DIR]";

export const HELP = `${USAGE}

Creates (or updates) the stack <machine> and sets what \`pulumi up\` needs; asks only what no flag and no
earlier answer gives. Rerun it any time: it writes only what changes.
  --host H                    the machine's address; setup scans its ed25519 host key (ssh-keyscan)
  --port P, --user U          SSH port (default 22) and user (default root)
  --host-key-fingerprint FP   take the scanned key only if its SHA256 fingerprint is FP (else: asks)
  --admin-key FILE            an admin's SSH public key, repeatable (default: asks, offering ~/.ssh/*.pub)
  --path DIR                  a directory to back up, repeatable (default: asks, suggesting /home, /etc/nixos)
  --ssh-private-key FILE      the key to log in with, stored as a secret (default: the SSH agent)
  --healthcheck-url, --ntfy-url  read that URL (a secret) without echo
  --yes                       never ask: a missing answer is an error
  --project DIR               the project directory (default: the current one)
  --help, -h                  this text
B2 credentials: B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY from the environment, else asked without echo.
The stack's passphrase: PULUMI_CONFIG_PASSPHRASE(_FILE), else asked without echo.
Nothing is written unless every answer passes the program's own configuration checks; new stacks get
hostCanDelete: false. Exit status: 0 done, 1 answers refused (nothing written), 2 setup itself failed.`;

/** The characters the Pulumi CLI allows in a stack's name. */
const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

const VALUE_FLAGS: Record<string, (a: SetupArgs, v: string, cwd: string) => void> = {
  "--host": (a, v) => (a.host = v),
  "--port": (a, v) => (a.port = v),
  "--user": (a, v) => (a.user = v),
  "--host-key-fingerprint": (a, v) => (a.hostKeyFingerprint = v),
  "--admin-key": (a, v, cwd) => a.adminKeyFiles.push(path.resolve(cwd, v)),
  "--path": (a, v) => a.paths.push(v),
  "--ssh-private-key": (a, v, cwd) => (a.sshPrivateKeyFile = path.resolve(cwd, v)),
  "--project": (a, v, cwd) => (a.projectDir = path.resolve(cwd, v)),
};
const SWITCHES: Record<string, (a: SetupArgs) => void> = {
  "--healthcheck-url": (a) => (a.healthcheckUrl = true),
  "--ntfy-url": (a) => (a.ntfyUrl = true),
  "--yes": (a) => (a.yes = true),
};

/** The arguments; `--help` wins over everything else. Throws an Error naming a bad argument. */
export function parseArgs(argv: readonly string[], cwd: string): SetupArgs {
  const a: SetupArgs = { help: false, machine: "", adminKeyFiles: [], paths: [], healthcheckUrl: false, ntfyUrl: false, yes: false, projectDir: cwd };
  if (argv.includes("--help") || argv.includes("-h")) return { ...a, help: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const withValue = VALUE_FLAGS[flag];
    if (withValue !== undefined) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      withValue(a, v, cwd);
    } else if (SWITCHES[flag] !== undefined) SWITCHES[flag](a);
    else if (!flag.startsWith("-") && a.machine === "") a.machine = flag;
    else throw new Error(`unknown argument ${JSON.stringify(flag)}`);
  }
  if (a.machine === "") throw new Error("the machine (the stack's name) is missing");
  if (!STACK_NAME.test(a.machine)) throw new Error(`the machine ${JSON.stringify(a.machine)} must be a stack name: letters, digits, '-', '_' and '.'`);
  return a;
}
