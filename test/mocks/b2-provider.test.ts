// The hand-written @pulumi/b2 Provider's method under Pulumi mocks: what
// terraformConfig() sends (token, self reference, package) and what it
// returns (the inner object, as the generated SDK does, not `{ result }`).
import * as pulumi from "@pulumi/pulumi";
import { MockRecorder, installPulumiMocks, isSecret, valueOf } from "../support/pulumi-mocks";

const TOKEN = "pulumi:providers:b2/terraformConfig";
// What the bridged provider answers: Terraform-style names (facts: b2-provider.md §3, §4).
const TF_CONFIG = { application_key_id: "test-id", application_key: "test-key", endpoint: "production" };

let mocks: MockRecorder;
let b2: typeof import("@pulumi/b2");

beforeAll(async () => {
  mocks = await installPulumiMocks({
    call: (a) => (a.token === TOKEN ? { result: TF_CONFIG } : { unexpected: a.token }),
  });
  b2 = require("@pulumi/b2");
});

test("terraformConfig() calls pulumi:providers:b2/terraformConfig on itself and returns the inner object", async () => {
  const provider = new b2.Provider("p", { applicationKeyId: "test-id", applicationKey: "test-key" });
  const config = provider.terraformConfig();
  expect(pulumi.Output.isInstance(config)).toBe(true);
  const value = await valueOf(config);
  expect(value).toStrictEqual(TF_CONFIG);
  expect(value).not.toHaveProperty("result");

  const calls = mocks.calls.filter((c) => c.token === TOKEN);
  expect(calls).toHaveLength(1);
  // The method's one argument is the provider itself (a resource reference).
  expect(Object.keys(calls[0].inputs)).toEqual(["__self__"]);
  const self = calls[0].inputs.__self__;
  expect(await valueOf(self.urn)).toBe(await valueOf(provider.urn));
  // Sent through the parameterized package, like every registration of the binding.
  expect(calls[0].provider).toBe("mock-uuid");
});

test("a secret in the answer stays secret in the returned object", async () => {
  // The real provider marks the credentials secret in its answer; the
  // unwrapping must not drop that marking.
  mocks.reset();
  const provider = new b2.Provider("q", {});
  const secretAnswer = await installSecretAnswer();
  const config = provider.terraformConfig();
  expect(await valueOf(config)).toStrictEqual(TF_CONFIG);
  expect(await isSecret(config)).toBe(true);
  secretAnswer.restore();
});

/** Makes the mock answer mark its result secret (as an engine response with secrets would). */
async function installSecretAnswer() {
  const monitor = pulumi.runtime.getMonitor() as any;
  const original = monitor.call;
  monitor.call = (req: any, cb: (err: unknown, resp?: any) => void) =>
    original(req, (err: unknown, resp: any) => {
      if (resp) {
        const ret = resp.getReturn().toJavaScript();
        ret.result = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: ret.result };
        resp.setReturn(resp.getReturn().constructor.fromJavaScript(ret));
      }
      cb(err, resp);
    });
  return { restore: () => (monitor.call = original) };
}
