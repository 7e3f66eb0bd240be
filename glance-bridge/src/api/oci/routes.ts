// The /v2 routes in one encapsulated fastify plugin. Its content-type
// parser hands every body over as the raw stream: blobs of gigabytes flow
// to the staging file with backpressure and fastify's body limit never
// applies to them; manifests are read (up to their own limit) by their
// handler, byte for byte as the spec requires.

import type { FastifyInstance } from 'fastify';

import { ociError } from '../../core/errors';
import { parseRepositoryName } from '../../core/names';
import type { Registry } from '../../core/registry';
import type { OciAuthorizer } from '../auth/authorize';
import { toOciApiError } from '../errors';
import { deleteBlob, getBlob, headBlob } from './blobs';
import type { OciContext, OciHandler } from './context';
import { apiBase, catalog, listReferrers, listTags } from './discovery';
import { deleteManifest, getManifest, headManifest, putManifest } from './manifests';
import { matchOciPath, METHODS, type OciArea } from './paths';
import { cancelUpload, patchUpload, putUpload, startUpload, uploadStatus } from './uploads';

export interface OciRoutesOptions {
  registry: Registry;
  authz: OciAuthorizer;
  maxManifestBytes: number;
}

const HANDLERS: Record<Exclude<OciArea, 'base' | 'catalog'>, Record<string, OciHandler>> = {
  blob: { GET: getBlob, HEAD: headBlob, DELETE: deleteBlob },
  uploads: { POST: startUpload },
  upload: { GET: uploadStatus, PATCH: patchUpload, PUT: putUpload, DELETE: cancelUpload },
  manifest: { GET: getManifest, HEAD: headManifest, PUT: putManifest, DELETE: deleteManifest },
  tags: { GET: listTags },
  referrers: { GET: listReferrers },
};

export async function ociRoutes(app: FastifyInstance, o: OciRoutesOptions): Promise<void> {
  // every body is a stream: no JSON parsing, no buffering, no body limit here
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/v2/*',
    config: { public: true },
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      reply.header('Docker-Distribution-API-Version', 'registry/2.0');
      const rest = (request.params as { '*': string })['*'];
      const path = matchOciPath(rest);
      try {
        if (!path)
          throw ociError(
            'NAME_INVALID',
            `not a registry endpoint: /v2/${rest.slice(0, 200)}`,
            undefined,
            404,
          );
        if (!METHODS[path.area].includes(request.method)) {
          throw ociError(
            'UNSUPPORTED',
            `${request.method} is not supported on this endpoint`,
            undefined,
            405,
          );
        }
        const base = {
          request,
          reply,
          registry: o.registry,
          authz: o.authz,
          maxManifestBytes: o.maxManifestBytes,
        };
        if (path.area === 'base') return await apiBase(base);
        if (path.area === 'catalog') return await catalog(base);
        const ctx: OciContext = {
          ...base,
          name: parseRepositoryName(path.name as string),
          arg: path.arg ?? '',
        };
        const handler = HANDLERS[path.area][request.method] as OciHandler;
        return await handler(ctx);
      } catch (e) {
        throw toOciApiError(e);
      }
    },
  });
  // /v2 without the slash: some clients probe it
  app.get('/v2', { config: { public: true } }, async (_request, reply) => reply.redirect('/v2/', 301));
}
