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
// Entry point: the classes, the config and types namespaces, and the
// registrations that let the SDK rebuild resource objects from references.
Object.defineProperty(exports, "__esModule", { value: true });

const pulumi = require("@pulumi/pulumi");
const utilities = require("./utilities");
const { ApplicationKey } = require("./applicationKey");
const { Bucket } = require("./bucket");
const { Provider } = require("./provider");

exports.ApplicationKey = ApplicationKey;
exports.Bucket = Bucket;
exports.Provider = Provider;
exports.config = require("./config");
exports.types = require("./types");

// Rehydration of resource references (a resource passed around by URN, e.g.
// from a component in another language) back into these classes.
// The module part of a type token ("index/bucket" in "b2:index/bucket:Bucket")
// is the registration key.
for (const cls of [Bucket, ApplicationKey]) {
    pulumi.runtime.registerResourceModule("b2", cls.__pulumiType.split(":")[1], {
        version: utilities.getVersion(),
        construct: (name, type, urn) => {
            if (type !== cls.__pulumiType) {
                throw new Error(`unknown resource type ${type}`);
            }
            return new cls(name, undefined, { urn });
        },
    });
}
pulumi.runtime.registerResourcePackage("b2", {
    version: utilities.getVersion(),
    constructProvider: (name, type, urn) => {
        if (type !== "pulumi:providers:b2") {
            throw new Error(`unknown provider type ${type}`);
        }
        return new Provider(name, undefined, { urn });
    },
});
