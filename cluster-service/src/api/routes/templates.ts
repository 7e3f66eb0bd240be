// /v1/clustertemplates

import type { FastifyInstance } from 'fastify';

import type { components } from '../../generated/api';
import type { Deps } from '../../core/deps';
import { createTemplate, deleteTemplate, findTemplate, patchTemplate } from '../../core/templates';
import { TEMPLATE_COLUMNS } from '../../db/templates';
import { templateNotFound } from '../errors';
import type { PatchOp } from '../jsonpatch';
import { baseUrl, caller, nextLink, parseList, scopeOf, type ListQuery } from '../request';
import { addRoute } from '../route';
import { templateView } from '../views';

type S = components['schemas'];

export function templateRoutes(app: FastifyInstance, deps: Deps): void {
  const list = (resource: string) => async (request: import('fastify').FastifyRequest) => {
    const ctx = caller(request);
    const base = baseUrl(request, deps.config.api.public_url);
    const q = parseList(request.query as ListQuery, TEMPLATE_COLUMNS, deps.config.api.max_limit);
    const scope = scopeOf(ctx);
    let marker;
    if (q.markerId) {
      marker = await deps.templates.byUuid(scope, q.markerId);
      if (!marker) throw templateNotFound(q.markerId);
    }
    const rows = await deps.templates.list(scope, { ...q, ...(marker ? { marker } : {}) });
    const out: S['ClusterTemplateCollection'] = { clustertemplates: rows.map((r) => templateView(r, base)) };
    const next = nextLink(base, resource, rows, q);
    if (next) out.next = next;
    return out;
  };
  addRoute(app, {
    method: 'GET',
    url: '/v1/clustertemplates',
    versioned: true,
    handler: list('clustertemplates'),
  });
  addRoute(app, {
    method: 'GET',
    url: '/v1/clustertemplates/detail',
    versioned: true,
    handler: list('clustertemplates/detail'),
  });

  addRoute(app, {
    method: 'POST',
    url: '/v1/clustertemplates',
    versioned: true,
    operationId: 'createClusterTemplate',
    argument: 'cluster_template',
    handler: async (request, reply) => {
      const base = baseUrl(request, deps.config.api.public_url);
      const row = await createTemplate(deps, caller(request), request.body as S['ClusterTemplateCreate']);
      reply.code(201).header('Location', `${base}/v1/clustertemplates/${row.uuid}`);
      return templateView(row, base);
    },
  });

  addRoute(app, {
    method: 'GET',
    url: '/v1/clustertemplates/:ident',
    versioned: true,
    handler: async (request) => {
      const { ident } = request.params as { ident: string };
      return templateView(
        await findTemplate(deps, caller(request), ident),
        baseUrl(request, deps.config.api.public_url),
      );
    },
  });

  addRoute(app, {
    method: 'PATCH',
    url: '/v1/clustertemplates/:ident',
    versioned: true,
    operationId: 'updateClusterTemplate',
    argument: 'patch',
    handler: async (request) => {
      const { ident } = request.params as { ident: string };
      const row = await patchTemplate(deps, caller(request), ident, request.body as PatchOp[]);
      return templateView(row, baseUrl(request, deps.config.api.public_url));
    },
  });

  addRoute(app, {
    method: 'DELETE',
    url: '/v1/clustertemplates/:ident',
    versioned: true,
    handler: async (request, reply) => {
      const { ident } = request.params as { ident: string };
      await deleteTemplate(deps, caller(request), ident);
      reply.code(204);
      return null;
    },
  });
}
