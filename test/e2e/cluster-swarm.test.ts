// A real Docker Swarm built by the cluster service: the bootstrap script each
// Nova server carries as user data runs, unchanged, in a container with its
// own dockerd (the way Berth's container nova-driver is to run swarm nodes
// once its servers have networking; until then the test starts these node
// containers itself, on a docker bridge network, from the user data Nova
// holds). The nodes really report back, `docker swarm init` and `join`
// really happen, the swarm's Docker API is served with TLS from the cluster
// CA and reached with the configuration `openstack coe cluster config`
// writes, and a resize really drains the removed worker first.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { NovaClient, type Server } from '@berth/openstack-clients';

import {
  call,
  nodeImageAndFlavor,
  patiently,
  type PrivateService,
  startPrivateService,
  tenant,
  type Tenant,
  waitCluster,
} from '../support/cluster-service';
import { adminSession, KeystoneFixture, uniqueName } from '../support/keystone-fixture';
import { waitFor } from '../support/openstack-cli';

jest.setTimeout(300_000);

const exec = promisify(execFile);
const docker = async (...args: string[]) =>
  (await exec('docker', args, { maxBuffer: 16 << 20, timeout: 120_000 })).stdout.trim();

const ks = new KeystoneFixture();
const nova = new NovaClient(adminSession(), { microversion: '2.37' });
const dir = mkdtempSync(join(tmpdir(), 'berth-cs-swarm-'));
const tag = uniqueName('swarm').slice(-12);
const network = `berth-cs-${tag}`;
const nodeImage = `berth-test/swarm-node:${tag}`;
const containers: string[] = [];
let svc: PrivateService;
let A: Tenant;
let res: Awaited<ReturnType<typeof nodeImageAndFlavor>>;
let uuid: string;

/** every capability the machine allows but SYS_RESOURCE, as nested dockerd needs (shared/reference/nested-dockerd.md) */
const NESTED = [
  ...[
    'CHOWN',
    'DAC_OVERRIDE',
    'DAC_READ_SEARCH',
    'FOWNER',
    'FSETID',
    'KILL',
    'SETGID',
    'SETUID',
    'SETPCAP',
    'LINUX_IMMUTABLE',
    'NET_BIND_SERVICE',
    'NET_BROADCAST',
    'NET_ADMIN',
    'NET_RAW',
    'IPC_LOCK',
    'IPC_OWNER',
    'SYS_MODULE',
    'SYS_RAWIO',
    'SYS_CHROOT',
    'SYS_PTRACE',
    'SYS_PACCT',
    'SYS_ADMIN',
    'SYS_BOOT',
    'SYS_NICE',
    'SYS_TIME',
    'SYS_TTY_CONFIG',
    'MKNOD',
    'LEASE',
    'AUDIT_WRITE',
    'AUDIT_CONTROL',
    'SETFCAP',
    'MAC_OVERRIDE',
    'MAC_ADMIN',
    'SYSLOG',
    'WAKE_ALARM',
    'BLOCK_SUSPEND',
    'AUDIT_READ',
  ].flatMap((c) => ['--cap-add', c]),
  '--security-opt',
  'seccomp=unconfined',
  '--security-opt',
  'apparmor=unconfined',
  '--security-opt',
  'systempaths=unconfined',
  '-v',
  '/sys/fs/cgroup:/sys/fs/cgroup:rw',
  '--tmpfs',
  '/run',
  '--tmpfs',
  '/tmp',
];

/**
 * The node image: a root filesystem whose /usr is the machine's (docker,
 * dockerd, containerd, runc, curl, jq, openssl, iproute2 from Debian's
 * packages), mounted read-only when a node starts. A production node image is
 * its own Debian root with the same packages.
 */
async function buildNodeImage(): Promise<void> {
  const root = join(dir, 'rootfs');
  await exec('sh', [
    '-c',
    `set -e; mkdir -p ${root}/usr ${root}/etc/ssl ${root}/etc/alternatives ${root}/var/lib ${root}/run ${root}/tmp ${root}/root;
    cd ${root}; ln -s usr/bin bin; ln -s usr/sbin sbin; ln -s usr/lib lib; ln -s usr/lib64 lib64; ln -s ../run var/run;
    echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd; echo 'root:x:0:' > etc/group;
    tar -C ${root} -c . | docker import --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - ${nodeImage} >/dev/null`,
  ]);
}

/** Starts the node a Nova server stands for: its user data, run as the container's command. */
async function startNode(server: Server): Promise<string> {
  const s = (await patiently('nova show', () => nova.getServer(server.id))) as Server & {
    'OS-EXT-SRV-ATTR:user_data'?: string;
  };
  const script = join(dir, `${server.name}.sh`);
  writeFileSync(script, Buffer.from(s['OS-EXT-SRV-ATTR:user_data'] ?? '', 'base64'));
  const name = `cs-${tag}-${server.name.split('-').slice(-2).join('-')}`;
  containers.push(name);
  await docker(
    'run',
    '-d',
    '--name',
    name,
    '--hostname',
    server.name,
    '--network',
    network,
    ...NESTED,
    '-v',
    `${name}-docker:/var/lib/docker`,
    '-v',
    '/usr:/usr:ro',
    '-v',
    '/etc/ssl:/etc/ssl:ro',
    '-v',
    '/etc/alternatives:/etc/alternatives:ro',
    '-v',
    `${script}:/bootstrap.sh:ro`,
    nodeImage,
    '/bin/sh',
    '/bootstrap.sh',
  );
  return name;
}

const nodeLog = (name: string) =>
  docker('exec', name, 'cat', '/var/lib/berth-node/bootstrap.log').catch((e) => String(e));

async function serversOf(cluster: string): Promise<Server[]> {
  const all = await patiently('nova list', () =>
    nova.listServers({ allTenants: true, projectId: A.projectId }),
  );
  // a DELETED server is gone: Nova shows admins its tombstone for a moment
  return all.filter((s) => s.metadata?.berth_cluster === cluster && s.status !== 'DELETED');
}

beforeAll(async () => {
  await docker('network', 'create', network);
  const gateway = await docker(
    'network',
    'inspect',
    network,
    '--format',
    '{{(index .IPAM.Config 0).Gateway}}',
  );
  await buildNodeImage();
  A = await tenant(ks, 'cs-swarm');
  res = await nodeImageAndFlavor(dir);
  // listening on the bridge's gateway: the node containers report there
  svc = await startPrivateService('swarm', {}, gateway);
});

afterAll(async () => {
  for (const c of containers) {
    if (process.env.BERTH_TEST_KEEP_NODES) break;
    await docker('rm', '-f', '-v', c).catch(() => undefined);
    await docker('volume', 'rm', '-f', `${c}-docker`).catch(() => undefined);
  }
  if (svc && uuid) {
    await call(svc.url, await A.token(), 'DELETE', `/v1/clusters/${uuid}`, undefined, { version: 'latest' });
    await waitCluster(svc.url, A.token, uuid, (c) => c.status === 'GONE', 120_000).catch(() => undefined);
  }
  await svc?.stop();
  await docker('network', 'rm', network).catch(() => undefined);
  await docker('image', 'rm', nodeImage).catch(() => undefined);
  await res?.remove();
  await ks.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

it('forms a swarm from the user data alone: init, join, CREATE_COMPLETE with the addresses', async () => {
  const token = await A.token();
  const t = await call(
    svc.url,
    token,
    'POST',
    '/v1/clustertemplates',
    {
      name: uniqueName('swarm'),
      coe: 'swarm-mode',
      image_id: res.image,
      flavor_id: res.flavor,
      master_flavor_id: res.flavor,
      external_network_id: 'public',
    },
    { version: 'latest' },
  );
  expect(t.status).toBe(201);
  const c = await call(
    svc.url,
    token,
    'POST',
    '/v1/clusters',
    {
      name: 'real',
      cluster_template_id: t.body.uuid,
      node_count: 1,
      create_timeout: 10,
    },
    { version: 'latest' },
  );
  expect(c.status).toBe(202);
  uuid = c.body.uuid;
  const servers = await waitFor(
    '2 servers',
    async () => ((await serversOf(uuid)).length === 2 ? serversOf(uuid) : undefined),
    120_000,
  );
  const names: string[] = [];
  for (const s of servers) names.push(await startNode(s));
  const done = await waitCluster(
    svc.url,
    A.token,
    uuid,
    (x) => x.status !== 'CREATE_IN_PROGRESS',
    180_000,
  ).catch(async (e) => {
    for (const n of names) console.log(`${n}:\n${await nodeLog(n)}`);
    throw e;
  });
  if (done.status !== 'CREATE_COMPLETE') for (const n of names) console.log(`${n}:\n${await nodeLog(n)}`);
  expect(done.status).toBe('CREATE_COMPLETE');
  const ip = (n: string) =>
    docker('inspect', n, '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`);
  const masterIp = await ip(names.find((n) => n.includes('master'))!);
  expect(done.api_address).toBe(`tcp://${masterIp}:2376`);
  expect(done.master_addresses).toEqual([masterIp]);
  expect(done.node_addresses).toEqual([await ip(names.find((n) => n.includes('node'))!)]);
  expect(done.coe_version).toMatch(/^\d+\.\d+/);
});

it('serves the swarm API with TLS from the cluster CA to the `openstack coe cluster config` configuration', async () => {
  const cfg = mkdtempSync(join(dir, 'cfg-'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
  const { stdout } = await exec(
    'openstack',
    ['coe', 'cluster', 'config', uuid, '--dir', cfg, '--output-certs'],
    {
      env: {
        ...clean,
        SHELL: '/bin/bash',
        OS_AUTH_TYPE: 'admin_token',
        OS_ENDPOINT: `${svc.url}/v1`,
        OS_TOKEN: await A.token(),
      },
    },
  );
  const env: Record<string, string> = {};
  for (const line of stdout
    .replace(/^export /gm, '')
    .trim()
    .split('\n')) {
    const [k, ...v] = line.split('=');
    env[k!] = v.join('=');
  }
  const nodes = await exec(
    'docker',
    ['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'],
    {
      env: { ...process.env, ...env },
      timeout: 30_000,
    },
  );
  const lines = nodes.stdout
    .trim()
    .split('\n')
    .map((l) => l.trimEnd())
    .sort();
  expect(lines).toEqual([
    `real-${uuid.slice(0, 8)}-master-0 Ready Leader`,
    `real-${uuid.slice(0, 8)}-node-0 Ready`,
  ]);
});

it("reports the swarm healthy from the nodes' heartbeats", async () => {
  const c = await waitCluster(svc.url, A.token, uuid, (x) => x.health_status === 'HEALTHY', 60_000);
  expect(c.health_status_reason).toMatchObject({
    api: 'ok',
    [`real-${uuid.slice(0, 8)}-node-0.Ready`]: 'True',
  });
});

it('shrinks: a manager drains the worker and removes it from the swarm before its server goes', async () => {
  const r = await call(
    svc.url,
    await A.token(),
    'POST',
    `/v1/clusters/${uuid}/actions/resize`,
    { node_count: 0 },
    { version: 'latest' },
  );
  expect(r.status).toBe(202);
  const c = await waitCluster(svc.url, A.token, uuid, (x) => x.status !== 'UPDATE_IN_PROGRESS', 120_000);
  expect(c).toMatchObject({ status: 'UPDATE_COMPLETE', node_count: 0, node_addresses: [] });
  const master = containers.find((n) => n.includes('master'))!;
  expect(await docker('exec', master, 'docker', 'node', 'ls', '--format', '{{.Hostname}}')).toBe(
    `real-${uuid.slice(0, 8)}-master-0`,
  );
  expect(await serversOf(uuid)).toHaveLength(1);
});
