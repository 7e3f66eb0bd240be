import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';

import { FakeKeystone } from '../../../keystone-client-ts/src/testing/fake-keystone';
import type { FakeReply, FakeRequest } from '../../../keystone-client-ts/src/testing/fake-http';
import { isNeutronConflict, NeutronClient } from './client';

function setup(handler: (req: FakeRequest) => FakeReply) {
  const ks = new FakeKeystone();
  const seen: FakeRequest[] = [];
  ks.serviceHandler = (req) => {
    seen.push(req);
    return handler(req);
  };
  const session = new KeystoneSession({
    authUrl: 'http://keystone.example/v3',
    auth: new PasswordAuth({
      username: 'u',
      userDomainName: 'Default',
      password: 'p',
      scope: { projectId: 'p1' },
    }),
    adapter: ks.adapter,
  });
  const neutron = new NeutronClient(session, {
    adapter: ks.adapter,
    endpointOverride: 'http://neutron.example/v2.0/',
  });
  return { neutron, seen };
}

const net = (id: string, name = `n-${id}`) => ({
  id,
  name,
  project_id: 'p1',
  status: 'ACTIVE',
  admin_state_up: true,
  shared: false,
  subnets: [],
});
const notFound = {
  status: 404,
  data: { NeutronError: { type: 'NetworkNotFound', message: 'Network x could not be found.', detail: '' } },
};

describe('NeutronClient', () => {
  it('creates networks and subnets wrapped in their kind, under /v2.0', async () => {
    const { neutron, seen } = setup((req) =>
      req.url.includes('/subnets')
        ? { status: 201, data: { subnet: { id: 's1', cidr: '10.9.0.0/24' } } }
        : { status: 201, data: { network: net('n1') } },
    );
    const n = await neutron.createNetwork({ name: 'web' });
    const s = await neutron.createSubnet({
      network_id: n.id,
      cidr: '10.9.0.0/24',
      ip_version: 4,
      gateway_ip: null,
    });
    expect(s.id).toBe('s1');
    expect(seen[0]!.url).toBe('http://neutron.example/v2.0/networks');
    expect(seen[0]!.body).toEqual({ network: { name: 'web' } });
    expect(seen[1]!.body).toEqual({
      subnet: { network_id: 'n1', cidr: '10.9.0.0/24', ip_version: 4, gateway_ip: null },
    });
  });

  it('lists with repeated exact-match filters', async () => {
    const { neutron, seen } = setup(() => ({ status: 200, data: { ports: [{ id: 'p1' }] } }));
    const ports = await neutron.listPorts({
      network_id: 'n1',
      device_owner: ['compute:nova', 'compute:az1'],
      name: undefined,
    });
    expect(ports).toHaveLength(1);
    const url = new URL(seen[0]!.url);
    expect(url.pathname).toBe('/v2.0/ports');
    expect(url.searchParams.getAll('device_owner')).toEqual(['compute:nova', 'compute:az1']);
    expect(url.searchParams.has('name')).toBe(false);
  });

  it('resolves a network by id, then by unique name', async () => {
    const { neutron } = setup((req) => {
      const url = new URL(req.url);
      if (url.pathname === '/v2.0/networks/n1') return { status: 200, data: { network: net('n1', 'web') } };
      if (url.pathname.startsWith('/v2.0/networks/')) return notFound;
      const name = url.searchParams.get('name');
      if (name === 'web') return { status: 200, data: { networks: [net('n1', 'web')] } };
      if (name === 'twice')
        return { status: 200, data: { networks: [net('a', 'twice'), net('b', 'twice')] } };
      return { status: 200, data: { networks: [] } };
    });
    await expect(neutron.resolveNetwork('n1')).resolves.toMatchObject({ name: 'web' });
    await expect(neutron.resolveNetwork('web')).resolves.toMatchObject({ id: 'n1' });
    await expect(neutron.resolveNetwork('none')).resolves.toBeUndefined();
    await expect(neutron.resolveNetwork('twice')).rejects.toThrow(/more than one network/);
  });

  it('updates with PUT, deletes idempotently, and surfaces conflicts', async () => {
    const { neutron, seen } = setup((req) => {
      if (req.method === 'PUT') return { status: 200, data: { subnet: { id: 's1', gateway_ip: null } } };
      if (req.url.endsWith('/networks/gone')) return notFound;
      if (req.url.endsWith('/networks/busy'))
        return {
          status: 409,
          data: {
            NeutronError: {
              type: 'NetworkInUse',
              message: 'Unable to complete operation on network busy.',
              detail: '',
            },
          },
        };
      return { status: 204, data: '' };
    });
    await neutron.updateSubnet('s1', { allocation_pools: [{ start: '10.0.0.10', end: '10.0.0.20' }] });
    expect(seen[0]!.body).toEqual({
      subnet: { allocation_pools: [{ start: '10.0.0.10', end: '10.0.0.20' }] },
    });
    await expect(neutron.deleteNetwork('n1')).resolves.toBe(true);
    await expect(neutron.deleteNetwork('gone')).resolves.toBe(false);
    const err = await neutron.deleteNetwork('busy').catch((e: unknown) => e);
    expect(isNeutronConflict(err)).toBe(true);
    expect(err).toMatchObject({ code: 'NetworkInUse' });
  });
});
