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

  it('creates security groups and their rules in bulk under /v2.0/security-groups, and deletes them', async () => {
    const sg = {
      id: 'sg1',
      name: 'c1-swarm',
      description: 'd',
      project_id: 'p1',
      security_group_rules: [],
    };
    const { neutron, seen } = setup((req) => {
      const url = new URL(req.url);
      if (req.method === 'POST' && url.pathname === '/v2.0/security-groups')
        return { status: 201, data: { security_group: sg } };
      if (req.method === 'POST' && url.pathname === '/v2.0/security-group-rules') {
        const rules = (req.body as { security_group_rules: object[] }).security_group_rules;
        return {
          status: 201,
          data: { security_group_rules: rules.map((r, i) => ({ id: `r${i}`, ...r })) },
        };
      }
      if (req.method === 'GET' && url.pathname === '/v2.0/security-groups')
        return { status: 200, data: { security_groups: [sg] } };
      if (req.method === 'GET') return { status: 200, data: { security_group: sg } };
      if (url.pathname.endsWith('/sg-busy'))
        return {
          status: 409,
          data: {
            NeutronError: {
              type: 'SecurityGroupInUse',
              message: 'Security Group sg-busy in use.',
              detail: '',
            },
          },
        };
      if (url.pathname.endsWith('/gone'))
        return {
          status: 404,
          data: { NeutronError: { type: 'SecurityGroupNotFound', message: 'x', detail: '' } },
        };
      return { status: 204, data: '' };
    });
    expect(await neutron.createSecurityGroup({ name: 'c1-swarm', description: 'd' })).toEqual(sg);
    expect(seen[0]!.body).toEqual({ security_group: { name: 'c1-swarm', description: 'd' } });
    const rules = await neutron.createSecurityGroupRules([
      {
        security_group_id: 'sg1',
        direction: 'ingress',
        protocol: 'tcp',
        port_range_min: 2376,
        port_range_max: 2376,
      },
      { security_group_id: 'sg1', direction: 'ingress', protocol: 'udp', remote_group_id: 'sg1' },
    ]);
    expect(rules.map((r) => r.id)).toEqual(['r0', 'r1']);
    expect(seen[1]!.url).toBe('http://neutron.example/v2.0/security-group-rules');
    expect(await neutron.createSecurityGroupRules([])).toEqual([]);
    expect(seen).toHaveLength(2);

    expect(await neutron.listSecurityGroups({ name: 'c1-swarm', project_id: 'p1' })).toEqual([sg]);
    const listed = new URL(seen[2]!.url);
    expect(listed.pathname).toBe('/v2.0/security-groups');
    expect(listed.searchParams.get('project_id')).toBe('p1');
    await expect(neutron.findSecurityGroup('sg1')).resolves.toEqual(sg);
    expect(seen[3]!.url).toBe('http://neutron.example/v2.0/security-groups/sg1');

    await expect(neutron.deleteSecurityGroup('sg1')).resolves.toBe(true);
    await expect(neutron.deleteSecurityGroup('gone')).resolves.toBe(false);
    const err = await neutron.deleteSecurityGroup('sg-busy').catch((e: unknown) => e);
    expect(isNeutronConflict(err)).toBe(true);
    expect(err).toMatchObject({ code: 'SecurityGroupInUse' });
  });
});
