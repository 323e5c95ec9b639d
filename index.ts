// Wiring only: read the stack config once, build the components, export outputs.
import * as pulumi from "@pulumi/pulumi";
import { AgenixSecrets } from "./components/secrets";
import { HOST_SECRETS_SUBDIR, HostDeployment, hostLayout } from "./components/host";
import { B2Storage } from "./components/storage";
import { PLAIN_KEYS, PROJECT, RawConfig, SECRET_KEYS, SecretKey, parseConfig } from "./lib/config";
import { renderModule } from "./lib/nix";
import { restoreCommands } from "./lib/host/restore";

const stack = pulumi.getStack();
const projectConfig = new pulumi.Config(PROJECT);
const b2Config = new pulumi.Config("b2");

const raw: RawConfig = {};
for (const key of PLAIN_KEYS) raw[key] = projectConfig.get(key);
const secrets: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
for (const key of SECRET_KEYS) {
  secrets[key] = key.startsWith("b2:") ? b2Config.getSecret(key.slice(3)) : projectConfig.getSecret(key);
}
const cfg = parseConfig(raw, secrets, stack);

const storage = new B2Storage(stack, {
  createBucket: cfg.storage.createBucket,
  bucketName: cfg.storage.bucketName,
  namePrefix: stack,
  lifecycleDays: cfg.storage.lifecycleDays,
  keyCapabilities: cfg.storage.keyCapabilities,
  repositoryPath: cfg.storage.repositoryPath,
  deleteBucketOnDestroy: cfg.storage.deleteBucketOnDestroy,
  managementKeyId: cfg.storage.managementKeyId,
  managementKey: cfg.storage.managementKey,
  existingKeyId: cfg.storage.existingKeyId,
  existingKey: cfg.storage.existingKey,
});

// Where the module finds the agenix files: beside it in restic-b2/secrets/ on
// the host, or beside it in secretsDir when another tool deploys them.
const moduleFor = (dir: string) =>
  renderModule({
    backup: cfg.backup,
    secretFiles: { env: `${dir}/env.age`, repo: `${dir}/repo.age`, password: `${dir}/password.age` },
    agenixSecretPrefix: `restic-b2-${cfg.backup.backupName}`,
    drill: cfg.drill.settings,
  });

const agenix = new AgenixSecrets(stack, {
  stack,
  hostKey: cfg.secrets.hostKey,
  adminKeys: cfg.secrets.adminKeys,
  secretsDir: cfg.secrets.secretsDir,
  keyId: storage.keyId,
  key: storage.key,
  repository: storage.repository,
  resticPassword: cfg.secrets.resticPassword,
  module: cfg.host.deploy ? undefined : moduleFor("."),
});

const layout = hostLayout(cfg.host.hostConfigDir, cfg.backup.backupName);
if (cfg.host.deploy) {
  new HostDeployment(stack, {
    host: cfg.host.host,
    sshPort: cfg.host.sshPort,
    sshUser: cfg.host.sshUser,
    sshPrivateKey: cfg.host.sshPrivateKey,
    hostKey: cfg.secrets.hostKey,
    hostConfigDir: cfg.host.hostConfigDir,
    backupName: cfg.backup.backupName,
    importMode: cfg.host.importMode,
    runFirstBackup: cfg.host.runFirstBackup,
    module: moduleFor(`./${HOST_SECRETS_SUBDIR}`),
    files: agenix.files,
  });
}

export const bucketName = storage.bucketName;
export const bucketId = storage.bucketId;
export const repository = storage.repository;
export const secretsDir = cfg.secrets.secretsDir;
export const recipients = agenix.recipients;
export const hostModulePath = cfg.host.deploy ? layout.modulePath : undefined;
export const localModulePath = cfg.host.deploy ? undefined : `${cfg.secrets.secretsDir}/module.nix`;
export const units = { service: layout.service, timer: layout.timer };
export const restore = restoreCommands(cfg);
