// Real token expiry: a second Keystone sharing the all-in-one's database and
// fernet keys issues tokens that live EXPIRATION seconds. The client must
// renew before expiry (and after a 401 when its clock says the token is
// still good); the validator must refuse expired tokens.

import axios, { type AxiosAdapter } from 'axios';
import {
  AuthenticationError,
  InvalidTokenError,
  KeystoneSession,
  PasswordAuth,
  TokenAuth,
  TokenValidator,
  createHttpClient,
} from 'keystone-client-ts';
import {
  type CreatedUser,
  KEYSTONE_URL,
  KeystoneFixture,
  waitForKeystone,
} from '../support/keystone-fixture';
import { ShortLivedKeystone } from '../support/keystone-short-lived';

jest.setTimeout(90_000);

const EXPIRATION = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real http adapter, recording what went to Keystone and what came back. */
function recordingAdapter() {
  const real = axios.getAdapter('http');
  const log: Array<{ method: string; path: string; status: number; token: string | undefined }> = [];
  const adapter: AxiosAdapter = async (config) => {
    const entry = {
      method: (config.method ?? 'get').toUpperCase(),
      path: new URL(config.url ?? '', config.baseURL ? `${config.baseURL}/` : undefined).pathname,
      status: 0,
      token: config.headers.get('X-Auth-Token')?.toString(),
    };
    log.push(entry);
    try {
      const res = await real(config);
      entry.status = res.status;
      return res;
    } catch (err) {
      entry.status = (err as { response?: { status: number } }).response?.status ?? -1;
      throw err;
    }
  };
  return { adapter, log };
}

describe('token expiry against a Keystone issuing short-lived tokens', () => {
  const fx = new KeystoneFixture();
  const shortKs = new ShortLivedKeystone(EXPIRATION);
  let shortUrl: string;
  let project: { id: string };
  let user: CreatedUser;
  let service: CreatedUser;

  beforeAll(async () => {
    await waitForKeystone();
    // Start the second Keystone while the fixture objects are created.
    const started = shortKs.start();
    started.catch(() => undefined);
    project = await fx.project('exp');
    user = await fx.user('exp');
    service = await fx.user('exp-svc');
    await fx.grantProject(user.id, project.id, 'member');
    await fx.grantProject(service.id, project.id, 'admin');
    shortUrl = await started;
  });

  afterAll(async () => {
    await shortKs.stop();
    await fx.cleanup();
  });

  function userAuth() {
    return new PasswordAuth({ userId: user.id, password: user.password, scope: { projectId: project.id } });
  }

  it('issues tokens that live EXPIRATION seconds', async () => {
    const access = await new KeystoneSession({ authUrl: shortUrl, auth: userAuth() }).getAccess();
    expect(access.lifetimeMs).toBe(EXPIRATION * 1000);
  });

  it('the client renews before expiry: no request ever meets an expired token', async () => {
    const rec = recordingAdapter();
    const session = new KeystoneSession({
      authUrl: shortUrl,
      auth: userAuth(),
      expiryMarginSeconds: 1,
      adapter: rec.adapter,
    });
    const identity = createHttpClient(session, { endpointOverride: shortUrl, adapter: rec.adapter });
    const deadline = Date.now() + 2 * EXPIRATION * 1000;
    let calls = 0;
    while (Date.now() < deadline) {
      const res = await identity.get(`/users/${user.id}`);
      expect(res.data.user.id).toBe(user.id);
      calls += 1;
      await sleep(250);
    }
    const auths = rec.log.filter((e) => e.method === 'POST' && e.path.endsWith('/auth/tokens'));
    const apiCalls = rec.log.filter((e) => e.method === 'GET');
    expect(calls).toBeGreaterThan(10);
    expect(auths.length).toBeGreaterThanOrEqual(3); // 2 lifetimes, renewing 1 s early: at least two renewals
    expect(apiCalls.every((e) => e.status === 200)).toBe(true); // renewed early, never via 401
    expect(new Set(apiCalls.map((e) => e.token)).size).toBe(auths.length);
  });

  it('the client re-authenticates on 401 when its own clock thinks the token is still fresh', async () => {
    const rec = recordingAdapter();
    const frozen = Date.now();
    // A clock that never moves: only Keystone's 401 can reveal the expiry.
    const session = new KeystoneSession({
      authUrl: shortUrl,
      auth: userAuth(),
      adapter: rec.adapter,
      now: () => frozen,
    });
    const identity = createHttpClient(session, { endpointOverride: shortUrl, adapter: rec.adapter });
    await identity.get(`/users/${user.id}`);
    const first = await session.getToken();
    await sleep(EXPIRATION * 1000 + 1_000);
    const res = await identity.get(`/users/${user.id}`);
    expect(res.status).toBe(200);
    expect(rec.log.filter((e) => e.method === 'GET').map((e) => [e.status, e.token === first])).toEqual([
      [200, true],
      [401, true],
      [200, false],
    ]);
  });

  it('the validator refuses expired tokens (cache entries never outlive the token), and TokenAuth cannot renew', async () => {
    const validator = new TokenValidator({
      // The validating service talks to the all-in-one's Keystone: expiry is inside the fernet token.
      session: new KeystoneSession({
        authUrl: KEYSTONE_URL,
        auth: new PasswordAuth({
          userId: service.id,
          password: service.password,
          scope: { projectId: project.id },
        }),
      }),
      cacheTtlSeconds: 300,
    });
    const token = await new KeystoneSession({ authUrl: shortUrl, auth: userAuth() }).getToken();
    const exchanged = new KeystoneSession({ authUrl: shortUrl, auth: new TokenAuth({ token }) });
    const ctx = await validator.validate(token);
    expect(ctx.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(EXPIRATION * 1000);
    await exchanged.getToken();

    await sleep(ctx.expiresAt.getTime() - Date.now() + 500);
    const result = await validator.authenticate({ 'X-Auth-Token': token });
    expect(result).toMatchObject({ ok: false, status: 401 });
    if (!result.ok) expect(result.error).toBeInstanceOf(InvalidTokenError);
    // A token-for-token exchange cannot outlive the original token. Keystone
    // 22 says 404 (token not found) here, hence AuthenticationError, not a status.
    const renewal = await exchanged.getToken().catch((e: unknown) => e);
    expect(renewal).toBeInstanceOf(AuthenticationError);
    expect([401, 404]).toContain((renewal as AuthenticationError).status);
  });
});
