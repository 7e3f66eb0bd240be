// An in-memory Keystone for unit tests: issues tok-1, tok-2, ... and
// validates them, with switches to make it misbehave.

import type { KeystoneTokenBody } from '../access';
import { type FakeReply, type FakeRequest, fakeAdapter, tokenBody, type TokenSpec } from './fake-http';

export class FakeKeystone {
  issued: string[] = [];
  authBodies: unknown[] = [];
  validations = 0;
  readonly tokens = new Map<string, KeystoneTokenBody>();
  spec: TokenSpec = {};
  /** When set, answers POST /v3/auth/tokens instead of issuing. */
  authOverride: ((req: FakeRequest) => FakeReply | 'refuse') | undefined;
  /** When set, answers GET /v3/auth/tokens instead of validating. */
  validateOverride: ((req: FakeRequest) => FakeReply | 'refuse') | undefined;
  /** Answers anything else (the "other service" of http-client tests). */
  serviceHandler: ((req: FakeRequest) => FakeReply | 'refuse') | undefined;
  /** Resolved before issuing, to hold auth requests in flight. */
  authGate: Promise<void> | undefined;
  readonly adapter = fakeAdapter((req) => this.handle(req));

  constructor(readonly now: () => number = Date.now) {}

  issue(spec: TokenSpec = this.spec): string {
    const token = `tok-${this.issued.length + 1}`;
    this.issued.push(token);
    this.tokens.set(token, tokenBody(spec, this.now()));
    return token;
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  private async handle(req: FakeRequest): Promise<FakeReply | 'refuse'> {
    const path = req.url.split('?')[0];
    if (path?.endsWith('/v3/auth/tokens') && req.method === 'POST') {
      this.authBodies.push(req.body);
      if (this.authGate) await this.authGate;
      if (this.authOverride) return this.authOverride(req);
      const token = this.issue();
      return { status: 201, data: this.tokens.get(token), headers: { 'x-subject-token': token } };
    }
    if (path?.endsWith('/v3/auth/tokens') && req.method === 'GET') {
      this.validations += 1;
      if (this.validateOverride) return this.validateOverride(req);
      if (!this.isValid(req.headers['x-auth-token'])) {
        return {
          status: 401,
          data: { error: { code: 401, message: 'requires authentication', title: 'Unauthorized' } },
        };
      }
      const subject = req.headers['x-subject-token'] ?? '';
      if (!this.isValid(subject)) {
        return {
          status: 404,
          data: { error: { code: 404, message: 'Failed to validate token', title: 'Not Found' } },
        };
      }
      return { status: 200, data: this.tokens.get(subject), headers: { 'x-subject-token': subject } };
    }
    if (this.serviceHandler) return this.serviceHandler(req);
    return { status: 404, data: { error: { code: 404, message: `no route ${path}`, title: 'Not Found' } } };
  }

  private isValid(token: string | undefined): boolean {
    const body = token ? this.tokens.get(token) : undefined;
    return !!body && Date.parse(body.token.expires_at) > this.now();
  }
}
