// The service's SQL tables (Kysely types). One row per resource Heat (or a
// direct API user) created, keyed by its physical id.

import type { Generated } from 'kysely';

export interface ResourcesTable {
  /** physical id: Nova server id, Neutron network id, volume uuid */
  id: string;
  /** OS::Container::Container ... */
  type: string;
  project_id: string;
  user_id: string;
  stack_id: string | null;
  resource_name: string | null;
  /** unique per project and type (Heat's physical resource name) */
  idempotency_key: string | null;
  action: string;
  status: string;
  status_reason: string;
  /** JSON: the properties last applied */
  properties: string;
  /** JSON: what the type's handler keeps to answer attributes (flavor, subnet id...) */
  state: string;
  created_at: string;
  updated_at: string;
  /** monotonic row version, for compare-and-set updates */
  version: Generated<number>;
}

export interface HeatResourcesTables {
  heat_resources: ResourcesTable;
}
