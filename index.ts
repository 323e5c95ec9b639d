// Wiring only: read the stack config once, build the components, export outputs.
import * as pulumi from "@pulumi/pulumi";
import { AgenixSecrets } from "./components/secrets";
import { HostDeployment } from "./components/host";
import { B2Storage } from "./components/storage";
import { FORM_CHECKED_SECRET_KEYS, PROJECT, SECRET_KEYS, SecretKey, parseConfig, protectionWarning, readRawConfig } from "./lib/config";
import { monitorSecretFiles, renderModule } from "./lib/nix";
import { AGE_FILES, MODULE_FILE, backupLayout, installLayout, moduleAgeFileRef } from "./lib/host/layout";
import { restoreCommands } from "./lib/host/restore";

const stack = pulumi.getStack();
const projectConfig = new pulumi.Config(PROJECT);
const b2Config = new pulumi.Config("b2");

const raw = readRawConfig((key) => projectConfig.get(key));
const secrets: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
for (const key of SECRET_KEYS) {
  secrets[key] = key.startsWith("b2:") ? b2Config.getSecret(key.slice(3)) : projectConfig.getSecret(key);
}
// The monitoring URLs' form is checked on their plaintext (never shown in a message).
const secretText: Partial<Record<SecretKey, string>> = {};
for (const key of FORM_CHECKED_SECRET_KEYS) {
  const v = pulumi.runtime.getConfig(`${PROJECT}:${key}`);
  if (v !== undefined && v !== "") secretText[key] = v;
}
const configWarnings: string[] = [];
const cfg = parseConfig(raw, secrets, stack, { warnings: configWarnings, secretText });
for (const w of configWarnings) pulumi.log.warn(w);
const unprotected = protectionWarning(cfg.storage);
if (unprotected !== undefined) pulumi.log.warn(unprotected);

const storage = new B2Storage(stack, { ...cfg.storage, namePrefix: stack });

// Where the module finds the agenix files: in restic-b2/secrets/ on the host,
// or beside it in agenixDir when another tool deploys them.
const units = backupLayout(cfg.backup.backupName);
const moduleFor = (where: "host" | "beside") => {
  const [env, repo, password] = AGE_FILES.map((f) => moduleAgeFileRef(where, f));
  return renderModule({
    backup: cfg.backup,
    secretFiles: { env, repo, password },
    agenixSecretPrefix: units.agenixPrefix,
    drill: cfg.drill.settings,
  });
};

const agenix = new AgenixSecrets(stack, {
  stack,
  hostKey: cfg.secrets.hostKey,
  adminKeys: cfg.secrets.adminKeys,
  agenixDir: cfg.secrets.agenixDir,
  keyId: storage.keyId,
  key: storage.key,
  repository: storage.repository,
  resticPassword: cfg.secrets.resticPassword,
  module: cfg.host.deploy ? undefined : moduleFor("beside"),
  extraFiles: monitorSecretFiles(cfg.monitoring),
});

if (cfg.host.deploy) {
  new HostDeployment(stack, {
    project: pulumi.getProject(),
    stack,
    host: cfg.host.host,
    sshPort: cfg.host.sshPort,
    sshUser: cfg.host.sshUser,
    sshPrivateKey: cfg.host.sshPrivateKey,
    hostKey: cfg.secrets.hostKey,
    hostConfigDir: cfg.host.hostConfigDir,
    backupName: cfg.backup.backupName,
    importMode: cfg.host.importMode,
    runFirstBackup: cfg.host.runFirstBackup,
    verifyOnDeploy: cfg.verify.verifyOnDeploy,
    module: moduleFor("host"),
    files: agenix.files,
    extraFiles: agenix.extraFiles,
  });
}

// Only the outputs that exist in this stack's mode: an undefined output makes
// the engine warn "Undefined value (...) will not show as a stack output".
// In existing-bucket mode the program never learns the bucket's id, so there
// is no bucketId; hostModulePath and localModulePath exclude each other.
const outputs = {
  bucketName: storage.bucketName,
  ...(cfg.storage.createBucket ? { bucketId: storage.bucketId } : {}),
  repository: storage.repository,
  // The output keeps its first name (secretsDir) for scripts that read it; its value is agenixDir.
  secretsDir: cfg.secrets.agenixDir,
  recipients: agenix.recipients,
  ...(cfg.host.deploy
    ? { hostModulePath: installLayout(cfg.host.hostConfigDir).modulePath }
    : { localModulePath: `${cfg.secrets.agenixDir}/${MODULE_FILE}` }),
  units: { service: units.backupService, timer: units.backupTimer },
  restore: restoreCommands(cfg),
};
export = outputs;
