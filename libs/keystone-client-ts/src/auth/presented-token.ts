// A token someone handed us, used as is: a service acting for the user whose
// request it serves (Berth's agent acting for a Nova user, with the token
// from Nova's RPC context). No new token is issued — Keystone refuses to
// exchange a trust-scoped token (Heat, Magnum) for another, and a user may
// not even validate their own trust-scoped token — so nothing is asked of
// Keystone: the session holds the token until a service refuses it. It has
// no catalog: give the session endpointOverrides for the services it calls.

import { ConfigurationError } from '../errors';
import type { AuthMethod, AuthRequestBody } from './types';

export interface PresentedTokenOptions {
  token: string;
  /** when known; otherwise the token is assumed good for an hour (Keystone's default lifetime) */
  expiresAt?: Date;
}

export class PresentedTokenAuth implements AuthMethod {
  readonly kind = 'presented-token';
  readonly renewable = false;
  readonly presentedToken: string;
  readonly expiresAt: Date | undefined;

  constructor(options: PresentedTokenOptions) {
    if (typeof options.token !== 'string' || options.token.length === 0) {
      throw new ConfigurationError('presented-token auth needs a token');
    }
    this.presentedToken = options.token;
    this.expiresAt = options.expiresAt;
  }

  /** The token method body, for completeness: the session never posts it. */
  authRequest(): AuthRequestBody {
    return { auth: { identity: { methods: ['token'], token: { id: this.presentedToken } } } };
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind };
  }
}
