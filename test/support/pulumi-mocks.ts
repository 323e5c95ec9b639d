// Pulumi mocks that record what a program registers, for record-then-assert
// tests. Generic: usable for any component of this project.
//
//   const mocks = await installPulumiMocks();          // before importing the component
//   const { B2Storage } = require("../../components/storage");
//   const s = new B2Storage("x", args, { transformations: [mocks.recordOptions] });
//   await settled(s.key);                               // wait for the registrations
//   mocks.one("b2:index/bucket:Bucket").inputs          // what the engine would receive
//
// Two views of each resource:
// - `resources`: what reaches the (mock) engine: type, name, inputs as the
//   engine sees them (secret markers removed and listed in secretPaths, unset
//   properties absent), provider reference, the request's options (parent
//   URN, package ref, retainOnDelete, additionalSecretOutputs, ...), and the
//   state the mock returned.
// - `options`: what the resource was constructed with on the client side
//   (parent, provider, retainOnDelete, additionalSecretOutputs, raw props
//   including Output objects, so secrecy can be checked). Only resources
//   created with `recordOptions` in opts.transformations, or under a parent
//   that has it, are seen here.
import * as pulumi from "@pulumi/pulumi";
import * as providerProto from "@pulumi/pulumi/proto/provider_pb";
import * as structProto from "google-protobuf/google/protobuf/struct_pb";

export interface RecordedResource {
  type: string;
  name: string;
  /** Inputs as the engine receives them, with secret markers removed (see secretPaths). */
  inputs: Record<string, any>;
  /** Paths ("a", "a.b", "a.0") of the inputs that arrived marked secret. */
  secretPaths: string[];
  /** Provider reference ("<urn>::<id>") if the resource has one. */
  provider?: string;
  custom: boolean;
  /** Id the mock assigned. */
  id: string;
  /** State the mock returned (inputs plus fake outputs). */
  state: Record<string, any>;
  /**
   * Resource options as sent in the RegisterResource request (absent for
   * reads). The stock mock monitor drops these; installPulumiMocks wraps it.
   */
  request?: RegisterRequestFields;
}

export interface RegisterRequestFields {
  /** Parent URN ("" for none). */
  parent: string;
  /** Package reference of a parameterized package ("" for plain plugins). */
  packageRef: string;
  /** Plugin version requested ("" when the package reference selects the plugin). */
  version: string;
  /** undefined when not set. */
  retainOnDelete?: boolean;
  /** undefined when not set. */
  protect?: boolean;
  additionalSecretOutputs: string[];
  ignoreChanges: string[];
  /** The request's replaceOnChanges (the SDK's own, e.g. the command SDK's "triggers[*]", and the program's). */
  replaceOnChanges: string[];
  /** undefined when not set. */
  deleteBeforeReplace?: boolean;
}

export interface RecordedOptions {
  type: string;
  name: string;
  /** Properties as passed to the base class (may contain Outputs). */
  props: Record<string, any>;
  opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
  resource: pulumi.Resource;
}

export interface MockOptions {
  project?: string;
  stack?: string;
  preview?: boolean;
  /** Extra fake outputs for a resource, merged over the defaults. */
  outputs?: (args: pulumi.runtime.MockResourceArgs) => Record<string, any> | undefined;
  /** Result of invokes; default: echo the inputs. */
  call?: (args: pulumi.runtime.MockCallArgs) => Record<string, any>;
}

export interface MockRecorder {
  resources: RecordedResource[];
  options: RecordedOptions[];
  calls: pulumi.runtime.MockCallArgs[];
  /** Put into opts.transformations to record client-side options of a resource and its children. */
  recordOptions: pulumi.ResourceTransformation;
  /** Recorded resources of one type. */
  ofType(type: string): RecordedResource[];
  /** The single recorded resource of a type (optionally with a given name); throws unless exactly one. */
  one(type: string, name?: string): RecordedResource;
  /** Client-side options of a resource by name; throws unless exactly one. */
  optionsOf(name: string): RecordedOptions;
  /** Forget everything recorded so far. */
  reset(): void;
}

/** Fake hex "random" output: a fixed pattern, 2 characters per byte. */
export function fakeHex(bytes: number): string {
  return "0123456789abcdef".repeat(Math.ceil((2 * bytes) / 16) + 1).slice(0, 2 * bytes);
}

/** Fake outputs every mocked resource of a known type gets. */
function defaultOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
  switch (args.type) {
    case "command:local:Command": {
      // components/random.ts reads N bytes with `od -N<N>`; answer with 2N hex chars.
      const m = /-N(\d+)/.exec(String(args.inputs.create ?? ""));
      return { stdout: fakeHex(m ? Number(m[1]) : 8), stderr: "" };
    }
    default:
      return {};
  }
}

/** Removes the engine's secret markers, noting where they were. */
function unwrapSecrets(value: any, path: string, found: string[]): any {
  if (pulumi.runtime.isRpcSecret(value)) {
    found.push(path);
    return unwrapSecrets(pulumi.runtime.unwrapRpcSecret(value), path, found);
  }
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, path === "" ? `${i}` : `${path}.${i}`, found));
  if (value !== null && typeof value === "object") {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(value)) out[k] = unwrapSecrets(v, path === "" ? k : `${path}.${k}`, found);
    return out;
  }
  return value;
}

/**
 * Installs Pulumi mocks that record every registration. Call (and await)
 * before importing the module under test.
 */
export async function installPulumiMocks(options: MockOptions = {}): Promise<MockRecorder> {
  const resources: RecordedResource[] = [];
  const recordedOptions: RecordedOptions[] = [];
  const calls: pulumi.runtime.MockCallArgs[] = [];
  // Request fields of the registration in progress: the mock monitor calls
  // newResource synchronously from registerResource, before any await.
  let currentRequest: RegisterRequestFields | undefined;

  const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
      const id = args.id || `${args.name}-id`;
      const state = { ...args.inputs, ...defaultOutputs(args), ...(options.outputs?.(args) ?? {}) };
      const secretPaths: string[] = [];
      resources.push({
        type: args.type,
        name: args.name,
        inputs: unwrapSecrets(args.inputs, "", secretPaths),
        secretPaths,
        request: currentRequest,
        provider: args.provider || undefined,
        custom: args.custom ?? true,
        id,
        state,
      });
      return { id, state };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
      calls.push(args);
      return options.call ? options.call(args) : args.inputs;
    },
  };
  await pulumi.runtime.setMocks(mocks, options.project ?? "project", options.stack ?? "stack", options.preview ?? false);

  const monitor = pulumi.runtime.getMonitor() as any;
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    currentRequest = {
      parent: req.getParent(),
      packageRef: req.getPackageref(),
      version: req.getVersion(),
      retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
      protect: req.hasProtect() ? req.getProtect() : undefined,
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
      deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
    };
    try {
      return registerResource(req, callback);
    } finally {
      currentRequest = undefined;
    }
  };

  // Provider methods (pulumi.runtime.call, e.g. Provider.terraformConfig()):
  // the stock mock monitor has no Call; answer them like invokes, through
  // `call` above (recorded in `calls`; args.provider is the request's packageRef).
  monitor.call = async (req: any, callback: (err: unknown, resp?: unknown) => void) => {
    try {
      const inputs = pulumi.runtime.deserializeProperties(req.getArgs());
      const result = await mocks.call({ token: req.getTok(), inputs, provider: req.getPackageref() || req.getProvider() });
      const resp = new providerProto.CallResponse();
      resp.setReturn(structProto.Struct.fromJavaScript(await pulumi.runtime.serializeProperties("call", result)));
      callback(null, resp);
    } catch (err) {
      callback(err);
    }
  };

  const recordOptions: pulumi.ResourceTransformation = (a) => {
    recordedOptions.push({ type: a.type, name: a.name, props: a.props, opts: { ...a.opts }, resource: a.resource });
    return undefined;
  };

  const exactlyOne = <T>(found: T[], what: string): T => {
    if (found.length !== 1) throw new Error(`expected exactly one ${what}, found ${found.length}`);
    return found[0];
  };

  return {
    resources,
    options: recordedOptions,
    calls,
    recordOptions,
    ofType: (type) => resources.filter((r) => r.type === type),
    one: (type, name) =>
      exactlyOne(
        resources.filter((r) => r.type === type && (name === undefined || r.name === name)),
        name === undefined ? type : `${type} named ${name}`,
      ),
    optionsOf: (name) => exactlyOne(recordedOptions.filter((o) => o.name === name), `resource named ${name}`),
    reset: () => {
      resources.length = 0;
      recordedOptions.length = 0;
      calls.length = 0;
    },
  };
}

/** The value of an Output (undefined while unknown, e.g. in preview). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  // Output.promise() is internal but stable; it also settles for unknowns.
  return (output as unknown as { promise(): Promise<T> }).promise();
}

/** Waits until all the given outputs have resolved (and so their resources are registered). */
export async function settled(...outputs: pulumi.Output<unknown>[]): Promise<void> {
  await Promise.all(outputs.map((o) => valueOf(o)));
}

/** Whether an Output is marked secret. */
export function isSecret(output: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(output);
}
