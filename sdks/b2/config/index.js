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
// The configuration namespace, as `b2.config`.
Object.defineProperty(exports, "__esModule", { value: true });
const vars = require("./vars");
for (const key of Object.keys(vars)) {
    Object.defineProperty(exports, key, { enumerable: true, get: () => vars[key] });
}
