// Token method: trade an existing token for a new one, typically to rescope
// an unscoped token or to act with a token a user handed us. Keystone keeps
// the original expiry on the new token, so this method is not renewable:
// once the original expires, re-authentication fails with 401.

import { ConfigurationError } from '../errors';
import { type AuthMethod, type AuthRequestBody, type Scope, withScope } from './types';

export interface TokenAuthOptions {
  token: string;
  scope?: Scope;
}

export class TokenAuth implements AuthMethod {
  readonly kind = 'token';
  readonly renewable = false;
  private readonly token: string;
  private readonly scope: Scope | undefined;

  constructor(options: TokenAuthOptions) {
    if (typeof options.token !== 'string' || options.token.length === 0) {
      throw new ConfigurationError('token auth needs a token');
    }
    this.token = options.token;
    this.scope = options.scope;
    withScope({ methods: [] }, this.scope);
  }

  authRequest(): AuthRequestBody {
    return withScope({ methods: ['token'], token: { id: this.token } }, this.scope);
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, scope: this.scope };
  }
}
