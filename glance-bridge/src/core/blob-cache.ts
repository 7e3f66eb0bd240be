// A bounded local-disk cache of blobs in front of the store: Glance serves
// image data from Python in 64 KiB reads, far slower than a file. A pushed
// blob's staging file becomes its cache entry for free (a rename); a blob
// pulled from the store is written to the cache as it streams to the client
// and kept only if its digest checks out. Entries are content-addressed and
// immutable, so they never go stale; access is always decided by SQL before
// the cache is asked. Least recently used entries go first when it is full.

import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';

import type { Logger } from '@berth/service-kit';

import type { ByteRange, ObjectReader } from '../storage/driver';

interface Entry {
  size: number;
  used: number;
}

const SAFE = /^(sha256|sha512):[a-f0-9]+$/;

export class BlobCache {
  private readonly index = new Map<string, Entry>();
  private total = 0;
  /** fills being written into the cache after their stream ended */
  private readonly filling = new Set<Promise<void>>();

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  private path(digest: string) {
    return join(this.dir, 'blobs', digest.replace(':', '-'));
  }

  /** Reads what an earlier run left (most recently modified = most recently used). */
  async init(): Promise<void> {
    if (!this.enabled) return;
    await mkdir(join(this.dir, 'blobs'), { recursive: true });
    await rm(join(this.dir, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    for (const name of await readdir(join(this.dir, 'blobs'))) {
      const digest = name.replace('-', ':');
      if (!SAFE.test(digest)) continue;
      const s = await stat(join(this.dir, 'blobs', name)).catch(() => undefined);
      if (!s) continue;
      this.index.set(digest, { size: s.size, used: s.mtimeMs });
      this.total += s.size;
    }
    await this.evict(0);
  }

  /** The cached blob (or a range of it), or undefined. */
  async open(digest: string, size: number, range?: ByteRange): Promise<ObjectReader | undefined> {
    const e = this.index.get(digest);
    if (!e || e.size !== size) return undefined;
    const file = this.path(digest);
    // the GC command may have removed it behind our back
    if (!(await stat(file).catch(() => undefined))) {
      this.drop(digest);
      return undefined;
    }
    e.used = Date.now();
    return {
      file: range ? { path: file, start: range.start, end: range.end } : { path: file },
      length: range ? range.end - range.start + 1 : size,
    };
  }

  /** Takes over a verified staging file as the blob's entry (a rename); false when it does not fit. */
  async adopt(digest: string, file: string, size: number): Promise<boolean> {
    if (!this.enabled || size > this.maxBytes / 4 || !SAFE.test(digest) || this.index.has(digest))
      return false;
    await this.evict(size);
    try {
      await rename(file, this.path(digest));
    } catch (e) {
      this.log.warn({ digest, err: String(e) }, 'could not move an upload into the blob cache');
      return false;
    }
    this.add(digest, size);
    return true;
  }

  /**
   * Passes a blob from the store through to the client, writing it into
   * the cache on the way; the entry is kept only when all bytes came and
   * their digest is right.
   */
  fill(digest: string, size: number, body: Readable): Readable {
    if (!this.enabled || size > this.maxBytes / 4 || !SAFE.test(digest) || this.index.has(digest))
      return body;
    const algorithm = digest.slice(0, digest.indexOf(':'));
    const tmp = join(this.dir, 'tmp', randomUUID());
    const out = createWriteStream(tmp);
    const hash = createHash(algorithm);
    let bytes = 0;
    let usable = true;
    out.on('error', () => (usable = false));
    const through = new Transform({
      highWaterMark: 1 << 20,
      transform: (chunk: Buffer, _enc, cb) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (usable && !out.write(chunk)) out.once('drain', () => cb(null, chunk));
        else cb(null, chunk);
      },
      flush: (cb) => {
        const done = new Promise<void>((resolve) =>
          out.end(() => {
            const ok = usable && bytes === size && `${algorithm}:${hash.digest('hex')}` === digest;
            void (ok ? this.commitFill(digest, tmp, size) : rm(tmp, { force: true })).finally(resolve);
          }),
        );
        this.filling.add(done);
        void done.finally(() => this.filling.delete(done));
        cb();
      },
    });
    through.on('close', () => {
      if (!through.writableFinished) {
        // the client went away: stop the download from the store too
        usable = false;
        out.destroy();
        body.destroy();
        void rm(tmp, { force: true });
      }
    });
    body.on('error', (e) => through.destroy(e));
    return body.pipe(through);
  }

  private async commitFill(digest: string, tmp: string, size: number) {
    try {
      if (this.index.has(digest)) return await rm(tmp, { force: true });
      await this.evict(size);
      await rename(tmp, this.path(digest));
      this.add(digest, size);
    } catch (e) {
      this.log.warn({ digest, err: String(e) }, 'could not keep a blob in the cache');
      await rm(tmp, { force: true });
    }
  }

  private add(digest: string, size: number) {
    this.index.set(digest, { size, used: Date.now() });
    this.total += size;
  }

  private drop(digest: string) {
    const e = this.index.get(digest);
    if (!e) return;
    this.index.delete(digest);
    this.total -= e.size;
  }

  /** Makes room for `incoming` bytes, least recently used first. */
  private async evict(incoming: number) {
    if (this.total + incoming <= this.maxBytes) return;
    const byAge = [...this.index].sort((a, b) => a[1].used - b[1].used);
    for (const [digest] of byAge) {
      if (this.total + incoming <= this.maxBytes) break;
      this.drop(digest);
      await rm(this.path(digest), { force: true });
    }
  }

  /** Resolves when the fills whose streams ended are in the cache (or given up). */
  async idle(): Promise<void> {
    await Promise.all([...this.filling]);
  }

  /** Removes an entry (the GC command, for a deleted blob). */
  async remove(digest: string): Promise<void> {
    if (!SAFE.test(digest)) return;
    this.drop(digest);
    await rm(this.path(digest), { force: true });
  }
}
