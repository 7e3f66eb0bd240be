// Nodegroups (API 1.9+): extra worker groups of a cluster. Creating one or
// deleting one is a conductor job on the cluster; patching only changes the
// autoscaling bounds (magnum/api/controllers/v1/nodegroup.py).

import { randomUUID } from 'node:crypto';

import { ApiError } from '@berth/service-kit';
import type { RequestContext } from 'keystone-client-ts';

import type { components } from '../generated/api';
import { notSupported } from '../api/errors';
import { applyPatch, BASE_INTERNAL, type PatchOp } from '../api/jsonpatch';
import { requireOwnerOrAdmin } from '../api/policy';
import type { ClusterRow, NodeGroupRow } from '../db/clusters';
import { bool, nowIso, parseJson } from '../db/util';
import { findCluster, findNodegroup, startUpdateJob, UPDATABLE } from './clusters';
import type { Deps } from './deps';
import { stringLabels } from './templates';
import { validateAgainst } from './validate';

type S = components['schemas'];

function checkCounts(name: string, count: number, min: number, max: number | null): void {
  const bad = (attr: string, expl: string) =>
    new ApiError(409, 'NodeGroupInvalidInput', `${attr} for ${name} is invalid (${expl}).`);
  if (max) {
    if (max < min)
      throw bad(
        'max_node_count',
        `min_node_count (${min}) should be less or equal to max_node_count (${max})`,
      );
    if (count > max)
      throw bad('max_node_count', `node_count (${count}) should be less or equal to max_node_count (${max})`);
  }
  if (min > count)
    throw bad('min_node_count', `min_node_count (${min}) should be less or equal to node_count (${count})`);
}

export async function createNodegroup(
  deps: Deps,
  ctx: RequestContext,
  ident: string,
  body: S['NodeGroupCreate'],
): Promise<{ cluster: ClusterRow; ng: NodeGroupRow }> {
  const cluster = await findCluster(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'nodegroup:create', cluster.project_id);
  if (!cluster.api_address)
    throw new ApiError(409, 'ClusterAPIAddressUnavailable', 'Cluster API address is not available yet');
  const ngs = await deps.clusters.nodegroups(cluster.uuid);
  const name = body.name ?? `nodegroup-${randomUUID().slice(0, 8)}`;
  if (ngs.some((g) => g.name === name)) {
    throw new ApiError(
      409,
      'NodeGroupAlreadyExists',
      `A node group with name ${name} already exists in the cluster ${cluster.name}.`,
    );
  }
  const role = body.role ?? 'worker';
  const count = body.node_count ?? 1;
  const min = body.min_node_count ?? 0;
  const max = body.max_node_count ?? null;
  checkCounts(name, count, min, max);
  if (role === 'master') throw notSupported('Creating master nodegroups is currently not supported.');
  if (!UPDATABLE.includes(cluster.status)) {
    throw notSupported(`Updating a cluster when status is "${cluster.status}" is not supported.`);
  }
  const template = await deps.templates.get(cluster.cluster_template_id);
  const clusterLabels = parseJson<Record<string, string>>(cluster.labels, {});
  const labels = body.labels
    ? body.merge_labels
      ? { ...clusterLabels, ...stringLabels(body.labels) }
      : stringLabels(body.labels)
    : clusterLabels;
  const row = {
    uuid: randomUUID(),
    name,
    cluster_id: cluster.uuid,
    project_id: cluster.project_id,
    docker_volume_size: body.docker_volume_size ?? null,
    labels: JSON.stringify(labels),
    flavor_id: body.flavor_id ?? cluster.flavor_id,
    image_id: body.image_id ?? template?.image_id ?? null,
    node_addresses: '[]',
    node_count: count,
    role,
    max_node_count: max,
    min_node_count: min,
    is_default: bool(false),
    stack_id: null,
    status: 'CREATE_IN_PROGRESS',
    status_reason: null,
    version: null,
    created_at: nowIso(),
    updated_at: null,
  };
  await startUpdateJob(
    deps,
    cluster,
    'nodegroup_create',
    { nodegroupId: row.uuid, nodeCount: count },
    async (tx) => {
      await deps.clusters.insertNodegroup(row, tx);
    },
  );
  return { cluster, ng: (await deps.clusters.nodegroup(cluster.uuid, row.uuid))[0]! };
}

const NG_PATCH_RULES = {
  internal: [
    ...BASE_INTERNAL,
    '/name',
    '/cluster_id',
    '/docker_volume_size',
    '/labels',
    '/flavor_id',
    '/image_id',
    '/node_addresses',
    '/node_count',
    '/role',
    '/is_default',
    '/stack_id',
    '/status',
    '/status_reason',
    '/version',
  ],
  nonRemovable: [],
  dictPaths: [],
};

export async function patchNodegroup(
  deps: Deps,
  ctx: RequestContext,
  ident: string,
  ngIdent: string,
  ops: PatchOp[],
) {
  const cluster = await findCluster(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'nodegroup:update', cluster.project_id);
  const ng = await findNodegroup(deps, cluster, ngIdent);
  const patched = applyPatch(
    { min_node_count: ng.min_node_count, max_node_count: ng.max_node_count },
    ops,
    NG_PATCH_RULES,
  );
  const v = validateAgainst('NodeGroupPatchable', patched, 'nodegroup') as {
    min_node_count: number;
    max_node_count: number | null;
  };
  checkCounts(ng.name, ng.node_count, v.min_node_count ?? 0, v.max_node_count ?? null);
  await deps.clusters.updateNodegroup(ng.uuid, {
    min_node_count: v.min_node_count ?? 0,
    max_node_count: v.max_node_count ?? null,
    updated_at: nowIso(),
  });
  return { cluster, ng: (await deps.clusters.nodegroup(cluster.uuid, ng.uuid))[0]! };
}

export async function deleteNodegroup(
  deps: Deps,
  ctx: RequestContext,
  ident: string,
  ngIdent: string,
): Promise<void> {
  const cluster = await findCluster(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'nodegroup:delete', cluster.project_id);
  const ng = await findNodegroup(deps, cluster, ngIdent);
  if (ng.is_default) throw notSupported('Deleting a default nodegroup is not supported.');
  if (!UPDATABLE.includes(cluster.status) && cluster.status !== 'UPDATE_FAILED') {
    throw notSupported(`Updating a cluster when status is "${cluster.status}" is not supported.`);
  }
  await startUpdateJob(
    deps,
    cluster,
    'nodegroup_delete',
    { nodegroupId: ng.uuid, nodeCount: 0 },
    async (tx) => {
      await deps.clusters.updateNodegroup(ng.uuid, { status: 'DELETE_IN_PROGRESS', status_reason: null }, tx);
    },
  );
}
