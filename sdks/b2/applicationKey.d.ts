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

/**
 * A B2 application key. Every input forces replacement. The secret
 * `applicationKey` exists only after creation (never on lookup or import).
 */
export declare class ApplicationKey extends pulumi.CustomResource {
    /**
     * Looks up an existing key.
     * @param name The unique name of the resulting resource.
     * @param id The application key ID.
     * @param state Any extra known state.
     * @param opts Resource options.
     */
    static get(name: string, id: pulumi.Input<pulumi.ID>, state?: ApplicationKeyState, opts?: pulumi.CustomResourceOptions): ApplicationKey;
    /** Whether obj is an ApplicationKey (works across copies of the Pulumi SDK). */
    static isInstance(obj: any): obj is ApplicationKey;
    /** The secret part of the key (secret output). */
    readonly applicationKey: pulumi.Output<string>;
    /** The key ID (also the resource id). */
    readonly applicationKeyId: pulumi.Output<string>;
    /** The Terraform `id` attribute, renamed by the bridge; leave unset. */
    readonly b2ApplicationKeyId: pulumi.Output<string>;
    /**
     * The single bucket the key is restricted to.
     * @deprecated in the provider in favour of bucketIds; still the only way to
     * get a classic (non multi-bucket) key, which restic's b2 backend needs.
     */
    readonly bucketId: pulumi.Output<string | undefined>;
    /** Buckets the key is restricted to (creates a multi-bucket key). */
    readonly bucketIds: pulumi.Output<string[] | undefined>;
    /** Capabilities granted to the key. */
    readonly capabilities: pulumi.Output<string[]>;
    /** Expiry in milliseconds since the epoch. */
    readonly expirationTimestamp: pulumi.Output<number>;
    /** Key name. */
    readonly keyName: pulumi.Output<string>;
    /** File-name prefix the key is restricted to. */
    readonly namePrefix: pulumi.Output<string | undefined>;
    /** Key options reported by B2. */
    readonly options: pulumi.Output<string[]>;
    /** Lifetime in seconds. */
    readonly validDurationInSeconds: pulumi.Output<number | undefined>;
    /**
     * @param name The unique name of the resource.
     * @param args The key's settings.
     * @param opts Resource options.
     */
    constructor(name: string, args: ApplicationKeyArgs, opts?: pulumi.CustomResourceOptions);
}

/** Properties for looking up ApplicationKey resources. */
export interface ApplicationKeyState {
    applicationKey?: pulumi.Input<string | undefined>;
    applicationKeyId?: pulumi.Input<string | undefined>;
    b2ApplicationKeyId?: pulumi.Input<string | undefined>;
    /** @deprecated in the provider in favour of bucketIds. */
    bucketId?: pulumi.Input<string | undefined>;
    bucketIds?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    capabilities?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    expirationTimestamp?: pulumi.Input<number | undefined>;
    keyName?: pulumi.Input<string | undefined>;
    namePrefix?: pulumi.Input<string | undefined>;
    options?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    validDurationInSeconds?: pulumi.Input<number | undefined>;
}

/** The arguments for constructing an ApplicationKey. */
export interface ApplicationKeyArgs {
    /** The Terraform `id` attribute, renamed by the bridge; leave unset. */
    b2ApplicationKeyId?: pulumi.Input<string | undefined>;
    /**
     * Restrict the key to one bucket (conflicts with bucketIds).
     * @deprecated in the provider in favour of bucketIds; still the only way to
     * get a classic (non multi-bucket) key, which restic's b2 backend needs.
     */
    bucketId?: pulumi.Input<string | undefined>;
    /** Restrict the key to these buckets: a multi-bucket key (native API v4). */
    bucketIds?: pulumi.Input<pulumi.Input<string>[] | undefined>;
    /** Capabilities to grant. */
    capabilities: pulumi.Input<pulumi.Input<string>[]>;
    /** Key name: letters, digits and `-`, at most 100 characters. */
    keyName: pulumi.Input<string>;
    /** Restrict the key to file names starting with this prefix. */
    namePrefix?: pulumi.Input<string | undefined>;
    /** Lifetime in seconds (positive, below 1000 days). */
    validDurationInSeconds?: pulumi.Input<number | undefined>;
}
