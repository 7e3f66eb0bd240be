// Rows as Magnum's API shows them (magnum/api/controllers/v1/*.py): the same
// fields, null where Magnum has None, timestamps as Python's isoformat with
// +00:00, self and bookmark links built from the URL the client used.

import type { components } from '../generated/api';
import type { ClusterRow, NodeGroupRow } from '../db/clusters';
import type { QuotaRow, ServiceRow } from '../db/misc';
import type { TemplateRow } from '../db/templates';
import { parseJson } from '../db/util';

type S = components['schemas'];

/** 2024-01-02T03:04:05.678Z -> 2024-01-02T03:04:05+00:00 (oslo/WSME rendering) */
export function ts(iso: string | null | undefined): string | null {
  if (!iso) return null;
  return iso.replace(/(\.\d+)?Z$/, '+00:00');
}

export function links(base: string, resource: string, id: string): S['Link'][] {
  return [
    { href: `${base}/v1/${resource}/${id}`, rel: 'self' },
    { href: `${base}/${resource}/${id}`, rel: 'bookmark' },
  ];
}

const b = (v: number | null | undefined) => v === 1;

export function templateView(r: TemplateRow, base: string): S['ClusterTemplate'] {
  return {
    uuid: r.uuid,
    name: r.name,
    coe: r.coe,
    image_id: r.image_id,
    flavor_id: r.flavor_id,
    master_flavor_id: r.master_flavor_id,
    keypair_id: r.keypair_id,
    external_network_id: r.external_network_id,
    fixed_network: r.fixed_network,
    fixed_subnet: r.fixed_subnet,
    network_driver: r.network_driver,
    volume_driver: r.volume_driver,
    dns_nameserver: r.dns_nameserver,
    apiserver_port: r.apiserver_port,
    docker_volume_size: r.docker_volume_size,
    docker_storage_driver: r.docker_storage_driver,
    cluster_distro: r.cluster_distro,
    http_proxy: r.http_proxy,
    https_proxy: r.https_proxy,
    no_proxy: r.no_proxy,
    registry_enabled: b(r.registry_enabled),
    labels: parseJson<Record<string, string>>(r.labels, {}),
    tls_disabled: b(r.tls_disabled),
    public: b(r.public),
    server_type: r.server_type,
    insecure_registry: r.insecure_registry,
    master_lb_enabled: b(r.master_lb_enabled),
    floating_ip_enabled: b(r.floating_ip_enabled),
    hidden: b(r.hidden),
    tags: r.tags,
    project_id: r.project_id,
    user_id: r.user_id,
    links: links(base, 'clustertemplates', r.uuid),
    created_at: ts(r.created_at),
    updated_at: ts(r.updated_at),
  };
}

interface Counts {
  node_count: number;
  master_count: number;
  node_addresses: string[];
  master_addresses: string[];
}

/** Cluster sizes and addresses come from its nodegroups (Magnum 1.9+ semantics). */
export function countsOf(ngs: NodeGroupRow[]): Counts {
  const out: Counts = { node_count: 0, master_count: 0, node_addresses: [], master_addresses: [] };
  for (const ng of ngs) {
    const addrs = parseJson<string[]>(ng.node_addresses, []);
    if (ng.role === 'master') {
      out.master_count += ng.node_count;
      out.master_addresses.push(...addrs);
    } else {
      out.node_count += ng.node_count;
      out.node_addresses.push(...addrs);
    }
  }
  return out;
}

/** labels_overridden/added/skipped against the parent's labels (api/utils.py get_labels_diff). */
export function labelsDiff(parent: Record<string, string>, labels: Record<string, string>) {
  const overridden: Record<string, string> = {};
  const added: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (!(k in labels)) skipped[k] = v;
  for (const [k, v] of Object.entries(labels)) {
    if (k in parent) {
      if (parent[k] !== v) overridden[k] = parent[k]!;
    } else added[k] = v;
  }
  return { overridden, added, skipped };
}

/** The list view of a cluster: the fields Magnum keeps when expand=False. */
export function clusterSummary(r: ClusterRow, ngs: NodeGroupRow[], base: string): S['Cluster'] {
  const c = countsOf(ngs);
  return {
    uuid: r.uuid,
    name: r.name,
    cluster_template_id: r.cluster_template_id,
    keypair: r.keypair,
    docker_volume_size: r.docker_volume_size,
    labels: parseJson<Record<string, string>>(r.labels, {}),
    node_count: c.node_count,
    status: r.status as S['ClusterStatus'],
    master_flavor_id: r.master_flavor_id,
    flavor_id: r.flavor_id,
    create_timeout: r.create_timeout,
    master_count: c.master_count,
    stack_id: r.stack_id,
    health_status: r.health_status as S['HealthStatus'],
    links: links(base, 'clusters', r.uuid),
  };
}

export function clusterView(
  r: ClusterRow,
  ngs: NodeGroupRow[],
  template: TemplateRow | undefined,
  base: string,
): S['Cluster'] {
  const c = countsOf(ngs);
  const labels = parseJson<Record<string, string>>(r.labels, {});
  const diff = labelsDiff(parseJson<Record<string, string>>(template?.labels, {}), labels);
  const out: S['Cluster'] = {
    uuid: r.uuid,
    name: r.name,
    cluster_template_id: r.cluster_template_id,
    keypair: r.keypair,
    node_count: c.node_count,
    master_count: c.master_count,
    docker_volume_size: r.docker_volume_size,
    labels,
    labels_overridden: diff.overridden,
    labels_added: diff.added,
    labels_skipped: diff.skipped,
    master_flavor_id: r.master_flavor_id,
    flavor_id: r.flavor_id,
    create_timeout: r.create_timeout,
    stack_id: r.stack_id,
    status: r.status as S['ClusterStatus'],
    status_reason: r.status_reason,
    health_status: r.health_status as S['HealthStatus'],
    health_status_reason: parseJson<Record<string, string> | null>(r.health_status_reason, null),
    discovery_url: r.discovery_url,
    api_address: r.api_address,
    coe_version: r.coe_version,
    container_version: r.container_version,
    project_id: r.project_id,
    user_id: r.user_id,
    node_addresses: c.node_addresses,
    master_addresses: c.master_addresses,
    fixed_network: r.fixed_network,
    fixed_subnet: r.fixed_subnet,
    floating_ip_enabled: b(r.floating_ip_enabled),
    master_lb_enabled: b(r.master_lb_enabled),
    merge_labels: false,
    links: links(base, 'clusters', r.uuid),
    created_at: ts(r.created_at),
    updated_at: ts(r.updated_at),
  };
  if (r.status.endsWith('FAILED')) {
    const faults: Record<string, string> = {};
    for (const ng of ngs) if (ng.status?.endsWith('FAILED')) faults[ng.name] = ng.status_reason ?? '';
    out.faults = faults;
  }
  return out;
}

export function nodegroupView(
  ng: NodeGroupRow,
  cluster: ClusterRow,
  base: string,
  expand: boolean,
): S['NodeGroup'] {
  if (!expand) {
    return {
      uuid: ng.uuid,
      name: ng.name,
      flavor_id: ng.flavor_id,
      image_id: ng.image_id,
      node_count: ng.node_count,
      role: ng.role,
      is_default: b(ng.is_default),
      status: ng.status,
      stack_id: ng.stack_id,
      cluster_id: ng.cluster_id,
    };
  }
  const labels = parseJson<Record<string, string>>(ng.labels, {});
  const diff = labelsDiff(parseJson<Record<string, string>>(cluster.labels, {}), labels);
  const path = `clusters/${ng.cluster_id}/nodegroups`;
  return {
    id: ng.id,
    uuid: ng.uuid,
    name: ng.name,
    cluster_id: ng.cluster_id,
    project_id: ng.project_id,
    docker_volume_size: ng.docker_volume_size,
    labels,
    labels_overridden: diff.overridden,
    labels_added: diff.added,
    labels_skipped: diff.skipped,
    flavor_id: ng.flavor_id,
    image_id: ng.image_id,
    node_addresses: parseJson<string[]>(ng.node_addresses, []),
    node_count: ng.node_count,
    role: ng.role,
    min_node_count: ng.min_node_count,
    max_node_count: ng.max_node_count,
    is_default: b(ng.is_default),
    stack_id: ng.stack_id,
    status: ng.status,
    status_reason: ng.status_reason,
    version: ng.version,
    merge_labels: false,
    links: links(base, path, ng.uuid),
    created_at: ts(ng.created_at),
    updated_at: ts(ng.updated_at),
  };
}

export function quotaView(q: QuotaRow): S['Quota'] {
  return {
    id: q.id,
    project_id: q.project_id,
    resource: q.resource,
    hard_limit: q.hard_limit,
    created_at: ts(q.created_at),
    updated_at: ts(q.updated_at),
  };
}

export function serviceView(s: ServiceRow, downAfterMs: number, now: number): S['MService'] {
  return {
    id: s.id,
    host: s.host,
    binary: s.binary,
    state: s.last_seen_up !== null && now - s.last_seen_up < downAfterMs ? 'up' : 'down',
    report_count: s.report_count,
    disabled: b(s.disabled),
    disabled_reason: s.disabled_reason,
    created_at: ts(s.created_at),
    updated_at: ts(s.updated_at),
  };
}
