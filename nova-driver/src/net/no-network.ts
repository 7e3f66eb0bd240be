import type { ContainerDetails } from '../docker/engine';
import type { VifPlugger } from '../instances/instance-manager';

/** `network_plugger = none`: a host without Neutron ports; servers boot with `--nic none` only. */
export class NoNetworkPlugger implements VifPlugger {
  async plug(_uuid: string, _sandbox: ContainerDetails, networkInfo: unknown[]): Promise<void> {
    if (networkInfo.length) {
      throw new Error('this container host has no network plugging configured: boot with --nic none');
    }
  }

  async unplug(): Promise<void> {}
}
