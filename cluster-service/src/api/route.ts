// How every route is declared: its body validated against the OpenAPI
// schema of its operation (after Horizon's strings are coerced), violations
// worded as WSME words them, the trailing-slash spelling the client uses
// accepted too, and the microversion negotiated on /v1 routes.

import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaValidationError,
  HTTPMethods,
} from 'fastify';

import { coerceBody } from './coerce';
import { microversionHook, requireVersion } from './microversion';
import { describeViolation, requestSchema } from './openapi';

export interface RouteSpec {
  method: HTTPMethods;
  url: string;
  /** operationId in api/openapi.yaml whose request body schema validates the body */
  operationId?: string;
  /** the argument name WSME would use in messages ("cluster", "cluster_template"...) */
  argument?: string;
  /** no Keystone token (version documents, node reports) */
  public?: boolean;
  /** negotiate the container-infra microversion (every /v1 route) */
  versioned?: boolean;
  /** the API exists from this microversion on (406 below): [api name as Magnum names it, version] */
  since?: [string, string];
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

export function addRoute(app: FastifyInstance, spec: RouteSpec): void {
  const schema = spec.operationId ? requestSchema(spec.operationId) : undefined;
  const argument = spec.argument ?? 'body';
  const urls = spec.url === '/' || spec.url.endsWith('/') ? [spec.url] : [spec.url, `${spec.url}/`];
  for (const url of urls) {
    app.route({
      method: spec.method,
      url,
      config: { public: spec.public ?? false },
      ...(spec.versioned
        ? {
            onRequest: spec.since
              ? [
                  microversionHook,
                  async (request: FastifyRequest) => requireVersion(request, spec.since![0], spec.since![1]),
                ]
              : microversionHook,
          }
        : {}),
      ...(schema
        ? {
            schema: { body: schema },
            preValidation: async (request: FastifyRequest) => {
              request.body = coerceBody(request.body, schema);
            },
            schemaErrorFormatter: (errors: FastifySchemaValidationError[]) =>
              describeViolation(errors, argument),
          }
        : {}),
      handler: spec.handler,
    });
  }
}
