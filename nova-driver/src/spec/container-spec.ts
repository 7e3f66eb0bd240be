/**
 * The container spec: container options Nova has no field for, carried in
 * the server's user data after a `#container-spec` first line, as YAML or
 * JSON, validated against the published JSON Schema
 * (nova-driver/schema/container-spec.schema.json). Other user data (plain
 * cloud-init, scripts) is not ours and is ignored.
 */
import Ajv, { ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';

import schema from '../../schema/container-spec.schema.json';

export const SPEC_HEADER = '#container-spec';

export interface PortSpec {
  port: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

export interface VolumeSpec {
  name?: string;
  hostPath?: string;
  target: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  command?: string[];
  entrypoint?: string[];
  env: Record<string, string>;
  workingDir?: string;
  user?: string;
  hostname?: string;
  ports: PortSpec[];
  volumes: VolumeSpec[];
  tmpfs: string[];
  restartPolicy: { name: 'no' | 'always' | 'unless-stopped' | 'on-failure'; maxRetries?: number };
  healthcheck?: {
    test: string[];
    intervalNs?: number;
    timeoutNs?: number;
    retries?: number;
    startPeriodNs?: number;
  };
  labels: Record<string, string>;
  stopSignal?: string;
  stopTimeout?: number;
  readOnlyRootfs: boolean;
  tty: boolean;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  hostNetwork: boolean;
  nestedDocker: boolean;
}

/** A spec the user sent is unusable; the message says what and where, for the server's fault. */
export class ContainerSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerSpecError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

/** An empty spec: what a server without a container spec runs with (the image's own settings). */
export function defaultSpec(): ContainerSpec {
  return {
    env: {},
    ports: [],
    volumes: [],
    tmpfs: [],
    restartPolicy: { name: 'no' },
    labels: {},
    readOnlyRootfs: false,
    tty: false,
    privileged: false,
    capAdd: [],
    capDrop: [],
    hostNetwork: false,
    nestedDocker: false,
  };
}

/**
 * Reads Nova's user data (base64, as Nova stores it). Returns the default
 * spec when there is no user data or it is not a container spec.
 */
export function specFromUserData(userDataB64: string | null | undefined): ContainerSpec {
  if (!userDataB64) return defaultSpec();
  let text: string;
  try {
    text = Buffer.from(userDataB64, 'base64').toString('utf8');
  } catch {
    return defaultSpec();
  }
  const firstLine = text.split(/\r?\n/, 1)[0]!.trim();
  if (firstLine !== SPEC_HEADER) return defaultSpec();
  return parseContainerSpec(text.slice(text.indexOf(SPEC_HEADER) + SPEC_HEADER.length));
}

export function parseContainerSpec(body: string): ContainerSpec {
  let doc: unknown;
  try {
    // YAML is a superset of JSON: one parser for both
    doc = body.trim() === '' ? {} : parseYaml(body, { prettyErrors: true });
  } catch (e) {
    throw new ContainerSpecError(
      `container spec is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (doc === null || doc === undefined) doc = {};
  if (!validate(doc)) {
    throw new ContainerSpecError(`container spec is invalid: ${describeErrors(validate.errors ?? [])}`);
  }
  return normalise(doc as RawSpec);
}

function describeErrors(errors: ErrorObject[]): string {
  // oneOf produces one error per branch: keep the most specific ones, once each
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of errors) {
    if (e.keyword === 'oneOf' && errors.length > 1) continue;
    const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'spec';
    const what =
      e.keyword === 'additionalProperties'
        ? `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`
        : e.keyword === 'enum'
          ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
          : (e.message ?? 'is invalid');
    const line = `${where}: ${what}`;
    if (!seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  }
  return out.slice(0, 5).join('; ');
}

interface RawSpec {
  command?: string | string[];
  entrypoint?: string | string[];
  env?: Record<string, string | number | boolean> | string[];
  working_dir?: string;
  user?: string;
  hostname?: string;
  ports?: (number | string | { port: number; protocol?: PortSpec['protocol'] })[];
  volumes?: { name?: string; host_path?: string; target: string; read_only?: boolean }[];
  tmpfs?: string[];
  restart_policy?:
    | ContainerSpec['restartPolicy']['name']
    | { name: ContainerSpec['restartPolicy']['name']; max_retries?: number };
  healthcheck?: {
    test: string | string[];
    interval?: number | string;
    timeout?: number | string;
    retries?: number;
    start_period?: number | string;
  };
  labels?: Record<string, string>;
  stop_signal?: string;
  stop_timeout?: number;
  read_only_rootfs?: boolean;
  tty?: boolean;
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  network_mode?: 'host';
  nested_docker?: boolean;
}

function normalise(r: RawSpec): ContainerSpec {
  const s = defaultSpec();
  if (r.command !== undefined) s.command = typeof r.command === 'string' ? shellSplit(r.command) : r.command;
  if (r.entrypoint !== undefined)
    s.entrypoint = typeof r.entrypoint === 'string' ? shellSplit(r.entrypoint) : r.entrypoint;
  if (Array.isArray(r.env)) {
    for (const kv of r.env) {
      const i = kv.indexOf('=');
      s.env[kv.slice(0, i)] = kv.slice(i + 1);
    }
  } else if (r.env) {
    for (const [k, v] of Object.entries(r.env)) s.env[k] = String(v);
  }
  if (r.working_dir) s.workingDir = r.working_dir;
  if (r.user) s.user = r.user;
  if (r.hostname) s.hostname = r.hostname;
  for (const p of r.ports ?? []) {
    if (typeof p === 'number') s.ports.push({ port: p, protocol: 'tcp' });
    else if (typeof p === 'string') {
      const [port, proto] = p.split('/');
      s.ports.push({ port: checkPort(Number(port)), protocol: (proto as PortSpec['protocol']) ?? 'tcp' });
    } else s.ports.push({ port: p.port, protocol: p.protocol ?? 'tcp' });
  }
  for (const v of r.volumes ?? []) {
    s.volumes.push({
      ...(v.name ? { name: v.name } : {}),
      ...(v.host_path ? { hostPath: v.host_path } : {}),
      target: v.target,
      readOnly: v.read_only ?? false,
    });
  }
  s.tmpfs = r.tmpfs ?? [];
  if (r.restart_policy) {
    s.restartPolicy =
      typeof r.restart_policy === 'string'
        ? { name: r.restart_policy }
        : {
            name: r.restart_policy.name,
            ...(r.restart_policy.max_retries !== undefined
              ? { maxRetries: r.restart_policy.max_retries }
              : {}),
          };
  }
  if (r.healthcheck) {
    const h = r.healthcheck;
    s.healthcheck = {
      test:
        typeof h.test === 'string'
          ? ['CMD-SHELL', h.test]
          : h.test[0] === 'CMD' || h.test[0] === 'CMD-SHELL'
            ? h.test
            : ['CMD', ...h.test],
      ...(h.interval !== undefined ? { intervalNs: durationNs(h.interval, 'healthcheck.interval') } : {}),
      ...(h.timeout !== undefined ? { timeoutNs: durationNs(h.timeout, 'healthcheck.timeout') } : {}),
      ...(h.retries !== undefined ? { retries: h.retries } : {}),
      ...(h.start_period !== undefined
        ? { startPeriodNs: durationNs(h.start_period, 'healthcheck.start_period') }
        : {}),
    };
  }
  s.labels = r.labels ?? {};
  if (r.stop_signal) s.stopSignal = r.stop_signal;
  if (r.stop_timeout !== undefined) s.stopTimeout = r.stop_timeout;
  s.readOnlyRootfs = r.read_only_rootfs ?? false;
  s.tty = r.tty ?? false;
  s.privileged = r.privileged ?? false;
  s.capAdd = (r.cap_add ?? []).map(normCap);
  s.capDrop = (r.cap_drop ?? []).map((c) => (c === 'ALL' ? c : normCap(c)));
  s.hostNetwork = r.network_mode === 'host';
  s.nestedDocker = r.nested_docker ?? false;
  return s;
}

function checkPort(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new ContainerSpecError(`ports: ${n} is not a port number`);
  return n;
}

const normCap = (c: string): string => c.replace(/^CAP_/, '');

const UNITS: Record<string, number> = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** seconds (number) or "1m30s"-style strings, in nanoseconds as the Engine API wants */
export function durationNs(v: number | string, field: string): number {
  if (typeof v === 'number') return Math.round(v * 1e9);
  let total = 0;
  for (const m of v.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNITS[m[2]!]!;
  if (!Number.isFinite(total)) throw new ContainerSpecError(`${field}: "${v}" is not a duration`);
  return Math.round(total);
}

/** POSIX-shell-like word splitting: whitespace separates, quotes group, backslash escapes. No expansion. */
export function shellSplit(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new ContainerSpecError(`unterminated ${quote} quote in "${s}"`);
  if (inWord) words.push(cur);
  return words;
}
