// The registry core: what each OCI operation means, independent of HTTP and
// of where bytes live. Callers hand it a repository already authorised (the
// API resolved the project and checked the caller's actions); it answers
// with rows and streams, or throws RegistryError with the OCI code.

import type { Logger } from '@berth/service-kit';

import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';

import {
  type BlobRow,
  compareTags,
  type ManifestRow,
  type RegistryDb,
  type Repository,
} from '../db/registry-db';
import type { BlobStore, ByteRange, ObjectReader } from '../storage/driver';
import type { BlobCache } from './blob-cache';
import type { BootImages } from './boot-images';
import { ociError, type RegistryError } from './errors';
import { acceptedTypes, type Descriptor, digestOf, MediaTypes, parseManifest } from './manifest';
import { parseReference, type ParsedDigest, requireDigest } from './names';
import type { UploadMetrics, UploadService } from './uploads';

/** A blob a repository serves: a stored one, or (pendingPath) one still on its way to the store. */
export type ServableBlob = Pick<BlobRow, 'digest' | 'size' | 'kind' | 'content'> & {
  storeRef?: string;
  pendingPath?: string;
};

/** A repository addressed by an authorised caller: the project is resolved already. */
export interface RepoRef {
  projectId: string;
  /** the repository inside the project */
  name: string;
  /** the full name as the client wrote it (for Location headers) */
  path: string;
}

export interface StoredManifest {
  row: ManifestRow;
  content: Buffer;
}

export interface PutManifestResult {
  digest: string;
  subject: string | undefined;
  mediaType: string;
}

export interface TagPage {
  tags: string[];
  /** the last tag of this page when more follow (for the Link header) */
  next: string | undefined;
}

export interface RegistryCoreOptions {
  maxManifestBytes: number;
  registerOnPush: boolean;
}

export class Registry {
  constructor(
    readonly db: RegistryDb,
    readonly store: BlobStore,
    readonly uploads: UploadService,
    private readonly bootImages: BootImages | undefined,
    private readonly o: RegistryCoreOptions,
    private readonly log: Logger,
    private readonly metrics?: UploadMetrics,
    private readonly cache?: BlobCache,
  ) {}

  // ---- repositories ----

  /** An existing repository, else NAME_UNKNOWN. */
  async repository(ref: RepoRef): Promise<Repository> {
    const repo = await this.db.getRepository(ref.projectId, ref.name);
    if (!repo)
      throw ociError('NAME_UNKNOWN', `repository name not known to registry: ${ref.path}`, {
        name: ref.path,
      });
    return repo;
  }

  /** The repository, created on first push. */
  async repositoryForPush(ref: RepoRef): Promise<Repository> {
    return this.db.ensureRepository(ref.projectId, ref.name);
  }

  // ---- blobs ----

  /**
   * A blob the repository may serve (stored, or verified and still on its
   * way to the store), else BLOB_UNKNOWN.
   */
  async statBlob(ref: RepoRef, digestParam: string): Promise<ServableBlob> {
    const digest = parsePathDigest(digestParam, 'BLOB_UNKNOWN');
    const repo = await this.repository(ref);
    const blob = (await this.db.servableBlobs(repo.id, [digest.value])).get(digest.value);
    if (blob) return blob;
    const pending = await this.uploads.pending(repo.id, digest.value);
    if (pending)
      return {
        digest: digest.value,
        size: pending.size,
        kind: 'blob',
        content: null,
        pendingPath: pending.path,
      };
    throw ociError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: digest.value });
  }

  /**
   * The blob's bytes: manifests from SQL, pending blobs from their staging
   * file, blobs from the local cache, else streamed from the store.
   */
  async openBlob(blob: ServableBlob, range?: ByteRange): Promise<ObjectReader> {
    if (blob.content && blob.kind === 'manifest') {
      const bytes = range ? blob.content.subarray(range.start, range.end + 1) : blob.content;
      return { body: Readable.from([bytes]), length: bytes.length };
    }
    if (blob.pendingPath) {
      if (await stat(blob.pendingPath).catch(() => undefined)) {
        const path = blob.pendingPath;
        return {
          file: range ? { path, start: range.start, end: range.end } : { path },
          length: range ? range.end - range.start + 1 : blob.size,
        };
      }
      // it reached the store meanwhile
      const stored = await this.db.getBlob(blob.digest);
      if (!stored) throw ociError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: blob.digest });
      blob = stored;
    }
    const cached = await this.cache?.open(blob.digest, blob.size, range);
    if (cached) return cached;
    const r = await this.store.read(blob.storeRef as string, range);
    if (range || !this.cache || !r.body) return r;
    return { body: this.cache.fill(blob.digest, blob.size, r.body), length: r.length };
  }

  /** Unlinks a blob from the repository; the GC deletes it once nothing references it. */
  async deleteBlob(ref: RepoRef, digestParam: string): Promise<void> {
    const digest = parsePathDigest(digestParam, 'BLOB_UNKNOWN');
    const repo = await this.repository(ref);
    // a blob still on its way to the store is linked once it arrives: let it, then unlink
    await this.uploads.settle(repo.id, digest.value).catch(() => undefined);
    if (!(await this.db.unlinkBlob(repo.id, digest.value))) {
      throw ociError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: digest.value });
    }
  }

  /**
   * Cross-repository mount: links the blob if the source repository (which
   * the caller may pull) has it. Without `from`, any repository of the same
   * project may serve as source. Returns undefined when it cannot mount.
   */
  async mount(
    target: Repository,
    digestParam: string,
    from: Repository | undefined,
  ): Promise<BlobRow | undefined> {
    const digest = parsePathDigest(digestParam, 'DIGEST_INVALID');
    let source: string | undefined;
    if (from) {
      if (await this.servable(from.id, digest.value)) source = from.id;
    } else {
      source = (await this.servable(target.id, digest.value))
        ? target.id
        : await this.db.linkedInProject(target.projectId, digest.value);
    }
    if (!source) return undefined;
    if (!(await this.db.linkBlob(target.id, digest.value))) return undefined;
    this.metrics?.dedup('blob');
    return this.db.getBlob(digest.value);
  }

  /**
   * Whether the repository serves the blob from the store, after waiting for
   * it if it is still on its way there (false if the store cannot take it now).
   */
  private async servable(repositoryId: string, digest: string): Promise<boolean> {
    if ((await this.db.servableBlobs(repositoryId, [digest])).has(digest)) return true;
    try {
      return await this.uploads.settle(repositoryId, digest);
    } catch {
      return false;
    }
  }

  // ---- manifests ----

  async putManifest(
    ref: RepoRef,
    reference: string,
    body: Buffer,
    contentType: string | undefined,
  ): Promise<PutManifestResult> {
    const r = parseReference(reference);
    if (r.kind === 'invalid') {
      throw ociError(reference.includes(':') ? 'DIGEST_INVALID' : 'MANIFEST_INVALID', r.reason, {
        reference,
      });
    }
    const parsed = parseManifest(body, contentType);
    const digest = digestOf(body, r.kind === 'digest' ? r.digest.algorithm : 'sha256');
    if (r.kind === 'digest' && r.digest.value !== digest) {
      throw ociError('DIGEST_INVALID', 'the manifest digest does not match the reference', {
        reference,
        digest,
      });
    }
    const repo = await this.repositoryForPush(ref);
    await this.checkReferences(repo, parsed.blobs, parsed.manifests);

    // the bytes: once per digest in the whole registry
    let stored = await this.db.getBlob(digest);
    if (!stored) {
      const obj = await this.store.put(
        body,
        { kind: 'manifest', digest, mediaType: parsed.mediaType },
        body.length,
      );
      this.metrics?.storeBytes('manifest', body.length);
      const inserted = await this.db.insertBlob({
        digest,
        size: body.length,
        kind: 'manifest',
        mediaType: parsed.mediaType,
        storeRef: obj.ref,
        content: body,
      });
      if (!inserted) await this.store.delete(obj.ref).catch(() => undefined);
      stored = await this.db.getBlob(digest);
    } else {
      this.metrics?.dedup('manifest');
    }
    const tag = r.kind === 'tag' ? r.tag : undefined;
    const { previousTagDigest } = await this.db.putManifest(
      {
        repositoryId: repo.id,
        digest,
        mediaType: parsed.mediaType,
        size: body.length,
        subject: parsed.subject ?? null,
        artifactType: parsed.artifactType ?? null,
        annotations: parsed.annotations ?? null,
        configMediaType: parsed.configMediaType ?? null,
      },
      [...parsed.blobs, ...parsed.manifests].map((d) => d.digest),
      tag,
    );
    if (tag && parsed.runnable && this.o.registerOnPush && this.bootImages && previousTagDigest !== digest) {
      await this.bootImages
        .registerTag(repo, tag, digest, parsed.mediaType)
        .catch((e: unknown) =>
          this.log.warn({ repository: ref.path, tag, err: String(e) }, 'could not register a boot image'),
        );
    }
    return { digest, subject: parsed.subject, mediaType: parsed.mediaType };
  }

  /** Every referenced blob and child manifest must be in the repository (MANIFEST_BLOB_UNKNOWN). */
  private async checkReferences(
    repo: Repository,
    blobs: Descriptor[],
    manifests: Descriptor[],
  ): Promise<void> {
    const problems: RegistryError[] = [];
    const digests = blobs.map((b) => b.digest);
    let have = await this.db.servableBlobs(repo.id, digests);
    // blobs still on their way to the store: the manifest waits for them (503 if the store cannot take them)
    let settled = false;
    for (const d of new Set(digests.filter((x) => !have.has(x)))) {
      if (await this.uploads.settle(repo.id, d)) settled = true;
    }
    if (settled) have = await this.db.servableBlobs(repo.id, digests);
    for (const b of blobs) {
      const row = have.get(b.digest);
      if (!row) {
        problems.push(
          ociError('MANIFEST_BLOB_UNKNOWN', `blob unknown to registry: ${b.digest}`, { digest: b.digest }),
        );
      } else if (row.size !== b.size) {
        problems.push(
          ociError(
            'MANIFEST_INVALID',
            `descriptor size ${b.size} of ${b.digest} differs from the blob's ${row.size}`,
            {
              digest: b.digest,
              size: b.size,
              actual: row.size,
            },
          ),
        );
      }
    }
    const children = await this.db.manifestDigests(
      repo.id,
      manifests.map((m) => m.digest),
    );
    for (const m of manifests) {
      if (!children.has(m.digest)) {
        problems.push(
          ociError('MANIFEST_BLOB_UNKNOWN', `manifest unknown to registry: ${m.digest}`, {
            digest: m.digest,
          }),
        );
      }
    }
    const [first, ...more] = problems;
    if (first) {
      first.more.push(...more);
      throw first;
    }
  }

  /**
   * A manifest by tag or digest, negotiated against Accept: a stored type
   * the client does not accept is answered with the linux/amd64 child of an
   * index (when asked by tag, as distribution does), else MANIFEST_UNKNOWN.
   */
  async getManifest(
    ref: RepoRef,
    reference: string,
    accept: string | string[] | undefined,
  ): Promise<StoredManifest> {
    const r = parseReference(reference);
    if (r.kind === 'invalid') throw ociError('MANIFEST_UNKNOWN', r.reason, { reference });
    const repo = await this.repository(ref);
    const digest = r.kind === 'digest' ? r.digest.value : await this.db.getTag(repo.id, r.tag);
    const found = digest ? await this.db.getManifest(repo.id, digest) : undefined;
    if (!found || !found.content) {
      throw ociError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { reference });
    }
    const accepted = acceptedTypes(accept);
    if (!accepted || accepted.has(found.mediaType)) return { row: found, content: found.content };
    if (
      r.kind === 'tag' &&
      (found.mediaType === MediaTypes.ociIndex || found.mediaType === MediaTypes.dockerList)
    ) {
      const child = await this.defaultPlatformChild(repo, found.content, accepted);
      if (child) return child;
    }
    throw ociError(
      'MANIFEST_UNKNOWN',
      `the manifest is ${found.mediaType}, which the Accept header excludes`,
      {
        reference,
        mediaType: found.mediaType,
      },
    );
  }

  private async defaultPlatformChild(
    repo: Repository,
    index: Buffer,
    accepted: Set<string>,
  ): Promise<StoredManifest | undefined> {
    const doc = JSON.parse(index.toString('utf8')) as { manifests?: Descriptor[] };
    const child = (doc.manifests ?? []).find(
      (d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64' && accepted.has(d.mediaType),
    );
    if (!child) return undefined;
    const found = await this.db.getManifest(repo.id, child.digest);
    return found?.content ? { row: found, content: found.content } : undefined;
  }

  /** DELETE by tag removes the tag; by digest, the manifest and every tag on it. */
  async deleteManifest(ref: RepoRef, reference: string): Promise<void> {
    const r = parseReference(reference);
    if (r.kind === 'invalid') throw ociError('MANIFEST_UNKNOWN', r.reason, { reference });
    const repo = await this.repository(ref);
    if (r.kind === 'tag') {
      if (!(await this.db.deleteTag(repo.id, r.tag))) {
        throw ociError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { tag: r.tag });
      }
      await this.bootImages
        ?.tagDeleted(repo, r.tag)
        .catch((e: unknown) =>
          this.log.warn({ repository: ref.path, err: String(e) }, 'could not remove a boot image'),
        );
      return;
    }
    const { deleted } = await this.db.deleteManifest(repo.id, r.digest.value);
    if (!deleted)
      throw ociError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { digest: r.digest.value });
    await this.bootImages
      ?.manifestDeleted(repo, r.digest.value)
      .catch((e: unknown) =>
        this.log.warn({ repository: ref.path, err: String(e) }, 'could not remove a boot image'),
      );
  }

  // ---- discovery ----

  /**
   * Repository names (`<project name>/<repo>`) the caller may see: those of
   * `projects` ('all' for global readers) and every public one.
   */
  async catalog(
    projects: string[] | 'all',
    n: number | undefined,
    last: string | undefined,
  ): Promise<TagPage> {
    const names = (await this.db.catalog(projects)).map((e) => `${e.projectName}/${e.name}`);
    let all = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (last !== undefined) all = all.filter((t) => t > last);
    if (n === undefined || all.length <= n) return { tags: all, next: undefined };
    const page = all.slice(0, n);
    return { tags: page, next: n > 0 ? page[page.length - 1] : undefined };
  }

  /** Tags in the spec's order after `last` (exclusive), at most `n`. */
  async tags(ref: RepoRef, n: number | undefined, last: string | undefined): Promise<TagPage> {
    const repo = await this.repository(ref);
    let all = await this.db.tagNames(repo.id);
    if (last !== undefined) all = all.filter((t) => compareTags(t, last) > 0);
    if (n === undefined || all.length <= n) return { tags: all, next: undefined };
    const page = all.slice(0, n);
    return { tags: page, next: n > 0 ? page[page.length - 1] : undefined };
  }

  /** Referrers of a digest in the repository, as image index descriptors. Always succeeds for a known repository. */
  async referrers(ref: RepoRef, digestParam: string, artifactType: string | undefined) {
    const digest = parsePathDigest(digestParam, 'DIGEST_INVALID', 400);
    const repo = await this.repository(ref);
    let rows = await this.db.referrers(repo.id, digest.value);
    if (artifactType) rows = rows.filter((m) => m.artifactType === artifactType);
    return rows.map((m) => {
      const d: Record<string, unknown> = { mediaType: m.mediaType, digest: m.digest, size: m.size };
      if (m.artifactType) d.artifactType = m.artifactType;
      if (m.annotations && Object.keys(m.annotations).length) d.annotations = m.annotations;
      return d;
    });
  }
}

/** A digest in a URL path: an unusable one can only name nothing (404 with `code`), or is a 400. */
function parsePathDigest(s: string, code: 'BLOB_UNKNOWN' | 'DIGEST_INVALID', status?: number): ParsedDigest {
  try {
    return requireDigest(s);
  } catch (e) {
    if (code === 'BLOB_UNKNOWN') throw ociError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: s });
    throw status ? Object.assign(e as RegistryError, { status }) : e;
  }
}
