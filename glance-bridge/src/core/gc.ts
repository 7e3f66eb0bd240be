// Garbage collection, as a command run by operators (or cron): what no
// repository references any more leaves the store after a grace period.
//
//   1. upload sessions idle past their TTL: staged bytes removed
//   2. (delete_untagged) manifests no tag, index or live subject keeps
//   3. blobs and manifests no repository links or references, idle longer
//      than the grace period: row deleted (atomically re-checked), then the
//      Glance image
//   4. store objects the database does not know (a crash between Glance and
//      SQL, a failed push whose cleanup could not reach Glance), older than
//      the grace period
//   5. boot images whose manifest left its repository

import type { Logger } from '@berth/service-kit';

import type { RegistryDb } from '../db/registry-db';
import type { BlobStore } from '../storage/driver';
import type { BlobCache } from './blob-cache';
import type { BootImages } from './boot-images';
import type { UploadService } from './uploads';

export interface GcOptions {
  /** seconds */
  gracePeriod: number;
  deleteUntagged: boolean;
  dryRun: boolean;
  now?: number;
}

export interface GcReport {
  dryRun: boolean;
  uploadsCancelled: number;
  manifestsDeleted: number;
  blobsDeleted: number;
  bytesFreed: number;
  orphansDeleted: number;
  bootImagesDeleted: number;
  errors: string[];
}

export async function collectGarbage(
  deps: {
    db: RegistryDb;
    store: BlobStore;
    uploads: UploadService;
    bootImages?: BootImages;
    cache?: BlobCache;
    log: Logger;
  },
  o: GcOptions,
): Promise<GcReport> {
  const { db, store, log } = deps;
  const now = o.now ?? Date.now();
  const cutoff = new Date(now - o.gracePeriod * 1000).toISOString();
  const report: GcReport = {
    dryRun: o.dryRun,
    uploadsCancelled: 0,
    manifestsDeleted: 0,
    blobsDeleted: 0,
    bytesFreed: 0,
    orphansDeleted: 0,
    bootImagesDeleted: 0,
    errors: [],
  };
  const fail = (what: string, e: unknown) => {
    report.errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    log.warn({ err: String(e) }, `gc: ${what} failed`);
  };

  if (!o.dryRun) report.uploadsCancelled = await deps.uploads.reapIdle(now);

  if (o.deleteUntagged) {
    for (const m of await db.untaggedManifests(cutoff)) {
      // a referrer stays while its subject is in the repository
      if (m.subject && (await db.manifestDigests(m.repositoryId, [m.subject])).size) continue;
      if (!o.dryRun) await db.deleteManifest(m.repositoryId, m.digest);
      report.manifestsDeleted++;
    }
  }

  for (const b of await db.unreferencedBlobs(cutoff)) {
    if (o.dryRun) {
      report.blobsDeleted++;
      report.bytesFreed += b.size;
      continue;
    }
    // the row goes first, re-checked in the same statement: a push linking it meanwhile wins
    if (!(await db.deleteBlobIfUnreferenced(b.digest, cutoff))) continue;
    try {
      await store.delete(b.storeRef);
      await deps.cache?.remove(b.digest);
      report.blobsDeleted++;
      report.bytesFreed += b.size;
    } catch (e) {
      fail(`deleting ${b.digest} (${b.storeRef}) from the store; it will be collected as an orphan`, e);
    }
  }

  const known = await db.storeRefs();
  const sessions = await db.uploadIds();
  for await (const obj of store.list()) {
    if (known.has(obj.ref) || obj.createdAt.toISOString() >= cutoff) continue;
    if (obj.uploadId && sessions.has(obj.uploadId)) continue;
    report.orphansDeleted++;
    if (o.dryRun) continue;
    try {
      await store.delete(obj.ref);
    } catch (e) {
      fail(`deleting orphan ${obj.ref}`, e);
    }
  }

  if (deps.bootImages) {
    for (const bi of await db.allBootImages()) {
      if ((await db.manifestDigests(bi.repositoryId, [bi.digest])).size) continue;
      report.bootImagesDeleted++;
      if (o.dryRun) continue;
      try {
        await deps.bootImages.remove(bi);
      } catch (e) {
        fail(`deleting boot image ${bi.imageId}`, e);
      }
    }
  }
  log.info({ ...report }, 'garbage collection done');
  return report;
}
