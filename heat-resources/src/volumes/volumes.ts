// OS::Container::Volume: a named volume containers mount by reference.
// Berth keeps named volumes with each container's server (the nova-driver
// creates them at spawn and removes them with the server), so this resource
// is a declaration, stored here only: a name, and which of the project's
// containers mount it. Each of them gets its own copy; nothing is shared,
// and data does not survive a container's rebuild or replacement.

import { randomUUID } from 'node:crypto';

import { conflictingState } from '../core/errors';
import { type Caller, type Created, GONE, type Outcome, type ResourceHandler } from '../core/handler';
import type { ResourceRecord } from '../db/resource-store';
import type { Schemas } from '../openapi';

export const VOLUME_TYPE = 'OS::Container::Volume';

export type VolumeProperties = Schemas['VolumeProperties'];
export interface VolumeState {
  name: string;
}
export type VolumeRecord = ResourceRecord<VolumeProperties, VolumeState>;

/** A volume name from Heat's physical name: the characters Docker allows, at most 63. */
export function volumeNameFrom(physicalName: string): string {
  const cleaned = physicalName.replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '');
  return (cleaned || 'volume').slice(0, 63);
}

export class VolumeHandler implements ResourceHandler<VolumeProperties, VolumeState> {
  readonly type = VOLUME_TYPE;

  /** `mountedBy`: ids of the project's containers mounting a volume */
  constructor(private readonly mountedBy: (projectId: string, volumeId: string) => Promise<string[]>) {}

  async create(_c: Caller, p: VolumeProperties, physicalName: string): Promise<Created<VolumeState>> {
    return {
      id: randomUUID(),
      status: 'COMPLETE',
      statusReason: '',
      state: { name: p.name ?? volumeNameFrom(physicalName) },
    };
  }

  async discard(): Promise<void> {}

  async progress(_c: Caller, r: VolumeRecord): Promise<Outcome<VolumeState>> {
    return { status: r.status, statusReason: r.statusReason };
  }

  async update(): Promise<Outcome<VolumeState>> {
    return { status: 'COMPLETE', statusReason: '' };
  }

  async delete(c: Caller, r: VolumeRecord): Promise<Outcome<VolumeState> | typeof GONE> {
    const users = await this.mountedBy(r.projectId, r.id);
    if (users.length) throw conflictingState(`volume ${r.id} is mounted by container(s) ${users.join(', ')}`);
    return GONE;
  }

  async suspend(): Promise<Outcome<VolumeState>> {
    return { status: 'COMPLETE', statusReason: 'a volume has nothing to suspend' };
  }

  async resume(): Promise<Outcome<VolumeState>> {
    return { status: 'COMPLETE', statusReason: '' };
  }

  async check(): Promise<Outcome<VolumeState>> {
    return { status: 'COMPLETE', statusReason: '' };
  }

  async attribute(c: Caller, r: VolumeRecord, name: string): Promise<unknown> {
    switch (name) {
      case 'name':
        return r.state.name;
      case 'containers':
        return this.mountedBy(r.projectId, r.id);
      case 'show':
        return { id: r.id, name: r.state.name, containers: await this.mountedBy(r.projectId, r.id) };
      default:
        return null;
    }
  }
}
