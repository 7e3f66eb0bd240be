// Nodes as Nova servers, for any driver whose nodes are Nova servers (Swarm
// today, kubeadm later). A node row is written before its server is asked
// for, and the server carries the node's id in its metadata, so a conductor
// that died between the two adopts the server instead of booting a second
// one. Deletion finds servers both through the rows and through Nova.

import { randomUUID } from 'node:crypto';

import type { Server } from '@berth/openstack-clients';

import type { NodeGroupRow } from '../../db/clusters';
import type { NodeRow } from '../../db/nodes';
import { nowIso, parseJson } from '../../db/util';
import { DriverError, type DriverContext, isCloudHiccup } from '../driver';

/** Node states, in the order a node goes through them. */
export const NODE = {
  planned: 'planned',
  booting: 'booting',
  reported: 'reported',
  ready: 'ready',
  draining: 'draining',
  drained: 'drained',
  removing: 'removing',
  failed: 'failed',
} as const;

/** Nodes on their way out of the cluster. */
export const LEAVING: readonly string[] = [NODE.draining, NODE.drained, NODE.removing];

export interface NodeInfo {
  image?: string;
  flavor?: string;
  [k: string]: unknown;
}

export const infoOf = (n: NodeRow): NodeInfo => parseJson<NodeInfo>(n.info, {});

export const META_CLUSTER = 'berth_cluster';
export const META_NODE = 'berth_node';

function slug(s: string): string {
  return s.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 30);
}

/** `<cluster name>-<8 chars of the uuid>-`: every server of the cluster starts with it. */
export function serverPrefix(ctx: DriverContext): string {
  return `${slug(ctx.cluster.name)}-${ctx.cluster.uuid.slice(0, 8)}-`;
}

export function nodeName(ctx: DriverContext, ng: NodeGroupRow, idx: number): string {
  const kind = ng.is_default ? (ng.role === 'master' ? 'master' : 'node') : slug(ng.name);
  return `${serverPrefix(ctx)}${kind}-${idx}`;
}

/** Live (not leaving) nodes of a nodegroup. */
export function liveNodes(ctx: DriverContext, ngId: string): NodeRow[] {
  return ctx.nodes.filter((n) => n.nodegroup_id === ngId && !LEAVING.includes(n.state));
}

/** Adds node rows until the nodegroup has `count` live nodes; returns the new ones. */
export async function planNodes(
  ctx: DriverContext,
  ng: NodeGroupRow,
  count: number,
  info: NodeInfo = {},
): Promise<NodeRow[]> {
  const live = liveNodes(ctx, ng.uuid);
  const used = ctx.nodes.filter((n) => n.nodegroup_id === ng.uuid).map((n) => n.idx);
  let next = used.length ? Math.max(...used) + 1 : 0;
  const added: NodeRow[] = [];
  for (let i = live.length; i < count; i++) {
    const row: NodeRow = {
      uuid: randomUUID(),
      cluster_id: ctx.cluster.uuid,
      nodegroup_id: ng.uuid,
      role: ng.role,
      idx: next,
      name: nodeName(ctx, ng, next),
      server_id: null,
      state: NODE.planned,
      address: null,
      status_reason: null,
      reported_at: null,
      info: JSON.stringify(info),
      created_at: nowIso(),
      updated_at: null,
    };
    next += 1;
    await ctx.insertNode(row);
    ctx.nodes.push(row);
    added.push(row);
  }
  return added;
}

export interface BootSpec {
  image: string;
  flavor: string;
  userData: string;
  /** security groups of the server's ports (names or ids); none: Nova's default */
  securityGroups?: string[];
}

/** Boots (or adopts) the server of every planned node. */
export async function ensureServers(
  ctx: DriverContext,
  specFor: (node: NodeRow) => Promise<BootSpec>,
): Promise<void> {
  const planned = ctx.nodes.filter((n) => n.state === NODE.planned);
  if (planned.length === 0) return;
  const nova = ctx.compute();
  const existing = await clusterServers(ctx);
  const networks = await networksOf(ctx);
  for (const node of planned) {
    const adopted = existing.find((s) => s.metadata?.[META_NODE] === node.uuid);
    let serverId = adopted?.id;
    if (!serverId) {
      const spec = await specFor(node);
      try {
        const created = await nova.createServer({
          name: node.name,
          imageRef: await ctx.resolveImage(spec.image),
          flavorRef: await ctx.resolveFlavor(spec.flavor),
          networks,
          userData: spec.userData,
          ...(spec.securityGroups?.length && networks !== 'none'
            ? { securityGroups: spec.securityGroups }
            : {}),
          metadata: { [META_CLUSTER]: ctx.cluster.uuid, [META_NODE]: node.uuid, berth_role: node.role },
          ...(ctx.cluster.keypair ? { keyName: ctx.cluster.keypair } : {}),
        });
        serverId = created.id;
      } catch (e) {
        // a hiccup is retried: a server Nova made anyway is adopted by its berth_node metadata
        if (isCloudHiccup(e)) throw e;
        throw new DriverError(
          `node ${node.name}: Nova refused to create its server: ${(e as Error).message}`,
        );
      }
      ctx.logger.info(
        { cluster: ctx.cluster.uuid, node: node.name, server: serverId },
        'node server created',
      );
    } else {
      ctx.logger.info(
        { cluster: ctx.cluster.uuid, node: node.name, server: serverId },
        'adopted existing server',
      );
    }
    // the node may have reported already (fast boots): only a planned node becomes booting
    await ctx.updateNode(node.uuid, { server_id: serverId, updated_at: nowIso() });
    node.server_id = serverId;
    if (await ctx.updateNodeIf(node.uuid, NODE.planned, { state: NODE.booting })) node.state = NODE.booting;
  }
}

/** Whether the cluster's servers get a network (a fixed_network, or [compute] default_networks auto). */
export function hasNetwork(ctx: DriverContext): boolean {
  return (
    !!(ctx.cluster.fixed_network ?? ctx.template.fixed_network) ||
    ctx.config.compute.default_networks === 'auto'
  );
}

/** The networks of a new server: the fixed_network (a Neutron name or id, as Magnum takes it), else the default. */
export async function networksOf(ctx: DriverContext): Promise<'none' | 'auto' | Array<{ uuid: string }>> {
  const net = ctx.cluster.fixed_network ?? ctx.template.fixed_network;
  if (net) {
    try {
      return [{ uuid: await ctx.resolveNetwork(net) }];
    } catch (e) {
      if (isCloudHiccup(e)) throw e;
      throw new DriverError(`fixed_network ${net}: ${(e as Error).message}`);
    }
  }
  return ctx.config.compute.default_networks as 'none' | 'auto';
}

/** The cluster's servers as Nova lists them (by name prefix, confirmed by metadata). */
export async function clusterServers(ctx: DriverContext): Promise<Server[]> {
  const prefix = serverPrefix(ctx).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const servers = await ctx.compute().listServers({ name: `^${prefix}`, ...ctx.serverFilter });
  return servers.filter((s) => s.metadata?.[META_CLUSTER] === ctx.cluster.uuid);
}

/**
 * Fails on nodes whose server Nova put in ERROR or lost; returns the
 * servers by id for progress messages.
 */
export async function checkServers(ctx: DriverContext, nodes: NodeRow[]): Promise<Map<string, Server>> {
  const servers = new Map((await clusterServers(ctx)).map((s) => [s.id, s]));
  for (const n of nodes) {
    if (!n.server_id || LEAVING.includes(n.state)) continue;
    const s = servers.get(n.server_id);
    if (!s) throw new DriverError(`node ${n.name}: its Nova server ${n.server_id} no longer exists`);
    if (s.status === 'ERROR') {
      throw new DriverError(
        `node ${n.name}: Nova server ${s.id} went to ERROR${s.fault?.message ? `: ${s.fault.message}` : ''}`,
      );
    }
  }
  return servers;
}

/**
 * Deletes the servers of `nodes` (and, with `orphans`, any other server
 * carrying the cluster's metadata); true once Nova no longer has any of them.
 */
export async function deleteServers(
  ctx: DriverContext,
  nodes: NodeRow[],
  orphans: boolean,
): Promise<boolean> {
  const nova = ctx.compute();
  const listed = await clusterServers(ctx);
  const wanted = new Set(nodes.map((n) => n.server_id).filter((s): s is string => !!s));
  if (orphans) for (const s of listed) wanted.add(s.id);
  const still = listed.filter((s) => wanted.has(s.id));
  for (const s of still) {
    if (s.status !== 'DELETED' && s['OS-EXT-STS:task_state'] !== 'deleting') await nova.deleteServer(s.id);
  }
  for (const n of nodes) {
    if (n.state !== NODE.removing) {
      await ctx.updateNode(n.uuid, { state: NODE.removing, updated_at: nowIso() });
      n.state = NODE.removing;
    }
  }
  // a server Nova no longer lists is gone; confirm the ones it does list
  return still.every((s) => s.status === 'DELETED');
}
