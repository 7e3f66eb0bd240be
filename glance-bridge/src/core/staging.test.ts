import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chunks, random, sha256 } from '../testing/harness';
import { ChunkSizeMismatch, StagedFile } from './staging';

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gb-staging-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function* failingAfter(first: Buffer): AsyncIterable<Buffer> {
  yield first;
  throw new Error('client went away');
}

describe('StagedFile', () => {
  it('appends chunks with a running sha256, across appends', async () => {
    const f = await StagedFile.create(join(dir(), 'u1'));
    const [a, b] = [random(100_000), random(3_000_000)];
    await f.append(chunks(a));
    await f.append(chunks(b.subarray(0, 1000), b.subarray(1000)));
    expect(f.size).toBe(a.length + b.length);
    expect(await f.digest('sha256')).toBe(sha256(Buffer.concat([a, b])));
    expect(readFileSync(f.path).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('computes sha512 from disk on demand', async () => {
    const f = await StagedFile.create(join(dir(), 'u2'));
    await f.append(chunks('hello'));
    expect(await f.digest('sha512')).toBe(`sha512:${createHash('sha512').update('hello').digest('hex')}`);
  });

  it('rolls back file and hash when a chunk fails half-way', async () => {
    const f = await StagedFile.create(join(dir(), 'u3'));
    await f.append(chunks('good '));
    await expect(f.append(failingAfter(Buffer.from('partial')))).rejects.toThrow('client went away');
    expect(f.size).toBe(5);
    expect(statSync(f.path).size).toBe(5);
    await f.append(chunks('data'));
    expect(await f.digest('sha256')).toBe(sha256('good data'));
  });

  it('enforces an exact chunk length both ways, rolling back', async () => {
    const f = await StagedFile.create(join(dir(), 'u4'));
    await expect(f.append(chunks('12345'), 3)).rejects.toBeInstanceOf(ChunkSizeMismatch);
    await expect(f.append(chunks('12'), 3)).rejects.toThrow(/shorter/);
    expect(f.size).toBe(0);
    await f.append(chunks('123'), 3);
    expect(f.size).toBe(3);
  });

  it('hands each written batch to a callback, after it is on disk', async () => {
    const f = await StagedFile.create(join(dir(), 'u5'));
    const seen: Array<[number, number]> = [];
    const data = random(3 * 1024 * 1024 + 5);
    await f.append(
      chunks(...Array.from({ length: 49 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536))),
      undefined,
      (bufs, sizeAfter) => {
        seen.push([bufs.reduce((n, b) => n + b.length, 0), sizeAfter]);
        expect(statSync(f.path).size).toBe(sizeAfter);
      },
    );
    expect(seen.reduce((n, [len]) => n + len, 0)).toBe(f.size);
    expect(seen.length).toBeGreaterThan(1);
    expect(f.head(f.size)).toBeDefined();
  });

  it('resumes a session from disk: cuts a half-written tail and rebuilds the hash', async () => {
    const path = join(dir(), 'u6');
    const f = await StagedFile.create(path);
    await f.append(chunks('abcdef'));
    const again = await StagedFile.resume(path, 4);
    expect(statSync(path).size).toBe(4);
    await again.append(chunks('XY'));
    expect(await again.digest('sha256')).toBe(sha256('abcdXY'));
    await expect(StagedFile.resume(path, 100)).rejects.toThrow(/6 bytes, 100 recorded/);
  });
});
