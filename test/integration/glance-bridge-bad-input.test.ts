// Bad input against a private glance-bridge on the real Glance and
// Keystone: every refusal is a 4xx with the right OCI code, and nothing is
// half-stored (no Glance image, no tag, no session left by a refused push).
// Then Glance itself goes away in the middle of a push (a private second
// glance-api, stopped and restarted): 503, the session survives, the push
// completes when Glance is back, and the GC leaves no stray image.

import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';

import { KeystoneFixture } from '../support/keystone-fixture';
import {
  blob,
  codes,
  configBlob,
  desc,
  imageManifest,
  MT,
  OciClient,
  type PrivateBridge,
  purgeNamespace,
  randomBlob,
  sha256,
  startBridge,
  storeImages,
  tenant,
  type Tenant,
} from '../support/glance-bridge';
import { PrivateGlance } from '../support/private-glance';
import { collectGarbage } from '../../glance-bridge/src';

jest.setTimeout(180_000);

const ks = new KeystoneFixture();
let b: PrivateBridge;
let t: Tenant;
let c: OciClient;
let repo: string;

beforeAll(async () => {
  t = await tenant(ks, 'gb-bad');
  b = await startBridge('bad-input');
  c = new OciClient(b.url, t.login);
  repo = `${t.project.name}/bad`;
  // a healthy baseline in the repository
  await c.pushImage(repo, 'good');
});

afterAll(async () => {
  await b?.stop();
  if (b) await purgeNamespace(b.namespace);
  await ks.cleanup();
});

/** Ids of the store images of this bridge: compared before and after a refused request. */
const snapshot = async () => {
  // blobs pushed before are on their way to Glance in the background: let them arrive first
  await b.bridge.registry.uploads.idle();
  return (await storeImages(b.namespace)).map((i) => `${i.id}:${i.status}`).sort();
};

describe('blob uploads', () => {
  it('wrong digest on the closing PUT: 400 DIGEST_INVALID, session and bytes gone, nothing in Glance', async () => {
    const before = await snapshot();
    const data = randomBlob(20_000);
    const start = await c.req('POST', repo, '/blobs/uploads/');
    expect((await c.put(repo, start, '', data.bytes, {}, 'PATCH')).status).toBe(202);
    const wrong = sha256(Buffer.from('not these bytes'));
    const r = await c.put(repo, start, `digest=${wrong}`);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['DIGEST_INVALID']);
    expect((await c.put(repo, start, '', undefined, {}, 'GET')).status).toBe(404);
    expect((await c.req('HEAD', repo, `/blobs/${data.digest}`)).status).toBe(404);
    expect((await c.req('HEAD', repo, `/blobs/${wrong}`)).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it('single POST with a wrong digest: 400 DIGEST_INVALID and no session left', async () => {
    const before = await snapshot();
    const r = await c.req('POST', repo, `/blobs/uploads/?digest=${sha256(Buffer.from('x'))}`, {
      body: Buffer.from('y'),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['DIGEST_INVALID']);
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['md5:0123456789abcdef0123456789abcdef', 'an unsupported algorithm'],
    ['sha256:XYZ', 'a malformed digest'],
    ['', 'no digest'],
  ])('closing PUT with %s (%s): 400 DIGEST_INVALID, the session stays for a retry', async (digest) => {
    const data = randomBlob(100);
    const start = await c.req('POST', repo, '/blobs/uploads/');
    await c.put(repo, start, '', data.bytes, {}, 'PATCH');
    const r = await c.put(repo, start, digest ? `digest=${digest}` : '');
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['DIGEST_INVALID']);
    const status = await c.put(repo, start, '', undefined, {}, 'GET');
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99');
    expect((await c.put(repo, start, `digest=${data.digest}`)).status).toBe(201);
  });

  it('chunk shorter than its Content-Range: 400 SIZE_INVALID and the offset unchanged', async () => {
    const start = await c.req('POST', repo, '/blobs/uploads/');
    const r = await c.put(repo, start, '', Buffer.alloc(50, 1), { 'Content-Range': '0-99' }, 'PATCH');
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['SIZE_INVALID']);
    const status = await c.put(repo, start, '', undefined, {}, 'GET');
    expect(status.headers.get('range')).toBe('0-0');
    // the same session takes a correct chunk afterwards
    const ok = await c.put(repo, start, '', Buffer.alloc(50, 1), { 'Content-Range': '0-49' }, 'PATCH');
    expect(ok.status).toBe(202);
    expect(ok.headers.get('range')).toBe('0-49');
  });

  it('out-of-order chunk: 416, the received bytes are kept', async () => {
    const data = randomBlob(200);
    const start = await c.req('POST', repo, '/blobs/uploads/');
    await c.put(repo, start, '', data.bytes.subarray(0, 100), { 'Content-Range': '0-99' }, 'PATCH');
    const gap = await c.put(
      repo,
      start,
      '',
      data.bytes.subarray(150),
      { 'Content-Range': '150-199' },
      'PATCH',
    );
    expect(gap.status).toBe(416);
    expect(codes(gap)).toEqual(['BLOB_UPLOAD_INVALID']);
    expect((await c.put(repo, start, '', undefined, {}, 'GET')).headers.get('range')).toBe('0-99');
    const rest = await c.put(repo, start, `digest=${data.digest}`, data.bytes.subarray(100), {
      'Content-Range': '100-199',
    });
    expect(rest.status).toBe(201);
  });

  it('unknown upload session: 404 BLOB_UPLOAD_UNKNOWN on GET, PATCH, PUT and DELETE', async () => {
    const path = '/blobs/uploads/00000000-0000-4000-8000-000000000000';
    for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
      const r = await c.req(
        method,
        repo,
        `${path}${method === 'PUT' ? `?digest=${sha256(Buffer.from(''))}` : ''}`,
        {
          ...(method === 'PATCH' ? { body: Buffer.from('x') } : {}),
        },
      );
      expect([method, r.status]).toEqual([method, 404]);
      expect(codes(r)).toEqual(['BLOB_UPLOAD_UNKNOWN']);
    }
  });

  it("another repository's session id is unknown here", async () => {
    const start = await c.req('POST', repo, '/blobs/uploads/');
    const id = (start.headers.get('location') as string).split('/').pop();
    const r = await c.req('GET', `${t.project.name}/elsewhere`, `/blobs/uploads/${id}`);
    expect(r.status).toBe(404);
  });
});

describe('manifests', () => {
  let config: ReturnType<typeof configBlob>;
  beforeAll(async () => {
    config = configBlob();
    expect((await c.pushBlob(repo, config)).status).toBe(201);
  });

  const refused = async (
    body: Buffer | string,
    contentType: string,
    code: string,
    status = 400,
    tag = 'refused',
  ) => {
    const before = await snapshot();
    const r = await c.req('PUT', repo, `/manifests/${tag}`, {
      body,
      headers: { 'Content-Type': contentType },
    });
    expect(r.status).toBe(status);
    if (status !== 413) expect(codes(r)).toEqual([code]);
    expect((await c.req('GET', repo, `/manifests/${tag}`)).status).toBe(404);
    expect(await snapshot()).toEqual(before);
    return r;
  };

  it('referencing a missing blob: MANIFEST_BLOB_UNKNOWN, nothing stored', async () => {
    await refused(imageManifest(config, [randomBlob(10)]).bytes, MT.manifest, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('not JSON: MANIFEST_INVALID', async () => {
    const r = await refused('{"schemaVersion": 2, "config": ', MT.manifest, 'MANIFEST_INVALID');
    expect(r.json().errors[0].message).toContain('not valid JSON');
  });

  it.each([
    ['schemaVersion 1', { schemaVersion: 1, mediaType: MT.manifest, layers: [] }],
    ['layers not an array', { schemaVersion: 2, mediaType: MT.manifest, layers: 'x' }],
    [
      'a descriptor without size',
      {
        schemaVersion: 2,
        mediaType: MT.manifest,
        config: { mediaType: MT.config, digest: 'sha256:00' },
        layers: [],
      },
    ],
    ['an array', [1, 2, 3]],
  ])('not a valid manifest (%s): MANIFEST_INVALID', async (_what, doc) => {
    await refused(JSON.stringify(doc), MT.manifest, 'MANIFEST_INVALID');
  });

  it('mediaType field and Content-Type header that differ: MANIFEST_INVALID', async () => {
    await refused(imageManifest(config, []).bytes, MT.dockerManifest, 'MANIFEST_INVALID');
  });

  it('an unsupported manifest type (Docker schema 1): MANIFEST_INVALID', async () => {
    const schema1 = JSON.stringify({ schemaVersion: 1, name: repo, tag: 'x', fsLayers: [], history: [] });
    await refused(schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'MANIFEST_INVALID');
  });

  it('a descriptor size that differs from the stored blob: MANIFEST_INVALID', async () => {
    const m = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.manifest,
        config: desc(config, MT.config, { size: config.size + 1 }),
        layers: [],
      }),
    );
    await refused(m.bytes, MT.manifest, 'MANIFEST_INVALID');
  });

  it('larger than 4 MiB: 413, refused from Content-Length before reading it', async () => {
    const big = imageManifest(config, [], { annotations: { pad: 'x'.repeat(5 * 1024 * 1024) } });
    await refused(big.bytes, MT.manifest, 'MANIFEST_INVALID', 413);
  });

  it('an invalid tag: 400 MANIFEST_INVALID', async () => {
    await refused(imageManifest(config, []).bytes, MT.manifest, 'MANIFEST_INVALID', 400, '-bad.tag');
  });
});

describe('names', () => {
  it.each([
    ['Upper/Case', 'uppercase'],
    ['single', 'no project component'],
    ['a//b', 'an empty component'],
    [`p/${'x'.repeat(300)}`, 'too long'],
    ['p/a..b', 'a double dot'],
  ])('%s (%s): 400 NAME_INVALID', async (name) => {
    const r = await c.raw('GET', `/v2/${name}/tags/list`, { token: await c.token([]) });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['NAME_INVALID']);
  });

  it('a path that is no endpoint: 404 with an OCI body', async () => {
    const r = await c.raw('GET', `/v2/${repo}/nothing/here`, { token: await c.token([]) });
    expect(r.status).toBe(404);
    expect(r.json().errors).toHaveLength(1);
  });
});

describe('tokens', () => {
  it('a garbage or forged token: 401 with error="invalid_token"', async () => {
    for (const token of ['garbage', `${(await c.token([`repository:${repo}:pull`])).slice(0, -4)}AAAA`]) {
      const r = await c.raw('GET', `/v2/${repo}/tags/list`, { token });
      expect(r.status).toBe(401);
      expect(codes(r)).toEqual(['UNAUTHORIZED']);
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('an expired token: 401 with error="invalid_token"', async () => {
    const short = await startBridge('short-token', { token: { expiration: '1' } });
    try {
      const sc = new OciClient(short.url, t.login);
      const token = await sc.token([`repository:${repo}:pull`]);
      expect((await sc.raw('GET', `/v2/${repo}/tags/list`, { token })).status).toBe(404); // valid: no such repository there
      await new Promise((r) => setTimeout(r, 2100));
      const r = await sc.raw('GET', `/v2/${repo}/tags/list`, { token });
      expect(r.status).toBe(401);
      expect(r.json().errors[0].message).toBe('token expired');
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
    } finally {
      await short.stop();
    }
  });

  it('a token of another bridge (other signing key): 401', async () => {
    const other = await startBridge('other-key');
    try {
      const token = await new OciClient(other.url, t.login).token([`repository:${repo}:pull`]);
      expect((await c.raw('GET', `/v2/${repo}/tags/list`, { token })).status).toBe(401);
    } finally {
      await other.stop();
    }
  });

  it('a token for another repository: 401 asking for the right scope', async () => {
    const token = await c.token([`repository:${t.project.name}/other:pull`]);
    const r = await c.raw('GET', `/v2/${repo}/tags/list`, { token });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain(
      `scope="repository:${repo}:pull",error="insufficient_scope"`,
    );
  });

  it('wrong password, or not Basic: 401 UNAUTHORIZED from the token endpoint', async () => {
    const bad = new OciClient(b.url, { username: t.user.name, password: 'wrong' });
    await expect(bad.token([`repository:${repo}:pull`])).rejects.toThrow(/answered 401.*UNAUTHORIZED/);
    const r = await c.raw('GET', '/token?service=berth-glance-bridge', {
      headers: { Authorization: 'Digest x' },
    });
    expect(r.status).toBe(401);
    expect(codes(r)).toEqual(['UNAUTHORIZED']);
  });
});

describe('admin API input', () => {
  it('refuses a body that is not JSON, one that violates the schema, non-admins and anonymous callers', async () => {
    const adminToken = await ks.session.getToken();
    const url = `/berth/v1/repositories/${repo}`;
    const notJson = await c.raw('PATCH', url, {
      body: '{"public": tru',
      headers: { 'Content-Type': 'application/json', 'X-Auth-Token': adminToken },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.json().errors).toHaveLength(1);
    const badType = await c.raw('PATCH', url, {
      body: JSON.stringify({ public: 'yes' }),
      headers: { 'Content-Type': 'application/json', 'X-Auth-Token': adminToken },
    });
    expect(badType.status).toBe(400);
    const extra = await c.raw('PATCH', url, {
      body: JSON.stringify({ public: true, owner: 'me' }),
      headers: { 'Content-Type': 'application/json', 'X-Auth-Token': adminToken },
    });
    expect(extra.status).toBe(400);
    const anonymous = await c.raw('PATCH', url, {
      body: '{"public":true}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(anonymous.status).toBe(401);
    const member = new KeystoneSession({
      authUrl: ks.session.authUrl,
      auth: new PasswordAuth({
        userId: t.user.id,
        password: t.user.password,
        scope: { projectId: t.project.id },
      }),
    });
    const denied = await c.raw('PATCH', url, {
      body: '{"public":true}',
      headers: { 'Content-Type': 'application/json', 'X-Auth-Token': await member.getToken() },
    });
    expect(denied.status).toBe(403);
    expect(codes(denied)).toEqual(['DENIED']);
  });
});

describe('Glance down in the middle of a push', () => {
  const glance = new PrivateGlance();
  let gb: PrivateBridge;
  let gc: OciClient;
  let grepo: string;

  beforeAll(async () => {
    await glance.start();
    gb = await startBridge('glance-down', { glance: { endpoint_override: glance.url } });
    gc = new OciClient(gb.url, t.login);
    grepo = `${t.project.name}/resilient`;
  }, 120_000);

  afterAll(async () => {
    await gb?.stop();
    await glance.remove();
    if (gb) await purgeNamespace(gb.namespace);
  });

  it('keeps verified blobs and their sessions, answers 503 for the manifest, completes once Glance is back', async () => {
    const small = randomBlob(50_000);
    const big = randomBlob(8 * 1024 * 1024);
    const config = configBlob();
    expect((await gc.pushBlob(grepo, config)).status).toBe(201);
    const sessions = [];
    for (const data of [small, big]) {
      const start = await gc.req('POST', grepo, '/blobs/uploads/');
      expect((await gc.put(grepo, start, '', data.bytes, {}, 'PATCH')).status).toBe(202);
      sessions.push({ data, start });
    }
    await glance.stop();
    for (const { data, start } of sessions) {
      // the bytes are verified and staged: the blob exists for the client already
      const r = await gc.put(grepo, start, `digest=${data.digest}`);
      expect(r.status).toBe(201);
      const head = await gc.req('HEAD', grepo, `/blobs/${data.digest}`);
      expect([head.status, head.headers.get('content-length')]).toEqual([200, String(data.size)]);
    }
    expect(sha256((await gc.req('GET', grepo, `/blobs/${small.digest}`)).body)).toBe(small.digest);
    // the manifest needs its blobs in Glance: 503, and nothing is tagged
    const m = imageManifest(config, [small, big]);
    const down = await gc.pushManifest(grepo, 'after', m);
    expect(down.status).toBe(503);
    expect(codes(down)).toEqual(['UNAVAILABLE']);
    expect(down.headers.get('retry-after')).toBe('10');
    expect((await gc.req('GET', grepo, '/manifests/after')).status).toBe(404);

    await glance.start();
    // the retried manifest push stores the waiting blobs, then itself
    expect((await gc.pushManifest(grepo, 'after', m)).status).toBe(201);
    for (const data of [small, big]) {
      expect(sha256((await gc.req('GET', grepo, `/blobs/${data.digest}`)).body)).toBe(data.digest);
    }
    const inGlance = (await storeImages(gb.namespace)).map((i) => i.berth_store_digest);
    expect(inGlance).toEqual(expect.arrayContaining([small.digest, big.digest, config.digest, m.digest]));
  });

  it('leaves no stray Glance image once the GC has run', async () => {
    await gb.bridge.registry.uploads.idle();
    const report = await collectGarbage(
      {
        db: gb.bridge.db,
        store: gb.bridge.store,
        uploads: gb.bridge.registry.uploads,
        log: gb.bridge.app.log as never,
      },
      { gracePeriod: 0, deleteUntagged: false, dryRun: false },
    );
    expect(report.errors).toEqual([]);
    const images = await storeImages(gb.namespace);
    // exactly the two blobs, the config and the manifest, all active and known
    expect(images.map((i) => i.status)).toEqual(['active', 'active', 'active', 'active']);
    const known = await gb.bridge.db.storeRefs();
    expect(images.every((i) => known.has(i.id))).toBe(true);
  });
});
