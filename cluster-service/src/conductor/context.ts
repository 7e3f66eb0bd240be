// Builds the DriverContext of a cluster for one driver call: a fresh
// snapshot of its rows, Nova, Glance and Neutron acting through the cluster's trust,
// its CA, and the persistence calls drivers may make.

import { GlanceClient, type GlanceImage, NeutronClient, NovaClient } from '@berth/openstack-clients';

import type { Deps } from '../core/deps';
import type { ClusterRow } from '../db/clusters';
import { nowIso } from '../db/util';
import type { ClusterDriver, DriverContext } from '../drivers/driver';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export interface ContextOptions {
  /** act with the service's own (admin) identity instead of the cluster's trust (cleanup when the trust is gone) */
  asAdmin?: boolean;
}

export async function buildContext(
  deps: Deps,
  cluster: ClusterRow,
  o: ContextOptions = {},
): Promise<{ ctx: DriverContext; driver: ClusterDriver }> {
  const driver = deps.drivers.byName(cluster.driver);
  if (!driver)
    throw new Error(
      `cluster ${cluster.uuid} uses driver "${cluster.driver}", which this service does not have`,
    );
  const [template, nodegroups, nodes] = await Promise.all([
    deps.templates.get(cluster.cluster_template_id),
    deps.clusters.nodegroups(cluster.uuid),
    deps.nodes.list(cluster.uuid),
  ]);
  if (!template)
    throw new Error(`cluster ${cluster.uuid}: its template ${cluster.cluster_template_id} is gone`);
  const iface = deps.config.compute.interface as 'public' | 'internal' | 'admin';
  const session = () => {
    if (o.asAdmin || !cluster.trust_id) return deps.serviceSession;
    return deps.keystone.trustSession(cluster.trust_id);
  };
  let nova: NovaClient | undefined;
  let glance: GlanceClient | undefined;
  let neutron: NeutronClient | undefined;
  const compute = () => (nova ??= new NovaClient(session(), { interface: iface }));
  const images = () => (glance ??= new GlanceClient(session(), { interface: iface }));
  const network = () => (neutron ??= new NeutronClient(session(), { interface: iface }));
  let secret: string | undefined;
  const cache = {
    flavors: new Map<string, string>(),
    images: new Map<string, GlanceImage>(),
    networks: new Map<string, string>(),
  };
  const image = async (ident: string): Promise<GlanceImage> => {
    const hit = cache.images.get(ident);
    if (hit) return hit;
    let found: GlanceImage | undefined;
    if (UUID.test(ident)) found = await images().findImage(ident);
    else {
      const named = await images().listImages({ name: ident });
      if (named.length > 1) throw new Error(`more than one image is named "${ident}"`);
      found = named[0];
    }
    if (!found) throw new Error(`image ${ident} not found`);
    cache.images.set(ident, found);
    return found;
  };

  const ctx: DriverContext = {
    cluster,
    template,
    nodegroups,
    nodes,
    config: deps.config,
    logger: deps.logger.child({ cluster: cluster.uuid, driver: driver.name }),
    serverFilter: o.asAdmin ? { allTenants: true, projectId: cluster.project_id } : {},
    compute,
    network,
    async resolveNetwork(ident) {
      const hit = cache.networks.get(ident);
      if (hit) return hit;
      const n = await network().resolveNetwork(ident);
      if (!n) throw new Error(`network ${ident} not found`);
      cache.networks.set(ident, n.id);
      return n.id;
    },
    async resolveImage(ident) {
      return (await image(ident)).id;
    },
    async imageProperties(ident) {
      const props: Record<string, string> = {};
      for (const [k, v] of Object.entries(await image(ident))) if (typeof v === 'string') props[k] = v;
      return props;
    },
    async resolveFlavor(ident) {
      const hit = cache.flavors.get(ident);
      if (hit) return hit;
      const f = await compute().resolveFlavor(ident);
      if (!f) throw new Error(`flavor ${ident} not found`);
      cache.flavors.set(ident, f.id);
      return f.id;
    },
    templateById: (uuid) => deps.templates.get(uuid),
    ca: {
      certPem: () => deps.caService.certPem(cluster.uuid, cluster.name),
      fingerprint: () => deps.caService.fingerprint(cluster.uuid, cluster.name),
      signServer: (csr, names) => deps.caService.signServer(cluster.uuid, cluster.name, csr, names),
    },
    nodeSecret: () => (secret ??= deps.box.open(cluster.node_secret_enc)),
    reportUrl: deps.reportUrl,
    seal: (p) => deps.box.seal(p),
    open: (s) => deps.box.open(s),
    now: () => Date.now(),
    async updateCluster(values) {
      await deps.clusters.update(cluster.uuid, { ...values, updated_at: nowIso() });
      Object.assign(cluster, values);
    },
    async updateNodegroup(uuid, values) {
      await deps.clusters.updateNodegroup(uuid, { ...values, updated_at: nowIso() });
      const ng = nodegroups.find((g) => g.uuid === uuid);
      if (ng) Object.assign(ng, values);
    },
    insertNode: (row) => deps.nodes.insert(row),
    updateNode: (uuid, values) => deps.nodes.update(uuid, values),
    updateNodeIf: (uuid, state, values) => deps.nodes.updateIf(uuid, state, values),
    deleteNode: (uuid) => deps.nodes.delete(uuid),
  };
  return { ctx, driver };
}
