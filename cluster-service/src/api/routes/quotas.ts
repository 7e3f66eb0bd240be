// /v1/quotas, /v1/stats, /v1/mservices

import type { FastifyInstance } from 'fastify';

import type { components } from '../../generated/api';
import type { Deps } from '../../core/deps';
import { createQuota, deleteQuota, getQuota, stats, updateQuota } from '../../core/quotas';
import { CONDUCTOR_BINARY } from '../../conductor/periodic';
import { QUOTA_COLUMNS } from '../../db/misc';
import { invalidInput, quotaNotFound } from '../errors';
import { requireAdmin } from '../policy';
import { baseUrl, caller, nextLink, parseList, type ListQuery } from '../request';
import { addRoute } from '../route';
import { quotaView, serviceView } from '../views';

type S = components['schemas'];
const TRUE = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

export function quotaRoutes(app: FastifyInstance, deps: Deps): void {
  addRoute(app, {
    method: 'GET',
    url: '/v1/quotas',
    versioned: true,
    handler: async (request) => {
      const ctx = caller(request);
      requireAdmin(ctx, 'quota:get_all');
      const query = request.query as ListQuery & { all_tenants?: string };
      const q = parseList(query, QUOTA_COLUMNS, deps.config.api.max_limit, false);
      let marker;
      if (q.markerId !== undefined) {
        if (!/^\d+$/.test(q.markerId))
          throw invalidInput('marker', q.markerId, 'Wrong type. Expected an integer.');
        marker = await deps.quotas.byId(Number(q.markerId));
        if (!marker) throw quotaNotFound(`id ${q.markerId}`);
      }
      const all = ctx.isAdmin && TRUE.has((query.all_tenants ?? '').toLowerCase());
      const rows = await deps.quotas.list(
        { ...q, ...(marker ? { marker } : {}) },
        all ? undefined : ctx.projectId,
      );
      const out: S['QuotaCollection'] = { quotas: rows.map(quotaView) };
      const next = nextLink(baseUrl(request, deps.config.api.public_url), 'quotas', rows, q, (i) =>
        String(i.id),
      );
      if (next) out.next = next;
      return out;
    },
  });

  addRoute(app, {
    method: 'POST',
    url: '/v1/quotas',
    versioned: true,
    operationId: 'createQuota',
    argument: 'quota',
    handler: async (request, reply) => {
      const row = await createQuota(deps, caller(request), request.body as S['QuotaCreate']);
      reply.code(201);
      return quotaView(row);
    },
  });

  addRoute(app, {
    method: 'GET',
    url: '/v1/quotas/:project_id/:resource',
    versioned: true,
    handler: async (request) => {
      const { project_id, resource } = request.params as { project_id: string; resource: string };
      const row = await getQuota(deps, caller(request), project_id, resource);
      // no explicit quota: the default (Horizon shows "Used n of 20")
      return row
        ? quotaView(row)
        : { project_id, resource: 'Cluster', hard_limit: deps.config.quotas.max_clusters_per_project };
    },
  });

  addRoute(app, {
    method: 'PATCH',
    url: '/v1/quotas/:project_id/:resource',
    versioned: true,
    operationId: 'updateQuota',
    argument: 'quotapatch',
    handler: async (request, reply) => {
      const { project_id, resource } = request.params as { project_id: string; resource: string };
      const row = await updateQuota(
        deps,
        caller(request),
        project_id,
        resource,
        request.body as S['QuotaUpdate'],
      );
      reply.code(202);
      return quotaView(row);
    },
  });

  addRoute(app, {
    method: 'DELETE',
    url: '/v1/quotas/:project_id/:resource',
    versioned: true,
    handler: async (request, reply) => {
      const { project_id, resource } = request.params as { project_id: string; resource: string };
      await deleteQuota(deps, caller(request), project_id, resource);
      reply.code(204);
      return null;
    },
  });

  addRoute(app, {
    method: 'GET',
    url: '/v1/stats',
    versioned: true,
    handler: async (request) => {
      const { project_id, type } = request.query as { project_id?: string; type?: string };
      return stats(deps, caller(request), project_id, type);
    },
  });

  addRoute(app, {
    method: 'GET',
    url: '/v1/mservices',
    versioned: true,
    handler: async (request) => {
      requireAdmin(caller(request), 'magnum-service:get_all');
      const now = Date.now();
      const rows = await deps.services.list();
      return {
        mservices: rows
          .filter((s) => s.binary === CONDUCTOR_BINARY)
          .map((s) => serviceView(s, deps.config.conductor.service_down_time * 1000, now)),
      };
    },
  });
}
