import sinon from 'sinon';
import { PasswordAuth, TokenAuth } from './auth';
import {
  AuthenticationError,
  EndpointNotFoundError,
  KeystoneUnavailableError,
  OpenStackHttpError,
} from './errors';
import type { Logger } from './log';
import { KeystoneSession, normaliseAuthUrl } from './session';
import { FakeKeystone } from './testing/fake-keystone';

const auth = new PasswordAuth({
  username: 'svc',
  userDomainId: 'default',
  password: 'pw',
  scope: { projectId: 'p1' },
});

function setup(opts: { lifetimeMs?: number; margin?: number; start?: number } = {}) {
  const clock = sinon.useFakeTimers({ now: opts.start ?? Date.UTC(2024, 0, 1), toFake: ['Date'] });
  const ks = new FakeKeystone();
  ks.spec = { lifetimeMs: opts.lifetimeMs ?? 3_600_000 };
  const session = new KeystoneSession({
    authUrl: 'http://ks:5000',
    auth,
    adapter: ks.adapter,
    ...(opts.margin === undefined ? {} : { expiryMarginSeconds: opts.margin }),
  });
  return { clock, ks, session };
}

describe('KeystoneSession', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(() => clock?.restore());

  it('appends /v3 to the auth URL when missing', () => {
    expect(normaliseAuthUrl('http://ks:5000')).toBe('http://ks:5000/v3');
    expect(normaliseAuthUrl('http://ks/identity/v3/')).toBe('http://ks/identity/v3');
  });

  it('authenticates once and reuses the token', async () => {
    const s = setup();
    clock = s.clock;
    expect(await s.session.getToken()).toBe('tok-1');
    expect(await s.session.getToken()).toBe('tok-1');
    expect(s.ks.issued).toEqual(['tok-1']);
    expect(s.ks.authBodies[0]).toEqual(auth.authRequest());
    const sent = s.ks.adapter.firstCall.args[0];
    expect(sent.url).toBe('http://ks:5000/v3/auth/tokens');
    expect(sent.headers.get('User-Agent')).toMatch(/^berth-keystone-client-ts\//);
  });

  it('renews once the margin before expiry is reached, not earlier', async () => {
    const s = setup({ lifetimeMs: 3_600_000, margin: 120 });
    clock = s.clock;
    await s.session.getToken();
    // Keystone's stamps are whole seconds, so one second of lifetime is counted as lost.
    s.clock.tick(3_600_000 - 1_000 - 120_000 - 1);
    expect(await s.session.getToken()).toBe('tok-1');
    s.clock.tick(1);
    expect(await s.session.getToken()).toBe('tok-2');
  });

  it('caps the margin at half the lifetime so short tokens are still reused', async () => {
    const s = setup({ lifetimeMs: 10_000, margin: 60 });
    clock = s.clock;
    await s.session.getToken();
    s.clock.tick(4_499); // (10 s - 1 s granularity) / 2
    expect(await s.session.getToken()).toBe('tok-1');
    s.clock.tick(1);
    expect(await s.session.getToken()).toBe('tok-2');
  });

  it('measures expiry on its own clock (Keystone clock skew)', async () => {
    const s = setup({ lifetimeMs: 600_000, margin: 60 });
    clock = s.clock;
    // Keystone's clock runs an hour behind ours: its expires_at is in our past.
    s.ks.spec = { lifetimeMs: 600_000, issuedAt: Date.now() - 3_600_000 };
    await s.session.getToken();
    s.clock.tick(500_000);
    expect(await s.session.getToken()).toBe('tok-1');
    s.clock.tick(40_000);
    expect(await s.session.getToken()).toBe('tok-2');
  });

  it('keeps the current token while Keystone is unavailable for an early renewal, until it expires', async () => {
    const s = setup({ lifetimeMs: 600_000, margin: 120 });
    clock = s.clock;
    await s.session.getToken();
    s.ks.authOverride = () => 'refuse';
    s.clock.tick(500_000); // inside the renewal margin
    expect(await s.session.getToken()).toBe('tok-1');
    expect(await s.session.getToken()).toBe('tok-1');
    expect(s.ks.authBodies).toHaveLength(2); // the failed renewal is not retried at once...
    s.clock.tick(5_000);
    expect(await s.session.getToken()).toBe('tok-1');
    expect(s.ks.authBodies).toHaveLength(3); // ...but some seconds later
    s.clock.tick(99_000); // past the (conservative) local expiry
    await expect(s.session.getToken()).rejects.toThrow(KeystoneUnavailableError);
    s.ks.authOverride = undefined;
    expect(await s.session.getToken()).toBe('tok-2');
  });

  it('does not fall back to a token that was invalidated', async () => {
    const s = setup();
    clock = s.clock;
    await s.session.getToken();
    s.session.invalidate('tok-1');
    s.ks.authOverride = () => 'refuse';
    await expect(s.session.getToken()).rejects.toThrow(KeystoneUnavailableError);
  });

  it('shares one in-flight authentication among concurrent callers', async () => {
    const s = setup();
    clock = s.clock;
    let release!: () => void;
    s.ks.authGate = new Promise((r) => (release = r));
    const callers = Promise.all([s.session.getToken(), s.session.getToken(), s.session.getAccess()]);
    await new Promise((r) => setImmediate(r));
    release();
    const [a, b, c] = await callers;
    expect([a, b, c.token]).toEqual(['tok-1', 'tok-1', 'tok-1']);
    expect(s.ks.authBodies).toHaveLength(1);
  });

  it('invalidate(token) drops only the token still held', async () => {
    const s = setup();
    clock = s.clock;
    await s.session.getToken();
    s.session.invalidate('tok-1');
    expect(await s.session.getToken()).toBe('tok-2');
    s.session.invalidate('tok-1'); // stale report: ignored
    expect(await s.session.getToken()).toBe('tok-2');
    expect((await s.session.getAccess({ forceRefresh: true })).token).toBe('tok-3');
  });

  it('does not renew early for token auth (the expiry cannot move)', async () => {
    const clk = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1), toFake: ['Date'] });
    clock = clk;
    const ks = new FakeKeystone();
    ks.spec = { lifetimeMs: 100_000 };
    const session = new KeystoneSession({
      authUrl: 'http://ks/v3',
      auth: new TokenAuth({ token: 'user-token' }),
      adapter: ks.adapter,
    });
    await session.getToken();
    clk.tick(98_999);
    expect(await session.getToken()).toBe('tok-1');
    clk.tick(1);
    expect(await session.getToken()).toBe('tok-2');
  });

  it('maps failures: 401 stays an HTTP error, no answer or 5xx is KeystoneUnavailableError', async () => {
    const s = setup();
    clock = s.clock;
    s.ks.authOverride = () => ({
      status: 401,
      data: { error: { code: 401, message: 'requires authentication', title: 'Unauthorized' } },
    });
    const denied = await s.session.getToken().catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AuthenticationError);
    expect(denied).toBeInstanceOf(OpenStackHttpError);
    expect((denied as OpenStackHttpError).status).toBe(401);
    s.ks.authOverride = () => 'refuse';
    const down = await s.session.getToken().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(KeystoneUnavailableError);
    expect((down as KeystoneUnavailableError).reason).toBe('unreachable');
    s.ks.authOverride = () => ({ status: 503, data: '<html><title>503</title></html>' });
    expect(await s.session.getToken().catch((e: KeystoneUnavailableError) => e.reason)).toBe('server-error');
    s.ks.authOverride = () => ({ status: 201, data: {} });
    expect(await s.session.getToken().catch((e: KeystoneUnavailableError) => e.reason)).toBe(
      'unexpected-response',
    );
    s.ks.authOverride = undefined;
    expect(await s.session.getToken()).toBe('tok-1');
  });

  it('resolves endpoints from overrides, then the catalog with its default interface/region', async () => {
    const ks = new FakeKeystone();
    const session = new KeystoneSession({
      authUrl: 'http://ks/v3',
      auth,
      adapter: ks.adapter,
      interface: 'internal',
      endpointOverrides: { image: 'http://my-glance:9292/' },
    });
    expect(await session.getEndpoint({ type: 'image' })).toBe('http://my-glance:9292');
    expect(await session.getEndpoint({ type: 'compute' })).toBe('http://nova.internal/v2.1');
    expect(await session.getEndpoint({ type: 'compute', interface: 'public', region: 'RegionTwo' })).toBe(
      'http://nova.two/v2.1',
    );
    await expect(session.getEndpoint({ type: 'dns' })).rejects.toThrow(EndpointNotFoundError);
    const unscoped = new KeystoneSession({ authUrl: 'http://ks/v3', auth, adapter: ks.adapter });
    // An unscoped token comes without a catalog.
    ks.authOverride = () => {
      const token = ks.issue();
      const body = ks.tokens.get(token)!;
      delete body.token.catalog;
      return { status: 201, data: body, headers: { 'x-subject-token': token } };
    };
    await expect(unscoped.getCatalog()).rejects.toThrow(/no service catalog/);
  });

  it('builds from keystone_authtoken-style config, taking interface and region from it', async () => {
    const ks = new FakeKeystone();
    const session = KeystoneSession.fromConfig(
      {
        auth_url: 'http://ks:5000',
        username: 'nova',
        password: 'pw',
        project_name: 'service',
        interface: 'internal',
        region_name: 'RegionOne',
      },
      { adapter: ks.adapter },
    );
    expect(session.authUrl).toBe('http://ks:5000/v3');
    expect(await session.getEndpoint({ type: 'compute' })).toBe('http://nova.internal/v2.1');
    expect(ks.authBodies[0]).toMatchObject({
      auth: { scope: { project: { name: 'service', domain: { name: 'Default' } } } },
    });
  });

  it('logs a fingerprint, never the token', async () => {
    const ks = new FakeKeystone();
    const logger = {
      debug: sinon.spy(),
      info: sinon.spy(),
      warn: sinon.spy(),
      error: sinon.spy(),
    } satisfies Logger;
    const session = new KeystoneSession({ authUrl: 'http://ks/v3', auth, adapter: ks.adapter, logger });
    const token = await session.getToken();
    const logged = JSON.stringify([logger.info.args, logger.debug.args, logger.warn.args]);
    expect(logger.info.called).toBe(true);
    expect(logged).not.toContain(token);
    expect(logged).toMatch(/"token":"[0-9a-f]{12}"/);
  });
});
