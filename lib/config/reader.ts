// Reading raw `pulumi config` strings: one Reader collects every problem (the
// key, the rule, the value; never a secret's value, which it never sees).

import { PROJECT, PlainKey, RawConfig } from "./keys";

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

const CONTROL = /[\u0000-\u001f\u007f]/;

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

  private json(key: PlainKey): unknown {
    const text = this.raw[key];
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text; // a plain string where JSON was expected; the caller reports the type
    }
  }

  /** An optional string; "" counts as unset (Pulumi.yaml declares optional strings with default ""). */
  string(key: keyof RawConfig): string | undefined {
    const v = this.raw[key];
    if (v === undefined || v === "") return undefined;
    if (CONTROL.test(v)) {
      this.fail(key, "must not contain control characters (newlines, tabs, NUL)", v);
      return undefined;
    }
    return v;
  }

  boolean(key: PlainKey, dflt: boolean): boolean {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    if (v === "true") return true;
    if (v === "false") return false;
    this.fail(key, "must be true or false", v);
    return dflt;
  }

  integer(key: PlainKey, min: number, max: number, dflt?: number): number | undefined {
    const v = this.raw[key];
    if (v === undefined) return dflt;
    const n = /^-?[0-9]+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.fail(key, `must be a whole number from ${min} to ${max}`, v);
      return dflt;
    }
    return n;
  }

  stringList(key: PlainKey, dflt: readonly string[]): string[] {
    const v = this.json(key);
    if (v === undefined) return [...dflt];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      this.fail(key, "must be a list of strings (set it with `pulumi config set --path '<key>[0]' <value>` or a YAML list)", v);
      return [...dflt];
    }
    const bad = (v as string[]).find((x) => CONTROL.test(x));
    if (bad !== undefined) {
      this.fail(key, "entries must not contain control characters (newlines, tabs, NUL)", bad);
      return [...dflt];
    }
    return v as string[];
  }
}

/** Absolute paths without '..' segments. */
export function checkAbsolutePath(r: Reader, key: PlainKey, p: string): void {
  if (!p.startsWith("/")) r.fail(key, "must be an absolute path (starting with /)", p);
  else if (p.split("/").includes("..")) r.fail(key, "must not contain '..' segments", p);
}
