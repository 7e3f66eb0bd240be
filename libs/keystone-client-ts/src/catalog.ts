// Service catalog lookup: which URL serves (type, interface, region).
// Kept apart from the session so the validator can expose the same object
// for a user's token and so lookups are testable without any HTTP.

import { EndpointNotFoundError } from './errors';

export type EndpointInterface = 'public' | 'internal' | 'admin';

export interface CatalogEndpoint {
  id?: string;
  interface: string;
  region?: string | null;
  region_id?: string | null;
  url: string;
}

export interface CatalogEntry {
  id?: string;
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

export interface EndpointFilter {
  /** Service type, e.g. `compute`, `image`, `container-infra`. */
  type: string;
  /** Defaults to `public`, as keystoneauth does. */
  interface?: EndpointInterface | undefined;
  /** When unset, any region matches (the first one listed wins). */
  region?: string | undefined;
  /** Service name, to tell apart two services of one type. */
  name?: string | undefined;
}

// keystone_authtoken-style configs often say `publicURL`/`internalURL`.
function normaliseInterface(i: string): string {
  return i.replace(/URL$/, '').toLowerCase();
}

export class ServiceCatalog {
  constructor(readonly entries: readonly CatalogEntry[]) {}

  /** All endpoints matching the filter, in catalog order. */
  endpoints(filter: EndpointFilter): CatalogEndpoint[] {
    const wantedInterface = normaliseInterface(filter.interface ?? 'public');
    const out: CatalogEndpoint[] = [];
    for (const entry of this.entries) {
      if (entry.type !== filter.type) continue;
      if (filter.name !== undefined && entry.name !== filter.name) continue;
      for (const ep of entry.endpoints ?? []) {
        if (normaliseInterface(ep.interface) !== wantedInterface) continue;
        if (filter.region !== undefined && (ep.region_id ?? ep.region) !== filter.region) continue;
        out.push(ep);
      }
    }
    return out;
  }

  /** The URL for the filter, without a trailing slash; throws when absent. */
  url(filter: EndpointFilter): string {
    const ep = this.endpoints(filter)[0];
    if (!ep) {
      const parts = [`type=${filter.type}`, `interface=${filter.interface ?? 'public'}`];
      if (filter.region !== undefined) parts.push(`region=${filter.region}`);
      if (filter.name !== undefined) parts.push(`name=${filter.name}`);
      throw new EndpointNotFoundError(`no endpoint in the service catalog for ${parts.join(', ')}`);
    }
    return ep.url.replace(/\/+$/, '');
  }
}
