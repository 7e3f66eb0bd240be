// Blob upload sessions: POST opens one, PATCHes append (in order, 416
// otherwise), PUT ?digest= closes it. Bytes are staged on local disk with an
// incremental sha256 and verified (DIGEST_INVALID, SIZE_INVALID) before
// anything is recorded; only then does the blob reach the store, once per
// digest across the whole registry.
//
// Stream-through: a client that sends the whole blob in one PATCH (skopeo,
// docker) gets it sent on to the store while it is still arriving, read back
// from the staging file. The copy is used if the closing PUT adds nothing and
// the digest checks out and is new; otherwise it is deleted.
//
// Store down at the closing PUT: 503, and the session, its bytes and its
// hash are kept, so the client's retried PUT completes the push.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from '@berth/service-kit';

import type { BlobRow, RegistryDb, Repository } from '../db/registry-db';
import type { BlobStore, StoredObject } from '../storage/driver';
import { ociError, StoreUnavailableError } from './errors';
import { type ParsedDigest, requireDigest } from './names';
import { ChunkSizeMismatch, StagedFile } from './staging';

export interface UploadOptions {
  stagingDir: string;
  streamThrough: boolean;
  streamThroughMinBytes: number;
  /** seconds an idle session lives */
  sessionTtl: number;
}

/** Content-Range of a chunk, inclusive on both ends. */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface ChunkInput {
  body: AsyncIterable<Buffer>;
  range?: ChunkRange;
  /** Content-Length, when the client sent one */
  contentLength?: number;
}

interface Speculation {
  put: Promise<StoredObject>;
  end: () => void;
  abort: (e: Error) => void;
  /** size of the staged file the speculative copy covers, once its request ended */
  covers?: number;
  discarded: boolean;
}

interface LiveUpload {
  id: string;
  repositoryId: string;
  file: StagedFile;
  spec?: Speculation;
}

export interface UploadMetrics {
  /** bytes handed to the store (the benchmark's "bytes sent to Glance") */
  storeBytes(kind: 'blob' | 'manifest', n: number): void;
  dedup(kind: 'blob' | 'manifest'): void;
}

export class UploadService {
  private readonly live = new Map<string, LiveUpload>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: RegistryDb,
    private readonly store: BlobStore,
    private readonly o: UploadOptions,
    private readonly log: Logger,
    private readonly metrics?: UploadMetrics,
  ) {}

  private path(id: string) {
    return join(this.o.stagingDir, id);
  }

  /** Opens a session (POST /blobs/uploads/). */
  async start(repo: Repository): Promise<{ id: string; size: number }> {
    await mkdir(this.o.stagingDir, { recursive: true });
    const row = await this.db.insertUpload(repo.id);
    const file = await StagedFile.create(this.path(row.id));
    this.live.set(row.id, { id: row.id, repositoryId: repo.id, file });
    return { id: row.id, size: 0 };
  }

  /** Current offset of a session (GET on the session), BLOB_UPLOAD_UNKNOWN for another repository's. */
  async status(repo: Repository, id: string): Promise<{ id: string; size: number }> {
    const live = this.live.get(id);
    if (live && live.repositoryId === repo.id) return { id, size: live.file.size };
    const row = await this.db.getUpload(id);
    if (!row || row.repositoryId !== repo.id) throw unknownUpload(id);
    return { id, size: row.size };
  }

  /** PATCH: appends a chunk. */
  async append(repo: Repository, id: string, chunk: ChunkInput): Promise<{ size: number }> {
    return this.locked(id, async () => {
      const up = await this.session(repo, id);
      await this.receive(up, chunk, this.o.streamThrough);
      return { size: up.file.size };
    });
  }

  /** PUT ?digest=: the optional last chunk, verification, then the store. */
  async complete(repo: Repository, id: string, digestParam: string | undefined, chunk?: ChunkInput): Promise<BlobRow> {
    return this.locked(id, async () => {
      const up = await this.session(repo, id);
      let digest: ParsedDigest;
      try {
        digest = requireDigest(digestParam);
      } catch (e) {
        // no digest, no bytes: the client may retry with one (as distribution allows)
        if (chunk) await drain(chunk.body);
        throw e;
      }
      if (chunk) {
        // a known digest needs no copy in the store: no point streaming it there
        const known = await this.db.getBlob(digest.value);
        await this.receive(up, chunk, this.o.streamThrough && !known);
      }
      const actual = await up.file.digest(digest.algorithm);
      if (actual !== digest.value) {
        await this.discard(up);
        throw ociError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
          digest: digest.value,
          size: up.file.size,
        });
      }
      const blob = await this.commit(up, repo, digest.value);
      await this.discard(up);
      return blob;
    });
  }

  /** DELETE on the session. */
  async cancel(repo: Repository, id: string): Promise<void> {
    await this.locked(id, async () => this.discard(await this.session(repo, id)));
  }

  /** Cancels sessions idle longer than the TTL (their staged bytes never reached the store). */
  async reapIdle(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.o.sessionTtl * 1000).toISOString();
    let n = 0;
    for (const row of await this.db.uploadsIdleSince(cutoff)) {
      await this.locked(row.id, async () => {
        const live = this.live.get(row.id);
        if (live) {
          await this.discard(live);
        } else {
          await this.db.deleteUpload(row.id);
          await rm(this.path(row.id), { force: true });
        }
      });
      n++;
    }
    if (n) this.log.info({ sessions: n }, 'cancelled idle upload sessions');
    return n;
  }

  // ---- internals ----

  private async session(repo: Repository, id: string): Promise<LiveUpload> {
    const live = this.live.get(id);
    if (live) {
      if (live.repositoryId !== repo.id) throw unknownUpload(id);
      return live;
    }
    const row = await this.db.getUpload(id);
    if (!row || row.repositoryId !== repo.id) throw unknownUpload(id);
    let file: StagedFile;
    try {
      file = await StagedFile.resume(this.path(id), row.size);
    } catch (e) {
      this.log.warn({ upload: id, err: String(e) }, 'staged upload lost; cancelling the session');
      await this.db.deleteUpload(id);
      throw unknownUpload(id);
    }
    const up: LiveUpload = { id, repositoryId: repo.id, file };
    this.live.set(id, up);
    return up;
  }

  private async receive(up: LiveUpload, chunk: ChunkInput, mayStream: boolean): Promise<void> {
    const file = up.file;
    let exact: number | undefined;
    if (chunk.range) {
      const { start, end } = chunk.range;
      if (start !== file.size || end < start) {
        await drain(chunk.body);
        throw ociError('BLOB_UPLOAD_INVALID', `chunk out of order: the next byte expected is ${file.size}`, {
          range: `${start}-${end}`,
          offset: file.size,
        }, 416);
      }
      exact = end - start + 1;
      if (chunk.contentLength !== undefined && chunk.contentLength !== exact) {
        await drain(chunk.body);
        throw ociError('SIZE_INVALID', 'Content-Length does not match Content-Range', {
          contentLength: chunk.contentLength,
          range: `${start}-${end}`,
        });
      }
    }
    let stopTrigger: (() => void) | undefined;
    if (mayStream && file.size === 0) {
      const trigger = () => {
        if (file.size >= this.o.streamThroughMinBytes && !up.spec) {
          file.off('progress', trigger);
          up.spec = this.speculate(up);
        }
      };
      file.on('progress', trigger);
      stopTrigger = () => file.off('progress', trigger);
    }
    try {
      await file.append(chunk.body, exact);
    } catch (e) {
      // the file is back at its previous size; a streamed-through copy is not
      if (up.spec) this.dropSpeculation(up, e as Error);
      if (e instanceof ChunkSizeMismatch) throw ociError('SIZE_INVALID', e.message);
      throw e;
    } finally {
      stopTrigger?.();
    }
    if (up.spec && up.spec.covers === undefined) {
      up.spec.covers = file.size;
      up.spec.end();
    }
    await this.db.setUploadSize(up.id, file.size);
  }

  /** Starts sending the staged file to the store while it is still being written. */
  private speculate(up: LiveUpload): Speculation {
    const f = up.file.follow();
    const put = this.store.put(f.stream, { kind: 'blob', uploadId: up.id });
    const spec: Speculation = { put, end: f.end, abort: f.abort, discarded: false };
    put.then(
      (obj) => {
        if (spec.discarded) void this.deleteQuietly(obj.ref, 'discarded streamed-through copy');
      },
      (e: unknown) => {
        if (!spec.discarded) this.log.info({ upload: up.id, err: String(e) }, 'stream-through to the store failed; will upload at the closing PUT');
      },
    );
    this.log.debug({ upload: up.id }, 'streaming the upload through to the store');
    return spec;
  }

  private dropSpeculation(up: LiveUpload, err?: Error): void {
    const spec = up.spec;
    if (!spec) return;
    up.spec = undefined;
    spec.discarded = true;
    spec.abort(err ?? new Error('upload continued after the streamed request'));
  }

  /** Records the verified blob: de-duplicated against every repository, stored once. */
  private async commit(up: LiveUpload, repo: Repository, digest: string): Promise<BlobRow> {
    const size = up.file.size;
    for (let attempt = 0; attempt < 3; attempt++) {
      const known = await this.db.getBlob(digest);
      if (known) {
        this.dropSpeculation(up);
        if (await this.db.linkBlob(repo.id, digest)) {
          this.metrics?.dedup('blob');
          return known;
        }
        continue; // the GC removed it between the two statements: store it again
      }
      const stored = await this.storeStaged(up, digest, size);
      const inserted = await this.db.insertBlob({
        digest,
        size,
        kind: 'blob',
        mediaType: null,
        storeRef: stored.ref,
        content: null,
      });
      if (!inserted) {
        // a concurrent push of the same bytes won: keep one copy
        await this.deleteQuietly(stored.ref, 'duplicate of a concurrently stored blob');
        continue;
      }
      if (await this.db.linkBlob(repo.id, digest)) {
        const row = await this.db.getBlob(digest);
        if (row) return row;
      }
    }
    throw new Error(`could not record blob ${digest} after 3 attempts`);
  }

  private async storeStaged(up: LiveUpload, digest: string, size: number): Promise<StoredObject> {
    const spec = up.spec;
    if (spec && !spec.discarded && spec.covers === size) {
      up.spec = undefined;
      try {
        const obj = await spec.put;
        if (obj.size !== size) throw new Error(`store holds ${obj.size} bytes, ${size} staged`);
        await this.store.commit(obj.ref, { kind: 'blob', digest, uploadId: up.id });
        this.metrics?.storeBytes('blob', size);
        return obj;
      } catch (e) {
        spec.discarded = true;
        this.log.info({ upload: up.id, err: String(e) }, 'streamed-through copy unusable; uploading the staged file');
        void spec.put.then((obj) => this.deleteQuietly(obj.ref, 'unusable streamed-through copy'), () => undefined);
      }
    } else if (spec) {
      this.dropSpeculation(up);
    }
    try {
      const obj = await this.store.put(up.file.reader(), { kind: 'blob', digest, uploadId: up.id }, size);
      this.metrics?.storeBytes('blob', size);
      return obj;
    } catch (e) {
      if (e instanceof StoreUnavailableError) {
        this.log.warn({ upload: up.id, err: e.message }, 'blob store unavailable at the closing PUT; session kept');
      }
      throw e;
    }
  }

  /** Ends a session: row, staged bytes and any streamed-through copy. */
  private async discard(up: LiveUpload): Promise<void> {
    this.dropSpeculation(up);
    this.live.delete(up.id);
    await this.db.deleteUpload(up.id);
    await up.file.remove();
  }

  private async deleteQuietly(ref: string, why: string): Promise<void> {
    try {
      await this.store.delete(ref);
      this.log.debug({ ref, why }, 'deleted store object');
    } catch (e) {
      this.log.warn({ ref, why, err: String(e) }, 'could not delete store object; the GC will');
    }
  }

  /** Requests on one session run one after the other. */
  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }
}

function unknownUpload(id: string) {
  return ociError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { session: id });
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  try {
    for await (const _ of body) {
      /* discard */
    }
  } catch {
    /* the client went away */
  }
}
