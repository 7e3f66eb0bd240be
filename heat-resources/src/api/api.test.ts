// The HTTP API end to end inside the process: createService with an
// in-memory SQLite database, fake OpenStack clients (sinon) and a fake token
// check (X-Auth-Token "token-of-<project>" is that project's caller).

import { ApiError, type Logger, loadConfig } from '@berth/service-kit';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';

import { createService, type HeatResourcesService } from '../app';
import { serviceSpec } from '../config';
import type { CallerClients } from '../openstack/clients';
import { context, type FakeClients, fakeClients } from '../testing/fakes';

const config = loadConfig(serviceSpec, {
  env: {
    H__DEFAULT__TYPES_FILE: 'none',
    H__DATABASE__CONNECTION: 'sqlite://',
    H__KEYSTONE_AUTHTOKEN__WWW_AUTHENTICATE_URI: 'http://keystone.example/v3',
    H__KEYSTONE_AUTHTOKEN__AUTH_URL: 'http://keystone.example/v3',
    H__KEYSTONE_AUTHTOKEN__USERNAME: 'svc',
    H__KEYSTONE_AUTHTOKEN__PASSWORD: 'secret',
  },
  envPrefix: 'H',
}).config;

const flavor = {
  id: 'f1',
  name: 'c1.tiny',
  vcpus: 1,
  ram: 128,
  disk: 1,
  'os-flavor-access:is_public': true,
  extra_specs: {},
};

let svc: HeatResourcesService;
let app: FastifyInstance;
let clients: FakeClients;

beforeEach(async () => {
  clients = fakeClients();
  clients.nova.listFlavors!.resolves([flavor]);
  clients.nova.resolveFlavor!.resolves(flavor);
  clients.glance.findImage!.resolves(undefined);
  clients.glance.listImages!.resolves([{ id: 'img1', name: 'busybox' }]);
  let n = 0;
  clients.nova.createServer!.callsFake(async () => ({ id: `server-${++n}`, links: [] }));
  svc = await createService(config, pino({ level: 'silent' }) as unknown as Logger, {
    clients: async () => clients as unknown as CallerClients,
    authenticate: async (request) => {
      const token = request.headers['x-auth-token'];
      if (typeof token !== 'string')
        throw new ApiError(401, 'Unauthorized', 'The request you have made requires authentication.');
      if (token === 'domain-token') return context('x', { projectId: undefined });
      if (token === 'admin-of-p9') return context('p9', { isAdmin: true, roles: ['admin'] });
      return context(token.replace(/^token-of-/, ''));
    },
  });
  app = svc.app;
});

afterEach(() => svc.close());

const as = (project: string) => ({ 'x-auth-token': `token-of-${project}` });
const create = (project: string, properties: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/containers',
    headers: as(project),
    payload: { properties, ...extra },
  });

describe('discovery', () => {
  it('publishes the type schema and versions without a token', async () => {
    const types = await app.inject({ url: '/v1/resource_types' });
    expect(types.statusCode).toBe(200);
    expect(types.json().resource_types['OS::Container::Network'].path).toBe('/v1/networks');
    expect(types.headers['x-berth-resource-types']).toBe(svc.types.version);
    expect((await app.inject({ url: '/' })).json().versions[0].id).toBe('v1.0');
  });
});

describe('refusals, in the error shape', () => {
  it('needs a token, and a project-scoped one', async () => {
    const r = await app.inject({ url: '/v1/containers' });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toEqual({
      error: {
        code: 401,
        title: 'Unauthorized',
        message: 'The request you have made requires authentication.',
        type: 'Unauthorized',
      },
    });
    const d = await app.inject({
      method: 'POST',
      url: '/v1/containers',
      headers: { 'x-auth-token': 'domain-token' },
      payload: { properties: { image: 'x' } },
    });
    expect(d.statusCode).toBe(403);
  });

  it.each([
    ['an unknown property', { image: 'busybox', colour: 'red' }],
    ['a string for an integer (no coercion)', { image: 'busybox', memory: '64' }],
    ['a restart policy that does not exist', { image: 'busybox', restart_policy: 'sometimes' }],
    ['a bad environment name', { image: 'busybox', environment: { '1A': 'x' } }],
    ['a port out of range', { image: 'busybox', ports: [{ port: 70000 }] }],
    [
      'a network entry with neither network nor port',
      { image: 'busybox', networks: [{ fixed_ip: '10.0.0.1' }] },
    ],
    ['no image', { memory: 64 }],
  ])('refuses %s with 400 before calling Nova', async (_what, properties) => {
    const r = await create('p1', properties);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 400, title: 'Bad Request', type: 'InvalidParameterValue' });
    expect(clients.nova.createServer!.called).toBe(false);
  });

  it('refuses malformed JSON, and breaking a cross-property rule', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/containers',
      headers: { ...as('p1'), 'content-type': 'application/json' },
      payload: '{"properties":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.type).toBe('BadRequest');
    const rule = await create('p1', { image: 'busybox', flavor: 'c1.tiny', memory: 64 });
    expect(rule.statusCode).toBe(400);
    expect(rule.json().error).toMatchObject({
      type: 'InvalidProperties',
      message: expect.stringMatching(/either flavor/),
    });
  });
});

describe('a container through its life', () => {
  it('creates once per idempotency key', async () => {
    const first = await create(
      'p1',
      { image: 'busybox', memory: 64 },
      { idempotency_key: 'stk-web-1', physical_name: 'stk-web-1' },
    );
    expect(first.statusCode).toBe(202);
    expect(first.json().resource).toMatchObject({
      id: 'server-1',
      action: 'CREATE',
      status: 'IN_PROGRESS',
      project_id: 'p1',
    });
    expect(first.json().resource.properties).toEqual({ image: 'busybox', memory: 64, restart_policy: 'no' });
    const again = await create('p1', { image: 'busybox', memory: 64 }, { idempotency_key: 'stk-web-1' });
    expect(again.statusCode).toBe(200);
    expect(again.json().resource.id).toBe('server-1');
    expect(clients.nova.createServer!.callCount).toBe(1);
    // the same key in another project is another resource
    expect(
      (await create('p2', { image: 'busybox' }, { idempotency_key: 'stk-web-1' })).json().resource.id,
    ).toBe('server-2');
  });

  it('polls, updates in place or refuses what must replace, suspends, checks and deletes', async () => {
    const id = (await create('p1', { image: 'busybox', memory: 64, environment: { A: '1' } })).json().resource
      .id as string;
    clients.nova.findServer!.resolves({ id, status: 'ACTIVE', 'OS-EXT-STS:task_state': null, addresses: {} });
    const shown = await app.inject({ url: `/v1/containers/${id}`, headers: as('p1') });
    expect(shown.json().resource).toMatchObject({ action: 'CREATE', status: 'COMPLETE' });

    const replace = await app.inject({
      method: 'PATCH',
      url: `/v1/containers/${id}`,
      headers: as('p1'),
      payload: { properties: { image: 'busybox', memory: 256 } },
    });
    expect(replace.statusCode).toBe(409);
    expect(replace.json().error).toMatchObject({
      type: 'UpdateReplace',
      message: expect.stringMatching(/^memory cannot change in place/),
    });

    clients.nova.rebuildServer!.resolves();
    const upd = await app.inject({
      method: 'PATCH',
      url: `/v1/containers/${id}`,
      headers: as('p1'),
      payload: { properties: { image: 'busybox', memory: 64, environment: { A: '2' } } },
    });
    expect(upd.statusCode).toBe(202);
    expect(upd.json().resource).toMatchObject({
      action: 'UPDATE',
      status: 'IN_PROGRESS',
      properties: { environment: { A: '2' } },
    });
    clients.nova.findServer!.resolves({ id, status: 'ACTIVE', 'OS-EXT-STS:task_state': null, addresses: {} });
    expect(
      (await app.inject({ url: `/v1/containers/${id}`, headers: as('p1') })).json().resource.status,
    ).toBe('COMPLETE');

    clients.nova.serverAction!.resolves();
    const sus = await app.inject({
      method: 'POST',
      url: `/v1/containers/${id}/action`,
      headers: as('p1'),
      payload: { suspend: null },
    });
    expect(sus.statusCode).toBe(202);
    expect(sus.json().resource).toMatchObject({ action: 'SUSPEND', status: 'IN_PROGRESS' });
    const two = await app.inject({
      method: 'POST',
      url: `/v1/containers/${id}/action`,
      headers: as('p1'),
      payload: { suspend: null, resume: null },
    });
    expect(two.statusCode).toBe(400);

    const check = await app.inject({
      method: 'POST',
      url: `/v1/containers/${id}/action`,
      headers: as('p1'),
      payload: { check: null },
    });
    expect(check.statusCode).toBe(200);
    expect(check.json().resource.action).toBe('CHECK');

    const attr = await app.inject({ url: `/v1/containers/${id}/attributes/status`, headers: as('p1') });
    expect(attr.json()).toEqual({ attribute: 'status', value: 'ACTIVE' });
    expect(
      (await app.inject({ url: `/v1/containers/${id}/attributes/colour`, headers: as('p1') })).json().error
        .type,
    ).toBe('AttributeNotFound');

    clients.nova.deleteServer!.resolves(true);
    const del = await app.inject({ method: 'DELETE', url: `/v1/containers/${id}`, headers: as('p1') });
    expect(del.json().resource).toMatchObject({ action: 'DELETE', status: 'IN_PROGRESS' });
    clients.nova.findServer!.resolves(undefined);
    const gone = await app.inject({ url: `/v1/containers/${id}`, headers: as('p1') });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.type).toBe('ResourceNotFound');
    expect((await app.inject({ url: '/v1/containers', headers: as('p1') })).json().resources).toEqual([]);
  });
});

describe('project isolation', () => {
  it("answers 404 to another project for everything of a project's resource", async () => {
    const id = (await create('p1', { image: 'busybox' })).json().resource.id as string;
    for (const req of [
      { method: 'GET', url: `/v1/containers/${id}` },
      {
        method: 'PATCH',
        url: `/v1/containers/${id}`,
        payload: { properties: { image: 'busybox', name: 'stolen' } },
      },
      { method: 'DELETE', url: `/v1/containers/${id}` },
      { method: 'POST', url: `/v1/containers/${id}/action`, payload: { suspend: null } },
      { method: 'GET', url: `/v1/containers/${id}/attributes/logs` },
    ] as const) {
      const r = await app.inject({ ...req, headers: as('p2') });
      expect(r.statusCode).toBe(404);
    }
    expect((await app.inject({ url: '/v1/containers', headers: as('p2') })).json().resources).toEqual([]);
    expect(clients.nova.deleteServer!.called).toBe(false);
    expect(clients.nova.findServer!.called).toBe(false);
  });

  it("lets a cloud admin of another project reach it, as Nova does (an admin's stack delete must not orphan it)", async () => {
    const id = (await create('p1', { image: 'busybox' })).json().resource.id as string;
    clients.nova.deleteServer!.resolves(false);
    const del = await app.inject({
      method: 'DELETE',
      url: `/v1/containers/${id}`,
      headers: { 'x-auth-token': 'admin-of-p9' },
    });
    expect(del.statusCode).toBe(202);
    expect(clients.nova.deleteServer!.firstCall.args).toEqual([id]);
    expect((await app.inject({ url: `/v1/containers/${id}`, headers: as('p1') })).statusCode).toBe(404);
  });
});

describe('volumes', () => {
  it('are mounted by id, named in the spec, and cannot go while mounted', async () => {
    const vol = await app.inject({
      method: 'POST',
      url: '/v1/volumes',
      headers: as('p1'),
      payload: { properties: {}, physical_name: 'stk-data-x1' },
    });
    expect(vol.statusCode).toBe(202);
    const vid = vol.json().resource.id as string;
    const c = await create('p1', { image: 'busybox', volumes: [{ volume: vid, mount_path: '/data' }] });
    expect(c.statusCode).toBe(202);
    expect(clients.nova.createServer!.firstCall.args[0].userData).toContain(
      '"volumes":[{"name":"stk-data-x1","target":"/data"}]',
    );
    const attr = await app.inject({ url: `/v1/volumes/${vid}/attributes/containers`, headers: as('p1') });
    expect(attr.json().value).toEqual([c.json().resource.id]);
    const busy = await app.inject({ method: 'DELETE', url: `/v1/volumes/${vid}`, headers: as('p1') });
    expect(busy.statusCode).toBe(409);
    // another project cannot mount it
    expect(
      (await create('p2', { image: 'busybox', volumes: [{ volume: vid, mount_path: '/d' }] })).statusCode,
    ).toBe(400);
  });
});

describe('networks', () => {
  it('are created in Neutron and refused with bad addresses', async () => {
    clients.neutron.createNetwork!.resolves({ id: 'net-1' });
    clients.neutron.createSubnet!.resolves({ id: 'sub-1' });
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/networks',
      headers: as('p1'),
      payload: { properties: { cidr: '10.8.0.0/24' } },
    });
    expect(ok.statusCode).toBe(202);
    expect(ok.json().resource).toMatchObject({
      id: 'net-1',
      status: 'COMPLETE',
      properties: { cidr: '10.8.0.0/24', enable_dhcp: false },
    });
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/networks',
      headers: as('p1'),
      payload: { properties: { cidr: '10.8.0.0/24', reserved_ips: ['10.9.0.1'] } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({
      type: 'InvalidProperties',
      message: 'reserved address 10.9.0.1 is not in 10.8.0.0/24',
    });
  });
});
