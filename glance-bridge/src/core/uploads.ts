// Blob upload sessions: POST opens one, PATCHes append (in order, 416
// otherwise), PUT ?digest= closes it. Bytes are staged on local disk with an
// incremental sha256 and verified (DIGEST_INVALID, SIZE_INVALID) before
// anything is recorded; only then do they go to the store, once per digest
// across the whole registry.
//
// A verified blob is answered 201 at once and sent to the store in the
// background, from its staging file: clients push layers one after the
// other, so layer N travels to Glance while layer N+1 arrives. Until it is
// in Glance the blob is "storing": its session row carries the digest, the
// repository serves it from the staging file, and a manifest that
// references it waits for it (answering 503 if the store cannot take it, so
// a retried manifest push retries the store). Sessions left storing by a
// restart resume at start-up; nothing verified is lost.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from '@berth/service-kit';

import type { BlobRow, RegistryDb, Repository, UploadRow } from '../db/registry-db';
import type { BlobStore } from '../storage/driver';
import type { BlobCache } from './blob-cache';
import { ociError, StoreUnavailableError } from './errors';
import { type ParsedDigest, requireDigest } from './names';
import { ChunkSizeMismatch, StagedFile } from './staging';

export interface UploadOptions {
  stagingDir: string;
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

/** A verified blob: stored already, or on its way to the store. */
export interface BlobDescriptor {
  digest: string;
  size: number;
}

interface LiveUpload {
  id: string;
  repositoryId: string;
  file: StagedFile;
}

export interface UploadMetrics {
  /** bytes handed to the store (the benchmark's "bytes sent to Glance") */
  storeBytes(kind: 'blob' | 'manifest', n: number): void;
  dedup(kind: 'blob' | 'manifest'): void;
}

export class UploadService {
  private readonly live = new Map<string, LiveUpload>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** background stores in flight, by session id */
  private readonly storing = new Map<string, Promise<void>>();
  /** store uploads in flight, by digest: a second session of the same bytes waits for the first */
  private readonly uploadingDigests = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: RegistryDb,
    private readonly store: BlobStore,
    private readonly o: UploadOptions,
    private readonly log: Logger,
    private readonly metrics?: UploadMetrics,
    private readonly cache?: BlobCache,
  ) {}

  /** Where a session's bytes are staged. */
  path(id: string): string {
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
    if (!row || row.repositoryId !== repo.id || row.digest) throw unknownUpload(id);
    return { id, size: row.size };
  }

  /** PATCH: appends a chunk. */
  async append(repo: Repository, id: string, chunk: ChunkInput): Promise<{ size: number }> {
    return this.locked(id, async () => {
      const up = await this.session(repo, id);
      await this.receive(up, chunk);
      return { size: up.file.size };
    });
  }

  /** PUT ?digest=: the optional last chunk, verification, then the store (in the background). */
  async complete(
    repo: Repository,
    id: string,
    digestParam: string | undefined,
    chunk?: ChunkInput,
  ): Promise<BlobDescriptor> {
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
      if (chunk) await this.receive(up, chunk);
      const actual = await up.file.digest(digest.algorithm);
      if (actual !== digest.value) {
        await this.discard(up);
        throw ociError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
          digest: digest.value,
          size: up.file.size,
        });
      }
      const size = up.file.size;
      this.live.delete(up.id);
      // known bytes: a link, nothing sent to the store
      if (await this.db.getBlob(digest.value)) {
        if (await this.db.linkBlob(repo.id, digest.value)) {
          this.metrics?.dedup('blob');
          await this.cache?.adopt(digest.value, up.file.path, size);
          await this.db.deleteUpload(up.id);
          await up.file.remove();
          return { digest: digest.value, size };
        }
      }
      await this.db.markStoring(up.id, digest.value, size);
      void this.storeInBackground({
        id: up.id,
        repositoryId: up.repositoryId,
        digest: digest.value,
        size,
        path: up.file.path,
      });
      return { digest: digest.value, size };
    });
  }

  /** DELETE on the session. */
  async cancel(repo: Repository, id: string): Promise<void> {
    await this.locked(id, async () => this.discard(await this.session(repo, id)));
  }

  /**
   * A blob of this repository still on its way to the store: its size and
   * staging file, to serve it meanwhile.
   */
  async pending(repositoryId: string, digest: string): Promise<{ size: number; path: string } | undefined> {
    const row = await this.db.storingUpload(repositoryId, digest);
    return row ? { size: row.size, path: this.path(row.id) } : undefined;
  }

  /**
   * Waits until the repository's pending blob is in the store (starting the
   * store again if an earlier attempt failed). StoreUnavailableError when
   * the store cannot take it now.
   */
  async settle(repositoryId: string, digest: string): Promise<boolean> {
    const row = await this.db.storingUpload(repositoryId, digest);
    if (!row) return false;
    await this.storeInBackground(rowUpload(row, this.path(row.id)));
    if (await this.db.storingUpload(repositoryId, digest)) {
      throw new StoreUnavailableError(`blob ${digest} could not be stored yet`);
    }
    return true;
  }

  /** At start-up: sessions a restart left between verification and the store go on. */
  async resumeStoring(): Promise<number> {
    const rows = await this.db.storingUploads();
    for (const row of rows) void this.storeInBackground(rowUpload(row, this.path(row.id)));
    if (rows.length) this.log.info({ blobs: rows.length }, 'resuming blobs on their way to the store');
    return rows.length;
  }

  /** Cancels sessions idle longer than the TTL (their staged bytes never reached the store). */
  async reapIdle(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.o.sessionTtl * 1000).toISOString();
    let n = 0;
    for (const row of await this.db.uploadsIdleSince(cutoff)) {
      if (this.storing.has(row.id)) continue;
      await this.locked(row.id, async () => {
        this.live.delete(row.id);
        await this.db.deleteUpload(row.id);
        await rm(this.path(row.id), { force: true });
      });
      n++;
    }
    if (n) this.log.info({ sessions: n }, 'cancelled idle upload sessions');
    return n;
  }

  /** Resolves when every background store of this process has ended (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.storing.size) await Promise.allSettled([...this.storing.values()]);
  }

  // ---- internals ----

  private async session(repo: Repository, id: string): Promise<LiveUpload> {
    const live = this.live.get(id);
    if (live) {
      if (live.repositoryId !== repo.id) throw unknownUpload(id);
      return live;
    }
    const row = await this.db.getUpload(id);
    if (!row || row.repositoryId !== repo.id || row.digest) throw unknownUpload(id);
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

  private async receive(up: LiveUpload, chunk: ChunkInput): Promise<void> {
    const file = up.file;
    let exact: number | undefined;
    if (chunk.range) {
      const { start, end } = chunk.range;
      if (start !== file.size || end < start) {
        await drain(chunk.body);
        throw ociError(
          'BLOB_UPLOAD_INVALID',
          `chunk out of order: the next byte expected is ${file.size}`,
          { range: `${start}-${end}`, offset: file.size },
          416,
        );
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
    try {
      await file.append(chunk.body, exact);
    } catch (e) {
      // the file is back at its previous size
      if (e instanceof ChunkSizeMismatch) throw ociError('SIZE_INVALID', e.message);
      throw e;
    }
    await this.db.setUploadSize(up.id, file.size);
  }

  /** Sends a verified staging file to the store, once at a time per session; records the blob when done. */
  private storeInBackground(up: {
    id: string;
    repositoryId: string;
    digest: string;
    size: number;
    path: string;
  }) {
    const running = this.storing.get(up.id);
    if (running) return running;
    const run = (async () => {
      try {
        await this.commit(up);
      } catch (e) {
        // the session stays "storing": a manifest push that needs the blob retries
        this.log.warn(
          { upload: up.id, digest: up.digest, err: e instanceof Error ? e.message : String(e) },
          'could not store a blob yet',
        );
      } finally {
        this.storing.delete(up.id);
      }
    })();
    this.storing.set(up.id, run);
    return run;
  }

  /** Records the verified blob: de-duplicated against every repository, stored once. */
  private async commit(up: { id: string; repositoryId: string; digest: string; size: number; path: string }) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const inFlight = this.uploadingDigests.get(up.digest);
      if (inFlight) await inFlight.catch(() => undefined);
      if (!(await this.db.getBlob(up.digest))) {
        const putting = this.store.put(
          up.size === 0 ? Buffer.alloc(0) : { path: up.path },
          { kind: 'blob', digest: up.digest, uploadId: up.id },
          up.size,
        );
        this.uploadingDigests.set(up.digest, putting);
        let stored;
        try {
          stored = await putting;
        } finally {
          if (this.uploadingDigests.get(up.digest) === putting) this.uploadingDigests.delete(up.digest);
        }
        this.metrics?.storeBytes('blob', up.size);
        const inserted = await this.db.insertBlob({
          digest: up.digest,
          size: up.size,
          kind: 'blob',
          mediaType: null,
          storeRef: stored.ref,
          content: null,
        });
        // a concurrent push of the same bytes won: keep one copy
        if (!inserted) await this.deleteQuietly(stored.ref, 'duplicate of a concurrently stored blob');
      } else {
        this.metrics?.dedup('blob');
      }
      // linked: done (false means the GC took the row between the two statements: store again)
      if (await this.db.linkBlob(up.repositoryId, up.digest)) {
        await this.cache?.adopt(up.digest, up.path, up.size);
        await this.db.deleteUpload(up.id);
        await rm(up.path, { force: true });
        return;
      }
    }
    throw new Error(`could not record blob ${up.digest} after 3 attempts`);
  }

  /** Ends a session: its row and staged bytes. */
  private async discard(up: LiveUpload): Promise<void> {
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

function rowUpload(row: UploadRow, path: string) {
  return { id: row.id, repositoryId: row.repositoryId, digest: row.digest as string, size: row.size, path };
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

export type { BlobRow };
