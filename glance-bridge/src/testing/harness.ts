// Unit-test plumbing (not built): a registry core on an in-memory SQLite
// database and the filesystem driver in a temp directory, a silent logger,
// and small content helpers. No network, no OpenStack.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openDatabase } from '@berth/service-kit';
import pino from 'pino';

import { BlobCache } from '../core/blob-cache';
import type { BootImages } from '../core/boot-images';
import { Registry } from '../core/registry';
import { UploadService } from '../core/uploads';
import { registryMigrations } from '../db/migrations';
import { RegistryDb, type Repository } from '../db/registry-db';
import type { RegistryTables } from '../db/schema';
import type { BlobStore, ObjectReader } from '../storage/driver';
import { FilesystemBlobStore } from '../storage/filesystem';

export const silent = pino({ level: 'silent' });

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Harness {
  dir: string;
  db: RegistryDb;
  store: BlobStore;
  uploads: UploadService;
  registry: Registry;
  cache: BlobCache | undefined;
  repo(name?: string, project?: string): Promise<Repository>;
  close(): Promise<void>;
}

export async function harness(
  o: {
    store?: (dir: string) => BlobStore;
    bootImages?: BootImages;
    cacheBytes?: number;
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'gb-unit-'));
  const handle = await openDatabase<RegistryTables>('sqlite://', {
    migrations: registryMigrations('sqlite'),
  });
  const db = new RegistryDb(handle.db);
  const store = o.store ? o.store(dir) : new FilesystemBlobStore(join(dir, 'objects'));
  let cache: BlobCache | undefined;
  if (o.cacheBytes) {
    cache = new BlobCache(join(dir, 'cache'), o.cacheBytes, silent);
    await cache.init();
  }
  const uploads = new UploadService(
    db,
    store,
    {
      stagingDir: join(dir, 'uploads'),
      sessionTtl: 3600,
    },
    silent,
    undefined,
    cache,
  );
  const registry = new Registry(
    db,
    store,
    uploads,
    o.bootImages,
    { maxManifestBytes: 4 << 20, registerOnPush: true },
    silent,
    undefined,
    cache,
  );
  return {
    dir,
    db,
    store,
    uploads,
    registry,
    cache,
    repo: (name = 'app', project = 'p1') => db.ensureRepository(project, name),
    close: async () => {
      await uploads.idle();
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function* chunks(...parts: Array<Buffer | string>): AsyncIterable<Buffer> {
  for (const p of parts) yield Buffer.isBuffer(p) ? p : Buffer.from(p);
}

export const random = (n: number) => randomBytes(n);

/** Pushes a blob through an upload session; returns its digest. */
export async function pushBlob(h: Harness, repo: Repository, bytes: Buffer): Promise<string> {
  const s = await h.uploads.start(repo);
  const row = await h.uploads.complete(repo, s.id, sha256(bytes), { body: chunks(bytes) });
  await h.uploads.idle();
  return row.digest;
}

export function ociManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: sha256(l),
        size: l.length,
      })),
      ...extra,
    }),
  );
}

/** All bytes of an object reader (a stream or a file range). */
export async function readAll(r: ObjectReader): Promise<Buffer> {
  const src = r.body ?? createReadStream(r.file?.path as string, { start: r.file?.start, end: r.file?.end });
  const out: Buffer[] = [];
  for await (const c of src) out.push(c as Buffer);
  return Buffer.concat(out);
}
