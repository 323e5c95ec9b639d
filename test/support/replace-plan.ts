// What the engine plans for one resource between two runs of a program, from
// what the program registers (recorded by test/support/pulumi-mocks.ts): a
// model of the engine's rules, for the mocks tests of which changes replace a
// resource. The end-to-end suite checks the same cases under the real engine.
//
// The rules modelled:
// 1. each ignoreChanges property of the new registration keeps its old value;
// 2. the diff is the top-level properties whose values differ (deep);
// 3. the step is a replacement when a changed property is named by the
//    request's replaceOnChanges ("p" or "p[*]") or is one the provider itself
//    replaces on (its schema's replace-on-change properties);
// 4. a replacement deletes first only with deleteBeforeReplace.

import type { RegisterRequestFields } from "./pulumi-mocks";

/**
 * The command provider's own replace-on-change inputs (remote.Command in
 * @pulumi/command 1.x: `triggers`; its connection is an ordinary input).
 */
export const COMMAND_REPLACE_KEYS: readonly string[] = ["triggers"];

export interface PlannedStep {
  step: "same" | "update" | "replace";
  /** The changed top-level inputs. */
  changed: string[];
  /** Those that force the replacement. */
  replaceBy: string[];
  deleteFirst: boolean;
}

const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x) =>
    x !== null && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  );

export function plannedStep(
  old: Record<string, unknown>,
  next: Record<string, unknown>,
  request: Pick<RegisterRequestFields, "ignoreChanges" | "replaceOnChanges" | "deleteBeforeReplace">,
  providerReplaceKeys: readonly string[],
): PlannedStep {
  const news: Record<string, unknown> = { ...next };
  for (const p of request.ignoreChanges) {
    if (p in old) news[p] = old[p];
    else delete news[p];
  }
  const keys = [...new Set([...Object.keys(old), ...Object.keys(news)])].sort();
  const changed = keys.filter((k) => canonical(old[k]) !== canonical(news[k]));
  const requested = new Set(request.replaceOnChanges.map((p) => p.replace(/\[\*\]$/, "")));
  const replaceBy = changed.filter((k) => requested.has(k) || providerReplaceKeys.includes(k));
  const step = changed.length === 0 ? "same" : replaceBy.length > 0 ? "replace" : "update";
  return { step, changed, replaceBy, deleteFirst: step === "replace" && request.deleteBeforeReplace === true };
}
