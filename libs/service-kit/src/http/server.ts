import { randomUUID } from 'node:crypto';

import Fastify, {
  FastifyBaseLogger,
  LogController,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from 'fastify';

import type { Logger } from '../log/logger';
import { ApiError, statusTitle } from './errors';
import { ServiceMetrics } from './metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** no Keystone token needed (version documents, health, metrics, token endpoints) */
    public?: boolean;
  }
  interface FastifyRequest {
    /** the caller's identity, set by the service's authenticate hook */
    auth?: unknown;
  }
}

/** Renders an ApiError in the service's own API error format. */
export type ErrorRenderer = (
  err: ApiError,
  request: FastifyRequest,
) => { body: unknown; contentType?: string; headers?: Record<string, string> };

export interface ApiServerOptions {
  service: string;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** largest request body accepted, bytes (413 above) */
  bodyLimit?: number;
  renderError: ErrorRenderer;
  /** sets request.auth or throws an ApiError (401 with WWW-Authenticate, 503 when Keystone is down) */
  authenticate?: (request: FastifyRequest) => Promise<unknown>;
  /** extra health checks for GET /healthcheck?detailed: name -> throws when unhealthy */
  healthChecks?: Record<string, () => Promise<void>>;
  /** ajv options: APIs fed by Horizon want coerceTypes for stringified numbers and booleans */
  ajv?: Record<string, unknown>;
  exposeMetrics?: boolean;
}

const REQUEST_ID = /^req-[0-9a-f-]{36}$/;

/**
 * The HTTP skeleton of every Berth API: request ids as OpenStack services
 * issue them (x-openstack-request-id, with the caller's id kept as the global
 * request id), a child logger per request, Keystone authentication on every
 * route not marked public, errors in the API's own format, /healthcheck as
 * oslo.middleware answers it, and Prometheus /metrics.
 */
export function createApiServer(o: ApiServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: o.logger as FastifyBaseLogger,
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    genReqId: () => `req-${randomUUID()}`,
    // our own one-line access log (onResponse) replaces fastify's two lines
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { allErrors: false, removeAdditional: false, ...o.ajv } },
    return503OnClosing: true,
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-openstack-request-id', request.id);
    const incoming = request.headers['x-openstack-request-id'];
    const globalId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : undefined;
    request.log = request.log.child(globalId ? { global_request_id: globalId } : {});
    if (o.authenticate && !request.routeOptions.config?.public && request.routeOptions.url !== undefined) {
      request.auth = await o.authenticate(request);
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    o.metrics?.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    o.metrics?.httpDuration.observe({ method: request.method, route }, seconds);
    // one access-log line per request, as operators expect from an API service
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        remote: request.ip,
      },
      'request',
    );
  });

  app.setNotFoundHandler(async (request) => {
    throw new ApiError(404, 'NotFound', `The resource could not be found: ${request.method} ${request.url}`);
  });

  app.setErrorHandler(async (error: FastifyError | ApiError, request, reply) => {
    const apiErr = toApiError(error);
    if (apiErr.status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ status: apiErr.status, code: apiErr.code, msg: apiErr.message }, 'request refused');
    }
    sendError(reply, apiErr, request, o.renderError);
  });

  app.get('/healthcheck', { config: { public: true } }, async (request, reply) => {
    const checks = o.healthChecks ?? {};
    const results: Record<string, string> = {};
    let ok = true;
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await check();
          results[name] = 'OK';
        } catch (e) {
          ok = false;
          // the endpoint is public: which dependency failed, yes; its error text
          // (addresses, URLs, driver messages) only in the operator's log
          results[name] = 'FAILED';
          request.log.warn(
            { check: name, err: e instanceof Error ? e.message : String(e) },
            'health check failed',
          );
        }
      }),
    );
    reply.code(ok ? 200 : 503);
    if ('detailed' in (request.query as object)) return { status: ok ? 'OK' : 'FAILED', checks: results };
    reply.type('text/plain');
    return ok ? 'OK' : 'FAILED';
  });

  if (o.exposeMetrics !== false && o.metrics) {
    const registry = o.metrics.registry;
    app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  }
  return app;
}

export function sendError(
  reply: FastifyReply,
  err: ApiError,
  request: FastifyRequest,
  render: ErrorRenderer,
): void {
  const out = render(err, request);
  reply.code(err.status);
  for (const [k, v] of Object.entries({ ...err.headers, ...out.headers })) reply.header(k, v);
  reply.type(out.contentType ?? 'application/json');
  void reply.send(out.body);
}

/** Maps framework and unexpected errors onto the 4xx/5xx a client should see. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as FastifyError & { validation?: unknown[] };
  if (e.validation) {
    return new ApiError(400, 'InvalidParameterValue', `Invalid input: ${e.message}`);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'RequestEntityTooLarge', 'Request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'UnsupportedMediaType', `Unsupported Content-Type: ${e.message}`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'BadRequest', 'The request body is empty but JSON was announced');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'BadRequest', `Malformed JSON in request body: ${e.message}`);
  }
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return new ApiError(400, 'BadRequest', `Malformed request body: ${e.message}`);
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500)
    return new ApiError(status, statusTitle(status).replace(/ /g, ''), e.message);
  return new ApiError(
    500,
    'InternalServerError',
    'The server has either erred or is incapable of performing the requested operation.',
  );
}
