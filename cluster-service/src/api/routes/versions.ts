// GET / and GET /v1: the version documents (unauthenticated), as Magnum's
// root and v1 controllers render them.

import type { FastifyInstance } from 'fastify';

import { MAX_VERSION, MIN_VERSION } from '../microversion';
import { baseUrl } from '../request';
import { addRoute } from '../route';

const RESOURCES = ['clustertemplates', 'clusters', 'quotas', 'certificates', 'mservices', 'stats'];

export function versionRoutes(app: FastifyInstance, publicUrl?: string): void {
  addRoute(app, {
    method: 'GET',
    url: '/',
    public: true,
    handler: async (request) => {
      const base = baseUrl(request, publicUrl);
      return {
        name: 'OpenStack Magnum API',
        description: 'Magnum is an OpenStack project which aims to provide container cluster management.',
        versions: [
          {
            id: 'v1',
            links: [{ href: `${base}/v1/`, rel: 'self' }],
            status: 'CURRENT',
            max_version: MAX_VERSION,
            min_version: MIN_VERSION,
          },
        ],
      };
    },
  });
  addRoute(app, {
    method: 'GET',
    url: '/v1',
    public: true,
    versioned: true,
    handler: async (request) => {
      const base = baseUrl(request, publicUrl);
      const pair = (res: string) => [
        { href: `${base}/v1/${res}/`, rel: 'self' },
        { href: `${base}/${res}/`, rel: 'bookmark' },
      ];
      const doc: Record<string, unknown> = {
        id: 'v1',
        links: [
          { href: `${base}/v1/`, rel: 'self' },
          {
            href: 'http://docs.openstack.org/developer/magnum/dev/api-spec-v1.html',
            rel: 'describedby',
            type: 'text/html',
          },
        ],
        media_types: [{ base: 'application/json', type: 'application/vnd.openstack.magnum.v1+json' }],
      };
      for (const r of RESOURCES) doc[r] = pair(r);
      doc.nodegroups = [
        { href: `${base}/v1/clusters/{cluster_id}/nodegroups`, rel: 'self' },
        { href: `${base}/clusters/{cluster_id}/nodegroups`, rel: 'bookmark' },
      ];
      return doc;
    },
  });
}
