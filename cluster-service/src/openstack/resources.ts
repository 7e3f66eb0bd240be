// Checks what a template or cluster references (image, flavors, keypair)
// with the caller's own session, so a user can only name what they can see.
// Errors are Magnum's (magnum/api/attr_validator.py): 400 for what is missing.

import { GlanceClient, imageProperty, NovaClient } from '@berth/openstack-clients';
import { OpenStackHttpError, type KeystoneSession } from 'keystone-client-ts';
import { ApiError } from '@berth/service-kit';

import { conflict } from '../api/errors';
import { upstream } from './upstream';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export interface ImageInfo {
  id: string;
  osDistro: string;
}

export class ResourceValidator {
  private readonly glance: GlanceClient;
  private readonly nova: NovaClient;
  private flavorNames?: Promise<Set<string>>;

  constructor(session: KeystoneSession, iface: 'public' | 'internal' | 'admin') {
    this.glance = new GlanceClient(session, { interface: iface });
    this.nova = new NovaClient(session, { interface: iface });
  }

  /** The image by id or unique name, with its os_distro (which picks the driver). */
  async image(ident: string): Promise<ImageInfo> {
    let image;
    try {
      if (UUID.test(ident)) image = await upstream('Glance', () => this.glance.findImage(ident));
      else {
        const matches = await upstream('Glance', () => this.glance.listImages({ name: ident }));
        if (matches.length > 1) {
          throw conflict(`Multiple images exist with same name ${ident}. Please use the image id instead.`);
        }
        image = matches[0];
      }
    } catch (e) {
      if (e instanceof OpenStackHttpError && e.status === 403) {
        throw new ApiError(403, 'ImageNotAuthorized', `Not authorized for image ${ident}.`);
      }
      throw e;
    }
    if (!image) throw new ApiError(400, 'ImageNotFound', `Image ${ident} could not be found.`);
    const osDistro = imageProperty(image, 'os_distro');
    if (!osDistro)
      throw new ApiError(400, 'OSDistroFieldNotFound', `Image ${ident} doesn't contain os_distro field.`);
    return { id: image.id, osDistro };
  }

  /** A flavor the caller can see, by name or id. */
  async flavor(ident: string | null | undefined): Promise<void> {
    if (ident === null || ident === undefined) return;
    this.flavorNames ??= upstream('Nova', () => this.nova.listFlavors()).then(
      (fs) => new Set(fs.flatMap((f) => [f.id, f.name])),
    );
    if (!(await this.flavorNames).has(ident))
      throw new ApiError(400, 'FlavorNotFound', `Unable to find flavor ${ident}.`);
  }

  async keypair(name: string | null | undefined): Promise<void> {
    if (name === null || name === undefined) return;
    if (!(await upstream('Nova', () => this.nova.findKeypair(name))))
      throw new ApiError(400, 'KeyPairNotFound', `Unable to find keypair ${name}.`);
  }
}
