import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';

import { FakeKeystone } from '../../../keystone-client-ts/src/testing/fake-keystone';
import type { FakeReply, FakeRequest } from '../../../keystone-client-ts/src/testing/fake-http';
import { NovaClient } from './client';

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
  const nova = new NovaClient(session, { adapter: ks.adapter, microversion: '2.37' });
  return { nova, seen };
}

const server = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `s-${id}`,
  status: 'ACTIVE',
  tenant_id: 'p1',
  user_id: 'u1',
  metadata: {},
  addresses: {},
  created: '2024-01-01T00:00:00Z',
  updated: '2024-01-01T00:00:00Z',
  ...extra,
});

describe('NovaClient', () => {
  it('creates a server with the microversion header and base64 user data', async () => {
    const { nova, seen } = setup(() => ({ status: 202, data: { server: { id: 'abc', links: [] } } }));
    const created = await nova.createServer({
      name: 'n1',
      imageRef: 'img',
      flavorRef: 'fl',
      networks: 'none',
      userData: '#!/bin/sh\necho hi\n',
      metadata: { berth_cluster: 'c1' },
    });
    expect(created.id).toBe('abc');
    const req = seen[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('http://nova.example/v2.1/servers');
    expect(req.headers['openstack-api-version']).toBe('compute 2.37');
    expect(req.headers['x-openstack-nova-api-version']).toBe('2.37');
    const body = req.body as { server: Record<string, unknown> };
    expect(body.server.networks).toBe('none');
    expect(Buffer.from(String(body.server.user_data), 'base64').toString()).toBe('#!/bin/sh\necho hi\n');
    expect(body.server.metadata).toEqual({ berth_cluster: 'c1' });
    expect(body.server).not.toHaveProperty('key_name');
  });

  it('answers undefined / false for servers Nova no longer knows', async () => {
    const { nova } = setup(() => ({
      status: 404,
      data: { itemNotFound: { code: 404, message: 'Instance x could not be found.' } },
    }));
    await expect(nova.findServer('x')).resolves.toBeUndefined();
    await expect(nova.deleteServer('x')).resolves.toBe(false);
    await expect(nova.getServer('x')).rejects.toMatchObject({ status: 404 });
  });

  it('lists servers across pages with the filters Nova understands', async () => {
    const { nova, seen } = setup((req) => {
      const url = new URL(req.url);
      if (!url.searchParams.get('marker')) {
        return {
          status: 200,
          data: { servers: [server('1'), server('2')], servers_links: [{ rel: 'next', href: 'x' }] },
        };
      }
      return { status: 200, data: { servers: [server('3')] } };
    });
    const all = await nova.listServers({ name: '^c1-' });
    expect(all.map((s) => s.id)).toEqual(['1', '2', '3']);
    expect(new URL(seen[0]!.url).searchParams.get('name')).toBe('^c1-');
    expect(new URL(seen[1]!.url).searchParams.get('marker')).toBe('2');
  });

  it('resolves flavors by id, then by exact name', async () => {
    const flavors = [
      { id: '10', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1 },
      { id: '11', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20 },
    ];
    const { nova } = setup((req) => {
      const path = new URL(req.url).pathname;
      if (path.endsWith('/flavors/detail')) return { status: 200, data: { flavors } };
      const hit = flavors.find((f) => path.endsWith(`/flavors/${f.id}`));
      return hit
        ? { status: 200, data: { flavor: hit } }
        : { status: 404, data: { itemNotFound: { code: 404, message: 'Flavor not found' } } };
    });
    await expect(nova.resolveFlavor('11')).resolves.toMatchObject({ name: 'm1.small' });
    await expect(nova.resolveFlavor('m1.tiny')).resolves.toMatchObject({ id: '10' });
    await expect(nova.resolveFlavor('nope')).resolves.toBeUndefined();
  });

  it('finds keypairs and surfaces other errors', async () => {
    const { nova } = setup((req) =>
      req.url.endsWith('/os-keypairs/kp1')
        ? { status: 200, data: { keypair: { name: 'kp1', fingerprint: 'f', public_key: 'ssh-rsa x' } } }
        : req.url.endsWith('/os-keypairs/boom')
          ? { status: 500, data: { computeFault: { code: 500, message: 'boom' } } }
          : { status: 404, data: { itemNotFound: { code: 404, message: 'Keypair not found' } } },
    );
    await expect(nova.findKeypair('kp1')).resolves.toMatchObject({ name: 'kp1' });
    await expect(nova.findKeypair('other')).resolves.toBeUndefined();
    await expect(nova.findKeypair('boom')).rejects.toMatchObject({ status: 500 });
  });

  it('sends scheduler hints beside the server, and none when empty', async () => {
    const { nova, seen } = setup(() => ({ status: 202, data: { server: { id: 'abc', links: [] } } }));
    await nova.createServer({
      name: 'n',
      imageRef: 'i',
      flavorRef: 'f',
      networks: [{ uuid: 'net1', fixed_ip: '10.0.0.5' }],
      availabilityZone: 'az1',
      schedulerHints: { different_host: ['s1'] },
    });
    await nova.createServer({
      name: 'n',
      imageRef: 'i',
      flavorRef: 'f',
      networks: 'none',
      schedulerHints: {},
    });
    const first = seen[0]!.body as Record<string, Record<string, unknown>>;
    expect(first['os:scheduler_hints']).toEqual({ different_host: ['s1'] });
    expect(first.server!.availability_zone).toBe('az1');
    expect(first.server!.networks).toEqual([{ uuid: 'net1', fixed_ip: '10.0.0.5' }]);
    expect(seen[1]!.body).not.toHaveProperty('os:scheduler_hints');
  });

  it('names the security groups of the server as Nova takes them, and none when not given', async () => {
    const { nova, seen } = setup(() => ({ status: 202, data: { server: { id: 'abc', links: [] } } }));
    const base = { name: 'n', imageRef: 'i', flavorRef: 'f', networks: [{ uuid: 'net1' }] };
    await nova.createServer({ ...base, securityGroups: ['c1-swarm', 'default'] });
    await nova.createServer({ ...base, securityGroups: [] });
    const first = seen[0]!.body as { server: Record<string, unknown> };
    expect(first.server.security_groups).toEqual([{ name: 'c1-swarm' }, { name: 'default' }]);
    expect((seen[1]!.body as { server: object }).server).not.toHaveProperty('security_groups');
  });

  it('renames, rebuilds with new user data, and runs simple actions', async () => {
    const { nova, seen } = setup((req) =>
      req.method === 'PUT'
        ? { status: 200, data: { server: server('s1', { name: 'renamed' }) } }
        : { status: 202, data: '' },
    );
    const renamed = await nova.renameServer('s1', 'renamed');
    expect(renamed.name).toBe('renamed');
    expect(seen[0]!.body).toEqual({ server: { name: 'renamed' } });
    expect(seen[0]!.url).toBe('http://nova.example/v2.1/servers/s1');
    await expect(
      nova.rebuildServer('s1', { imageRef: 'img', userData: '#container-spec\n{}' }),
    ).rejects.toThrow(/needs compute microversion 2.57/);
    await nova.rebuildServer('s1', { imageRef: 'img' });
    expect(seen[1]!.body).toEqual({ rebuild: { imageRef: 'img' } });
    await nova.serverAction('s1', 'suspend');
    expect(seen[2]!.url).toBe('http://nova.example/v2.1/servers/s1/action');
    expect(seen[2]!.body).toEqual({ suspend: null });
  });

  it('rebuilds with base64 user data at 2.57 and later', async () => {
    const ks = new FakeKeystone();
    const seen: FakeRequest[] = [];
    ks.serviceHandler = (req) => {
      seen.push(req);
      return { status: 202, data: '' };
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
    const nova = new NovaClient(session, { adapter: ks.adapter, microversion: '2.61' });
    await nova.rebuildServer('s1', { imageRef: 'img', userData: 'hello', name: 'n2' });
    const body = seen[0]!.body as { rebuild: Record<string, string> };
    expect(seen[0]!.headers['openstack-api-version']).toBe('compute 2.61');
    expect(body.rebuild.name).toBe('n2');
    expect(Buffer.from(body.rebuild.user_data!, 'base64').toString()).toBe('hello');
  });

  it('reads the console output, whole or its last lines', async () => {
    const { nova, seen } = setup(() => ({ status: 200, data: { output: 'a\nb\n' } }));
    await expect(nova.consoleOutput('s1', 2)).resolves.toBe('a\nb\n');
    await nova.consoleOutput('s1', undefined, { timeoutMs: 5000 });
    expect(seen[0]!.body).toEqual({ 'os-getConsoleOutput': { length: 2 } });
    expect(seen[1]!.body).toEqual({ 'os-getConsoleOutput': {} });
  });
});
