// /v1/clusters, their actions and nodegroups

import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { components } from '../../generated/api';
import {
  createCluster,
  deleteCluster,
  findCluster,
  findNodegroup,
  patchCluster,
  resizeCluster,
  upgradeCluster,
} from '../../core/clusters';
import type { Deps } from '../../core/deps';
import { createNodegroup, deleteNodegroup, patchNodegroup } from '../../core/nodegroups';
import { CLUSTER_COLUMNS, NODEGROUP_COLUMNS } from '../../db/clusters';
import { clusterNotFound, nodegroupNotFound, notSupported } from '../errors';
import type { PatchOp } from '../jsonpatch';
import { atLeast } from '../microversion';
import { requireOwnerOrAdmin } from '../policy';
import { baseUrl, caller, nextLink, parseList, scopeOf, type ListQuery } from '../request';
import { addRoute } from '../route';
import { clusterSummary, clusterView, nodegroupView } from '../views';

type S = components['schemas'];

export function clusterRoutes(app: FastifyInstance, deps: Deps): void {
  const base = (request: FastifyRequest) => baseUrl(request, deps.config.api.public_url);

  const list = (resource: string, expand: boolean) => async (request: FastifyRequest) => {
    const ctx = caller(request);
    const q = parseList(request.query as ListQuery, CLUSTER_COLUMNS, deps.config.api.max_limit);
    const scope = scopeOf(ctx);
    let marker;
    if (q.markerId) {
      marker = await deps.clusters.byUuid(scope, q.markerId);
      if (!marker) throw clusterNotFound(q.markerId);
    }
    const rows = await deps.clusters.list(scope, { ...q, ...(marker ? { marker } : {}) });
    const ngs = await deps.clusters.nodegroupsOf(rows.map((r) => r.uuid));
    const b = base(request);
    let clusters: S['Cluster'][];
    if (expand) {
      const templates = new Map<string, Awaited<ReturnType<typeof deps.templates.get>>>();
      for (const id of new Set(rows.map((r) => r.cluster_template_id)))
        templates.set(id, await deps.templates.get(id));
      clusters = rows.map((r) =>
        clusterView(r, ngs.get(r.uuid) ?? [], templates.get(r.cluster_template_id), b),
      );
    } else {
      clusters = rows.map((r) => clusterSummary(r, ngs.get(r.uuid) ?? [], b));
    }
    const out: S['ClusterCollection'] = { clusters };
    const next = nextLink(b, resource, rows, q);
    if (next) out.next = next;
    return out;
  };
  addRoute(app, { method: 'GET', url: '/v1/clusters', versioned: true, handler: list('clusters', false) });
  addRoute(app, {
    method: 'GET',
    url: '/v1/clusters/detail',
    versioned: true,
    handler: list('clusters/detail', true),
  });

  addRoute(app, {
    method: 'POST',
    url: '/v1/clusters',
    versioned: true,
    operationId: 'createCluster',
    argument: 'cluster',
    handler: async (request, reply) => {
      const uuid = await createCluster(deps, caller(request), request.body as S['ClusterCreate'], {
        zeroNodesAllowed: atLeast(request, '1.10'),
        templateNotFoundStatus: atLeast(request, '1.10') ? 404 : 400,
      });
      reply.code(202);
      return { uuid };
    },
  });

  addRoute(app, {
    method: 'GET',
    url: '/v1/clusters/:ident',
    versioned: true,
    handler: async (request) => {
      const { ident } = request.params as { ident: string };
      const cluster = await findCluster(deps, caller(request), ident);
      const [ngs, template] = await Promise.all([
        deps.clusters.nodegroups(cluster.uuid),
        deps.templates.get(cluster.cluster_template_id),
      ]);
      return clusterView(cluster, ngs, template, base(request));
    },
  });

  addRoute(app, {
    method: 'PATCH',
    url: '/v1/clusters/:ident',
    versioned: true,
    operationId: 'updateCluster',
    argument: 'patch',
    handler: async (request, reply) => {
      const { ident } = request.params as { ident: string };
      const uuid = await patchCluster(
        deps,
        caller(request),
        ident,
        request.body as PatchOp[],
        atLeast(request, '1.10'),
      );
      reply.code(202);
      return { uuid };
    },
  });

  addRoute(app, {
    method: 'DELETE',
    url: '/v1/clusters/:ident',
    versioned: true,
    handler: async (request, reply) => {
      const { ident } = request.params as { ident: string };
      await deleteCluster(deps, caller(request), ident);
      reply.code(204);
      return null;
    },
  });

  addRoute(app, {
    method: 'POST',
    url: '/v1/clusters/:ident/actions/resize',
    versioned: true,
    since: ['resize', '1.7'],
    operationId: 'resizeCluster',
    argument: 'cluster_resize_req',
    handler: async (request, reply) => {
      const { ident } = request.params as { ident: string };
      const uuid = await resizeCluster(
        deps,
        caller(request),
        ident,
        request.body as S['ResizeRequest'],
        atLeast(request, '1.10'),
      );
      reply.code(202);
      return { uuid };
    },
  });

  addRoute(app, {
    method: 'POST',
    url: '/v1/clusters/:ident/actions/upgrade',
    versioned: true,
    since: ['upgrade', '1.7'],
    operationId: 'upgradeCluster',
    argument: 'cluster_upgrade_req',
    handler: async (request, reply) => {
      if (!atLeast(request, '1.8'))
        throw notSupported('Cluster upgrade is not supported in the provided microversion.');
      const { ident } = request.params as { ident: string };
      const uuid = await upgradeCluster(deps, caller(request), ident, request.body as S['UpgradeRequest']);
      reply.code(202);
      return { uuid };
    },
  });

  // ---- nodegroups (1.9+) ----

  addRoute(app, {
    method: 'GET',
    url: '/v1/clusters/:ident/nodegroups',
    versioned: true,
    since: ['get_all', '1.9'],
    handler: async (request) => {
      const ctx = caller(request);
      const { ident } = request.params as { ident: string };
      const cluster = await findCluster(deps, ctx, ident);
      requireOwnerOrAdmin(ctx, 'nodegroup:get_all', cluster.project_id);
      const query = request.query as ListQuery & { role?: string };
      const q = parseList(query, NODEGROUP_COLUMNS, deps.config.api.max_limit, false);
      let marker;
      if (q.markerId) {
        marker = (await deps.clusters.nodegroup(cluster.uuid, q.markerId))[0];
        if (!marker) throw nodegroupNotFound(q.markerId);
      }
      const rows = await deps.clusters.listNodegroups(
        cluster.uuid,
        { ...q, ...(marker ? { marker } : {}) },
        query.role,
      );
      const b = base(request);
      const out: S['NodeGroupCollection'] = {
        nodegroups: rows.map((ng) => nodegroupView(ng, cluster, b, false)),
      };
      const next = nextLink(b, `clusters/${cluster.uuid}/nodegroups`, rows, q);
      if (next) out.next = next;
      return out;
    },
  });

  addRoute(app, {
    method: 'GET',
    url: '/v1/clusters/:ident/nodegroups/:nodegroup',
    versioned: true,
    since: ['get_one', '1.9'],
    handler: async (request) => {
      const ctx = caller(request);
      const { ident, nodegroup } = request.params as { ident: string; nodegroup: string };
      const cluster = await findCluster(deps, ctx, ident);
      requireOwnerOrAdmin(ctx, 'nodegroup:get', cluster.project_id);
      return nodegroupView(await findNodegroup(deps, cluster, nodegroup), cluster, base(request), true);
    },
  });

  addRoute(app, {
    method: 'POST',
    url: '/v1/clusters/:ident/nodegroups',
    versioned: true,
    since: ['post', '1.9'],
    operationId: 'createNodeGroup',
    argument: 'nodegroup',
    handler: async (request, reply) => {
      const { ident } = request.params as { ident: string };
      const { cluster, ng } = await createNodegroup(
        deps,
        caller(request),
        ident,
        request.body as S['NodeGroupCreate'],
      );
      reply.code(202);
      return nodegroupView(ng, cluster, base(request), true);
    },
  });

  addRoute(app, {
    method: 'PATCH',
    url: '/v1/clusters/:ident/nodegroups/:nodegroup',
    versioned: true,
    since: ['patch', '1.9'],
    operationId: 'updateNodeGroup',
    argument: 'patch',
    handler: async (request, reply) => {
      const { ident, nodegroup } = request.params as { ident: string; nodegroup: string };
      const { cluster, ng } = await patchNodegroup(
        deps,
        caller(request),
        ident,
        nodegroup,
        request.body as PatchOp[],
      );
      reply.code(202);
      return nodegroupView(ng, cluster, base(request), true);
    },
  });

  addRoute(app, {
    method: 'DELETE',
    url: '/v1/clusters/:ident/nodegroups/:nodegroup',
    versioned: true,
    since: ['delete', '1.9'],
    handler: async (request, reply) => {
      const { ident, nodegroup } = request.params as { ident: string; nodegroup: string };
      await deleteNodegroup(deps, caller(request), ident, nodegroup);
      reply.code(204);
      return null;
    },
  });
}
