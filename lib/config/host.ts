// Host settings: how the program reaches the NixOS machine and installs the module.

import { SecretKey } from "./keys";
import { Reader } from "./reader";
import { HostConfig } from "./types";
import { absolutePathProblem } from "./values";

export function parseHost<S>(r: Reader, secrets: Partial<Record<SecretKey, S>>): HostConfig<S> {
  const deploy = r.get("deploy");
  const host = r.get("host") ?? "";
  if (deploy && host === "") r.fail("host", "is required (the NixOS machine's host name or IP address), unless deploy is false");
  const sshPort = r.get("sshPort");
  const sshUser = r.get("sshUser");
  const hostConfigDir = r.get("hostConfigDir").replace(/(.)\/+$/, "$1");
  const dirProblem = absolutePathProblem(hostConfigDir);
  if (dirProblem !== undefined) r.fail("hostConfigDir", dirProblem, hostConfigDir);
  const importMode = r.get("importMode");
  const runFirstBackup = r.get("runFirstBackup");

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
