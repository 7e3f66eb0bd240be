// Clusters: create, patch, delete, resize, upgrade. The API checks what
// Magnum checks, writes the cluster (and its nodegroups and job) in one
// transaction, and answers 202; the conductor does the rest. Nothing is
// half-stored: a refused request changes nothing.

import { randomBytes, randomUUID } from 'node:crypto';

import { ApiError } from '@berth/service-kit';
import type { RequestContext } from 'keystone-client-ts';

import type { components } from '../generated/api';
import { clusterNotFound, conflict, invalid, nodegroupNotFound, notSupported } from '../api/errors';
import { applyPatch, BASE_INTERNAL, type PatchOp } from '../api/jsonpatch';
import { requireOwnerOrAdmin, requireProject } from '../api/policy';
import { isUuidLike, scopeOf } from '../api/request';
import type { ClusterRow, NodeGroupRow } from '../db/clusters';
import type { JobAction } from '../db/jobs';
import type { Db } from '../db/schema';
import { bool, nowIso, parseJson } from '../db/util';
import { ResourceValidator } from '../openstack/resources';
import { upstream } from '../openstack/upstream';
import type { Deps } from './deps';
import { findTemplate, generatedName, stringLabels } from './templates';
import { validateAgainst } from './validate';

type S = components['schemas'];

/** Statuses a cluster may be updated or upgraded from (conductor/handlers/cluster_conductor.py). */
export const UPDATABLE = [
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'RESUME_COMPLETE',
  'RESTORE_COMPLETE',
  'ROLLBACK_COMPLETE',
  'SNAPSHOT_COMPLETE',
  'CHECK_COMPLETE',
  'ADOPT_COMPLETE',
];
/** Resize is also allowed while an update runs or after one failed (autoscalers retry). */
export const RESIZABLE = [...UPDATABLE, 'UPDATE_FAILED', 'UPDATE_IN_PROGRESS'];

const zeroNodes = () =>
  notSupported('Resizing a nodegroup to zero is not supported in the provided microversion.');

export async function findCluster(deps: Deps, ctx: RequestContext, ident: string): Promise<ClusterRow> {
  const scope = scopeOf(ctx);
  if (isUuidLike(ident)) {
    const c = await deps.clusters.byUuid(scope, ident);
    if (!c) throw clusterNotFound(ident);
    return c;
  }
  const found = await deps.clusters.byName(scope, ident);
  if (found.length > 1)
    throw conflict('Multiple clusters exist with same name. Please use the cluster uuid instead.');
  if (!found[0]) throw clusterNotFound(ident);
  return found[0];
}

export async function findNodegroup(deps: Deps, cluster: ClusterRow, ident: string): Promise<NodeGroupRow> {
  const found = await deps.clusters.nodegroup(cluster.uuid, ident);
  if (found.length > 1)
    throw conflict('Multiple nodegroups exist with same name. Please use the nodegroup uuid instead.');
  if (!found[0]) throw nodegroupNotFound(ident);
  return found[0];
}

function defaultWorker(ngs: NodeGroupRow[]): NodeGroupRow {
  const ng = ngs.find((g) => g.is_default && g.role !== 'master');
  if (!ng) throw invalid('the cluster has no default worker nodegroup');
  return ng;
}

function deadline(deps: Deps, action: JobAction, createTimeout?: number): number {
  const c = deps.config.conductor;
  const minutes =
    action === 'create'
      ? createTimeout || c.default_create_timeout
      : action === 'delete'
        ? c.delete_timeout
        : c.update_timeout;
  return Date.now() + minutes * 60_000;
}

async function quotaLimit(deps: Deps, projectId: string, db: Db): Promise<number> {
  const q = await deps.quotas.get(projectId, 'Cluster', db);
  return q ? q.hard_limit : deps.config.quotas.max_clusters_per_project;
}

function quotaExceeded(limit: number) {
  return new ApiError(
    403,
    'ResourceLimitExceeded',
    `Resource limit exceeded: You have reached the maximum clusters per project, ${limit}. You may delete a cluster to make room for a new one.`,
  );
}

export async function createCluster(
  deps: Deps,
  ctx: RequestContext,
  body: S['ClusterCreate'],
  opts: { zeroNodesAllowed: boolean; templateNotFoundStatus: 400 | 404 },
): Promise<string> {
  const project = requireProject(ctx, 'cluster:create');
  if (body.node_count === 0 && !opts.zeroNodesAllowed) throw zeroNodes();
  const limit = await quotaLimit(deps, project, deps.db);
  if ((await deps.clusters.countInProject(project)) >= limit) throw quotaExceeded(limit);

  let template;
  try {
    template = await findTemplate(deps, ctx, body.cluster_template_id);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && opts.templateNotFoundStatus === 400) {
      throw new ApiError(400, e.code, e.message);
    }
    throw e;
  }
  const driver = deps.drivers.select(template.server_type, template.cluster_distro, template.coe);

  const templateLabels = parseJson<Record<string, string>>(template.labels, {});
  let labels = templateLabels;
  if (body.labels && Object.keys(body.labels).length > 0) {
    labels = body.merge_labels
      ? { ...templateLabels, ...stringLabels(body.labels) }
      : stringLabels(body.labels);
  }
  const pick = <T>(own: T | null | undefined, inherited: T | null): T | null => (own ? own : inherited);
  const spec = {
    keypair: body.keypair ?? template.keypair_id,
    docker_volume_size: pick(body.docker_volume_size, template.docker_volume_size),
    master_flavor_id: pick(body.master_flavor_id, template.master_flavor_id),
    flavor_id: pick(body.flavor_id, template.flavor_id),
    fixed_network: pick(body.fixed_network, template.fixed_network),
    fixed_subnet: pick(body.fixed_subnet, template.fixed_subnet),
    floating_ip_enabled: body.floating_ip_enabled ?? template.floating_ip_enabled === 1,
    master_lb_enabled: body.master_lb_enabled ?? template.master_lb_enabled === 1,
  };
  const nodeCount = body.node_count ?? 1;
  const masterCount = body.master_count ?? 1;

  const check = new ResourceValidator(
    await deps.keystone.userSession(ctx),
    deps.config.compute.interface as 'public',
  );
  await check.image(template.image_id);
  await check.flavor(spec.flavor_id);
  await check.flavor(spec.master_flavor_id);
  await check.keypair(spec.keypair);
  if (masterCount > 1 && !spec.master_lb_enabled)
    throw invalid('master_count must be 1 when master_lb_enabled is False');
  driver.validateCluster({ masterCount, nodeCount, template });
  if (
    template.docker_storage_driver === 'devicemapper' &&
    (!spec.docker_volume_size || spec.docker_volume_size < 3)
  ) {
    throw invalid(
      `docker volume size ${spec.docker_volume_size ?? 'None'} GB is not valid, expecting minimum value 3GB for devicemapper storage driver.`,
    );
  }

  // the conductor keeps acting for the user after their token expired: through a trust
  let trustId: string;
  try {
    trustId = await upstream('Keystone', () => deps.keystone.createTrust(ctx));
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(
      403,
      'TrustCreateFailed',
      `Failed to create the cluster's trust: ${(e as Error).message}`,
    );
  }

  const uuid = randomUUID();
  const name = body.name || generatedName('cluster');
  const now = nowIso();
  try {
    await deps.db.transaction().execute(async (tx) => {
      if ((await deps.clusters.countInProject(project, tx)) >= (await quotaLimit(deps, project, tx))) {
        throw quotaExceeded(limit);
      }
      await deps.clusters.insert(
        {
          uuid,
          project_id: project,
          user_id: ctx.userId,
          name,
          cluster_template_id: template.uuid,
          keypair: spec.keypair,
          docker_volume_size: spec.docker_volume_size,
          labels: JSON.stringify(labels),
          master_flavor_id: spec.master_flavor_id,
          flavor_id: spec.flavor_id,
          stack_id: `${name.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 30)}-${uuid.slice(0, 8)}`,
          api_address: null,
          status: 'CREATE_IN_PROGRESS',
          status_reason: null,
          health_status: null,
          health_status_reason: null,
          create_timeout: body.create_timeout ?? 60,
          discovery_url: body.discovery_url ?? null,
          coe_version: null,
          container_version: null,
          fixed_network: spec.fixed_network,
          fixed_subnet: spec.fixed_subnet,
          floating_ip_enabled: bool(spec.floating_ip_enabled),
          master_lb_enabled: bool(spec.master_lb_enabled),
          driver: driver.name,
          trust_id: trustId,
          node_secret_enc: deps.box.seal(randomBytes(32).toString('base64url')),
          driver_state: '{}',
          created_at: now,
          updated_at: null,
        },
        tx,
      );
      for (const [role, count, flavor] of [
        ['master', masterCount, spec.master_flavor_id],
        ['worker', nodeCount, spec.flavor_id],
      ] as const) {
        await deps.clusters.insertNodegroup(
          {
            uuid: randomUUID(),
            name: `default-${role}`,
            cluster_id: uuid,
            project_id: project,
            docker_volume_size: spec.docker_volume_size,
            labels: JSON.stringify(labels),
            flavor_id: flavor,
            image_id: template.image_id,
            node_addresses: '[]',
            node_count: count,
            role,
            max_node_count: null,
            min_node_count: 0,
            is_default: 1,
            stack_id: null,
            status: 'CREATE_IN_PROGRESS',
            status_reason: null,
            version: null,
            created_at: now,
            updated_at: null,
          },
          tx,
        );
      }
      await deps.jobs.enqueue(
        { clusterId: uuid, action: 'create', deadline: deadline(deps, 'create', body.create_timeout ?? 60) },
        tx,
      );
    });
  } catch (e) {
    await deps.keystone.deleteTrust(trustId).catch(() => undefined);
    throw e;
  }
  deps.poke(uuid);
  return uuid;
}

/** Changes a nodegroup's size through a resize job (PATCH node_count, actions/resize, nodegroups). */
async function startResize(
  deps: Deps,
  cluster: ClusterRow,
  ng: NodeGroupRow,
  nodeCount: number,
  nodesToRemove: string[],
  allowed: string[],
  verbing: string,
): Promise<void> {
  if (!allowed.includes(cluster.status)) {
    throw notSupported(`${verbing} a cluster when status is "${cluster.status}" is not supported.`);
  }
  await deps.db.transaction().execute(async (tx) => {
    await deps.clusters.updateNodegroup(
      ng.uuid,
      { node_count: nodeCount, status: 'UPDATE_IN_PROGRESS', status_reason: null, updated_at: nowIso() },
      tx,
    );
    await deps.clusters.update(
      cluster.uuid,
      { status: 'UPDATE_IN_PROGRESS', status_reason: null, updated_at: nowIso() },
      tx,
    );
    await deps.jobs.enqueue(
      {
        clusterId: cluster.uuid,
        action: 'resize',
        params: { nodegroupId: ng.uuid, nodeCount, nodesToRemove, previousCount: ng.node_count },
        deadline: deadline(deps, 'resize'),
      },
      tx,
    );
  });
  deps.poke(cluster.uuid);
}

const CLUSTER_PATCH_RULES = {
  internal: [
    ...BASE_INTERNAL,
    '/api_address',
    '/node_addresses',
    '/master_addresses',
    '/stack_id',
    '/ca_cert_ref',
    '/magnum_cert_ref',
    '/trust_id',
    '/trustee_user_name',
    '/trustee_password',
    '/trustee_user_id',
    '/etcd_ca_cert_ref',
    '/front_proxy_ca_cert_ref',
  ],
  nonRemovable: ['/cluster_template_id'],
  dictPaths: ['/labels', '/health_status_reason'],
};
const CLUSTER_UPDATABLE = new Set(['node_count', 'health_status', 'health_status_reason']);

export async function patchCluster(
  deps: Deps,
  ctx: RequestContext,
  ident: string,
  ops: PatchOp[],
  zeroNodesAllowed: boolean,
): Promise<string> {
  const cluster = await findCluster(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'cluster:update', cluster.project_id);
  const ngs = await deps.clusters.nodegroups(cluster.uuid);
  const worker = defaultWorker(ngs);
  const nodeTotal = ngs.filter((g) => g.role !== 'master').reduce((a, g) => a + g.node_count, 0);
  const doc: Record<string, unknown> = {
    uuid: cluster.uuid,
    name: cluster.name,
    cluster_template_id: cluster.cluster_template_id,
    keypair: cluster.keypair,
    node_count: nodeTotal,
    master_count: ngs.filter((g) => g.role === 'master').reduce((a, g) => a + g.node_count, 0),
    docker_volume_size: cluster.docker_volume_size,
    labels: parseJson(cluster.labels, {}),
    master_flavor_id: cluster.master_flavor_id,
    flavor_id: cluster.flavor_id,
    create_timeout: cluster.create_timeout,
    status: cluster.status,
    status_reason: cluster.status_reason,
    health_status: cluster.health_status,
    health_status_reason: parseJson(cluster.health_status_reason, null),
    discovery_url: cluster.discovery_url,
    coe_version: cluster.coe_version,
    container_version: cluster.container_version,
    fixed_network: cluster.fixed_network,
    fixed_subnet: cluster.fixed_subnet,
    floating_ip_enabled: cluster.floating_ip_enabled === 1,
    master_lb_enabled: cluster.master_lb_enabled === 1,
  };
  const patched = applyPatch(doc, ops, CLUSTER_PATCH_RULES);
  const delta = Object.keys(doc).filter((k) => JSON.stringify(doc[k]) !== JSON.stringify(patched[k]));
  const disallowed = delta.filter((k) => !CLUSTER_UPDATABLE.has(k));
  // values must be valid before anything else is said about them
  const checked = validateAgainst(
    'ClusterPatchable',
    {
      node_count: patched.node_count,
      health_status: patched.health_status ?? null,
      health_status_reason: patched.health_status_reason ?? null,
    },
    'cluster',
  ) as {
    node_count: number;
    health_status: string | null;
    health_status_reason: Record<string, string> | null;
  };
  if (disallowed.length) throw invalid(`cannot change cluster property(ies) ${disallowed.join(', ')}.`);

  // node_count is the default worker nodegroup's size (what Magnum's cluster_update resizes)
  const patchedCount = ops.some((p) => p.path === '/node_count') ? checked.node_count : worker.node_count;
  const newWorkerCount = delta.includes('node_count')
    ? worker.node_count + (patchedCount - nodeTotal)
    : worker.node_count;
  if (delta.includes('node_count') && newWorkerCount === 0 && !zeroNodesAllowed) throw zeroNodes();
  if (newWorkerCount < 0)
    throw invalid(`node_count ${patchedCount} would leave the default worker nodegroup below 0`);

  if (delta.includes('health_status') || delta.includes('health_status_reason')) {
    await deps.clusters.update(cluster.uuid, {
      health_status: checked.health_status,
      health_status_reason: checked.health_status_reason
        ? JSON.stringify(checked.health_status_reason)
        : null,
      updated_at: nowIso(),
    });
  }
  if (newWorkerCount !== worker.node_count) {
    await startResize(deps, cluster, worker, newWorkerCount, [], UPDATABLE, 'Updating');
  }
  return cluster.uuid;
}

export async function deleteCluster(deps: Deps, ctx: RequestContext, ident: string): Promise<void> {
  const cluster = await findCluster(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'cluster:delete', cluster.project_id);
  await deps.db.transaction().execute(async (tx) => {
    const live = await tx
      .selectFrom('jobs')
      .select(['uuid', 'action'])
      .where('cluster_id', '=', cluster.uuid)
      .where('state', 'in', ['pending', 'running', 'cancelling'])
      .execute();
    // a delete already under way is the answer to a second delete
    if (live.some((j) => j.action === 'delete')) return;
    await deps.jobs.cancelLive(cluster.uuid, tx);
    await deps.clusters.update(
      cluster.uuid,
      { status: 'DELETE_IN_PROGRESS', status_reason: null, updated_at: nowIso() },
      tx,
    );
    await deps.jobs.enqueue(
      { clusterId: cluster.uuid, action: 'delete', deadline: deadline(deps, 'delete') },
      tx,
    );
  });
  deps.poke(cluster.uuid);
}

export async function resizeCluster(
  deps: Deps,
  ctx: RequestContext,
  ident: string,
  body: S['ResizeRequest'],
  zeroNodesAllowed: boolean,
): Promise<string> {
  if (body.node_count === 0 && !zeroNodesAllowed) throw zeroNodes();
  const cluster = await findCluster(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'cluster:resize', cluster.project_id);
  const ngs = await deps.clusters.nodegroups(cluster.uuid);
  const ng = body.nodegroup ? await findNodegroup(deps, cluster, body.nodegroup) : defaultWorker(ngs);
  if (ng.role === 'master') throw notSupported('Resizing a master nodegroup is not supported.');
  if (ng.min_node_count > body.node_count || (ng.max_node_count && ng.max_node_count < body.node_count)) {
    throw invalid(
      `Resizing ${ng.name} outside the allowed range: min_node_count = ${ng.min_node_count}, max_node_count = ${ng.max_node_count ?? 'None'}`,
    );
  }
  await startResize(deps, cluster, ng, body.node_count, body.nodes_to_remove ?? [], RESIZABLE, 'Resizing');
  return cluster.uuid;
}

export async function upgradeCluster(
  deps: Deps,
  ctx: RequestContext,
  ident: string,
  body: S['UpgradeRequest'],
): Promise<string> {
  const cluster = await findCluster(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'cluster:upgrade', cluster.project_id);
  const target = await findTemplate(deps, ctx, body.cluster_template);
  const ngs = await deps.clusters.nodegroups(cluster.uuid);
  let ng: NodeGroupRow;
  if (body.nodegroup) {
    ng = await findNodegroup(deps, cluster, body.nodegroup);
    if (target.uuid !== cluster.cluster_template_id && !ng.is_default) {
      const current = await deps.templates.get(cluster.cluster_template_id);
      throw new ApiError(
        409,
        'InvalidClusterTemplateForUpgrade',
        `Cluster Template is not valid for upgrade: Nodegroup ${ng.name} can be upgraded only to match cluster's template (${current?.name ?? cluster.cluster_template_id}).`,
      );
    }
  } else ng = defaultWorker(ngs);
  if (!UPDATABLE.includes(cluster.status)) {
    throw notSupported(`Upgrading a cluster when status is "${cluster.status}" is not supported.`);
  }
  const driver = deps.drivers.find(target.server_type, target.cluster_distro, target.coe);
  if (driver?.name !== cluster.driver) {
    throw invalid(
      `Cluster template ${target.name} is not served by this cluster's driver (${cluster.driver}).`,
    );
  }
  await deps.db.transaction().execute(async (tx) => {
    await deps.clusters.updateNodegroup(
      ng.uuid,
      { status: 'UPDATE_IN_PROGRESS', status_reason: null, updated_at: nowIso() },
      tx,
    );
    await deps.clusters.update(
      cluster.uuid,
      { status: 'UPDATE_IN_PROGRESS', status_reason: null, updated_at: nowIso() },
      tx,
    );
    await deps.jobs.enqueue(
      {
        clusterId: cluster.uuid,
        action: 'upgrade',
        params: { nodegroupId: ng.uuid, templateId: target.uuid, maxBatchSize: body.max_batch_size ?? 1 },
        deadline: deadline(deps, 'upgrade'),
      },
      tx,
    );
  });
  deps.poke(cluster.uuid);
  return cluster.uuid;
}

/** Enqueues a job that keeps the cluster in UPDATE_IN_PROGRESS (CA rotation, nodegroups). */
export async function startUpdateJob(
  deps: Deps,
  cluster: ClusterRow,
  action: JobAction,
  params: Record<string, unknown>,
  before?: (tx: Db) => Promise<void>,
): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    await before?.(tx);
    await deps.clusters.update(
      cluster.uuid,
      { status: 'UPDATE_IN_PROGRESS', status_reason: null, updated_at: nowIso() },
      tx,
    );
    await deps.jobs.enqueue(
      { clusterId: cluster.uuid, action, params, deadline: deadline(deps, action) },
      tx,
    );
  });
  deps.poke(cluster.uuid);
}
