/**
 * Images glance-bridge registered in Glance: the Glance data is only a
 * pointer, the bytes live in the bridge. The agent has dockerd pull
 * `<registry>/<repository>@<digest>` (the "Nova boot contract" in
 * glance-bridge/README.md), authenticating with the caller's Keystone token,
 * so project isolation is the bridge's and no second copy of the bytes is
 * made. The digest makes the pull immutable: dockerd verifies every byte.
 */
import type { Logger } from '@berth/service-kit';

import { ContainerEngine, EngineError } from '../docker/engine';
import type { AgentState } from '../state/agent-db';
import type { Caller } from './glance-images';
import { ImageDTO, ImageUnusableError, OciPuller } from './image-store';

export const OCI_PROPS = {
  registry: 'berth_oci_registry',
  repository: 'berth_oci_repository',
  digest: 'berth_oci_digest',
} as const;

export class BridgeOciPuller implements OciPuller {
  private readonly pulling = new Map<string, Promise<string>>();

  constructor(
    private readonly engine: ContainerEngine,
    private readonly state: AgentState,
    private readonly logger: Logger,
  ) {}

  handles(image: ImageDTO): boolean {
    return OCI_PROPS.digest in (image.properties ?? {});
  }

  async pull(image: ImageDTO, caller: Caller): Promise<string> {
    const p = image.properties;
    const registry = p[OCI_PROPS.registry];
    const repository = p[OCI_PROPS.repository];
    const digest = p[OCI_PROPS.digest];
    if (!registry || !repository || !digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new ImageUnusableError(
        image.id,
        `a glance-bridge image needs ${Object.values(OCI_PROPS).join(', ')} (a sha256 digest)`,
      );
    }
    const ref = `${registry}/${repository}@${digest}`;
    if (await this.engine.inspectImage(ref)) {
      await this.state.touchImage(image.id);
      return ref;
    }
    let pending = this.pulling.get(ref);
    if (!pending) {
      pending = this.doPull(image.id, ref, registry, caller).finally(() => this.pulling.delete(ref));
      this.pulling.set(ref, pending);
    }
    return pending;
  }

  private async doPull(imageId: string, ref: string, registry: string, caller: Caller): Promise<string> {
    const started = Date.now();
    try {
      // dockerd runs the registry token flow itself with these Basic credentials
      await this.engine.pullImage(ref, {
        username: 'token',
        password: caller.token,
        serveraddress: registry,
      });
    } catch (e) {
      if (e instanceof EngineError && e.status !== 503) {
        throw new ImageUnusableError(imageId, `pulling ${ref} from glance-bridge failed: ${e.message}`);
      }
      throw e;
    }
    const details = await this.engine.inspectImage(ref);
    // in the same size-bounded cache as loaded Glance images
    await this.state.recordImage(imageId, ref, details?.size ?? 0);
    this.logger.info({ image_id: imageId, ref, ms: Date.now() - started }, 'pulled image from glance-bridge');
    return ref;
  }
}
