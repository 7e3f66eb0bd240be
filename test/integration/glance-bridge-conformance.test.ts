// The OCI distribution spec v1.1 (opencontainers/distribution-spec, tag
// v1.1.1), endpoint by endpoint, against a private glance-bridge storing in
// the all-in-one's real Glance, with the Docker token flow against real
// Keystone. Each test names the spec rule it checks; the upstream Go suite
// cannot be built here (no Go module proxy), so this is written from the
// spec's MUSTs and the SHOULDs clients rely on.

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

jest.setTimeout(120_000);

const ks = new KeystoneFixture();
let b: PrivateBridge;
let t: Tenant;
let c: OciClient;
let repo: string;
let cross: string;

beforeAll(async () => {
  t = await tenant(ks, 'gb-conf');
  // no local blob cache: every blob read here streams from Glance
  b = await startBridge('conformance', { cache: { max_size_mb: '0' } });
  c = new OciClient(b.url, t.login);
  repo = `${t.project.name}/conformance/app`;
  cross = `${t.project.name}/crossmount`;
});

afterAll(async () => {
  await b?.stop();
  if (b) await purgeNamespace(b.namespace);
  await ks.cleanup();
});

const octet = { 'Content-Type': 'application/octet-stream' };

describe('end-1: GET /v2/', () => {
  it('answers 401 with the Bearer challenge and an OCI error body without a token', async () => {
    const r = await c.raw('GET', '/v2/');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(
      `Bearer realm="${b.url}/token",service="berth-glance-bridge"`,
    );
    expect(r.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(codes(r)).toEqual(['UNAUTHORIZED']);
  });

  it('answers 200 with a token', async () => {
    const r = await c.raw('GET', '/v2/', { token: await c.token([]) });
    expect(r.status).toBe(200);
    expect(r.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });
});

describe('push: blobs', () => {
  it('POST then PUT: 202 with a session Location, then 201 with a pullable Location and the digest', async () => {
    const data = randomBlob(3000);
    const start = await c.req('POST', repo, '/blobs/uploads/');
    expect(start.status).toBe(202);
    const loc = start.headers.get('location') as string;
    expect(loc).toMatch(new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]{36}$`));
    expect(start.headers.get('range')).toBe('0-0');
    const done = await c.put(repo, start, `digest=${data.digest}`, data.bytes);
    expect(done.status).toBe(201);
    expect(done.headers.get('location')).toBe(`/v2/${repo}/blobs/${data.digest}`);
    expect(done.headers.get('docker-content-digest')).toBe(data.digest);
    const got = await c.raw('GET', done.headers.get('location') as string, {
      token: await c.token([`repository:${repo}:pull`]),
    });
    expect(got.status).toBe(200);
    expect(got.body.equals(data.bytes)).toBe(true);
  });

  it('single POST with ?digest=: 201 and a pullable Location', async () => {
    const data = randomBlob(2048);
    const r = await c.req('POST', repo, `/blobs/uploads/?digest=${data.digest}`, {
      body: data.bytes,
      headers: octet,
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/v2/${repo}/blobs/${data.digest}`);
    expect((await c.req('GET', repo, `/blobs/${data.digest}`)).body.equals(data.bytes)).toBe(true);
  });

  it('streamed PATCH without Content-Range (as skopeo sends it), then an empty PUT', async () => {
    const data = randomBlob(100_000);
    const start = await c.req('POST', repo, '/blobs/uploads/');
    const patch = await c.put(repo, start, '', data.bytes, {}, 'PATCH');
    expect(patch.status).toBe(202);
    expect(patch.headers.get('range')).toBe(`0-${data.size - 1}`);
    expect(patch.headers.get('location')).toBe(start.headers.get('location'));
    const done = await c.put(repo, patch, `digest=${data.digest}`);
    expect(done.status).toBe(201);
    expect((await c.req('GET', repo, `/blobs/${data.digest}`)).body.equals(data.bytes)).toBe(true);
  });

  it('chunked: order enforced with 416, status GET 204 with Range and Location, last chunk in the PUT', async () => {
    const data = randomBlob(30_000);
    const [a, bb, cc] = [
      data.bytes.subarray(0, 10_000),
      data.bytes.subarray(10_000, 20_000),
      data.bytes.subarray(20_000),
    ];
    const start = await c.req('POST', repo, '/blobs/uploads/', { headers: { 'Content-Length': '0' } });
    // a first chunk that does not start at 0 is out of order
    const early = await c.put(repo, start, '', bb, { 'Content-Range': '10000-19999' }, 'PATCH');
    expect(early.status).toBe(416);
    const p1 = await c.put(repo, start, '', a, { 'Content-Range': '0-9999' }, 'PATCH');
    expect(p1.status).toBe(202);
    expect(p1.headers.get('range')).toBe('0-9999');
    // the same chunk again: out of order
    const again = await c.put(repo, start, '', a, { 'Content-Range': '0-9999' }, 'PATCH');
    expect(again.status).toBe(416);
    expect(codes(again)).toEqual(['BLOB_UPLOAD_INVALID']);
    const status = await c.put(repo, start, '', undefined, {}, 'GET');
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-9999');
    expect(status.headers.get('location')).toBe(start.headers.get('location'));
    const p2 = await c.put(repo, status, '', bb, { 'Content-Range': '10000-19999' }, 'PATCH');
    expect(p2.status).toBe(202);
    expect(p2.headers.get('range')).toBe('0-19999');
    const done = await c.put(repo, p2, `digest=${data.digest}`, cc, { 'Content-Range': '20000-29999' });
    expect(done.status).toBe(201);
    expect((await c.req('GET', repo, `/blobs/${data.digest}`)).body.equals(data.bytes)).toBe(true);
  });

  it('cancels a session: 204, then the session is unknown', async () => {
    const start = await c.req('POST', repo, '/blobs/uploads/');
    expect((await c.put(repo, start, '', Buffer.from('partial'), {}, 'PATCH')).status).toBe(202);
    expect((await c.put(repo, start, '', undefined, {}, 'DELETE')).status).toBe(204);
    const gone = await c.put(repo, start, '', undefined, {}, 'GET');
    expect(gone.status).toBe(404);
    expect(codes(gone)).toEqual(['BLOB_UPLOAD_UNKNOWN']);
  });
});

describe('pull: blobs', () => {
  const data = randomBlob(5000);
  beforeAll(async () => expect((await c.pushBlob(repo, data)).status).toBe(201));

  it('HEAD: 200 with Content-Length and Docker-Content-Digest, no body; 404 for an unknown blob', async () => {
    const r = await c.req('HEAD', repo, `/blobs/${data.digest}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(data.size));
    expect(r.headers.get('docker-content-digest')).toBe(data.digest);
    expect(r.body.length).toBe(0);
    const missing = await c.req('HEAD', repo, `/blobs/${sha256(Buffer.from('nope'))}`);
    expect(missing.status).toBe(404);
    expect(missing.body.length).toBe(0);
  });

  it('GET: 200 with the bytes; 404 BLOB_UNKNOWN for an unknown blob', async () => {
    const r = await c.req('GET', repo, `/blobs/${data.digest}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('docker-content-digest')).toBe(data.digest);
    expect(sha256(r.body)).toBe(data.digest);
    const missing = await c.req('GET', repo, `/blobs/${sha256(Buffer.from('nope'))}`);
    expect(missing.status).toBe(404);
    expect(codes(missing)).toEqual(['BLOB_UNKNOWN']);
  });

  it.each([
    ['bytes=10-19', 10, 19],
    ['bytes=4990-', 4990, 4999],
    ['bytes=-7', 4993, 4999],
    ['bytes=4000-999999', 4000, 4999],
  ])(
    'GET with Range %s: 206 with Content-Range and exactly those bytes (from Glance)',
    async (range, from, to) => {
      const r = await c.req('GET', repo, `/blobs/${data.digest}`, { headers: { Range: range } });
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${from}-${to}/${data.size}`);
      expect(r.body.equals(data.bytes.subarray(from, to + 1))).toBe(true);
    },
  );

  it('GET with an unsatisfiable Range: 416 with Content-Range bytes */size', async () => {
    const r = await c.req('GET', repo, `/blobs/${data.digest}`, { headers: { Range: 'bytes=6000-7000' } });
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe(`bytes */${data.size}`);
  });
});

describe('cross-repository mount', () => {
  const data = randomBlob(4096);
  beforeAll(async () => expect((await c.pushBlob(repo, data)).status).toBe(201));

  it('mounts from another repository of the project: 201 with the blob Location', async () => {
    const r = await c.req('POST', cross, `/blobs/uploads/?mount=${data.digest}&from=${repo}`, {
      scopes: [`repository:${repo}:pull`],
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/v2/${cross}/blobs/${data.digest}`);
    expect(r.headers.get('docker-content-digest')).toBe(data.digest);
    expect((await c.req('GET', cross, `/blobs/${data.digest}`)).body.equals(data.bytes)).toBe(true);
  });

  it('answers 202 (a plain session) when the blob cannot be mounted', async () => {
    const r = await c.req(
      'POST',
      cross,
      `/blobs/uploads/?mount=${sha256(Buffer.from('absent'))}&from=${repo}`,
      {
        scopes: [`repository:${repo}:pull`],
      },
    );
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toMatch(new RegExp(`^/v2/${cross}/blobs/uploads/`));
  });

  it('mounts without `from` from a repository of the same project (automatic mount)', async () => {
    const other = `${t.project.name}/automount`;
    const r = await c.req('POST', other, `/blobs/uploads/?mount=${data.digest}`);
    expect(r.status).toBe(201);
    expect((await c.req('HEAD', other, `/blobs/${data.digest}`)).status).toBe(200);
  });

  it('stores each blob once in Glance however many repositories link it', async () => {
    const images = (await storeImages(b.namespace)).filter((i) => i.berth_store_digest === data.digest);
    expect(images).toHaveLength(1);
  });
});

describe('manifests', () => {
  let config: ReturnType<typeof configBlob>;
  let layer: ReturnType<typeof randomBlob>;
  let manifest: ReturnType<typeof imageManifest>;

  beforeAll(async () => {
    config = configBlob();
    layer = randomBlob(2000);
    for (const x of [config, layer]) expect((await c.pushBlob(repo, x)).status).toBe(201);
    manifest = imageManifest(config, [layer]);
  });

  it('PUT by tag: 201, Location, Docker-Content-Digest equal to the digest of the bytes', async () => {
    const r = await c.pushManifest(repo, 'v1', manifest);
    expect(r.status).toBe(201);
    expect(r.headers.get('docker-content-digest')).toBe(manifest.digest);
    expect(r.headers.get('location')).toBe(`/v2/${repo}/manifests/${manifest.digest}`);
  });

  it('GET by tag and by digest: the exact bytes with the pushed Content-Type', async () => {
    for (const ref of ['v1', manifest.digest]) {
      const r = await c.req('GET', repo, `/manifests/${ref}`, { headers: { Accept: MT.manifest } });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe(MT.manifest);
      expect(r.headers.get('docker-content-digest')).toBe(manifest.digest);
      expect(r.body.equals(manifest.bytes)).toBe(true);
    }
  });

  it('HEAD: 200 with Content-Length and digest, no body; 404 for unknown', async () => {
    const r = await c.req('HEAD', repo, '/manifests/v1');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(manifest.size));
    expect(r.headers.get('docker-content-digest')).toBe(manifest.digest);
    expect(r.body.length).toBe(0);
    expect((await c.req('HEAD', repo, '/manifests/nosuchtag')).status).toBe(404);
    const get = await c.req('GET', repo, '/manifests/nosuchtag');
    expect(get.status).toBe(404);
    expect(codes(get)).toEqual(['MANIFEST_UNKNOWN']);
  });

  it('accepts a manifest without layers, and a PUT by digest', async () => {
    const empty = imageManifest(config, []);
    expect((await c.pushManifest(repo, 'empty', empty)).status).toBe(201);
    const byDigest = imageManifest(config, [layer], { annotations: { by: 'digest' } });
    const r = await c.pushManifest(repo, byDigest.digest, byDigest);
    expect(r.status).toBe(201);
    expect((await c.req('GET', repo, `/manifests/${byDigest.digest}`)).body.equals(byDigest.bytes)).toBe(
      true,
    );
  });

  it('refuses a PUT by digest whose bytes have another digest (DIGEST_INVALID)', async () => {
    const m = imageManifest(config, [layer], { annotations: { x: 'y' } });
    const r = await c.pushManifest(repo, sha256(Buffer.from('something else')), m);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['DIGEST_INVALID']);
  });

  it('refuses references to blobs the repository lacks: one MANIFEST_BLOB_UNKNOWN per blob', async () => {
    const ghostA = randomBlob(10);
    const ghostB = randomBlob(11);
    const m = imageManifest(config, [ghostA, ghostB]);
    const r = await c.pushManifest(repo, 'ghost', m);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN']);
    const details = r.json().errors.map((e: { detail: { digest: string } }) => e.detail.digest);
    expect(details.sort()).toEqual([ghostA.digest, ghostB.digest].sort());
    expect((await c.req('GET', repo, '/manifests/ghost')).status).toBe(404);
  });

  it('stores OCI indexes whose manifests exist; refuses unknown children (MANIFEST_BLOB_UNKNOWN)', async () => {
    const index = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.index,
        manifests: [desc(manifest, MT.manifest, { platform: { os: 'linux', architecture: 'amd64' } })],
      }),
    );
    const r = await c.pushManifest(repo, 'multi', index, MT.index);
    expect(r.status).toBe(201);
    const got = await c.req('GET', repo, '/manifests/multi', {
      headers: { Accept: `${MT.index}, ${MT.manifest}` },
    });
    expect(got.headers.get('content-type')).toBe(MT.index);
    expect(got.body.equals(index.bytes)).toBe(true);
    // a client that takes no index gets the linux/amd64 image (content negotiation)
    const single = await c.req('GET', repo, '/manifests/multi', { headers: { Accept: MT.manifest } });
    expect(single.status).toBe(200);
    expect(single.headers.get('docker-content-digest')).toBe(manifest.digest);
    const unknownChild = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.index,
        manifests: [desc(randomBlob(5), MT.manifest)],
      }),
    );
    const bad = await c.pushManifest(repo, 'badindex', unknownChild, MT.index);
    expect(bad.status).toBe(400);
    expect(codes(bad)).toEqual(['MANIFEST_BLOB_UNKNOWN']);
  });

  it('stores Docker schema 2 manifests and manifest lists with their media types', async () => {
    const dconfig = configBlob();
    const dlayer = randomBlob(700);
    for (const x of [dconfig, dlayer]) expect((await c.pushBlob(repo, x)).status).toBe(201);
    const dm = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.dockerManifest,
        config: desc(dconfig, MT.dockerConfig),
        layers: [desc(dlayer, MT.dockerLayer)],
      }),
    );
    expect((await c.pushManifest(repo, 'docker', dm, MT.dockerManifest)).status).toBe(201);
    const list = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.dockerList,
        manifests: [desc(dm, MT.dockerManifest, { platform: { architecture: 'amd64', os: 'linux' } })],
      }),
    );
    expect((await c.pushManifest(repo, 'dockerlist', list, MT.dockerList)).status).toBe(201);
    const gm = await c.req('GET', repo, '/manifests/docker', { headers: { Accept: MT.dockerManifest } });
    expect(gm.headers.get('content-type')).toBe(MT.dockerManifest);
    expect(gm.body.equals(dm.bytes)).toBe(true);
    const gl = await c.req('GET', repo, '/manifests/dockerlist', {
      headers: { Accept: `${MT.dockerList},${MT.dockerManifest}` },
    });
    expect(gl.headers.get('content-type')).toBe(MT.dockerList);
    // the Accept header excludes the stored type and no child fits: MANIFEST_UNKNOWN
    const none = await c.req('GET', repo, '/manifests/docker', { headers: { Accept: MT.index } });
    expect(none.status).toBe(404);
    expect(codes(none)).toEqual(['MANIFEST_UNKNOWN']);
  });

  it('accepts a 4 MiB manifest and answers 413 above', async () => {
    const pad = (n: number) => imageManifest(config, [layer], { annotations: { pad: 'x'.repeat(n) } });
    const base = pad(0).size;
    const atLimit = pad(4 * 1024 * 1024 - base);
    expect(atLimit.size).toBe(4 * 1024 * 1024);
    expect((await c.pushManifest(repo, 'big', atLimit)).status).toBe(201);
    const over = pad(4 * 1024 * 1024 - base + 1);
    const r = await c.pushManifest(repo, 'toobig', over);
    expect(r.status).toBe(413);
    expect((await c.req('GET', repo, '/manifests/toobig')).status).toBe(404);
  });
});

describe('content discovery: tags', () => {
  const tagRepo = () => `${t.project.name}/tags`;
  const tags = ['b1', 'A0', 'a2', 'c3', 'latest', 'v1.0', 'v1.1'];

  beforeAll(async () => {
    const config = configBlob();
    expect((await c.pushBlob(tagRepo(), config)).status).toBe(201);
    const m = imageManifest(config, []);
    for (const tag of tags) expect((await c.pushManifest(tagRepo(), tag, m)).status).toBe(201);
  });

  const sorted = [...tags].sort((x, y) => (x.toLowerCase() < y.toLowerCase() ? -1 : 1));

  it('lists every tag in lexical order', async () => {
    const r = await c.req('GET', tagRepo(), '/tags/list');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ name: tagRepo(), tags: sorted });
  });

  it('honours n exactly, with a Link to the next page', async () => {
    const r = await c.req('GET', tagRepo(), '/tags/list?n=3');
    expect(r.json().tags).toEqual(sorted.slice(0, 3));
    expect(r.headers.get('link')).toBe(`</v2/${tagRepo()}/tags/list?n=3&last=${sorted[2]}>; rel="next"`);
    const next = await c.req('GET', tagRepo(), `/tags/list?n=3&last=${sorted[2]}`);
    expect(next.json().tags).toEqual(sorted.slice(3, 6));
  });

  it('n=0 is an empty list without Link; last alone is exclusive', async () => {
    const zero = await c.req('GET', tagRepo(), '/tags/list?n=0');
    expect(zero.json().tags).toEqual([]);
    expect(zero.headers.get('link')).toBeNull();
    const after = await c.req('GET', tagRepo(), `/tags/list?last=${sorted[4]}`);
    expect(after.json().tags).toEqual(sorted.slice(5));
    expect(after.headers.get('link')).toBeNull();
  });

  it('answers 404 NAME_UNKNOWN for a repository that does not exist', async () => {
    const r = await c.req('GET', `${t.project.name}/never-pushed`, '/tags/list');
    expect(r.status).toBe(404);
    expect(codes(r)).toEqual(['NAME_UNKNOWN']);
  });
});

describe('content discovery: referrers', () => {
  const refRepo = () => `${t.project.name}/referrers`;
  let subject: ReturnType<typeof imageManifest>;
  let sbom: ReturnType<typeof imageManifest>;
  let sig: ReturnType<typeof imageManifest>;
  let idx: ReturnType<typeof blob>;
  const emptyJson = blob('{}');

  beforeAll(async () => {
    const config = configBlob();
    const payload = randomBlob(64);
    for (const x of [config, payload, emptyJson]) expect((await c.pushBlob(refRepo(), x)).status).toBe(201);
    subject = imageManifest(config, []);
    expect((await c.pushManifest(refRepo(), 'subject', subject)).status).toBe(201);
    const subj = { subject: desc(subject, MT.manifest) };
    // artifactType from the config media type
    sbom = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.manifest,
        config: desc(emptyJson, 'application/vnd.example.sbom.v1'),
        layers: [desc(payload, 'application/json')],
        ...subj,
        annotations: { 'org.example.kind': 'sbom' },
      }),
    );
    // artifactType field
    sig = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.manifest,
        artifactType: 'application/vnd.example.signature.v1',
        config: desc(emptyJson, MT.empty),
        layers: [desc(payload, 'application/octet-stream')],
        ...subj,
        annotations: { 'org.example.kind': 'signature' },
      }),
    );
    idx = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.index,
        artifactType: 'application/vnd.example.bundle.v1',
        manifests: [desc(sbom, MT.manifest)],
        ...subj,
        annotations: { 'org.example.kind': 'bundle' },
      }),
    );
  });

  it('answers OCI-Subject on pushes of manifests with a subject', async () => {
    for (const [m, type] of [
      [sbom, MT.manifest],
      [sig, MT.manifest],
      [idx, MT.index],
    ] as const) {
      const r = await c.pushManifest(refRepo(), m.digest, m, type);
      expect(r.status).toBe(201);
      expect(r.headers.get('oci-subject')).toBe(subject.digest);
    }
  });

  it('lists the referrers as an image index with artifactType and annotations', async () => {
    const r = await c.req('GET', refRepo(), `/referrers/${subject.digest}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(MT.index);
    const index = r.json();
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(MT.index);
    const byDigest = Object.fromEntries(index.manifests.map((d: { digest: string }) => [d.digest, d]));
    expect(Object.keys(byDigest).sort()).toEqual([sbom.digest, sig.digest, idx.digest].sort());
    expect(byDigest[sbom.digest]).toEqual({
      mediaType: MT.manifest,
      digest: sbom.digest,
      size: sbom.size,
      artifactType: 'application/vnd.example.sbom.v1',
      annotations: { 'org.example.kind': 'sbom' },
    });
    expect(byDigest[sig.digest].artifactType).toBe('application/vnd.example.signature.v1');
    expect(byDigest[idx.digest].artifactType).toBe('application/vnd.example.bundle.v1');
  });

  it('filters by artifactType and says so in OCI-Filters-Applied', async () => {
    const r = await c.req(
      'GET',
      refRepo(),
      `/referrers/${subject.digest}?artifactType=application/vnd.example.signature.v1`,
    );
    expect(r.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(r.json().manifests.map((d: { digest: string }) => d.digest)).toEqual([sig.digest]);
  });

  it('accepts a subject that does not exist, and lists its referrer', async () => {
    const absent = sha256(Buffer.from('a manifest never pushed'));
    const m = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.manifest,
        artifactType: 'application/vnd.example.note.v1',
        config: desc(emptyJson, MT.empty),
        layers: [],
        subject: { mediaType: MT.manifest, digest: absent, size: 123 },
      }),
    );
    const r = await c.pushManifest(refRepo(), m.digest, m);
    expect(r.status).toBe(201);
    expect(r.headers.get('oci-subject')).toBe(absent);
    const list = await c.req('GET', refRepo(), `/referrers/${absent}`);
    expect(list.json().manifests.map((d: { digest: string }) => d.digest)).toEqual([m.digest]);
  });

  it('answers an empty index (200, never 404) for a digest without referrers; 400 for a malformed digest', async () => {
    const r = await c.req('GET', refRepo(), `/referrers/${sha256(Buffer.from('lonely'))}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(MT.index);
    expect(r.json().manifests).toEqual([]);
    const bad = await c.req('GET', refRepo(), '/referrers/sha256:nothex');
    expect(bad.status).toBe(400);
    expect(codes(bad)).toEqual(['DIGEST_INVALID']);
  });
});

describe('content management: deletes', () => {
  const delRepo = () => `${t.project.name}/deletes`;
  let m: ReturnType<typeof imageManifest>;
  let layer: ReturnType<typeof randomBlob>;

  beforeAll(async () => {
    layer = randomBlob(300);
    const r = await c.pushImage(delRepo(), 'one', [layer]);
    m = r.manifest;
    expect((await c.pushManifest(delRepo(), 'two', m)).status).toBe(201);
  });

  it('DELETE of a tag: 202, the tag is gone, the manifest stays', async () => {
    expect((await c.req('DELETE', delRepo(), '/manifests/one')).status).toBe(202);
    expect((await c.req('GET', delRepo(), '/manifests/one')).status).toBe(404);
    expect((await c.req('GET', delRepo(), `/manifests/${m.digest}`)).status).toBe(200);
  });

  it('DELETE of a manifest by digest: 202, then it and every tag on it are 404', async () => {
    expect((await c.req('DELETE', delRepo(), `/manifests/${m.digest}`)).status).toBe(202);
    expect((await c.req('GET', delRepo(), `/manifests/${m.digest}`)).status).toBe(404);
    expect((await c.req('GET', delRepo(), '/manifests/two')).status).toBe(404);
    expect((await c.req('GET', delRepo(), '/tags/list')).json().tags).toEqual([]);
    expect((await c.req('DELETE', delRepo(), `/manifests/${m.digest}`)).status).toBe(404);
  });

  it('DELETE of a blob: 202, then 404; deleting it again is 404', async () => {
    expect((await c.req('DELETE', delRepo(), `/blobs/${layer.digest}`)).status).toBe(202);
    expect((await c.req('GET', delRepo(), `/blobs/${layer.digest}`)).status).toBe(404);
    const again = await c.req('DELETE', delRepo(), `/blobs/${layer.digest}`);
    expect(again.status).toBe(404);
    expect(codes(again)).toEqual(['BLOB_UNKNOWN']);
  });
});

describe('catalog and protocol details', () => {
  it('lists the repositories of the caller in order, paginated with n, last and Link', async () => {
    const all = await c.raw('GET', '/v2/_catalog', { token: await c.token(['registry:catalog:*']) });
    expect(all.status).toBe(200);
    const names: string[] = all.json().repositories;
    expect(names).toEqual(expect.arrayContaining([repo, cross, `${t.project.name}/tags`]));
    expect([...names].sort()).toEqual(names);
    const page = await c.raw('GET', '/v2/_catalog?n=2', { token: await c.token(['registry:catalog:*']) });
    expect(page.json().repositories).toEqual(names.slice(0, 2));
    expect(page.headers.get('link')).toBe(
      `</v2/_catalog?n=2&last=${encodeURIComponent(names[1] as string)}>; rel="next"`,
    );
  });

  it('asks for the catalog scope when the token lacks it', async () => {
    const r = await c.raw('GET', '/v2/_catalog', { token: await c.token([]) });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain(
      'scope="registry:catalog:*",error="insufficient_scope"',
    );
  });

  it('answers 405 UNSUPPORTED for a method an endpoint does not have', async () => {
    const r = await c.req('POST', repo, '/tags/list');
    expect(r.status).toBe(405);
    expect(codes(r)).toEqual(['UNSUPPORTED']);
  });
});
