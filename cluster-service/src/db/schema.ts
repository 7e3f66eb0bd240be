// The service's tables, as Kysely sees them. Booleans are 0/1 integers and
// JSON is text on both SQLite and PostgreSQL, so rows read the same on both;
// timestamps are ISO strings (UTC), epoch milliseconds where the conductor
// compares them.

import type { Generated, Kysely } from 'kysely';

export type Bool = 0 | 1;

export interface ClusterTemplateTable {
  id: Generated<number>;
  uuid: string;
  project_id: string | null;
  user_id: string | null;
  name: string;
  image_id: string;
  flavor_id: string | null;
  master_flavor_id: string | null;
  keypair_id: string | null;
  external_network_id: string | null;
  fixed_network: string | null;
  fixed_subnet: string | null;
  network_driver: string | null;
  volume_driver: string | null;
  dns_nameserver: string | null;
  apiserver_port: number | null;
  docker_volume_size: number | null;
  docker_storage_driver: string | null;
  cluster_distro: string | null;
  coe: string;
  http_proxy: string | null;
  https_proxy: string | null;
  no_proxy: string | null;
  registry_enabled: Bool;
  /** JSON object of strings */
  labels: string;
  tls_disabled: Bool;
  public: Bool;
  server_type: string;
  insecure_registry: string | null;
  master_lb_enabled: Bool;
  floating_ip_enabled: Bool;
  hidden: Bool;
  tags: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface ClusterTable {
  id: Generated<number>;
  uuid: string;
  project_id: string;
  user_id: string;
  name: string;
  cluster_template_id: string;
  keypair: string | null;
  docker_volume_size: number | null;
  labels: string;
  master_flavor_id: string | null;
  flavor_id: string | null;
  stack_id: string | null;
  api_address: string | null;
  status: string;
  status_reason: string | null;
  health_status: string | null;
  /** JSON object of strings, or null */
  health_status_reason: string | null;
  create_timeout: number;
  discovery_url: string | null;
  coe_version: string | null;
  container_version: string | null;
  fixed_network: string | null;
  fixed_subnet: string | null;
  floating_ip_enabled: Bool;
  master_lb_enabled: Bool;
  /** the driver that owns the cluster (chosen at create, kept across template changes) */
  driver: string;
  /** Keystone trust the conductor acts through (user -> service user, user's project) */
  trust_id: string | null;
  /** the per-cluster secret nodes authenticate their reports with, encrypted */
  node_secret_enc: string;
  /** driver state that is not a column (e.g. swarm join tokens, encrypted by the driver) */
  driver_state: string;
  created_at: string;
  updated_at: string | null;
}

export interface NodeGroupTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  cluster_id: string;
  project_id: string;
  docker_volume_size: number | null;
  labels: string;
  flavor_id: string | null;
  image_id: string | null;
  /** JSON array of addresses */
  node_addresses: string;
  node_count: number;
  role: string;
  max_node_count: number | null;
  min_node_count: number;
  is_default: Bool;
  stack_id: string | null;
  status: string | null;
  status_reason: string | null;
  version: string | null;
  created_at: string;
  updated_at: string | null;
}

/** One server of a cluster, from the moment the driver decides it should exist. */
export interface NodeTable {
  uuid: string;
  cluster_id: string;
  nodegroup_id: string;
  role: string;
  /** position in its nodegroup; master 0 is the one that initialises the cluster */
  idx: number;
  name: string;
  /** Nova server id, once Nova accepted the create */
  server_id: string | null;
  /** planned | booting | reported | ready | draining | removing | failed */
  state: string;
  address: string | null;
  status_reason: string | null;
  reported_at: number | null;
  /** JSON: what the node last said (docker version, swarm node id...) */
  info: string;
  created_at: string;
  updated_at: string | null;
}

/** A durable conductor job: one cluster action, resumable after a restart. */
export interface JobTable {
  uuid: string;
  cluster_id: string;
  /** create | update | resize | upgrade | delete | rotate_ca */
  action: string;
  /** pending | running | cancelling | succeeded | failed | cancelled */
  state: string;
  /** JSON parameters of the action */
  params: string;
  /** what the job is doing now, for status_reason on failure */
  step: string | null;
  attempts: number;
  lease_owner: string | null;
  /** epoch ms */
  lease_until: number | null;
  /** epoch ms after which the action fails as timed out; null: none */
  deadline: number | null;
  error: string | null;
  created_at: string;
  updated_at: string | null;
  finished_at: string | null;
}

export interface QuotaTable {
  id: Generated<number>;
  project_id: string;
  resource: string;
  hard_limit: number;
  created_at: string;
  updated_at: string | null;
}

/** A CA of a cluster: `default` (the cluster CA), and `etcd`/`front-proxy` for drivers that need them. */
export interface ClusterCaTable {
  cluster_id: string;
  ca_type: string;
  cert_pem: string;
  /** PKCS#8 PEM, encrypted with [certificates] encryption_key */
  key_enc: string;
  created_at: string;
}

export interface ServiceTable {
  id: Generated<number>;
  host: string;
  binary: string;
  report_count: number;
  disabled: Bool;
  disabled_reason: string | null;
  /** epoch ms */
  last_seen_up: number | null;
  created_at: string;
  updated_at: string | null;
}

export interface DB {
  cluster_templates: ClusterTemplateTable;
  clusters: ClusterTable;
  nodegroups: NodeGroupTable;
  nodes: NodeTable;
  jobs: JobTable;
  quotas: QuotaTable;
  cluster_cas: ClusterCaTable;
  services: ServiceTable;
}

export type Db = Kysely<DB>;
