// The Magnum-compatible API and what clients really send it: Horizon's
// stringified numbers and booleans and Python-literal label patches are
// accepted; unknown fields, wrong types, negative counts, duplicates Magnum
// refuses, oversized or malformed bodies, unknown ids, other projects'
// resources, bad tokens and unsupported microversions get a 4xx in Magnum's
// error format, never a 5xx, and nothing refused is half-stored.
// A private berth-cluster-service on the real Keystone, Glance and Nova.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  call,
  nodeImageAndFlavor,
  type PrivateService,
  type Reply,
  startPrivateService,
  tenant,
  type Tenant,
  waitCluster,
} from '../support/cluster-service';
import { adminSession, KeystoneFixture, uniqueName } from '../support/keystone-fixture';

jest.setTimeout(120_000);

const ks = new KeystoneFixture();
let svc: PrivateService;
let A: Tenant;
let B: Tenant;
let res: Awaited<ReturnType<typeof nodeImageAndFlavor>>;
let templateId: string;
const statuses: number[] = [];

/** a call as tenant A at `latest`, remembering every status for the no-5xx check */
async function api(
  method: string,
  path: string,
  body?: unknown,
  o: Parameters<typeof call>[5] & { as?: Tenant } = {},
) {
  const t = o.as ?? A;
  const r = await call(svc.url, await t.token(), method, path, body, { version: 'latest', ...o });
  statuses.push(r.status);
  return r;
}

/** asserts Magnum's error document and returns its detail */
function magnumError(r: Reply, status: number): string {
  expect([r.status, r.text]).toEqual([status, expect.any(String)]);
  expect(r.headers.get('content-type')).toMatch(/application\/json/);
  expect(r.body).toEqual({
    errors: [
      expect.objectContaining({
        status,
        code: status >= 500 ? 'server' : 'client',
        title: expect.any(String),
        detail: expect.any(String),
      }),
    ],
  });
  return r.body.errors[0].detail as string;
}

const template = (extra: Record<string, unknown> = {}) => ({
  name: uniqueName('t'),
  coe: 'swarm-mode',
  image_id: res.image,
  flavor_id: res.flavor,
  master_flavor_id: res.flavor,
  external_network_id: 'public',
  ...extra,
});

beforeAll(async () => {
  A = await tenant(ks, 'cs-in-a');
  B = await tenant(ks, 'cs-in-b');
  res = await nodeImageAndFlavor(mkdtempSync(join(tmpdir(), 'berth-cs-in-')));
  svc = await startPrivateService('input', { api: { max_request_body_size: '65536' } });
  const r = await api('POST', '/v1/clustertemplates', template());
  expect(r.status).toBe(201);
  templateId = r.body.uuid;
});

afterAll(async () => {
  if (svc) {
    for (const t of [A, B]) {
      if (!t) continue;
      const list = await call(svc.url, await t.token(), 'GET', '/v1/clusters');
      for (const c of list.body?.clusters ?? []) {
        await call(svc.url, await t.token(), 'DELETE', `/v1/clusters/${c.uuid}`);
        await waitCluster(svc.url, t.token, c.uuid, (x) => x.status === 'GONE', 90_000).catch(
          () => undefined,
        );
      }
    }
    await svc.stop();
  }
  await res?.remove();
  await ks.cleanup();
});

describe('what Horizon sends', () => {
  it('creates a template from stringified numbers and booleans', async () => {
    const r = await api('POST', '/v1/clustertemplates', {
      ...template(),
      docker_volume_size: '10',
      network_driver: 'docker',
      dns_nameserver: '8.8.8.8',
      floating_ip_enabled: 'True',
      master_lb_enabled: 'False',
      tls_disabled: 'False',
      registry_enabled: 'False',
      labels: { kube_tag: 'v1.30.0', auto_healing_enabled: 'true' },
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${svc.url}/v1/clustertemplates/${r.body.uuid}`);
    expect(r.body).toMatchObject({
      docker_volume_size: 10,
      floating_ip_enabled: true,
      master_lb_enabled: false,
      tls_disabled: false,
      labels: { kube_tag: 'v1.30.0', auto_healing_enabled: 'true' },
    });
  });

  it('applies its template update: add to a null field, labels as a Python dict literal, numbers as strings', async () => {
    const r = await api('PATCH', `/v1/clustertemplates/${templateId}`, [
      { op: 'add', path: '/dns_nameserver', value: '1.1.1.1' },
      { op: 'replace', path: '/labels', value: "{'kube_tag': 'v1.31.0', 'foo': 'bar'}" },
      { op: 'add', path: '/docker_volume_size', value: '20' },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      dns_nameserver: '1.1.1.1',
      labels: { kube_tag: 'v1.31.0', foo: 'bar' },
      docker_volume_size: 20,
    });
  });

  it('creates a cluster from its create body (strings, "" discovery_url, boolean label values)', async () => {
    const r = await api('POST', '/v1/clusters', {
      discovery_url: '',
      create_timeout: '60',
      name: 'hzc1',
      cluster_template_id: templateId,
      floating_ip_enabled: 'True',
      labels: { availability_zone: 'nova', auto_scaling_enabled: false, auto_healing_enabled: false },
      master_lb_enabled: 'False',
      master_count: '1',
      master_flavor_id: res.flavor,
      node_count: '2',
      flavor_id: res.flavor,
    });
    expect(r.status).toBe(202);
    expect(Object.keys(r.body)).toEqual(['uuid']);
    const c = await api('GET', `/v1/clusters/${r.body.uuid}`);
    expect(c.body).toMatchObject({
      name: 'hzc1',
      node_count: 2,
      master_count: 1,
      create_timeout: 60,
      labels: { availability_zone: 'nova', auto_scaling_enabled: 'False', auto_healing_enabled: 'False' },
    });
    expect((await api('DELETE', `/v1/clusters/${r.body.uuid}`)).status).toBe(204);
    // the delete runs in the conductor: gone before the next group counts clusters
    await waitCluster(svc.url, A.token, r.body.uuid, (x) => x.status === 'GONE', 120_000);
  });

  it('deletes with Content-Type application/octet-stream and no body', async () => {
    const t = await api('POST', '/v1/clustertemplates', template());
    const r = await api('DELETE', `/v1/clustertemplates/${t.body.uuid}`, undefined, {
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(r.status).toBe(204);
  });
});

describe('bad input gets 400 in Magnum format, and nothing is stored', () => {
  let before: number;
  beforeAll(async () => {
    before = (await api('GET', '/v1/clusters')).body.clusters.length;
  });
  afterAll(async () => {
    expect((await api('GET', '/v1/clusters')).body.clusters.length).toBe(before);
  });

  const cluster = (extra: Record<string, unknown>) => ({
    name: 'c1',
    cluster_template_id: templateId,
    ...extra,
  });

  it.each([
    ['an unknown field', { colour: 'blue' }, /^Unknown attribute for argument cluster: colour$/],
    ['a negative node_count', { node_count: -1 }, /node_count.*Value should be greater or equal to 0/],
    ['a node_count that is not a number', { node_count: 'two' }, /node_count.*Wrong type/],
    ['a fractional node_count', { node_count: 1.5 }, /node_count.*Wrong type/],
    ['a number as a name', { name: 42 }, /name.*Wrong type/],
    ['a name Magnum forbids', { name: '1-starts-with-a-digit' }, /name.*pattern/],
    ['labels that are not a dict', { labels: 'a=b' }, /labels.*Wrong type/],
    ['an ambiguous boolean', { floating_ip_enabled: 'maybe' }, /floating_ip_enabled.*Wrong type/],
    ['a read-only field', { status: 'CREATE_COMPLETE' }, /Unknown attribute for argument cluster: status/],
    ['master_count 0', { master_count: 0 }, /master_count.*greater or equal to 1/],
    [
      'several masters without a load balancer',
      { master_count: 3 },
      /master_count must be 1 when master_lb_enabled is False/,
    ],
    [
      'an even number of masters',
      { master_count: 2, master_lb_enabled: true },
      /master_count must be an odd number/,
    ],
    ['an unknown flavor', { flavor_id: 'no-such-flavor' }, /Unable to find flavor no-such-flavor/],
    ['an unknown keypair', { keypair: 'no-such-keypair' }, /Unable to find keypair no-such-keypair/],
  ])('refuses %s', async (_what, extra, message) => {
    expect(magnumError(await api('POST', '/v1/clusters', cluster(extra)), 400)).toMatch(message);
  });

  it('refuses a missing template (404 from 1.10, 400 before) and a missing mandatory field', async () => {
    expect(
      magnumError(await api('POST', '/v1/clusters', cluster({ cluster_template_id: 'nope' })), 404),
    ).toMatch(/ClusterTemplate nope could not be found/);
    magnumError(
      await api('POST', '/v1/clusters', cluster({ cluster_template_id: 'nope' }), { version: '1.9' }),
      400,
    );
    expect(magnumError(await api('POST', '/v1/clusters', { name: 'c1' }), 400)).toMatch(
      /cluster_template_id.*Mandatory field missing/,
    );
    expect(magnumError(await api('POST', '/v1/clustertemplates', { image_id: res.image }), 400)).toMatch(
      /coe.*Mandatory field missing/,
    );
  });

  it('refuses node_count 0 below 1.10', async () => {
    expect(
      magnumError(await api('POST', '/v1/clusters', cluster({ node_count: 0 }), { version: '1.9' }), 400),
    ).toMatch(/Resizing a nodegroup to zero is not supported in the provided microversion/);
  });

  it('refuses template values Magnum refuses', async () => {
    for (const [extra, message] of [
      [{ coe: 'mesos' }, /Requested COE type mesos is not supported/],
      [{ coe: 'kubernetes' }, /Cluster type \(vm, berth-swarm-node, kubernetes\) not supported/],
      [{ network_driver: 'calico' }, /Network driver type calico is not supported/],
      [{ dns_nameserver: 'not-an-ip' }, /dns_nameserver.*Expected a single dns address/],
      [{ apiserver_port: 80 }, /apiserver_port.*greater or equal to 1024/],
      [{ docker_volume_size: 0 }, /docker_volume_size.*greater or equal to 1/],
      [{ server_type: 'phone' }, /server_type.*one of/],
      [{ image_id: '' }, /image_id.*minimum character/],
      [{ labels: { swarm_strategy: 'fastest' } }, /swarm_strategy.*not supported/],
    ] as const) {
      expect(magnumError(await api('POST', '/v1/clustertemplates', template(extra)), 400)).toMatch(message);
    }
  });

  it('refuses patches that Magnum refuses', async () => {
    for (const [ops, message] of [
      [[{ op: 'replace', path: '/uuid', value: 'x' }], /'\/uuid' is an internal attribute/],
      [[{ op: 'remove', path: '/coe' }], /'\/coe' is a mandatory attribute and can not be removed/],
      [[{ op: 'add', path: '/name', value: 'x' }], /please use 'replace' operation instead/],
      [[{ op: 'move', path: '/name', value: 'x' }], /op.*one of/],
      [[{ op: 'replace', path: '/docker_volume_size', value: 'many' }], /docker_volume_size.*Wrong type/],
      [[{ op: 'replace', path: '/labels', value: "{'broken'" }], /Couldn't apply patch/],
      [{ op: 'replace', path: '/name', value: 'x' }, /Wrong type/],
    ] as const) {
      expect(magnumError(await api('PATCH', `/v1/clustertemplates/${templateId}`, ops), 400)).toMatch(
        message,
      );
    }
  });

  it('refuses malformed, empty and oversized bodies', async () => {
    expect(magnumError(await api('POST', '/v1/clusters', undefined, { raw: '{"name": ' }), 400)).toMatch(
      /JSON/,
    );
    magnumError(await api('POST', '/v1/clusters', undefined, { raw: '' }), 400);
    magnumError(await api('POST', '/v1/clusters', undefined, { raw: '[1,2]' }), 400);
    const huge = { ...cluster({}), labels: { big: 'x'.repeat(70_000) } };
    expect(magnumError(await api('POST', '/v1/clusters', huge), 413)).toMatch(/larger than the limit/);
  });

  it('refuses bad list parameters', async () => {
    expect(magnumError(await api('GET', '/v1/clusters?limit=0'), 400)).toMatch(/Limit must be positive/);
    magnumError(await api('GET', '/v1/clusters?limit=ten'), 400);
    expect(magnumError(await api('GET', '/v1/clusters?sort_dir=up'), 400)).toMatch(
      /Invalid sort direction: up/,
    );
    expect(magnumError(await api('GET', '/v1/clusters?sort_key=password'), 400)).toMatch(
      /invalid field for sorting/,
    );
    expect(magnumError(await api('GET', '/v1/clusters?marker=not-a-uuid'), 400)).toMatch(/Expected a uuid/);
    magnumError(await api('GET', '/v1/clusters?marker=00000000-0000-4000-8000-000000000000'), 404);
  });
});

describe('duplicates Magnum refuses get 409', () => {
  it('a second quota for the same project and resource', async () => {
    const admin = await adminSession().getToken();
    const body = { project_id: A.projectId, resource: 'Cluster', hard_limit: 5 };
    const first = await call(svc.url, admin, 'POST', '/v1/quotas', body, { version: 'latest' });
    expect(first.status).toBe(201);
    try {
      expect(
        magnumError(await call(svc.url, admin, 'POST', '/v1/quotas', body, { version: 'latest' }), 409),
      ).toMatch(/already exists for resource Cluster/);
      expect(
        magnumError(
          await call(
            svc.url,
            admin,
            'POST',
            '/v1/quotas',
            { ...body, project_id: 'no-such-project' },
            { version: 'latest' },
          ),
          404,
        ),
      ).toMatch(/project_id no-such-project could not be found/);
    } finally {
      expect(
        (
          await call(svc.url, admin, 'DELETE', `/v1/quotas/${A.projectId}/Cluster`, undefined, {
            version: 'latest',
          })
        ).status,
      ).toBe(204);
    }
  });

  it('an ambiguous name: lookups by it answer 409, lookups by uuid still work', async () => {
    const name = uniqueName('dup');
    const one = await api('POST', '/v1/clustertemplates', template({ name }));
    const two = await api('POST', '/v1/clustertemplates', template({ name }));
    expect([one.status, two.status]).toEqual([201, 201]);
    expect(magnumError(await api('GET', `/v1/clustertemplates/${name}`), 409)).toMatch(
      /Multiple ClusterTemplates exist with same name/,
    );
    expect((await api('GET', `/v1/clustertemplates/${one.body.uuid}`)).status).toBe(200);
    for (const t of [one, two])
      expect((await api('DELETE', `/v1/clustertemplates/${t.body.uuid}`)).status).toBe(204);
  });
});

describe('identity, projects and versions', () => {
  it('refuses requests without a valid token with 401', async () => {
    for (const token of [undefined, 'gAAAAAB-not-a-token']) {
      const r = await call(svc.url, token, 'GET', '/v1/clusters');
      statuses.push(r.status);
      magnumError(r, 401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Keystone uri=/);
    }
  });

  it("hides another project's template and cluster: 404, as if they did not exist", async () => {
    const c = await api('POST', '/v1/clusters', { name: 'private-a', cluster_template_id: templateId });
    expect(c.status).toBe(202);
    for (const [method, path, body] of [
      ['GET', `/v1/clustertemplates/${templateId}`],
      ['PATCH', `/v1/clustertemplates/${templateId}`, [{ op: 'replace', path: '/name', value: 'mine' }]],
      ['DELETE', `/v1/clustertemplates/${templateId}`],
      ['GET', `/v1/clusters/${c.body.uuid}`],
      ['GET', '/v1/clusters/private-a'],
      ['PATCH', `/v1/clusters/${c.body.uuid}`, [{ op: 'replace', path: '/node_count', value: 3 }]],
      ['POST', `/v1/clusters/${c.body.uuid}/actions/resize`, { node_count: 3 }],
      ['DELETE', `/v1/clusters/${c.body.uuid}`],
      ['GET', `/v1/certificates/${c.body.uuid}`],
      ['PATCH', `/v1/certificates/${c.body.uuid}`],
      ['GET', `/v1/clusters/${c.body.uuid}/nodegroups`],
    ] as const) {
      magnumError(await api(method, path, body, { as: B }), 404);
    }
    magnumError(
      await api('POST', '/v1/certificates', { cluster_uuid: c.body.uuid, csr: 'x' }, { as: B }),
      400,
    );
    magnumError(await api('POST', '/v1/clusters', { cluster_template_id: templateId }, { as: B }), 404);
    expect((await api('GET', '/v1/clusters', undefined, { as: B })).body.clusters).toEqual([]);
    expect((await api('GET', `/v1/stats?project_id=${A.projectId}`, undefined, { as: B })).status).toBe(403);
    expect((await api('GET', `/v1/quotas/${A.projectId}/Cluster`, undefined, { as: B })).status).toBe(403);
    expect((await api('GET', `/v1/clusters/${c.body.uuid}`)).body.status).not.toMatch(/DELETE/);
  });

  it('refuses cluster changes Magnum refuses', async () => {
    const c = (await api('GET', '/v1/clusters/private-a')).body;
    expect(
      magnumError(
        await api('PATCH', `/v1/clusters/${c.uuid}`, [{ op: 'replace', path: '/name', value: 'b' }]),
        400,
      ),
    ).toMatch(/cannot change cluster property\(ies\) name/);
    expect(
      magnumError(
        await api('PATCH', `/v1/clusters/${c.uuid}`, [{ op: 'replace', path: '/api_address', value: 'x' }]),
        400,
      ),
    ).toMatch(/internal attribute/);
    expect(
      magnumError(
        await api('PATCH', `/v1/clusters/${c.uuid}`, [{ op: 'replace', path: '/node_count', value: -2 }]),
        400,
      ),
    ).toMatch(/greater or equal to 0/);
    // a cluster still being created cannot be updated
    if (c.status === 'CREATE_IN_PROGRESS') {
      expect(
        magnumError(await api('POST', `/v1/clusters/${c.uuid}/actions/resize`, { node_count: 2 }), 400),
      ).toMatch(/Resizing a cluster when status is "CREATE_IN_PROGRESS" is not supported/);
    }
    expect(
      magnumError(
        await api('POST', `/v1/clusters/${c.uuid}/actions/resize`, { node_count: 2, colour: 1 }),
        400,
      ),
    ).toMatch(/Unknown attribute/);
    expect(
      magnumError(
        await api('POST', `/v1/clusters/${c.uuid}/actions/resize`, {
          node_count: 2,
          nodegroup: 'default-master',
        }),
        400,
      ),
    ).toMatch(/Resizing a master nodegroup is not supported/);
    expect(
      magnumError(await api('POST', '/v1/certificates', { cluster_uuid: c.uuid, csr: 'not a csr' }), 400),
    ).toMatch(/invalid csr/i);
  });

  it('negotiates microversions as Magnum: 406 outside 1.1-1.10, versioned APIs gated', async () => {
    for (const header of [
      'container-infra 1.11',
      'container-infra 2.0',
      'compute 2.1',
      'container-infra one',
      'garbage',
    ]) {
      const r = await call(svc.url, await A.token(), 'GET', '/v1/clusters', undefined, {
        headers: { 'OpenStack-API-Version': header },
      });
      statuses.push(r.status);
      expect([header, r.status]).toEqual([header, 406]);
      expect(r.body.errors).toHaveLength(1);
    }
    const unsupported = await call(svc.url, await A.token(), 'GET', '/v1/clusters', undefined, {
      version: '1.11',
    });
    expect(unsupported.body.errors[0]).toMatchObject({
      code: 'magnum.microversion-unsupported',
      min_version: '1.1',
      max_version: '1.10',
    });
    expect(unsupported.headers.get('openstack-api-maximum-version')).toBe('container-infra 1.10');
    const c = (await api('GET', '/v1/clusters/private-a')).body;
    magnumError(
      await api('POST', `/v1/clusters/${c.uuid}/actions/resize`, { node_count: 1 }, { version: '1.6' }),
      406,
    );
    magnumError(await api('GET', `/v1/clusters/${c.uuid}/nodegroups`, undefined, { version: '1.8' }), 406);
    expect(
      magnumError(
        await api(
          'POST',
          `/v1/clusters/${c.uuid}/actions/upgrade`,
          { cluster_template: templateId },
          { version: '1.7' },
        ),
        400,
      ),
    ).toMatch(/Cluster upgrade is not supported in the provided microversion/);
    // the word newer Magnum releases use is accepted too
    const newer = await call(svc.url, await A.token(), 'GET', '/v1/clusters', undefined, {
      headers: { 'OpenStack-API-Version': 'container-infrastructure-management 1.9' },
    });
    expect(newer.status).toBe(200);
  });

  it('serves the version documents without a token', async () => {
    const root = await call(svc.url, undefined, 'GET', '/');
    expect(root.body).toMatchObject({
      name: 'OpenStack Magnum API',
      versions: [{ id: 'v1', min_version: '1.1', max_version: '1.10', status: 'CURRENT' }],
    });
    const v1 = await call(svc.url, undefined, 'GET', '/v1');
    expect(v1.body.clusters[0].href).toBe(`${svc.url}/v1/clusters/`);
    expect(v1.headers.get('openstack-api-version')).toBe('container-infra 1.1');
  });

  it('never answered a 5xx', () => {
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.length).toBeGreaterThan(50);
  });
});
