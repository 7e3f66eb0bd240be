import { OpenStackHttpError } from 'keystone-client-ts';

import type { ResourceRecord } from '../db/resource-store';
import { caller, fakeClients } from '../testing/fakes';
import { NetworkHandler, type NetworkProperties, type NetworkState } from './networks';

const conflict = () =>
  new OpenStackHttpError({
    status: 409,
    code: 'NetworkInUse',
    message:
      'Unable to complete operation on network n1. There are one or more ports still in use on the network.',
    method: 'DELETE',
    url: 'x',
  });

const record = (props: NetworkProperties, over: Partial<ResourceRecord> = {}) =>
  ({
    id: 'n1',
    type: 'OS::Container::Network',
    projectId: 'p1',
    action: 'CREATE',
    status: 'COMPLETE',
    statusReason: '',
    properties: props,
    state: { subnetId: 's1' },
    version: 1,
    ...over,
  }) as unknown as ResourceRecord<NetworkProperties, NetworkState>;

describe('NetworkHandler', () => {
  it('creates the network and a subnet with the pools worked out', async () => {
    const clients = fakeClients();
    clients.neutron.createNetwork!.resolves({ id: 'n1' });
    clients.neutron.createSubnet!.resolves({ id: 's1' });
    const h = new NetworkHandler({ deleteTimeoutSeconds: 60 });
    const made = await h.create(
      caller(clients),
      { cidr: '10.5.0.0/24', reserved_ips: ['10.5.0.10'], dns_nameservers: ['10.0.0.53'] },
      'stk-net-x',
    );
    expect(made).toEqual({ id: 'n1', status: 'COMPLETE', statusReason: '', state: { subnetId: 's1' } });
    expect(clients.neutron.createNetwork!.firstCall.args[0]).toMatchObject({ name: 'stk-net-x' });
    expect(clients.neutron.createSubnet!.firstCall.args[0]).toEqual({
      network_id: 'n1',
      name: 'stk-net-x',
      cidr: '10.5.0.0/24',
      ip_version: 4,
      allocation_pools: [
        { start: '10.5.0.2', end: '10.5.0.9' },
        { start: '10.5.0.11', end: '10.5.0.254' },
      ],
      dns_nameservers: ['10.0.0.53'],
      enable_dhcp: false,
    });
  });

  it('refuses bad addresses before calling Neutron, and removes the network when the subnet fails', async () => {
    const clients = fakeClients();
    const h = new NetworkHandler({ deleteTimeoutSeconds: 60 });
    await expect(
      h.create(caller(clients), { cidr: '10.5.0.0/24', gateway_ip: '10.6.0.1' }, 'x'),
    ).rejects.toMatchObject({ status: 400 });
    expect(clients.neutron.createNetwork!.called).toBe(false);
    clients.neutron.createNetwork!.resolves({ id: 'n1' });
    clients.neutron.createSubnet!.rejects(
      new OpenStackHttpError({
        status: 400,
        message: 'Invalid input for operation',
        method: 'POST',
        url: 'x',
      }),
    );
    clients.neutron.deleteNetwork!.resolves(true);
    await expect(h.create(caller(clients), { cidr: '10.5.0.0/24' }, 'x')).rejects.toMatchObject({
      status: 400,
      message: 'Neutron refused to create the subnet: Invalid input for operation',
    });
    expect(clients.neutron.deleteNetwork!.firstCall.args).toEqual(['n1']);
  });

  it('renames and updates the subnet in place, pools and gateway together', async () => {
    const clients = fakeClients();
    clients.neutron.updateNetwork!.resolves({});
    clients.neutron.updateSubnet!.resolves({});
    const h = new NetworkHandler({ deleteTimeoutSeconds: 60 });
    const r = record({ cidr: '10.5.0.0/24', name: 'a' });
    await h.update(caller(clients), r, { cidr: '10.5.0.0/24', name: 'b', reserved_ips: ['10.5.0.7'] }, [
      'name',
      'reserved_ips',
    ]);
    expect(clients.neutron.updateNetwork!.firstCall.args).toEqual(['n1', { name: 'b' }]);
    expect(clients.neutron.updateSubnet!.firstCall.args).toEqual([
      's1',
      {
        name: 'b',
        allocation_pools: [
          { start: '10.5.0.2', end: '10.5.0.6' },
          { start: '10.5.0.8', end: '10.5.0.254' },
        ],
      },
    ]);
  });

  it('retries a delete Neutron refuses while ports go away, then gives up with its reason', async () => {
    const clients = fakeClients();
    let now = 1_000_000;
    const h = new NetworkHandler({ deleteTimeoutSeconds: 30 }, () => now);
    clients.neutron.deleteNetwork!.rejects(conflict());
    const first = await h.delete(caller(clients), record({ cidr: '10.5.0.0/24' }));
    expect(first).toMatchObject({
      status: 'IN_PROGRESS',
      state: { subnetId: 's1', deleteStartedAt: 1_000_000 },
    });
    now += 10_000;
    const r = record(
      { cidr: '10.5.0.0/24' },
      { action: 'DELETE', status: 'IN_PROGRESS', state: { subnetId: 's1', deleteStartedAt: 1_000_000 } },
    );
    await expect(h.progress(caller(clients), r)).resolves.toMatchObject({ status: 'IN_PROGRESS' });
    now += 30_000;
    await expect(h.progress(caller(clients), r)).resolves.toMatchObject({
      status: 'FAILED',
      statusReason: expect.stringContaining('ports still in use'),
    });
    clients.neutron.deleteNetwork!.resolves(true);
    await expect(h.progress(caller(clients), r)).resolves.toBe('gone');
  });

  it('answers attributes from Neutron', async () => {
    const clients = fakeClients();
    clients.neutron.findNetwork!.resolves({ id: 'n1', name: 'web' });
    clients.neutron.findSubnet!.resolves({
      id: 's1',
      cidr: '10.5.0.0/24',
      ip_version: 4,
      gateway_ip: null,
      allocation_pools: [{ start: 'a', end: 'b' }],
    });
    const h = new NetworkHandler({ deleteTimeoutSeconds: 30 });
    const r = record({ cidr: '10.5.0.0/24', reserved_ips: ['10.5.0.9'] });
    await expect(h.attribute(caller(clients), r, 'gateway_ip')).resolves.toBe('');
    await expect(h.attribute(caller(clients), r, 'reserved_ips')).resolves.toEqual(['10.5.0.9']);
    await expect(h.attribute(caller(clients), r, 'subnet_id')).resolves.toBe('s1');
    await expect(h.check(caller(clients), r)).resolves.toMatchObject({ status: 'COMPLETE' });
    clients.neutron.findSubnet!.resolves(undefined);
    await expect(h.check(caller(clients), r)).resolves.toMatchObject({ status: 'FAILED' });
  });
});
