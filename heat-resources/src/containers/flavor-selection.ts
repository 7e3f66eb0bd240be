// Which flavor a container boots with. Flavors are how an OpenStack cloud
// accounts for and places compute (quotas in cores and RAM, aggregates and
// extra specs), and users cannot create them; so a container without a
// flavor gets the smallest *public* flavor that has at least the CPUs and
// memory it asks for. Flavors carrying Berth admin grants (extra specs
// berth:*, e.g. berth:allow_privileged) are never picked implicitly: a grant
// must be asked for by naming its flavor. Ties go to the fewest vCPUs, then
// the smallest disk, then the name, so the choice is stable.

import type { Flavor } from '@berth/openstack-clients';

import { invalidProperties } from '../core/errors';

export interface FlavorNeeds {
  cpu?: number | undefined;
  memory?: number | undefined;
}

export interface ChosenFlavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
}

export const chosen = (f: Flavor): ChosenFlavor => ({ id: f.id, name: f.name, vcpus: f.vcpus, ram: f.ram });

/** Flavors that may be chosen without being named. */
export function pickable(f: Flavor): boolean {
  if (f['os-flavor-access:is_public'] === false) return false;
  return !Object.keys(f.extra_specs ?? {}).some((k) => k.startsWith('berth:'));
}

export function smallestFitting(flavors: Flavor[], needs: FlavorNeeds): Flavor | undefined {
  const cpu = needs.cpu ?? 1;
  const memory = needs.memory ?? 0;
  return flavors
    .filter((f) => pickable(f) && f.vcpus >= cpu && f.ram >= memory)
    .sort((a, b) => a.ram - b.ram || a.vcpus - b.vcpus || a.disk - b.disk || a.name.localeCompare(b.name))[0];
}

/** The flavor for the properties: the named one, else the smallest that fits (unless the operator requires naming one). */
export async function resolveFlavor(
  lookup: { resolveFlavor(idOrName: string): Promise<Flavor | undefined>; listFlavors(): Promise<Flavor[]> },
  props: { flavor?: string | undefined } & FlavorNeeds,
  policy: 'smallest' | 'require',
): Promise<ChosenFlavor> {
  if (props.flavor) {
    const f = await lookup.resolveFlavor(props.flavor);
    if (!f) throw invalidProperties(`flavor ${props.flavor} not found`);
    return chosen(f);
  }
  if (policy === 'require') {
    throw invalidProperties('this cloud requires a flavor for every container (property flavor)');
  }
  const f = smallestFitting(await lookup.listFlavors(), props);
  if (!f) {
    throw invalidProperties(
      `no public flavor has at least ${props.cpu ?? 1} vCPUs and ${props.memory ?? 0} MiB of memory; give a flavor`,
    );
  }
  return chosen(f);
}

type FlavorLookup = Parameters<typeof resolveFlavor>[0];

/**
 * Flavor lookups per project, kept for a short while: a stack of many
 * containers resolves the same flavor (or lists flavors) once, not once per
 * container, which spares Nova's API while it is busiest. Flavors change
 * rarely; a new or deleted one is seen after `ttlMs`.
 */
export class FlavorCache {
  private readonly entries = new Map<string, { until: number; value: Promise<unknown> }>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 1000,
  ) {}

  private memo<T>(key: string, load: () => Promise<T>): Promise<T> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > t) return hit.value as Promise<T>;
    if (this.entries.size >= this.maxEntries) {
      for (const [k, v] of this.entries) if (v.until <= t) this.entries.delete(k);
      if (this.entries.size >= this.maxEntries) this.entries.clear();
    }
    const value = load();
    this.entries.set(key, { until: t + this.ttlMs, value });
    // a failure is not kept: the next caller asks again
    value.catch(() => this.entries.delete(key));
    return value;
  }

  /** the lookup `resolveFlavor` takes, cached for one project */
  forProject(projectId: string, nova: FlavorLookup): FlavorLookup {
    return {
      resolveFlavor: (ref) => this.memo(`${projectId}\0ref\0${ref}`, () => nova.resolveFlavor(ref)),
      listFlavors: () => this.memo(`${projectId}\0list`, () => nova.listFlavors()),
    };
  }
}
