// The local half of the secrets component, run by @pulumi/command local
// commands during `pulumi up` (never during preview):
//
//   node -r ts-node/register/transpile-only lib/age/local-files.ts encrypt <file>
//       stdin: JSON {"recipients": [...], "plaintext": "..."}
//       writes the ASCII-armored age file to <file> and prints it on stdout
//   node -r ts-node/register/transpile-only lib/age/local-files.ts write <file>
//       stdin: the file's text; writes it to <file>
//   node -r ts-node/register/transpile-only lib/age/local-files.ts remove <file>
//       removes <file> if it exists (a file the program no longer writes)
//
// The plaintext travels only through stdin and memory: it is never put in an
// argument, an environment variable, a log line or a file. Writes are atomic
// (a temporary name in the same directory, then rename).

import * as fs from "node:fs";
import * as path from "node:path";
import { encryptArmored } from "./ssh";

export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode, flag: "wx" });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export interface EncryptRequest {
  recipients: string[];
  plaintext: string;
}

export function parseEncryptRequest(text: string): EncryptRequest {
  let req: unknown;
  try {
    req = JSON.parse(text);
  } catch {
    throw new Error("stdin is not a JSON encryption request");
  }
  const r = req as Partial<EncryptRequest>;
  if (!Array.isArray(r.recipients) || r.recipients.length === 0 || r.recipients.some((x) => typeof x !== "string")) {
    throw new Error("the encryption request needs a non-empty list of recipients");
  }
  if (typeof r.plaintext !== "string") throw new Error("the encryption request has no plaintext");
  return { recipients: r.recipients, plaintext: r.plaintext };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function main(argv: string[]): Promise<void> {
  const [verb, file] = argv;
  if ((verb !== "encrypt" && verb !== "write" && verb !== "remove") || !file || argv.length !== 2) {
    throw new Error("usage: local-files.ts encrypt|write|remove <file>");
  }
  if (verb === "remove") {
    fs.rmSync(file, { force: true });
    return;
  }
  const input = await readStdin();
  if (verb === "write") {
    writeFileAtomic(file, input);
    return;
  }
  const req = parseEncryptRequest(input);
  const armored = await encryptArmored(req.plaintext, req.recipients);
  writeFileAtomic(file, armored);
  process.stdout.write(armored);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`nixos-restic-b2: ${e.message}\n`);
    process.exit(1);
  });
}
