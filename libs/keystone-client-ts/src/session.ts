// A KeystoneSession owns one identity (an auth method) and the token it
// currently holds. It re-authenticates before the token expires and when a
// caller reports a 401, and concurrent callers share one in-flight request,
// so a burst of requests at start-up or expiry costs Keystone one token.

import type { AxiosAdapter, AxiosInstance } from 'axios';
import { AccessInfo, type KeystoneTokenBody } from './access';
import type { AuthMethod } from './auth/types';
import { authFromConfig, type AuthConfig } from './auth/from-config';
import type { EndpointFilter, EndpointInterface, ServiceCatalog } from './catalog';
import {
  AuthenticationError,
  EndpointNotFoundError,
  KeystoneUnavailableError,
  OpenStackConnectionError,
  OpenStackHttpError,
} from './errors';
import { type Logger, silentLogger, tokenFingerprint } from './log';
import { createAxios, newRequestId, toOpenStackError } from './transport';

export interface SessionOptions {
  /** Keystone v3 URL, e.g. http://keystone:5000/v3 (`/v3` is appended when missing). */
  authUrl: string;
  auth: AuthMethod;
  /**
   * Renew this long before expiry (default 60 s), so a request never leaves
   * with a token that dies in flight. Capped at half the token's lifetime,
   * otherwise short-lived tokens would be renewed on every call.
   */
  expiryMarginSeconds?: number;
  /** Default interface for catalog lookups (default `public`). */
  interface?: EndpointInterface;
  /** Default region for catalog lookups (default: any). */
  region?: string;
  /** Fixed base URLs by service type; they win over the catalog. */
  endpointOverrides?: Record<string, string>;
  /** Timeout of each request to Keystone (default 30 s). */
  timeoutMs?: number;
  userAgent?: string;
  logger?: Logger;
  /** Replaces the network layer (unit tests). */
  adapter?: AxiosAdapter;
  /** Clock, for tests. */
  now?: () => number;
}

const TIMESTAMP_GRANULARITY_MS = 1000;
/** After a failed early renewal, wait this long before the next attempt. */
const RENEWAL_RETRY_MS = 5000;

interface Held {
  access: AccessInfo;
  /** Our clock's idea of the expiry (see skew note in authenticate()). */
  localExpiresAt: number;
  renewAt: number;
}

export function normaliseAuthUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return /\/v3$/.test(trimmed) ? trimmed : `${trimmed}/v3`;
}

export class KeystoneSession {
  readonly authUrl: string;
  readonly auth: AuthMethod;
  readonly defaultInterface: EndpointInterface;
  readonly defaultRegion: string | undefined;
  readonly userAgent: string | undefined;
  readonly timeoutMs: number | undefined;
  private readonly marginMs: number;
  private readonly overrides: Record<string, string>;
  private readonly http: AxiosInstance;
  private readonly log: Logger;
  private readonly now: () => number;
  private held: Held | undefined;
  private inflight: Promise<AccessInfo> | undefined;

  constructor(options: SessionOptions) {
    this.authUrl = normaliseAuthUrl(options.authUrl);
    this.auth = options.auth;
    this.marginMs = Math.max(0, options.expiryMarginSeconds ?? 60) * 1000;
    this.defaultInterface = options.interface ?? 'public';
    this.defaultRegion = options.region;
    this.overrides = { ...(options.endpointOverrides ?? {}) };
    this.userAgent = options.userAgent;
    this.timeoutMs = options.timeoutMs;
    this.http = createAxios({
      timeoutMs: options.timeoutMs,
      userAgent: options.userAgent,
      adapter: options.adapter,
    });
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /** A session from keystoneauth-style options (`[keystone_authtoken]`, OS_*). */
  static fromConfig(cfg: AuthConfig, extra: Omit<SessionOptions, 'authUrl' | 'auth'> = {}): KeystoneSession {
    const resolved = authFromConfig(cfg);
    return new KeystoneSession({
      authUrl: resolved.authUrl,
      auth: resolved.auth,
      ...(resolved.interface ? { interface: resolved.interface } : {}),
      ...(resolved.region ? { region: resolved.region } : {}),
      ...extra,
    });
  }

  /** The current token and its details, authenticating first if needed. */
  async getAccess(options: { forceRefresh?: boolean } = {}): Promise<AccessInfo> {
    if (options.forceRefresh) this.invalidate();
    const held = this.held;
    if (held && this.now() < held.renewAt) return held.access;
    if (!this.inflight) {
      this.inflight = this.authenticate()
        .catch((err: unknown) => this.fallBackTo(held, err))
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  async getToken(): Promise<string> {
    return (await this.getAccess()).token;
  }

  /**
   * Forget the held token, e.g. after a 401. With `token` given, only if it
   * is still the held one: when many requests fail with the same old token,
   * the first invalidates and the rest reuse the fresh token it obtained.
   */
  invalidate(token?: string): void {
    if (token !== undefined && this.held?.access.token !== token) return;
    this.held = undefined;
  }

  async getCatalog(): Promise<ServiceCatalog> {
    const access = await this.getAccess();
    if (!access.catalog) {
      throw new EndpointNotFoundError('the token has no service catalog (unscoped token?)');
    }
    return access.catalog;
  }

  /** Base URL for a service: endpoint override, else the catalog with the session's defaults. */
  async getEndpoint(filter: EndpointFilter): Promise<string> {
    const override = this.overrides[filter.type];
    if (override) return override.replace(/\/+$/, '');
    const catalog = await this.getCatalog();
    return catalog.url({
      ...filter,
      interface: filter.interface ?? this.defaultInterface,
      region: filter.region ?? this.defaultRegion,
    });
  }

  /**
   * Renewal is early by design, so when Keystone is briefly unavailable the
   * token we hold is usually still good: keep using it until it really
   * expires rather than failing every request. Not after invalidate(): a
   * token a service refused is not reused.
   */
  private fallBackTo(held: Held | undefined, err: unknown): AccessInfo {
    if (
      err instanceof KeystoneUnavailableError &&
      held &&
      this.held === held &&
      this.now() < held.localExpiresAt
    ) {
      this.log.warn(
        { token: tokenFingerprint(held.access.token), reason: err.reason },
        'keystone unavailable for renewal; keeping the current token until it expires',
      );
      // Do not make every request wait for a dead Keystone: try again later.
      held.renewAt = Math.min(this.now() + RENEWAL_RETRY_MS, held.localExpiresAt);
      return held.access;
    }
    throw err;
  }

  /** A handed-over token: held without asking Keystone (see PresentedTokenAuth). */
  private holdPresented(token: string, now: number): AccessInfo {
    const expiresAt = this.auth.expiresAt ?? new Date(now + 3600_000);
    const access = new AccessInfo(token, {
      token: { expires_at: expiresAt.toISOString(), methods: ['token'] },
    });
    this.held = { access, localExpiresAt: expiresAt.getTime(), renewAt: expiresAt.getTime() };
    return access;
  }

  private async authenticate(): Promise<AccessInfo> {
    const sentAt = this.now();
    if (this.auth.presentedToken) return this.holdPresented(this.auth.presentedToken, sentAt);
    let res;
    try {
      res = await this.http.post<KeystoneTokenBody>(`${this.authUrl}/auth/tokens`, this.auth.authRequest(), {
        headers: { 'Content-Type': 'application/json', 'X-OpenStack-Request-ID': newRequestId() },
      });
    } catch (err) {
      const mapped = toOpenStackError(err);
      this.log.warn({ authMethod: this.auth.kind, err: String(mapped) }, 'keystone authentication failed');
      if (mapped instanceof OpenStackConnectionError) {
        throw new KeystoneUnavailableError(`keystone unreachable: ${mapped.message}`, 'unreachable', mapped);
      }
      if (mapped instanceof OpenStackHttpError && mapped.status >= 500) {
        throw new KeystoneUnavailableError(`keystone failed: ${mapped.message}`, 'server-error', mapped);
      }
      if (mapped instanceof OpenStackHttpError) {
        throw new AuthenticationError({
          status: mapped.status,
          message: mapped.message,
          code: mapped.code,
          title: mapped.title,
          method: mapped.method,
          url: mapped.url,
          requestId: mapped.requestId,
          body: mapped.body,
        });
      }
      throw mapped;
    }
    const token = res.headers['x-subject-token'];
    if (typeof token !== 'string' || !token) {
      throw new KeystoneUnavailableError('keystone answered without X-Subject-Token', 'unexpected-response');
    }
    const access = new AccessInfo(token, res.data);
    // Skew: Keystone's clock may differ from ours, so measure the lifetime
    // Keystone granted (expires_at - issued_at) from when we sent the request.
    // Keystone truncates both stamps to whole seconds, so the token may have
    // been minted up to a second after issued_at: count that second as lost.
    const granted = access.lifetimeMs ?? access.expiresAt.getTime() - sentAt;
    const lifetime = Math.max(0, granted - TIMESTAMP_GRANULARITY_MS);
    const localExpiresAt = sentAt + lifetime;
    // A token-for-token exchange keeps the old expiry: renewing early gains nothing.
    const margin = this.auth.renewable ? Math.min(this.marginMs, lifetime / 2) : 0;
    this.held = { access, localExpiresAt, renewAt: localExpiresAt - margin };
    this.log.info(
      {
        authMethod: this.auth.kind,
        token: tokenFingerprint(token),
        userId: access.user?.id,
        projectId: access.project?.id,
        expiresAt: access.expiresAt.toISOString(),
      },
      'keystone token obtained',
    );
    return access;
  }
}
