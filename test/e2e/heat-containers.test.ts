// OS::Container::* end to end: real Heat (heat-api, heat-engine with Berth's
// generic plugin), the heat-resources service, real Nova with Berth's
// nova-driver, real Neutron and dockerd, driven with the openstack CLI as
// project members run it. Each step looks at what Heat says and at what
// Nova, Neutron and dockerd really hold.
import { join } from 'node:path';

import axios from 'axios';

import { EXAMPLES, HEAT_RESOURCES_URL, dockerContainersOf, HeatFixture } from '../support/heat-fixture';
import { uniqueName } from '../support/keystone-fixture';
import { inspectContainer } from '../support/nova-fixture';
import { adminCredentials, CliError, openstack, run } from '../support/openstack-cli';

jest.setTimeout(600_000);

const f = new HeatFixture();
beforeAll(() => f.setUp(), 300_000);
afterAll(() => f.tearDown(), 600_000);

const MiB = 1024 * 1024;
type Ids = { api: string; web: string; worker: string };

async function serverGone(id: string): Promise<boolean> {
  return openstack(adminCredentials, ['server', 'show', id, '-f', 'json']).then(
    () => false,
    (e: CliError) => /No server with a name or ID/.test(e.stderr),
  );
}

describe('the web app example (heat-resources/examples/webapp.yaml)', () => {
  const name = uniqueName('webapp');
  const params = () => ({
    image: f.a.imageId,
    flavor: f.flavors.small,
    worker_memory: 100,
    cidr: '10.61.0.0/24',
    api_ip: '10.61.0.10',
    greeting: 'hello-from-heat',
  });
  let ids: Ids;
  let networkId: string;

  it('reaches CREATE_COMPLETE with every container running as the template says, and its outputs set', async () => {
    await f.create(f.a, name, join(EXAMPLES, 'webapp.yaml'), params());
    const s = await f.settle(f.a, name);
    expect(`${s.stack_status} ${s.stack_status_reason}`).toMatch(/^CREATE_COMPLETE/);

    ids = await f.output<Ids>(f.a, name, 'container_ids');
    for (const [tier, id] of Object.entries(ids)) {
      const c = await inspectContainer(id);
      expect(c.State.Running).toBe(true);
      expect(c.Config.Labels).toMatchObject({ app: 'webapp', tier });
    }
    const api = await inspectContainer(ids.api);
    expect(api.Config.Env).toContain('GREETING=hello-from-heat');
    expect(api.HostConfig.Memory).toBe(128 * MiB);
    // the named volume lives with the api's server
    const mounts = JSON.parse(
      await run('docker', ['inspect', '-f', '{{json .Mounts}}', `nova-${ids.api}`]),
    ) as Array<{
      Type: string;
      Destination: string;
    }>;
    expect(mounts).toContainEqual(expect.objectContaining({ Type: 'volume', Destination: '/www' }));

    // the worker gave memory, not a flavor: it got the smallest public flavor with at least 100 MiB
    const workerFlavor = await f.output<string>(f.a, name, 'worker_flavor');
    const flavor = await openstack<{ ram: number }>(f.a.creds, [
      'flavor',
      'show',
      workerFlavor,
      '-f',
      'json',
    ]);
    expect(flavor.ram).toBeGreaterThanOrEqual(100);
    expect((await inspectContainer(ids.worker)).HostConfig.Memory).toBe(flavor.ram * MiB);

    // the api asked for the reserved address; Neutron hands it to nobody else
    expect(await f.output(f.a, name, 'api_address')).toBe('10.61.0.10');
    const net = await f.output<{
      id: string;
      cidr: string;
      allocation_pools: Array<{ start: string; end: string }>;
    }>(f.a, name, 'network');
    networkId = net.id;
    expect(net.cidr).toBe('10.61.0.0/24');
    expect(net.allocation_pools).toEqual(
      expect.arrayContaining([
        { start: '10.61.0.2', end: '10.61.0.9' },
        { start: '10.61.0.11', end: '10.61.0.254' },
      ]),
    );
    expect(await f.output<string>(f.a, name, 'web_url')).toMatch(/^http:\/\/10\.61\.0\.\d+\/$/);
    // servers are the project's own, in Nova
    const server = await openstack<{ status: string; name: string }>(f.a.creds, [
      'server',
      'show',
      ids.api,
      '-f',
      'json',
    ]);
    expect(server.status).toBe('ACTIVE');
    expect(server.name).toContain(name);
  });

  it('updates the environment in place: same server, rebuilt with the new value; the others untouched', async () => {
    const webStarted = (await inspectContainer(ids.web)).State.StartedAt;
    const apiStarted = (await inspectContainer(ids.api)).State.StartedAt;
    await f.update(f.a, name, join(EXAMPLES, 'webapp.yaml'), { ...params(), greeting: 'bonjour-from-heat' });
    const s = await f.settle(f.a, name);
    expect(`${s.stack_status} ${s.stack_status_reason}`).toMatch(/^UPDATE_COMPLETE/);
    expect(await f.output<Ids>(f.a, name, 'container_ids')).toEqual(ids);
    const api = await inspectContainer(ids.api);
    expect(api.Config.Env).toContain('GREETING=bonjour-from-heat');
    expect(api.State.Running).toBe(true);
    expect(api.State.StartedAt).not.toBe(apiStarted);
    expect((await inspectContainer(ids.web)).State.StartedAt).toBe(webStarted);
    // the api keeps its address across the rebuild
    expect(await f.output(f.a, name, 'api_address')).toBe('10.61.0.10');
  });

  it('replaces a container whose memory changes, as the published schema says', async () => {
    const types = (await axios.get(`${HEAT_RESOURCES_URL}/v1/resource_types`)).data;
    const memory = types.resource_types['OS::Container::Container'].properties.memory;
    expect(memory.update_allowed).toBe(false);
    const envp = types.resource_types['OS::Container::Container'].properties.environment;
    expect(envp).toMatchObject({ update_allowed: true, update: 'rebuild' });

    await f.update(f.a, name, join(EXAMPLES, 'webapp.yaml'), {
      ...params(),
      greeting: 'bonjour-from-heat',
      worker_memory: 200,
    });
    const s = await f.settle(f.a, name);
    expect(`${s.stack_status} ${s.stack_status_reason}`).toMatch(/^UPDATE_COMPLETE/);
    const now = await f.output<Ids>(f.a, name, 'container_ids');
    expect(now.api).toBe(ids.api);
    expect(now.worker).not.toBe(ids.worker);
    const picked = await openstack<{ ram: number }>(f.a.creds, [
      'flavor',
      'show',
      await f.output<string>(f.a, name, 'worker_flavor'),
      '-f',
      'json',
    ]);
    expect(picked.ram).toBeGreaterThanOrEqual(200);
    expect((await inspectContainer(now.worker)).HostConfig.Memory).toBe(picked.ram * MiB);
    // the replaced one is gone from Nova and from dockerd
    expect(await serverGone(ids.worker)).toBe(true);
    expect(await dockerContainersOf(ids.worker)).toEqual([]);
    ids = now;
  });

  it('suspends and resumes every container', async () => {
    const suspended = await f.action(f.a, 'suspend', name);
    expect(`${suspended.stack_status} ${suspended.stack_status_reason}`).toMatch(/^SUSPEND_COMPLETE/);
    for (const id of Object.values(ids)) {
      expect(
        (await openstack<{ status: string }>(f.a.creds, ['server', 'show', id, '-f', 'json'])).status,
      ).toBe('SUSPENDED');
      expect((await inspectContainer(id)).State.Paused).toBe(true);
    }
    const resumed = await f.action(f.a, 'resume', name);
    expect(`${resumed.stack_status} ${resumed.stack_status_reason}`).toMatch(/^RESUME_COMPLETE/);
    for (const id of Object.values(ids)) {
      const c = await inspectContainer(id);
      expect(c.State.Running && !c.State.Paused).toBe(true);
    }
    const checked = await f.action(f.a, 'check', name);
    expect(checked.stack_status).toBe('CHECK_COMPLETE');
  });

  it('deletes every server, container and the network', async () => {
    await f.delete(f.a, name);
    for (const id of Object.values(ids)) {
      expect(await serverGone(id)).toBe(true);
      expect(await dockerContainersOf(id)).toEqual([]);
    }
    const net = await openstack(adminCredentials, ['network', 'show', networkId, '-f', 'json']).catch(
      (e: CliError) => e,
    );
    expect(net).toBeInstanceOf(CliError);
    expect((net as CliError).stderr).toMatch(/No Network found/);
  });
});

describe('failures, as Heat reports them', () => {
  it("fails the resource with Nova's reason when the project is over quota", async () => {
    await openstack(adminCredentials, ['quota', 'set', '--instances', '1', f.b.projectId]);
    try {
      const tpl = f.template(`heat_template_version: 2021-04-16
resources:
  first:
    type: OS::Container::Container
    properties: {image: ${f.b.imageId}, flavor: ${f.flavors.small}}
  second:
    type: OS::Container::Container
    depends_on: first
    properties: {image: ${f.b.imageId}, flavor: ${f.flavors.small}}
`);
      const name = uniqueName('quota');
      await f.create(f.b, name, tpl);
      const s = await f.settle(f.b, name);
      expect(s.stack_status).toBe('CREATE_FAILED');
      const second = await f.resource(f.b, name, 'second');
      expect(second.resource_status).toBe('CREATE_FAILED');
      expect(second.resource_status_reason).toMatch(/Quota exceeded for instances/);
      expect((await f.resource(f.b, name, 'first')).resource_status).toBe('CREATE_COMPLETE');
      await f.delete(f.b, name);
    } finally {
      await openstack(adminCredentials, ['quota', 'set', '--instances', '10', f.b.projectId]);
    }
  });

  it.each([
    [
      'a restart policy that does not exist',
      'restart_policy: sometimes',
      /properties\.restart_policy: : "sometimes" does not match pattern "\^\(no\|always/,
    ],
    ['both a flavor and memory', 'flavor: FLAVOR\n      memory: 64', /give either flavor, or memory/],
    [
      'a port out of range',
      'ports: [{port: 70000}]',
      /properties\.ports\[0\]\.port: : 70000 is out of range \(min: 1, max: 65535\)/,
    ],
    [
      'an environment name a shell cannot use',
      "environment: {'1BAD': x}",
      /environment.*'1BAD' does not match/,
    ],
    [
      'a flavor that does not exist',
      'flavor: no-such-flavor',
      /properties\.flavor: : Error validating value 'no-such-flavor': No Flavor matching/,
    ],
    ['a property the type does not have', 'colour: red', /Unknown Property colour/],
  ])('rejects %s at stack create, with a clear message and no stack', async (_what, extra, message) => {
    const name = uniqueName('invalid');
    const tpl = f.template(`heat_template_version: 2021-04-16
resources:
  c:
    type: OS::Container::Container
    properties:
      image: ${f.a.imageId}
      ${extra.replace('FLAVOR', f.flavors.small)}
`);
    const err = await f.create(f.a, name, tpl).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).stderr).toMatch(message);
    const stacks = await openstack<Array<{ 'Stack Name': string }>>(f.a.creds, [
      'stack',
      'list',
      '-f',
      'json',
    ]);
    expect(stacks.map((s) => s['Stack Name'])).not.toContain(name);
  });
});

describe('project isolation', () => {
  it("a second project can neither see nor touch the first project's containers", async () => {
    const name = uniqueName('mine');
    const tpl = f.template(`heat_template_version: 2021-04-16
resources:
  data:
    type: OS::Container::Volume
  c:
    type: OS::Container::Container
    properties:
      image: ${f.a.imageId}
      flavor: ${f.flavors.small}
      volumes: [{volume: {get_resource: data}, mount_path: /data}]
outputs:
  id: {value: {get_resource: c}}
  volume: {value: {get_resource: data}}
`);
    await f.create(f.a, name, tpl);
    expect((await f.settle(f.a, name)).stack_status).toBe('CREATE_COMPLETE');
    const id = await f.output<string>(f.a, name, 'id');
    const volume = await f.output<string>(f.a, name, 'volume');

    // Heat and Nova: nothing of project a is visible to b
    const theirs = await openstack<Array<{ 'Stack Name': string }>>(f.b.creds, [
      'stack',
      'list',
      '-f',
      'json',
    ]);
    expect(theirs.map((s) => s['Stack Name'])).not.toContain(name);
    await expect(openstack(f.b.creds, ['server', 'show', id, '-f', 'json'])).rejects.toBeInstanceOf(CliError);

    // heat-resources' own API: 404 for b on every route, and nothing happens
    const token = await f.token(f.b);
    const api = axios.create({
      baseURL: HEAT_RESOURCES_URL,
      headers: { 'X-Auth-Token': token },
      validateStatus: () => true,
    });
    for (const r of [
      await api.get(`/v1/containers/${id}`),
      await api.get(`/v1/containers/${id}/attributes/logs`),
      await api.post(`/v1/containers/${id}/action`, { suspend: null }),
      await api.patch(`/v1/containers/${id}`, { properties: { image: 'x', name: 'stolen' } }),
      await api.delete(`/v1/containers/${id}`),
      await api.delete(`/v1/volumes/${volume}`),
    ]) {
      expect(r.status).toBe(404);
      expect(r.data.error).toMatchObject({ code: 404, type: 'ResourceNotFound' });
    }
    expect((await api.get('/v1/containers')).data.resources).toEqual([]);
    expect((await inspectContainer(id)).State.Running).toBe(true);

    // nor mount a's volume from a stack of its own
    const borrow = uniqueName('borrow');
    await f.create(
      f.b,
      borrow,
      f.template(`heat_template_version: 2021-04-16
resources:
  c:
    type: OS::Container::Container
    properties: {image: ${f.b.imageId}, flavor: ${f.flavors.small}, volumes: [{volume: ${volume}, mount_path: /data}]}
`),
    );
    const s = await f.settle(f.b, borrow);
    expect(s.stack_status).toBe('CREATE_FAILED');
    expect((await f.resource(f.b, borrow, 'c')).resource_status_reason).toMatch(
      new RegExp(`volume ${volume} not found`),
    );
    await f.delete(f.b, borrow);
    await f.delete(f.a, name);
    expect(await serverGone(id)).toBe(true);
  });
});
