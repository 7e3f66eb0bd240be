// The HTTP API (api/openapi.yaml): one collection per resource type, each
// with create / show / update / delete / action / attribute routes, request
// bodies validated against the document's schemas, and the public type
// schema the heat-engine plugin reads.

import { callerOf, type Logger } from '@berth/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { resourceNotFound } from '../core/errors';
import type { CreateBody, ResourceAction, ResourceService } from '../core/resource-service';
import type { ResourceRecord } from '../db/resource-store';
import { schemaRef, type Schemas } from '../openapi';
import type { ResourceTypes } from '../types/heat-schema';

export interface RoutesOptions {
  service: ResourceService;
  types: ResourceTypes;
}

type AnyRecord = ResourceRecord<Record<string, unknown>, Record<string, unknown>>;

/** The API view of a resource row (never the handler's private state). */
export function view(r: AnyRecord) {
  return {
    id: r.id,
    type: r.type,
    action: r.action,
    status: r.status,
    status_reason: r.statusReason,
    project_id: r.projectId,
    stack_id: r.stackId,
    resource_name: r.resourceName,
    properties: r.properties,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' } },
} as const;
const ATTR_PARAMS = {
  type: 'object',
  required: ['id', 'name'],
  properties: {
    ...ID_PARAMS.properties,
    name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z_]+$' },
  },
} as const;

interface Collection {
  type: string;
  path: string;
  create: keyof Schemas;
  update: keyof Schemas;
}

const rid = (request: FastifyRequest) => request.id as string;
/** fastify's request logger is the service's pino child logger */
const log = (request: FastifyRequest) => request.log as unknown as Logger;

export async function apiRoutes(app: FastifyInstance, o: RoutesOptions): Promise<void> {
  const { service, types } = o;

  app.get('/', { config: { public: true } }, async () => ({
    versions: [{ id: 'v1.0', status: 'CURRENT', links: [{ rel: 'self', href: '/v1/' }] }],
  }));

  app.get('/v1/resource_types', { config: { public: true } }, async () => types);

  const collections: Collection[] = [
    {
      type: 'OS::Container::Container',
      path: '/v1/containers',
      create: 'CreateContainerRequest',
      update: 'UpdateContainerRequest',
    },
    {
      type: 'OS::Container::Network',
      path: '/v1/networks',
      create: 'CreateNetworkRequest',
      update: 'UpdateNetworkRequest',
    },
    {
      type: 'OS::Container::Volume',
      path: '/v1/volumes',
      create: 'CreateVolumeRequest',
      update: 'UpdateVolumeRequest',
    },
  ];

  for (const col of collections) {
    const { type, path } = col;
    if (types.resource_types[type]?.path !== path) throw new Error(`${type} is not published at ${path}`);

    app.get(path, async (request) => ({
      resources: (await service.list(callerOf(request), type)).map(view),
    }));

    app.post(path, { schema: { body: schemaRef(col.create) } }, async (request, reply: FastifyReply) => {
      const body = request.body as CreateBody;
      const { resource, created } = await service.create(
        callerOf(request),
        type,
        body,
        log(request),
        rid(request),
      );
      reply.code(created ? 202 : 200);
      return { resource: view(resource) };
    });

    app.get(`${path}/:id`, { schema: { params: ID_PARAMS } }, async (request) => {
      const { id } = request.params as { id: string };
      const r = await service.show(callerOf(request), type, id, log(request), rid(request));
      // the delete finished with this poll: gone, as Heat's check_delete_complete expects
      if (!r) throw resourceNotFound(type, id);
      return { resource: view(r) };
    });

    app.patch(
      `${path}/:id`,
      { schema: { params: ID_PARAMS, body: schemaRef(col.update) } },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        const { properties } = request.body as { properties: Record<string, unknown> };
        const r = await service.update(callerOf(request), type, id, properties, log(request), rid(request));
        reply.code(202);
        return { resource: view(r) };
      },
    );

    app.delete(`${path}/:id`, { schema: { params: ID_PARAMS } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const r = await service.remove(callerOf(request), type, id, log(request), rid(request));
      reply.code(202);
      return { resource: view(r) };
    });

    app.post(
      `${path}/:id/action`,
      { schema: { params: ID_PARAMS, body: schemaRef('ActionRequest') } },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        const action = Object.keys(request.body as object)[0] as ResourceAction;
        const r = await service.act(callerOf(request), type, id, action, log(request), rid(request));
        reply.code(action === 'check' ? 200 : 202);
        return { resource: view(r) };
      },
    );

    app.get(`${path}/:id/attributes/:name`, { schema: { params: ATTR_PARAMS } }, async (request) => {
      const { id, name } = request.params as { id: string; name: string };
      const value = await service.attribute(callerOf(request), type, id, name, log(request), rid(request));
      return { attribute: name, value: value ?? null };
    });
  }
}
