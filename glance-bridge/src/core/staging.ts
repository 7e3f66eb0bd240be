// A blob upload staged on local disk: appended chunk by chunk with an
// incremental sha256, rolled back to the previous offset when a chunk fails
// half-way, and readable while it is still being written (a "follower"
// stream), so the bytes can go on to the blob store as they arrive instead
// of after the last one.

import { createHash, type Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rm, stat, truncate } from 'node:fs/promises';
import { Readable } from 'node:stream';

import type { DigestAlgorithm } from './names';

/** Bytes of staged data read per follower read: large enough for throughput, small for memory. */
const FOLLOW_CHUNK = 1 << 20;

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
   * Appends everything `body` yields. With `exact`, any other length is an
   * error (ChunkSizeMismatch). On any failure the file and the hash go back
   * to where they were, so a retried chunk starts clean.
   */
  async append(body: AsyncIterable<Buffer>, exact?: number): Promise<number> {
    const start = this.size;
    const hash = this.liveHash();
    const snapshot = hash.copy();
    const fh: FileHandle = await open(this.path, 'r+');
    let written = 0;
    try {
      for await (const chunk of body) {
        if (exact !== undefined && written + chunk.length > exact) {
          throw new ChunkSizeMismatch(`chunk longer than its Content-Range (${exact} bytes)`);
        }
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, start + written + off);
          off += bytesWritten;
        }
        written += chunk.length;
        this.size = start + written;
        this.emit('progress');
      }
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
      for await (const chunk of createReadStream(this.path, { end: this.size - 1, highWaterMark: FOLLOW_CHUNK })) {
        h.update(chunk as Buffer);
      }
    }
    return `sha512:${h.digest('hex')}`;
  }

  /** The whole staged file as a stream (for a store upload after the last chunk). */
  reader(): Readable {
    return this.size === 0 ? Readable.from([]) : createReadStream(this.path, { end: this.size - 1, highWaterMark: FOLLOW_CHUNK });
  }

  /**
   * A stream of the file from byte 0 that waits for bytes still being
   * appended. It ends when `end()` of the returned control is called and
   * everything up to that point was read; `abort(err)` fails it.
   */
  follow(): { stream: Readable; end: () => void; abort: (err: Error) => void } {
    let pos = 0;
    /** set by end(): the follower stops there even if more bytes are appended later */
    let stopAt: number | undefined;
    let fh: FileHandle | undefined;
    let waiting: (() => void) | undefined;
    const wake = () => {
      const w = waiting;
      waiting = undefined;
      w?.();
    };
    this.on('progress', wake);
    const cleanup = () => {
      this.off('progress', wake);
      void fh?.close().catch(() => undefined);
      fh = undefined;
    };
    const available = () => (stopAt === undefined ? this.size : Math.min(stopAt, this.size));
    const stream = new Readable({
      highWaterMark: FOLLOW_CHUNK,
      read: () => {
        void (async () => {
          try {
            fh ??= await open(this.path, 'r');
            while (pos >= available() && stopAt === undefined && !stream.destroyed) {
              await new Promise<void>((r) => (waiting = r));
            }
            if (stream.destroyed) return;
            if (pos >= available()) {
              cleanup();
              stream.push(null);
              return;
            }
            const n = Math.min(FOLLOW_CHUNK, available() - pos);
            const buf = Buffer.allocUnsafe(n);
            const { bytesRead } = await fh.read(buf, 0, n, pos);
            if (bytesRead === 0) throw new Error(`staged file ${this.path} shrank under its reader`);
            pos += bytesRead;
            stream.push(bytesRead === n ? buf : buf.subarray(0, bytesRead));
          } catch (e) {
            cleanup();
            stream.destroy(e as Error);
          }
        })();
      },
      destroy: (err, cb) => {
        cleanup();
        wake();
        cb(err);
      },
    });
    return {
      stream,
      end: () => {
        stopAt = this.size;
        wake();
      },
      abort: (err: Error) => {
        stopAt ??= this.size;
        stream.destroy(err);
      },
    };
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
