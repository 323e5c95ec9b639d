// A small HTTP server on 127.0.0.1 that records every request (method, path
// with query, headers, body) for the monitoring tests, and can answer with a
// chosen status or never answer at all (a hanging ping service).

import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path and query, exactly as sent (e.g. "/ping/abc/start?rid=..."). */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Behaviour = "ok" | "hang" | { status: number };

export class HttpRecorder {
  readonly requests: RecordedRequest[] = [];
  behaviour: Behaviour = "ok";
  private readonly server: http.Server;
  private readonly open = new Set<import("node:net").Socket>();
  port = 0;

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
        const b = this.behaviour;
        if (b === "hang") return; // never answer: the client's timeout must end it
        const status = b === "ok" ? 200 : b.status;
        res.writeHead(status, { "content-type": "text/plain" });
        res.end(status === 200 ? "OK" : "error");
      });
    });
    this.server.on("connection", (s) => {
      this.open.add(s);
      s.on("close", () => this.open.delete(s));
    });
  }

  static async start(): Promise<HttpRecorder> {
    const r = new HttpRecorder();
    await new Promise<void>((resolve, reject) => {
      r.server.once("error", reject);
      r.server.listen(0, "127.0.0.1", () => resolve());
    });
    r.port = (r.server.address() as AddressInfo).port;
    return r;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  reset(behaviour: Behaviour = "ok"): void {
    this.requests.length = 0;
    this.behaviour = behaviour;
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
