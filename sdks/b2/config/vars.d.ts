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
// Stack configuration of the b2 package (b2:applicationKeyId, ...).

/** B2 application key (config b2:applicationKey). */
export declare const applicationKey: string | undefined;
/** B2 application key ID (config b2:applicationKeyId). */
export declare const applicationKeyId: string | undefined;
/** B2 endpoint (config b2:endpoint). */
export declare const endpoint: string | undefined;
