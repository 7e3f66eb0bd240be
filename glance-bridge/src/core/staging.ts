// A blob upload staged on local disk: appended chunk by chunk with an
// incremental sha256, rolled back to the previous offset when a chunk fails
// half-way. Each batch written is handed to an optional callback, so the
// bytes can go on to the blob store as they arrive instead of after the
// last one.

import { createHash, type Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rm, stat, truncate } from 'node:fs/promises';
import { Readable } from 'node:stream';

import type { DigestAlgorithm } from './names';

/** Bytes read from the staging file per read: large enough for throughput, small for memory. */
const FOLLOW_CHUNK = 1 << 20;
/** Incoming chunks are written to disk in batches of about this size (one writev each). */
const WRITE_BATCH = 1 << 20;

/** Called after each batch reaches the disk, with the batch and the staged size after it. */
export type OnWritten = (chunks: Buffer[], sizeAfter: number) => Promise<void> | void;

/** The buffers left after dropping the first `n` bytes (a partial writev). */
function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}

/** A chunk whose length differs from the length its Content-Range announced. */
export class ChunkSizeMismatch extends Error {}

export class StagedFile extends EventEmitter {
  /** bytes durably appended so far */
  size: number;
  private hash: Hash | undefined;

  private constructor(
    readonly path: string,
    size: number,
    hash: Hash | undefined,
  ) {
    super();
    this.setMaxListeners(0);
    this.size = size;
    this.hash = hash;
  }

  static async create(path: string): Promise<StagedFile> {
    const fh = await open(path, 'wx');
    await fh.close();
    return new StagedFile(path, 0, createHash('sha256'));
  }

  /**
   * Re-opens a session's file at the size the database recorded (a restart,
   * or another process took the session): anything past it is a half-written
   * chunk and is cut off; the hash is rebuilt from the bytes on disk.
   */
  static async resume(path: string, size: number): Promise<StagedFile> {
    const actual = (await stat(path)).size;
    if (actual < size) throw new Error(`staged file ${path} has ${actual} bytes, ${size} recorded`);
    if (actual > size) await truncate(path, size);
    const hash = createHash('sha256');
    if (size > 0) {
      for await (const chunk of createReadStream(path, { end: size - 1, highWaterMark: FOLLOW_CHUNK })) {
        hash.update(chunk as Buffer);
      }
    }
    return new StagedFile(path, size, hash);
  }

  /**
   * Appends everything `body` yields, hashing as it goes and writing to disk
   * in batches of about a mebibyte. After each batch is on disk, `onWritten`
   * gets its buffers (and may apply backpressure by returning a promise).
   * With `exact`, any other length is an error (ChunkSizeMismatch). On any
   * failure the file and the hash go back to where they were, so a retried
   * chunk starts clean.
   */
  async append(body: AsyncIterable<Buffer>, exact?: number, onWritten?: OnWritten): Promise<number> {
    const start = this.size;
    const hash = this.liveHash();
    const snapshot = hash.copy();
    const fh: FileHandle = await open(this.path, 'r+');
    let written = 0;
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = async () => {
      if (!batch.length) return;
      const bufs = batch;
      batch = [];
      let pos = start + written;
      let pending = bufs;
      while (pending.length) {
        const { bytesWritten } = await fh.writev(pending, pos);
        pos += bytesWritten;
        pending = skipBytes(pending, bytesWritten);
      }
      written += batched;
      batched = 0;
      this.size = start + written;
      this.emit('progress');
      if (onWritten) await onWritten(bufs, this.size);
    };
    try {
      for await (const chunk of body) {
        if (exact !== undefined && written + batched + chunk.length > exact) {
          throw new ChunkSizeMismatch(`chunk longer than its Content-Range (${exact} bytes)`);
        }
        hash.update(chunk);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) await flush();
      }
      await flush();
      if (exact !== undefined && written !== exact) {
        throw new ChunkSizeMismatch(`chunk shorter than its Content-Range (${written} of ${exact} bytes)`);
      }
    } catch (e) {
      await fh.truncate(start).catch(() => undefined);
      this.size = start;
      this.hash = snapshot;
      this.emit('rollback');
      throw e;
    } finally {
      await fh.close();
    }
    return written;
  }

  /** sha256 (from the running hash) or sha512 (re-read from disk) of everything appended. */
  async digest(algorithm: DigestAlgorithm): Promise<string> {
    if (algorithm === 'sha256') return `sha256:${this.liveHash().copy().digest('hex')}`;
    const h = createHash('sha512');
    if (this.size > 0) {
      for await (const chunk of createReadStream(this.path, {
        end: this.size - 1,
        highWaterMark: FOLLOW_CHUNK,
      })) {
        h.update(chunk as Buffer);
      }
    }
    return `sha512:${h.digest('hex')}`;
  }

  /** The whole staged file as a stream (for a store upload after the last chunk). */
  reader(): Readable {
    return this.size === 0
      ? Readable.from([])
      : createReadStream(this.path, { end: this.size - 1, highWaterMark: FOLLOW_CHUNK });
  }

  /** Bytes [0, end) of the staged file as a stream (to catch a store upload up with what arrived). */
  head(end: number): Readable {
    return end === 0
      ? Readable.from([])
      : createReadStream(this.path, { end: end - 1, highWaterMark: FOLLOW_CHUNK });
  }

  async remove(): Promise<void> {
    this.emit('removed');
    await rm(this.path, { force: true });
  }

  private liveHash(): Hash {
    this.hash ??= createHash('sha256');
    return this.hash;
  }
}
