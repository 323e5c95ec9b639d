// Unit files from the systemd definitions a module makes itself, for
// `systemd-analyze verify` without nixpkgs: the definitions as nix-instantiate
// evaluates them with stubs (test/support/nix-stubs.ts), written the way
// NixOS writes a unit from such a definition:
//   [Unit]     Description=, Wants=, After=, OnFailure= (lists joined by
//              spaces), X-RestartIfChanged=false when restartIfChanged is false;
//   [Service]  Environment="NAME=value" for each `environment` entry, then the
//              serviceConfig entries by name, one line per list item, booleans
//              as true/false, an lib.mkBefore/mkOrder wrapper as its content;
//              `script` becomes ExecStart= of a script in the store;
//   [Timer]    the timerConfig entries, the same way;
//   [Install]  WantedBy= from wantedBy.
// Every stub script a value names (writeShellScript's "/stub-script:...:end")
// becomes a file in the store (a fake path from its name and text), so verify
// finds each command and checks it is executable. Only a subset of NixOS's
// writer (no default PATH, no store-wide settings): where the machine has
// nixpkgs, the module-system suites verify the units NixOS itself writes.

import { createHash } from "node:crypto";
import type { StubEvaluated } from "./nix-stubs";
import type { StoreFile } from "./systemd-verify";

type Definition = Record<string, unknown>;

export interface StubUnits {
  /** Unit file texts by file name ("<name>.service", "<name>.timer"). */
  units: Record<string, string>;
  /** The store files the units' commands name (the stub scripts), by path. */
  files: Record<string, StoreFile>;
}

const STUB = /\/stub-script:(\{"name":"(?:[^"\\]|\\.)*","text":"(?:[^"\\]|\\.)*"\}):end/g;

/** The store path a script gets: a hash of its name and text, then its name (what verifyUnits recognises). */
function storePath(name: string, text: string): string {
  return `/nix/store/${createHash("sha256").update(`${name}\n${text}`).digest("hex").slice(0, 32)}-${name}`;
}

class Writer {
  readonly files: Record<string, StoreFile> = {};

  /** `s` with every stub script replaced by its store path (nested scripts first). */
  resolve(s: string): string {
    return s.replace(STUB, (_m, json: string) => {
      const { name, text } = JSON.parse(json) as { name: string; text: string };
      return this.script(name, this.resolve(text));
    });
  }

  /** An executable script in the store, as writeShellScript makes it. */
  script(name: string, text: string): string {
    const p = storePath(name, text);
    this.files[p] = { text: `#!/bin/sh\n${text}`, executable: true };
    return p;
  }

  value(v: unknown): string {
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "string") return this.resolve(v);
    if (typeof v === "number") return String(v);
    throw new Error(`stub-units: cannot write ${JSON.stringify(v)} as a unit value`);
  }

  /** Key=value lines of a settings attrset (serviceConfig, timerConfig), by key. */
  settings(attrs: Definition): string[] {
    const out: string[] = [];
    for (const key of Object.keys(attrs).sort()) {
      let v = attrs[key];
      if (typeof v === "object" && v !== null && (v as Definition)._type === "order") v = (v as Definition).content;
      for (const item of Array.isArray(v) ? v : [v]) out.push(`${key}=${this.value(item)}`);
    }
    return out;
  }
}

const words = (v: unknown): string => (v as string[]).join(" ");

function unitSection(def: Definition): string[] {
  const out = ["[Unit]"];
  if (def.description !== undefined) out.push(`Description=${def.description as string}`);
  for (const [attr, key] of [["wants", "Wants"], ["after", "After"], ["onFailure", "OnFailure"]] as const) {
    if (def[attr] !== undefined) out.push(`${key}=${words(def[attr])}`);
  }
  if (def.restartIfChanged === false) out.push("X-RestartIfChanged=false");
  return out;
}

function installSection(def: Definition): string[] {
  return def.wantedBy === undefined ? [] : ["", "[Install]", `WantedBy=${words(def.wantedBy)}`];
}

/**
 * The unit files of a stub evaluation's systemd.services and systemd.timers.
 * A service the module only adds to (no ExecStart=, no script: the backup
 * unit, which NixOS's restic module makes) is left out and named in `partial`.
 */
export function stubUnits(m: StubEvaluated): StubUnits & { partial: string[] } {
  const w = new Writer();
  const units: Record<string, string> = {};
  const partial: string[] = [];
  for (const [name, def] of Object.entries(m.systemd?.services ?? {}) as [string, Definition][]) {
    const config = { ...((def.serviceConfig as Definition | undefined) ?? {}) };
    if (def.script !== undefined) config.ExecStart = w.script(`${name}-start`, `set -e\n${w.resolve(def.script as string)}`);
    // No ExecStart=, or only steps added to a list another module defines
    // (lib.mkAfter): NixOS's restic module makes this unit (addedServiceUnit).
    if (config.ExecStart === undefined || isOrder(config.ExecStart)) {
      partial.push(name);
      continue;
    }
    const env = Object.entries((def.environment as Record<string, string> | undefined) ?? {}).map(([k, v]) => `Environment="${k}=${v}"`);
    units[`${name}.service`] = [...unitSection(def), "", "[Service]", ...env, ...w.settings(config), ...installSection(def), ""].join("\n");
  }
  for (const [name, def] of Object.entries(m.systemd?.timers ?? {}) as [string, Definition][]) {
    units[`${name}.timer`] = [...unitSection(def), "", "[Timer]", ...w.settings(def.timerConfig as Definition), ...installSection(def), ""].join("\n");
  }
  return { units, files: w.files, partial: partial.sort() };
}

const isOrder = (v: unknown): boolean => typeof v === "object" && v !== null && (v as Definition)._type === "order";

/**
 * What a module adds to a service another module makes (the backup unit: the
 * prune step, KillMode=), as a unit of its own for `systemd-analyze verify`:
 * [Service] with Type=oneshot (what NixOS's restic module sets), then the
 * added serviceConfig entries.
 */
export function addedServiceUnit(m: StubEvaluated, name: string): StubUnits {
  const w = new Writer();
  const def = (m.systemd?.services[name] ?? {}) as Definition;
  const config = (def.serviceConfig as Definition | undefined) ?? {};
  return { units: { [`${name}.service`]: ["[Service]", "Type=oneshot", ...w.settings(config), ""].join("\n") }, files: w.files };
}

/** The timer NixOS's restic module makes for a backup from its timerConfig (the service is a placeholder). */
export function backupTimerUnits(name: string, timerConfig: Definition): StubUnits {
  const w = new Writer();
  return {
    units: {
      [`restic-backups-${name}.timer`]: ["[Unit]", "", "[Timer]", ...w.settings(timerConfig), "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
      // What the timer starts; the real unit comes from NixOS's restic module.
      [`restic-backups-${name}.service`]: `[Service]\nType=oneshot\nExecStart=/nix/store/${"0".repeat(32)}-placeholder/bin/true\n`,
    },
    files: w.files,
  };
}
