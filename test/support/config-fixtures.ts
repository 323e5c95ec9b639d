// Stack configs for the lib/config/ tests: a minimal valid one, and the
// parser's answer to it with some keys changed.

import { ConfigError, MachineConfig, RawConfig, SecretKey, parseConfig } from "../../lib/config";

/** A host key as `ssh-keyscan` prints it (with a comment). */
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt root@nixos-dev";

/** The smallest valid stack config: host key, one path, host name. */
export const BASE: RawConfig = { hostKey: HOST_KEY, paths: JSON.stringify(["/home"]), host: "nixos.lan" };

/** BASE with `over` set, parsed for stack "laptop". */
export function parse(over: RawConfig = {}, secrets: Partial<Record<SecretKey, string>> = {}): MachineConfig<string> {
  return parseConfig({ ...BASE, ...over }, secrets, "laptop");
}

/** The ConfigError message for BASE with `over` set; fails when the config parses or another error is thrown. */
export function problems(over: RawConfig, secrets: Partial<Record<SecretKey, string>> = {}): string {
  try {
    parse(over, secrets);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}
