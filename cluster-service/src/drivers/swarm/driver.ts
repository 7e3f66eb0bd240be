// Docker Swarm mode on Nova servers. Masters and workers are servers booted
// with the bootstrap script as user data; the first master runs
// `docker swarm init`, the others join with the tokens it reported. Nodes
// report back (with the cluster's secret) instead of the service polling
// them: a create completes when every node said it is in the swarm, and
// fails with that node's own words when one reports a failure, or with what
// was still awaited when create_timeout runs out. When the nodes are on a
// network they share a security group of the cluster's own (SWARM_RULES).

import { ApiError } from '@berth/service-kit';

import type { NodeGroupRow } from '../../db/clusters';
import type { NodeRow } from '../../db/nodes';
import { nowIso, parseJson } from '../../db/util';
import {
  DriverError,
  type ClusterDriver,
  type DriverContext,
  type HealthReport,
  type NodeInstructions,
  type NodeReport,
  type ResizeRequest,
  type StepResult,
  type UpgradeRequest,
} from '../driver';
import { deleteSecurityGroups, ensureSecurityGroup, type GroupRule } from '../common/security-group';
import {
  checkServers,
  deleteServers,
  ensureServers,
  hasNetwork,
  infoOf,
  LEAVING,
  liveNodes,
  NODE,
  planNodes,
  type NodeInfo,
} from '../common/nova-nodes';
import { asContainerSpec, renderBootstrap, runsAsContainer } from './bootstrap';

/** What the driver keeps on the cluster row (driver_state). */
interface SwarmState {
  /** sealed JSON {worker, manager} */
  join_tokens?: string;
  /** host:2377 of the manager that initialised the swarm */
  manager_address?: string;
  initialized_by?: string;
  /** the Neutron security group of the nodes (clusters without a network have none) */
  security_group?: string;
}

interface SwarmNodeInfo extends NodeInfo {
  docker_version?: string;
  swarm_node_id?: string;
  ca_fingerprint?: string;
  /** managers: the swarm as `docker node ls` showed it at the last heartbeat */
  swarm_nodes?: NonNullable<NodeReport['swarm_nodes']>;
  failed_step?: string;
}

const PROGRESS_RETRY_MS = 3000;

/**
 * What the cluster's security group lets in: the Docker API (TLS with
 * client certificates from the cluster CA) from anywhere, as Magnum's
 * swarm-mode templates opened it, and Swarm's own ports among the nodes
 * only (https://docs.docker.com/engine/swarm/swarm-tutorial/#open-protocols-and-ports-between-the-hosts).
 * Ports of published services are the user's to open (the group is in
 * their project).
 */
export function swarmRules(apiPort: number): GroupRule[] {
  return [
    { protocol: 'tcp', ports: [apiPort, apiPort], from: 'anywhere', description: 'Docker API (TLS)' },
    { protocol: 'icmp', from: 'anywhere', description: 'ping' },
    { protocol: 'tcp', ports: [2377, 2377], from: 'members', description: 'swarm cluster management' },
    { protocol: 'tcp', ports: [7946, 7946], from: 'members', description: 'swarm node communication' },
    { protocol: 'udp', ports: [7946, 7946], from: 'members', description: 'swarm node communication' },
    { protocol: 'udp', ports: [4789, 4789], from: 'members', description: 'overlay network traffic (VXLAN)' },
  ];
}

const stateOf = (ctx: DriverContext): SwarmState => parseJson<SwarmState>(ctx.cluster.driver_state, {});

function defaultNodegroup(ctx: DriverContext, role: 'master' | 'worker'): NodeGroupRow {
  const ng = ctx.nodegroups.find(
    (g) => g.is_default && (role === 'master' ? g.role === 'master' : g.role !== 'master'),
  );
  if (!ng) throw new DriverError(`the cluster has no default ${role} nodegroup`);
  return ng;
}

/** The master that initialises the swarm: index 0 of the default master nodegroup. */
function isInitMaster(ctx: DriverContext, node: NodeRow): boolean {
  const ng = defaultNodegroup(ctx, 'master');
  const first = liveNodes(ctx, ng.uuid).sort((a, b) => a.idx - b.idx)[0];
  return first?.uuid === node.uuid;
}

function since(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : 'never';
}

export class SwarmModeDriver implements ClusterDriver {
  readonly name = 'swarm_mode';
  readonly provides;

  constructor(osDistros: string[]) {
    this.provides = ['swarm-mode', 'swarm'].flatMap((coe) =>
      osDistros.flatMap((os) => ['vm', 'bm'].map((serverType) => ({ serverType, os, coe }))),
    );
  }

  validateCluster(spec: { masterCount: number }): void {
    // a swarm needs a majority of managers: odd counts only (Magnum's validate_master_size)
    if (spec.masterCount % 2 === 0) {
      throw new ApiError(400, 'Invalid', `master_count must be an odd number, got ${spec.masterCount}.`);
    }
  }

  // ---- actions ----

  async create(ctx: DriverContext): Promise<StepResult> {
    if (hasNetwork(ctx)) {
      const state = stateOf(ctx);
      const group = await ensureSecurityGroup(ctx, state.security_group, swarmRules(this.apiPort(ctx)));
      if (group !== state.security_group) {
        await ctx.updateCluster({
          driver_state: JSON.stringify({ ...state, security_group: group } satisfies SwarmState),
        });
      }
    }
    const masters = defaultNodegroup(ctx, 'master');
    const workers = defaultNodegroup(ctx, 'worker');
    await planNodes(ctx, masters, masters.node_count, this.bootInfo(ctx, masters));
    await planNodes(ctx, workers, workers.node_count, this.bootInfo(ctx, workers));
    return this.converge(ctx, 'create');
  }

  async resize(ctx: DriverContext, req: ResizeRequest): Promise<StepResult> {
    const ng = ctx.nodegroups.find((g) => g.uuid === req.nodegroupId);
    if (!ng) throw new DriverError(`nodegroup ${req.nodegroupId} no longer exists`);
    const live = liveNodes(ctx, ng.uuid);
    if (live.length < req.nodeCount) await planNodes(ctx, ng, req.nodeCount, this.bootInfo(ctx, ng));
    if (live.length > req.nodeCount)
      await this.chooseVictims(ctx, ng, live, live.length - req.nodeCount, req.nodesToRemove);
    return this.converge(ctx, 'resize');
  }

  async upgrade(ctx: DriverContext, req: UpgradeRequest): Promise<StepResult> {
    const ng = ctx.nodegroups.find((g) => g.uuid === req.nodegroupId);
    if (!ng) throw new DriverError(`nodegroup ${req.nodegroupId} no longer exists`);
    if (ng.role === 'master') throw new DriverError('the swarm_mode driver cannot upgrade managers in place');
    const target = await ctx.templateById(req.templateId);
    if (!target) throw new DriverError(`cluster template ${req.templateId} no longer exists`);
    const want = { image: ng.image_id && !ng.is_default ? ng.image_id : target.image_id };
    // rolling: add up to max_batch_size new nodes, then retire as many old ones, until none is old
    const live = liveNodes(ctx, ng.uuid);
    const old = live.filter((n) => infoOf(n).image !== want.image);
    const fresh = live.filter((n) => infoOf(n).image === want.image);
    const leaving = ctx.nodes.some((n) => n.nodegroup_id === ng.uuid && LEAVING.includes(n.state));
    if (old.length > 0 && !leaving) {
      if (fresh.every((n) => n.state === NODE.ready) && fresh.length < ng.node_count) {
        const batch = Math.min(req.maxBatchSize, old.length);
        await planNodes(ctx, ng, live.length + batch, { ...this.bootInfo(ctx, ng), image: want.image });
      } else if (fresh.every((n) => n.state === NODE.ready)) {
        await this.chooseVictims(ctx, ng, old, Math.min(req.maxBatchSize, old.length), []);
      }
    }
    const r = await this.converge(ctx, 'upgrade');
    if (r.done && liveNodes(ctx, ng.uuid).some((n) => infoOf(n).image !== want.image)) {
      return { done: false, step: 'upgrade: replacing the next batch of nodes', retryAfterMs: 0 };
    }
    return r;
  }

  async delete(ctx: DriverContext): Promise<StepResult> {
    const gone = await deleteServers(ctx, ctx.nodes, true);
    if (!gone) {
      return {
        done: false,
        step: `deleting ${ctx.nodes.length} node server(s)`,
        retryAfterMs: PROGRESS_RETRY_MS,
      };
    }
    for (const n of [...ctx.nodes]) await ctx.deleteNode(n.uuid);
    ctx.nodes.length = 0;
    // the group goes once no port has it (Nova deletes the servers' ports)
    const recorded = stateOf(ctx).security_group;
    if (!recorded && !hasNetwork(ctx)) return { done: true };
    const groups = await deleteSecurityGroups(ctx, recorded);
    if (!groups.done) {
      return {
        done: false,
        step: `deleting security group(s) ${groups.busy.join(', ')}: Neutron still has ports in them`,
        retryAfterMs: PROGRESS_RETRY_MS,
      };
    }
    return { done: true };
  }

  async rotateCa(ctx: DriverContext): Promise<StepResult> {
    const fp = await ctx.ca.fingerprint();
    const behind = ctx.nodes.filter((n) => n.state === NODE.ready && infoOf(n).ca_fingerprint !== fp);
    if (behind.length === 0) return { done: true };
    return {
      done: false,
      step: `waiting for ${behind.length} node(s) to take the new CA at their next heartbeat: ${behind.map((n) => n.name).join(', ')}`,
      retryAfterMs: PROGRESS_RETRY_MS,
    };
  }

  async health(ctx: DriverContext): Promise<HealthReport> {
    const reason: Record<string, string> = {};
    const now = ctx.now();
    const fresh = (n: NodeRow) =>
      !!n.reported_at && now - n.reported_at < ctx.config.swarm.node_down_after * 1000;
    const nodes = ctx.nodes.filter((n) => !LEAVING.includes(n.state));
    // the freshest manager view of the swarm, when a manager reports
    const manager = nodes
      .filter((n) => n.role === 'master' && fresh(n) && (infoOf(n) as SwarmNodeInfo).swarm_nodes)
      .sort((a, b) => (b.reported_at ?? 0) - (a.reported_at ?? 0))[0];
    if (!manager) {
      return { status: 'UNKNOWN', reason: { api: `The cluster ${ctx.cluster.name} is not accessible.` } };
    }
    reason.api = 'ok';
    const view = new Map(((infoOf(manager) as SwarmNodeInfo).swarm_nodes ?? []).map((s) => [s.id, s]));
    let healthy = true;
    for (const n of nodes) {
      const id = (infoOf(n) as SwarmNodeInfo).swarm_node_id;
      const inSwarm = id ? view.get(id) : undefined;
      const ready = n.state === NODE.ready && fresh(n) && inSwarm?.status?.toLowerCase() === 'ready';
      reason[`${n.name}.Ready`] = ready ? 'True' : 'False';
      if (!ready) healthy = false;
    }
    return { status: healthy ? 'HEALTHY' : 'UNHEALTHY', reason };
  }

  // ---- node reports ----

  async nodeReport(ctx: DriverContext, node: NodeRow, r: NodeReport): Promise<NodeInstructions> {
    const info = infoOf(node) as SwarmNodeInfo;
    const now = ctx.now();
    const values: Record<string, unknown> = { reported_at: now, updated_at: nowIso() };
    if (r.address) values.address = r.address;
    if (r.docker_version?.trim()) info.docker_version = r.docker_version.trim();
    if (r.swarm_node_id) info.swarm_node_id = r.swarm_node_id;
    if (r.ca_fingerprint) info.ca_fingerprint = r.ca_fingerprint;
    if (r.swarm_nodes && node.role === 'master') info.swarm_nodes = r.swarm_nodes;
    const address = r.address ?? node.address;
    const reply: NodeInstructions = { action: 'none', retry_after: ctx.config.swarm.report_interval };

    if ([NODE.drained, NODE.removing].includes(node.state as 'drained')) {
      await ctx.updateNode(node.uuid, { ...values, info: JSON.stringify(info) });
      return { action: 'leave' };
    }

    // a certificate for the node's TLS endpoint: on first contact, and whenever it is not from the current CA
    const fp = await ctx.ca.fingerprint();
    if (
      r.csr &&
      !ctx.template.tls_disabled &&
      (r.phase === 'booted' || info.ca_fingerprint !== fp) &&
      address
    ) {
      reply.certificate = await ctx.ca.signServer(r.csr, { ips: [address], dns: [node.name] });
      reply.ca = await ctx.ca.certPem();
      info.ca_fingerprint = fp;
    }

    const state = stateOf(ctx);
    switch (r.phase) {
      case 'failed':
        values.state = NODE.failed;
        values.status_reason = `node ${node.name} failed at step ${r.step ?? 'unknown'}: ${r.error ?? 'no details'}`;
        info.failed_step = r.step;
        break;
      case 'booted':
        if (node.state !== NODE.ready) values.state = NODE.reported;
        if (node.state === NODE.ready) reply.action = 'none';
        else if (isInitMaster(ctx, node) && !state.join_tokens) reply.action = 'init';
        else if (state.join_tokens && state.manager_address) {
          const tokens = JSON.parse(ctx.open(state.join_tokens)) as { worker: string; manager: string };
          reply.action = 'join';
          reply.join = {
            token: node.role === 'master' ? tokens.manager : tokens.worker,
            manager_address: state.manager_address,
          };
        } else {
          // the first master is about to report its tokens: ask again soon
          reply.action = 'wait';
          reply.retry_after = 2;
        }
        break;
      case 'swarm-initialized': {
        if (!isInitMaster(ctx, node))
          throw new ApiError(409, 'Conflict', `node ${node.name} is not the initial manager`);
        const t = r.join_tokens;
        if (!t?.worker || !t.manager)
          throw new ApiError(400, 'Invalid', 'swarm-initialized needs join_tokens');
        await ctx.updateCluster({
          driver_state: JSON.stringify({
            ...state,
            join_tokens: ctx.seal(JSON.stringify({ worker: t.worker, manager: t.manager })),
            manager_address: `${address}:2377`,
            initialized_by: node.uuid,
          } satisfies SwarmState),
        });
        values.state = NODE.ready;
        break;
      }
      case 'joined':
        if (node.state !== NODE.draining) values.state = NODE.ready;
        break;
      case 'drained': {
        const ids = new Set(r.drained_nodes ?? []);
        for (const n of ctx.nodes) {
          if (n.state === NODE.draining && ids.has((infoOf(n) as SwarmNodeInfo).swarm_node_id ?? '')) {
            await ctx.updateNode(n.uuid, { state: NODE.drained, updated_at: nowIso() });
          }
        }
        break;
      }
      case 'heartbeat': {
        // a manager drains the nodes on their way out
        if (node.role === 'master' && node.state === NODE.ready) {
          const ids = ctx.nodes
            .filter((n) => n.state === NODE.draining)
            .map((n) => (infoOf(n) as SwarmNodeInfo).swarm_node_id)
            .filter((id): id is string => !!id);
          if (ids.length) {
            reply.action = 'drain';
            reply.drain_nodes = ids;
            reply.retry_after = 2;
          }
        }
        break;
      }
    }
    if (ctx.cluster.status.endsWith('_IN_PROGRESS') && reply.action === 'none') reply.retry_after = 5;
    values.info = JSON.stringify(info);
    await ctx.updateNode(node.uuid, values);
    return reply;
  }

  // ---- internals ----

  private bootInfo(ctx: DriverContext, ng: NodeGroupRow): NodeInfo {
    const master = ng.role === 'master';
    const flavor =
      (master ? (ctx.cluster.master_flavor_id ?? ctx.template.master_flavor_id) : null) ??
      ng.flavor_id ??
      ctx.cluster.flavor_id ??
      ctx.template.flavor_id ??
      undefined;
    return { image: ng.image_id ?? ctx.template.image_id, ...(flavor ? { flavor } : {}) };
  }

  private apiPort(ctx: DriverContext): number {
    return ctx.template.apiserver_port ?? ctx.config.swarm.api_port;
  }

  /** Boots what is planned, removes what is leaving, and reports what is still awaited. */
  private async converge(ctx: DriverContext, what: string): Promise<StepResult> {
    await ensureServers(ctx, async (node) => {
      const info = infoOf(node);
      if (!info.flavor) {
        throw new DriverError(`node ${node.name}: no flavor (set flavor_id on the cluster or its template)`);
      }
      const image = info.image ?? ctx.template.image_id;
      const script = renderBootstrap({
        reportUrl: ctx.reportUrl,
        secret: ctx.nodeSecret(),
        clusterUuid: ctx.cluster.uuid,
        nodeUuid: node.uuid,
        nodeName: node.name,
        role: node.role === 'master' ? 'master' : 'worker',
        apiPort: this.apiPort(ctx),
        reportInterval: ctx.config.swarm.report_interval,
        tlsDisabled: !!ctx.template.tls_disabled,
      });
      const container = runsAsContainer(await ctx.imageProperties(image));
      const group = stateOf(ctx).security_group;
      return {
        image,
        flavor: info.flavor,
        userData: container ? asContainerSpec(script) : script,
        ...(group ? { securityGroups: [group] } : {}),
      };
    });

    const failed = ctx.nodes.find((n) => n.state === NODE.failed);
    if (failed) {
      const ng = ctx.nodegroups.find((g) => g.uuid === failed.nodegroup_id)?.name;
      throw new DriverError(failed.status_reason ?? `node ${failed.name} failed`, ng);
    }
    const servers = await checkServers(ctx, ctx.nodes);

    // nodes on their way out: drained (or never in the swarm) -> delete the server -> forget the node
    const outgoing = ctx.nodes.filter((n) => n.state === NODE.drained || n.state === NODE.removing);
    if (outgoing.length && (await deleteServers(ctx, outgoing, false))) {
      for (const n of outgoing) {
        await ctx.deleteNode(n.uuid);
        const i = ctx.nodes.indexOf(n);
        if (i >= 0) ctx.nodes.splice(i, 1);
      }
    }
    const drained = ctx.nodes.filter((n) => n.state === NODE.drained || n.state === NODE.removing);
    const draining = ctx.nodes.filter((n) => n.state === NODE.draining);
    if (draining.length) {
      const managerFresh = ctx.nodes.some(
        (n) =>
          n.role === 'master' &&
          n.state === NODE.ready &&
          !!n.reported_at &&
          ctx.now() - n.reported_at < ctx.config.swarm.node_down_after * 1000,
      );
      if (!managerFresh) {
        throw new DriverError(
          `cannot drain ${draining.map((n) => n.name).join(', ')}: no manager of the swarm has reported in the last ${ctx.config.swarm.node_down_after} s`,
        );
      }
    }

    const waiting = ctx.nodes.filter((n) => !LEAVING.includes(n.state) && n.state !== NODE.ready);
    if (waiting.length === 0 && draining.length === 0 && drained.length === 0) {
      await this.publishAddresses(ctx);
      return { done: true };
    }
    const parts = [
      ...waiting.map((n) => {
        const s = n.server_id ? servers.get(n.server_id) : undefined;
        if (n.state === NODE.planned) return `${n.name} (server not created yet)`;
        if (n.state === NODE.booting) {
          return `${n.name} (Nova server ${n.server_id} ${s?.status ?? 'unknown'}, never reported since ${since(Date.parse(n.created_at))})`;
        }
        return `${n.name} (reported at ${since(n.reported_at)}, not in the swarm yet)`;
      }),
      ...draining.map((n) => `${n.name} (draining)`),
      ...drained.map((n) => `${n.name} (server being deleted)`),
    ];
    return {
      done: false,
      step: `${what}: waiting for ${parts.length} node(s): ${parts.join('; ')}`,
      retryAfterMs: PROGRESS_RETRY_MS,
    };
  }

  /** Picks nodes to remove (the ones asked for first, then the newest) and starts draining them. */
  private async chooseVictims(
    ctx: DriverContext,
    ng: NodeGroupRow,
    live: NodeRow[],
    count: number,
    asked: string[],
  ): Promise<void> {
    const chosen: NodeRow[] = [];
    for (const id of asked) {
      const n = live.find((x) => x.server_id === id || x.name === id || x.uuid === id);
      if (!n) throw new DriverError(`nodes_to_remove: ${id} is not a node of nodegroup ${ng.name}`);
      if (!chosen.includes(n)) chosen.push(n);
    }
    for (const n of [...live].sort((a, b) => b.idx - a.idx)) {
      if (chosen.length >= count) break;
      if (!chosen.includes(n) && !(ng.role === 'master' && isInitMaster(ctx, n))) chosen.push(n);
    }
    for (const n of chosen.slice(0, Math.max(count, asked.length))) {
      // in the swarm: a manager drains it first; never joined: just delete it
      const inSwarm = n.state === NODE.ready && !!(infoOf(n) as SwarmNodeInfo).swarm_node_id;
      const state = inSwarm ? NODE.draining : NODE.drained;
      await ctx.updateNode(n.uuid, { state, updated_at: nowIso() });
      n.state = state;
    }
  }

  /** api_address, master/node addresses and versions, once the nodes are in. */
  private async publishAddresses(ctx: DriverContext): Promise<void> {
    const live = ctx.nodes.filter((n) => !LEAVING.includes(n.state));
    for (const ng of ctx.nodegroups) {
      const addrs = live
        .filter((n) => n.nodegroup_id === ng.uuid)
        .sort((a, b) => a.idx - b.idx)
        .map((n) => n.address)
        .filter((a): a is string => !!a);
      await ctx.updateNodegroup(ng.uuid, {
        node_addresses: JSON.stringify(addrs),
        node_count: liveNodes(ctx, ng.uuid).length,
      });
    }
    const masters = live.filter((n) => n.role === 'master').sort((a, b) => a.idx - b.idx);
    const first = masters[0];
    const version = first ? (infoOf(first) as SwarmNodeInfo).docker_version : undefined;
    await ctx.updateCluster({
      api_address: first?.address ? `tcp://${first.address}:${this.apiPort(ctx)}` : null,
      coe_version: version ?? null,
      container_version: version ?? null,
    });
  }
}
