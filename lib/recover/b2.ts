// A small client of B2's native API (version 3) on Node's own `fetch`: only
// the calls recovery needs. Why not a library: the npm packages for B2 are
// community-maintained, not Backblaze's; the most used one pulls in axios,
// axios-retry and lodash for what is a handful of JSON POSTs, and an axios
// error carries the request's headers, so printing one would print the
// authorization token. Here nothing secret leaves this file except in the
// Authorization header: errors say the call, the HTTP status and B2's code
// and message (which never echo a credential), and the key is kept only to
// authorize again when B2 says the token expired.

import { FileVersion } from "./plan";
import { LifecycleRule } from "./window";

export const DEFAULT_REALM = "https://api.backblazeb2.com";
const API = "b2api/v3";

/** A refused or failed call: the call's name, the HTTP status, B2's error code and message. No secret. */
export class B2Error extends Error {
  constructor(
    readonly call: string,
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`${call}: ${status === 0 ? "" : `${status} `}${code}${detail === "" ? "" : `: ${detail}`}`);
    this.name = "B2Error";
  }
}

export interface Bucket {
  bucketId: string;
  bucketName: string;
  /** Absent when B2 did not send them. */
  lifecycleRules?: LifecycleRule[];
}

/** What b2_authorize_account says the key may do. */
export interface Allowed {
  capabilities: string[];
  /** Undefined: every bucket of the account. */
  buckets?: { id: string; name: string | null }[];
  namePrefix?: string | null;
}

export interface ClientOptions {
  /** Where b2_authorize_account lives (tests: a simulator on loopback). */
  realm?: string;
  /** Attempts per call for the errors B2 says to retry (429, 500, 503, network). */
  attempts?: number;
  /** Milliseconds before the first retry; doubled each time. */
  backoffMs?: number;
}

interface ListPage {
  files: FileVersion[];
  nextFileName?: string | null;
  nextFileId?: string | null;
}

interface Session {
  accountId: string;
  apiUrl: string;
  token: string;
  allowed: Allowed;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The realm must be https, or http on a loopback address (a local simulator). */
export function checkRealm(realm: string): string {
  let u: URL;
  try {
    u = new URL(realm);
  } catch {
    throw new Error(`the B2 realm ${JSON.stringify(realm)} is not a URL`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
    throw new Error(`the B2 realm must be an https URL (or http on loopback for a simulator), got ${JSON.stringify(realm)}`);
  }
  return realm.replace(/\/+$/, "");
}

export class B2Client {
  readonly #keyId: string;
  readonly #key: string;
  readonly #realm: string;
  readonly #attempts: number;
  readonly #backoffMs: number;
  #session?: Session;

  private constructor(keyId: string, key: string, opts: ClientOptions) {
    this.#keyId = keyId;
    this.#key = key;
    this.#realm = checkRealm(opts.realm ?? DEFAULT_REALM);
    this.#attempts = opts.attempts ?? 5;
    this.#backoffMs = opts.backoffMs ?? 1000;
  }

  /** b2_authorize_account with an application key id and key. */
  static async authorize(keyId: string, key: string, opts: ClientOptions = {}): Promise<B2Client> {
    const c = new B2Client(keyId, key, opts);
    await c.#authorize();
    return c;
  }

  get accountId(): string {
    return this.#session!.accountId;
  }

  get allowed(): Allowed {
    return this.#session!.allowed;
  }

  async #authorize(): Promise<void> {
    const basic = Buffer.from(`${this.#keyId}:${this.#key}`).toString("base64");
    const r = await this.#send("b2_authorize_account", `${this.#realm}/${API}/b2_authorize_account`, { method: "GET", headers: { Authorization: `Basic ${basic}` } });
    const storage = (r.apiInfo as { storageApi?: { apiUrl?: string; allowed?: Allowed } } | undefined)?.storageApi;
    if (typeof r.accountId !== "string" || typeof r.authorizationToken !== "string" || typeof storage?.apiUrl !== "string" || storage.allowed === undefined) {
      throw new B2Error("b2_authorize_account", 200, "unexpected_answer", "no accountId, authorizationToken or apiInfo.storageApi in the answer");
    }
    this.#session = { accountId: r.accountId, token: r.authorizationToken, apiUrl: storage.apiUrl, allowed: storage.allowed };
  }

  /** One API call (POST with a JSON body) on the authorized session; authorizes again once when the token expired. */
  async call<T = Record<string, unknown>>(name: string, body: Record<string, unknown>): Promise<T> {
    for (let renewed = false; ; renewed = true) {
      const s = this.#session!;
      try {
        return (await this.#send(name, `${s.apiUrl}/${API}/${name}`, {
          method: "POST",
          headers: { Authorization: s.token, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        })) as T;
      } catch (e) {
        if (renewed || !(e instanceof B2Error) || e.status !== 401 || e.code !== "expired_auth_token") throw e;
        await this.#authorize();
      }
    }
  }

  /** fetch with B2's retry rules; the answer's JSON, or a B2Error. */
  async #send(name: string, url: string, init: RequestInit): Promise<Record<string, unknown>> {
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      let code = "network_error";
      let detail = "";
      let retryAfter: number | undefined;
      try {
        const res = await fetch(url, init);
        status = res.status;
        const text = await res.text();
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // Not JSON (a proxy's page): reported by status alone.
        }
        if (res.ok) return json;
        code = typeof json.code === "string" ? json.code : "http_error";
        detail = typeof json.message === "string" ? json.message : "";
        const ra = Number(res.headers.get("Retry-After"));
        if (Number.isFinite(ra) && ra > 0) retryAfter = Math.min(ra, 60) * 1000;
      } catch (e) {
        // fetch's own failure: the message names the cause, never the headers.
        detail = (e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message;
      }
      const retryable = status === 0 || status === 429 || status === 500 || status === 503;
      if (!retryable || attempt >= this.#attempts) throw new B2Error(name, status, code, detail);
      await sleep(retryAfter ?? this.#backoffMs * 2 ** (attempt - 1));
    }
  }

  /** The bucket named `bucketName`, or undefined when the key sees no such bucket. */
  async bucket(bucketName: string): Promise<Bucket | undefined> {
    const r = await this.call<{ buckets?: Bucket[] }>("b2_list_buckets", { accountId: this.accountId, bucketName });
    return r.buckets?.find((b) => b.bucketName === bucketName);
  }

  /**
   * Every version under `prefix` (uploads, hide markers, unfinished large
   * files), in B2's order: by name, newest first. Pages of `pageSize`.
   * The listing starts at the prefix itself: B2 would skip names before it
   * anyway, and b2sdk's simulator stops at the first name outside the prefix.
   */
  async listFileVersions(bucketId: string, prefix: string, pageSize = 1000): Promise<FileVersion[]> {
    const out: FileVersion[] = [];
    let startFileName: string | null = prefix === "" ? null : prefix;
    let startFileId: string | null = null;
    do {
      const r: ListPage = await this.call<ListPage>("b2_list_file_versions", {
        bucketId,
        maxFileCount: pageSize,
        ...(prefix === "" ? {} : { prefix }),
        ...(startFileName === null ? {} : { startFileName }),
        ...(startFileId === null ? {} : { startFileId }),
      });
      for (const f of r.files) {
        out.push({ fileName: f.fileName, fileId: f.fileId, action: f.action, uploadTimestamp: f.uploadTimestamp, contentLength: f.contentLength ?? 0 });
      }
      startFileName = r.nextFileName ?? null;
      startFileId = r.nextFileId ?? null;
    } while (startFileName !== null);
    return out;
  }

  async deleteFileVersion(fileName: string, fileId: string): Promise<void> {
    await this.call("b2_delete_file_version", { fileName, fileId });
  }

  async cancelLargeFile(fileId: string): Promise<void> {
    await this.call("b2_cancel_large_file", { fileId });
  }
}
