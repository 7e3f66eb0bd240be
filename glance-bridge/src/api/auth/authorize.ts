// Authorisation of /v2 requests, the Docker token flow's registry side:
// a request without a usable token gets 401 and the challenge telling the
// client where to get one; a token that covers the repository decides. A
// repository of a project the caller has no role in is answered 404
// NAME_UNKNOWN, exactly like one that does not exist, so names never leak.

import { ApiError } from '@berth/service-kit';
import type { FastifyRequest } from 'fastify';

import type { RegistryDb } from '../../db/registry-db';
import { ociError } from '../../core/errors';
import type { RepositoryName } from '../../core/names';
import type { RepoRef } from '../../core/registry';
import { type Action, type RegistryClaims, TokenError, type TokenSigner } from './tokens';

export interface AuthorizerOptions {
  serviceName: string;
  /** configured public base URL; empty: from the request */
  publicUrl: string;
}

/** The base URL clients reached us at (for the token realm). */
export function baseUrl(request: FastifyRequest, publicUrl: string): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const host = request.headers.host ?? `${request.hostname}`;
  return `${request.protocol}://${host}`;
}

export const hasAction = (granted: string[], wanted: Action) =>
  granted.includes(wanted) || granted.includes('*');

export class OciAuthorizer {
  constructor(
    private readonly signer: TokenSigner,
    private readonly db: RegistryDb,
    private readonly o: AuthorizerOptions,
  ) {}

  /** 401 with `WWW-Authenticate: Bearer realm=...,service=...[,scope=...][,error=...]`. */
  challenge(
    request: FastifyRequest,
    scope?: string,
    error?: 'invalid_token' | 'insufficient_scope',
    message?: string,
  ) {
    let header = `Bearer realm="${baseUrl(request, this.o.publicUrl)}/token",service="${this.o.serviceName}"`;
    if (scope) header += `,scope="${scope}"`;
    if (error) header += `,error="${error}"`;
    return new ApiError(
      401,
      'UNAUTHORIZED',
      message ?? 'authentication required',
      scope
        ? [
            {
              Type: scope.split(':')[0],
              Name: scope.split(':').slice(1, -1).join(':'),
              Action: scope.split(':').pop(),
            },
          ]
        : undefined,
      { 'WWW-Authenticate': header },
    );
  }

  /** The claims of a Bearer token; undefined without one; 401 for a bad or expired one. */
  claims(request: FastifyRequest, scope?: string): RegistryClaims | undefined {
    const h = request.headers.authorization;
    if (!h) return undefined;
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m)
      throw this.challenge(request, scope, 'invalid_token', 'use a Bearer token from the token endpoint');
    try {
      return this.signer.verify(m[1] as string);
    } catch (e) {
      if (e instanceof TokenError) {
        throw this.challenge(
          request,
          scope,
          'invalid_token',
          e.reason === 'expired' ? 'token expired' : 'invalid token',
        );
      }
      throw e;
    }
  }

  /** GET /v2/: any valid token (anonymous ones included). */
  base(request: FastifyRequest): void {
    if (!this.claims(request)) throw this.challenge(request);
  }

  /** The repository, if the caller may do `action` there. */
  async repository(request: FastifyRequest, name: RepositoryName, action: Action): Promise<RepoRef> {
    const scope = `repository:${name.full}:${action === 'push' ? 'pull,push' : action}`;
    const claims = this.claims(request, scope);
    const entry = claims?.access.find((a) => a.type === 'repository' && a.name === name.full);
    if (claims && entry && entry.type === 'repository') {
      if (hasAction(entry.actions, action) && entry.project_id) {
        return { projectId: entry.project_id, name: name.repo, path: name.full };
      }
      // anonymous callers are asked to log in, whether the repository exists or not
      if (claims.berth.anonymous) throw this.challenge(request, scope, 'insufficient_scope');
      if (entry.actions.length === 0) throw invisible(name.full);
      throw ociError('DENIED', `requested access to the resource is denied: ${action} on ${name.full}`, {
        name: name.full,
        action,
      });
    }
    if (action === 'pull') {
      const pub = await this.db.findRepositories(name.project, name.repo, true);
      if (pub.length === 1 && pub[0])
        return { projectId: pub[0].projectId, name: name.repo, path: name.full };
    }
    throw this.challenge(request, scope, claims ? 'insufficient_scope' : undefined);
  }

  /** Whose repositories the catalog lists: the token's projects ('all' for global readers). */
  catalog(request: FastifyRequest): string[] | 'all' {
    const scope = 'registry:catalog:*';
    const claims = this.claims(request, scope);
    if (!claims || !claims.access.some((a) => a.type === 'registry' && a.name === 'catalog')) {
      throw this.challenge(request, scope, claims ? 'insufficient_scope' : undefined);
    }
    return claims.berth.projects === '*' ? 'all' : claims.berth.projects;
  }
}

export const invisible = (name: string) =>
  ociError('NAME_UNKNOWN', `repository name not known to registry: ${name}`, { name });
