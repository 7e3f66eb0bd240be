import { PasswordAuth } from './auth';
import {
  ConfigurationError,
  KeystoneUnavailableError,
  OpenStackConnectionError,
  OpenStackHttpError,
} from './errors';
import { createHttpClient } from './http-client';
import { KeystoneSession } from './session';
import type { FakeRequest } from './testing/fake-http';
import { FakeKeystone } from './testing/fake-keystone';

const auth = new PasswordAuth({ userId: 'svc', password: 'pw', scope: { projectId: 'p1' } });

function setup() {
  const ks = new FakeKeystone();
  const session = new KeystoneSession({
    authUrl: 'http://ks/v3',
    auth,
    adapter: ks.adapter,
    userAgent: 'berth-test/1',
  });
  const seen: FakeRequest[] = [];
  // The "other service": accepts only tokens Keystone considers valid.
  ks.serviceHandler = (req) => {
    seen.push(req);
    if (!ks.tokens.has(req.headers['x-auth-token'] ?? '')) {
      return { status: 401, data: { error: { code: 401, message: 'expired', title: 'Unauthorized' } } };
    }
    return { status: 200, data: { servers: [] }, headers: { 'x-openstack-request-id': 'req-srv' } };
  };
  return { ks, session, seen };
}

describe('createHttpClient', () => {
  it('injects the token, resolves the base URL from the catalog and sets request id and User-Agent', async () => {
    const { ks, session, seen } = setup();
    const nova = createHttpClient(session, { service: { type: 'compute' }, adapter: ks.adapter });
    const res = await nova.get('/servers');
    expect(res.data).toEqual({ servers: [] });
    expect(seen[0]?.url).toBe('http://nova.example/v2.1/servers');
    expect(seen[0]?.headers['x-auth-token']).toBe('tok-1');
    expect(seen[0]?.headers['x-openstack-request-id']).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(seen[0]?.headers['user-agent']).toBe('berth-test/1');
  });

  it('honours interface/region filters, endpoint overrides and absolute URLs', async () => {
    const { ks, session, seen } = setup();
    await createHttpClient(session, {
      service: { type: 'compute', interface: 'internal' },
      adapter: ks.adapter,
    }).get('servers');
    await createHttpClient(session, {
      service: { type: 'compute', region: 'RegionTwo' },
      adapter: ks.adapter,
    }).get('servers');
    await createHttpClient(session, { endpointOverride: 'http://override:1/', adapter: ks.adapter }).get(
      '/x',
    );
    await createHttpClient(session, { service: { type: 'compute' }, adapter: ks.adapter }).get(
      'http://abs.example/y',
    );
    expect(seen.map((r) => r.url)).toEqual([
      'http://nova.internal/v2.1/servers',
      'http://nova.two/v2.1/servers',
      'http://override:1/x',
      'http://abs.example/y',
    ]);
  });

  it('uses the caller-supplied request id and extra headers, a per-request header winning', async () => {
    const { ks, session, seen } = setup();
    const client = createHttpClient(session, {
      service: { type: 'compute' },
      adapter: ks.adapter,
      requestId: () => 'req-from-inbound',
      headers: { 'OpenStack-API-Version': 'compute 2.79' },
    });
    await client.get('/a');
    await client.get('/b', { headers: { 'X-OpenStack-Request-ID': 'req-explicit' } });
    expect(seen[0]?.headers['x-openstack-request-id']).toBe('req-from-inbound');
    expect(seen[0]?.headers['openstack-api-version']).toBe('compute 2.79');
    expect(seen[1]?.headers['x-openstack-request-id']).toBe('req-explicit');
  });

  it('re-authenticates and retries once on 401, replaying the body', async () => {
    const { ks, session, seen } = setup();
    const client = createHttpClient(session, { service: { type: 'compute' }, adapter: ks.adapter });
    await client.get('/warm');
    ks.revoke('tok-1');
    const res = await client.post('/servers', { server: { name: 'c1' } });
    expect(res.status).toBe(200);
    expect(seen.slice(1).map((r) => [r.method, r.headers['x-auth-token'], r.body])).toEqual([
      ['POST', 'tok-1', { server: { name: 'c1' } }],
      ['POST', 'tok-2', { server: { name: 'c1' } }],
    ]);
    expect(seen[1]?.headers['x-openstack-request-id']).toBe(seen[2]?.headers['x-openstack-request-id']);
  });

  it('gives up after the second 401 with an OpenStackHttpError', async () => {
    const { ks, session, seen } = setup();
    ks.serviceHandler = (req) => {
      seen.push(req);
      return { status: 401, data: { error: { code: 401, message: 'nope', title: 'Unauthorized' } } };
    };
    const client = createHttpClient(session, { service: { type: 'compute' }, adapter: ks.adapter });
    const err = await client.get('/servers').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenStackHttpError);
    expect((err as OpenStackHttpError).status).toBe(401);
    expect(seen).toHaveLength(2);
    expect(ks.issued).toEqual(['tok-1', 'tok-2']);
  });

  it('re-authenticates once when concurrent requests all hit 401 with the same stale token', async () => {
    const { ks, session } = setup();
    const client = createHttpClient(session, { service: { type: 'compute' }, adapter: ks.adapter });
    await client.get('/warm');
    ks.revoke('tok-1');
    const all = await Promise.all([client.get('/1'), client.get('/2'), client.get('/3'), client.get('/4')]);
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(ks.issued).toEqual(['tok-1', 'tok-2']);
  });

  it('maps service errors, connection errors and auth outages to typed errors', async () => {
    const { ks, session } = setup();
    const client = createHttpClient(session, { service: { type: 'compute' }, adapter: ks.adapter });
    ks.serviceHandler = () => ({
      status: 404,
      data: { itemNotFound: { message: 'Instance x could not be found.', code: 404 } },
      headers: { 'x-openstack-request-id': 'req-42' },
    });
    const notFound = (await client.get('/servers/x').catch((e: unknown) => e)) as OpenStackHttpError;
    expect([notFound.status, notFound.code, notFound.message, notFound.requestId]).toEqual([
      404,
      'itemNotFound',
      'Instance x could not be found.',
      'req-42',
    ]);
    ks.serviceHandler = () => 'refuse';
    expect(await client.get('/servers').catch((e: unknown) => e)).toBeInstanceOf(OpenStackConnectionError);
    session.invalidate();
    ks.authOverride = () => 'refuse';
    expect(await client.get('/servers').catch((e: unknown) => e)).toBeInstanceOf(KeystoneUnavailableError);
  });

  it('refuses relative URLs without a service or override', async () => {
    const { ks, session } = setup();
    await expect(createHttpClient(session, { adapter: ks.adapter }).get('/x')).rejects.toThrow(
      ConfigurationError,
    );
  });
});
