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
// A B2 bucket (type b2:index/bucket:Bucket).

const pulumi = require("@pulumi/pulumi");
const utilities = require("./utilities");
const schema = require("./schema");

const SPEC = schema.resources.bucket;

class Bucket extends pulumi.CustomResource {
    /**
     * Looks up an existing bucket by its B2 bucket ID (the resource id) and
     * optional extra state, without creating anything.
     */
    static get(name, id, state, opts) {
        return new Bucket(name, state, Object.assign({}, opts, { id: id }));
    }

    /** Whether obj is a Bucket (compares the registered type, not the class). */
    static isInstance(obj) {
        if (obj === undefined || obj === null) {
            return false;
        }
        return obj["__pulumiType"] === Bucket.__pulumiType;
    }

    /**
     * @param {string} name unique resource name
     * @param {object} argsOrState BucketArgs, or BucketState when opts.id is set
     * @param {object} [opts] resource options
     */
    constructor(name, argsOrState, opts) {
        opts = opts || {};
        const props = schema.collectProperties(SPEC, argsOrState, opts);
        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);
        super(Bucket.__pulumiType, name, props, opts, false, utilities.getPackage());
    }
}

/** @internal */
Bucket.__pulumiType = "b2:index/bucket:Bucket";

exports.Bucket = Bucket;
