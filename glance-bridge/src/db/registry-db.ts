// Every query the registry core runs, in one place, on Kysely so the same
// code serves SQLite and PostgreSQL. Writes that must stay consistent (a
// manifest with its references and tag) run in one transaction.

import { randomUUID } from 'node:crypto';

import { type Kysely, sql, type Transaction } from 'kysely';

import type {
  BlobsTable,
  BootImagesTable,
  ManifestsTable,
  RegistryTables,
  RepositoriesTable,
  UploadsTable,
} from './schema';

export type Db = Kysely<RegistryTables>;

export interface Repository {
  id: string;
  projectId: string;
  name: string;
  public: boolean;
  createdAt: string;
}

export interface BlobRow {
  digest: string;
  size: number;
  kind: 'blob' | 'manifest';
  mediaType: string | null;
  storeRef: string;
  content: Buffer | null;
  createdAt: string;
  lastUsedAt: string;
}

export interface ManifestRow {
  repositoryId: string;
  digest: string;
  mediaType: string;
  size: number;
  subject: string | null;
  artifactType: string | null;
  annotations: Record<string, string> | null;
  configMediaType: string | null;
  createdAt: string;
}

export interface UploadRow {
  id: string;
  repositoryId: string;
  size: number;
  startedAt: string;
  updatedAt: string;
  /** verified, on its way to the store */
  digest: string | null;
}

export interface BootImageRow {
  imageId: string;
  projectId: string;
  repositoryId: string;
  tag: string | null;
  digest: string;
  createdAt: string;
}

export interface CatalogEntry {
  repositoryId: string;
  projectId: string;
  projectName: string;
  name: string;
  public: boolean;
}

const now = () => new Date().toISOString();

function repoOf(r: RepositoriesTable): Repository {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    public: Number(r.public) === 1,
    createdAt: r.created_at,
  };
}

function blobOf(r: BlobsTable): BlobRow {
  return {
    digest: r.digest,
    size: Number(r.size),
    kind: r.kind,
    mediaType: r.media_type,
    storeRef: r.store_ref,
    content: r.content === null ? null : Buffer.from(r.content),
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

function manifestOf(r: ManifestsTable): ManifestRow {
  return {
    repositoryId: r.repository_id,
    digest: r.digest,
    mediaType: r.media_type,
    size: Number(r.size),
    subject: r.subject,
    artifactType: r.artifact_type,
    annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
    configMediaType: r.config_media_type,
    createdAt: r.created_at,
  };
}

function uploadOf(r: UploadsTable): UploadRow {
  return {
    id: r.id,
    repositoryId: r.repository_id,
    size: Number(r.size),
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    digest: r.digest ?? null,
  };
}

function bootOf(r: BootImagesTable): BootImageRow {
  return {
    imageId: r.image_id,
    projectId: r.project_id,
    repositoryId: r.repository_id,
    tag: r.tag,
    digest: r.digest,
    createdAt: r.created_at,
  };
}

/** Tag order of the spec: case-insensitive, ties broken by code points so the order is total. */
export function compareTags(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class RegistryDb {
  constructor(readonly db: Db) {}

  // ---- projects ----

  async rememberProject(id: string, name: string, domainId: string | null): Promise<void> {
    const at = now();
    await this.db
      .insertInto('oci_projects')
      .values({ id, name, domain_id: domainId, updated_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ name, domain_id: domainId, updated_at: at }))
      .execute();
  }

  async projectName(id: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('oci_projects').select('name').where('id', '=', id).executeTakeFirst();
    return r?.name;
  }

  // ---- repositories ----

  async getRepository(projectId: string, name: string): Promise<Repository | undefined> {
    const r = await this.db
      .selectFrom('oci_repositories')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    return r && repoOf(r);
  }

  async getRepositoryById(id: string): Promise<Repository | undefined> {
    const r = await this.db
      .selectFrom('oci_repositories')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return r && repoOf(r);
  }

  async ensureRepository(projectId: string, name: string): Promise<Repository> {
    const existing = await this.getRepository(projectId, name);
    if (existing) return existing;
    await this.db
      .insertInto('oci_repositories')
      .values({ id: randomUUID(), project_id: projectId, name, public: 0, created_at: now() })
      .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
      .execute();
    const created = await this.getRepository(projectId, name);
    if (!created) throw new Error(`repository ${projectId}/${name} vanished while being created`);
    return created;
  }

  async setPublic(repositoryId: string, isPublic: boolean): Promise<void> {
    await this.db
      .updateTable('oci_repositories')
      .set({ public: isPublic ? 1 : 0 })
      .where('id', '=', repositoryId)
      .execute();
  }

  /**
   * Repositories named `<segment>/<name>`, where the segment is a project id
   * or the last known name of a project (public ones only, if asked).
   */
  async findRepositories(segment: string, name: string, publicOnly: boolean): Promise<Repository[]> {
    let q = this.db
      .selectFrom('oci_repositories as r')
      .leftJoin('oci_projects as p', 'p.id', 'r.project_id')
      .selectAll('r')
      .where('r.name', '=', name)
      .where((eb) => eb.or([eb('r.project_id', '=', segment), eb('p.name', '=', segment)]));
    if (publicOnly) q = q.where('r.public', '=', 1);
    return (await q.execute()).map(repoOf);
  }

  /** Repositories with content, of the given projects ('all' for admins) and every public one. */
  async catalog(projects: string[] | 'all'): Promise<CatalogEntry[]> {
    let q = this.db
      .selectFrom('oci_repositories as r')
      .leftJoin('oci_projects as p', 'p.id', 'r.project_id')
      .select([
        'r.id as id',
        'r.project_id as project_id',
        'r.name as name',
        'r.public as public',
        'p.name as pname',
      ])
      .where((eb) =>
        eb.or([
          eb.exists(
            eb.selectFrom('oci_manifests as m').select('m.digest').whereRef('m.repository_id', '=', 'r.id'),
          ),
          eb.exists(
            eb.selectFrom('oci_repo_blobs as b').select('b.digest').whereRef('b.repository_id', '=', 'r.id'),
          ),
        ]),
      );
    if (projects !== 'all') {
      const list = projects.length ? projects : ['-'];
      q = q.where((eb) => eb.or([eb('r.project_id', 'in', list), eb('r.public', '=', 1)]));
    }
    const rows = await q.execute();
    return rows.map((r) => ({
      repositoryId: r.id,
      projectId: r.project_id,
      projectName: r.pname ?? r.project_id,
      name: r.name,
      public: Number(r.public) === 1,
    }));
  }

  async listRepositories(projectId: string | undefined): Promise<CatalogEntry[]> {
    let q = this.db
      .selectFrom('oci_repositories as r')
      .leftJoin('oci_projects as p', 'p.id', 'r.project_id')
      .select([
        'r.id as id',
        'r.project_id as project_id',
        'r.name as name',
        'r.public as public',
        'p.name as pname',
      ]);
    if (projectId) q = q.where('r.project_id', '=', projectId);
    const rows = await q.execute();
    return rows.map((r) => ({
      repositoryId: r.id,
      projectId: r.project_id,
      projectName: r.pname ?? r.project_id,
      name: r.name,
      public: Number(r.public) === 1,
    }));
  }

  // ---- blobs ----

  async getBlob(digest: string): Promise<BlobRow | undefined> {
    const r = await this.db
      .selectFrom('oci_blobs')
      .selectAll()
      .where('digest', '=', digest)
      .executeTakeFirst();
    return r && blobOf(r);
  }

  /** Records a stored object as the blob `digest`. False when the digest was already known (a race lost). */
  async insertBlob(b: Omit<BlobRow, 'createdAt' | 'lastUsedAt'>): Promise<boolean> {
    const at = now();
    const res = await this.db
      .insertInto('oci_blobs')
      .values({
        digest: b.digest,
        size: b.size,
        kind: b.kind,
        media_type: b.mediaType,
        store_ref: b.storeRef,
        content: b.content,
        created_at: at,
        last_used_at: at,
      })
      .onConflict((oc) => oc.column('digest').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Size of each digest this repository may serve as a blob (linked, or a manifest of it). */
  async servableBlobs(repositoryId: string, digests: string[]): Promise<Map<string, BlobRow>> {
    const out = new Map<string, BlobRow>();
    if (digests.length === 0) return out;
    const rows = await this.db
      .selectFrom('oci_blobs as b')
      .selectAll('b')
      .where('b.digest', 'in', digests)
      .where((eb) =>
        eb.or([
          eb.exists(
            eb
              .selectFrom('oci_repo_blobs as l')
              .select('l.digest')
              .whereRef('l.digest', '=', 'b.digest')
              .where('l.repository_id', '=', repositoryId),
          ),
          eb.exists(
            eb
              .selectFrom('oci_manifests as m')
              .select('m.digest')
              .whereRef('m.digest', '=', 'b.digest')
              .where('m.repository_id', '=', repositoryId),
          ),
        ]),
      )
      .execute();
    for (const r of rows) out.set(r.digest, blobOf(r));
    return out;
  }

  /** Links a known blob into a repository (a push or a mount). False when the blob is unknown (GC took it). */
  async linkBlob(repositoryId: string, digest: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const at = now();
      const touched = await tx
        .updateTable('oci_blobs')
        .set({ last_used_at: at })
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (Number(touched.numUpdatedRows) === 0) return false;
      await tx
        .insertInto('oci_repo_blobs')
        .values({ repository_id: repositoryId, digest, created_at: at })
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
        .execute();
      return true;
    });
  }

  async unlinkBlob(repositoryId: string, digest: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('oci_repo_blobs')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async isLinked(repositoryId: string, digest: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('oci_repo_blobs')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return !!r;
  }

  /** A repository of the project that has the blob linked (for mounts without `from`). */
  async linkedInProject(projectId: string, digest: string): Promise<string | undefined> {
    const r = await this.db
      .selectFrom('oci_repo_blobs as l')
      .innerJoin('oci_repositories as r', 'r.id', 'l.repository_id')
      .select('l.repository_id')
      .where('r.project_id', '=', projectId)
      .where('l.digest', '=', digest)
      .executeTakeFirst();
    return r?.repository_id;
  }

  // ---- manifests and tags ----

  async getManifest(
    repositoryId: string,
    digest: string,
  ): Promise<(ManifestRow & { content: Buffer | null }) | undefined> {
    const r = await this.db
      .selectFrom('oci_manifests as m')
      .innerJoin('oci_blobs as b', 'b.digest', 'm.digest')
      .selectAll('m')
      .select('b.content')
      .where('m.repository_id', '=', repositoryId)
      .where('m.digest', '=', digest)
      .executeTakeFirst();
    if (!r) return undefined;
    const { content, ...m } = r;
    return { ...manifestOf(m), content: content === null ? null : Buffer.from(content) };
  }

  async manifestDigests(repositoryId: string, digests: string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('oci_manifests')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('digest', 'in', digests)
      .execute();
    return new Set(rows.map((r) => r.digest));
  }

  /**
   * Records a manifest in a repository with what it references, and moves
   * the tag to it, in one transaction. Returns the digest the tag pointed
   * at before, if any.
   */
  async putManifest(
    m: Omit<ManifestRow, 'createdAt'>,
    refs: string[],
    tag: string | undefined,
  ): Promise<{ previousTagDigest: string | undefined }> {
    return this.db.transaction().execute(async (tx) => {
      const at = now();
      await tx
        .insertInto('oci_manifests')
        .values({
          repository_id: m.repositoryId,
          digest: m.digest,
          media_type: m.mediaType,
          size: m.size,
          subject: m.subject,
          artifact_type: m.artifactType,
          annotations: m.annotations ? JSON.stringify(m.annotations) : null,
          config_media_type: m.configMediaType,
          created_at: at,
        })
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
        .execute();
      await tx.updateTable('oci_blobs').set({ last_used_at: at }).where('digest', '=', m.digest).execute();
      for (const ref of new Set(refs)) {
        await tx
          .insertInto('oci_manifest_refs')
          .values({ repository_id: m.repositoryId, manifest_digest: m.digest, ref_digest: ref })
          .onConflict((oc) => oc.columns(['repository_id', 'manifest_digest', 'ref_digest']).doNothing())
          .execute();
      }
      let previousTagDigest: string | undefined;
      if (tag !== undefined) previousTagDigest = await this.setTag(tx, m.repositoryId, tag, m.digest, at);
      return { previousTagDigest };
    });
  }

  private async setTag(
    tx: Transaction<RegistryTables>,
    repositoryId: string,
    tag: string,
    digest: string,
    at: string,
  ): Promise<string | undefined> {
    const before = await tx
      .selectFrom('oci_tags')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('name', '=', tag)
      .executeTakeFirst();
    await tx
      .insertInto('oci_tags')
      .values({ repository_id: repositoryId, name: tag, digest, updated_at: at })
      .onConflict((oc) => oc.columns(['repository_id', 'name']).doUpdateSet({ digest, updated_at: at }))
      .execute();
    return before?.digest;
  }

  /** Deletes a manifest from a repository with its tags and references; returns the tags it had. */
  async deleteManifest(repositoryId: string, digest: string): Promise<{ deleted: boolean; tags: string[] }> {
    return this.db.transaction().execute(async (tx) => {
      const tags = await tx
        .selectFrom('oci_tags')
        .select('name')
        .where('repository_id', '=', repositoryId)
        .where('digest', '=', digest)
        .execute();
      await tx
        .deleteFrom('oci_tags')
        .where('repository_id', '=', repositoryId)
        .where('digest', '=', digest)
        .execute();
      await tx
        .deleteFrom('oci_manifest_refs')
        .where('repository_id', '=', repositoryId)
        .where('manifest_digest', '=', digest)
        .execute();
      const res = await tx
        .deleteFrom('oci_manifests')
        .where('repository_id', '=', repositoryId)
        .where('digest', '=', digest)
        .executeTakeFirst();
      return { deleted: Number(res.numDeletedRows) > 0, tags: tags.map((t) => t.name) };
    });
  }

  async getTag(repositoryId: string, tag: string): Promise<string | undefined> {
    const r = await this.db
      .selectFrom('oci_tags')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('name', '=', tag)
      .executeTakeFirst();
    return r?.digest;
  }

  async deleteTag(repositoryId: string, tag: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('oci_tags')
      .where('repository_id', '=', repositoryId)
      .where('name', '=', tag)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** All tag names of a repository in the spec's order. */
  async tagNames(repositoryId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('oci_tags')
      .select('name')
      .where('repository_id', '=', repositoryId)
      .execute();
    return rows.map((r) => r.name).sort(compareTags);
  }

  async hasContent(repositoryId: string): Promise<boolean> {
    const m = await this.db
      .selectFrom('oci_manifests')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .executeTakeFirst();
    if (m) return true;
    const b = await this.db
      .selectFrom('oci_repo_blobs')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .executeTakeFirst();
    return !!b;
  }

  /** Manifests of the repository whose `subject` is `digest`. */
  async referrers(repositoryId: string, subject: string): Promise<ManifestRow[]> {
    const rows = await this.db
      .selectFrom('oci_manifests')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('subject', '=', subject)
      .orderBy('created_at')
      .orderBy('digest')
      .execute();
    return rows.map(manifestOf);
  }

  // ---- uploads ----

  async insertUpload(repositoryId: string): Promise<UploadRow> {
    const at = now();
    const row = {
      id: randomUUID(),
      repository_id: repositoryId,
      size: 0,
      started_at: at,
      updated_at: at,
      digest: null,
    };
    await this.db.insertInto('oci_uploads').values(row).execute();
    return uploadOf(row);
  }

  async getUpload(id: string): Promise<UploadRow | undefined> {
    const r = await this.db.selectFrom('oci_uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return r && uploadOf(r);
  }

  async setUploadSize(id: string, size: number): Promise<void> {
    await this.db.updateTable('oci_uploads').set({ size, updated_at: now() }).where('id', '=', id).execute();
  }

  /** The upload's bytes are verified as `digest`: it is now on its way to the store. */
  async markStoring(id: string, digest: string, size: number): Promise<void> {
    await this.db
      .updateTable('oci_uploads')
      .set({ digest, size, updated_at: now() })
      .where('id', '=', id)
      .execute();
  }

  /** The repository's upload of `digest` still on its way to the store, if any. */
  async storingUpload(repositoryId: string, digest: string): Promise<UploadRow | undefined> {
    const r = await this.db
      .selectFrom('oci_uploads')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .orderBy('updated_at', 'desc')
      .executeTakeFirst();
    return r && uploadOf(r);
  }

  async storingUploads(): Promise<UploadRow[]> {
    const rows = await this.db
      .selectFrom('oci_uploads')
      .selectAll()
      .where('digest', 'is not', null)
      .execute();
    return rows.map(uploadOf);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('oci_uploads').where('id', '=', id).execute();
  }

  async uploadsIdleSince(before: string): Promise<UploadRow[]> {
    const rows = await this.db
      .selectFrom('oci_uploads')
      .selectAll()
      .where('updated_at', '<', before)
      .execute();
    return rows.map(uploadOf);
  }

  async uploadIds(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('oci_uploads').select('id').execute();
    return new Set(rows.map((r) => r.id));
  }

  // ---- boot images (Nova) ----

  async insertBootImage(b: Omit<BootImageRow, 'createdAt'>): Promise<void> {
    await this.db
      .insertInto('oci_boot_images')
      .values({
        image_id: b.imageId,
        project_id: b.projectId,
        repository_id: b.repositoryId,
        tag: b.tag,
        digest: b.digest,
        created_at: now(),
      })
      .execute();
  }

  async bootImages(filter: {
    repositoryId?: string;
    tag?: string;
    digest?: string;
    projectId?: string;
  }): Promise<BootImageRow[]> {
    let q = this.db.selectFrom('oci_boot_images').selectAll();
    if (filter.repositoryId) q = q.where('repository_id', '=', filter.repositoryId);
    if (filter.tag !== undefined) q = q.where('tag', '=', filter.tag);
    if (filter.digest) q = q.where('digest', '=', filter.digest);
    if (filter.projectId) q = q.where('project_id', '=', filter.projectId);
    return (await q.execute()).map(bootOf);
  }

  async allBootImages(): Promise<BootImageRow[]> {
    return (await this.db.selectFrom('oci_boot_images').selectAll().execute()).map(bootOf);
  }

  async untagBootImage(imageId: string): Promise<void> {
    await this.db.updateTable('oci_boot_images').set({ tag: null }).where('image_id', '=', imageId).execute();
  }

  async deleteBootImage(imageId: string): Promise<void> {
    await this.db.deleteFrom('oci_boot_images').where('image_id', '=', imageId).execute();
  }

  // ---- garbage collection ----

  /** Blobs no repository links or references (as a blob, a manifest or a manifest's reference), idle since `before`. */
  async unreferencedBlobs(before: string): Promise<BlobRow[]> {
    const rows = await this.db
      .selectFrom('oci_blobs as b')
      .selectAll('b')
      .where('b.last_used_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(selectFrom('oci_repo_blobs as l').select('l.digest').whereRef('l.digest', '=', 'b.digest')),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(selectFrom('oci_manifests as m').select('m.digest').whereRef('m.digest', '=', 'b.digest')),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('oci_manifest_refs as r')
              .select('r.ref_digest')
              .whereRef('r.ref_digest', '=', 'b.digest'),
          ),
        ),
      )
      .execute();
    return rows.map(blobOf);
  }

  /**
   * Deletes the blob row if it is still unreferenced and idle: the check and
   * the delete are one statement, so a push linking it meanwhile wins.
   */
  async deleteBlobIfUnreferenced(digest: string, before: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('oci_blobs')
      .where('digest', '=', digest)
      .where('last_used_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('oci_repo_blobs as l').select('l.digest').where('l.digest', '=', digest))),
      )
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('oci_manifests as m').select('m.digest').where('m.digest', '=', digest))),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('oci_manifest_refs as r').select('r.ref_digest').where('r.ref_digest', '=', digest),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Every store_ref the database knows (objects outside this set are orphans). */
  async storeRefs(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('oci_blobs').select('store_ref').execute();
    return new Set(rows.map((r) => r.store_ref));
  }

  /** Untagged manifests no other manifest of their repository references, created before `before`. */
  async untaggedManifests(before: string): Promise<ManifestRow[]> {
    const rows = await this.db
      .selectFrom('oci_manifests as m')
      .selectAll('m')
      .where('m.created_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('oci_tags as t')
              .select('t.name')
              .whereRef('t.repository_id', '=', 'm.repository_id')
              .whereRef('t.digest', '=', 'm.digest'),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('oci_manifest_refs as r')
              .select('r.ref_digest')
              .whereRef('r.repository_id', '=', 'm.repository_id')
              .whereRef('r.ref_digest', '=', 'm.digest'),
          ),
        ),
      )
      .execute();
    return rows.map(manifestOf);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
}
