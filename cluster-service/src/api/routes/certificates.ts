// /v1/certificates

import type { FastifyInstance, FastifyRequest } from 'fastify';

import { getCa, rotateCa, signCertificate } from '../../core/certificates';
import type { Deps } from '../../core/deps';
import { baseUrl, caller } from '../request';
import { addRoute } from '../route';
import { links } from '../views';

export function certificateRoutes(app: FastifyInstance, deps: Deps): void {
  const base = (request: FastifyRequest) => baseUrl(request, deps.config.api.public_url);

  addRoute(app, {
    method: 'GET',
    url: '/v1/certificates/:ident',
    versioned: true,
    handler: async (request) => {
      const { ident } = request.params as { ident: string };
      const { ca_cert_type } = request.query as { ca_cert_type?: string };
      const { cluster, pem } = await getCa(deps, caller(request), ident, ca_cert_type);
      return {
        cluster_uuid: cluster.uuid,
        bay_uuid: cluster.uuid,
        pem,
        links: links(base(request), 'certificates', cluster.uuid),
      };
    },
  });

  addRoute(app, {
    method: 'POST',
    url: '/v1/certificates',
    versioned: true,
    operationId: 'signCertificate',
    argument: 'certificate',
    handler: async (request, reply) => {
      const body = request.body as {
        cluster_uuid?: string;
        bay_uuid?: string;
        csr: string;
        ca_cert_type?: string;
      };
      const { cluster, pem } = await signCertificate(deps, caller(request), body);
      reply.code(201);
      return {
        cluster_uuid: cluster.uuid,
        bay_uuid: cluster.uuid,
        csr: body.csr,
        pem,
        ...(body.ca_cert_type ? { ca_cert_type: body.ca_cert_type } : {}),
        links: links(base(request), 'certificates', cluster.uuid),
      };
    },
  });

  addRoute(app, {
    method: 'PATCH',
    url: '/v1/certificates/:ident',
    versioned: true,
    handler: async (request, reply) => {
      const { ident } = request.params as { ident: string };
      const uuid = await rotateCa(deps, caller(request), ident);
      reply.code(202);
      return { uuid };
    },
  });
}
