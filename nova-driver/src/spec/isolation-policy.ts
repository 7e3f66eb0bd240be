/**
 * What may weaken a container's isolation, and who allowed it. Only admins
 * set flavor extra specs (Nova policy) and, with the Glance property
 * protections devstack installs, `berth_allow_*` image properties; users'
 * container specs can only ask. Each request beyond the default is checked
 * against those grants and refused with a message naming the grant needed.
 */
import type { ContainerSpec } from './container-spec';

export interface Grants {
  privileged: boolean;
  /** capability names, or 'ALL' */
  capabilities: Set<string>;
  /** host path prefixes that may be mounted ('/' = any) */
  hostMounts: string[];
  hostNetwork: boolean;
  nestedDocker: boolean;
}

const GRANTS = {
  privileged: 'allow_privileged',
  capabilities: 'allowed_capabilities',
  hostMounts: 'allowed_host_paths',
  hostNetwork: 'allow_host_network',
  nestedDocker: 'allow_nested_docker',
} as const;

/** flavor extra spec `berth:<name>` or image property `berth_<name>` */
export const flavorKey = (name: string) => `berth:${name}`;
export const imageKey = (name: string) => `berth_${name}`;

const truthy = (v: string | undefined) =>
  v !== undefined && ['true', '1', 'yes', 'on'].includes(v.trim().toLowerCase());
const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function grantsFrom(extraSpecs: Record<string, string>, imageProps: Record<string, string>): Grants {
  const get = (name: string) => [extraSpecs[flavorKey(name)], imageProps[imageKey(name)]];
  const anyTrue = (name: string) => get(name).some(truthy);
  const union = (name: string) => get(name).flatMap(list);
  return {
    privileged: anyTrue(GRANTS.privileged),
    capabilities: new Set(union(GRANTS.capabilities).map((c) => c.toUpperCase().replace(/^CAP_/, ''))),
    hostMounts: union(GRANTS.hostMounts).map((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p)),
    hostNetwork: anyTrue(GRANTS.hostNetwork),
    nestedDocker: anyTrue(GRANTS.nestedDocker),
  };
}

/** The refusals, one sentence each; empty when the spec is allowed. */
export function checkIsolation(spec: ContainerSpec, g: Grants): string[] {
  const refusals: string[] = [];
  const needs = (what: string, grant: string) =>
    `${what} needs the admin grant ${flavorKey(grant)}=... on the flavor or ${imageKey(grant)} on the image`;
  if (spec.privileged && !g.privileged) refusals.push(needs('privileged: true', GRANTS.privileged));
  const caps = spec.capAdd.filter((c) => !g.capabilities.has('ALL') && !g.capabilities.has(c));
  if (caps.length) refusals.push(needs(`cap_add ${caps.join(',')}`, GRANTS.capabilities));
  for (const v of spec.volumes) {
    if (
      v.hostPath &&
      !g.hostMounts.some((p) => p === '/' || v.hostPath === p || v.hostPath!.startsWith(`${p}/`))
    ) {
      refusals.push(needs(`host_path ${v.hostPath}`, GRANTS.hostMounts));
    }
  }
  if (spec.hostNetwork && !g.hostNetwork) refusals.push(needs('network_mode: host', GRANTS.hostNetwork));
  if (spec.nestedDocker && !g.nestedDocker) refusals.push(needs('nested_docker: true', GRANTS.nestedDocker));
  return refusals;
}
