import sinon from 'sinon';

import { harness, ociManifest, pushBlob, random, sha256, silent } from '../testing/harness';
import { collectGarbage } from './gc';
import { MediaTypes } from './manifest';

const later = (s: number) => Date.now() + s * 1000;
const objects = async (h: Awaited<ReturnType<typeof harness>>) => {
  const out = [];
  for await (const o of h.store.list()) out.push(o);
  return out;
};

describe('collectGarbage', () => {
  it('keeps what is referenced, deletes unlinked blobs after the grace period, dry runs change nothing', async () => {
    const h = await harness();
    const repo = await h.repo();
    const config = random(50);
    const kept = random(60);
    const dropped = random(70);
    for (const b of [config, kept, dropped]) await pushBlob(h, repo, b);
    await h.registry.putManifest(
      { projectId: 'p1', name: 'app', path: 'p1/app' },
      'v1',
      ociManifest(config, [kept]),
      MediaTypes.ociManifest,
    );
    await h.db.unlinkBlob(repo.id, sha256(dropped));
    await h.db.unlinkBlob(repo.id, sha256(kept)); // still referenced by the manifest
    const deps = { db: h.db, store: h.store, uploads: h.uploads, log: silent };

    const young = await collectGarbage(deps, { gracePeriod: 3600, deleteUntagged: false, dryRun: false });
    expect(young.blobsDeleted).toBe(0);
    const dry = await collectGarbage(deps, {
      gracePeriod: 3600,
      deleteUntagged: false,
      dryRun: true,
      now: later(7200),
    });
    expect(dry).toMatchObject({ dryRun: true, blobsDeleted: 1, bytesFreed: 70 });
    expect(await objects(h)).toHaveLength(4);
    const real = await collectGarbage(deps, {
      gracePeriod: 3600,
      deleteUntagged: false,
      dryRun: false,
      now: later(7200),
    });
    expect(real).toMatchObject({ blobsDeleted: 1, bytesFreed: 70, errors: [] });
    expect((await objects(h)).map((o) => o.digest).sort()).toEqual(
      [sha256(config), sha256(kept), sha256(ociManifest(config, [kept]))].sort(),
    );
    await h.close();
  });

  it('deletes orphaned store objects and, on request, untagged manifests', async () => {
    const h = await harness();
    const repo = await h.repo();
    const config = random(40);
    await pushBlob(h, repo, config);
    const ref = { projectId: 'p1', name: 'app', path: 'p1/app' };
    const m = ociManifest(config, []);
    await h.registry.putManifest(ref, sha256(m), m, undefined);
    const orphan = await h.store.put(Buffer.from('lost'), { kind: 'blob' });
    const deps = { db: h.db, store: h.store, uploads: h.uploads, log: silent };
    const r = await collectGarbage(deps, {
      gracePeriod: 60,
      deleteUntagged: true,
      dryRun: false,
      now: later(120),
    });
    expect(r.orphansDeleted).toBe(1);
    expect(r.manifestsDeleted).toBe(1);
    expect((await objects(h)).map((o) => o.ref)).not.toContain(orphan.ref);
    await h.close();
  });

  it('reports a store that fails to delete, and exits the blob row first so a retry finds an orphan', async () => {
    const h = await harness();
    const repo = await h.repo();
    const b = random(10);
    await pushBlob(h, repo, b);
    await h.db.unlinkBlob(repo.id, sha256(b));
    sinon.stub(h.store, 'delete').rejects(new Error('glance says no'));
    const r = await collectGarbage(
      { db: h.db, store: h.store, uploads: h.uploads, log: silent },
      { gracePeriod: 0, deleteUntagged: false, dryRun: false, now: later(1) },
    );
    // once as the blob, once more as the orphan it became
    expect(r.errors.length).toBeGreaterThanOrEqual(1);
    expect(r.errors[0]).toContain('it will be collected as an orphan');
    expect(await h.db.getBlob(sha256(b))).toBeUndefined();
    await h.close();
  });
});
