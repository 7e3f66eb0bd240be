// A container's properties as the `#container-spec` user data Berth's
// nova-driver reads (nova-driver/schema/container-spec.schema.json): what
// Nova has no field for travels there, so the server is an ordinary Nova
// server that `openstack server show` and `console log` understand.

import { invalidProperties } from '../core/errors';
import type { Schemas } from '../openapi';

export type ContainerProperties = Schemas['ContainerProperties'];

export const SPEC_HEADER = '#container-spec';
/** Nova refuses user data over 65535 bytes once base64-encoded. */
export const MAX_USER_DATA_BYTES = Math.floor((65535 / 4) * 3);

/** restart_policy `on-failure:3` → the spec's {name, max_retries}. */
export function restartPolicy(p: string): { name: string; max_retries?: number } | undefined {
  if (p === 'no') return undefined;
  const [name, retries] = p.split(':');
  return retries === undefined ? { name: name! } : { name: name!, max_retries: Number(retries) };
}

/** The spec document; `volumeNames` maps OS::Container::Volume ids to their names. */
export function containerSpec(
  p: ContainerProperties,
  volumeNames: Map<string, string> = new Map(),
): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  if (p.command) spec.command = p.command;
  if (p.entrypoint) spec.entrypoint = p.entrypoint;
  if (p.environment && Object.keys(p.environment).length) spec.env = p.environment;
  if (p.working_dir) spec.working_dir = p.working_dir;
  if (p.user) spec.user = p.user;
  if (p.hostname) spec.hostname = p.hostname;
  if (p.ports?.length) spec.ports = p.ports.map((x) => ({ port: x.port, protocol: x.protocol ?? 'tcp' }));
  const restart = restartPolicy(p.restart_policy ?? 'no');
  if (restart) spec.restart_policy = restart;
  if (p.health_check) {
    const h = p.health_check;
    spec.healthcheck = {
      test: h.command,
      ...(h.interval !== undefined ? { interval: h.interval } : {}),
      ...(h.timeout !== undefined ? { timeout: h.timeout } : {}),
      ...(h.retries !== undefined ? { retries: h.retries } : {}),
      ...(h.start_period !== undefined ? { start_period: h.start_period } : {}),
    };
  }
  if (p.labels && Object.keys(p.labels).length) spec.labels = p.labels;
  if (p.volumes?.length) {
    spec.volumes = p.volumes.map((v) => {
      const name = v.name ?? volumeNames.get(v.volume ?? '');
      if (!name) throw invalidProperties(`volume ${v.volume ?? '?'} not found`);
      return { name, target: v.mount_path, ...(v.read_only ? { read_only: true } : {}) };
    });
    const targets = p.volumes.map((v) => v.mount_path);
    const dup = targets.find((t, i) => targets.indexOf(t) !== i);
    if (dup) throw invalidProperties(`two volumes are mounted at ${dup}`);
  }
  return spec;
}

/** The server's user data: the header line, then the spec as JSON (which is YAML too). */
export function userData(p: ContainerProperties, volumeNames?: Map<string, string>): string {
  const text = `${SPEC_HEADER}\n${JSON.stringify(containerSpec(p, volumeNames))}\n`;
  if (Buffer.byteLength(text) > MAX_USER_DATA_BYTES) {
    throw invalidProperties(
      `the container spec is ${Buffer.byteLength(text)} bytes; Nova takes at most ${MAX_USER_DATA_BYTES} (environment or labels too large?)`,
    );
  }
  return text;
}
