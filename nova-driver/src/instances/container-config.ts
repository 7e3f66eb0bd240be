/**
 * Builds the Engine API create bodies for an instance: the sandbox that holds
 * its network namespace (so restarting the workload keeps its interfaces and
 * addresses, which nova-docker lost), and the workload itself, with the
 * flavor's limits and the user's container spec applied.
 */
import type { ContainerSpec } from '../spec/container-spec';
import type { CreateSpec, HostConfig } from '../docker/engine';
import { containerName, LABELS } from './naming';
import { parseVifs } from '../net/vif';

export interface InstanceDTO {
  uuid: string;
  /** Nova's instance name (instance-0000000a) */
  name: string;
  hostname?: string | null;
  display_name?: string | null;
  project_id: string;
  user_id: string;
  flavor: {
    name: string;
    vcpus: number;
    memory_mb: number;
    root_gb: number;
    ephemeral_gb?: number;
    extra_specs: Record<string, string>;
  };
  /** base64, as Nova keeps it */
  user_data?: string | null;
  metadata?: Record<string, string>;
}

export interface BuildOptions {
  host: string;
  sandboxImage: string;
  pidsLimit: number;
  /** capabilities the host can grant (nested-docker profile) */
  hostCapabilities: string[];
}

const MiB = 1024 * 1024;

export function baseLabels(
  inst: InstanceDTO,
  host: string,
  role: 'sandbox' | 'workload',
): Record<string, string> {
  return {
    [LABELS.instanceUuid]: inst.uuid,
    [LABELS.instanceName]: inst.name,
    [LABELS.projectId]: inst.project_id,
    [LABELS.userId]: inst.user_id,
    [LABELS.role]: role,
    [LABELS.host]: host,
  };
}

export function sandboxCreateSpec(
  inst: InstanceDTO,
  spec: ContainerSpec,
  o: BuildOptions,
  networkInfo: unknown[] = [],
): CreateSpec {
  // the DNS servers of the server's subnets, as Neutron gives them (resolv.conf is shared with the workload)
  const dns = [...new Set(parseVifs(networkInfo).flatMap((v) => v.dns))];
  return {
    name: containerName(inst.uuid, 'sandbox'),
    Image: o.sandboxImage,
    Cmd: ['/bin/sleep', 'infinity'],
    // the UTS namespace lives here too: Docker refuses a hostname on a container joining another's network
    Hostname: spec.hostname ?? inst.hostname ?? inst.uuid.slice(0, 12),
    Labels: baseLabels(inst, o.host, 'sandbox'),
    // ports belong to the network namespace: Docker refuses them on a container joining another's network
    ...(spec.ports.length ? { ExposedPorts: exposedPorts(spec) } : {}),
    StopSignal: 'SIGKILL',
    HostConfig: {
      NetworkMode: 'none',
      Memory: 16 * MiB,
      MemorySwap: 16 * MiB,
      // no CPU quota: it only sleeps, and a small quota throttles its start (runc init) by hundreds of ms
      PidsLimit: 8,
      RestartPolicy: { Name: 'unless-stopped' },
      CapDrop: ['ALL'],
      ReadonlyRootfs: true,
      SecurityOpt: ['no-new-privileges'],
      ...(dns.length ? { Dns: dns } : {}),
    },
  };
}

export function workloadCreateSpec(
  inst: InstanceDTO,
  image: string,
  spec: ContainerSpec,
  sandboxId: string | undefined,
  o: BuildOptions,
): CreateSpec {
  const memory = inst.flavor.memory_mb * MiB;
  const host: HostConfig = {
    NetworkMode: spec.hostNetwork ? 'host' : `container:${sandboxId}`,
    Memory: memory,
    // no swap beyond the flavor's memory
    MemorySwap: memory,
    NanoCpus: Math.round(inst.flavor.vcpus * 1e9),
    PidsLimit: o.pidsLimit,
    RestartPolicy: {
      Name: spec.restartPolicy.name,
      ...(spec.restartPolicy.maxRetries !== undefined
        ? { MaximumRetryCount: spec.restartPolicy.maxRetries }
        : {}),
    },
    Init: true,
    Mounts: spec.volumes.map((v) =>
      v.hostPath
        ? { Type: 'bind' as const, Source: v.hostPath, Target: v.target, ReadOnly: v.readOnly }
        : {
            Type: 'volume' as const,
            Source: volumeName(inst.uuid, v.name!),
            Target: v.target,
            ReadOnly: v.readOnly,
          },
    ),
    Tmpfs: Object.fromEntries(spec.tmpfs.map((t) => [t, 'rw,nosuid,nodev'])),
    ReadonlyRootfs: spec.readOnlyRootfs,
    CapAdd: spec.capAdd,
    CapDrop: spec.capDrop,
    Privileged: spec.privileged,
    SecurityOpt: [],
  };
  if (spec.nestedDocker) {
    // what runs dockerd inside here (shared/reference/nested-dockerd.md):
    // the host's capabilities, unconfined profiles, a writable cgroup tree,
    // /var/lib/docker on a volume rather than on overlay
    host.CapAdd = [...new Set([...o.hostCapabilities, ...spec.capAdd])];
    host.SecurityOpt = ['seccomp=unconfined', 'apparmor=unconfined'];
    // what `docker run --security-opt systempaths=unconfined` sends: the
    // Engine API itself has no such security option (dockerd answers 500)
    host.MaskedPaths = [];
    host.ReadonlyPaths = [];
    host.Mounts = [
      ...(host.Mounts ?? []),
      { Type: 'bind', Source: '/sys/fs/cgroup', Target: '/sys/fs/cgroup', ReadOnly: false },
      { Type: 'volume', Source: volumeName(inst.uuid, 'docker'), Target: '/var/lib/docker', ReadOnly: false },
    ];
    host.Tmpfs = { '/run': 'rw,nosuid,nodev,exec', '/tmp': 'rw,nosuid,nodev,exec', ...host.Tmpfs };
    host.Init = false;
  }
  const labels = { ...spec.labels, ...baseLabels(inst, o.host, 'workload') };
  const c: CreateSpec = {
    name: containerName(inst.uuid, 'workload'),
    Image: image,
    Labels: labels,
    Env: Object.entries({ ...metadataEnv(inst), ...spec.env }).map(([k, v]) => `${k}=${v}`),
    Tty: spec.tty,
    HostConfig: host,
  };
  if (spec.command) c.Cmd = spec.command;
  if (spec.entrypoint) c.Entrypoint = spec.entrypoint;
  if (spec.workingDir) c.WorkingDir = spec.workingDir;
  if (spec.user) c.User = spec.user;
  if (spec.stopSignal) c.StopSignal = spec.stopSignal;
  if (spec.stopTimeout !== undefined) c.StopTimeout = spec.stopTimeout;
  if (spec.hostNetwork && (spec.hostname ?? inst.hostname)) c.Hostname = spec.hostname ?? inst.hostname!;
  if (spec.ports.length && spec.hostNetwork) c.ExposedPorts = exposedPorts(spec);
  if (spec.healthcheck) {
    const h = spec.healthcheck;
    c.Healthcheck = {
      Test: h.test,
      ...(h.intervalNs !== undefined ? { Interval: h.intervalNs } : {}),
      ...(h.timeoutNs !== undefined ? { Timeout: h.timeoutNs } : {}),
      ...(h.retries !== undefined ? { Retries: h.retries } : {}),
      ...(h.startPeriodNs !== undefined ? { StartPeriod: h.startPeriodNs } : {}),
    };
  }
  return c;
}

/** Nova's identity of the server, as the container sees it (nova-docker gave metadata as env too) */
function metadataEnv(inst: InstanceDTO): Record<string, string> {
  return {
    OPENSTACK_INSTANCE_UUID: inst.uuid,
    ...(inst.display_name ? { OPENSTACK_SERVER_NAME: inst.display_name } : {}),
  };
}

const exposedPorts = (spec: ContainerSpec) =>
  Object.fromEntries(spec.ports.map((p) => [`${p.port}/${p.protocol}`, {}]));

export const volumeName = (uuid: string, name: string) => `nova-${uuid}-${name}`;
