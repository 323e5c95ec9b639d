// The typed configuration of one machine (one Pulumi stack), as produced by
// parseConfig() in ./index.ts. Plain data only: secret values are carried as
// the generic type S (pulumi.Output<string> in the program, string in tests),
// and the parser never looks inside them. Fields are named after the keys
// they come from (./schema); a value the parser turns into a structure has
// its own type here.

import type { Value } from "./schema";

/** How the host gets the agenix NixOS module. */
export type AgenixModule =
  | { kind: "fetchTarball"; url: string; sha256?: string }
  | { kind: "provided" };

export type ImportMode = Value<"importMode">;

/** A value allowed in a systemd unit section as NixOS renders it. */
export type UnitValue = string | number | boolean;

export interface StorageConfig<S> {
  /** true: create the bucket and a key; false: use existingKeyId/existingKey. */
  createBucket: boolean;
  /** Set by the user; undefined means "derive from the stack name plus a random suffix". */
  bucketName?: string;
  lifecycleDays: number;
  /**
   * As set: false, the host's key cannot delete (protected); true, it can, on
   * purpose; undefined, never chosen (the key keeps the released list).
   */
  hostCanDelete?: boolean;
  /** The host key's capabilities: as set, or the default for hostCanDelete. */
  keyCapabilities: string[];
  /** Sub-path inside the bucket, no leading slash; undefined for the bucket root. */
  repositoryPath?: string;
  deleteBucketOnDestroy: boolean;
  /** Credentials Pulumi uses to manage B2 (undefined: the provider reads B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY). */
  managementKeyId?: S;
  managementKey?: S;
  /** Existing-bucket mode only. */
  existingKeyId?: S;
  existingKey?: S;
}

export interface SecretsConfig<S> {
  /** The host's SSH public key, normalised to "<type> <base64>". */
  hostKey: string;
  /** Admin recipients, normalised ("<type> <base64>" or "age1..."), in config order, de-duplicated. */
  adminKeys: string[];
  /** agenixDir: the local directory (relative to the project, or absolute) where the .age files and secrets.nix are written. */
  agenixDir: string;
  /** A user-supplied restic password (for an existing repository); undefined: generate one. */
  resticPassword?: S;
}

export interface HostConfig<S> {
  /** false: only write files locally (deploy them with your own tool); true: push over SSH and switch. */
  deploy: boolean;
  host: string;
  sshPort: number;
  sshUser: string;
  sshPrivateKey?: S;
  hostConfigDir: string;
  importMode: ImportMode;
  runFirstBackup: boolean;
}

export interface BackupConfig {
  backupName: string;
  paths: string[];
  exclude: string[];
  pruneOpts: string[];
  timerConfig: Record<string, UnitValue>;
  extraBackupArgs: string[];
  checkOpts: string[];
  runCheck?: boolean;
  agenixModule: AgenixModule;
  notify?: { user: string; uid: number };
  /**
   * The host's NixOS release ("25.11"), from the `nixosRelease` key; the
   * renderer refuses options that release lacks. Undefined: the default
   * (DEFAULT_NIXOS_RELEASE in lib/config/nixos-release.ts).
   */
  nixosRelease?: string;
  /** Which monitoring channels are configured (no values); undefined: none, the module stays as without monitoring. */
  monitoring?: MonitoringFlags;
}

/** Which monitoring secrets are set (named after their keys), for the NixOS module (values never appear in it). */
export interface MonitoringFlags {
  /** healthcheckUrl is set: ping Healthchecks / Uptime Kuma from the backup unit. */
  healthcheckUrl: boolean;
  /** ntfyUrl is set: publish an alert when a run fails. */
  ntfyUrl: boolean;
  /** ntfyToken is set (only with ntfyUrl). */
  ntfyToken: boolean;
  /** drillHealthcheckUrl is set: the restore drill's unit pings its own heartbeat. */
  drillHealthcheckUrl?: boolean;
}

/** The monitoring secrets (carried as S, never inspected here), for the agenix files. */
export interface MonitoringConfig<S> {
  healthcheckUrl?: S;
  ntfyUrl?: S;
  ntfyToken?: S;
  /** The restore drill's own heartbeat URL. */
  drillHealthcheckUrl?: S;
}

/** The restore drill's schedule and sizes (lib/config/drill.ts; rendered by lib/nix/drill.ts). */
export interface DrillSettings {
  /** The drill timer's [Timer] settings. */
  timerConfig: Record<string, UnitValue>;
  /** Files restored and verified per run (0: only the check). */
  sampleFiles: number;
  /** Files larger than this are never sampled. */
  maxFileBytes: number;
  /** t of `restic check --read-data-subset=n/t`: t runs read every pack once. */
  checkGroups: number;
}

export interface DrillConfig<S> {
  /** undefined: `drill: false`, no drill unit. */
  settings?: DrillSettings;
  /** The drill's own heartbeat URL (secret; only its presence is checked). */
  healthcheckUrl?: S;
}

export interface VerifyConfig {
  /** Run the credentials check after the switch (the command is installed either way). */
  verifyOnDeploy: boolean;
}

export interface MachineConfig<S> {
  /** The stack name, used for default names. */
  stack: string;
  storage: StorageConfig<S>;
  secrets: SecretsConfig<S>;
  host: HostConfig<S>;
  backup: BackupConfig;
  monitoring: MonitoringConfig<S>;
  verify: VerifyConfig;
  drill: DrillConfig<S>;
}
