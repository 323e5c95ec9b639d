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
// Package registration and option defaults shared by every resource class.

const pulumi = require("@pulumi/pulumi");

/**
 * What the engine needs to load this parameterized package: the base plugin
 * (terraform-provider) plus the parameter that tells it which Terraform
 * provider to bridge. The base64 value decodes to
 * {"remote":{"url":"registry.opentofu.org/backblaze/b2","version":"0.13.1"}}
 * and must stay byte-identical to package.json's pulumi.parameterization.value.
 */
const PACKAGE_ARGS = Object.freeze({
    baseProviderName: "terraform-provider",
    baseProviderVersion: "0.14.0",
    baseProviderDownloadUrl: "",
    packageName: "b2",
    packageVersion: "0.13.1",
    base64Parameter: "eyJyZW1vdGUiOnsidXJsIjoicmVnaXN0cnkub3BlbnRvZnUub3JnL2JhY2tibGF6ZS9iMiIsInZlcnNpb24iOiIwLjEzLjEifX0=",
});

/** The package version from package.json, without a leading "v". */
function getVersion() {
    const version = String(require("./package.json").version);
    return version.startsWith("v") ? version.slice(1) : version;
}

/** Options merged under the caller's options for every resource. */
function resourceOptsDefaults() {
    return { version: getVersion() };
}

/**
 * Registers the parameterized package with the engine and returns the
 * package reference as a promise (the SDK caches it per deployment, errors
 * included). Resources pass the promise, un-awaited, to their base class.
 */
function getPackage() {
    return pulumi.runtime.registerPackage(Object.assign({}, PACKAGE_ARGS));
}

module.exports = { PACKAGE_ARGS, getVersion, resourceOptsDefaults, getPackage };
