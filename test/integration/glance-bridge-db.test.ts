// The registry's SQL layer on both of its backends, embedded SQLite and the
// all-in-one's PostgreSQL (`berth-aio up postgres`): a private bridge with
// the filesystem store runs a whole push / pull / referrers / delete / GC
// cycle through HTTP on each, and the statements that must be atomic (blob
// de-duplication, the GC's re-checked delete) are checked directly.

import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { collectGarbage } from '../../glance-bridge/src';
import { testEnv } from '../support/env';
import { KeystoneFixture } from '../support/keystone-fixture';
import {
  blob,
  configBlob,
  desc,
  imageManifest,
  MT,
  OciClient,
  type PrivateBridge,
  randomBlob,
  startBridge,
  tenant,
  type Tenant,
} from '../support/glance-bridge';

jest.setTimeout(120_000);

const ks = new KeystoneFixture();
let t: Tenant;
beforeAll(async () => {
  t = await tenant(ks, 'gb-db');
});
afterAll(() => ks.cleanup());

async function resetPostgres(url: string) {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  const { rows } = await pg.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'oci\\_%'",
  );
  if (rows.length) await pg.query(`DROP TABLE ${rows.map((r) => `"${r.tablename}"`).join(', ')} CASCADE`);
  await pg.end();
}

describe.each([
  ['sqlite', () => `sqlite:///${join(tmpdir(), `berth-gb-${randomBytes(4).toString('hex')}.db`)}`],
  ['postgres', () => testEnv.postgresUrl],
])('registry metadata on %s', (dialect, makeUrl) => {
  let b: PrivateBridge;
  let c: OciClient;
  let repo: string;
  let url: string;

  beforeAll(async () => {
    url = makeUrl();
    if (dialect === 'postgres') await resetPostgres(url);
    b = await startBridge(`db-${dialect}`, {
      database: { connection: url },
      storage: { driver: 'filesystem' },
    });
    c = new OciClient(b.url, t.login);
    repo = `${t.project.name}/db-${dialect}`;
  });
  afterAll(async () => {
    await b?.stop();
    if (url.startsWith('sqlite'))
      for (const f of ['', '-wal', '-shm']) rmSync(`${url.slice(10)}${f}`, { force: true });
  });

  it('runs a push, pull, tag move, referrers and delete cycle', async () => {
    const layer = randomBlob(10_000);
    const { manifest, config } = await c.pushImage(repo, 'v1', [layer]);
    expect((await c.req('GET', repo, '/manifests/v1')).body.equals(manifest.bytes)).toBe(true);
    expect((await c.req('GET', repo, `/blobs/${layer.digest}`)).body.equals(layer.bytes)).toBe(true);
    // the tag moves atomically to another manifest
    const second = imageManifest(config, []);
    expect((await c.pushManifest(repo, 'v1', second)).status).toBe(201);
    expect((await c.req('GET', repo, '/manifests/v1')).headers.get('docker-content-digest')).toBe(
      second.digest,
    );
    // referrers
    const ref = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.manifest,
        artifactType: 'application/vnd.example.x',
        config: desc(config, MT.config),
        layers: [],
        subject: desc(manifest, MT.manifest),
        annotations: { a: 'b' },
      }),
    );
    expect((await c.pushManifest(repo, ref.digest, ref)).status).toBe(201);
    const list = (await c.req('GET', repo, `/referrers/${manifest.digest}`)).json();
    expect(list.manifests).toEqual([
      {
        mediaType: MT.manifest,
        digest: ref.digest,
        size: ref.size,
        artifactType: 'application/vnd.example.x',
        annotations: { a: 'b' },
      },
    ]);
    expect((await c.req('GET', repo, '/tags/list')).json().tags).toEqual(['v1']);
    expect((await c.req('DELETE', repo, `/manifests/${second.digest}`)).status).toBe(202);
    expect((await c.req('GET', repo, '/tags/list')).json().tags).toEqual([]);
  });

  it('keeps manifest bytes exact, whatever they contain', async () => {
    const config = configBlob({ note: 'ünïcødé ✓ \u0000 end' });
    expect((await c.pushBlob(repo, config)).status).toBe(201);
    const m = imageManifest(config, [], { annotations: { text: 'ünïcødé ✓', padding: ' '.repeat(3) } });
    expect((await c.pushManifest(repo, 'utf8', m)).status).toBe(201);
    expect((await c.req('GET', repo, '/manifests/utf8')).body.equals(m.bytes)).toBe(true);
  });

  it('records a digest once: a second insert is a lost race, not an error', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    const row = {
      digest: `sha256:${'ab'.repeat(32)}`,
      size: 3,
      kind: 'blob' as const,
      mediaType: null,
      storeRef: first,
      content: null,
    };
    expect(await b.bridge.db.insertBlob(row)).toBe(true);
    expect(await b.bridge.db.insertBlob({ ...row, storeRef: second })).toBe(false);
    expect((await b.bridge.db.getBlob(row.digest))?.storeRef).toBe(first);
  });

  it("the GC's delete re-checks references in the same statement", async () => {
    const data = randomBlob(500);
    expect((await c.pushBlob(repo, data)).status).toBe(201);
    const future = new Date(Date.now() + 60_000).toISOString();
    // linked: never deleted, however old
    expect(await b.bridge.db.deleteBlobIfUnreferenced(data.digest, future)).toBe(false);
    expect((await c.req('DELETE', repo, `/blobs/${data.digest}`)).status).toBe(202);
    const report = await collectGarbage(
      {
        db: b.bridge.db,
        store: b.bridge.store,
        uploads: b.bridge.registry.uploads,
        log: b.bridge.app.log as never,
      },
      { gracePeriod: 0, deleteUntagged: false, dryRun: false, now: Date.now() + 1000 },
    );
    expect(report.errors).toEqual([]);
    expect(report.blobsDeleted).toBeGreaterThanOrEqual(1);
    expect(await b.bridge.db.getBlob(data.digest)).toBeUndefined();
  });
});
