// The one place `npm run recover` learns about the stack: its configuration
// and outputs through the Automation API (the status command's reader,
// lib/status/stacks.ts), through the program's own parser, mapped to the
// plain RecoverTarget that ./run.ts works on. Secrets (the management key)
// stay in this process's memory.

import { ConfigError, keyNamePrefix, normalizeRepositoryPath, parseConfig, repositoryUrl } from "../config";
import { adminResticCommand } from "../host/restore";
import { StackConfig, configInputs, openStacks, readStack } from "../status/stacks";
import { RecoverTarget } from "./run";

/** What keeps recovery from starting: one line each, naming the key; never a secret's value. */
export class TargetError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "TargetError";
  }
}

/**
 * The target from one stack's config and outputs (pure: tested without the
 * CLI). The management key is the stack's b2:applicationKeyId/b2:applicationKey,
 * else B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY from `env`, as `pulumi up` uses them.
 */
export function targetFromStack(stack: string, all: StackConfig, outputs: Record<string, unknown>, env: NodeJS.ProcessEnv): RecoverTarget {
  const { raw, secrets } = configInputs(all);
  let cfg;
  try {
    cfg = parseConfig(raw, secrets, stack, { secretText: secrets });
  } catch (e) {
    if (e instanceof ConfigError) throw new TargetError(e.problems);
    throw e;
  }
  const problems: string[] = [];
  const bucketName = cfg.storage.bucketName ?? (typeof outputs.bucketName === "string" ? outputs.bucketName : undefined);
  if (bucketName === undefined) {
    problems.push("bucketName: the stack has no bucketName output (it was never deployed) and no bucketName key, so the bucket is unknown");
  }
  const keyId = secrets["b2:applicationKeyId"] ?? env.B2_APPLICATION_KEY_ID;
  const key = secrets["b2:applicationKey"] ?? env.B2_APPLICATION_KEY;
  if (keyId === undefined || keyId === "" || key === undefined || key === "") {
    problems.push(
      "b2:applicationKeyId/b2:applicationKey: recovery needs the management key (one that may list and delete file versions in the bucket, " +
        "never the host's): set both in the stack with `pulumi config set --secret`, or export B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY",
    );
  }
  if (problems.length > 0) throw new TargetError(problems);
  const repositoryPath = normalizeRepositoryPath(cfg.storage.repositoryPath);
  return {
    stack,
    bucketName: bucketName!,
    prefix: keyNamePrefix(repositoryPath) ?? "",
    repository: repositoryUrl(bucketName!, repositoryPath),
    windowDays: cfg.storage.lifecycleDays,
    keyId: keyId!,
    key: key!,
    nextSteps: [adminResticCommand(cfg, "check"), adminResticCommand(cfg, "snapshots")],
  };
}

/** Reads `stack` of the project in `projectDir` through the Pulumi CLI. */
export async function loadTarget(projectDir: string, stack: string, env: NodeJS.ProcessEnv = process.env): Promise<RecoverTarget> {
  const { ws } = await openStacks({ projectDir, stack });
  const { config, outputs } = await readStack(ws, stack);
  return targetFromStack(stack, config, outputs, env);
}
