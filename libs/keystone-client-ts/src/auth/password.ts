// Password method: the usual way a service authenticates with its own user.

import { ConfigurationError } from '../errors';
import {
  type AuthMethod,
  type AuthRequestBody,
  type Scope,
  type UserRef,
  userToJson,
  withScope,
} from './types';

export type PasswordAuthOptions = UserRef & { password: string; scope?: Scope };

export class PasswordAuth implements AuthMethod {
  readonly kind = 'password';
  readonly renewable = true;
  private readonly user: Record<string, unknown>;
  private readonly password: string;
  private readonly scope: Scope | undefined;

  constructor(options: PasswordAuthOptions) {
    if (typeof options.password !== 'string') throw new ConfigurationError('password auth needs a password');
    // Validate eagerly so a bad config fails at start-up, not at first request.
    this.user = userToJson(options);
    this.password = options.password;
    this.scope = options.scope;
    withScope({ methods: [] }, this.scope);
  }

  authRequest(): AuthRequestBody {
    return withScope(
      { methods: ['password'], password: { user: { ...this.user, password: this.password } } },
      this.scope,
    );
  }

  // Keep the password out of util.inspect / JSON logs of the object.
  toJSON(): Record<string, unknown> {
    return { kind: this.kind, user: this.user, scope: this.scope };
  }
}
