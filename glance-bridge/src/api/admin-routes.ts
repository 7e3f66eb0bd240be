// Berth's own API beside the registry (/berth/v1), authenticated with a
// Keystone token in X-Auth-Token like any OpenStack API:
//   GET   /berth/v1/repositories            the caller's project's repositories (admins: all_projects)
//   PATCH /berth/v1/repositories/<name>     {"public": true|false}, admins only
//   POST  /berth/v1/images                  register a pushed image in Glance for Nova
// Request bodies are validated against api/openapi.yaml.

import { callerOf } from '@berth/service-kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext } from 'keystone-client-ts';

import type { BootImages } from '../core/boot-images';
import { ociError } from '../core/errors';
import { MediaTypes } from '../core/manifest';
import { parseReference, parseRepositoryName } from '../core/names';
import type { Registry } from '../core/registry';
import type { Repository } from '../db/registry-db';
import { type Schemas, schemaRef } from '../openapi';
import { toOciApiError } from './errors';

export interface AdminRoutesOptions {
  registry: Registry;
  bootImages: BootImages | undefined;
  adminRoles: string[];
}

export async function adminRoutes(app: FastifyInstance, o: AdminRoutesOptions): Promise<void> {
  const isAdmin = (c: RequestContext) => c.roles.some((r) => o.adminRoles.includes(r));
  const wrap =
    <T>(fn: (request: FastifyRequest, caller: RequestContext) => Promise<T>) =>
    async (request: FastifyRequest) => {
      try {
        return await fn(request, callerOf(request));
      } catch (e) {
        throw toOciApiError(e);
      }
    };

  /** A repository by `<project name or id>/<repo>` that the caller may act on. */
  const resolve = async (fullName: string, caller: RequestContext, admin: boolean): Promise<Repository> => {
    const name = parseRepositoryName(fullName);
    const own = name.project === caller.projectId || name.project === caller.projectName;
    const repos = own
      ? [await o.registry.db.getRepository(caller.projectId as string, name.repo)].filter(
          (r): r is Repository => !!r,
        )
      : admin
        ? await o.registry.db.findRepositories(name.project, name.repo, false)
        : [];
    if (repos.length !== 1 || !repos[0]) {
      throw ociError('NAME_UNKNOWN', `repository name not known to registry: ${fullName}`, {
        name: fullName,
      });
    }
    return repos[0];
  };

  const info = async (r: Repository) => {
    const projectName = (await o.registry.db.projectName(r.projectId)) ?? r.projectId;
    return {
      name: `${projectName}/${r.name}`,
      project_id: r.projectId,
      project_name: projectName,
      public: r.public,
    };
  };

  app.get(
    '/berth/v1/repositories',
    {
      schema: { querystring: { type: 'object', properties: { all_projects: { type: 'boolean' } } } },
    },
    wrap(async (request, caller) => {
      const all = (request.query as { all_projects?: boolean }).all_projects === true;
      if (all && !isAdmin(caller))
        throw ociError('DENIED', 'only admins may list every project repositories');
      if (!all && !caller.projectId) throw ociError('DENIED', 'a project-scoped token is needed');
      const rows = await o.registry.db.listRepositories(all ? undefined : caller.projectId);
      return {
        repositories: rows
          .map((r) => ({
            name: `${r.projectName}/${r.name}`,
            project_id: r.projectId,
            project_name: r.projectName,
            public: r.public,
          }))
          .sort((a, b) => (a.name < b.name ? -1 : 1)),
      };
    }),
  );

  app.patch(
    '/berth/v1/repositories/*',
    { schema: { body: schemaRef('RepositoryUpdate') } },
    wrap(async (request, caller) => {
      if (!isAdmin(caller)) throw ociError('DENIED', 'only admins may change repository visibility');
      const repo = await resolve((request.params as { '*': string })['*'], caller, true);
      const body = request.body as Schemas['RepositoryUpdate'];
      await o.registry.db.setPublic(repo.id, body.public);
      request.log.info({ repository: repo.id, public: body.public }, 'repository visibility changed');
      return info({ ...repo, public: body.public });
    }),
  );

  app.post(
    '/berth/v1/images',
    { schema: { body: schemaRef('BootImageRequest') } },
    async (request, reply) => {
      try {
        const caller = callerOf(request);
        if (!o.bootImages)
          throw ociError('UNSUPPORTED', 'boot images need the glance storage driver', undefined, 501);
        const body = request.body as Schemas['BootImageRequest'];
        const repo = await resolve(body.repository, caller, isAdmin(caller));
        const name = parseRepositoryName(body.repository);
        const ref = { projectId: repo.projectId, name: repo.name, path: name.full };
        const m = await o.registry.getManifest(ref, body.reference, undefined);
        const runnable =
          [MediaTypes.ociIndex, MediaTypes.dockerList].includes(m.row.mediaType as never) ||
          [MediaTypes.ociConfig, MediaTypes.dockerConfig].includes(m.row.configMediaType as never);
        if (!runnable || m.row.subject) {
          throw ociError('MANIFEST_INVALID', 'this manifest is not a container image Nova can boot', {
            mediaType: m.row.mediaType,
            configMediaType: m.row.configMediaType,
          });
        }
        const r = parseReference(body.reference);
        const result =
          r.kind === 'tag' && !body.name
            ? await o.bootImages.registerTag(repo, r.tag, m.row.digest, m.row.mediaType)
            : await o.bootImages.registerDigest(repo, m.row.digest, m.row.mediaType, body.name);
        reply.code(result.created ? 201 : 200);
        return {
          image_id: result.row.imageId,
          name: result.name,
          project_id: result.row.projectId,
          berth_oci_registry: result.spec.registry,
          berth_oci_repository: result.spec.repository,
          berth_oci_digest: result.row.digest,
        };
      } catch (e) {
        throw toOciApiError(e);
      }
    },
  );
}
