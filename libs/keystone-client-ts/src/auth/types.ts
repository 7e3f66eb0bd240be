// What an auth method is: something that can produce the body of
// POST /v3/auth/tokens. Methods are plain data holders with no HTTP, so the
// session alone decides when to (re-)authenticate and one method can be
// replayed any number of times.

import { ConfigurationError } from '../errors';

/** Scope of the token to request. Omit it (or pass 'unscoped') for an unscoped token. */
export type Scope =
  | { projectId: string }
  | { projectName: string; projectDomainId?: string; projectDomainName?: string }
  | { domainId: string }
  | { domainName: string }
  | { system: 'all' }
  /** Trust scope: the trustee authenticates and acts with the trustor's delegated roles (Heat, Magnum). */
  | { trustId: string }
  | 'unscoped';

/** A user, by id, or by name within a domain (names are only unique per domain). */
export type UserRef =
  { userId: string } | { username: string; userDomainId?: string; userDomainName?: string };

export interface AuthRequestBody {
  auth: {
    identity: { methods: string[] } & Record<string, unknown>;
    scope?: Record<string, unknown>;
  };
}

export interface AuthMethod {
  /** Short name for logs ("password", "application_credential", "token"). */
  readonly kind: string;
  /**
   * False when re-authenticating cannot outlive the first token: a token
   * exchanged for a token keeps the original expiry, so renewal is pointless.
   */
  readonly renewable: boolean;
  /** Body for POST /v3/auth/tokens. A new object on each call. */
  authRequest(): AuthRequestBody;
  /** Set when no token is to be issued: this one is used as is (PresentedTokenAuth). */
  readonly presentedToken?: string;
  readonly expiresAt?: Date;
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

export function userToJson(user: UserRef, what = 'user'): Record<string, unknown> {
  if ('userId' in user && nonEmpty(user.userId)) return { id: user.userId };
  if ('username' in user && nonEmpty(user.username)) {
    if (nonEmpty(user.userDomainId)) return { name: user.username, domain: { id: user.userDomainId } };
    if (nonEmpty(user.userDomainName)) return { name: user.username, domain: { name: user.userDomainName } };
    throw new ConfigurationError(`${what} given by name needs userDomainId or userDomainName`);
  }
  throw new ConfigurationError(`${what} needs userId, or username with its domain`);
}

export function scopeToJson(scope: Scope | undefined): Record<string, unknown> | undefined {
  if (scope === undefined || scope === 'unscoped') return undefined;
  if ('projectId' in scope && nonEmpty(scope.projectId)) return { project: { id: scope.projectId } };
  if ('projectName' in scope && nonEmpty(scope.projectName)) {
    if (nonEmpty(scope.projectDomainId)) {
      return { project: { name: scope.projectName, domain: { id: scope.projectDomainId } } };
    }
    if (nonEmpty(scope.projectDomainName)) {
      return { project: { name: scope.projectName, domain: { name: scope.projectDomainName } } };
    }
    throw new ConfigurationError('project scope by name needs projectDomainId or projectDomainName');
  }
  if ('domainId' in scope && nonEmpty(scope.domainId)) return { domain: { id: scope.domainId } };
  if ('domainName' in scope && nonEmpty(scope.domainName)) return { domain: { name: scope.domainName } };
  if ('system' in scope && scope.system === 'all') return { system: { all: true } };
  if ('trustId' in scope && nonEmpty(scope.trustId)) return { 'OS-TRUST:trust': { id: scope.trustId } };
  throw new ConfigurationError(
    'scope needs projectId, projectName+domain, domainId, domainName, system or trustId',
  );
}

export function withScope(
  identity: AuthRequestBody['auth']['identity'],
  scope: Scope | undefined,
): AuthRequestBody {
  const scopeJson = scopeToJson(scope);
  return { auth: scopeJson ? { identity, scope: scopeJson } : { identity } };
}
