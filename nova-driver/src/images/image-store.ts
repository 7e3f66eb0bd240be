/**
 * Images on this host. A Glance image with container_format=docker (a
 * `docker save` tarball) is loaded once and tagged by its Glance *id*
 * (`berth-glance/<id>:latest`), so what it is called in Glance never matters
 * (nova-docker's name coupling). An image registered by glance-bridge names
 * an OCI manifest digest instead; it is pulled from the bridge by digest (the
 * seam `OciPuller`), with no second copy of the bytes in Glance. Loaded
 * images form a cache bounded in bytes, evicted least recently used first,
 * never while a container uses them.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';

import type { Logger } from '@berth/service-kit';

import { ContainerEngine, EngineError, isNotFound } from '../docker/engine';
import { glanceImageRef, glanceImageRepo, GLANCE_IMAGE_TAG } from '../instances/naming';
import type { AgentState } from '../state/agent-db';
import type { Caller, GlanceImages } from './glance-images';

export interface ImageDTO {
  id: string;
  name?: string | null;
  container_format?: string | null;
  disk_format?: string | null;
  size?: number | null;
  /** md5 of the data, as Glance reports it */
  checksum?: string | null;
  properties: Record<string, string>;
}

/** The seam for glance-bridge images: pull `<registry>/<repository>@<digest>` into dockerd. */
export interface OciPuller {
  /** whether the image describes an OCI manifest held by a registry */
  handles(image: ImageDTO): boolean;
  /** pulls it and returns the local reference to run */
  pull(image: ImageDTO, caller: Caller): Promise<string>;
}

export class ImageUnusableError extends Error {
  constructor(
    readonly imageId: string,
    readonly reason: string,
  ) {
    super(`Image ${imageId} is unacceptable: ${reason}`);
    this.name = 'ImageUnusableError';
  }
}

export interface ImageStoreOptions {
  engine: ContainerEngine;
  glance: GlanceImages;
  state: AgentState;
  logger: Logger;
  /** bytes of loaded Glance images kept on the host */
  maxCacheBytes: number;
  oci?: OciPuller;
}

export class ImageStore {
  private readonly loading = new Map<string, Promise<string>>();

  constructor(private readonly o: ImageStoreOptions) {}

  /** The local image reference to run for a Nova image; loads or pulls it when needed. */
  async ensure(image: ImageDTO, caller: Caller): Promise<string> {
    if (this.o.oci?.handles(image)) return this.o.oci.pull(image, caller);
    if (image.container_format !== 'docker') {
      throw new ImageUnusableError(
        image.id,
        `container_format is ${image.container_format ?? 'unset'}; Berth boots container_format=docker images ` +
          `(a \`docker save\` tarball) or images registered by glance-bridge`,
      );
    }
    const ref = glanceImageRef(image.id);
    if (await this.o.engine.inspectImage(ref)) {
      await this.o.state.touchImage(image.id);
      return ref;
    }
    // concurrent spawns of one image share one download and load
    let pending = this.loading.get(image.id);
    if (!pending) {
      pending = this.load(image, caller).finally(() => this.loading.delete(image.id));
      this.loading.set(image.id, pending);
    }
    return pending;
  }

  private async load(image: ImageDTO, caller: Caller): Promise<string> {
    const started = Date.now();
    const data = await this.o.glance.download(image.id, caller);
    // hash while streaming into dockerd: no spool file, and a corrupted
    // download is caught before anything runs from it
    const md5 = createHash('md5');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        md5.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const piped: Readable = data.pipe(tap);
    data.on('error', (e) => piped.destroy(e));
    let loaded: string[];
    try {
      loaded = await this.o.engine.loadImage(piped);
    } catch (e) {
      if (e instanceof EngineError && e.status === 400) {
        throw new ImageUnusableError(
          image.id,
          `its data is not a \`docker save\` tarball (docker load: ${e.message})`,
        );
      }
      throw e;
    }
    const first = loaded[0];
    if (!first) throw new ImageUnusableError(image.id, 'docker load found no image in its data');
    if (image.checksum && md5.digest('hex') !== image.checksum) {
      await this.o.engine.removeImage(first).catch(() => undefined);
      throw new ImageUnusableError(image.id, 'downloaded data does not match the checksum Glance recorded');
    }
    await this.o.engine.tagImage(first, glanceImageRepo(image.id), GLANCE_IMAGE_TAG);
    // the tarball's own repo:tag stays as dockerd set it: it is never used to find the image
    const details = await this.o.engine.inspectImage(glanceImageRef(image.id));
    await this.o.state.recordImage(image.id, glanceImageRef(image.id), details?.size ?? size);
    this.o.logger.info({ image_id: image.id, bytes: size, ms: Date.now() - started }, 'loaded Glance image');
    await this.evict(image.id);
    return glanceImageRef(image.id);
  }

  /** Registers an image this host produced (a snapshot), so booting it here needs no download. */
  async adopt(imageId: string, localRef: string): Promise<void> {
    await this.o.engine.tagImage(localRef, glanceImageRepo(imageId), GLANCE_IMAGE_TAG);
    const details = await this.o.engine.inspectImage(glanceImageRef(imageId));
    await this.o.state.recordImage(imageId, glanceImageRef(imageId), details?.size ?? 0);
    await this.evict(imageId);
  }

  /** Removes least recently used images until the cache fits; images in use stay. */
  async evict(keep?: string): Promise<void> {
    const rows = await this.o.state.cachedImages();
    let total = rows.reduce((s, r) => s + r.size, 0);
    for (const r of rows) {
      if (total <= this.o.maxCacheBytes) break;
      if (r.image_id === keep) continue;
      const image = await this.o.engine.inspectImage(r.ref);
      if (image) {
        // a container (even a stopped one) still runs from it: keep it
        if ((await this.o.engine.containersUsingImage(image.id)) > 0) continue;
        // every tag, the tarball's own included: the last one removed deletes the image
        for (const tag of image.repoTags) {
          await this.o.engine.removeImage(tag).catch((e) => {
            if (!isNotFound(e)) throw e;
          });
        }
      }
      await this.o.state.forgetImage(r.image_id);
      total -= r.size;
      this.o.logger.info({ image_id: r.image_id, bytes: r.size }, 'evicted image from the host cache');
    }
  }

  async cacheBytes(): Promise<number> {
    return (await this.o.state.cachedImages()).reduce((s, r) => s + r.size, 0);
  }
}

/** helper for tests and snapshot paths: a readable of a buffer */
export const bufferStream = (b: Buffer): Readable => {
  const s = new PassThrough();
  s.end(b);
  return s;
};
