import type { FastifyRequest } from 'fastify';
import { KeystoneSession, RequestContext, TokenValidator } from 'keystone-client-ts';

import type { ConfigOf } from '../config/options';
import type { keystoneAuthtokenOpts } from '../config/common-opts';
import type { Logger } from '../log/logger';
import { ApiError } from './errors';

export type AuthtokenConfig = ConfigOf<{ s: typeof keystoneAuthtokenOpts }>['s'];

/**
 * The service's Keystone identity and token validator from its
 * [keystone_authtoken] section, as keystonemiddleware reads it.
 */
export function keystoneFromConfig(c: AuthtokenConfig, logger: Logger) {
  const session = KeystoneSession.fromConfig(
    {
      auth_url: c.auth_url,
      username: c.username,
      password: c.password,
      project_name: c.project_name,
      user_domain_name: c.user_domain_name,
      project_domain_name: c.project_domain_name,
      region_name: c.region_name,
      interface: c.interface,
    },
    { logger, userAgent: 'berth' },
  );
  const validator = new TokenValidator({
    session,
    wwwAuthenticateUri: c.www_authenticate_uri,
    cacheTtlSeconds: c.token_cache_time,
    logger,
  });
  return { session, validator };
}

/**
 * The authenticate hook for createApiServer: the caller's RequestContext, or
 * an ApiError the service renders in its own format (401 with
 * `WWW-Authenticate: Keystone uri=...`, 503 when Keystone cannot be asked).
 */
export function keystoneAuthenticator(validator: TokenValidator) {
  return async (request: FastifyRequest): Promise<RequestContext> => {
    const result = await validator.authenticate(request.headers);
    if (result.ok) {
      request.log = request.log.child({
        user_id: result.context.userId,
        project_id: result.context.projectId,
      });
      return result.context;
    }
    throw new ApiError(
      result.status,
      result.status === 401 ? 'Unauthorized' : 'ServiceUnavailable',
      result.status === 401 ? 'The request you have made requires authentication.' : result.message,
      undefined,
      result.headers,
    );
  };
}

/** The validated caller of a route that is not public. */
export function callerOf(request: FastifyRequest): RequestContext {
  if (!request.auth)
    throw new ApiError(401, 'Unauthorized', 'The request you have made requires authentication.');
  return request.auth as RequestContext;
}
