// The HTTP API: the service-kit skeleton (request ids, access log, Keystone
// auth, /healthcheck, /metrics) with Magnum's error format, and the routes.

import type { FastifyInstance } from 'fastify';
import { createApiServer, keystoneAuthenticator, ServiceMetrics } from '@berth/service-kit';
import type { TokenValidator } from 'keystone-client-ts';
import { sql } from 'kysely';

import type { Deps } from '../core/deps';
import { renderMagnumError } from './errors';
import { certificateRoutes } from './routes/certificates';
import { clusterRoutes } from './routes/clusters';
import { nodeApiRoutes } from './routes/node-api';
import { quotaRoutes } from './routes/quotas';
import { templateRoutes } from './routes/templates';
import { versionRoutes } from './routes/versions';

/**
 * The node report API alone, for a listener on the network the cluster nodes
 * are on: they reach it without reaching the Magnum API (it has no Keystone
 * auth; each report carries its cluster's secret).
 */
export function buildNodeApi(deps: Deps): FastifyInstance {
  const app = createApiServer({
    service: 'berth-cluster-service',
    logger: deps.logger,
    bodyLimit: deps.config.api.max_request_body_size,
    renderError: renderMagnumError,
    ajv: { coerceTypes: false, useDefaults: false, verbose: true },
    exposeMetrics: false,
  });
  nodeApiRoutes(app, deps);
  return app;
}

export function buildApi(deps: Deps, validator: TokenValidator, metrics?: ServiceMetrics): FastifyInstance {
  const app = createApiServer({
    service: 'berth-cluster-service',
    logger: deps.logger,
    ...(metrics ? { metrics } : {}),
    bodyLimit: deps.config.api.max_request_body_size,
    renderError: renderMagnumError,
    authenticate: keystoneAuthenticator(validator),
    healthChecks: {
      database: async () => {
        await sql`select 1`.execute(deps.db);
      },
    },
    // Horizon's strings are coerced by our own, narrower rules (api/coerce.ts); verbose: errors carry the value
    ajv: { coerceTypes: false, useDefaults: false, verbose: true },
  });
  // Horizon deletes with Content-Type application/octet-stream and no body; bodies are JSON whatever the label says
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const err = e as Error & { statusCode?: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });
  versionRoutes(app, deps.config.api.public_url);
  templateRoutes(app, deps);
  clusterRoutes(app, deps);
  certificateRoutes(app, deps);
  quotaRoutes(app, deps);
  nodeApiRoutes(app, deps);
  return app;
}
