// A stand-in for the Pulumi engine's two RPC services (the resource monitor and
// the engine's log), for running the program through @pulumi/pulumi's own
// entry point (cmd/run, what the Node.js language host starts) where no
// language host is installed. It records every message the program logs, so a
// test sees what `pulumi up` would print; resources are acknowledged with an
// URN and no outputs (the program under test should stop before any).

import * as path from "node:path";

const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
// The gRPC library the SDK itself uses, so the wire format is the SDK's.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [PULUMI_DIR] }));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const resourceRpc = require("@pulumi/pulumi/proto/resource_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const resourcePb = require("@pulumi/pulumi/proto/resource_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const engineRpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const enginePb = require("@pulumi/pulumi/proto/engine_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const emptyPb = require("google-protobuf/google/protobuf/empty_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const structPb = require("google-protobuf/google/protobuf/struct_pb");

/** Severity names of the engine's LogRequest (pulumirpc.LogSeverity). */
const SEVERITY = ["debug", "info", "warning", "error"];

export interface LoggedMessage {
  severity: string;
  message: string;
}

export interface FakeEngine {
  /** host:port of both services. */
  address: string;
  logs: LoggedMessage[];
  /** Types of the resources the program registered. */
  registered: string[];
  stop(): Promise<void>;
}

type Callback = (err: Error | null, resp?: unknown) => void;
type Call = { request: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function startFakeEngine(): Promise<FakeEngine> {
  const logs: LoggedMessage[] = [];
  const registered: string[] = [];
  let root = "";
  const server = new grpc.Server();
  server.addService(resourceRpc.ResourceMonitorService, {
    supportsFeature: (_c: Call, cb: Callback) => cb(null, new resourcePb.SupportsFeatureResponse().setHassupport(false)),
    registerResource: (c: Call, cb: Callback) => {
      const type: string = c.request.getType();
      registered.push(type);
      const urn = `urn:pulumi:test::nixos-restic-b2::${type}::${c.request.getName()}`;
      cb(null, new resourcePb.RegisterResourceResponse().setUrn(urn).setObject(new structPb.Struct()));
    },
    registerResourceOutputs: (_c: Call, cb: Callback) => cb(null, new emptyPb.Empty()),
    signalAndWaitForShutdown: (_c: Call, cb: Callback) => cb(null, new emptyPb.Empty()),
  });
  server.addService(engineRpc.EngineService, {
    log: (c: Call, cb: Callback) => {
      logs.push({ severity: SEVERITY[c.request.getSeverity()] ?? String(c.request.getSeverity()), message: c.request.getMessage() });
      cb(null, new emptyPb.Empty());
    },
    getRootResource: (_c: Call, cb: Callback) => cb(null, new enginePb.GetRootResourceResponse().setUrn(root)),
    setRootResource: (c: Call, cb: Callback) => {
      root = c.request.getUrn();
      cb(null, new enginePb.SetRootResourceResponse());
    },
  });
  const port: number = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err: Error | null, p: number) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    logs,
    registered,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** The SDK's own program runner, as the Node.js language host starts it: `node <this> --monitor ... <program dir>`. */
export const SDK_RUN_ENTRY = path.join(PULUMI_DIR, "cmd", "run", "index.js");
