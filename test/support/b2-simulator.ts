// b2sdk's B2 simulator behind our loopback front end (b2-simulator.py), for
// the suites where B2's behaviour matters. A simulation of B2, not B2.
//
// Python with b2sdk: $NIXOS_RESTIC_B2_PYTHON, else the venv scripts/test-all.sh
// makes ($NIXOS_RESTIC_B2_PYTHON_CACHE or ~/.cache/nixos-restic-b2-python,
// from scripts/python-packages.txt), else python3 if it has b2sdk.

import { ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { B2Client } from "../../lib/recover/b2";
import { Missing } from "./requires";

const FRONT_END = path.join(__dirname, "b2-simulator.py");

function candidates(): string[] {
  const cache = process.env.NIXOS_RESTIC_B2_PYTHON_CACHE ?? path.join(os.homedir(), ".cache", "nixos-restic-b2-python");
  return [process.env.NIXOS_RESTIC_B2_PYTHON, path.join(cache, "venv", "bin", "python"), "python3"].filter((p): p is string => p !== undefined && p !== "");
}

let found: string | null | undefined;

/** The Python that can import b2sdk.v3's RawSimulator, or null. */
export function simulatorPython(): string | null {
  if (found !== undefined) return found;
  found = null;
  for (const py of candidates()) {
    if (py.includes("/") && !fs.existsSync(py)) continue;
    const r = spawnSync(py, ["-c", "from b2sdk.v3 import RawSimulator"], { encoding: "utf8", timeout: 30000 });
    if (r.status === 0) return (found = py);
  }
  return found;
}

/** Why the simulator suites cannot run here (undefined: they can). */
export function simulatorAvailability(): Missing | undefined {
  if (simulatorPython() !== null) return undefined;
  return {
    missing: "no Python with b2sdk (b2sdk.v3.RawSimulator, b2sdk's in-memory B2)",
    install: "scripts/test-all.sh installs scripts/python-packages.txt into ~/.cache/nixos-restic-b2-python/venv (or set NIXOS_RESTIC_B2_PYTHON)",
  };
}

export class B2Simulator {
  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    /** Where b2_authorize_account lives: http://127.0.0.1:<port>. */
    readonly realm: string,
    readonly accountId: string,
    /** The simulator's master key (made up by it; a test value). */
    readonly masterKeyId: string,
    readonly masterKey: string,
  ) {}

  static start(): Promise<B2Simulator> {
    const py = simulatorPython();
    if (py === null) return Promise.reject(new Error("no Python with b2sdk"));
    const proc = spawn(py, [FRONT_END], { stdio: ["pipe", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
      let out = "";
      let err = "";
      proc.stderr.on("data", (d) => (err += d));
      proc.stdout.on("data", (d) => {
        out += d;
        const nl = out.indexOf("\n");
        if (nl < 0) return;
        const s = JSON.parse(out.slice(0, nl)) as { realm: string; accountId: string; masterKeyId: string; masterKey: string };
        resolve(new B2Simulator(proc, s.realm, s.accountId, s.masterKeyId, s.masterKey));
      });
      proc.on("exit", (code) => reject(new Error(`the B2 simulator exited ${code}: ${err}`)));
    });
  }

  /** The simulator's clock is real time plus this offset (ms) for every version made from now on. */
  setClock(offsetMs: number): Promise<void> {
    return this.control("clock", { offsetMs });
  }

  /** After `after` calls (named `call`, or any) go through, the next `count` answer this error. */
  failNext(count: number, status = 503, code = "service_unavailable", call?: string, after = 0): Promise<void> {
    return this.control("fail", { count, status, code, after, ...(call === undefined ? {} : { call }) });
  }

  /** Every auth token issued so far expires. */
  expireTokens(): Promise<void> {
    return this.control("expire", {});
  }

  private async control(what: string, body: object): Promise<void> {
    const r = await fetch(`${this.realm}/sim/${what}`, { method: "POST", body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`simulator control ${what}: ${r.status}`);
  }

  master(): Promise<B2Client> {
    return B2Client.authorize(this.masterKeyId, this.masterKey, { realm: this.realm, backoffMs: 1 });
  }

  stop(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}

// The calls a test needs besides recovery's own, on the same client.

export async function createBucket(c: B2Client, bucketName: string, daysFromHidingToDeleting: number): Promise<string> {
  const r = await c.call<{ bucketId: string }>("b2_create_bucket", {
    accountId: c.accountId, bucketName, bucketType: "allPrivate", lifecycleRules: [{ fileNamePrefix: "", daysFromHidingToDeleting, daysFromUploadingToHiding: null }],
  });
  return r.bucketId;
}

export async function createKey(c: B2Client, keyName: string, capabilities: string[], restriction: { bucketId?: string; namePrefix?: string } = {}): Promise<{ applicationKeyId: string; applicationKey: string }> {
  return c.call("b2_create_key", { accountId: c.accountId, keyName, capabilities, ...restriction });
}

// One upload URL per client and bucket, reused as B2 allows (one upload at a
// time): the simulator hands out only 200 upload URLs per bucket.
const uploadUrls = new WeakMap<B2Client, Map<string, Promise<{ uploadUrl: string; authorizationToken: string }>>>();

/** b2_get_upload_url (once per client and bucket), then the upload; the new version's id. Sequential uploads only. */
export async function upload(c: B2Client, bucketId: string, fileName: string, data: string | Buffer): Promise<string> {
  let urls = uploadUrls.get(c);
  if (urls === undefined) uploadUrls.set(c, (urls = new Map()));
  if (!urls.has(bucketId)) urls.set(bucketId, c.call("b2_get_upload_url", { bucketId }));
  const u = await urls.get(bucketId)!;
  const body = Buffer.from(data);
  const r = await fetch(u.uploadUrl, {
    method: "POST",
    headers: {
      Authorization: u.authorizationToken,
      "X-Bz-File-Name": encodeURIComponent(fileName).replace(/%2F/g, "/"),
      "Content-Type": "application/octet-stream",
      "X-Bz-Content-Sha1": createHash("sha1").update(body).digest("hex"),
    },
    body,
  });
  const j = (await r.json()) as { fileId?: string; code?: string };
  if (!r.ok || j.fileId === undefined) throw new Error(`upload ${fileName}: ${r.status} ${j.code}`);
  return j.fileId;
}

export async function hide(c: B2Client, bucketId: string, fileName: string): Promise<void> {
  await c.call("b2_hide_file", { bucketId, fileName });
}

export async function startLargeFile(c: B2Client, bucketId: string, fileName: string): Promise<void> {
  await c.call("b2_start_large_file", { bucketId, fileName, contentType: "application/octet-stream", fileInfo: {} });
}

/** The visible files under `prefix` (b2_list_file_names: the simulator's own idea of visibility), name → fileId. */
export async function visibleFiles(c: B2Client, bucketId: string, prefix: string): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  let startFileName: string | null = prefix === "" ? null : prefix;
  do {
    const r = await c.call<{ files: { fileName: string; fileId: string }[]; nextFileName: string | null }>("b2_list_file_names", {
      bucketId, maxFileCount: 1000, prefix, ...(startFileName === null ? {} : { startFileName }),
    });
    for (const f of r.files) seen[f.fileName] = f.fileId;
    startFileName = r.nextFileName;
  } while (startFileName !== null);
  return seen;
}
