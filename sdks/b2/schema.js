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
// Not part of the generated SDK's API: the property lists of each resource in
// one place (from the provider schema as documented for 0.13.x), used by the
// resource classes to build their property bags and by the project's tests to
// check what the program sends. Code written against the generated SDK does
// not need this module.

const tokens = Object.freeze({
    provider: "pulumi:providers:b2",
    bucket: "b2:index/bucket:Bucket",
    applicationKey: "b2:index/applicationKey:ApplicationKey",
});

function freezeSpec(spec) {
    for (const key of Object.keys(spec)) {
        Object.freeze(spec[key]);
    }
    return Object.freeze(spec);
}

/**
 * Per resource: `inputs` are the settable properties (in/out), `required` the
 * subset the constructor insists on, `outputsOnly` the computed properties,
 * `secretOutputs` what the engine must treat as secret.
 */
const resources = Object.freeze({
    provider: freezeSpec({
        token: tokens.provider,
        inputs: ["applicationKey", "applicationKeyId", "endpoint"],
        required: [],
        outputsOnly: [],
        secretOutputs: ["applicationKey", "applicationKeyId"],
    }),
    bucket: freezeSpec({
        token: tokens.bucket,
        inputs: [
            "b2BucketId",
            "bucketInfo",
            "bucketName",
            "bucketType",
            "corsRules",
            "defaultServerSideEncryption",
            "fileLockConfigurations",
            "lifecycleRules",
        ],
        required: ["bucketName", "bucketType"],
        outputsOnly: ["accountId", "bucketId", "options", "revision"],
        secretOutputs: [],
    }),
    applicationKey: freezeSpec({
        token: tokens.applicationKey,
        inputs: [
            "b2ApplicationKeyId",
            "bucketId",
            "bucketIds",
            "capabilities",
            "keyName",
            "namePrefix",
            "validDurationInSeconds",
        ],
        required: ["capabilities", "keyName"],
        outputsOnly: ["applicationKey", "applicationKeyId", "expirationTimestamp", "options"],
        secretOutputs: ["applicationKey"],
    }),
});

/** Field names of the nested object types (identical for inputs and outputs). */
const nestedTypes = Object.freeze({
    BucketCorsRule: Object.freeze(["allowedHeaders", "allowedOperations", "allowedOrigins", "corsRuleName", "exposeHeaders", "maxAgeSeconds"]),
    BucketDefaultServerSideEncryption: Object.freeze(["algorithm", "mode"]),
    BucketFileLockConfiguration: Object.freeze(["defaultRetention", "isFileLockEnabled"]),
    BucketFileLockConfigurationDefaultRetention: Object.freeze(["mode", "period"]),
    BucketFileLockConfigurationDefaultRetentionPeriod: Object.freeze(["duration", "unit"]),
    BucketLifecycleRule: Object.freeze([
        "daysFromHidingToDeleting",
        "daysFromStartingToCancelingUnfinishedLargeFiles",
        "daysFromUploadingToHiding",
        "fileNamePrefix",
    ]),
});

/**
 * Builds the property bag a resource constructor hands to its base class.
 * Lookup of an existing resource (opts.id set): every property comes from the
 * optional state object. Otherwise: settable properties come from args,
 * required ones must be present (unless opts.urn rehydrates a resource), and
 * computed ones are left undefined for the engine to fill in.
 */
function collectProperties(spec, argsOrState, opts) {
    const source = argsOrState || {};
    const props = {};
    if (opts.id) {
        for (const name of spec.inputs.concat(spec.outputsOnly)) {
            props[name] = source[name];
        }
        return props;
    }
    if (!opts.urn) {
        for (const name of spec.required) {
            if (source[name] === undefined) {
                throw new Error(`Missing required property '${name}'`);
            }
        }
    }
    for (const name of spec.inputs) {
        props[name] = source[name];
    }
    for (const name of spec.outputsOnly) {
        props[name] = undefined;
    }
    return props;
}

module.exports = { tokens, resources, nestedTypes, collectProperties };
