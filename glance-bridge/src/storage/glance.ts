// The Glance storage driver: each object (a layer, a config, a manifest) is
// one hidden, private Glance image owned by the bridge's service project,
// container_format=bare (so nothing mistakes it for a bootable docker image)
// and disk_format=raw. Labels are extra properties; the image id is the
// object's ref. `namespace` keeps two bridges sharing a Glance (and a
// service project) from counting each other's images as orphans.

import { Readable } from 'node:stream';

import { type GlanceClient, type GlanceImage, imageProperty } from '@berth/openstack-clients';
import {
  KeystoneUnavailableError,
  OpenStackConnectionError,
  OpenStackError,
  OpenStackHttpError,
} from 'keystone-client-ts';

import { ociError, StoreUnavailableError } from '../core/errors';
import type {
  BlobStore,
  ByteRange,
  ObjectInfo,
  ObjectKind,
  ObjectLabel,
  ObjectReader,
  StoredObject,
} from './driver';

/** Extra properties of store images. */
export const STORE_PROPS = {
  namespace: 'berth_store_namespace',
  kind: 'berth_store_kind',
  digest: 'berth_store_digest',
  mediaType: 'berth_store_media_type',
  upload: 'berth_store_upload',
} as const;

export interface GlanceStoreLogger {
  warn(obj: object, msg: string): void;
}

/** Glance could not be asked, or failed on its side: the client should retry later. */
export function isUnavailable(e: unknown): boolean {
  return (
    e instanceof OpenStackConnectionError ||
    e instanceof KeystoneUnavailableError ||
    (e instanceof OpenStackHttpError && (e.status >= 500 || e.status === 401)) ||
    (e instanceof OpenStackError && /ECONNREFUSED|ECONNRESET|socket hang up/.test(e.message))
  );
}

/** Maps Glance failures onto what the registry answers: 503 to retry, 403 for a full quota. */
export function storeError(e: unknown, what: string): unknown {
  if (isUnavailable(e)) {
    return new StoreUnavailableError(`image store unavailable while ${what}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (e instanceof OpenStackHttpError && e.status === 413) {
    return ociError('DENIED', 'the image store refused the data: storage quota exceeded', undefined, 403);
  }
  return e;
}

function objectName(label: ObjectLabel): string {
  return label.digest
    ? `oci-${label.kind} ${label.digest}`
    : `oci-${label.kind} upload ${label.uploadId ?? ''}`.trim();
}

export class GlanceBlobStore implements BlobStore {
  readonly name = 'glance';

  constructor(
    private readonly glance: GlanceClient,
    private readonly namespace: string,
    private readonly log?: GlanceStoreLogger,
  ) {}

  private properties(label: ObjectLabel): Record<string, string> {
    const p: Record<string, string> = {
      [STORE_PROPS.namespace]: this.namespace,
      [STORE_PROPS.kind]: label.kind,
    };
    if (label.digest) p[STORE_PROPS.digest] = label.digest;
    if (label.mediaType) p[STORE_PROPS.mediaType] = label.mediaType.slice(0, 255);
    if (label.uploadId) p[STORE_PROPS.upload] = label.uploadId;
    return p;
  }

  async put(
    source: Readable | Buffer | { path: string },
    label: ObjectLabel,
    size?: number,
  ): Promise<StoredObject> {
    let image: GlanceImage;
    try {
      image = await this.glance.createImage({
        name: objectName(label),
        container_format: 'bare',
        disk_format: 'raw',
        visibility: 'private',
        os_hidden: true,
        properties: this.properties(label),
      });
    } catch (e) {
      if (source instanceof Readable) source.destroy();
      throw storeError(e, 'creating an image');
    }
    try {
      await this.glance.uploadData(image.id, source, size === undefined ? {} : { size });
      if (Buffer.isBuffer(source)) return { ref: image.id, size: source.length };
      if (size !== undefined) return { ref: image.id, size };
      return { ref: image.id, size: (await this.glance.getImage(image.id)).size ?? 0 };
    } catch (e) {
      // leave nothing behind; if Glance is gone the GC finds the queued image later
      await this.delete(image.id).catch((err: unknown) =>
        this.log?.warn(
          { image: image.id, err: String(err) },
          'could not delete the image of a failed upload',
        ),
      );
      throw storeError(e, 'uploading image data');
    }
  }

  async commit(ref: string, label: ObjectLabel): Promise<void> {
    try {
      await this.glance.updateImage(ref, { set: { name: objectName(label), ...this.properties(label) } });
    } catch (e) {
      throw storeError(e, 'labelling an image');
    }
  }

  async read(ref: string, range?: ByteRange): Promise<ObjectReader> {
    try {
      const d = await this.glance.downloadData(ref, range ? { range } : {});
      const length = d.contentLength ?? (range ? range.end - range.start + 1 : undefined);
      if (length === undefined) throw new Error(`Glance sent image ${ref} without a length`);
      return { body: d.body, length };
    } catch (e) {
      throw storeError(e, 'reading image data');
    }
  }

  async delete(ref: string): Promise<void> {
    try {
      await this.glance.deleteImage(ref);
    } catch (e) {
      throw storeError(e, 'deleting an image');
    }
  }

  async *list(): AsyncIterable<ObjectInfo> {
    try {
      for await (const image of this.glance.images({
        os_hidden: true,
        properties: { [STORE_PROPS.namespace]: this.namespace },
        pageSize: 500,
      })) {
        const kind = imageProperty(image, STORE_PROPS.kind);
        yield {
          ref: image.id,
          size: image.size ?? 0,
          kind: kind === 'blob' || kind === 'manifest' ? (kind as ObjectKind) : undefined,
          digest: imageProperty(image, STORE_PROPS.digest),
          createdAt: new Date(image.created_at),
          complete: image.status === 'active',
          uploadId: imageProperty(image, STORE_PROPS.upload),
        };
      }
    } catch (e) {
      throw storeError(e, 'listing images');
    }
  }

  async check(): Promise<void> {
    try {
      for await (const _ of this.glance.images({
        os_hidden: true,
        properties: { [STORE_PROPS.namespace]: this.namespace },
        pageSize: 1,
      })) {
        break;
      }
    } catch (e) {
      throw storeError(e, 'checking the store');
    }
  }
}
