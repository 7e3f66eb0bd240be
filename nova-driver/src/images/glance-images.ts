import type { Readable } from 'node:stream';

import { KeystoneSession, PresentedTokenAuth } from 'keystone-client-ts';
import { GlanceClient } from '@berth/openstack-clients';

/** The part of Glance the agent uses, acting as the user whose request it serves. */
export interface GlanceImages {
  /** the image's data as a stream (a `docker save` tarball for container_format=docker) */
  download(imageId: string, caller: Caller): Promise<Readable>;
  /** fills a snapshot image Nova created: container_format=docker, disk_format=raw, then the data */
  uploadSnapshot(imageId: string, data: Readable, caller: Caller): Promise<void>;
}

/** who the agent acts for: the Keystone token and project from Nova's request context */
export interface Caller {
  token: string;
  projectId: string;
}

/**
 * Glance through the shared client with the caller's own token, used as is
 * (as Nova itself talks to Glance with the user's token: image visibility and
 * ownership stay the user's; and a trust-scoped token from Heat could not be
 * exchanged for another). The Glance URL comes from the agent's own service
 * catalog, resolved once.
 */
export class UserGlanceImages implements GlanceImages {
  private endpoint?: Promise<string>;

  constructor(
    private readonly authUrl: string,
    private readonly serviceGlance: GlanceClient,
  ) {}

  private async clientFor(caller: Caller): Promise<GlanceClient> {
    this.endpoint ??= this.serviceGlance.endpoint();
    const session = new KeystoneSession({
      authUrl: this.authUrl,
      auth: new PresentedTokenAuth({ token: caller.token }),
      userAgent: 'berth-nova-agent',
    });
    return new GlanceClient(session, { endpointOverride: await this.endpoint, dataIdleTimeoutMs: 300_000 });
  }

  async download(imageId: string, caller: Caller): Promise<Readable> {
    const glance = await this.clientFor(caller);
    return (await glance.downloadData(imageId)).body;
  }

  async uploadSnapshot(imageId: string, data: Readable, caller: Caller): Promise<void> {
    const glance = await this.clientFor(caller);
    await glance.updateImage(imageId, { set: { container_format: 'docker', disk_format: 'raw' } });
    await glance.uploadData(imageId, data);
  }
}
