import sinon from 'sinon';

import { chunks, harness, random, sha256, readAll } from '../testing/harness';
import type { BlobStore } from '../storage/driver';
import { FilesystemBlobStore } from '../storage/filesystem';
import { RegistryError, StoreUnavailableError } from './errors';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e instanceof RegistryError ? `${e.status} ${e.code}` : String(e);
  }
  return 'ok';
};

/** The filesystem driver, with spies and a switch to make it unavailable. */
function flakyStore(dir: string) {
  const fs = new FilesystemBlobStore(`${dir}/objects`);
  const down = { value: false };
  const store: BlobStore & { down: typeof down } = {
    name: 'flaky',
    down,
    put: sinon.spy(async (src, label, size) => {
      if (down.value) {
        if (!Buffer.isBuffer(src)) src.resume();
        throw new StoreUnavailableError('store down');
      }
      return fs.put(src, label, size);
    }),
    commit: sinon.spy((ref, label) => fs.commit(ref, label)),
    read: (ref, range) => fs.read(ref, range),
    delete: sinon.spy((ref) => fs.delete(ref)),
    list: () => fs.list(),
    check: () => fs.check(),
  };
  return store;
}

describe('UploadService', () => {
  it('stores a verified blob once, whatever the repository', async () => {
    const h = await harness();
    const [r1, r2] = [await h.repo('a'), await h.repo('b', 'p2')];
    const bytes = random(5000);
    for (const repo of [r1, r2]) {
      const s = await h.uploads.start(repo);
      await h.uploads.append(repo, s.id, { body: chunks(bytes) });
      await h.uploads.complete(repo, s.id, sha256(bytes));
      await h.uploads.idle();
    }
    const objects = [];
    for await (const o of h.store.list()) objects.push(o);
    expect(objects).toHaveLength(1);
    expect(objects[0]?.digest).toBe(sha256(bytes));
    expect(await h.db.isLinked(r1.id, sha256(bytes))).toBe(true);
    expect(await h.db.isLinked(r2.id, sha256(bytes))).toBe(true);
    await h.close();
  });

  it('enforces chunk order (416) and Content-Length (SIZE_INVALID) without losing what arrived', async () => {
    const h = await harness();
    const repo = await h.repo();
    const s = await h.uploads.start(repo);
    await h.uploads.append(repo, s.id, { body: chunks('abcd'), range: { start: 0, end: 3 } });
    expect(
      await codeOf(h.uploads.append(repo, s.id, { body: chunks('abcd'), range: { start: 0, end: 3 } })),
    ).toBe('416 BLOB_UPLOAD_INVALID');
    expect(
      await codeOf(
        h.uploads.append(repo, s.id, { body: chunks('efgh'), range: { start: 4, end: 7 }, contentLength: 3 }),
      ),
    ).toBe('400 SIZE_INVALID');
    expect(
      await codeOf(h.uploads.append(repo, s.id, { body: chunks('ef'), range: { start: 4, end: 7 } })),
    ).toBe('400 SIZE_INVALID');
    expect((await h.uploads.status(repo, s.id)).size).toBe(4);
    await h.uploads.complete(repo, s.id, sha256('abcdefgh'), {
      body: chunks('efgh'),
      range: { start: 4, end: 7 },
    });
    await h.close();
  });

  it('a wrong digest removes the session and stores nothing', async () => {
    const h = await harness();
    const repo = await h.repo();
    const s = await h.uploads.start(repo);
    expect(await codeOf(h.uploads.complete(repo, s.id, sha256('other'), { body: chunks('data') }))).toBe(
      '400 DIGEST_INVALID',
    );
    expect(await codeOf(h.uploads.status(repo, s.id))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    for await (const _ of h.store.list()) throw new Error('nothing should be stored');
    await h.close();
  });

  it('keeps sessions private to their repository', async () => {
    const h = await harness();
    const [a, b] = [await h.repo('a'), await h.repo('b')];
    const s = await h.uploads.start(a);
    expect(await codeOf(h.uploads.append(b, s.id, { body: chunks('x') }))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    expect(await codeOf(h.uploads.cancel(b, s.id))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    await h.uploads.cancel(a, s.id);
    expect(await codeOf(h.uploads.status(a, s.id))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    await h.close();
  });

  it('answers the closing PUT at once, stores in the background, serves the blob meanwhile', async () => {
    let store!: ReturnType<typeof flakyStore>;
    const h = await harness({ store: (dir) => (store = flakyStore(dir)) });
    const repo = await h.repo();
    const bytes = random(10_000);
    const s = await h.uploads.start(repo);
    const gate = sinon.promise<void>();
    const realPut = store.put;
    store.put = sinon.spy(
      async (src: Parameters<BlobStore['put']>[0], label: Parameters<BlobStore['put']>[1], size?: number) => {
        await gate;
        return realPut(src, label, size);
      },
    );
    const d = await h.uploads.complete(repo, s.id, sha256(bytes), { body: chunks(bytes) });
    expect(d).toEqual({ digest: sha256(bytes), size: bytes.length });
    // not stored yet, but served from the staging file
    const pending = await h.registry.statBlob(
      { projectId: 'p1', name: 'app', path: 'p1/app' },
      sha256(bytes),
    );
    expect(pending.pendingPath).toBeDefined();
    const r = await h.registry.openBlob(pending);
    expect((await readAll(r)).equals(bytes)).toBe(true);
    gate.resolve(undefined);
    await h.uploads.idle();
    expect(await h.db.isLinked(repo.id, sha256(bytes))).toBe(true);
    expect(await h.uploads.pending(repo.id, sha256(bytes))).toBeUndefined();
    await h.close();
  });

  it('keeps a verified blob while the store is down; a waiting manifest gets 503 until it is back', async () => {
    let store!: ReturnType<typeof flakyStore>;
    const h = await harness({ store: (dir) => (store = flakyStore(dir)) });
    const repo = await h.repo();
    const bytes = random(10_000);
    store.down.value = true;
    const s = await h.uploads.start(repo);
    await h.uploads.complete(repo, s.id, sha256(bytes), { body: chunks(bytes) });
    await h.uploads.idle();
    await expect(h.uploads.settle(repo.id, sha256(bytes))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await h.uploads.pending(repo.id, sha256(bytes))).toMatchObject({ size: bytes.length });
    store.down.value = false;
    expect(await h.uploads.settle(repo.id, sha256(bytes))).toBe(true);
    expect(await h.db.isLinked(repo.id, sha256(bytes))).toBe(true);
    await h.close();
  });

  it('resumes blobs a restart left on their way to the store', async () => {
    let store!: ReturnType<typeof flakyStore>;
    const h = await harness({ store: (dir) => (store = flakyStore(dir)) });
    const repo = await h.repo();
    const bytes = random(1000);
    store.down.value = true;
    const s = await h.uploads.start(repo);
    await h.uploads.complete(repo, s.id, sha256(bytes), { body: chunks(bytes) });
    await h.uploads.idle();
    store.down.value = false;
    expect(await h.uploads.resumeStoring()).toBe(1);
    await h.uploads.idle();
    expect(await h.db.isLinked(repo.id, sha256(bytes))).toBe(true);
    await h.close();
  });

  it('sends nothing to the store for bytes it already holds', async () => {
    let store!: ReturnType<typeof flakyStore>;
    const h = await harness({ store: (dir) => (store = flakyStore(dir)) });
    const [a, b] = [await h.repo('a'), await h.repo('b', 'p2')];
    const bytes = random(2000);
    for (const repo of [a, b]) {
      const s = await h.uploads.start(repo);
      await h.uploads.complete(repo, s.id, sha256(bytes), { body: chunks(bytes) });
      await h.uploads.idle();
    }
    expect((store.put as sinon.SinonSpy).callCount).toBe(1);
    expect(await h.db.isLinked(b.id, sha256(bytes))).toBe(true);
    await h.close();
  });

  it('cancels sessions idle past their TTL', async () => {
    const h = await harness();
    const repo = await h.repo();
    const s = await h.uploads.start(repo);
    expect(await h.uploads.reapIdle(Date.now())).toBe(0);
    expect(await h.uploads.reapIdle(Date.now() + 7200_000)).toBe(1);
    expect(await codeOf(h.uploads.status(repo, s.id))).toBe('404 BLOB_UPLOAD_UNKNOWN');
    await h.close();
  });
});
