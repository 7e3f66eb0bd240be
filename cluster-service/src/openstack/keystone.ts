// Keystone for the cluster service: sessions acting as the calling user (to
// validate what a user references, with the user's own visibility), and the
// trust each cluster is created with, so the conductor can keep acting in
// the user's project long after the user's token expired (as Magnum's
// trust_manager does; the trustee is the service's own user).

import {
  createHttpClient,
  KeystoneSession,
  normaliseAuthUrl,
  PasswordAuth,
  PresentedTokenAuth,
  type RequestContext,
} from 'keystone-client-ts';
import type { Logger } from '@berth/service-kit';

export interface KeystoneSettings {
  authUrl: string;
  username: string;
  password: string;
  userDomainName: string;
  region: string;
  /** catalog interface for the users' and trusts' sessions */
  interface: 'public' | 'internal' | 'admin';
}

const USER_SESSION_TTL_MS = 5 * 60_000;
const MAX_CACHED = 500;

export class KeystoneGateway {
  private readonly userSessions = new Map<string, { session: KeystoneSession; until: number }>();
  private readonly trustSessions = new Map<string, KeystoneSession>();
  private endpointMap: Promise<Record<string, string>> | undefined;
  private readonly authUrl: string;

  constructor(
    private readonly s: KeystoneSettings,
    /** the service's own session (its keystone_authtoken identity) */
    private readonly service: KeystoneSession,
    private readonly logger: Logger,
  ) {
    this.authUrl = normaliseAuthUrl(s.authUrl);
  }

  /**
   * A session presenting the caller's own token, as Nova presents a user's
   * token to Glance: never exchanged (Keystone refuses to exchange the
   * trust-scoped tokens Heat acts with, and an exchange costs a round trip).
   * Endpoints come from the service's catalog (they are the same for every
   * project). Cached while the token lives.
   */
  async userSession(ctx: RequestContext): Promise<KeystoneSession> {
    const key = ctx.tokenFingerprint;
    const now = Date.now();
    const hit = this.userSessions.get(key);
    if (hit && hit.until > now) return hit.session;
    if (this.userSessions.size >= MAX_CACHED) {
      for (const [k, v] of this.userSessions) if (v.until <= now) this.userSessions.delete(k);
      if (this.userSessions.size >= MAX_CACHED) this.userSessions.clear();
    }
    const session = new KeystoneSession({
      authUrl: this.authUrl,
      auth: new PresentedTokenAuth({ token: ctx.token, expiresAt: ctx.expiresAt }),
      endpointOverrides: await this.endpoints(),
      userAgent: 'berth-cluster-service',
      logger: this.logger,
    });
    this.userSessions.set(key, {
      session,
      until: Math.min(now + USER_SESSION_TTL_MS, ctx.expiresAt.getTime()),
    });
    return session;
  }

  /** compute, image and identity URLs from the service's catalog, looked up once */
  private endpoints(): Promise<Record<string, string>> {
    this.endpointMap ??= (async () => {
      const find = (type: string) =>
        this.service.getEndpoint({ type, interface: this.s.interface, region: this.s.region });
      const [compute, image] = await Promise.all([find('compute'), find('image')]);
      return { compute, image, identity: this.authUrl };
    })().catch((e: unknown) => {
      this.endpointMap = undefined;
      throw e;
    });
    return this.endpointMap;
  }

  /**
   * Delegates the caller's roles in their project to the service user
   * (impersonating, so servers belong to the user). Returns the trust id.
   */
  async createTrust(ctx: RequestContext): Promise<string> {
    if (!ctx.projectId) throw new Error('a project-scoped token is needed to create a cluster');
    const trustee = (await this.service.getAccess()).user?.id;
    if (!trustee) throw new Error('the service token has no user');
    const http = createHttpClient(await this.userSession(ctx), { endpointOverride: this.authUrl });
    const { data } = await http.post<{ trust: { id: string } }>('/OS-TRUST/trusts', {
      trust: {
        trustor_user_id: ctx.userId,
        trustee_user_id: trustee,
        project_id: ctx.projectId,
        impersonation: true,
        allow_redelegation: false,
        roles: ctx.roles.map((name) => ({ name })),
      },
    });
    return data.trust.id;
  }

  /** Removes a cluster's trust (as the service user, an admin); a missing trust is fine. */
  async deleteTrust(trustId: string): Promise<void> {
    this.trustSessions.delete(trustId);
    const http = createHttpClient(this.service, { endpointOverride: this.authUrl });
    try {
      await http.delete(`/OS-TRUST/trusts/${encodeURIComponent(trustId)}`);
    } catch (e) {
      if ((e as { status?: number }).status !== 404) throw e;
    }
  }

  /** Whether Keystone knows the project (quota create), asked as the service user. */
  async projectExists(projectId: string): Promise<boolean> {
    const http = createHttpClient(this.service, { endpointOverride: this.authUrl });
    try {
      await http.get(`/projects/${encodeURIComponent(projectId)}`);
      return true;
    } catch (e) {
      if ((e as { status?: number }).status === 404) return false;
      throw e;
    }
  }

  /** The service user acting through a cluster's trust, i.e. as the cluster's owner. */
  trustSession(trustId: string): KeystoneSession {
    let session = this.trustSessions.get(trustId);
    if (!session) {
      session = new KeystoneSession({
        authUrl: this.authUrl,
        auth: new PasswordAuth({
          username: this.s.username,
          userDomainName: this.s.userDomainName,
          password: this.s.password,
          scope: { trustId },
        }),
        interface: this.s.interface,
        region: this.s.region,
        logger: this.logger,
        userAgent: 'berth-cluster-service',
      });
      this.trustSessions.set(trustId, session);
    }
    return session;
  }
}
