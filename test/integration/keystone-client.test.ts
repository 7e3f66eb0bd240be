// keystone-client-ts against the all-in-one's real Keystone: every auth
// method, catalog lookup, the HTTP client factory (token injection, error
// mapping, re-auth on 401) and the shared in-flight authentication.

import axios, { type AxiosAdapter } from 'axios';
import {
  ApplicationCredentialAuth,
  AuthenticationError,
  KeystoneSession,
  KeystoneUnavailableError,
  OpenStackHttpError,
  PasswordAuth,
  TokenAuth,
  createHttpClient,
} from 'keystone-client-ts';
import {
  type CreatedUser,
  KEYSTONE_URL,
  KeystoneFixture,
  waitForKeystone,
} from '../support/keystone-fixture';

jest.setTimeout(60_000);

/** The real http adapter, counting the auth requests that reach Keystone. */
function countingAdapter(): { adapter: AxiosAdapter; authPosts: () => number } {
  const real = axios.getAdapter('http');
  let posts = 0;
  return {
    adapter: (config) => {
      if (config.method === 'post' && /\/auth\/tokens$/.test(config.url ?? '')) posts += 1;
      return real(config);
    },
    authPosts: () => posts,
  };
}

describe('keystone-client-ts against real Keystone', () => {
  const fx = new KeystoneFixture();
  let project: { id: string; name: string };
  let otherProject: { id: string; name: string };
  let domain: { id: string; name: string };
  let user: CreatedUser;

  beforeAll(async () => {
    await waitForKeystone();
    project = await fx.project();
    otherProject = await fx.project('other');
    domain = await fx.domain();
    user = await fx.user();
    await fx.grantProject(user.id, project.id, 'member');
    await fx.grantDomain(user.id, domain.id, 'reader');
  });

  afterAll(() => fx.cleanup());

  function passwordSession(auth: ConstructorParameters<typeof PasswordAuth>[0]): KeystoneSession {
    return new KeystoneSession({ authUrl: KEYSTONE_URL, auth: new PasswordAuth(auth) });
  }

  it('password auth: user by id, project by id', async () => {
    const access = await passwordSession({
      userId: user.id,
      password: user.password,
      scope: { projectId: project.id },
    }).getAccess();
    expect(access.user?.id).toBe(user.id);
    expect(access.project).toMatchObject({ id: project.id, name: project.name, domain: { id: 'default' } });
    expect(access.roleNames).toEqual(expect.arrayContaining(['member', 'reader'])); // reader implied by member
    expect(access.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(access.token.length).toBeGreaterThan(100);
  });

  it('password auth: user by name+domain, project by name+domain', async () => {
    const access = await passwordSession({
      username: user.name,
      userDomainName: 'Default',
      password: user.password,
      scope: { projectName: project.name, projectDomainId: 'default' },
    }).getAccess();
    expect([access.user?.id, access.project?.id]).toEqual([user.id, project.id]);
  });

  it('password auth: domain scope and unscoped', async () => {
    const domainScoped = await passwordSession({
      userId: user.id,
      password: user.password,
      scope: { domainId: domain.id },
    }).getAccess();
    expect(domainScoped.domain).toEqual({ id: domain.id, name: domain.name });
    expect(domainScoped.project).toBeUndefined();
    expect(domainScoped.roleNames).toContain('reader');

    const unscoped = passwordSession({ userId: user.id, password: user.password });
    const access = await unscoped.getAccess();
    expect([access.project, access.domain, access.catalog]).toEqual([undefined, undefined, undefined]);
    await expect(unscoped.getEndpoint({ type: 'identity' })).rejects.toThrow(/no service catalog/);
  });

  it('password auth: a wrong password or a project without roles is a 401 AuthenticationError', async () => {
    const wrong = await passwordSession({ userId: user.id, password: 'not-it' })
      .getToken()
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect((wrong as OpenStackHttpError).status).toBe(401);
    const noRole = await passwordSession({
      userId: user.id,
      password: user.password,
      scope: { projectId: otherProject.id },
    })
      .getToken()
      .catch((e: unknown) => e);
    expect((noRole as OpenStackHttpError).status).toBe(401);
  });

  it('application credential auth: by id+secret and by name+user', async () => {
    const ac = await fx.applicationCredential(user, project.id);
    const byId = await new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new ApplicationCredentialAuth({ id: ac.id, secret: ac.secret }),
    }).getAccess();
    expect(byId.methods).toEqual(['application_credential']);
    expect(byId.applicationCredential?.id).toBe(ac.id);
    expect([byId.user?.id, byId.project?.id]).toEqual([user.id, project.id]);

    const byName = await new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new ApplicationCredentialAuth({
        name: ac.name,
        secret: ac.secret,
        user: { username: user.name, userDomainId: 'default' },
      }),
    }).getAccess();
    expect(byName.applicationCredential?.id).toBe(ac.id);

    const wrongSecret = await new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new ApplicationCredentialAuth({ id: ac.id, secret: 'wrong' }),
    })
      .getToken()
      .catch((e: OpenStackHttpError) => e.status);
    expect(wrongSecret).toBe(401);
  });

  it('token auth: rescopes an unscoped token to a project, keeping its expiry', async () => {
    const unscoped = await passwordSession({ userId: user.id, password: user.password }).getAccess();
    const rescoped = await new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new TokenAuth({ token: unscoped.token, scope: { projectId: project.id } }),
    }).getAccess();
    expect(rescoped.token).not.toBe(unscoped.token);
    expect(rescoped.project?.id).toBe(project.id);
    expect(rescoped.methods).toEqual(expect.arrayContaining(['token', 'password']));
    expect(rescoped.expiresAt.getTime()).toBe(unscoped.expiresAt.getTime());
  });

  it('catalog lookup: identity endpoints by interface and region, unknown types refused', async () => {
    const session = passwordSession({
      userId: user.id,
      password: user.password,
      scope: { projectId: project.id },
    });
    const catalog = await session.getCatalog();
    const identity = catalog.endpoints({ type: 'identity' });
    expect(identity.length).toBeGreaterThan(0);
    const region = identity[0]?.region_id ?? undefined;
    expect(await session.getEndpoint({ type: 'identity', interface: 'public', region })).toBe(
      identity[0]?.url.replace(/\/+$/, ''),
    );
    expect(await session.getEndpoint({ type: 'identity', interface: 'internal' })).toMatch(/^https?:\/\//);
    await expect(session.getEndpoint({ type: 'no-such-service-type' })).rejects.toThrow(/no endpoint/);
    await expect(session.getEndpoint({ type: 'identity', region: 'NoSuchRegion' })).rejects.toThrow(
      /NoSuchRegion/,
    );
  });

  it('http client: catalog endpoint, token injected, typed Keystone errors with request id', async () => {
    const session = passwordSession({
      userId: user.id,
      password: user.password,
      scope: { projectId: project.id },
    });
    const identity = createHttpClient(session, { service: { type: 'identity' } });
    const me = await identity.get(`/users/${user.id}`);
    expect(me.data.user.name).toBe(user.name);
    // `member` may not read other projects: Keystone's 403 body becomes a typed error.
    const err = (await identity
      .get(`/projects/${otherProject.id}`)
      .catch((e: unknown) => e)) as OpenStackHttpError;
    expect(err).toBeInstanceOf(OpenStackHttpError);
    expect([err.status, err.code]).toEqual([403, 'Forbidden']);
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.requestId).toMatch(/^req-/);
    const missing = (await fx.admin
      .get('/projects/does-not-exist')
      .catch((e: unknown) => e)) as OpenStackHttpError;
    expect([missing.status, missing.code, missing.message]).toEqual([
      404,
      'Not Found',
      'Could not find project: does-not-exist.',
    ]);
  });

  it('http client: a revoked token gets a 401, then the client re-authenticates and retries once', async () => {
    const counter = countingAdapter();
    const session = new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new PasswordAuth({ userId: user.id, password: user.password, scope: { projectId: project.id } }),
      adapter: counter.adapter,
    });
    const identity = createHttpClient(session, { endpointOverride: KEYSTONE_URL });
    const first = await session.getToken();
    await fx.revoke(first);
    const res = await identity.get(`/users/${user.id}`);
    expect(res.status).toBe(200);
    expect(await session.getToken()).not.toBe(first);
    expect(counter.authPosts()).toBe(2);
  });

  it('concurrent callers share one in-flight authentication', async () => {
    const counter = countingAdapter();
    const session = new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new PasswordAuth({ userId: user.id, password: user.password, scope: { projectId: project.id } }),
      adapter: counter.adapter,
    });
    const identity = createHttpClient(session, { endpointOverride: KEYSTONE_URL });
    const results = await Promise.all(Array.from({ length: 5 }, () => identity.get(`/users/${user.id}`)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(counter.authPosts()).toBe(1);
  });

  it('an unreachable Keystone is KeystoneUnavailableError, not an auth failure', async () => {
    const session = new KeystoneSession({
      authUrl: 'http://127.0.0.1:9/v3', // discard port: nothing listens
      auth: new PasswordAuth({ userId: user.id, password: user.password }),
      timeoutMs: 2_000,
    });
    const err = await session.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeystoneUnavailableError);
    expect((err as KeystoneUnavailableError).reason).toBe('unreachable');
  });
});
