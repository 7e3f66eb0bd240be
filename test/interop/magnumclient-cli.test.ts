// python-magnumclient and `openstack coe ...` (Debian's, unchanged) against
// the cluster service the Keystone catalog lists as container-infra: the
// template and cluster life cycle, name-or-uuid addressing, JSON-patch
// updates, quotas and stats, certificates and `coe cluster config`,
// microversion negotiation, and project isolation (project B neither sees
// nor touches project A's clusters). Real Keystone, Glance and Nova.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  call,
  cliEnv,
  openstackRaw,
  python,
  SHARED_URL,
  tenant,
  type Tenant,
  waitCluster,
} from '../support/cluster-service';
import type { JsonDoc } from '../support/cluster-service';
import { KeystoneFixture, uniqueName } from '../support/keystone-fixture';
import { busyboxTarball } from '../support/nova-fixture';
import { adminCredentials, CliError } from '../support/openstack-cli';
import { createDockerImage, createFlavor } from '../support/openstack-resources';
import { newCsr } from '../support/openssl';

jest.setTimeout(180_000);

const ks = new KeystoneFixture();
const dir = mkdtempSync(join(tmpdir(), 'berth-coe-cli-'));
let A: Tenant;
let B: Tenant;
let image: string;
let flavor: string;
const templateName = uniqueName('tmpl');
const clusterName = `coe-${Date.now().toString(36)}`;
let templateId: string;
let clusterId: string;

/** `openstack ...` as a tenant; resolves stdout, or the JSON document it printed (after any notice lines) with -f json */
async function coe<T = unknown>(t: Tenant | 'admin', args: string[]): Promise<T> {
  const out = await openstackRaw(t === 'admin' ? adminCredentials : t.creds, args);
  if (!args.includes('json')) return out as T;
  const start = out.search(/^[[{]/m);
  return JSON.parse(out.slice(start)) as T;
}

/** magnumclient prints some failures and exits 0 (template and quota commands): the printed line */
async function printedFailure(t: Tenant | 'admin', args: string[]): Promise<string> {
  const out = await coe<string>(t, args);
  expect(out).toMatch(/failed/);
  return out;
}

/** the error the CLI printed, e.g. "ClusterTemplate x could not be found. (HTTP 404) ..." */
async function refused(t: Tenant | 'admin', args: string[]): Promise<string> {
  try {
    await coe(t, args);
  } catch (e) {
    if (e instanceof CliError) return e.stderr;
    throw e;
  }
  throw new Error(`openstack ${args.join(' ')} succeeded`);
}

beforeAll(async () => {
  A = await tenant(ks, 'coe-a');
  B = await tenant(ks, 'coe-b');
  const tar = await busyboxTarball(dir);
  image = uniqueName('swarm-node');
  await createDockerImage(image, tar, { os_distro: 'berth-swarm-node' });
  flavor = await createFlavor('flv', 128, 1);
});

afterAll(async () => {
  for (const t of [A, B]) {
    if (!t) continue;
    const clusters = await coe<Array<{ uuid: string }>>(t, ['coe', 'cluster', 'list', '-f', 'json']).catch(
      () => [],
    );
    for (const c of clusters) await coe(t, ['coe', 'cluster', 'delete', c.uuid]).catch(() => undefined);
    for (const c of clusters) {
      await waitCluster(SHARED_URL, t.token, c.uuid, (x) => x.status === 'GONE', 120_000).catch(
        () => undefined,
      );
    }
    const templates = await coe<Array<{ uuid: string }>>(t, [
      'coe',
      'cluster',
      'template',
      'list',
      '-f',
      'json',
    ]).catch(() => []);
    for (const x of templates)
      await coe(t, ['coe', 'cluster', 'template', 'delete', x.uuid]).catch(() => undefined);
  }
  if (image) await coe('admin', ['image', 'delete', image]).catch(() => undefined);
  if (flavor) await coe('admin', ['flavor', 'delete', flavor]).catch(() => undefined);
  await ks.cleanup();
});

describe('cluster templates with `openstack coe cluster template`', () => {
  it('creates one, with the CLI defaults and the image os_distro as cluster_distro', async () => {
    const t = await coe<Record<string, JsonDoc>>(A, [
      'coe',
      'cluster',
      'template',
      'create',
      templateName,
      '--coe',
      'swarm-mode',
      '--image',
      image,
      '--external-network',
      'public',
      '--flavor',
      flavor,
      '--master-flavor',
      flavor,
      '--labels',
      'a=1,b=two',
      '-f',
      'json',
    ]);
    templateId = t.uuid;
    expect(t).toMatchObject({
      name: templateName,
      coe: 'swarm-mode',
      image_id: image,
      cluster_distro: 'berth-swarm-node',
      network_driver: 'docker',
      dns_nameserver: '8.8.8.8',
      docker_storage_driver: 'overlay2',
      flavor_id: flavor,
      labels: { a: '1', b: 'two' },
      public: false,
      tls_disabled: false,
      server_type: 'vm',
    });
  });

  it('lists and shows it by name and by uuid, to its project only', async () => {
    const mine = await coe<Array<{ uuid: string; name: string }>>(A, [
      'coe',
      'cluster',
      'template',
      'list',
      '-f',
      'json',
    ]);
    expect(mine.map((x) => x.uuid)).toContain(templateId);
    const byName = await coe<{ uuid: string }>(A, [
      'coe',
      'cluster',
      'template',
      'show',
      templateName,
      '-f',
      'json',
    ]);
    const byId = await coe<{ name: string }>(A, [
      'coe',
      'cluster',
      'template',
      'show',
      templateId,
      '-f',
      'json',
    ]);
    expect(byName.uuid).toBe(templateId);
    expect(byId.name).toBe(templateName);
    const theirs = await coe<Array<{ uuid: string }>>(B, [
      'coe',
      'cluster',
      'template',
      'list',
      '-f',
      'json',
    ]);
    expect(theirs.map((x) => x.uuid)).not.toContain(templateId);
    expect(await refused(B, ['coe', 'cluster', 'template', 'show', templateId])).toMatch(
      new RegExp(`ClusterTemplate ${templateId} could not be found.*HTTP 404`),
    );
  });

  it('updates it with JSON-patch operations, labels included', async () => {
    const t = await coe<Record<string, JsonDoc>>(A, [
      'coe',
      'cluster',
      'template',
      'update',
      templateName,
      'replace',
      'dns_nameserver=1.1.1.1',
      'labels=k=v',
      '-f',
      'json',
    ]);
    expect(t.dns_nameserver).toBe('1.1.1.1');
    expect(t.labels).toEqual({ k: 'v' });
    const removed = await coe<Record<string, JsonDoc>>(A, [
      'coe',
      'cluster',
      'template',
      'update',
      templateName,
      'remove',
      'dns_nameserver',
      '-f',
      'json',
    ]);
    // the CLI prints None as "-"
    expect(removed.dns_nameserver).toBe('-');
  });

  it('refuses what Magnum refuses: publishing as a member, an unknown COE, a missing image', async () => {
    expect(
      await refused(A, ['coe', 'cluster', 'template', 'update', templateName, 'replace', 'public=True']),
    ).toMatch(/Not authorized to set public or hidden flag for cluster template.*HTTP 403/);
    expect(
      await refused(A, [
        'coe',
        'cluster',
        'template',
        'create',
        uniqueName('x'),
        '--coe',
        'mesos',
        '--image',
        image,
        '--external-network',
        'public',
      ]),
    ).toMatch(/Requested COE type mesos is not supported.*HTTP 400/);
    expect(
      await refused(A, [
        'coe',
        'cluster',
        'template',
        'create',
        uniqueName('x'),
        '--coe',
        'swarm-mode',
        '--image',
        'no-such-image',
        '--external-network',
        'public',
      ]),
    ).toMatch(/Image no-such-image could not be found.*HTTP 400/);
  });
});

describe('clusters with `openstack coe cluster`', () => {
  it('creates one (202, the uuid) and shows it by name and uuid', async () => {
    const out = await coe<string>(A, [
      'coe',
      'cluster',
      'create',
      clusterName,
      '--cluster-template',
      templateName,
      '--node-count',
      '1',
      '--timeout',
      '10',
    ]);
    clusterId = /Request to create cluster ([0-9a-f-]{36}) accepted/.exec(out)?.[1] ?? '';
    expect(clusterId).toMatch(/^[0-9a-f-]{36}$/);
    const byName = await coe<Record<string, JsonDoc>>(A, [
      'coe',
      'cluster',
      'show',
      clusterName,
      '-f',
      'json',
    ]);
    const byId = await coe<Record<string, JsonDoc>>(A, ['coe', 'cluster', 'show', clusterId, '-f', 'json']);
    expect(byName.uuid).toBe(clusterId);
    expect(byId).toMatchObject({
      name: clusterName,
      cluster_template_id: templateId,
      node_count: 1,
      master_count: 1,
      create_timeout: 10,
      flavor_id: flavor,
      labels: { k: 'v' },
      project_id: A.projectId,
    });
    expect(byId.status).toMatch(/^CREATE_/);
  });

  it('lists it, with its nodegroups (1.9+)', async () => {
    const list = await coe<Array<{ uuid: string; node_count: number }>>(A, [
      'coe',
      'cluster',
      'list',
      '-f',
      'json',
    ]);
    expect(list).toEqual([expect.objectContaining({ uuid: clusterId, node_count: 1 })]);
    const ngs = await coe<Array<{ name: string; role: string; node_count: number }>>(A, [
      'coe',
      'nodegroup',
      'list',
      clusterName,
      '-f',
      'json',
    ]);
    expect(ngs.map((n) => [n.name, n.role, n.node_count]).sort()).toEqual([
      ['default-master', 'master', 1],
      ['default-worker', 'worker', 1],
    ]);
  });

  it('is invisible and untouchable from project B', async () => {
    expect(await coe<unknown[]>(B, ['coe', 'cluster', 'list', '-f', 'json'])).toEqual([]);
    for (const args of [
      ['coe', 'cluster', 'show', clusterId],
      ['coe', 'cluster', 'show', clusterName],
      ['coe', 'cluster', 'delete', clusterId],
      ['coe', 'cluster', 'update', clusterId, 'replace', 'node_count=2'],
      ['coe', 'ca', 'show', clusterId],
    ]) {
      expect(await refused(B, args)).toMatch(/could not be found.*HTTP 404/);
    }
    const stillThere = await coe<{ status: string }>(A, ['coe', 'cluster', 'show', clusterId, '-f', 'json']);
    expect(stillThere.status).not.toMatch(/DELETE/);
  });

  it('keeps a template in use: delete is refused with 400', async () => {
    expect(await printedFailure(A, ['coe', 'cluster', 'template', 'delete', templateName])).toMatch(
      /is referenced by one or multiple clusters.*HTTP 400/,
    );
  });

  it('gives the CA and signs a CSR; `coe cluster config` writes a TLS client configuration from them', async () => {
    const cfg = mkdtempSync(join(dir, 'cfg-'));
    const out = execFileSync(
      'openstack',
      ['coe', 'cluster', 'config', clusterName, '--dir', cfg, '--output-certs'],
      {
        env: { ...process.env, ...cliEnv(A.creds) },
        encoding: 'utf8',
      },
    );
    expect(out).toContain(`export DOCKER_CERT_PATH=${cfg}`);
    expect(out).toContain('export DOCKER_TLS_VERIFY=True');
    expect(
      execFileSync('openssl', ['verify', '-CAfile', join(cfg, 'ca.pem'), join(cfg, 'cert.pem')], {
        encoding: 'utf8',
      }),
    ).toMatch(/OK/);
    const subject = execFileSync(
      'openssl',
      ['x509', '-noout', '-subject', '-issuer', '-in', join(cfg, 'cert.pem')],
      { encoding: 'utf8' },
    );
    expect(subject).toMatch(/subject=CN ?= ?admin, O ?= ?system:masters/);
    expect(subject).toMatch(new RegExp(`issuer=CN ?= ?${clusterName}`));
    // `coe ca show` gives the same CA, and never a private key
    const ca = await coe<string>(A, ['coe', 'ca', 'show', clusterName]);
    expect(ca.trim()).toBe(readFileSync(join(cfg, 'ca.pem'), 'utf8').trim());
    expect(ca).not.toMatch(/PRIVATE KEY/);
    // `coe ca sign` with a CSR file
    newCsr(join(cfg, 'k2.pem'), join(cfg, 'c2.csr'), 'ci');
    const signed = await coe<string>(A, ['coe', 'ca', 'sign', clusterName, join(cfg, 'c2.csr')]);
    writeFileSync(join(cfg, 'c2.pem'), signed);
    expect(
      execFileSync('openssl', ['verify', '-CAfile', join(cfg, 'ca.pem'), join(cfg, 'c2.pem')], {
        encoding: 'utf8',
      }),
    ).toMatch(/OK/);
  });

  it('reports stats and quotas; an admin-set quota of 1 refuses a second cluster with 403', async () => {
    const stats = await coe<string>(A, ['coe', 'stats', 'list', A.projectId]);
    expect(stats).toMatch(/clusters\s*\|\s*1\s*\|/);
    expect(stats).toMatch(/nodes\s*\|\s*2\s*\|/);
    expect(await refused(B, ['coe', 'stats', 'list', A.projectId])).toMatch(/Not authorized.*HTTP 403/);
    const dflt = await coe<string>(A, [
      'coe',
      'quotas',
      'show',
      '--project-id',
      A.projectId,
      '--resource',
      'Cluster',
    ]);
    expect(dflt).toMatch(/hard_limit\s*\|\s*20\s*\|/);
    expect(
      await printedFailure(A, [
        'coe',
        'quotas',
        'create',
        '--project-id',
        A.projectId,
        '--resource',
        'Cluster',
        '--hard-limit',
        '5',
      ]),
    ).toMatch(/HTTP 403/);
    await coe('admin', [
      'coe',
      'quotas',
      'create',
      '--project-id',
      A.projectId,
      '--resource',
      'Cluster',
      '--hard-limit',
      '1',
    ]);
    try {
      expect(
        await printedFailure('admin', [
          'coe',
          'quotas',
          'create',
          '--project-id',
          A.projectId,
          '--resource',
          'Cluster',
          '--hard-limit',
          '2',
        ]),
      ).toMatch(/already exists.*HTTP 409/);
      expect(await coe<string>('admin', ['coe', 'quotas', 'list'])).not.toContain(A.projectId);
      const listed = await coe<string>('admin', ['coe', 'quotas', 'list', '--all-tenants']);
      expect(listed).toContain(A.projectId);
      expect(
        await refused(A, [
          'coe',
          'cluster',
          'create',
          `${clusterName}-2`,
          '--cluster-template',
          templateName,
        ]),
      ).toMatch(/maximum clusters per project, 1.*HTTP 403/);
      await coe('admin', [
        'coe',
        'quotas',
        'update',
        '--project-id',
        A.projectId,
        '--resource',
        'Cluster',
        '--hard-limit',
        '3',
      ]);
      expect(
        await coe<string>(A, ['coe', 'quotas', 'show', '--project-id', A.projectId, '--resource', 'Cluster']),
      ).toMatch(/hard_limit\s*\|\s*3\s*\|/);
    } finally {
      await coe('admin', ['coe', 'quotas', 'delete', '--project-id', A.projectId, '--resource', 'Cluster']);
    }
  });

  it('lists conductors for admins only', async () => {
    expect(await coe<string>('admin', ['coe', 'service', 'list'])).toMatch(
      /berth-cluster-conductor\s*\|\s*up/,
    );
    expect(await refused(A, ['coe', 'service', 'list'])).toMatch(/HTTP 403/);
  });

  it('deletes it by name: 204, then it is gone with its servers', async () => {
    await coe(A, ['coe', 'cluster', 'delete', clusterName]);
    const last = await waitCluster(SHARED_URL, A.token, clusterId, (c) => c.status === 'GONE', 120_000);
    expect(last.status).toBe('GONE');
    const servers = await coe<Array<{ Name: string }>>('admin', [
      'server',
      'list',
      '--all-projects',
      '--project',
      A.projectId,
      '-f',
      'json',
    ]);
    expect(servers).toEqual([]);
    await coe(A, ['coe', 'cluster', 'template', 'delete', templateName]);
    expect(await refused(A, ['coe', 'cluster', 'template', 'show', templateName])).toMatch(/HTTP 404/);
  });
});

describe('python-magnumclient: microversions', () => {
  const script = (version: string) => `
import json, sys
from magnumclient import client
from magnumclient.common.apiclient import exceptions
c = client.Client('1', endpoint_override=${JSON.stringify(SHARED_URL + '/v1')}, auth_token=__TOKEN__, api_version=${JSON.stringify(version)})
try:
    print(json.dumps({'ok': [t.name for t in c.cluster_templates.list()]}))
except Exception as e:
    print(json.dumps({'error': type(e).__name__, 'status': getattr(e, 'http_status', None), 'message': str(e)}))
`;

  it('serves 1.1 through 1.10 and latest, and refuses 1.11 with 406', async () => {
    const token = await A.token();
    const run = async (v: string) =>
      JSON.parse(await python(script(v).replace('__TOKEN__', JSON.stringify(token)))) as Record<
        string,
        unknown
      >;
    for (const v of ['1.1', '1.9', '1.10', 'latest']) expect(await run(v)).toHaveProperty('ok');
    const bad = await run('1.11');
    expect(bad).toMatchObject({ status: 406 });
    expect(String(bad.message)).toMatch(/Requested microversion is unsupported|not supported/);
  });

  it('echoes the negotiated version in the response headers', async () => {
    const token = await A.token();
    for (const [asked, served] of [
      [undefined, '1.1'],
      ['1.7', '1.7'],
      ['latest', '1.10'],
    ] as const) {
      const r = await call(
        SHARED_URL,
        token,
        'GET',
        '/v1/clusters',
        undefined,
        asked ? { version: asked } : {},
      );
      expect(r.status).toBe(200);
      expect(r.headers.get('openstack-api-version')).toBe(`container-infra ${served}`);
      expect(r.headers.get('openstack-api-minimum-version')).toBe('container-infra 1.1');
      expect(r.headers.get('openstack-api-maximum-version')).toBe('container-infra 1.10');
    }
  });
});
