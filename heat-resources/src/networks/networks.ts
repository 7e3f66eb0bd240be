// OS::Container::Network: a Neutron network with one subnet, created as the
// calling user. The physical id is the Neutron network id, so the resource
// can be used anywhere Heat or Nova takes a network.
//
//   create   validate the addresses, POST network, POST subnet (the network is removed if the subnet fails)
//   update   rename the network and subnet; gateway, pools, reserved addresses, DNS and DHCP
//            are subnet updates; the CIDR replaces
//   delete   DELETE network (Neutron removes its subnet); while ports of containers being
//            deleted still hold addresses Neutron answers 409, and the delete is retried on each
//            poll for [networks] delete_timeout seconds

import { isNeutronConflict, type Network, type Subnet } from '@berth/openstack-clients';

import { invalidProperties, upstream, upstreamError } from '../core/errors';
import { type Caller, type Created, GONE, type Outcome, type ResourceHandler } from '../core/handler';
import type { ResourceRecord } from '../db/resource-store';
import type { Schemas } from '../openapi';
import { AddressError, explicitSubnet, planSubnet, type SubnetPlan } from './addresses';

export const NETWORK_TYPE = 'OS::Container::Network';

export type NetworkProperties = Schemas['NetworkProperties'];

export interface NetworkState {
  subnetId: string;
  /** when the first delete attempt met ports still in use (ms since epoch) */
  deleteStartedAt?: number;
}

export type NetworkRecord = ResourceRecord<NetworkProperties, NetworkState>;

const SUBNET_KEYS = ['gateway_ip', 'allocation_pools', 'reserved_ips', 'dns_nameservers', 'enable_dhcp'];

function plan(p: NetworkProperties): SubnetPlan {
  try {
    return planSubnet(p);
  } catch (e) {
    if (e instanceof AddressError) throw invalidProperties(e.message);
    throw e;
  }
}

function explicit(p: NetworkProperties): ReturnType<typeof explicitSubnet> {
  try {
    return explicitSubnet(p);
  } catch (e) {
    if (e instanceof AddressError) throw invalidProperties(e.message);
    throw e;
  }
}

export class NetworkHandler implements ResourceHandler<NetworkProperties, NetworkState> {
  readonly type = NETWORK_TYPE;

  constructor(
    private readonly s: { deleteTimeoutSeconds: number },
    private readonly now: () => number = Date.now,
  ) {}

  async create(c: Caller, p: NetworkProperties, physicalName: string): Promise<Created<NetworkState>> {
    const sp = plan(p);
    const { neutron } = c.clients;
    const name = p.name ?? physicalName;
    const net = await upstream('Neutron refused to create the network', () =>
      neutron.createNetwork({ name, description: 'OS::Container::Network (Berth)' }),
    );
    try {
      const subnet = await upstream('Neutron refused to create the subnet', () =>
        neutron.createSubnet({
          network_id: net.id,
          name,
          cidr: sp.cidr.text,
          ip_version: sp.cidr.version,
          ...(sp.gateway !== undefined ? { gateway_ip: sp.gateway } : {}),
          ...(sp.pools ? { allocation_pools: sp.pools } : {}),
          ...(p.dns_nameservers?.length ? { dns_nameservers: p.dns_nameservers } : {}),
          enable_dhcp: p.enable_dhcp ?? false,
        }),
      );
      c.log.info({ network_id: net.id, subnet_id: subnet.id, cidr: sp.cidr.text }, 'network created');
      return { id: net.id, status: 'COMPLETE', statusReason: '', state: { subnetId: subnet.id } };
    } catch (e) {
      await neutron
        .deleteNetwork(net.id)
        .catch((ce: unknown) => c.log.warn({ err: String(ce) }, 'removing a half-made network'));
      throw e;
    }
  }

  async discard(c: Caller, id: string): Promise<void> {
    await upstream('Neutron', () => c.clients.neutron.deleteNetwork(id));
  }

  async progress(c: Caller, r: NetworkRecord): Promise<Outcome<NetworkState> | typeof GONE> {
    if (r.action === 'DELETE') return this.tryDelete(c, r);
    return { status: r.status, statusReason: r.statusReason };
  }

  async update(
    c: Caller,
    r: NetworkRecord,
    p: NetworkProperties,
    changed: string[],
  ): Promise<Outcome<NetworkState>> {
    const { neutron } = c.clients;
    if (changed.includes('name') && p.name) {
      await upstream('Neutron refused to rename the network', () =>
        neutron.updateNetwork(r.id, { name: p.name! }),
      );
    }
    if (changed.some((k) => SUBNET_KEYS.includes(k)) || changed.includes('name')) {
      const sp = explicit(p);
      await upstream('Neutron refused to update the subnet', () =>
        neutron.updateSubnet(r.state.subnetId, {
          ...(changed.includes('name') && p.name ? { name: p.name } : {}),
          ...(changed.includes('gateway_ip') ? { gateway_ip: sp.gateway } : {}),
          // pools and gateway move together: Neutron refuses a gateway inside a pool
          ...(changed.some((k) => ['allocation_pools', 'reserved_ips', 'gateway_ip'].includes(k))
            ? { allocation_pools: sp.pools }
            : {}),
          ...(changed.includes('dns_nameservers') ? { dns_nameservers: p.dns_nameservers ?? [] } : {}),
          ...(changed.includes('enable_dhcp') ? { enable_dhcp: p.enable_dhcp ?? false } : {}),
        }),
      );
    }
    return { status: 'COMPLETE', statusReason: '' };
  }

  private async tryDelete(c: Caller, r: NetworkRecord): Promise<Outcome<NetworkState> | typeof GONE> {
    try {
      const existed = await c.clients.neutron.deleteNetwork(r.id);
      c.log.info({ network_id: r.id, existed }, 'network deleted');
      return GONE;
    } catch (e) {
      if (!isNeutronConflict(e)) throw upstreamError(e, 'Neutron refused to delete the network');
      const started = r.state.deleteStartedAt ?? this.now();
      if (this.now() - started > this.s.deleteTimeoutSeconds * 1000) {
        return {
          status: 'FAILED',
          statusReason: `Neutron refused to delete the network: ${(e as Error).message}`,
        };
      }
      return {
        status: 'IN_PROGRESS',
        statusReason: `waiting for ports to go: ${(e as Error).message}`,
        state: { ...r.state, deleteStartedAt: started },
      };
    }
  }

  async delete(c: Caller, r: NetworkRecord): Promise<Outcome<NetworkState> | typeof GONE> {
    return this.tryDelete(c, { ...r, state: { ...r.state, deleteStartedAt: undefined } } as NetworkRecord);
  }

  async suspend(): Promise<Outcome<NetworkState>> {
    return { status: 'COMPLETE', statusReason: 'a network has nothing to suspend' };
  }

  async resume(): Promise<Outcome<NetworkState>> {
    return { status: 'COMPLETE', statusReason: '' };
  }

  private async parts(c: Caller, r: NetworkRecord): Promise<{ network?: Network; subnet?: Subnet }> {
    const [network, subnet] = await Promise.all([
      upstream('Neutron', () => c.clients.neutron.findNetwork(r.id)),
      upstream('Neutron', () => c.clients.neutron.findSubnet(r.state.subnetId)),
    ]);
    return { ...(network ? { network } : {}), ...(subnet ? { subnet } : {}) };
  }

  async check(c: Caller, r: NetworkRecord): Promise<Outcome<NetworkState>> {
    const { network, subnet } = await this.parts(c, r);
    if (!network) return { status: 'FAILED', statusReason: `network ${r.id} is gone` };
    if (!subnet)
      return { status: 'FAILED', statusReason: `subnet ${r.state.subnetId} of network ${r.id} is gone` };
    return { status: 'COMPLETE', statusReason: '' };
  }

  async attribute(c: Caller, r: NetworkRecord, name: string): Promise<unknown> {
    if (name === 'network_id') return r.id;
    if (name === 'subnet_id') return r.state.subnetId;
    if (name === 'reserved_ips') return plan(r.properties).reserved;
    const { network, subnet } = await this.parts(c, r);
    switch (name) {
      case 'name':
        return network?.name ?? null;
      case 'cidr':
        return subnet?.cidr ?? null;
      case 'ip_version':
        return subnet?.ip_version ?? null;
      case 'gateway_ip':
        return subnet ? (subnet.gateway_ip ?? '') : null;
      case 'allocation_pools':
        return subnet?.allocation_pools ?? null;
      case 'show':
        return { network: network ?? null, subnet: subnet ?? null };
      default:
        return null;
    }
  }
}
