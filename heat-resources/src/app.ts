// Assembles the service from its configuration: SQL state, the resource
// types derived from the OpenAPI document, one handler per type, Keystone
// auth and the HTTP API. Used by the daemon (cli/main.ts) and the tests.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import {
  createApiServer,
  keystoneAuthenticator,
  keystoneFromConfig,
  type Logger,
  openDatabase,
  ServiceMetrics,
} from '@berth/service-kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext } from 'keystone-client-ts';

import { renderError } from './api/errors';
import { apiRoutes } from './api/routes';
import type { ServiceConfig } from './config';
import { CONTAINER_TYPE, ContainerHandler } from './containers/containers';
import { ResourceService } from './core/resource-service';
import { MIGRATION_TABLE, migrations } from './db/migrations';
import { ResourceStore } from './db/resource-store';
import type { HeatResourcesTables } from './db/schema';
import { NetworkHandler } from './networks/networks';
import { AJV_OPTIONS, contract, openApiDocument } from './openapi';
import { callerClients, type ClientFactory, type Interface } from './openstack/clients';
import { buildResourceTypes, type ResourceTypes } from './types/heat-schema';
import { VOLUME_TYPE, VolumeHandler } from './volumes/volumes';

export const SERVICE_NAME = 'berth-heat-resources';

export interface HeatResourcesService {
  app: FastifyInstance;
  types: ResourceTypes;
  store: ResourceStore;
  close(): Promise<void>;
}

export function dbUrl(c: ServiceConfig): string {
  return c.database.connection || `sqlite:///${join(c.DEFAULT.state_dir, 'heat-resources.db')}`;
}

export function typesFile(c: ServiceConfig): string | undefined {
  if (c.DEFAULT.types_file === '') return join(c.DEFAULT.state_dir, 'resource-types.json');
  return c.DEFAULT.types_file === 'none' ? undefined : c.DEFAULT.types_file;
}

/** Writes the type schema atomically (the plugin may read it at any moment). */
export function writeTypesFile(path: string, types: ResourceTypes): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(types, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

export interface Overrides {
  /** replaces the OpenStack clients (unit tests) */
  clients?: ClientFactory;
  /** replaces Keystone token validation (unit tests) */
  authenticate?: (request: FastifyRequest) => Promise<RequestContext>;
}

export async function createService(
  c: ServiceConfig,
  logger: Logger,
  o: Overrides = {},
): Promise<HeatResourcesService> {
  const types = buildResourceTypes(openApiDocument(), c.DEFAULT.service_type);
  const url = dbUrl(c);
  const handle = await openDatabase<HeatResourcesTables>(url, {
    migrations,
    migrationTable: MIGRATION_TABLE,
    logger,
  });
  const store = new ResourceStore(handle.db);
  const keystone = keystoneFromConfig(c.keystone_authtoken, logger);
  const clients =
    o.clients ??
    callerClients(keystone.session, {
      computeInterface: c.compute.interface as Interface,
      networkInterface: c.network.interface as Interface,
      imageInterface: c.image.interface as Interface,
      region: c.keystone_authtoken.region_name,
    });
  // the handlers need the service's own lookups (volumes by id), the service needs the handlers
  const containers = new ContainerHandler({
    flavorSelection: c.containers.flavor_selection as 'smallest' | 'require',
    logLines: c.containers.log_lines,
    logTimeoutMs: c.containers.log_timeout * 1000,
    volumeNames: (projectId, ids) => service.volumeNames(projectId, VOLUME_TYPE, ids),
  });
  const volumes = new VolumeHandler((projectId, id) =>
    service.containersMounting(projectId, CONTAINER_TYPE, id),
  );
  const networks = new NetworkHandler({ deleteTimeoutSeconds: c.networks.delete_timeout });
  const service: ResourceService = new ResourceService(
    store,
    types,
    [containers, networks, volumes],
    clients,
  );

  const metrics = new ServiceMetrics(SERVICE_NAME);
  const app = createApiServer({
    service: SERVICE_NAME,
    logger,
    metrics,
    bodyLimit: c.api.max_body_bytes,
    renderError,
    authenticate: o.authenticate ?? keystoneAuthenticator(keystone.validator),
    healthChecks: { database: () => store.ping() },
    ajv: AJV_OPTIONS,
  });
  app.addSchema(contract.bundle());
  // the plugin compares this with the schema heat-engine loaded, and warns when they differ
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('X-Berth-Resource-Types', types.version);
    return payload;
  });
  await app.register(apiRoutes, { service, types });

  const file = typesFile(c);
  if (file) {
    writeTypesFile(file, types);
    logger.info({ file, version: types.version }, 'resource types written');
  }
  return {
    app,
    types,
    store,
    close: async () => {
      await app.close();
      await handle.close();
    },
  };
}
