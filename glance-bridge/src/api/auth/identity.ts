// Who is asking for a registry token, from the Basic credentials a docker,
// skopeo or podman login stored, checked against Keystone with
// keystone-client-ts:
//
//   user:password           a user of the Default domain
//   user@domain:password    a user of another domain (name or id)
//   <app cred id>:secret    an application credential (bound to one project)
//   token:<keystone token>  a token (project-scoped: that project; else rescoped)
//
// and what the caller may do in the project a repository name starts with:
// the roles a project-scoped token for it carries.

import { createHmac, randomBytes } from 'node:crypto';

import axios, { type AxiosAdapter } from 'axios';
import {
  AccessInfo,
  ApplicationCredentialAuth,
  AuthenticationError,
  InvalidTokenError,
  KeystoneSession,
  KeystoneUnavailableError,
  type Logger,
  newRequestId,
  OpenStackConnectionError,
  OpenStackHttpError,
  PasswordAuth,
  type RequestContext,
  TokenAuth,
  type TokenValidator,
  toOpenStackError,
} from 'keystone-client-ts';

export interface ProjectRoles {
  id: string;
  name: string;
  domainId: string | undefined;
  roles: string[];
}

export interface Identity {
  userId: string;
  userName: string | undefined;
  /** The caller's roles in the project a repository name starts with (its name or id), if any. */
  projectAccess(segment: string): Promise<ProjectRoles | undefined>;
  /** Projects whose repositories the catalog shows. */
  visibleProjects(): Promise<ProjectRoles[]>;
  /** The caller holds one of the roles that may pull everywhere. */
  globalReader(): Promise<boolean>;
}

/** The credentials are wrong (Keystone said so): answer 401. */
export class InvalidCredentials extends Error {}

const HEX32 = /^[0-9a-f]{32}$/;

export interface IdentityOptions {
  authUrl: string;
  validator: TokenValidator;
  globalReadRoles: string[];
  /** seconds a checked credential is reused */
  cacheSeconds: number;
  logger?: Logger;
  userAgent?: string;
  /** unit tests */
  adapter?: AxiosAdapter;
}

interface Cached {
  identity: Identity;
  until: number;
}

export class KeystoneIdentities {
  private readonly cache = new Map<string, Cached>();
  private readonly cacheKey = randomBytes(32);

  constructor(private readonly o: IdentityOptions) {}

  /** Checks Basic credentials; InvalidCredentials when Keystone refuses them. */
  async fromBasic(username: string, password: string): Promise<Identity> {
    const key = createHmac('sha256', this.cacheKey)
      .update(username)
      .update('\0')
      .update(password)
      .digest('hex');
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.identity;
    const { identity, expiresAt } = await this.authenticate(username, password);
    if (this.o.cacheSeconds > 0) {
      if (this.cache.size >= 1000) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, { identity, until: Math.min(Date.now() + this.o.cacheSeconds * 1000, expiresAt) });
    }
    return identity;
  }

  private session(auth: PasswordAuth | ApplicationCredentialAuth | TokenAuth): KeystoneSession {
    return new KeystoneSession({
      authUrl: this.o.authUrl,
      auth,
      ...(this.o.logger ? { logger: this.o.logger } : {}),
      ...(this.o.userAgent ? { userAgent: this.o.userAgent } : {}),
      ...(this.o.adapter ? { adapter: this.o.adapter } : {}),
    });
  }

  private async authenticate(
    username: string,
    password: string,
  ): Promise<{ identity: Identity; expiresAt: number }> {
    if (!password) throw new InvalidCredentials('empty password');
    if (username === 'token') {
      let ctx: RequestContext;
      try {
        ctx = await this.o.validator.validate(password);
      } catch (e) {
        if (e instanceof InvalidTokenError) throw new InvalidCredentials('invalid Keystone token');
        throw e;
      }
      return { identity: this.fromContext(ctx, password), expiresAt: ctx.expiresAt.getTime() };
    }
    const attempts: Array<() => PasswordAuth | ApplicationCredentialAuth> = [];
    if (HEX32.test(username)) {
      attempts.push(() => new ApplicationCredentialAuth({ id: username, secret: password }));
      attempts.push(() => new PasswordAuth({ userId: username, password }));
    }
    const at = username.lastIndexOf('@');
    if (at > 0 && at < username.length - 1) {
      const user = username.slice(0, at);
      const domain = username.slice(at + 1);
      attempts.push(() =>
        HEX32.test(domain)
          ? new PasswordAuth({ username: user, userDomainId: domain, password })
          : new PasswordAuth({ username: user, userDomainName: domain, password }),
      );
    }
    // a plain name, or a name with @ in it (e-mail addresses) in Default
    attempts.push(() => new PasswordAuth({ username, userDomainName: 'Default', password }));
    for (const make of attempts) {
      let access: AccessInfo;
      try {
        access = await this.session(make()).getAccess();
      } catch (e) {
        if (e instanceof AuthenticationError) continue;
        throw e;
      }
      return { identity: this.fromAccess(access), expiresAt: access.expiresAt.getTime() };
    }
    throw new InvalidCredentials('Keystone refused the credentials');
  }

  private fromContext(ctx: RequestContext, token: string): Identity {
    if (ctx.projectId) {
      return new ScopedIdentity(
        ctx.userId,
        ctx.userName,
        {
          id: ctx.projectId,
          name: ctx.projectName ?? ctx.projectId,
          domainId: ctx.projectDomainId,
          roles: ctx.roles,
        },
        this.o.globalReadRoles,
      );
    }
    return new UnscopedIdentity(
      this,
      ctx.userId,
      ctx.userName,
      ctx.userDomainId,
      token,
      this.o.globalReadRoles,
    );
  }

  private fromAccess(access: AccessInfo): Identity {
    const user = access.user;
    if (!user) throw new InvalidCredentials('token without a user');
    // application credentials are bound to their project; so is a token Keystone scoped by default,
    // but a password user may have roles elsewhere too: treat those as unscoped
    if (access.applicationCredential && access.project) {
      return new ScopedIdentity(
        user.id,
        user.name,
        {
          id: access.project.id,
          name: access.project.name ?? access.project.id,
          domainId: access.project.domain?.id,
          roles: access.roleNames,
        },
        this.o.globalReadRoles,
      );
    }
    return new UnscopedIdentity(
      this,
      user.id,
      user.name,
      user.domain?.id,
      access.token,
      this.o.globalReadRoles,
    );
  }

  /** Projects the token's user has a role in (GET /v3/auth/projects). */
  async listProjects(token: string): Promise<Array<{ id: string; name: string; domain_id?: string }>> {
    const url = `${this.o.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '')}/v3/auth/projects`;
    try {
      const { data } = await axios.get<{ projects: Array<{ id: string; name: string; domain_id?: string }> }>(
        url,
        {
          headers: {
            'X-Auth-Token': token,
            'X-OpenStack-Request-ID': newRequestId(),
            Accept: 'application/json',
          },
          timeout: 30_000,
          maxRedirects: 0,
          ...(this.o.adapter ? { adapter: this.o.adapter } : {}),
        },
      );
      return data.projects;
    } catch (err) {
      const e = toOpenStackError(err);
      if (e instanceof OpenStackConnectionError || (e instanceof OpenStackHttpError && e.status >= 500)) {
        throw new KeystoneUnavailableError(`keystone unavailable: ${(e as Error).message}`, 'unreachable', e);
      }
      if (e instanceof OpenStackHttpError && (e.status === 401 || e.status === 404)) {
        throw new InvalidCredentials('the Keystone token expired');
      }
      throw e;
    }
  }

  /** A token of the same user scoped to the project: its roles. Undefined when the user has none there. */
  async rescope(token: string, projectId: string): Promise<AccessInfo | undefined> {
    try {
      return await this.session(new TokenAuth({ token, scope: { projectId } })).getAccess();
    } catch (e) {
      if (e instanceof AuthenticationError || (e instanceof OpenStackHttpError && e.status < 500))
        return undefined;
      throw e;
    }
  }
}

class ScopedIdentity implements Identity {
  constructor(
    readonly userId: string,
    readonly userName: string | undefined,
    private readonly project: ProjectRoles,
    private readonly globalReadRoles: string[],
  ) {}

  async projectAccess(segment: string) {
    return segment === this.project.id || segment === this.project.name ? this.project : undefined;
  }

  async visibleProjects() {
    return [this.project];
  }

  async globalReader() {
    return this.project.roles.some((r) => this.globalReadRoles.includes(r));
  }
}

class UnscopedIdentity implements Identity {
  private projects: Promise<Array<{ id: string; name: string; domain_id?: string }>> | undefined;
  private readonly scoped = new Map<string, Promise<ProjectRoles | undefined>>();
  private reader: Promise<boolean> | undefined;

  constructor(
    private readonly ks: KeystoneIdentities,
    readonly userId: string,
    readonly userName: string | undefined,
    private readonly userDomainId: string | undefined,
    private readonly token: string,
    private readonly globalReadRoles: string[],
  ) {}

  private list() {
    this.projects ??= this.ks.listProjects(this.token).catch((e: unknown) => {
      this.projects = undefined;
      throw e;
    });
    return this.projects;
  }

  async projectAccess(segment: string): Promise<ProjectRoles | undefined> {
    const projects = await this.list();
    let p = projects.find((x) => x.id === segment);
    if (!p) {
      const named = projects.filter((x) => x.name === segment);
      // project names are unique per domain: prefer the user's own
      p = named.find((x) => x.domain_id === this.userDomainId) ?? (named.length === 1 ? named[0] : undefined);
    }
    if (!p) return undefined;
    const project = p;
    let pending = this.scoped.get(project.id);
    if (!pending) {
      pending = this.ks
        .rescope(this.token, project.id)
        .then((access) =>
          access
            ? { id: project.id, name: project.name, domainId: project.domain_id, roles: access.roleNames }
            : undefined,
        );
      pending.catch(() => this.scoped.delete(project.id));
      this.scoped.set(project.id, pending);
    }
    return pending;
  }

  async visibleProjects(): Promise<ProjectRoles[]> {
    return (await this.list()).map((p) => ({ id: p.id, name: p.name, domainId: p.domain_id, roles: [] }));
  }

  /** Roles are per project: any project where the user holds a global read role counts. */
  async globalReader(): Promise<boolean> {
    this.reader ??= (async () => {
      for (const p of await this.list()) {
        const access = await this.projectAccess(p.id);
        if (access?.roles.some((r) => this.globalReadRoles.includes(r))) return true;
      }
      return false;
    })();
    return this.reader;
  }
}
