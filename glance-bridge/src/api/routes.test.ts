// The HTTP layer with fastify's inject: routing, the token flow, headers,
// bodies as streams, error bodies. The core runs on in-memory SQLite and the
// filesystem driver; Keystone is a sinon fake of KeystoneIdentities.

import { createApiServer } from '@berth/service-kit';
import type { FastifyInstance } from 'fastify';
import { KeystoneUnavailableError } from 'keystone-client-ts';
import sinon from 'sinon';

import { contract } from '../openapi';
import { harness, ociManifest, sha256, silent, type Harness } from '../testing/harness';
import { OciAuthorizer } from './auth/authorize';
import { type Identity, InvalidCredentials, type KeystoneIdentities } from './auth/identity';
import { registerTokenRoute } from './auth/token-route';
import { TokenSigner } from './auth/tokens';
import { renderOciError } from './errors';
import { ociRoutes } from './oci/routes';

const identity = (roles: Record<string, string[]>): Identity => ({
  userId: 'u1',
  userName: 'alice',
  projectAccess: async (seg) => {
    const id = seg === 'proj' ? 'p1' : seg;
    return roles[id]
      ? { id, name: id === 'p1' ? 'proj' : id, domainId: 'default', roles: roles[id] as string[] }
      : undefined;
  },
  visibleProjects: async () =>
    Object.keys(roles).map((id) => ({ id, name: id, domainId: 'default', roles: [] })),
  globalReader: async () => false,
});

let h: Harness;
let app: FastifyInstance;
let fromBasic: sinon.SinonStub;

beforeEach(async () => {
  h = await harness();
  const signer = new TokenSigner(Buffer.from('unit-test-key'), 'bridge', 'berth-glance-bridge', 300);
  fromBasic = sinon.stub().callsFake(async (user: string, password: string) => {
    if (password !== 'pw') throw new InvalidCredentials('no');
    if (user === 'reader') return identity({ p1: ['reader'] });
    if (user === 'other') return identity({ p2: ['member'] });
    return identity({ p1: ['member'] });
  });
  app = createApiServer({ service: 'unit', logger: silent, renderError: renderOciError });
  app.addSchema(contract.bundle());
  registerTokenRoute(app, {
    signer,
    identities: { fromBasic } as unknown as KeystoneIdentities,
    db: h.db,
    readOnlyRoles: ['reader'],
    logger: silent,
  });
  await app.register(ociRoutes, {
    registry: h.registry,
    authz: new OciAuthorizer(signer, h.db, { serviceName: 'berth-glance-bridge', publicUrl: '' }),
    maxManifestBytes: 4 << 20,
  });
});
afterEach(async () => {
  await app.close();
  await h.close();
});

async function token(user: string, scope: string, password = 'pw') {
  const r = await app.inject({
    url: `/token?service=berth-glance-bridge&scope=${encodeURIComponent(scope)}`,
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  });
  return r;
}
const bearer = async (user: string, scope: string) => ({
  authorization: `Bearer ${(await token(user, scope)).json().token}`,
});

describe('token flow', () => {
  it('challenges with the realm of the Host the client used', async () => {
    const r = await app.inject({ url: '/v2/', headers: { host: 'registry.example:9494' } });
    expect(r.statusCode).toBe(401);
    expect(r.headers['www-authenticate']).toBe(
      'Bearer realm="http://registry.example:9494/token",service="berth-glance-bridge"',
    );
    expect(r.json()).toEqual({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
  });

  it('issues tokens with the granted actions only', async () => {
    const r = await token('reader', 'repository:proj/app:pull,push');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.expires_in).toBe(300);
    expect(body.access_token).toBe(body.token);
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString());
    expect(claims.access).toEqual([
      { type: 'repository', name: 'proj/app', actions: ['pull'], project_id: 'p1' },
    ]);
  });

  it('answers 401 for bad credentials and 503 when Keystone is away', async () => {
    expect((await token('alice', 'repository:proj/app:pull', 'wrong')).statusCode).toBe(401);
    fromBasic.rejects(new KeystoneUnavailableError('down', 'unreachable'));
    const r = await token('alice', 'repository:proj/app:pull');
    expect(r.statusCode).toBe(503);
    expect(r.json().errors[0].code).toBe('UNAVAILABLE');
  });
});

describe('push and pull over HTTP', () => {
  it('streams a blob in, answers HEAD with its length and no body, serves it back', async () => {
    const auth = await bearer('alice', 'repository:proj/app:pull,push');
    const start = await app.inject({ method: 'POST', url: '/v2/proj/app/blobs/uploads/', headers: auth });
    expect(start.statusCode).toBe(202);
    expect(start.headers['docker-distribution-api-version']).toBe('registry/2.0');
    const data = Buffer.alloc(300_000, 7);
    const patch = await app.inject({
      method: 'PATCH',
      url: start.headers.location as string,
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      payload: data,
    });
    expect([patch.statusCode, patch.headers.range]).toEqual([202, '0-299999']);
    const put = await app.inject({
      method: 'PUT',
      url: `${patch.headers.location}?digest=${sha256(data)}`,
      headers: auth,
    });
    expect(put.statusCode).toBe(201);
    const head = await app.inject({
      method: 'HEAD',
      url: `/v2/proj/app/blobs/${sha256(data)}`,
      headers: auth,
    });
    expect([head.statusCode, head.headers['content-length'], head.body]).toEqual([200, '300000', '']);
    const get = await app.inject({ url: `/v2/proj/app/blobs/${sha256(data)}`, headers: auth });
    expect(get.rawPayload.equals(data)).toBe(true);
  });

  it('keeps manifests byte-exact whatever their Content-Type, and refuses them above the limit', async () => {
    const auth = await bearer('alice', 'repository:proj/app:pull,push');
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    await app.inject({
      method: 'POST',
      url: `/v2/proj/app/blobs/uploads/?digest=${sha256(config)}`,
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      payload: config,
    });
    const m = Buffer.from(ociManifest(config, []).toString().replace('{', '{ '));
    const put = await app.inject({
      method: 'PUT',
      url: '/v2/proj/app/manifests/v1',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: m,
    });
    expect(put.statusCode).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(sha256(m));
    const get = await app.inject({ url: '/v2/proj/app/manifests/v1', headers: auth });
    expect(get.rawPayload.equals(m)).toBe(true);
    expect(get.headers['content-type']).toBe('application/vnd.oci.image.manifest.v1+json');
    const big = await app.inject({
      method: 'PUT',
      url: '/v2/proj/app/manifests/big',
      headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: Buffer.alloc((4 << 20) + 1, 32),
    });
    expect(big.statusCode).toBe(413);
  });
});

describe('permissions', () => {
  it('another project: 404 NAME_UNKNOWN; a reader pushing: 403 DENIED; no token for the repository: 401 with its scope', async () => {
    const other = await app.inject({
      url: '/v2/proj/app/tags/list',
      headers: await bearer('other', 'repository:proj/app:pull'),
    });
    expect([other.statusCode, other.json().errors[0].code]).toEqual([404, 'NAME_UNKNOWN']);
    const reader = await app.inject({
      method: 'POST',
      url: '/v2/proj/app/blobs/uploads/',
      headers: await bearer('reader', 'repository:proj/app:pull,push'),
    });
    expect([reader.statusCode, reader.json().errors[0].code]).toEqual([403, 'DENIED']);
    const wrong = await app.inject({
      url: '/v2/proj/app/tags/list',
      headers: await bearer('alice', 'repository:proj/other:pull'),
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain(
      'scope="repository:proj/app:pull",error="insufficient_scope"',
    );
  });

  it('HEAD refusals carry no body', async () => {
    const r = await app.inject({
      method: 'HEAD',
      url: `/v2/proj/app/blobs/${sha256('x')}`,
      headers: await bearer('alice', 'repository:proj/app:pull'),
    });
    expect([r.statusCode, r.body]).toEqual([404, '']);
  });
});
