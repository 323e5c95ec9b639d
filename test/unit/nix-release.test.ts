// The host's NixOS release (nixosRelease): the vendored option table agrees
// with the research notes, and every option the config needs is checked
// against the release before anything is rendered.

import * as fs from "node:fs";
import { ConfigError, RawConfig } from "../../lib/config";
import { parse } from "../support/config-fixtures";
import {
  DEFAULT_NIXOS_RELEASE,
  OLDEST_NIXOS_RELEASE,
  PATHS_VIA_FILES_FROM_SINCE,
  RESTIC_OPTION_SINCE,
  compareReleases,
  missingInRelease,
} from "../../lib/config/nixos-release";
import { EMITTED_RESTIC_OPTIONS, renderModule } from "../../lib/nix";
import { defaultBackup, moduleOptions } from "../support/nix-module-fixtures";
import { fixturePath } from "../support/shared";

/** The option list the table was made from: the project's copy in test/fixtures/ (see its PROVENANCE.md). */
function optionFacts(): Record<string, { sinceRelease: string; sinceConfidence: string }> {
  return JSON.parse(fs.readFileSync(fixturePath("nixos-restic-options.json"), "utf8"));
}

/** The ConfigError message, "" when the config parses. */
function problems(over: RawConfig): string {
  try {
    parse(over);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  return "";
}

test("the vendored table is the research notes' option list, release and confidence for each option", () => {
  const facts = optionFacts();
  expect(Object.keys(RESTIC_OPTION_SINCE).sort()).toEqual(Object.keys(facts).sort());
  for (const [option, f] of Object.entries(facts)) {
    expect([option, RESTIC_OPTION_SINCE[option].sinceRelease, RESTIC_OPTION_SINCE[option].confidence]).toEqual([option, f.sinceRelease, f.sinceConfidence]);
  }
});

test("the renderer can emit only options that exist in NixOS, and all of them exist in the oldest supported release or are checked", () => {
  for (const o of EMITTED_RESTIC_OPTIONS) expect(RESTIC_OPTION_SINCE[o]).toBeDefined();
  // What the module always sets needs nothing newer than the oldest release.
  for (const o of ["initialize", "environmentFile", "repositoryFile", "passwordFile", "paths", "pruneOpts", "timerConfig", "extraBackupArgs"]) {
    expect(missingInRelease(o, OLDEST_NIXOS_RELEASE)).toBeUndefined();
  }
  expect(() => missingInRelease("settings", "25.11")).toThrow(/not a NixOS option/);
});

test("releases compare by date; unstable is the newest", () => {
  const order = ["21.11", "22.05", "22.11", "23.05", "23.11", "24.05", "24.11", "25.05", "25.11", "26.05", "unstable"];
  for (let i = 1; i < order.length; i++) expect(compareReleases(order[i - 1], order[i])).toBeLessThan(0);
  expect(compareReleases("24.05", "24.05")).toBe(0);
});

test.each([
  ["24.11", "24.11"],
  ["unstable", "unstable"],
  ["", undefined],
])("nixosRelease %j is accepted", (value, expected) => {
  expect(parse({ nixosRelease: value }).backup.nixosRelease).toBe(expected);
});

test.each([
  ["24.1", /nixosRelease: must be a NixOS release like 25\.11/],
  ["24.04", /must be a NixOS release/],
  ["v24.11", /must be a NixOS release/],
  ["21.05", /must be 21\.11 or newer: the module sets services\.restic\.backups\.<name>\.environmentFile/],
])("nixosRelease %j is refused", (value, rule) => {
  expect(problems({ nixosRelease: value })).toMatch(rule);
});

test(`the default release is ${DEFAULT_NIXOS_RELEASE}, which has every option the table lists`, () => {
  expect(parse({}).backup.nixosRelease).toBeUndefined();
  for (const o of Object.keys(RESTIC_OPTION_SINCE)) expect(missingInRelease(o, DEFAULT_NIXOS_RELEASE)).toBeUndefined();
});

// Config keys whose value makes the module set a newer option.
const USES: [string, RawConfig, string][] = [
  ["exclude", { exclude: JSON.stringify(["*.tmp"]) }, "exclude"],
  ["checkOpts", { checkOpts: JSON.stringify(["--read-data"]) }, "checkOpts"],
  ["runCheck", { runCheck: "true" }, "runCheck"],
];
const RELEASES = ["21.11", "22.05", "22.11", "23.05", "23.11", "24.05", "24.11", "25.05", "25.11", "26.05", "unstable"];

describe.each(USES)("%s", (key, over, option) => {
  const since = optionFacts()[option].sinceRelease;
  test.each(RELEASES)(`on NixOS %s: accepted exactly from ${since}, else refused naming the key, option and release`, (release) => {
    const msg = problems({ ...over, nixosRelease: release });
    if (compareReleases(release, since) >= 0) {
      expect(msg).toBe("");
      expect(() => renderModule(moduleOptions(parse({ ...over, nixosRelease: release }).backup))).not.toThrow();
    } else {
      expect(msg).toContain(`nixos-restic-b2:${key}: needs services.restic.backups.<name>.${option}, which NixOS ${since} added; nixosRelease is ${release}`);
    }
  });
  test("the renderer refuses it too when a caller skipped the parser", () => {
    const b = { ...defaultBackup(), ...parse(over).backup, nixosRelease: "21.11" };
    expect(() => renderModule(moduleOptions(b))).toThrow(new RegExp(`${option} needs NixOS ${since.replace(".", "\\.")} or newer; the host runs 21\\.11`));
  });
});

test("unset runCheck and empty exclude/checkOpts work on the oldest release", () => {
  expect(problems({ nixosRelease: OLDEST_NIXOS_RELEASE })).toBe("");
  expect(renderModule(moduleOptions(parse({ nixosRelease: OLDEST_NIXOS_RELEASE }).backup))).not.toMatch(/exclude|checkOpts|runCheck/);
});

describe("paths on releases whose restic module may put them on the command line", () => {
  test.each(["21.11", "23.05", "23.11"])("NixOS %s: plain paths pass, others are refused naming the key", (release) => {
    expect(problems({ nixosRelease: release, paths: JSON.stringify(["/home", "/var/lib/app-1", "/srv/a_b.c"]) })).toBe("");
    for (const p of ["/srv/with space", "/srv/[x]", "/srv/100%", "/srv/$x", "/srv/Ünï"]) {
      expect(problems({ nixosRelease: release, paths: JSON.stringify([p]) })).toContain(
        `nixos-restic-b2:paths: on NixOS before ${PATHS_VIA_FILES_FROM_SINCE} the restic module may put paths on the ExecStart= command line`,
      );
    }
  });
  test.each(["24.05", "25.11", "unstable"])("NixOS %s: any accepted path", (release) => {
    expect(problems({ nixosRelease: release, paths: JSON.stringify(["/srv/with space", "/srv/[x] 100% $x Ünï"]) })).toBe("");
  });
  test("the renderer refuses it too", () => {
    const b = { ...defaultBackup(), paths: ["/srv/with space"], nixosRelease: "23.11" };
    expect(() => renderModule(moduleOptions(b))).toThrow(/before NixOS 24\.05 only paths/);
  });
});
