import type { ContainerDetails } from '../docker/engine';
import type { InstanceDTO } from '../instances/container-config';
import type { VifPlugger } from '../instances/instance-manager';

/** A host without a Neutron L2 agent: servers boot with `--nic none` only. */
export class NoNetworkPlugger implements VifPlugger {
  async plug(_inst: InstanceDTO, _sandbox: ContainerDetails, networkInfo: unknown[]): Promise<void> {
    if (networkInfo.length) {
      throw new Error('this container host has no network plugging configured: boot with --nic none');
    }
  }

  async unplug(): Promise<void> {}
}
