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
 * The provider type for the b2 package (engine type `pulumi:providers:b2`).
 * Like the generated SDK it has no static `get()`.
 */
export declare class Provider extends pulumi.ProviderResource {
    /** Whether obj is a Provider of this package (works across SDK copies). */
    static isInstance(obj: any): obj is Provider;
    /** B2 application key (secret). */
    readonly applicationKey: pulumi.Output<string | undefined>;
    /** B2 application key ID (secret). */
    readonly applicationKeyId: pulumi.Output<string | undefined>;
    /** B2 endpoint; defaults to "production" inside the Terraform provider. */
    readonly endpoint: pulumi.Output<string | undefined>;
    /**
     * @param name The unique name of the resource.
     * @param args Provider configuration. Omitted credentials fall back to the
     *   B2_APPLICATION_KEY_ID / B2_APPLICATION_KEY environment variables.
     * @param opts Resource options.
     */
    constructor(name: string, args?: ProviderArgs, opts?: pulumi.ResourceOptions);
    /**
     * The provider configuration as the bridged Terraform provider sees it
     * (Terraform-style key names): the `result` of the provider method's
     * answer ({@link Provider.TerraformConfigResult}), as in the generated SDK.
     */
    terraformConfig(): pulumi.Output<{ [key: string]: any }>;
}

/** Arguments of {@link Provider}. */
export interface ProviderArgs {
    /** B2 application key (env B2_APPLICATION_KEY); secret. */
    applicationKey?: pulumi.Input<string | undefined>;
    /** B2 application key ID (env B2_APPLICATION_KEY_ID); secret. */
    applicationKeyId?: pulumi.Input<string | undefined>;
    /** B2 endpoint (env B2_ENDPOINT); only Backblaze staff need to set it. */
    endpoint?: pulumi.Input<string | undefined>;
}

export declare namespace Provider {
    /** What the provider method `pulumi:providers:b2/terraformConfig` answers; terraformConfig() returns its `result`. */
    interface TerraformConfigResult {
        readonly result: { [key: string]: any };
    }
}
