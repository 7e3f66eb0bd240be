// Making pushed images bootable by Nova without nova-docker's name
// coupling: a small Glance image in the user's project, container_format
// docker, whose properties say where the real image is (registry,
// repository, manifest digest). Berth's nova-driver agent reads them and
// pulls that digest from the bridge; the layers are never copied.
//
// Registrations pin a digest: when a tag moves, the tag's name goes to a new
// image and the old one is renamed <repo>@sha256-<12 hex>, so servers booted
// from it still rebuild the same bytes.
//
// Names never contain ':'. Glance reads `GET /v2/images?name=a:b` as the
// filter operator "a" (and answers 400), and the openstack CLI resolves
// `--image NAME` with exactly that query; so `<repo>:<tag>` would be a name
// nobody could boot by. A tag's image is `<repo>_<tag>`.

import type { Logger } from '@berth/service-kit';

import type { BootImageRow, RegistryDb, Repository } from '../db/registry-db';

/** Glance image properties of the Nova boot contract (README "Nova boot contract"). */
export const BOOT_PROPS = {
  registry: 'berth_oci_registry',
  registryUrl: 'berth_oci_registry_url',
  repository: 'berth_oci_repository',
  digest: 'berth_oci_digest',
  mediaType: 'berth_oci_media_type',
  tag: 'berth_oci_tag',
} as const;

/** Glance name of a tag's image: `<repo>_<tag>` (see above why not `<repo>:<tag>`). */
export const tagImageName = (repo: string, tag: string) => `${repo}_${tag}`;
/** Glance name of a digest's image: `<repo>@sha256-<first 12 hex digits>`. */
export const digestImageName = (repo: string, digest: string) =>
  `${repo}@${digest.replace(':', '-').slice(0, digest.indexOf(':') + 13)}`;

export interface BootImageSpec {
  /** the project that will own the image (the repository's) */
  projectId: string;
  name: string;
  /** host[:port] as docker writes registries */
  registry: string;
  /** http(s) URL of the registry */
  registryUrl: string;
  /** `<project id>/<repo>` */
  repository: string;
  digest: string;
  mediaType: string;
  tag: string | undefined;
}

/** Where boot images are created: Glance in production (storage/glance-boot-images.ts). */
export interface BootImagePublisher {
  publish(spec: BootImageSpec): Promise<string>;
  rename(imageId: string, name: string): Promise<void>;
  remove(imageId: string): Promise<void>;
}

export interface BootImageResult {
  row: BootImageRow;
  name: string;
  spec: BootImageSpec;
  created: boolean;
}

export interface BootRegistry {
  /** host:port for berth_oci_registry */
  registry: string;
  /** URL for berth_oci_registry_url */
  registryUrl: string;
}

export class BootImages {
  constructor(
    private readonly db: RegistryDb,
    private readonly publisher: BootImagePublisher,
    private readonly where: () => BootRegistry,
    private readonly log: Logger,
  ) {}

  private spec(
    repo: Repository,
    digest: string,
    mediaType: string,
    tag: string | undefined,
    name: string,
  ): BootImageSpec {
    const w = this.where();
    return {
      projectId: repo.projectId,
      name,
      registry: w.registry,
      registryUrl: w.registryUrl,
      repository: `${repo.projectId}/${repo.name}`,
      digest,
      mediaType,
      tag,
    };
  }

  /**
   * The tag now points at `digest`: make `<repo>_<tag>` an image pinned to
   * it (idempotent), and rename the image it replaces to `<repo>@sha256-<hex>`.
   */
  async registerTag(
    repo: Repository,
    tag: string,
    digest: string,
    mediaType: string,
  ): Promise<BootImageResult> {
    const current = await this.db.bootImages({ repositoryId: repo.id, tag });
    const name = tagImageName(repo.name, tag);
    const same = current.find((r) => r.digest === digest);
    if (same) return { row: same, name, spec: this.spec(repo, digest, mediaType, tag, name), created: false };
    const spec = this.spec(repo, digest, mediaType, tag, name);
    const imageId = await this.publisher.publish(spec);
    const row = { imageId, projectId: repo.projectId, repositoryId: repo.id, tag, digest };
    await this.db.insertBootImage(row);
    for (const old of current) {
      await this.db.untagBootImage(old.imageId);
      await this.publisher
        .rename(old.imageId, digestImageName(repo.name, old.digest))
        .catch((e: unknown) =>
          this.log.warn({ image: old.imageId, err: String(e) }, 'could not rename a boot image'),
        );
    }
    this.log.info({ image: imageId, repository: spec.repository, tag, digest }, 'registered a boot image');
    return { row: { ...row, createdAt: new Date().toISOString() }, name, spec, created: true };
  }

  /** A registration by digest (the API's POST /berth/v1/images with a digest, or a custom name). */
  async registerDigest(
    repo: Repository,
    digest: string,
    mediaType: string,
    name?: string,
  ): Promise<BootImageResult> {
    const imageName = name ?? digestImageName(repo.name, digest);
    const existing = (await this.db.bootImages({ repositoryId: repo.id, digest })).find(
      (r) => r.tag === null,
    );
    const spec = this.spec(repo, digest, mediaType, undefined, imageName);
    if (existing && !name) return { row: existing, name: imageName, spec, created: false };
    const imageId = await this.publisher.publish(spec);
    const row = { imageId, projectId: repo.projectId, repositoryId: repo.id, tag: null, digest };
    await this.db.insertBootImage(row);
    return { row: { ...row, createdAt: new Date().toISOString() }, name: imageName, spec, created: true };
  }

  /** The tag is gone: so is the image registered for it. */
  async tagDeleted(repo: Repository, tag: string): Promise<void> {
    for (const r of await this.db.bootImages({ repositoryId: repo.id, tag })) await this.remove(r);
  }

  /** The manifest is gone: every image pinned to it goes too. */
  async manifestDeleted(repo: Repository, digest: string): Promise<void> {
    for (const r of await this.db.bootImages({ repositoryId: repo.id, digest })) await this.remove(r);
  }

  async remove(r: BootImageRow): Promise<void> {
    await this.publisher.remove(r.imageId);
    await this.db.deleteBootImage(r.imageId);
    this.log.info({ image: r.imageId, digest: r.digest }, 'removed a boot image');
  }
}
