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
// Input shapes of the nested object types (types only).
import * as pulumi from "@pulumi/pulumi";

/** One CORS rule. */
export interface BucketCorsRule {
    allowedHeaders?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    allowedOperations: pulumi.Input<pulumi.Input<string>[]>;
    allowedOrigins: pulumi.Input<pulumi.Input<string>[]>;
    corsRuleName: pulumi.Input<string>;
    exposeHeaders?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    maxAgeSeconds: pulumi.Input<number>;
}

/** Default encryption of new files: mode `none` or `SSE-B2`, algorithm `AES256`. */
export interface BucketDefaultServerSideEncryption {
    algorithm?: pulumi.Input<string | undefined>;
    mode?: pulumi.Input<string | undefined>;
}

/** File lock settings; isFileLockEnabled can only be set at creation. */
export interface BucketFileLockConfiguration {
    defaultRetention?: pulumi.Input<BucketFileLockConfigurationDefaultRetention | undefined>;
    isFileLockEnabled?: pulumi.Input<boolean | undefined>;
}

/** Default retention: mode `compliance`, `governance` or `none`. */
export interface BucketFileLockConfigurationDefaultRetention {
    mode: pulumi.Input<string>;
    period?: pulumi.Input<BucketFileLockConfigurationDefaultRetentionPeriod | undefined>;
}

/** Retention period: unit `days` or `years`. */
export interface BucketFileLockConfigurationDefaultRetentionPeriod {
    duration: pulumi.Input<number>;
    unit: pulumi.Input<string>;
}

/**
 * One lifecycle rule. fileNamePrefix "" covers the whole bucket; at least one
 * of the day counts must be set, and 0 means unset.
 */
export interface BucketLifecycleRule {
    daysFromHidingToDeleting?: pulumi.Input<number | undefined>;
    daysFromStartingToCancelingUnfinishedLargeFiles?: pulumi.Input<number | undefined>;
    daysFromUploadingToHiding?: pulumi.Input<number | undefined>;
    fileNamePrefix: pulumi.Input<string>;
}
