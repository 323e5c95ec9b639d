import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/**
 * A random hex string made once and then kept in Pulumi state.
 *
 * Why a `@pulumi/command` local command and not `@pulumi/random` or a dynamic
 * provider: `@pulumi/random`'s plugin cannot be built from the Go module proxy,
 * and a dynamic provider depends on closure serialization of project code at
 * run time; a local command needs only the command plugin that host deployment
 * uses anyway, and its stdout is stored in state like any output.
 *
 * The command text is a constant and every input is listed in ignoreChanges,
 * so the value can only change when the resource is explicitly replaced
 * (`pulumi up --replace <urn>`): a regenerated restic password would make the
 * existing repository unreadable.
 */
export const RANDOM_HEX_COMMAND = (bytes: number): string =>
  `od -An -N${bytes} -tx1 /dev/urandom | tr -d ' \\n'`;

export function randomHex(
  name: string,
  bytes: number,
  secret: boolean,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  const cmd = new command.local.Command(
    name,
    { create: RANDOM_HEX_COMMAND(bytes), logging: "none" },
    {
      ...opts,
      additionalSecretOutputs: secret ? ["stdout"] : [],
      ignoreChanges: ["create", "update", "delete", "environment", "dir", "interpreter", "stdin", "triggers", "logging"],
    },
  );
  const value = cmd.stdout.apply((s) => s.trim());
  // additionalSecretOutputs makes the engine store stdout as a secret; wrap
  // the program-side value too, so it stays secret whatever reads it.
  return secret ? pulumi.secret(value) : value;
}
