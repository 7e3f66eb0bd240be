import { createReadStream } from 'node:fs';

import { chunks, harness, ociManifest, pushBlob, random, sha256, readAll } from '../testing/harness';
import { FilesystemBlobStore } from '../storage/filesystem';
import { RegistryError } from './errors';
import { MediaTypes } from './manifest';
import type { RepoRef } from './registry';

const ref = (name = 'app', projectId = 'p1'): RepoRef => ({ projectId, name, path: `${projectId}/${name}` });
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof RegistryError) return [e.code, ...e.more.map((m) => m.code)].join(',');
    throw e;
  }
  return 'ok';
};

async function image(h: Awaited<ReturnType<typeof harness>>, name = 'app') {
  const repo = await h.repo(name);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: Math.random() }));
  const layer = random(300);
  await pushBlob(h, repo, config);
  await pushBlob(h, repo, layer);
  return { repo, config, layer, manifest: ociManifest(config, [layer]) };
}

describe('Registry: manifests', () => {
  it('stores the exact bytes once, answers by tag and digest, and moves tags', async () => {
    const h = await harness();
    const { manifest, config } = await image(h);
    const r = await h.registry.putManifest(ref(), 'v1', manifest, MediaTypes.ociManifest);
    expect(r.digest).toBe(sha256(manifest));
    for (const reference of ['v1', r.digest]) {
      const got = await h.registry.getManifest(ref(), reference, MediaTypes.ociManifest);
      expect(got.content.equals(manifest)).toBe(true);
      expect(got.row.mediaType).toBe(MediaTypes.ociManifest);
    }
    const other = ociManifest(config, []);
    await h.registry.putManifest(ref(), 'v1', other, undefined);
    expect((await h.registry.getManifest(ref(), 'v1', undefined)).row.digest).toBe(sha256(other));
    await h.close();
  });

  it('lists every missing blob, and refuses wrong sizes and wrong digests', async () => {
    const h = await harness();
    const { config } = await image(h);
    const ghosts = [random(5), random(6)];
    expect(await codeOf(h.registry.putManifest(ref(), 'x', ociManifest(config, ghosts), undefined))).toBe(
      'MANIFEST_BLOB_UNKNOWN,MANIFEST_BLOB_UNKNOWN',
    );
    const wrongSize = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: sha256(config), size: 1 },
        layers: [],
      }),
    );
    expect(await codeOf(h.registry.putManifest(ref(), 'x', wrongSize, undefined))).toBe('MANIFEST_INVALID');
    expect(
      await codeOf(h.registry.putManifest(ref(), sha256('nope'), ociManifest(config, []), undefined)),
    ).toBe('DIGEST_INVALID');
    expect(await codeOf(h.registry.getManifest(ref(), 'x', undefined))).toBe('MANIFEST_UNKNOWN');
    await h.close();
  });

  it('negotiates: the linux/amd64 child of an index for a client that takes no index', async () => {
    const h = await harness();
    const { manifest } = await image(h);
    await h.registry.putManifest(ref(), sha256(manifest), manifest, undefined);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [
          {
            mediaType: MediaTypes.ociManifest,
            digest: sha256(manifest),
            size: manifest.length,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    );
    await h.registry.putManifest(ref(), 'multi', index, MediaTypes.ociIndex);
    expect((await h.registry.getManifest(ref(), 'multi', MediaTypes.ociManifest)).row.digest).toBe(
      sha256(manifest),
    );
    expect((await h.registry.getManifest(ref(), 'multi', `${MediaTypes.ociIndex}`)).row.digest).toBe(
      sha256(index),
    );
    expect(await codeOf(h.registry.getManifest(ref(), sha256(index), MediaTypes.ociManifest))).toBe(
      'MANIFEST_UNKNOWN',
    );
    await h.close();
  });

  it('deletes tags alone, and manifests with their tags', async () => {
    const h = await harness();
    const { manifest } = await image(h);
    const { digest } = await h.registry.putManifest(ref(), 'a', manifest, undefined);
    await h.registry.putManifest(ref(), 'b', manifest, undefined);
    await h.registry.deleteManifest(ref(), 'a');
    expect((await h.registry.tags(ref(), undefined, undefined)).tags).toEqual(['b']);
    await h.registry.deleteManifest(ref(), digest);
    expect((await h.registry.tags(ref(), undefined, undefined)).tags).toEqual([]);
    expect(await codeOf(h.registry.deleteManifest(ref(), digest))).toBe('MANIFEST_UNKNOWN');
    await h.close();
  });
});

describe('Registry: discovery', () => {
  it('pages tags in the spec order with n and last', async () => {
    const h = await harness();
    const { manifest } = await image(h);
    for (const t of ['b', 'A', 'c', 'a1']) await h.registry.putManifest(ref(), t, manifest, undefined);
    expect((await h.registry.tags(ref(), undefined, undefined)).tags).toEqual(['A', 'a1', 'b', 'c']);
    expect(await h.registry.tags(ref(), 2, undefined)).toEqual({ tags: ['A', 'a1'], next: 'a1' });
    expect(await h.registry.tags(ref(), 2, 'a1')).toEqual({ tags: ['b', 'c'], next: undefined });
    expect(await h.registry.tags(ref(), 0, undefined)).toEqual({ tags: [], next: undefined });
    expect(await codeOf(h.registry.tags(ref('nothing'), undefined, undefined))).toBe('NAME_UNKNOWN');
    await h.close();
  });

  it('lists referrers with artifactType and annotations, filtered on request', async () => {
    const h = await harness();
    const { manifest, config } = await image(h);
    const subject = { mediaType: MediaTypes.ociManifest, digest: sha256(manifest), size: manifest.length };
    const a = ociManifest(config, [], { artifactType: 'x/sig', subject, annotations: { k: 'v' } });
    const b = ociManifest(config, [], { subject });
    for (const m of [a, b]) await h.registry.putManifest(ref(), sha256(m), m, undefined);
    const all = await h.registry.referrers(ref(), sha256(manifest), undefined);
    expect(all).toEqual(
      expect.arrayContaining([
        {
          mediaType: MediaTypes.ociManifest,
          digest: sha256(a),
          size: a.length,
          artifactType: 'x/sig',
          annotations: { k: 'v' },
        },
        {
          mediaType: MediaTypes.ociManifest,
          digest: sha256(b),
          size: b.length,
          artifactType: MediaTypes.ociConfig,
        },
      ]),
    );
    expect((await h.registry.referrers(ref(), sha256(manifest), 'x/sig')).map((d) => d.digest)).toEqual([
      sha256(a),
    ]);
    expect(await codeOf(h.registry.referrers(ref(), 'sha256:zz', undefined))).toBe('DIGEST_INVALID');
    await h.close();
  });

  it('lists catalogs of the given projects and public repositories only', async () => {
    const h = await harness();
    await image(h, 'one');
    const other = await h.repo('two', 'p2');
    await pushBlob(h, other, random(10));
    await h.db.rememberProject('p1', 'alpha', null);
    expect((await h.registry.catalog(['p1'], undefined, undefined)).tags).toEqual(['alpha/one']);
    await h.db.setPublic(other.id, true);
    expect((await h.registry.catalog(['p1'], undefined, undefined)).tags).toEqual(['alpha/one', 'p2/two']);
    expect((await h.registry.catalog('all', 1, undefined)).tags).toEqual(['alpha/one']);
    await h.close();
  });
});

describe('Registry: blobs and mounts', () => {
  it('mounts from a readable source, or from the same project without one', async () => {
    const h = await harness();
    const { repo, layer } = await image(h, 'src');
    const target = await h.repo('dst');
    expect(await h.registry.mount(target, sha256(layer), repo)).toBeDefined();
    const third = await h.repo('third');
    expect(await h.registry.mount(third, sha256(layer), undefined)).toBeDefined();
    const foreign = await h.repo('x', 'p2');
    expect(await h.registry.mount(foreign, sha256(layer), undefined)).toBeUndefined();
    expect(await h.registry.mount(target, sha256('absent'), repo)).toBeUndefined();
    await h.close();
  });

  it('unlinks on delete and serves byte ranges', async () => {
    const h = await harness();
    const { layer } = await image(h);
    const blob = await h.registry.statBlob(ref(), sha256(layer));
    const r = await h.registry.openBlob(blob, { start: 10, end: 19 });
    expect((await readAll(r)).equals(layer.subarray(10, 20))).toBe(true);
    await h.registry.deleteBlob(ref(), sha256(layer));
    expect(await codeOf(h.registry.statBlob(ref(), sha256(layer)))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(h.registry.deleteBlob(ref(), sha256(layer)))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(h.registry.statBlob(ref(), 'not-a-digest'))).toBe('BLOB_UNKNOWN');
    await h.close();
  });
});

describe('Registry with the blob cache', () => {
  it('serves a pushed blob from the cache, and fills it from the store on a miss', async () => {
    // a store that streams, as Glance does (the filesystem driver hands out files)
    const h = await harness({
      cacheBytes: 64 << 20,
      store: (dir) => {
        const fs = new FilesystemBlobStore(`${dir}/objects`);
        const read = fs.read.bind(fs);
        fs.read = async (ref, range) => {
          const r = await read(ref, range);
          return {
            length: r.length,
            body: createReadStream(r.file?.path as string, { start: r.file?.start, end: r.file?.end }),
          };
        };
        return fs;
      },
    });
    const repo = await h.repo();
    const bytes = random(100_000);
    const s = await h.uploads.start(repo);
    await h.uploads.complete(repo, s.id, sha256(bytes), { body: chunks(bytes) });
    await h.uploads.idle();
    const cached = await h.cache?.open(sha256(bytes), bytes.length);
    expect(cached?.file).toBeDefined();
    await h.cache?.remove(sha256(bytes));
    const blob = await h.registry.statBlob(ref(), sha256(bytes));
    const r = await h.registry.openBlob(blob);
    expect((await readAll(r)).equals(bytes)).toBe(true);
    await h.cache?.idle();
    expect(await h.cache?.open(sha256(bytes), bytes.length)).toBeDefined();
    await h.close();
  });
});
