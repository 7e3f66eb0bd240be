// Boot images in Glance: created by the bridge's service user (an admin, so
// it may set `owner`) in the repository's project. Nova refuses to boot an
// image that is still `queued`, so each gets a small data payload: a JSON
// pointer to the real image, which is also what `openstack image save`
// shows. Glance 25 takes any bytes for disk_format raw.

import type { GlanceClient } from '@berth/openstack-clients';

import { BOOT_PROPS, type BootImagePublisher, type BootImageSpec } from '../core/boot-images';
import { storeError } from './glance';

/** Media type of the pointer payload. */
export const POINTER_MEDIA_TYPE = 'application/vnd.berth.oci-reference.v1+json';

export function pointerPayload(spec: BootImageSpec): Buffer {
  return Buffer.from(
    `${JSON.stringify({
      mediaType: POINTER_MEDIA_TYPE,
      reference: `${spec.registry}/${spec.repository}@${spec.digest}`,
      registry: spec.registry,
      registryUrl: spec.registryUrl,
      repository: spec.repository,
      digest: spec.digest,
      manifestMediaType: spec.mediaType,
    })}\n`,
  );
}

export class GlanceBootImages implements BootImagePublisher {
  constructor(private readonly glance: GlanceClient) {}

  async publish(spec: BootImageSpec): Promise<string> {
    const properties: Record<string, string> = {
      [BOOT_PROPS.registry]: spec.registry,
      [BOOT_PROPS.registryUrl]: spec.registryUrl,
      [BOOT_PROPS.repository]: spec.repository,
      [BOOT_PROPS.digest]: spec.digest,
      [BOOT_PROPS.mediaType]: spec.mediaType,
    };
    if (spec.tag) properties[BOOT_PROPS.tag] = spec.tag;
    let id: string | undefined;
    try {
      const image = await this.glance.createImage({
        name: spec.name,
        container_format: 'docker',
        disk_format: 'raw',
        visibility: 'private',
        owner: spec.projectId,
        properties,
      });
      id = image.id;
      await this.glance.uploadData(image.id, pointerPayload(spec));
      return image.id;
    } catch (e) {
      if (id) await this.glance.deleteImage(id).catch(() => undefined);
      throw storeError(e, 'registering a boot image');
    }
  }

  async rename(imageId: string, name: string): Promise<void> {
    await this.glance
      .updateImage(imageId, { set: { name }, remove: [BOOT_PROPS.tag] })
      .catch(async (e: unknown) => {
        // no tag property to remove: rename only
        await this.glance.updateImage(imageId, { set: { name } }).catch(() => {
          throw e;
        });
      });
  }

  async remove(imageId: string): Promise<void> {
    try {
      await this.glance.deleteImage(imageId);
    } catch (e) {
      throw storeError(e, 'deleting a boot image');
    }
  }
}
