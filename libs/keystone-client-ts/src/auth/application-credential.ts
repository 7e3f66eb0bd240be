// Application credential method. The credential is bound to one project at
// creation, so Keystone rejects any explicit scope: this method takes none.

import { ConfigurationError } from '../errors';
import { type AuthMethod, type AuthRequestBody, type UserRef, userToJson } from './types';

export type ApplicationCredentialAuthOptions =
  { id: string; secret: string } | ({ name: string; secret: string } & { user: UserRef });

export class ApplicationCredentialAuth implements AuthMethod {
  readonly kind = 'application_credential';
  readonly renewable = true;
  private readonly credential: Record<string, unknown>;
  private readonly secret: string;

  constructor(options: ApplicationCredentialAuthOptions) {
    if (typeof options.secret !== 'string' || options.secret.length === 0) {
      throw new ConfigurationError('application credential auth needs a secret');
    }
    this.secret = options.secret;
    if ('id' in options && options.id) {
      this.credential = { id: options.id };
    } else if ('name' in options && options.name) {
      // Names are unique per user only, so Keystone needs the owner too.
      this.credential = { name: options.name, user: userToJson(options.user, 'application credential user') };
    } else {
      throw new ConfigurationError('application credential auth needs an id, or a name and its user');
    }
  }

  authRequest(): AuthRequestBody {
    return {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { ...this.credential, secret: this.secret },
        },
      },
    };
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, credential: this.credential };
  }
}
