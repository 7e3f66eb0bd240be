// Horizon's Container Infra panels (Debian's openstack-dashboard +
// python3-magnum-ui, unchanged) against Berth's cluster service, the
// catalog's container-infra endpoint, driven in Debian's headless Chromium
// as a member of a fresh project: log in, list, create, update and delete a
// cluster template, create a real Swarm cluster (Nova servers from the
// shared node image) and delete it, all through the UI. Each step checks
// what the service stored through its API, and what Horizon sent it
// (magnumclient logs every request in Horizon's log): numbers and booleans
// as strings, patch values as strings with labels as a Python literal, `op:
// add` for a field that was empty. Screenshots: test/artifacts/horizon/.
//
// magnum-ui's template wizard lists only images whose os_distro is coreos,
// fedora-atomic, fedora-coreos or ubuntu, and the shared node image is
// `debian`: the template made in the UI uses a small busybox image tagged
// `ubuntu` (it never boots), and the cluster comes from a template made with
// `openstack coe cluster template create` on the real node image, which the
// cluster wizard lists like any other.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  call,
  type JsonDoc,
  nodeImageAndFlavor,
  openstackRaw,
  SHARED_URL,
  tenant,
  type Tenant,
  waitCluster,
} from '../support/cluster-service';
import {
  confirmDelete,
  Horizon,
  horizonLogOffset,
  type MagnumRequest,
  magnumRequestsSince,
  Wizard,
} from '../support/horizon';
import { KeystoneFixture } from '../support/keystone-fixture';
import { NODE_FLAVOR, nodeTemplateArgs, PUBLIC_NETWORK } from '../support/node-image';
import { CliError } from '../support/openstack-cli';

jest.setTimeout(240_000);

const ks = new KeystoneFixture();
const dir = mkdtempSync(join(tmpdir(), 'berth-horizon-'));
const tag = Date.now().toString(36);
const uiTemplate = `hz-tmpl-${tag}`;
const swarmTemplate = `hz-swarm-${tag}`;
const clusterName = `hz-${tag}`;
const keypair = `hz-kp-${tag}`;
let user: Tenant;
let images: Awaited<ReturnType<typeof nodeImageAndFlavor>>;
let publicNetId: string;
let hz: Horizon;

/** `openstack ARGS -f json` as the project's member; magnumclient may print notices before the JSON */
async function asUser<T = JsonDoc>(args: string[]): Promise<T> {
  const out = await openstackRaw(user.creds, [...args, '-f', 'json']);
  return JSON.parse(out.slice(out.search(/^[[{]/m))) as T;
}

/** GET on the cluster service's API as the member (what `openstack coe ... show` reads) */
async function api(path: string): Promise<{ status: number; body: JsonDoc }> {
  const r = await call(SHARED_URL, await user.token(), 'GET', path, undefined, { version: 'latest' });
  return { status: r.status, body: r.body };
}

/** the one request Horizon sent with this method to a URL ending in `pathEnd`, since `offset` */
function sent(offset: number, method: string, pathEnd: RegExp): MagnumRequest {
  const found = magnumRequestsSince(offset).filter((r) => r.method === method && pathEnd.test(r.url));
  expect(found).toHaveLength(1);
  return found[0] as MagnumRequest;
}

/** Runs a UI step; on failure keeps a screenshot of where the page was. */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    await hz?.shot(`FAILED-${name}`).catch(() => undefined);
    throw e;
  }
}

beforeAll(async () => {
  user = await tenant(ks, 'hz');
  images = await nodeImageAndFlavor(dir, 'ubuntu');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
  await asUser(['keypair', 'create', '--public-key', join(dir, 'id.pub'), keypair]);
  publicNetId = (await asUser<{ id: string }>(['network', 'show', PUBLIC_NETWORK])).id;
  await asUser(nodeTemplateArgs(swarmTemplate, publicNetId));
  hz = await Horizon.open();
});

afterAll(async () => {
  await hz?.close();
  if (user) {
    const clusters = await asUser<Array<{ uuid: string }>>(['coe', 'cluster', 'list']).catch(() => []);
    for (const c of clusters)
      await openstackRaw(user.creds, ['coe', 'cluster', 'delete', c.uuid]).catch(() => 0);
    for (const c of clusters)
      await waitCluster(SHARED_URL, user.token, c.uuid, (x) => x.status === 'GONE', 120_000).catch(() => 0);
    const templates = await asUser<Array<{ uuid: string }>>(['coe', 'cluster', 'template', 'list']).catch(
      () => [],
    );
    for (const t of templates)
      await openstackRaw(user.creds, ['coe', 'cluster', 'template', 'delete', t.uuid]).catch(() => 0);
    await openstackRaw(user.creds, ['keypair', 'delete', keypair]).catch(() => 0);
  }
  await images?.remove();
  await ks.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('logs in and lists the cluster templates the service has', async () => {
  await step('login', async () => {
    await hz.login(user.creds.username, user.creds.password, '/project/cluster_templates/', 'login');
    await hz.row(swarmTemplate).waitFor();
  });
  expect(await hz.page.title()).toBe('Container Infra - Cluster Templates - OpenStack Dashboard');
  expect(await hz.rowText(swarmTemplate)).toContain('swarm-mode');
  await hz.shot('templates');
  expect(hz.calls('GET', '/api/container_infra/cluster_templates/').length).toBeGreaterThan(0);
  expect(hz.takeProblems()).toEqual([]);
});

test('creates a cluster template in the wizard: numbers and booleans reach the service as strings', async () => {
  const log = horizonLogOffset();
  await step('template-create', async () => {
    await hz.pageAction('Create Cluster Template');
    const w = await new Wizard(hz.page).ready();
    await w.fill('name', uiTemplate);
    await w.select('coe', 'Docker Swarm Mode');
    await w.tab('Node Spec');
    await w.select('image_id', images.image);
    await w.select('flavor_id', images.flavor);
    await w.select('master_flavor_id', images.flavor);
    await w.fill('docker_volume_size', '5');
    await w.tab('Network');
    await w.select('external_network_id', PUBLIC_NETWORK);
    await w.check('master_lb_enabled');
    await w.tab('Labels');
    await w.fill('labels', 'foo=bar,answer=42');
    await hz.shot('template-create-wizard');
    await w.submit();
    await hz.toast('successfully created');
    await hz.row(uiTemplate).waitFor();
  });
  await hz.shot('template-created');
  expect(await hz.rowText(uiTemplate)).toContain('swarm-mode');

  // Horizon's proxy turned every value but the labels into a Python str()
  const post = sent(log, 'POST', /\/v1\/clustertemplates$/);
  expect(post.body).toMatchObject({
    name: uiTemplate,
    coe: 'swarm-mode',
    docker_volume_size: '5',
    master_lb_enabled: 'True',
    floating_ip_enabled: 'True',
    external_network_id: publicNetId,
    labels: { foo: 'bar', answer: '42' },
  });
  // ... and the service stored typed values
  const stored = await api(`/v1/clustertemplates/${uiTemplate}`);
  expect(stored.status).toBe(200);
  expect(stored.body).toMatchObject({
    name: uiTemplate,
    image_id: images.image,
    flavor_id: images.flavor,
    docker_volume_size: 5,
    master_lb_enabled: true,
    floating_ip_enabled: true,
    network_driver: 'docker',
    external_network_id: publicNetId,
    dns_nameserver: null,
    keypair_id: null,
    labels: { foo: 'bar', answer: '42' },
    project_id: user.projectId,
  });
  expect(hz.takeProblems()).toEqual([]);
});

test('updates it: patch values as strings, `op: add` for empty fields, labels as a Python literal', async () => {
  const log = horizonLogOffset();
  await step('template-update', async () => {
    await hz.rowAction(uiTemplate, 'Update Cluster Template');
    const w = await new Wizard(hz.page).ready();
    await w.waitUntil('name', (v) => v === uiTemplate);
    await w.tab('Node Spec');
    await w.select('keypair_id', keypair);
    await w.fill('docker_volume_size', '6');
    await w.tab('Network');
    await w.fill('dns_nameserver', '1.1.1.1');
    await w.tab('Labels');
    await w.fill('labels', 'foo=baz,answer=42,new=1');
    await hz.shot('template-update-wizard');
    await w.submit();
    await hz.toast('successfully updated');
  });

  const patch = sent(
    log,
    'PATCH',
    new RegExp(`/v1/clustertemplates/${(await api(`/v1/clustertemplates/${uiTemplate}`)).body.uuid}$`),
  );
  expect(patch.body).toEqual(
    expect.arrayContaining([
      { op: 'add', path: '/keypair_id', value: keypair },
      { op: 'add', path: '/dns_nameserver', value: '1.1.1.1' },
      { op: 'replace', path: '/docker_volume_size', value: '6' },
      { op: 'replace', path: '/labels', value: expect.stringMatching(/^\{'.*'\}$/) },
    ]),
  );
  const stored = await api(`/v1/clustertemplates/${uiTemplate}`);
  expect(stored.body).toMatchObject({
    keypair_id: keypair,
    dns_nameserver: '1.1.1.1',
    docker_volume_size: 6,
    labels: { foo: 'baz', answer: '42', new: '1' },
  });

  // its details page, from the row's link
  await step('template-details', async () => {
    // magnum-ui redraws the table after the update's toast: a click that lands
    // on the row being replaced does nothing (seen once in CI, the list still
    // on screen a minute later), so click again, as a user would; the details
    // route (ngdetails/OS::Magnum::ClusterTemplate/<id>) shows the click took
    for (let attempt = 1; ; attempt++) {
      await hz.row(uiTemplate).getByRole('link', { name: uiTemplate }).click();
      const opened = await hz.page
        .waitForURL(/ClusterTemplate\/[0-9a-f-]{36}/, { timeout: 15_000 })
        .then(() => true)
        .catch(() => false);
      if (opened) break;
      if (attempt === 4) throw new Error(`4 clicks on ${uiTemplate} did not open its details page`);
    }
    await hz.page.getByText('1.1.1.1').first().waitFor();
  });
  const details = await hz.page.locator('body').innerText();
  expect(details).toContain(keypair);
  expect(details).toContain('baz');
  await hz.shot('template-details');
  expect(hz.takeProblems()).toEqual([]);
});

test('deletes it from its row', async () => {
  const uuid = (await api(`/v1/clustertemplates/${uiTemplate}`)).body.uuid as string;
  await step('template-delete', async () => {
    await hz.openPanel('/project/cluster_templates/');
    await hz.rowAction(uiTemplate, 'Delete Cluster Template');
    await confirmDelete(hz.page, 'Delete Cluster Template');
    await hz.toast(`Deleted cluster template: ${uiTemplate}.`);
    await hz.row(uiTemplate).waitFor({ state: 'detached' });
  });
  await hz.shot('template-deleted');
  expect((await api(`/v1/clustertemplates/${uuid}`)).status).toBe(404);
  // the shared-image template is still listed
  expect(await hz.row(swarmTemplate).count()).toBe(1);
  expect(hz.takeProblems()).toEqual([]);
});

let clusterUuid: string;
let serverIds: string[];

test('creates a cluster in the wizard: Nova boots its nodes and the Swarm comes up', async () => {
  const log = horizonLogOffset();
  await step('cluster-create', async () => {
    await hz.openPanel('/project/clusters/');
    await hz.shot('clusters-empty');
    await hz.pageAction('Create Cluster');
    const w = await new Wizard(hz.page).ready();
    await w.fill('name', clusterName);
    await w.select('cluster_template_id', swarmTemplate);
    // the template's flavors are filled in
    await w.waitUntil('master_flavor_id', (v) => v === NODE_FLAVOR);
    await w.select('keypair', keypair);
    await w.tab('Size');
    expect(await w.selected('master_flavor_id')).toBe(NODE_FLAVOR);
    expect(await w.selected('flavor_id')).toBe(NODE_FLAVOR);
    await w.fill('node_count', '1');
    await hz.shot('cluster-create-wizard');
    await w.submit();
    await hz.toast('successfully created');
    await hz.row(clusterName).waitFor();
  });
  const row = await hz.rowText(clusterName);
  expect(row).toMatch(/CREATE_IN_PROGRESS|CREATE_COMPLETE/);
  await hz.shot('cluster-creating');

  const post = sent(log, 'POST', /\/v1\/clusters$/);
  expect(post.body).toMatchObject({
    name: clusterName,
    discovery_url: '',
    create_timeout: '60',
    master_count: '1',
    node_count: '1',
    keypair,
    master_lb_enabled: 'False',
    // label values pass through untouched: JSON booleans among strings
    labels: { availability_zone: 'nova', auto_scaling_enabled: false, auto_healing_enabled: false },
  });

  const created = await api(`/v1/clusters/${clusterName}`);
  expect(created.status).toBe(200);
  clusterUuid = created.body.uuid;
  expect(created.body).toMatchObject({
    master_count: 1,
    node_count: 1,
    keypair,
    create_timeout: 60,
    labels: { availability_zone: 'nova', auto_scaling_enabled: 'False', auto_healing_enabled: 'False' },
  });
  const done = await waitCluster(
    SHARED_URL,
    user.token,
    clusterUuid,
    (c) => c.status !== 'CREATE_IN_PROGRESS',
    180_000,
  );
  expect([done.status, done.status_reason]).toEqual(['CREATE_COMPLETE', expect.any(String)]);

  // Nova: one master, one worker, the project's own servers
  const servers = await asUser<Array<{ ID: string; Name: string; Status: string }>>([
    'server',
    'list',
    '--name',
    `^${clusterName}-`,
  ]);
  expect(servers.map((s) => s.Name.replace(/-[0-9a-f]{8}-/, '-*-')).sort()).toEqual([
    `${clusterName}-*-master-0`,
    `${clusterName}-*-node-0`,
  ]);
  expect(servers.map((s) => s.Status)).toEqual(['ACTIVE', 'ACTIVE']);
  serverIds = servers.map((s) => s.ID);

  // the wizard and the panel it returned to went through cleanly
  expect(hz.takeProblems()).toEqual([]);
  await step('cluster-complete', async () => {
    await hz.openPanel('/project/clusters/');
    expect(await hz.rowText(clusterName)).toContain('CREATE_COMPLETE');
  });
  await hz.shot('cluster-complete');
  expect(hz.takeProblems()).toEqual([]);
});

test('deletes the cluster from its row; its servers are gone', async () => {
  await step('cluster-delete', async () => {
    await hz.rowAction(clusterName, 'Delete Cluster');
    await confirmDelete(hz.page, 'Delete Cluster');
    await hz.toast(`Deleted cluster: ${clusterName}.`);
  });
  await hz.shot('cluster-deleting');
  await waitCluster(SHARED_URL, user.token, clusterUuid, (c) => c.status === 'GONE', 120_000);
  await step('cluster-gone', async () => {
    await hz.openPanel('/project/clusters/');
    expect(await hz.row(clusterName).count()).toBe(0);
  });
  await hz.shot('cluster-gone');

  // Nova has none of its servers left
  expect(await asUser(['server', 'list', '--name', `^${clusterName}-`])).toEqual([]);
  for (const id of serverIds) {
    const err = await openstackRaw(user.creds, ['server', 'show', id]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).stderr).toMatch(/No server with a name or ID/);
  }
  // the browser saw every call answered
  expect(hz.takeProblems()).toEqual([]);
});
