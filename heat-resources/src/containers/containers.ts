// OS::Container::Container: a Nova server booted through Berth's
// nova-driver, acting as the calling user. The physical id is the server id.
//
//   create   resolve flavor, image, networks, volumes -> POST /servers (user data = container spec)
//   update   name only: rename; anything else in place: rebuild with the new image and user data
//            (resource limits, networks, zone and hints replace: Berth's driver cannot resize or
//            attach interfaces)
//   delete   DELETE /servers/{id}; gone once Nova answers 404
//   suspend  Nova suspend (a server whose process has exited stays as it is)
//   check    the server exists and is ACTIVE, SHUTOFF (exited) or SUSPENDED as expected

import type { NeutronClient, Server, ServerAddress, ServerNetworks } from '@berth/openstack-clients';

import { invalidProperties, upstream } from '../core/errors';
import { type Caller, type Created, GONE, type Outcome, type ResourceHandler } from '../core/handler';
import type { ResourceRecord } from '../db/resource-store';
import { type ChosenFlavor, FlavorCache, resolveFlavor } from './flavor-selection';
import { resolveImage } from './image-reference';
import { type ContainerProperties, userData } from './container-spec';
import { faultOf, serverProgress } from './server-progress';

export const CONTAINER_TYPE = 'OS::Container::Container';

export interface ContainerState {
  flavor: ChosenFlavor;
  imageId: string;
  /** OS::Container::Volume ids it mounts */
  volumeIds: string[];
  /** suspend found the process already exited: nothing was suspended, so resume does nothing */
  suspendSkipped?: boolean;
}

export type ContainerRecord = ResourceRecord<ContainerProperties, ContainerState>;

export interface ContainerSettings {
  flavorSelection: 'smallest' | 'require';
  logLines: number;
  /** how long the logs attribute waits for Nova */
  logTimeoutMs?: number;
  /** flavor lookups shared between requests (default: 30 s per project) */
  flavorCache?: FlavorCache;
  /** the names of the caller's project's OS::Container::Volume ids (missing ids are left out) */
  volumeNames: (projectId: string, ids: string[]) => Promise<Map<string, string>>;
}

const complete = (): Outcome<ContainerState> => ({ status: 'COMPLETE', statusReason: '' });

/** Nova's `networks` for the properties: ports and networks resolved as the caller sees them. */
export async function novaNetworks(
  neutron: NeutronClient,
  nets: ContainerProperties['networks'],
): Promise<ServerNetworks> {
  if (!nets?.length) return 'none';
  const out: Exclude<ServerNetworks, string> = [];
  for (const n of nets) {
    if (n.port) {
      const port = await upstream('Neutron', () => neutron.findPort(n.port!));
      if (!port) throw invalidProperties(`port ${n.port} not found`);
      out.push({ port: port.id });
      continue;
    }
    if (!n.network) throw invalidProperties('each network needs a network or a port');
    const net = await upstream('Neutron', async () => {
      try {
        return await neutron.resolveNetwork(n.network!);
      } catch (e) {
        if (e instanceof Error && /more than one/.test(e.message)) throw invalidProperties(e.message);
        throw e;
      }
    });
    if (!net) throw invalidProperties(`network ${n.network} not found`);
    out.push({ uuid: net.id, ...(n.fixed_ip ? { fixed_ip: n.fixed_ip } : {}) });
  }
  return out;
}

function addresses(s: Server): Record<string, Array<{ addr: string; version: number; mac?: string }>> {
  const out: Record<string, Array<{ addr: string; version: number; mac?: string }>> = {};
  for (const [net, list] of Object.entries(s.addresses ?? {})) {
    out[net] = (list as ServerAddress[]).map((a) => ({
      addr: a.addr,
      version: a.version,
      ...(a['OS-EXT-IPS-MAC:mac_addr'] ? { mac: a['OS-EXT-IPS-MAC:mac_addr'] } : {}),
    }));
  }
  return out;
}

export class ContainerHandler implements ResourceHandler<ContainerProperties, ContainerState> {
  readonly type = CONTAINER_TYPE;
  private readonly flavors: FlavorCache;

  constructor(private readonly s: ContainerSettings) {
    this.flavors = s.flavorCache ?? new FlavorCache();
  }

  /** the names of the volumes the properties mount, looked up in the container's project */
  private async volumeNames(
    projectId: string,
    p: ContainerProperties,
  ): Promise<{ names: Map<string, string>; ids: string[] }> {
    const ids = [...new Set((p.volumes ?? []).flatMap((v) => (v.volume ? [v.volume] : [])))];
    const names = ids.length ? await this.s.volumeNames(projectId, ids) : new Map<string, string>();
    const missing = ids.find((id) => !names.has(id));
    if (missing) throw invalidProperties(`volume ${missing} not found`);
    return { names, ids };
  }

  private owner(c: Caller) {
    return { projectId: c.ctx.projectId!, projectName: c.ctx.projectName };
  }

  async create(c: Caller, p: ContainerProperties, physicalName: string): Promise<Created<ContainerState>> {
    const { nova, neutron, glance } = c.clients;
    const volumes = await this.volumeNames(c.ctx.projectId!, p);
    const data = userData(p, volumes.names);
    const [flavor, image, networks] = await Promise.all([
      upstream('Nova', () =>
        resolveFlavor(this.flavors.forProject(c.ctx.projectId!, nova), p, this.s.flavorSelection),
      ),
      resolveImage(glance, this.owner(c), p.image),
      novaNetworks(neutron, p.networks),
    ]);
    const server = await upstream('Nova refused to create the server', () =>
      nova.createServer({
        name: p.name ?? physicalName,
        imageRef: image.id,
        flavorRef: flavor.id,
        networks,
        userData: data,
        ...(p.availability_zone ? { availabilityZone: p.availability_zone } : {}),
        ...(p.scheduler_hints
          ? { schedulerHints: p.scheduler_hints as Record<string, string | string[]> }
          : {}),
      }),
    );
    c.log.info({ server_id: server.id, flavor: flavor.name, image: image.id }, 'container server requested');
    return {
      id: server.id,
      status: 'IN_PROGRESS',
      statusReason: 'Nova: BUILD',
      state: { flavor, imageId: image.id, volumeIds: volumes.ids },
    };
  }

  async discard(c: Caller, id: string): Promise<void> {
    await upstream('Nova', () => c.clients.nova.deleteServer(id));
  }

  private async server(c: Caller, id: string): Promise<Server | undefined> {
    return upstream('Nova', () => c.clients.nova.findServer(id));
  }

  async progress(c: Caller, r: ContainerRecord): Promise<Outcome<ContainerState> | typeof GONE> {
    const s = await this.server(c, r.id);
    if (r.action === 'DELETE') {
      if (!s) return GONE;
      if (s.status === 'ERROR' && !s['OS-EXT-STS:task_state'] && s.fault) {
        return { status: 'FAILED', statusReason: `Nova could not delete the server: ${faultOf(s)}` };
      }
      return { status: 'IN_PROGRESS', statusReason: `Nova: ${s.status}, deleting` };
    }
    if (!s) return { status: 'FAILED', statusReason: `server ${r.id} is gone (deleted outside Heat?)` };
    return serverProgress(r.action, s);
  }

  async update(
    c: Caller,
    r: ContainerRecord,
    p: ContainerProperties,
    changed: string[],
  ): Promise<Outcome<ContainerState>> {
    const name = p.name ?? r.properties.name;
    if (changed.every((k) => k === 'name')) {
      if (name)
        await upstream('Nova refused to rename the server', () => c.clients.nova.renameServer(r.id, name));
      return complete();
    }
    const volumes = await this.volumeNames(r.projectId, p);
    const data = userData(p, volumes.names);
    const image = changed.includes('image')
      ? await resolveImage(c.clients.glance, this.owner(c), p.image)
      : undefined;
    const imageId = image?.id ?? r.state.imageId;
    await upstream('Nova refused to rebuild the server', () =>
      c.clients.nova.rebuildServer(r.id, {
        imageRef: imageId,
        userData: data,
        ...(changed.includes('name') && name ? { name } : {}),
      }),
    );
    c.log.info({ server_id: r.id, changed }, 'container server rebuilding');
    return {
      status: 'IN_PROGRESS',
      statusReason: 'Nova: REBUILD',
      state: { ...r.state, imageId, volumeIds: volumes.ids },
    };
  }

  async delete(c: Caller, r: ContainerRecord): Promise<Outcome<ContainerState> | typeof GONE> {
    const existed = await upstream('Nova refused to delete the server', () =>
      c.clients.nova.deleteServer(r.id),
    );
    return existed ? { status: 'IN_PROGRESS', statusReason: 'Nova: deleting' } : GONE;
  }

  async suspend(c: Caller, r: ContainerRecord): Promise<Outcome<ContainerState>> {
    const s = await this.server(c, r.id);
    if (!s) return { status: 'FAILED', statusReason: `server ${r.id} is gone` };
    if (s.status === 'SUSPENDED') return complete();
    if (s.status === 'SHUTOFF') {
      return {
        status: 'COMPLETE',
        statusReason: 'the container process had exited; nothing to suspend',
        state: { ...r.state, suspendSkipped: true },
      };
    }
    await upstream('Nova refused to suspend the server', () => c.clients.nova.serverAction(r.id, 'suspend'));
    return {
      status: 'IN_PROGRESS',
      statusReason: 'Nova: suspending',
      state: { ...r.state, suspendSkipped: false },
    };
  }

  async resume(c: Caller, r: ContainerRecord): Promise<Outcome<ContainerState>> {
    if (r.state.suspendSkipped)
      return { status: 'COMPLETE', statusReason: '', state: { ...r.state, suspendSkipped: false } };
    const s = await this.server(c, r.id);
    if (!s) return { status: 'FAILED', statusReason: `server ${r.id} is gone` };
    if (s.status === 'ACTIVE') return complete();
    await upstream('Nova refused to resume the server', () => c.clients.nova.serverAction(r.id, 'resume'));
    return { status: 'IN_PROGRESS', statusReason: 'Nova: resuming' };
  }

  async check(c: Caller, r: ContainerRecord): Promise<Outcome<ContainerState>> {
    const s = await this.server(c, r.id);
    if (!s) return { status: 'FAILED', statusReason: `server ${r.id} is gone` };
    const expected =
      r.action === 'SUSPEND' && r.status === 'COMPLETE' && !r.state.suspendSkipped
        ? ['SUSPENDED']
        : ['ACTIVE', 'SHUTOFF'];
    if (expected.includes(s.status) && !s['OS-EXT-STS:task_state']) return complete();
    const why =
      s.status === 'ERROR'
        ? faultOf(s)
        : `Nova: ${s.status}${s['OS-EXT-STS:task_state'] ? `, ${s['OS-EXT-STS:task_state']}` : ''}`;
    return { status: 'FAILED', statusReason: `server ${r.id} is not ${expected.join(' or ')}: ${why}` };
  }

  async attribute(c: Caller, r: ContainerRecord, name: string): Promise<unknown> {
    if (name === 'server_id') return r.id;
    if (name === 'flavor') return r.state.flavor;
    if (name === 'image_id') return r.state.imageId;
    if (name === 'logs') {
      // an attribute, not an action: a compute host that does not answer makes it null, not an error that
      // holds up every output of `stack show`
      try {
        return await c.clients.nova.consoleOutput(r.id, this.s.logLines, { timeoutMs: this.s.logTimeoutMs });
      } catch (e) {
        c.log.warn({ server_id: r.id, err: String(e) }, 'console log unavailable for the logs attribute');
        return null;
      }
    }
    const s = await this.server(c, r.id);
    if (!s) return null;
    switch (name) {
      case 'name':
        return s.name;
      case 'status':
        return s.status;
      case 'addresses':
        return addresses(s);
      case 'first_address':
        return Object.values(addresses(s)).flat()[0]?.addr ?? '';
      case 'host':
        return s['OS-EXT-SRV-ATTR:host'] ?? '';
      case 'host_id':
        return s.hostId ?? '';
      case 'availability_zone':
        return s['OS-EXT-AZ:availability_zone'] ?? '';
      case 'show':
        return s;
      default:
        return null;
    }
  }
}
