// Which driver serves a template: the first enabled driver that provides the
// (server_type, image os_distro, coe) triple, as Magnum's
// Driver.get_driver does.

import { ApiError } from '@berth/service-kit';

import type { ClusterDriver } from './driver';

export class DriverRegistry {
  private readonly drivers: ClusterDriver[];

  constructor(
    private readonly every: ClusterDriver[],
    disabled: string[] = [],
  ) {
    this.drivers = every.filter((d) => !disabled.includes(d.name));
  }

  find(serverType: string, os: string | null, coe: string): ClusterDriver | undefined {
    return this.drivers.find((d) =>
      d.provides.some((p) => p.serverType === serverType && p.coe === coe && (p.os === '*' || p.os === os)),
    );
  }

  /** The driver, or Magnum's 400 "Cluster type (vm, debian, kubernetes) not supported." */
  select(serverType: string, os: string | null, coe: string): ClusterDriver {
    const d = this.find(serverType, os, coe);
    if (!d) {
      throw new ApiError(
        400,
        'ClusterTypeNotSupported',
        `Cluster type (${serverType}, ${os ?? 'None'}, ${coe}) not supported.`,
      );
    }
    return d;
  }

  /** The driver of an existing cluster (even if disabled since: its clusters must still be deletable). */
  byName(name: string): ClusterDriver | undefined {
    return this.every.find((d) => d.name === name);
  }

  get all(): readonly ClusterDriver[] {
    return this.drivers;
  }
}
