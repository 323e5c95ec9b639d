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
// Not part of the generated SDK's API (see schema.js).

export interface ResourceSpec {
    readonly token: string;
    readonly inputs: readonly string[];
    readonly required: readonly string[];
    readonly outputsOnly: readonly string[];
    readonly secretOutputs: readonly string[];
}

export declare const tokens: {
    readonly provider: "pulumi:providers:b2";
    readonly bucket: "b2:index/bucket:Bucket";
    readonly applicationKey: "b2:index/applicationKey:ApplicationKey";
};

export declare const resources: {
    readonly provider: ResourceSpec;
    readonly bucket: ResourceSpec;
    readonly applicationKey: ResourceSpec;
};

export declare const nestedTypes: {
    readonly BucketCorsRule: readonly string[];
    readonly BucketDefaultServerSideEncryption: readonly string[];
    readonly BucketFileLockConfiguration: readonly string[];
    readonly BucketFileLockConfigurationDefaultRetention: readonly string[];
    readonly BucketFileLockConfigurationDefaultRetentionPeriod: readonly string[];
    readonly BucketLifecycleRule: readonly string[];
};

export declare function collectProperties(
    spec: ResourceSpec,
    argsOrState: { [key: string]: unknown } | undefined,
    opts: { id?: unknown; urn?: unknown },
): { [key: string]: unknown };
