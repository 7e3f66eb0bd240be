// Server side of Keystone auth, like keystonemiddleware's auth_token but
// framework-agnostic: services call authenticate(headers) from their own HTTP
// layer and map the result into their own error format.
//
// Flow: X-Auth-Token → positive cache → negative cache → (one in-flight
// request per token) GET /v3/auth/tokens with X-Subject-Token and the
// service's own token → RequestContext.
//
// Revocation vs cache: a validated token is trusted from the cache for at
// most `cacheTtlSeconds` (default 60, never past its expiry). A token revoked
// in Keystone (DELETE /v3/auth/tokens, user disabled, password changed) is
// therefore refused at the latest cacheTtlSeconds later, or immediately after
// invalidate(token). keystonemiddleware makes the same trade with its
// token_cache_time (300 s); we default lower because our APIs are cheap to
// re-validate and Heat/Magnum revoke trusts on delete.

import { createHash } from 'node:crypto';
import type { AxiosAdapter, AxiosInstance } from 'axios';
import { AccessInfo, type KeystoneTokenBody } from './access';
import { contextFromAccess, type RequestContext } from './context';
import {
  InvalidTokenError,
  KeystoneUnavailableError,
  OpenStackConnectionError,
  OpenStackHttpError,
} from './errors';
import { type Logger, silentLogger, tokenFingerprint } from './log';
import type { KeystoneSession } from './session';
import { TtlCache } from './ttl-cache';
import { createAxios, newRequestId, toOpenStackError } from './transport';

export interface TokenValidatorOptions {
  /** The service's own identity; tokens are validated at its authUrl (usually internal). */
  session: KeystoneSession;
  /** Public Keystone URL put in `WWW-Authenticate` (default: the session's authUrl). */
  wwwAuthenticateUri?: string;
  /** Longest time a validated token is trusted without asking Keystone again (default 60). */
  cacheTtlSeconds?: number;
  /** How long a refused token is refused without asking again (default 10; 0 disables). */
  negativeCacheTtlSeconds?: number;
  /** Bound on cached valid tokens (default 10000), least recently used evicted. */
  maxCacheEntries?: number;
  /** Bound on cached refused tokens (default 1000), so garbage floods cannot grow memory. */
  maxNegativeCacheEntries?: number;
  /** Role names that make `isAdmin` true (default ['admin']). */
  adminRoles?: string[];
  /** Ask Keystone for the caller's catalog (default false: `?nocatalog`, smaller answers). */
  includeCatalog?: boolean;
  /** Timeout of each validation request (default: the session's, else 30 s). */
  timeoutMs?: number;
  logger?: Logger;
  /** Replaces the network layer (unit tests). */
  adapter?: AxiosAdapter;
  now?: () => number;
}

/** Anything headers come in: Node's IncomingHttpHeaders, a plain record, or fetch's Headers. */
export type HeaderSource =
  Record<string, string | string[] | undefined> | { get(name: string): string | null | undefined };

export interface AuthFailure {
  ok: false;
  /** 401: token missing/invalid. 503: Keystone could not be asked; do not make the user re-login. */
  status: 401 | 503;
  /** Headers to send with the answer (WWW-Authenticate on 401). */
  headers: Record<string, string>;
  message: string;
  error: InvalidTokenError | KeystoneUnavailableError;
}

export type AuthResult = { ok: true; context: RequestContext } | AuthFailure;

// Fernet tokens are ~180-250 url-safe chars; JWS a few hundred more. Anything
// outside printable ASCII could not even be sent as a header to Keystone.
const TOKEN_SHAPE = /^[\x21-\x7e]{1,8192}$/;

export function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get(n: string): string | null | undefined }).get(name);
    return v ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  let v = record[name] ?? record[name.toLowerCase()];
  if (v === undefined) {
    const lower = name.toLowerCase();
    const key = Object.keys(record).find((k) => k.toLowerCase() === lower);
    v = key === undefined ? undefined : record[key];
  }
  return Array.isArray(v) ? v[0] : v;
}

function cacheKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class TokenValidator {
  readonly wwwAuthenticate: string;
  private readonly session: KeystoneSession;
  private readonly http: AxiosInstance;
  private readonly cacheTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly adminRoles: readonly string[];
  private readonly includeCatalog: boolean;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly valid: TtlCache<RequestContext>;
  private readonly refused: TtlCache<true>;
  private readonly inflight = new Map<string, Promise<RequestContext>>();

  constructor(options: TokenValidatorOptions) {
    this.session = options.session;
    this.wwwAuthenticate = `Keystone uri="${options.wwwAuthenticateUri ?? options.session.authUrl}"`;
    this.cacheTtlMs = Math.max(0, options.cacheTtlSeconds ?? 60) * 1000;
    this.negativeTtlMs = Math.max(0, options.negativeCacheTtlSeconds ?? 10) * 1000;
    this.adminRoles = options.adminRoles ?? ['admin'];
    this.includeCatalog = options.includeCatalog ?? false;
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.valid = new TtlCache(options.maxCacheEntries ?? 10_000, this.now);
    this.refused = new TtlCache(options.maxNegativeCacheEntries ?? 1_000, this.now);
    this.http = createAxios({
      timeoutMs: options.timeoutMs ?? options.session.timeoutMs,
      userAgent: options.session.userAgent,
      adapter: options.adapter,
    });
  }

  /**
   * Validates the request's X-Auth-Token. Never throws for auth outcomes:
   * the result says what to answer. Unexpected bugs still throw.
   */
  async authenticate(headers: HeaderSource): Promise<AuthResult> {
    try {
      const context = await this.validate(readHeader(headers, 'X-Auth-Token'));
      return { ok: true, context };
    } catch (err) {
      if (err instanceof InvalidTokenError) return { ...this.unauthorized(err.message), error: err };
      if (err instanceof KeystoneUnavailableError) {
        return {
          ok: false,
          status: 503,
          headers: {},
          message: 'authentication service unavailable',
          error: err,
        };
      }
      throw err;
    }
  }

  /** The 401 answer: status and `WWW-Authenticate: Keystone uri="..."`. */
  unauthorized(message = 'authentication required'): AuthFailure & { status: 401 } {
    return {
      ok: false,
      status: 401,
      headers: { 'WWW-Authenticate': this.wwwAuthenticate },
      message,
      error: new InvalidTokenError(message, 'missing'),
    };
  }

  /**
   * The context for a token. Throws InvalidTokenError (answer 401) or
   * KeystoneUnavailableError (answer 503).
   */
  async validate(token: string | undefined | null): Promise<RequestContext> {
    if (token === undefined || token === null || token === '') {
      throw new InvalidTokenError('authentication required', 'missing');
    }
    if (!TOKEN_SHAPE.test(token)) throw new InvalidTokenError('the request has an invalid token', 'invalid');
    const key = cacheKey(token);
    const cached = this.valid.get(key);
    if (cached) return cached;
    if (this.refused.get(key)) throw new InvalidTokenError('the request has an invalid token', 'invalid');
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.askKeystone(token, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Drop one token from the caches, e.g. when a service learns it was revoked. */
  invalidate(token: string): void {
    const key = cacheKey(token);
    this.valid.delete(key);
    this.refused.delete(key);
  }

  clear(): void {
    this.valid.clear();
    this.refused.clear();
  }

  private async serviceToken(): Promise<string> {
    try {
      return await this.session.getToken();
    } catch (err) {
      if (err instanceof KeystoneUnavailableError) throw err;
      throw new KeystoneUnavailableError(
        `cannot authenticate the service user: ${err instanceof Error ? err.message : String(err)}`,
        'service-auth-failed',
        err,
      );
    }
  }

  private refuse(token: string, key: string, why: string): never {
    this.refused.set(key, true, this.negativeTtlMs);
    this.log.info({ token: tokenFingerprint(token), why }, 'token refused');
    throw new InvalidTokenError('the request has an invalid token', 'invalid');
  }

  private async askKeystone(token: string, key: string): Promise<RequestContext> {
    const url = `${this.session.authUrl}/auth/tokens${this.includeCatalog ? '' : '?nocatalog'}`;
    // Two rounds at most: the second only after our own service token was
    // refused (it may have expired or been revoked) and renewed.
    for (let round = 0; ; round++) {
      const serviceToken = await this.serviceToken();
      let res;
      try {
        res = await this.http.get<KeystoneTokenBody>(url, {
          headers: {
            'X-Auth-Token': serviceToken,
            'X-Subject-Token': token,
            'X-OpenStack-Request-ID': newRequestId(),
          },
        });
      } catch (err) {
        const mapped = toOpenStackError(err);
        if (mapped instanceof OpenStackConnectionError) {
          this.log.warn({ err: mapped.message }, 'keystone unreachable while validating a token');
          throw new KeystoneUnavailableError(
            `keystone unreachable: ${mapped.message}`,
            'unreachable',
            mapped,
          );
        }
        if (!(mapped instanceof OpenStackHttpError)) throw mapped;
        // 404: Keystone's answer for unknown, expired and revoked subject tokens.
        if (mapped.status === 404) this.refuse(token, key, mapped.message);
        if (mapped.status === 401) {
          // Keystone checks X-Auth-Token (ours) before the subject token. A
          // 401 with a token we just obtained is about the subject after all.
          if (round === 0) {
            this.session.invalidate(serviceToken);
            continue;
          }
          this.refuse(token, key, mapped.message);
        }
        if (mapped.status === 400) this.refuse(token, key, mapped.message);
        if (mapped.status === 403) {
          throw new KeystoneUnavailableError(
            `the service user may not validate tokens: ${mapped.message}`,
            'forbidden',
            mapped,
          );
        }
        if (mapped.status >= 500) {
          throw new KeystoneUnavailableError(`keystone failed: ${mapped.message}`, 'server-error', mapped);
        }
        throw new KeystoneUnavailableError(
          `unexpected answer from keystone: HTTP ${mapped.status}`,
          'unexpected-response',
          mapped,
        );
      }
      let context: RequestContext;
      try {
        context = contextFromAccess(new AccessInfo(token, res.data), this.adminRoles);
      } catch (err) {
        throw new KeystoneUnavailableError(
          `unexpected token body from keystone: ${String(err)}`,
          'unexpected-response',
          err,
        );
      }
      const remaining = context.expiresAt.getTime() - this.now();
      if (remaining <= 0) this.refuse(token, key, 'expired');
      this.valid.set(key, context, Math.min(this.cacheTtlMs, remaining));
      this.log.debug(
        { token: context.tokenFingerprint, userId: context.userId, projectId: context.projectId },
        'token validated',
      );
      return context;
    }
  }
}
