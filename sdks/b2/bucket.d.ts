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
import * as pulumi from "@pulumi/pulumi";
import * as inputs from "./types/input";
import * as outputs from "./types/output";

/**
 * A B2 bucket. Deleting it fails while it still holds any file version
 * (hidden versions included): the provider has no force-delete.
 */
export declare class Bucket extends pulumi.CustomResource {
    /**
     * Looks up an existing bucket.
     * @param name The unique name of the resulting resource.
     * @param id The B2 bucket ID.
     * @param state Any extra known state.
     * @param opts Resource options.
     */
    static get(name: string, id: pulumi.Input<pulumi.ID>, state?: BucketState, opts?: pulumi.CustomResourceOptions): Bucket;
    /** Whether obj is a Bucket (works across copies of the Pulumi SDK). */
    static isInstance(obj: any): obj is Bucket;
    /** Account ID the bucket belongs to. */
    readonly accountId: pulumi.Output<string>;
    /** The Terraform `id` attribute, renamed by the bridge; leave unset. */
    readonly b2BucketId: pulumi.Output<string>;
    /** The B2 bucket ID (also the resource id). */
    readonly bucketId: pulumi.Output<string>;
    /** User-defined bucket info (B2 lower-cases the keys). */
    readonly bucketInfo: pulumi.Output<{ [key: string]: string } | undefined>;
    /** Globally unique bucket name. */
    readonly bucketName: pulumi.Output<string>;
    /** `allPublic` or `allPrivate`. */
    readonly bucketType: pulumi.Output<string>;
    /** CORS rules. */
    readonly corsRules: pulumi.Output<outputs.BucketCorsRule[] | undefined>;
    /** Default server-side encryption of new files. */
    readonly defaultServerSideEncryption: pulumi.Output<outputs.BucketDefaultServerSideEncryption | undefined>;
    /** File lock settings. */
    readonly fileLockConfigurations: pulumi.Output<outputs.BucketFileLockConfiguration[] | undefined>;
    /** Lifecycle rules. */
    readonly lifecycleRules: pulumi.Output<outputs.BucketLifecycleRule[] | undefined>;
    /** Bucket options reported by B2. */
    readonly options: pulumi.Output<string[]>;
    /** Revision number, bumped by B2 on every change. */
    readonly revision: pulumi.Output<number>;
    /**
     * @param name The unique name of the resource.
     * @param args The bucket's settings.
     * @param opts Resource options.
     */
    constructor(name: string, args: BucketArgs, opts?: pulumi.CustomResourceOptions);
}

/** Properties for looking up Bucket resources. */
export interface BucketState {
    accountId?: pulumi.Input<string | undefined>;
    b2BucketId?: pulumi.Input<string | undefined>;
    bucketId?: pulumi.Input<string | undefined>;
    bucketInfo?: pulumi.Input<{ [key: string]: pulumi.Input<string> } | undefined>;
    bucketName?: pulumi.Input<string | undefined>;
    bucketType?: pulumi.Input<string | undefined>;
    corsRules?: pulumi.Input<pulumi.Input<inputs.BucketCorsRule>[] | undefined>;
    defaultServerSideEncryption?: pulumi.Input<inputs.BucketDefaultServerSideEncryption | undefined>;
    fileLockConfigurations?: pulumi.Input<pulumi.Input<inputs.BucketFileLockConfiguration>[] | undefined>;
    lifecycleRules?: pulumi.Input<pulumi.Input<inputs.BucketLifecycleRule>[] | undefined>;
    options?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    revision?: pulumi.Input<number | undefined>;
}

/** The arguments for constructing a Bucket. */
export interface BucketArgs {
    /** The Terraform `id` attribute, renamed by the bridge; leave unset. */
    b2BucketId?: pulumi.Input<string | undefined>;
    /** User-defined bucket info; use lower-case keys. */
    bucketInfo?: pulumi.Input<{ [key: string]: pulumi.Input<string> } | undefined>;
    /** Globally unique bucket name; changing it replaces the bucket. */
    bucketName: pulumi.Input<string>;
    /** `allPublic` or `allPrivate`. */
    bucketType: pulumi.Input<string>;
    /** CORS rules. */
    corsRules?: pulumi.Input<pulumi.Input<inputs.BucketCorsRule>[] | undefined>;
    /** Default server-side encryption of new files. */
    defaultServerSideEncryption?: pulumi.Input<inputs.BucketDefaultServerSideEncryption | undefined>;
    /** File lock settings (lock itself can only be enabled at creation). */
    fileLockConfigurations?: pulumi.Input<pulumi.Input<inputs.BucketFileLockConfiguration>[] | undefined>;
    /** Lifecycle rules. */
    lifecycleRules?: pulumi.Input<pulumi.Input<inputs.BucketLifecycleRule>[] | undefined>;
}
