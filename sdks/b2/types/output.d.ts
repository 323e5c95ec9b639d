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
// Output shapes of the nested object types (types only).

/** One CORS rule. */
export interface BucketCorsRule {
    readonly allowedHeaders?: string[];
    readonly allowedOperations: string[];
    readonly allowedOrigins: string[];
    readonly corsRuleName: string;
    readonly exposeHeaders?: string[];
    readonly maxAgeSeconds: number;
}

/** Default encryption of new files. */
export interface BucketDefaultServerSideEncryption {
    readonly algorithm?: string;
    readonly mode?: string;
}

/** File lock settings. */
export interface BucketFileLockConfiguration {
    readonly defaultRetention?: BucketFileLockConfigurationDefaultRetention;
    readonly isFileLockEnabled?: boolean;
}

/** Default retention. */
export interface BucketFileLockConfigurationDefaultRetention {
    readonly mode: string;
    readonly period?: BucketFileLockConfigurationDefaultRetentionPeriod;
}

/** Retention period. */
export interface BucketFileLockConfigurationDefaultRetentionPeriod {
    readonly duration: number;
    readonly unit: string;
}

/** One lifecycle rule. */
export interface BucketLifecycleRule {
    readonly daysFromHidingToDeleting?: number;
    readonly daysFromStartingToCancelingUnfinishedLargeFiles?: number;
    readonly daysFromUploadingToHiding?: number;
    readonly fileNamePrefix: string;
}
