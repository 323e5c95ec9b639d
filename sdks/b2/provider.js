// @pulumi/b2 binding for nixos-restic-b2: WRITTEN BY HAND for this project.
// Not generated, and no code copied from any repository. It registers the
// same package, resource tokens and property names as the SDK the Pulumi CLI
// generates for the Backblaze/b2 Terraform provider 0.13.1 through the
// terraform-provider plugin 0.14.0.
// To get the real generated SDK instead, on a connected machine run
//   pulumi package add terraform-provider@0.14.0 backblaze/b2 0.13.1
// or run `pulumi install` with this entry in Pulumi.yaml:
//   packages:
//     b2:
//       source: terraform-provider
//       version: 0.14.0
//       parameters: [backblaze/b2, 0.13.1]
"use strict";
// The explicit provider resource (type pulumi:providers:b2).

const pulumi = require("@pulumi/pulumi");
const utilities = require("./utilities");
const schema = require("./schema");

const SPEC = schema.resources.provider;

class Provider extends pulumi.ProviderResource {
    /**
     * Whether obj is a Provider of this package, also across several loaded
     * copies of the Pulumi SDK (compares the registered type, not the class).
     */
    static isInstance(obj) {
        if (obj === undefined || obj === null) {
            return false;
        }
        return obj["__pulumiType"] === "pulumi:providers:" + Provider.__pulumiType;
    }

    /**
     * @param {string} name unique resource name
     * @param {object} [args] applicationKeyId / applicationKey / endpoint; when
     *   the credentials are omitted the Terraform provider falls back to the
     *   B2_APPLICATION_KEY_ID / B2_APPLICATION_KEY environment variables
     * @param {object} [opts] resource options
     */
    constructor(name, args, opts) {
        opts = opts || {};
        const props = schema.collectProperties(SPEC, args, opts);
        // The credentials are secrets on the way in as well as on the way out.
        for (const secretName of SPEC.secretOutputs) {
            props[secretName] = props[secretName] ? pulumi.secret(props[secretName]) : undefined;
        }
        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);
        opts = pulumi.mergeOptions(opts, { additionalSecretOutputs: SPEC.secretOutputs.slice() });
        super(Provider.__pulumiType, name, props, opts, false, utilities.getPackage());
    }

    /**
     * The provider configuration as the bridged Terraform provider sees it
     * (Terraform-style key names). The provider method answers
     * `{ result: {...} }`; like the generated SDK, this returns the inner
     * object.
     */
    terraformConfig() {
        const answer = pulumi.runtime.call("pulumi:providers:b2/terraformConfig", { __self__: this }, this, utilities.getPackage());
        return answer.apply((r) => r.result);
    }
}

/** @internal The package name; the engine type is "pulumi:providers:" + this. */
Provider.__pulumiType = "b2";

exports.Provider = Provider;
