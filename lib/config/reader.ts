// Reading raw `pulumi config` strings: one Reader collects every problem (the
// key, the rule, the value; never a secret's value, which it never sees).
// Types, defaults, ranges and single-value rules come from the key's
// declaration in ./schema.

import { PROJECT, RawConfig } from "./keys";
import { PlainKey, Value, choicesRule, declOf, integerRule } from "./schema";
import { CONTROL_CHARACTERS } from "./values";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Quote a user value for an error message (JSON string syntax, cut when very long). */
function show(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  const cut = s.length > 120 ? `${s.slice(0, 117)}...` : s;
  return JSON.stringify(cut);
}

export class Reader {
  readonly problems: string[] = [];
  constructor(private readonly raw: RawConfig) {}

  /** Whether the key is set at all (even to ""). */
  has(key: PlainKey): boolean {
    return this.raw[key] !== undefined;
  }

  fail(key: string, rule: string, value?: unknown): void {
    const full = key.includes(":") ? key : `${PROJECT}:${key}`;
    this.problems.push(value === undefined ? `${full}: ${rule}` : `${full}: ${rule}; got ${show(value)}`);
  }

  /**
   * The key's typed value, as its declaration says: the default when unset,
   * the default (or undefined) when the text is not of the key's type or out
   * of range, the value itself when it breaks the key's rule (the problem is
   * recorded either way).
   */
  get<K extends PlainKey>(key: K): Value<K> {
    return this.read(key) as Value<K>;
  }

  private read(key: PlainKey): unknown {
    const d = declOf(key);
    switch (d.type) {
      case "boolean":
        return this.boolean(key, d.default);
      case "tristate":
        return this.string(key) === undefined ? undefined : this.boolean(key, false);
      case "integer":
        return this.integer(key, d.min, d.max, integerRule(d), d.default);
      case "list": {
        const list = this.stringList(key, d.default ?? [], d.entry === undefined);
        for (const entry of list) {
          const problem = d.entry?.(entry);
          if (problem !== undefined) this.fail(key, problem, entry);
        }
        if (this.has(key) && list.length === 0 && d.nonEmpty !== undefined) this.fail(key, d.nonEmpty);
        return list;
      }
      case "string": {
        const v = this.string(key);
        if (v === undefined) return d.default;
        if (d.choices !== undefined && !d.choices.includes(v)) {
          this.fail(key, choicesRule(d.choices), v);
          return d.default;
        }
        const problem = d.rule?.(v);
        if (problem !== undefined) this.fail(key, problem, v);
        return v;
      }
      case "secret":
        throw new Error(`Reader: ${key} is a secret key`);
    }
  }

  private json(key: PlainKey): unknown {
    const text = this.raw[key];
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text; // a plain string where JSON was expected; the caller reports the type
    }
  }

  /** An optional string, also of a deprecated key; "" counts as unset (Pulumi.yaml declares optional strings with default ""). */
  string(key: keyof RawConfig): string | undefined {
    const v = this.raw[key];
    if (v === undefined || v === "") return undefined;
    if (CONTROL_CHARACTERS.test(v)) {
      this.fail(key, "must not contain control characters (newlines, tabs, NUL)", v);
      return undefined;
    }
    return v;
  }

  private boolean(key: PlainKey, dflt: boolean): boolean {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    if (v === "true") return true;
    if (v === "false") return false;
    this.fail(key, "must be true or false", v);
    return dflt;
  }

  private integer(key: PlainKey, min: number, max: number, rule: string, dflt?: number): number | undefined {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    const n = /^-?[0-9]+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.fail(key, rule, v);
      return dflt;
    }
    return n;
  }

  /** A list of strings; its entries are checked for control characters here unless the key's entry rule checks them. */
  private stringList(key: PlainKey, dflt: readonly string[], checkControl: boolean): string[] {
    const v = this.json(key);
    if (v === undefined) return [...dflt];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      this.fail(key, "must be a list of strings (set it with `pulumi config set --path '<key>[0]' <value>` or a YAML list)", v);
      return [...dflt];
    }
    const bad = checkControl ? (v as string[]).find((x) => CONTROL_CHARACTERS.test(x)) : undefined;
    if (bad !== undefined) {
      this.fail(key, "entries must not contain control characters (newlines, tabs, NUL)", bad);
      return [...dflt];
    }
    return v as string[];
  }
}
