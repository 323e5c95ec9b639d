// Host settings: how the program reaches the NixOS machine and installs the module.

import { UNIX_USER_PATTERN } from "./values";
import { SecretKey } from "./keys";
import { Reader, checkAbsolutePath } from "./reader";
import { HostConfig, ImportMode } from "./types";

const HOST_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/;

export function parseHost<S>(r: Reader, secrets: Partial<Record<SecretKey, S>>): HostConfig<S> {
  const deploy = r.boolean("deploy", true);
  const host = r.string("host") ?? "";
  if (deploy && host === "") r.fail("host", "is required (the NixOS machine's host name or IP address), unless deploy is false");
  if (host !== "" && !HOST_NAME.test(host)) r.fail("host", "must be a host name or an IP address", host);
  const sshPort = r.integer("sshPort", 1, 65535, 22)!;
  const sshUser = r.string("sshUser") ?? "root";
  if (!UNIX_USER_PATTERN.test(sshUser)) r.fail("sshUser", "must be a Unix user name (lower-case letters, digits, '_' and '-')", sshUser);
  const hostConfigDir = (r.string("hostConfigDir") ?? "/etc/nixos").replace(/(.)\/+$/, "$1");
  checkAbsolutePath(r, "hostConfigDir", hostConfigDir);
  const importModeRaw = r.string("importMode") ?? "auto";
  let importMode: ImportMode = "auto";
  if (importModeRaw === "auto" || importModeRaw === "manual") importMode = importModeRaw;
  else r.fail("importMode", "must be 'auto' or 'manual'", importModeRaw);
  const runFirstBackup = r.boolean("runFirstBackup", false);

  return {
    deploy,
    host,
    sshPort,
    sshUser,
    sshPrivateKey: secrets.sshPrivateKey,
    hostConfigDir,
    importMode,
    runFirstBackup,
  };
}
