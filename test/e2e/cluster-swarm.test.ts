// A real Docker Swarm cluster as a user makes one: `openstack coe` against
// the all-in-one's cluster service (the catalog's container-infra), which
// boots the nodes as Nova servers through Berth's container driver from the
// shared `berth-swarm-node` image, on the provider network `public` that the
// host is on. The nodes run the bootstrap from their user data, report back
// to the service, `docker swarm init` / `join` happen for real, and the
// swarm's Docker API is reached from here with TLS from the cluster CA, as
// `openstack coe cluster config` configures a Docker client. Resize adds a
// worker and drains one away; delete leaves no server and no security group.
// Create-to-complete is printed, not asserted (test/bench/cluster-api
// measures it).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tenant, type Tenant } from '../support/cluster-service';
import { KeystoneFixture, uniqueName } from '../support/keystone-fixture';
import { createDockerImage } from '../support/openstack-resources';
import {
  importInNode,
  NODE_FLAVOR,
  nodeTemplateArgs,
  PUBLIC_NETWORK,
  tinyRootfsTar,
} from '../support/node-image';
import { adminCredentials, openstack, openstackRaw, run, waitFor } from '../support/openstack-cli';

jest.setTimeout(300_000);

const ks = new KeystoneFixture();
const dir = mkdtempSync(join(tmpdir(), 'berth-swarm-'));
let A: Tenant;
let template: string;
let cluster: string | undefined;
let uuid: string;
let dockerEnv: Record<string, string> = {};

interface Cluster {
  uuid: string;
  status: string;
  status_reason: string | null;
  api_address: string | null;
  master_addresses: string[];
  node_addresses: string[];
  node_count: number;
  health_status: string | null;
  health_status_reason: Record<string, string> | null;
}

interface ServerRow {
  ID: string;
  Name: string;
  Status: string;
  Networks: Record<string, string[]>;
}

/** `openstack coe ... -f json`: magnumclient may print a notice before the document */
async function coe<T>(args: string[]): Promise<T> {
  const out = await openstackRaw(A.creds, ['coe', ...args, '-f', 'json']);
  return JSON.parse(out.slice(out.search(/^[[{]/m))) as T;
}

const show = (): Promise<Cluster> => coe<Cluster>(['cluster', 'show', uuid]);

/** polls `coe cluster show` until the status leaves `busy` */
async function settle(busy: string, timeoutMs: number): Promise<Cluster> {
  return waitFor(
    `cluster ${uuid} out of ${busy}`,
    async () => {
      const c = await show();
      return c.status === busy ? undefined : c;
    },
    timeoutMs,
    2000,
  );
}

/** the servers of a cluster (its name prefix) as its owner lists them */
async function serversOf(name: string | undefined): Promise<ServerRow[]> {
  const rows = await openstack<ServerRow[]>(A.creds, ['server', 'list', '-f', 'json']);
  return rows.filter((s) => s.Name.startsWith(`${name}-${uuid.slice(0, 8)}-`));
}
const servers = () => serversOf(cluster);

/** until `coe cluster show` says the cluster does not exist */
const waitGone = () =>
  waitFor(
    `cluster ${uuid} gone`,
    () =>
      show().then(
        () => undefined,
        () => true,
      ),
    180_000,
    2000,
  );

/** the docker CLI, configured by `openstack coe cluster config` (TLS to the swarm's API), once */
function dockerOnce(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      'docker',
      args,
      { env: { ...process.env, ...dockerEnv }, timeout: 60_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`docker ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    ),
  );
}

// Seen in about one run in four, right after a resize removed a worker: TCP
// connections from the host to the master's API timed out for up to ~30 s,
// while the linuxbridge agent refreshed the cluster security group's rules for
// the member that left (the cause is not pinned down; see the cluster-service
// README). The suite waits it out, and says so in its output.
// Only failures before a request went out are retried (a dial or TLS handshake
// that never completed), so a command is never sent twice.
const UNREACHABLE =
  /dial tcp [\d.]+:\d+: (i\/o timeout|connect: connection refused|connect: no route to host)|TLS handshake timeout/;

/** `docker ARGS` against the swarm; waits up to 90 s (reported) for an unreachable API */
async function docker(...args: string[]): Promise<string> {
  // never fall back to this host's own dockerd: its answers would mislead
  if (!dockerEnv.DOCKER_HOST) throw new Error('no cluster configuration from `coe cluster config`');
  const started = Date.now();
  let unreachable = false;
  for (;;) {
    try {
      const out = await dockerOnce(args);
      if (unreachable)
        console.warn(
          `docker ${args[0]}: the swarm API at ${dockerEnv.DOCKER_HOST} was unreachable for ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      return out;
    } catch (e) {
      if (!UNREACHABLE.test((e as Error).message) || Date.now() - started > 90_000) throw e;
      unreachable = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** the web service's tasks meant to run: `<node> <state...>` */
const webTasks = async () =>
  (
    await docker(
      'service',
      'ps',
      'web',
      '--filter',
      'desired-state=running',
      '--format',
      '{{.Node}} {{.CurrentState}}',
    )
  )
    .trim()
    .split('\n');

/** waits until both replicas of web run; returns their lines */
const twoWebTasksRunning = () =>
  waitFor(
    'web: 2 tasks running',
    async () => {
      const t = await webTasks();
      return t.length === 2 && t.every((x) => / Running /.test(x)) ? t : undefined;
    },
    120_000,
    2000,
  );

const nodeLines = async () =>
  (await docker('node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'))
    .trim()
    .split('\n')
    .map((l) => l.trimEnd())
    .sort();

beforeAll(async () => {
  A = await tenant(ks, 'swarm');
  template = uniqueName('swarm-tpl');
  await coe(nodeTemplateArgs(template).slice(1));
});

afterAll(async () => {
  if (cluster && !process.env.BERTH_TEST_KEEP_NODES) {
    await openstackRaw(A.creds, ['coe', 'cluster', 'delete', cluster]).catch(() => undefined);
    await waitGone().catch(() => undefined);
  }
  await openstackRaw(A.creds, ['coe', 'cluster', 'template', 'delete', template]).catch(() => undefined);
  await ks.cleanup();
  rmSync(dir, { recursive: true, force: true });
}, 300_000);

it('`openstack coe cluster create --node-count 2` boots 3 Nova servers that form a swarm: CREATE_COMPLETE with the addresses', async () => {
  cluster = uniqueName('sw').slice(0, 20);
  const t0 = Date.now();
  const out = await openstackRaw(A.creds, [
    'coe',
    'cluster',
    'create',
    cluster,
    '--cluster-template',
    template,
    '--master-count',
    '1',
    '--node-count',
    '2',
    '--timeout',
    '10',
  ]);
  uuid = /([0-9a-f-]{36})/.exec(out)![1]!;
  const c = await settle('CREATE_IN_PROGRESS', 600_000);
  console.log(
    `swarm of 1 master + 2 workers: CREATE_COMPLETE ${((Date.now() - t0) / 1000).toFixed(1)} s after create`,
  );
  expect(c).toMatchObject({ status: 'CREATE_COMPLETE', node_count: 2 });

  const rows = await servers();
  expect(rows.map((s) => s.Status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
  const ipOf = (role: string) =>
    rows
      .filter((s) => s.Name.includes(`-${role}-`))
      .map((s) => s.Networks[PUBLIC_NETWORK]![0]!)
      .sort();
  expect(c.master_addresses).toEqual(ipOf('master'));
  expect([...c.node_addresses].sort()).toEqual(ipOf('node'));
  expect(c.api_address).toBe(`tcp://${c.master_addresses[0]}:2376`);
});

it('gives the nodes a security group of the cluster: the Docker API open, Swarm ports among members only', async () => {
  const groups = await openstack<Array<{ ID: string; Name: string }>>(A.creds, [
    'security',
    'group',
    'list',
    '-f',
    'json',
  ]);
  const group = groups.find((g) => g.Name === `${cluster}-${uuid.slice(0, 8)}-secgroup`);
  expect(group).toBeDefined();
  const rules = await openstack<
    Array<{
      'IP Protocol': string;
      'Port Range': string;
      'IP Range': string | null;
      'Remote Security Group': string | null;
    }>
  >(A.creds, ['security', 'group', 'rule', 'list', group!.ID, '--ingress', '-f', 'json']);
  const open = rules.map(
    (r) => `${r['IP Protocol']} ${r['Port Range']} ${r['Remote Security Group'] ? 'members' : r['IP Range']}`,
  );
  expect(open).toEqual(
    expect.arrayContaining([
      'tcp 2376:2376 0.0.0.0/0',
      'tcp 2377:2377 members',
      'tcp 7946:7946 members',
      'udp 7946:7946 members',
      'udp 4789:4789 members',
    ]),
  );
  // every node's port is in it
  for (const server of await servers()) {
    const [port] = await openstack<Array<{ ID: string }>>(A.creds, [
      'port',
      'list',
      '--server',
      server.ID,
      '-f',
      'json',
    ]);
    const shown = await openstack<{ security_group_ids: string[] }>(A.creds, [
      'port',
      'show',
      port!.ID,
      '-f',
      'json',
    ]);
    expect(shown.security_group_ids).toEqual([group!.ID]);
  }
});

it('serves the swarm API with TLS from the cluster CA to the `openstack coe cluster config` configuration', async () => {
  const cfg = mkdtempSync(join(dir, 'cfg-'));
  const out = await openstackRaw(A.creds, ['coe', 'cluster', 'config', uuid, '--dir', cfg, '--output-certs']);
  dockerEnv = Object.fromEntries(
    [...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]),
  );
  expect(dockerEnv).toMatchObject({
    DOCKER_HOST: (await show()).api_address,
    DOCKER_TLS_VERIFY: expect.any(String),
  });
  // Pin the API version the nodes' dockerd speaks: the CLI otherwise negotiates
  // it per command with a ping, and when that ping times out it sends its own
  // newer version, which the daemon refuses ("client version 1.50 is too new");
  // seen on a loaded CI machine while the swarm rescheduled tasks.
  dockerEnv.DOCKER_API_VERSION = await waitFor(
    "the swarm API's version",
    async () =>
      (await docker('version', '--format', '{{.Server.APIVersion}}').catch(() => '')).trim() || undefined,
    60_000,
    2000,
  );
  expect(dockerEnv.DOCKER_API_VERSION).toMatch(/^1\.\d+$/);
  const prefix = `${cluster}-${uuid.slice(0, 8)}`;
  expect(await nodeLines()).toEqual([
    `${prefix}-master-0 Ready Active Leader`,
    `${prefix}-node-0 Ready Active`,
    `${prefix}-node-1 Ready Active`,
  ]);
  // without the client certificate the API refuses
  await expect(
    run('docker', ['-H', dockerEnv.DOCKER_HOST!, '--tlsverify=false', '--tls', 'info'], 30_000),
  ).rejects.toThrow();
});

it('runs a `docker service create` across the workers', async () => {
  // no outside registry here: a tiny image is imported into each node's dockerd
  const tiny = await tinyRootfsTar(dir);
  for (const s of await servers()) await importInNode(s.ID, tiny, 'tiny:1');
  await docker(
    'service',
    'create',
    '-d',
    '--no-resolve-image',
    '--name',
    'web',
    '--replicas',
    '2',
    '--constraint',
    'node.role==worker',
    'tiny:1',
    'httpd',
    '-f',
    '-p',
    '80',
    '-h',
    '/www',
  );
  const running = await twoWebTasksRunning();
  expect(running.map((t) => t.split(' ')[0]).sort()).toEqual([
    `${cluster}-${uuid.slice(0, 8)}-node-0`,
    `${cluster}-${uuid.slice(0, 8)}-node-1`,
  ]);
});

it("reports the swarm healthy from the nodes' heartbeats", async () => {
  const c = await waitFor(
    'HEALTHY',
    async () => {
      const x = await show();
      return x.health_status === 'HEALTHY' ? x : undefined;
    },
    90_000,
    2000,
  );
  expect(c.health_status_reason).toMatchObject({
    api: 'ok',
    [`${cluster}-${uuid.slice(0, 8)}-node-1.Ready`]: 'True',
  });
});

it('resizes to 1 worker: the removed one is drained first, its tasks move, its server goes', async () => {
  await openstackRaw(A.creds, ['coe', 'cluster', 'resize', uuid, '1']);
  const c = await settle('UPDATE_IN_PROGRESS', 300_000);
  expect(c).toMatchObject({ status: 'UPDATE_COMPLETE', node_count: 1 });
  expect(c.node_addresses).toHaveLength(1);
  const prefix = `${cluster}-${uuid.slice(0, 8)}`;
  expect(await nodeLines()).toEqual([
    `${prefix}-master-0 Ready Active Leader`,
    `${prefix}-node-0 Ready Active`,
  ]);
  expect((await servers()).map((s) => s.Name).sort()).toEqual([`${prefix}-master-0`, `${prefix}-node-0`]);
  // both replicas run on the worker that stayed
  const tasks = await twoWebTasksRunning();
  expect(tasks.every((t) => t.startsWith(`${prefix}-node-0 `))).toBe(true);
});

it('deletes: no server, no security group left, and the cluster is gone', async () => {
  const t0 = Date.now();
  await openstackRaw(A.creds, ['coe', 'cluster', 'delete', uuid]);
  await waitGone();
  console.log(`cluster deleted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const gone = cluster!;
  cluster = undefined;
  expect(await serversOf(gone)).toEqual([]);
  const groups = await openstack<Array<{ Name: string }>>(A.creds, [
    'security',
    'group',
    'list',
    '-f',
    'json',
  ]);
  expect(groups.map((g) => g.Name).filter((n) => n.startsWith(gone))).toEqual([]);
  // the nodes' containers are gone from the host's dockerd too
  expect(
    await run('docker', [
      'ps',
      '-a',
      '-q',
      '--filter',
      `name=nova-`,
      '--filter',
      `label=org.openstack.project-id=${A.projectId}`,
    ]),
  ).toBe('');
});

// a node Nova cannot build (its image is not a container image: the agent's
// load fails, the server goes to ERROR)
it('fails a create with the node and the reason when a node server goes to ERROR', async () => {
  const junk = join(dir, 'junk.tar');
  writeFileSync(junk, randomBytes(4096));
  const image = uniqueName('junk');
  await createDockerImage(image, junk, { os_distro: 'debian' });
  try {
    const tpl = uniqueName('swarm-bad');
    await coe([
      'cluster',
      'template',
      'create',
      tpl,
      '--coe',
      'swarm-mode',
      '--image',
      image,
      '--flavor',
      NODE_FLAVOR,
      '--external-network',
      PUBLIC_NETWORK,
      '--fixed-network',
      PUBLIC_NETWORK,
    ]);
    cluster = uniqueName('bad').slice(0, 20);
    const out = await openstackRaw(A.creds, [
      'coe',
      'cluster',
      'create',
      cluster,
      '--cluster-template',
      tpl,
      '--node-count',
      '1',
      '--timeout',
      '5',
    ]);
    uuid = /([0-9a-f-]{36})/.exec(out)![1]!;
    const c = await settle('CREATE_IN_PROGRESS', 240_000);
    expect(c.status).toBe('CREATE_FAILED');
    expect(c.status_reason).toMatch(new RegExp(`${cluster}-${uuid.slice(0, 8)}-(master|node)-0`));
    expect(c.status_reason).toMatch(/Nova server [0-9a-f-]{36} went to ERROR/);
    // delete from FAILED leaves nothing
    await openstackRaw(A.creds, ['coe', 'cluster', 'delete', uuid]);
    await waitGone();
    const gone = cluster;
    cluster = undefined;
    expect(await serversOf(gone)).toEqual([]);
    await openstackRaw(A.creds, ['coe', 'cluster', 'template', 'delete', tpl]);
  } finally {
    await openstack(adminCredentials, ['image', 'delete', image]).catch(() => undefined);
  }
});
