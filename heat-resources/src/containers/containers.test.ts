import { OpenStackHttpError } from 'keystone-client-ts';
import sinon from 'sinon';

import type { ResourceRecord } from '../db/resource-store';
import { caller, fakeClients } from '../testing/fakes';
import type { ContainerProperties } from './container-spec';
import { ContainerHandler, type ContainerState } from './containers';

const flavor = {
  id: 'f1',
  name: 'c1.tiny',
  vcpus: 1,
  ram: 128,
  disk: 1,
  'os-flavor-access:is_public': true,
  extra_specs: {},
};
const server = (status: string, extra: Record<string, unknown> = {}) => ({
  id: 's1',
  name: 'web',
  status,
  'OS-EXT-STS:task_state': null,
  addresses: {},
  ...extra,
});

function setup(volumeNames = new Map<string, string>()) {
  const clients = fakeClients();
  clients.nova.listFlavors!.resolves([flavor]);
  clients.nova.resolveFlavor!.callsFake(async (n: string) => (n === 'c1.tiny' ? flavor : undefined));
  clients.glance.listImages!.resolves([{ id: 'img1', name: 'busybox' }]);
  clients.glance.findImage!.resolves(undefined);
  const handler = new ContainerHandler({
    flavorSelection: 'smallest',
    logLines: 20,
    volumeNames: async () => volumeNames,
  });
  return { clients, handler, c: caller(clients) };
}

const record = (
  props: ContainerProperties,
  state: Partial<ContainerState> = {},
  over: Partial<ResourceRecord> = {},
) =>
  ({
    id: 's1',
    type: 'OS::Container::Container',
    projectId: 'p1',
    action: 'CREATE',
    status: 'COMPLETE',
    statusReason: '',
    properties: props,
    state: {
      flavor: { id: 'f1', name: 'c1.tiny', vcpus: 1, ram: 128 },
      imageId: 'img1',
      volumeIds: [],
      ...state,
    },
    version: 1,
    ...over,
  }) as unknown as ResourceRecord<ContainerProperties, ContainerState>;

describe('ContainerHandler', () => {
  it('boots a Nova server with the container spec, the chosen flavor and no network', async () => {
    const { clients, handler, c } = setup();
    clients.nova.createServer!.resolves({ id: 's1', links: [] });
    const made = await handler.create(
      c,
      { image: 'busybox', memory: 64, environment: { A: 'b' } },
      'stk-web-abc',
    );
    expect(made).toMatchObject({
      id: 's1',
      status: 'IN_PROGRESS',
      state: { flavor: { id: 'f1' }, imageId: 'img1' },
    });
    const req = clients.nova.createServer!.firstCall.args[0];
    expect(req).toMatchObject({ name: 'stk-web-abc', imageRef: 'img1', flavorRef: 'f1', networks: 'none' });
    expect(req.userData).toBe('#container-spec\n{"env":{"A":"b"}}\n');
  });

  it('resolves networks and ports, and passes zone and hints', async () => {
    const { clients, handler, c } = setup();
    clients.neutron.resolveNetwork!.callsFake(async (n: string) =>
      n === 'web-net' ? { id: 'n1' } : undefined,
    );
    clients.neutron.findPort!.resolves({ id: 'port1' });
    clients.nova.createServer!.resolves({ id: 's1', links: [] });
    await handler.create(
      c,
      {
        image: 'busybox',
        flavor: 'c1.tiny',
        name: 'web',
        networks: [{ network: 'web-net', fixed_ip: '10.0.0.5' }, { port: 'port1' }],
        availability_zone: 'az1',
        scheduler_hints: { different_host: ['x'] },
      },
      'ignored',
    );
    expect(clients.nova.createServer!.firstCall.args[0]).toMatchObject({
      name: 'web',
      networks: [{ uuid: 'n1', fixed_ip: '10.0.0.5' }, { port: 'port1' }],
      availabilityZone: 'az1',
      schedulerHints: { different_host: ['x'] },
    });
    await expect(
      handler.create(c, { image: 'busybox', networks: [{ network: 'nope' }] }, 'x'),
    ).rejects.toMatchObject({
      status: 400,
      message: 'network nope not found',
    });
  });

  it("reports Nova's refusal (quota) with Nova's words", async () => {
    const { clients, handler, c } = setup();
    clients.nova.createServer!.rejects(
      new OpenStackHttpError({
        status: 403,
        message: 'Quota exceeded for instances: Requested 1, but already used 1 of 1 instances',
        method: 'POST',
        url: 'x',
      }),
    );
    await expect(handler.create(c, { image: 'busybox' }, 'x')).rejects.toMatchObject({
      status: 403,
      code: 'QuotaExceeded',
      message:
        'Nova refused to create the server: Quota exceeded for instances: Requested 1, but already used 1 of 1 instances',
    });
  });

  it('renames in place when only the name changes, and rebuilds for anything else', async () => {
    const { clients, handler, c } = setup();
    clients.nova.renameServer!.resolves(server('ACTIVE'));
    clients.nova.rebuildServer!.resolves();
    const before = record({ image: 'busybox', name: 'a', environment: { A: '1' } });
    await expect(
      handler.update(c, before, { ...before.properties, name: 'b' }, ['name']),
    ).resolves.toMatchObject({ status: 'COMPLETE' });
    expect(clients.nova.renameServer!.firstCall.args).toEqual(['s1', 'b']);
    const o = await handler.update(c, before, { ...before.properties, environment: { A: '2' } }, [
      'environment',
    ]);
    expect(o.status).toBe('IN_PROGRESS');
    expect(clients.nova.rebuildServer!.firstCall.args).toEqual([
      's1',
      { imageRef: 'img1', userData: '#container-spec\n{"env":{"A":"2"}}\n' },
    ]);
    expect(clients.glance.listImages!.called).toBe(false);
  });

  it('follows a rebuild to completion and a delete until Nova forgets the server', async () => {
    const { clients, handler, c } = setup();
    clients.nova
      .findServer!.onFirstCall()
      .resolves(server('REBUILD', { 'OS-EXT-STS:task_state': 'rebuilding' }));
    clients.nova.findServer!.onSecondCall().resolves(server('ACTIVE'));
    const r = record({ image: 'busybox' }, {}, { action: 'UPDATE', status: 'IN_PROGRESS' });
    await expect(handler.progress(c, r)).resolves.toMatchObject({ status: 'IN_PROGRESS' });
    await expect(handler.progress(c, r)).resolves.toMatchObject({ status: 'COMPLETE' });
    clients.nova.deleteServer!.resolves(true);
    const d = record({ image: 'busybox' }, {}, { action: 'DELETE', status: 'IN_PROGRESS' });
    await expect(handler.delete(c, d)).resolves.toMatchObject({ status: 'IN_PROGRESS' });
    clients.nova.findServer!.onThirdCall().resolves(undefined);
    await expect(handler.progress(c, d)).resolves.toBe('gone');
  });

  it('leaves a container whose process exited alone on suspend, and on the resume after it', async () => {
    const { clients, handler, c } = setup();
    clients.nova.findServer!.resolves(server('SHUTOFF'));
    const o = await handler.suspend(c, record({ image: 'busybox' }));
    expect(o).toMatchObject({ status: 'COMPLETE', state: { suspendSkipped: true } });
    await expect(
      handler.resume(c, record({ image: 'busybox' }, { suspendSkipped: true })),
    ).resolves.toMatchObject({ status: 'COMPLETE' });
    expect(clients.nova.serverAction!.called).toBe(false);
    clients.nova.findServer!.resolves(server('ACTIVE'));
    clients.nova.serverAction!.resolves();
    await expect(handler.suspend(c, record({ image: 'busybox' }))).resolves.toMatchObject({
      status: 'IN_PROGRESS',
    });
    expect(clients.nova.serverAction!.firstCall.args).toEqual(['s1', 'suspend']);
  });

  it('checks the server against what Heat expects', async () => {
    const { clients, handler, c } = setup();
    clients.nova.findServer!.resolves(server('ACTIVE'));
    await expect(handler.check(c, record({ image: 'x' }))).resolves.toMatchObject({ status: 'COMPLETE' });
    await expect(handler.check(c, record({ image: 'x' }, {}, { action: 'SUSPEND' }))).resolves.toMatchObject({
      status: 'FAILED',
    });
    clients.nova.findServer!.resolves(server('ERROR', { fault: { message: 'boom', code: 500 } }));
    await expect(handler.check(c, record({ image: 'x' }))).resolves.toMatchObject({
      status: 'FAILED',
      statusReason: expect.stringContaining('boom'),
    });
    clients.nova.findServer!.resolves(undefined);
    await expect(handler.check(c, record({ image: 'x' }))).resolves.toMatchObject({
      statusReason: 'server s1 is gone',
    });
  });

  it('answers attributes from Nova and from what it kept', async () => {
    const { clients, handler, c } = setup();
    clients.nova.findServer!.resolves(
      server('ACTIVE', {
        addresses: {
          net: [{ addr: '10.0.0.5', version: 4, 'OS-EXT-IPS-MAC:mac_addr': 'fa:16:3e:00:00:01' }],
        },
        hostId: 'h1',
        'OS-EXT-AZ:availability_zone': 'nova',
      }),
    );
    clients.nova.consoleOutput!.resolves('hello\n');
    const r = record({ image: 'x' });
    await expect(handler.attribute(c, r, 'addresses')).resolves.toEqual({
      net: [{ addr: '10.0.0.5', version: 4, mac: 'fa:16:3e:00:00:01' }],
    });
    await expect(handler.attribute(c, r, 'first_address')).resolves.toBe('10.0.0.5');
    await expect(handler.attribute(c, r, 'host')).resolves.toBe('');
    await expect(handler.attribute(c, r, 'host_id')).resolves.toBe('h1');
    await expect(handler.attribute(c, r, 'logs')).resolves.toBe('hello\n');
    expect(clients.nova.consoleOutput!.firstCall.args).toEqual(['s1', 20, { timeoutMs: undefined }]);
    clients.nova.consoleOutput!.rejects(new Error('timeout of 10000ms exceeded'));
    await expect(handler.attribute(c, r, 'logs')).resolves.toBeNull();
    await expect(handler.attribute(c, r, 'flavor')).resolves.toMatchObject({ name: 'c1.tiny' });
    await expect(handler.attribute(c, r, 'show')).resolves.toMatchObject({ id: 's1' });
  });

  it('refuses volumes of other projects (unknown ids)', async () => {
    const { handler, c } = setup(new Map([['v1', 'data']]));
    await expect(
      handler.create(c, { image: 'x', volumes: [{ volume: 'v2', mount_path: '/d' }] }, 'x'),
    ).rejects.toMatchObject({
      status: 400,
      message: 'volume v2 not found',
    });
    sinon.restore();
  });
});
