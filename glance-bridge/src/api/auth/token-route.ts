// GET /token: the Docker token endpoint. Keystone credentials come as
// Basic auth (see identity.ts); each requested scope is granted the actions
// the caller's roles allow in the repository's project:
//   pull          any role there, or the repository is public, or a global read role
//   push, delete  a role other than the read-only ones
// A scope the caller may not use gets no actions (the registry then answers
// 404 NAME_UNKNOWN). Without credentials only public pulls are granted.

import { ApiError, type Logger } from '@berth/service-kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeystoneUnavailableError } from 'keystone-client-ts';

import type { RegistryDb } from '../../db/registry-db';
import { parseRepositoryName, type RepositoryName } from '../../core/names';
import { toOciApiError } from '../errors';
import type { Identity } from './identity';
import { InvalidCredentials, type KeystoneIdentities } from './identity';
import type { AccessEntry, Action, RepositoryAccess, TokenSigner } from './tokens';

export interface TokenRouteOptions {
  signer: TokenSigner;
  identities: KeystoneIdentities;
  db: RegistryDb;
  readOnlyRoles: string[];
  logger: Logger;
}

interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/** `repository:demo/app:pull,push`, `repository(plugin):x:pull` (old docker), `registry:catalog:*`. */
export function parseScopes(raw: string | string[] | undefined): Scope[] {
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap((s) => s.split(' ')).filter(Boolean);
  const out: Scope[] = [];
  for (const s of list) {
    const m = /^([a-z0-9]+)(?:\([^)]*\))?:(.+):([^:]*)$/.exec(s);
    if (!m) continue;
    out.push({
      type: m[1] as string,
      name: m[2] as string,
      actions: (m[3] as string).split(',').filter(Boolean),
    });
  }
  return out;
}

function basicCredentials(request: FastifyRequest): { user: string; password: string } | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(h);
  if (!m) throw badCredentials('the token endpoint takes Basic credentials');
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) throw badCredentials('malformed Basic credentials');
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

const badCredentials = (message: string) =>
  new ApiError(401, 'UNAUTHORIZED', message, undefined, {
    'WWW-Authenticate': 'Basic realm="berth-glance-bridge"',
  });

const ALL: Action[] = ['pull', 'push', 'delete'];

export function registerTokenRoute(app: FastifyInstance, o: TokenRouteOptions): void {
  const grantRepository = async (
    identity: Identity | undefined,
    name: RepositoryName,
    requested: string[],
  ) => {
    const wanted = new Set<Action>(
      requested.includes('*') ? ALL : (requested.filter((a) => ALL.includes(a as Action)) as Action[]),
    );
    const allowed = new Set<Action>();
    let projectId: string | undefined;
    if (identity) {
      const access = await identity.projectAccess(name.project);
      if (access && access.roles.length) {
        projectId = access.id;
        allowed.add('pull');
        if (access.roles.some((r) => !o.readOnlyRoles.includes(r))) {
          allowed.add('push');
          allowed.add('delete');
        }
        await o.db.rememberProject(access.id, access.name, access.domainId ?? null);
      } else if (
        wanted.has('pull') &&
        (await o.db.findRepositories(name.project, name.repo, false)).length > 0
      ) {
        // another project's repository: only global readers, and only to pull
        if (await identity.globalReader()) {
          const repos = await o.db.findRepositories(name.project, name.repo, false);
          if (repos.length === 1 && repos[0]) {
            projectId = repos[0].projectId;
            allowed.add('pull');
          }
        }
      }
    }
    if (!allowed.has('pull')) {
      const pub = await o.db.findRepositories(name.project, name.repo, true);
      if (pub.length === 1 && pub[0]) {
        projectId = pub[0].projectId;
        allowed.add('pull');
      }
    }
    const actions = ALL.filter((a) => wanted.has(a) && allowed.has(a));
    const entry: RepositoryAccess = { type: 'repository', name: name.full, actions };
    if (projectId && actions.length) entry.project_id = projectId;
    return entry;
  };

  app.get('/token', { config: { public: true } }, async (request, reply) => {
    const q = request.query as Record<string, string | string[] | undefined>;
    try {
      const creds = basicCredentials(request);
      let identity: Identity | undefined;
      if (creds) {
        try {
          identity = await o.identities.fromBasic(creds.user, creds.password);
        } catch (e) {
          if (e instanceof InvalidCredentials) {
            request.log.info({ user: creds.user }, 'registry login refused');
            throw badCredentials('invalid username or password (Keystone refused the credentials)');
          }
          throw e;
        }
      }
      const access: AccessEntry[] = [];
      let catalog = false;
      for (const scope of parseScopes(q.scope)) {
        if (scope.type === 'registry' && scope.name === 'catalog') {
          catalog = true;
          continue;
        }
        if (scope.type !== 'repository') continue;
        let name: RepositoryName;
        try {
          name = parseRepositoryName(scope.name);
        } catch {
          continue; // nothing to grant on a name that cannot exist
        }
        access.push(await grantRepository(identity, name, scope.actions));
      }
      let projects: string[] | '*' = [];
      if (catalog) {
        access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
        if (identity) {
          projects = (await identity.globalReader())
            ? '*'
            : (await identity.visibleProjects()).map((p) => p.id);
        }
      }
      const { token, claims } = o.signer.issue({
        sub: identity?.userId ?? 'anonymous',
        access,
        berth: {
          projects,
          ...(identity?.userName ? { user_name: identity.userName } : {}),
          ...(identity ? {} : { anonymous: true }),
        },
      });
      request.log.info(
        {
          user_id: claims.sub,
          access: access.map((a) => `${a.type}:${a.name}:${a.actions.join(',') || '-'}`),
        },
        'registry token issued',
      );
      reply.header('Cache-Control', 'no-store');
      return {
        token,
        access_token: token,
        expires_in: o.signer.lifetimeSeconds,
        issued_at: new Date(claims.iat * 1000).toISOString(),
      };
    } catch (e) {
      if (e instanceof KeystoneUnavailableError)
        request.log.warn({ err: e.message }, 'keystone unavailable at login');
      throw toOciApiError(e);
    }
  });
}
