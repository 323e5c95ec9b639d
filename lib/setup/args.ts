// `npm run setup -- <machine> [flags]`: the answers given as flags.

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
  healthcheckUrl?: boolean;
  ntfyUrl?: boolean;
  yes: boolean;
  projectDir: string;
}

export const USAGE = "usage: npm run setup -- <machine> [--host H] [--port P] [--user U] [--host-key-fingerprint SHA256:...] [--admin-key FILE]... [--path DIR]... [--ssh-private-key FILE] [--healthcheck-url] [--ntfy-url] [--yes] [--project DIR]";

export const HELP = `${USAGE}

Creates (or updates) the stack <machine> and sets what \`pulumi up\` needs; asks only for what no flag gives.
  --host H                    the machine's address (setup scans its ed25519 host key)
  --port P, --user U          SSH port (22) and user (root)
  --host-key-fingerprint FP   accept the scanned key only when its SHA256 fingerprint is FP (else: asks)
  --admin-key FILE            an admin's SSH public key (repeatable; default: asks, offering ~/.ssh/*.pub)
  --path DIR                  a directory to back up (repeatable; default: asks, suggesting /home and /etc/nixos)
  --ssh-private-key FILE      the deploy key (a secret; default: the SSH agent)
  --healthcheck-url, --ntfy-url  read that URL (a secret) from stdin without echo
  --yes                       never ask: missing answers are an error
  --project DIR               the project directory (default: the current one)
B2 credentials: B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY from the environment, else asked without echo.
Nothing is written unless every answer passes the program's own configuration checks.`;

export function parseArgs(argv: readonly string[], cwd: string): SetupArgs {
  const a: SetupArgs = { help: false, machine: "", adminKeyFiles: [], paths: [], yes: false, projectDir: cwd };
  if (argv.includes("--help") || argv.includes("-h")) return { ...a, help: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--host") a.host = value();
    else if (flag === "--port") a.port = value();
    else if (flag === "--user") a.user = value();
    else if (flag === "--host-key-fingerprint") a.hostKeyFingerprint = value();
    else if (flag === "--admin-key") a.adminKeyFiles.push(value());
    else if (flag === "--path") a.paths.push(value());
    else if (flag === "--ssh-private-key") a.sshPrivateKeyFile = value();
    else if (flag === "--healthcheck-url") a.healthcheckUrl = true;
    else if (flag === "--ntfy-url") a.ntfyUrl = true;
    else if (flag === "--yes") a.yes = true;
    else if (flag === "--project") a.projectDir = require("node:path").resolve(cwd, value());
    else if (!flag.startsWith("-") && a.machine === "") a.machine = flag;
    else throw new Error(`unknown argument ${JSON.stringify(flag)}`);
  }
  if (a.machine === "") throw new Error("the machine (stack name) is missing");
  return a;
}
