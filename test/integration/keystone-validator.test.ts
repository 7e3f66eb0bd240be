// TokenValidator against the all-in-one's real Keystone, with a service user
// created for the test (admin on its own project, as the aio's services are):
// valid tokens and their fields, revocation vs cache, garbage, missing,
// another project's token, trusts, application credentials, and Keystone
// outages or policy refusals reported as 503 rather than 401.

import {
  ApplicationCredentialAuth,
  createHttpClient,
  InvalidTokenError,
  KeystoneSession,
  KeystoneUnavailableError,
  PasswordAuth,
  PresentedTokenAuth,
  TokenAuth,
  TokenValidator,
  type TokenValidatorOptions,
} from 'keystone-client-ts';
import {
  type CreatedUser,
  KEYSTONE_URL,
  KeystoneFixture,
  waitForKeystone,
} from '../support/keystone-fixture';

jest.setTimeout(60_000);

const PUBLIC_URI = 'http://keystone.public.example:5000/v3';

describe('TokenValidator against real Keystone', () => {
  const fx = new KeystoneFixture();
  let serviceProject: { id: string; name: string };
  let projectA: { id: string; name: string };
  let projectB: { id: string; name: string };
  let domain: { id: string; name: string };
  let service: CreatedUser;
  let alice: CreatedUser;
  let serviceSession: KeystoneSession;

  function userToken(
    user: CreatedUser,
    scope?: ConstructorParameters<typeof PasswordAuth>[0]['scope'],
  ): Promise<string> {
    return new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new PasswordAuth({ userId: user.id, password: user.password, ...(scope ? { scope } : {}) }),
    }).getToken();
  }

  function validator(opts: Partial<TokenValidatorOptions> = {}): TokenValidator {
    return new TokenValidator({ session: serviceSession, wwwAuthenticateUri: PUBLIC_URI, ...opts });
  }

  beforeAll(async () => {
    await waitForKeystone();
    serviceProject = await fx.project('svc');
    projectA = await fx.project('a');
    projectB = await fx.project('b');
    domain = await fx.domain();
    service = await fx.user('svc');
    alice = await fx.user('alice');
    await fx.grantProject(service.id, serviceProject.id, 'admin');
    await fx.grantProject(alice.id, projectA.id, 'member');
    await fx.grantProject(alice.id, projectB.id, 'reader');
    await fx.grantDomain(alice.id, domain.id, 'member');
    serviceSession = new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new PasswordAuth({
        userId: service.id,
        password: service.password,
        scope: { projectId: serviceProject.id },
      }),
    });
  });

  afterAll(() => fx.cleanup());

  it('a valid project token gives the full request context', async () => {
    const token = await userToken(alice, { projectId: projectA.id });
    const result = await validator().authenticate({ 'x-auth-token': token });
    if (!result.ok) throw result.error;
    const ctx = result.context;
    expect(ctx).toMatchObject({
      token,
      userId: alice.id,
      userName: alice.name,
      userDomainId: 'default',
      projectId: projectA.id,
      projectName: projectA.name,
      projectDomainId: 'default',
      domainId: undefined,
      isAdmin: false,
      trust: undefined,
      appCredentialId: undefined,
      serviceCatalog: undefined,
      methods: ['password'],
    });
    expect(ctx.roles.sort()).toEqual(['member', 'reader']);
    expect(ctx.expiresAt.getTime()).toBeGreaterThan(Date.now() + 60_000);
    expect(ctx.tokenFingerprint).toMatch(/^[0-9a-f]{12}$/);
  });

  it('admins are flagged and catalogs are included on request', async () => {
    const ctx = await validator({ includeCatalog: true }).validate(await serviceSession.getToken());
    expect(ctx.userId).toBe(service.id);
    expect(ctx.isAdmin).toBe(true);
    expect(ctx.serviceCatalog?.endpoints({ type: 'identity' }).length).toBeGreaterThan(0);
  });

  it('a domain-scoped token exposes domainId and no project', async () => {
    const ctx = await validator().validate(await userToken(alice, { domainId: domain.id }));
    expect([ctx.domainId, ctx.domainName, ctx.projectId]).toEqual([domain.id, domain.name, undefined]);
    expect(ctx.roles).toContain('member');
  });

  it("a token for another project is valid but carries that project, not the caller's expected one", async () => {
    const tokenB = await userToken(alice, { projectId: projectB.id });
    const ctx = await validator().validate(tokenB);
    expect(ctx.projectId).toBe(projectB.id);
    expect(ctx.projectId).not.toBe(projectA.id);
    expect(ctx.roles).toEqual(['reader']);
    // ...and a user cannot obtain a token for a project where they have no role at all.
    await expect(userToken(alice, { projectId: serviceProject.id })).rejects.toMatchObject({ status: 401 });
  });

  it('a revoked token is refused once its cache entry lapses (cacheTtlSeconds), or at once after invalidate()', async () => {
    const v = validator({ cacheTtlSeconds: 1 });
    const token = await userToken(alice, { projectId: projectA.id });
    await v.validate(token);
    await fx.revoke(token);
    // Within the cache TTL the validator has not asked Keystone again: the documented trade-off.
    expect((await v.validate(token)).userId).toBe(alice.id);
    await new Promise((r) => setTimeout(r, 1_100));
    await expect(v.validate(token)).rejects.toThrow(InvalidTokenError);

    const v2 = validator({ cacheTtlSeconds: 300 });
    const token2 = await userToken(alice, { projectId: projectA.id });
    await v2.validate(token2);
    await fx.revoke(token2);
    v2.invalidate(token2);
    const refused = await v2.authenticate({ 'X-Auth-Token': token2 });
    expect(refused).toMatchObject({ ok: false, status: 401 });
  });

  it('a garbage token gets 401 with WWW-Authenticate naming the public Keystone', async () => {
    const forged = (await userToken(alice, { projectId: projectA.id })).slice(0, -4) + 'AAAA';
    for (const token of ['garbage', forged]) {
      const result = await validator().authenticate({ 'X-Auth-Token': token });
      expect(result).toMatchObject({
        ok: false,
        status: 401,
        headers: { 'WWW-Authenticate': `Keystone uri="${PUBLIC_URI}"` },
      });
      if (!result.ok) expect((result.error as InvalidTokenError).reason).toBe('invalid');
    }
  });

  it('a missing token gets 401 with WWW-Authenticate', async () => {
    const result = await validator().authenticate({ 'content-type': 'application/json' });
    expect(result).toMatchObject({
      ok: false,
      status: 401,
      headers: { 'WWW-Authenticate': `Keystone uri="${PUBLIC_URI}"` },
    });
    if (!result.ok) expect((result.error as InvalidTokenError).reason).toBe('missing');
  });

  it('trust-scoped tokens (as Heat uses them) expose the trust', async () => {
    const trust = await fx.trust(alice, service, projectA.id, ['member']);
    // The trustee (our service user) authenticates with trust scope, as Heat does.
    const access = await new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new PasswordAuth({
        userId: service.id,
        password: service.password,
        scope: { trustId: trust.id },
      }),
    }).getAccess();
    expect(access.trust?.id).toBe(trust.id);
    const token = access.token;
    const ctx = await validator().validate(token);
    expect(ctx.trust).toEqual({
      id: trust.id,
      impersonation: true,
      trusteeUserId: service.id,
      trustorUserId: alice.id,
    });
    expect(ctx.userId).toBe(alice.id); // impersonation: the token speaks as the trustor
    expect(ctx.projectId).toBe(projectA.id);
  });

  it('a presented trust-scoped token is used as is by a service acting for its user', async () => {
    const trust = await fx.trust(alice, service, projectA.id, ['member']);
    const trustToken = await new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new PasswordAuth({
        userId: service.id,
        password: service.password,
        scope: { trustId: trust.id },
      }),
    }).getToken();
    // exchanging it for another token is refused by Keystone ...
    const exchanged = new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new TokenAuth({ token: trustToken, scope: { projectId: projectA.id } }),
    });
    await expect(exchanged.getToken()).rejects.toThrow(/trust-scoped token/);
    // ... so a service acting for the user holds it as is, and services accept it
    const acting = new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new PresentedTokenAuth({ token: trustToken }),
      endpointOverrides: { identity: KEYSTONE_URL },
    });
    expect(await acting.getToken()).toBe(trustToken);
    const keystone = createHttpClient(acting, { service: { type: 'identity' } });
    const { data } = await keystone.get(`/projects/${projectA.id}`);
    expect(data.project.id).toBe(projectA.id);
  });

  it('application-credential tokens expose the credential id', async () => {
    const ac = await fx.applicationCredential(alice, projectA.id);
    const token = await new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new ApplicationCredentialAuth({ id: ac.id, secret: ac.secret }),
    }).getToken();
    const ctx = await validator().validate(token);
    expect([ctx.appCredentialId, ctx.applicationCredential?.name, ctx.projectId]).toEqual([
      ac.id,
      ac.name,
      projectA.id,
    ]);
  });

  it('Keystone unreachable is a 503, never a 401', async () => {
    const v = new TokenValidator({
      session: new KeystoneSession({
        authUrl: 'http://127.0.0.1:9/v3',
        auth: new PasswordAuth({ userId: service.id, password: service.password }),
        timeoutMs: 2_000,
      }),
    });
    const result = await v.authenticate({
      'X-Auth-Token': await userToken(alice, { projectId: projectA.id }),
    });
    expect(result).toMatchObject({ ok: false, status: 503 });
    if (!result.ok) expect((result.error as KeystoneUnavailableError).reason).toBe('unreachable');
  });

  it('a service user without the right to validate tokens is a 503 (misconfiguration), not a 401', async () => {
    const weak = await fx.user('weak');
    await fx.grantProject(weak.id, serviceProject.id, 'member');
    const v = new TokenValidator({
      session: new KeystoneSession({
        authUrl: KEYSTONE_URL,
        auth: new PasswordAuth({
          userId: weak.id,
          password: weak.password,
          scope: { projectId: serviceProject.id },
        }),
      }),
    });
    const err = await v.validate(await userToken(alice, { projectId: projectA.id })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeystoneUnavailableError);
    expect((err as KeystoneUnavailableError).reason).toBe('forbidden');
  });

  it('renews its own service token after Keystone refuses it (revoked service token)', async () => {
    const session = new KeystoneSession({
      authUrl: KEYSTONE_URL,
      auth: new PasswordAuth({
        userId: service.id,
        password: service.password,
        scope: { projectId: serviceProject.id },
      }),
    });
    const v = new TokenValidator({ session });
    const before = await session.getToken();
    await fx.revoke(before);
    const ctx = await v.validate(await userToken(alice, { projectId: projectA.id }));
    expect(ctx.userId).toBe(alice.id);
    expect(await session.getToken()).not.toBe(before);
  });
});
