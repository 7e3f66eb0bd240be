import type { IncomingHttpHeaders } from 'node:http';
import sinon from 'sinon';
import { PasswordAuth } from './auth';
import { InvalidTokenError, KeystoneUnavailableError } from './errors';
import type { Logger } from './log';
import { KeystoneSession } from './session';
import { FakeKeystone } from './testing/fake-keystone';
import { TokenValidator, readHeader, type TokenValidatorOptions } from './validator';

const auth = new PasswordAuth({ userId: 'svc', password: 'pw', scope: { projectId: 'service' } });

function setup(opts: Partial<TokenValidatorOptions> = {}) {
  const ks = new FakeKeystone();
  const session = new KeystoneSession({ authUrl: 'http://ks-internal:5000/v3', auth, adapter: ks.adapter });
  const validator = new TokenValidator({
    session,
    adapter: ks.adapter,
    wwwAuthenticateUri: 'https://keystone.example/v3',
    ...opts,
  });
  return { ks, session, validator };
}

describe('readHeader', () => {
  it('reads Node, plain and fetch-style headers case-insensitively', () => {
    expect(readHeader({ 'x-auth-token': 'a' }, 'X-Auth-Token')).toBe('a');
    expect(readHeader({ 'X-Auth-Token': ['b', 'c'] }, 'X-Auth-Token')).toBe('b');
    expect(readHeader({ 'x-AUTH-token': 'd' }, 'X-Auth-Token')).toBe('d');
    expect(readHeader(new Headers({ 'X-Auth-Token': 'e' }), 'X-Auth-Token')).toBe('e');
    expect(readHeader({}, 'X-Auth-Token')).toBeUndefined();
    const nodeHeaders: IncomingHttpHeaders = { 'x-auth-token': 'f', host: 'api' };
    expect(readHeader(nodeHeaders, 'X-Auth-Token')).toBe('f');
  });
});

describe('TokenValidator', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(() => clock?.restore());

  it('validates with the service token and X-Subject-Token, without catalog by default', async () => {
    const { ks, validator } = setup();
    const user = ks.issue({ userId: 'alice-id', projectId: 'proj-a', roles: ['member', 'reader'] });
    const result = await validator.authenticate({ 'x-auth-token': user });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.context).toMatchObject({
      token: user,
      userId: 'alice-id',
      projectId: 'proj-a',
      isAdmin: false,
    });
    expect(result.context.roles).toEqual(['member', 'reader']);
    const get = ks.adapter.getCalls().find((c) => c.args[0].method === 'get')!.args[0];
    expect(get.url).toBe('http://ks-internal:5000/v3/auth/tokens?nocatalog');
    expect(get.headers.get('X-Subject-Token')).toBe(user);
    expect(get.headers.get('X-Auth-Token')).toBe('tok-2'); // the service's own, issued after the user's
  });

  it('includes the catalog when asked', async () => {
    const { ks, validator } = setup({ includeCatalog: true });
    const ctx = await validator.validate(ks.issue());
    expect(ks.adapter.lastCall.args[0].url).toBe('http://ks-internal:5000/v3/auth/tokens');
    expect(ctx.serviceCatalog?.url({ type: 'image' })).toBe('http://glance.example');
  });

  it('answers 401 with WWW-Authenticate for a missing token, without asking Keystone', async () => {
    const { ks, validator } = setup();
    const result = await validator.authenticate({});
    expect(result).toMatchObject({
      ok: false,
      status: 401,
      headers: { 'WWW-Authenticate': 'Keystone uri="https://keystone.example/v3"' },
    });
    if (!result.ok) expect((result.error as InvalidTokenError).reason).toBe('missing');
    expect(ks.adapter.called).toBe(false);
  });

  it('answers 401 for unknown tokens and for tokens that cannot be headers', async () => {
    const { ks, validator } = setup();
    const result = await validator.authenticate({ 'x-auth-token': 'garbage' });
    expect(result).toMatchObject({ ok: false, status: 401 });
    if (!result.ok) expect((result.error as InvalidTokenError).reason).toBe('invalid');
    await expect(validator.validate('bad token\n')).rejects.toThrow(InvalidTokenError);
    expect(ks.validations).toBe(1);
  });

  it('caches valid tokens up to cacheTtlSeconds, then asks again (revocation takes effect)', async () => {
    clock = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1), toFake: ['Date'] });
    const { ks, validator } = setup({ cacheTtlSeconds: 30 });
    const user = ks.issue();
    await validator.validate(user);
    ks.revoke(user);
    clock.tick(29_999);
    expect((await validator.validate(user)).token).toBe(user); // still cached: documented trade-off
    expect(ks.validations).toBe(1);
    clock.tick(1);
    await expect(validator.validate(user)).rejects.toThrow(InvalidTokenError);
    expect(ks.validations).toBe(2);
  });

  it('never serves a cached token past its expiry', async () => {
    clock = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1), toFake: ['Date'] });
    const { ks, validator } = setup({ cacheTtlSeconds: 600 });
    const user = ks.issue({ lifetimeMs: 5_000 });
    await validator.validate(user);
    clock.tick(5_000);
    await expect(validator.validate(user)).rejects.toThrow(InvalidTokenError);
    expect(ks.validations).toBe(2);
  });

  it('invalidate(token) forces the next validation to Keystone', async () => {
    const { ks, validator } = setup();
    const user = ks.issue();
    await validator.validate(user);
    ks.revoke(user);
    validator.invalidate(user);
    await expect(validator.validate(user)).rejects.toThrow(InvalidTokenError);
  });

  it('negative-caches refused tokens for a short time', async () => {
    clock = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1), toFake: ['Date'] });
    const { ks, validator } = setup({ negativeCacheTtlSeconds: 5 });
    await expect(validator.validate('nope')).rejects.toThrow(InvalidTokenError);
    await expect(validator.validate('nope')).rejects.toThrow(InvalidTokenError);
    expect(ks.validations).toBe(1);
    clock.tick(5_000);
    await expect(validator.validate('nope')).rejects.toThrow(InvalidTokenError);
    expect(ks.validations).toBe(2);
  });

  it('bounds both caches', async () => {
    const { ks, validator } = setup({ maxCacheEntries: 2, maxNegativeCacheEntries: 2 });
    const [a, b, c] = [ks.issue(), ks.issue(), ks.issue()];
    for (const t of [a, b, c]) await validator.validate(t);
    expect(ks.validations).toBe(3);
    await validator.validate(c); // cached
    await validator.validate(a); // evicted, asks again
    expect(ks.validations).toBe(4);
    for (const t of ['x1', 'x2', 'x3', 'x1']) await validator.validate(t).catch(() => undefined);
    expect(ks.validations).toBe(8);
  });

  it('shares one Keystone request among concurrent validations of one token', async () => {
    const { ks, validator } = setup();
    const user = ks.issue();
    const all = await Promise.all([
      validator.validate(user),
      validator.validate(user),
      validator.validate(user),
    ]);
    expect(all.every((c) => c.token === user)).toBe(true);
    expect(ks.validations).toBe(1);
  });

  it('renews its own service token when Keystone refuses it, then retries', async () => {
    const { ks, validator } = setup();
    const first = ks.issue();
    await validator.validate(first);
    ks.revoke('tok-2'); // the service's token, issued at the first validation
    const second = ks.issue();
    const ctx = await validator.validate(second);
    expect(ctx.token).toBe(second);
    const serviceTokens = ks.adapter
      .getCalls()
      .filter((c) => c.args[0].method === 'get')
      .map((c) => c.args[0].headers.get('X-Auth-Token'));
    expect(serviceTokens).toEqual(['tok-2', 'tok-2', 'tok-4']);
  });

  it('answers 503, not 401, when Keystone is unreachable, failing, or refuses the service', async () => {
    const { ks, validator, session } = setup();
    const user = ks.issue();
    ks.validateOverride = () => 'refuse';
    const down = await validator.authenticate({ 'X-Auth-Token': user });
    expect(down).toMatchObject({ ok: false, status: 503 });
    if (!down.ok) expect((down.error as KeystoneUnavailableError).reason).toBe('unreachable');
    ks.validateOverride = () => ({
      status: 500,
      data: { error: { code: 500, message: 'boom', title: 'Internal' } },
    });
    await expect(validator.validate(user)).rejects.toMatchObject({ reason: 'server-error', status: 503 });
    ks.validateOverride = () => ({
      status: 403,
      data: { error: { code: 403, message: 'policy', title: 'Forbidden' } },
    });
    await expect(validator.validate(user)).rejects.toMatchObject({ reason: 'forbidden' });
    ks.validateOverride = undefined;
    session.invalidate();
    ks.authOverride = () => ({
      status: 401,
      data: { error: { code: 401, message: 'bad password', title: 'Unauthorized' } },
    });
    await expect(validator.validate(user)).rejects.toMatchObject({ reason: 'service-auth-failed' });
    ks.authOverride = () => 'refuse';
    await expect(validator.validate(user)).rejects.toMatchObject({ reason: 'unreachable' });
    // None of those outcomes was cached as a refusal.
    ks.authOverride = undefined;
    expect((await validator.validate(user)).token).toBe(user);
  });

  it('answers 503 for answers it cannot interpret', async () => {
    const { ks, validator } = setup();
    const user = ks.issue();
    ks.validateOverride = () => ({ status: 200, data: { not: 'a token' } });
    await expect(validator.validate(user)).rejects.toMatchObject({ reason: 'unexpected-response' });
    ks.validateOverride = () => ({
      status: 409,
      data: { error: { code: 409, message: 'odd', title: 'Conflict' } },
    });
    await expect(validator.validate(user)).rejects.toMatchObject({ reason: 'unexpected-response' });
  });

  it('keeps serving cached tokens while Keystone is down', async () => {
    const { ks, validator } = setup();
    const user = ks.issue();
    await validator.validate(user);
    ks.validateOverride = () => 'refuse';
    expect((await validator.validate(user)).token).toBe(user);
  });

  it('logs fingerprints only', async () => {
    const logger = {
      debug: sinon.spy(),
      info: sinon.spy(),
      warn: sinon.spy(),
      error: sinon.spy(),
    } satisfies Logger;
    const { ks, validator } = setup({ logger });
    const good = ks.issue();
    await validator.validate(good);
    await validator.validate('refused-token').catch(() => undefined);
    const logged = JSON.stringify([logger.debug.args, logger.info.args, logger.warn.args]);
    expect(logger.debug.called && logger.info.called).toBe(true);
    expect(logged).not.toContain(good);
    expect(logged).not.toContain('refused-token');
  });
});
