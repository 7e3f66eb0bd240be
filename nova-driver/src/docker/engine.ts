/**
 * The container engine contract the agent is written against: the small
 * part of the Docker Engine API it uses, in the Engine API's own JSON shapes.
 * `DockerEngine` implements it over dockerd's unix socket; `FakeEngine` is a
 * complete in-memory implementation the unit tests run against (the pair
 * mirrors nova/virt/driver.py and nova/virt/fake.py).
 */
import type { Readable } from 'node:stream';

export type ContainerStatus =
  'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: ContainerStatus;
  image: string;
}

export interface ContainerState {
  status: ContainerStatus;
  running: boolean;
  paused: boolean;
  exitCode: number;
  pid: number;
  startedAt: string;
  finishedAt: string;
  error: string;
  /** set when the container has a health check */
  health?: string;
}

export interface ContainerDetails extends ContainerSummary {
  state: ContainerState;
  created: string;
  /** the image id (sha256:...) the container runs */
  imageId: string;
  hostConfig: HostConfig;
  config: ContainerConfig;
}

export interface HealthConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

export interface ContainerConfig {
  Image: string;
  Hostname?: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, object>;
  Healthcheck?: HealthConfig;
  StopSignal?: string;
  StopTimeout?: number;
  Tty?: boolean;
  OpenStdin?: boolean;
}

export interface HostConfig {
  NetworkMode?: string;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  PidsLimit?: number;
  RestartPolicy?: { Name: string; MaximumRetryCount?: number };
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[]>;
  Binds?: string[];
  Mounts?: { Type: 'volume' | 'bind' | 'tmpfs'; Source?: string; Target: string; ReadOnly?: boolean }[];
  Tmpfs?: Record<string, string>;
  CapAdd?: string[];
  CapDrop?: string[];
  Privileged?: boolean;
  SecurityOpt?: string[];
  /** [] unmasks /proc and /sys paths (the CLI's systempaths=unconfined) */
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  ReadonlyRootfs?: boolean;
  Init?: boolean;
  Dns?: string[];
  DnsSearch?: string[];
  ExtraHosts?: string[];
  Sysctls?: Record<string, string>;
}

export interface CreateSpec extends ContainerConfig {
  name: string;
  HostConfig: HostConfig;
}

export interface ImageDetails {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  created: string;
  config: {
    Cmd?: string[];
    Entrypoint?: string[];
    Env?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
  };
}

export interface EngineInfo {
  ncpu: number;
  memTotal: number;
  dockerRootDir: string;
  serverVersion: string;
  apiVersion: string;
  storageDriver: string;
  liveRestoreEnabled: boolean;
}

export interface RegistryAuth {
  /** Docker `X-Registry-Auth` identity token or username/password */
  username?: string;
  password?: string;
  registrytoken?: string;
  serveraddress: string;
}

export interface EngineEvent {
  type: 'container' | 'image';
  action: string;
  id: string;
  attributes: Record<string, string>;
}

/** Docker's HTTP status travels with the error: 404 (no such object), 409 (conflict, wrong state) */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof EngineError && e.status === 404;
export const isConflict = (e: unknown): boolean =>
  e instanceof EngineError && (e.status === 409 || e.status === 304);

export interface ContainerEngine {
  ping(): Promise<void>;
  info(): Promise<EngineInfo>;
  /** every container, running or not, with all of the given labels (value true = any value) */
  listContainers(labels: Record<string, string | true>): Promise<ContainerSummary[]>;
  inspectContainer(id: string): Promise<ContainerDetails | undefined>;
  createContainer(spec: CreateSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  restartContainer(id: string, timeoutSeconds: number): Promise<void>;
  killContainer(id: string, signal?: string): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  removeContainer(id: string, opts: { force: boolean; volumes: boolean }): Promise<void>;
  updateContainer(
    id: string,
    resources: Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'RestartPolicy'>,
  ): Promise<void>;
  /** stdout and stderr interleaved as text, the last `tail` lines */
  containerLogs(id: string, tail: number): Promise<string>;
  inspectImage(ref: string): Promise<ImageDetails | undefined>;
  /** `docker load` of a `docker save` tarball; resolves to the loaded image ids or references */
  loadImage(tarball: Readable): Promise<string[]>;
  pullImage(ref: string, auth?: RegistryAuth): Promise<void>;
  tagImage(ref: string, repo: string, tag: string): Promise<void>;
  removeImage(ref: string): Promise<void>;
  /** how many containers (running or not) were created from the image */
  containersUsingImage(ref: string): Promise<number>;
  commitContainer(id: string, repo: string, tag: string): Promise<string>;
  /** `docker save` of one image as a tar stream */
  saveImage(ref: string): Promise<Readable>;
  /** a named volume carrying labels (so the agent finds an instance's volumes again) */
  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  listVolumes(labels: Record<string, string>): Promise<string[]>;
  removeVolume(name: string): Promise<void>;
  /** container events as they happen; call the returned function to stop */
  watchEvents(onEvent: (e: EngineEvent) => void, onError: (e: Error) => void): Promise<() => void>;
}
