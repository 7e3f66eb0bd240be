import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import type { ObjectReader } from '../storage/driver';
import { random, readAll, sha256, silent } from '../testing/harness';
import { BlobCache } from './blob-cache';

const read = async (r: Readable) => {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
};
const settle = () => new Promise((r) => setTimeout(r, 30));
const root = mkdtempSync(join(tmpdir(), 'gb-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('BlobCache', () => {
  it('adopts staged files, serves ranges, evicts the least recently used', async () => {
    const dir = mkdtempSync(join(root, 'c-'));
    const cache = new BlobCache(join(dir, 'c'), 800, silent);
    await cache.init();
    const blobs = [random(200), random(200), random(200)];
    for (const [i, b] of blobs.entries()) {
      writeFileSync(join(dir, `s${i}`), b);
      expect(await cache.adopt(sha256(b), join(dir, `s${i}`), b.length)).toBe(true);
      await settle();
    }
    const r = await cache.open(sha256(blobs[0] as Buffer), 200, { start: 5, end: 9 });
    expect((await readAll(r as ObjectReader)).equals((blobs[0] as Buffer).subarray(5, 10))).toBe(true);
    // too large for a quarter of the cache
    writeFileSync(join(dir, 'big'), random(300));
    expect(await cache.adopt(sha256('big'), join(dir, 'big'), 300)).toBe(false);
    await settle();
    // fill up: blob 1 (least recently used) goes
    for (const i of [3, 4]) {
      const b = random(200);
      writeFileSync(join(dir, `s${i}`), b);
      await cache.adopt(sha256(b), join(dir, `s${i}`), 200);
    }
    expect(await cache.open(sha256(blobs[1] as Buffer), 200)).toBeUndefined();
    expect(await cache.open(sha256(blobs[0] as Buffer), 200)).toBeDefined();
  });

  it('keeps a filled entry only when every byte came and the digest is right', async () => {
    const dir = mkdtempSync(join(root, 'c-'));
    const cache = new BlobCache(dir, 1 << 20, silent);
    await cache.init();
    const good = random(5000);
    expect((await read(cache.fill(sha256(good), good.length, Readable.from([good])))).equals(good)).toBe(
      true,
    );
    await cache.idle();
    expect(await cache.open(sha256(good), good.length)).toBeDefined();
    const liar = random(5000);
    await read(cache.fill(sha256('something else'), liar.length, Readable.from([liar])));
    await cache.idle();
    expect(await cache.open(sha256('something else'), liar.length)).toBeUndefined();
  });

  it('survives a restart and an entry removed behind its back', async () => {
    const dir = mkdtempSync(join(root, 'c-'));
    const b = random(100);
    const first = new BlobCache(dir, 1 << 20, silent);
    await first.init();
    writeFileSync(join(dir, 'x'), b);
    await first.adopt(sha256(b), join(dir, 'x'), 100);
    const second = new BlobCache(dir, 1 << 20, silent);
    await second.init();
    expect(await second.open(sha256(b), 100)).toBeDefined();
    await first.remove(sha256(b));
    expect(await second.open(sha256(b), 100)).toBeUndefined();
  });

  it('does nothing when disabled', async () => {
    const cache = new BlobCache(mkdtempSync(join(root, 'c-')), 0, silent);
    await cache.init();
    const src = Readable.from([Buffer.from('x')]);
    expect(cache.fill(sha256('x'), 1, src)).toBe(src);
    expect(await cache.adopt(sha256('x'), '/nonexistent', 1)).toBe(false);
  });
});
