// The conductor and the Swarm driver's state machine, end to end against the
// real Nova: nodes are Nova servers booted with the bootstrap script as user
// data. The test plays the nodes' side of the protocol (what the bootstrap
// script does on a node): it reads each server's user data from Nova, and
// reports back with the per-cluster secret found there. Covered: a create
// completing with addresses, a working `coe cluster config` (docker CLI over
// TLS from the cluster CA), health, resize up and down (drain first), CA
// rotation, a node that never reports (CREATE_FAILED at create_timeout with
// the reason), a node that reports a failure, a crash mid-create (the job
// resumes after a restart, no server twice), and deletes from any state
// removing every server.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';

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
import type { JsonDoc } from '../support/cluster-service';
import { adminSession, KeystoneFixture, uniqueName } from '../support/keystone-fixture';
import { newCsr } from '../support/openssl';
import { sleep, waitFor } from '../support/openstack-cli';

jest.setTimeout(240_000);

const execFileP = promisify(execFile);

const ks = new KeystoneFixture();
const dir = mkdtempSync(join(tmpdir(), 'berth-cs-conductor-'));
const nova = new NovaClient(adminSession(), { microversion: '2.37' });
let svc: PrivateService;
let A: Tenant;
let res: Awaited<ReturnType<typeof nodeImageAndFlavor>>;
let templateId: string;
let apiPort: number;
/** a cluster left to time out while the other tests run */
let neverReports: string;
let neverReportsCreatedAt: number;

const api = async (method: string, path: string, body?: unknown, version = 'latest') =>
  call(svc.url, await A.token(), method, path, body, { version });

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** the cluster's servers as Nova lists them (admin, the tenant's project) */
async function serversOf(clusterUuid: string): Promise<Server[]> {
  const all = await patiently('nova list', () =>
    nova.listServers({ allTenants: true, projectId: A.projectId }),
  );
  // a DELETED server is gone: Nova shows admins its tombstone for a moment
  return all.filter((s) => s.metadata?.berth_cluster === clusterUuid && s.status !== 'DELETED');
}

/** What a node knows: the variables of its bootstrap script (user data). */
interface NodeVars {
  BERTH_REPORT_URL: string;
  BERTH_SECRET: string;
  BERTH_CLUSTER: string;
  BERTH_NODE: string;
  BERTH_NODE_NAME: string;
  BERTH_ROLE: string;
  BERTH_API_PORT: string;
}

async function userDataVars(serverId: string): Promise<NodeVars> {
  const s = (await patiently('nova show', () => nova.getServer(serverId))) as Server & {
    'OS-EXT-SRV-ATTR:user_data'?: string;
  };
  const script = Buffer.from(s['OS-EXT-SRV-ATTR:user_data'] ?? '', 'base64').toString('utf8');
  expect(script.startsWith('#!/bin/sh\n')).toBe(true);
  const vars: Record<string, string> = {};
  for (const m of script.matchAll(/^(BERTH_[A-Z_]+)='([^']*)'$/gm)) vars[m[1]!] = m[2]!;
  return vars as unknown as NodeVars;
}

/** A node's side of the protocol, as the bootstrap script speaks it. */
class FakeNode {
  readonly key: string;
  readonly csr: string;
  certificate?: string;
  ca?: string;

  constructor(
    readonly vars: NodeVars,
    readonly address: string,
  ) {
    const base = join(dir, `${vars.BERTH_NODE}-${Math.random().toString(36).slice(2)}`);
    this.key = `${base}.key`;
    const csrFile = `${base}.csr`;
    newCsr(this.key, csrFile, vars.BERTH_NODE_NAME);
    this.csr = readFileSync(csrFile, 'utf8');
  }

  async report(phase: string, extra: Record<string, unknown> = {}, secret = this.vars.BERTH_SECRET) {
    const r = await fetch(this.vars.BERTH_REPORT_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${secret}` },
      body: JSON.stringify({
        cluster_uuid: this.vars.BERTH_CLUSTER,
        node_uuid: this.vars.BERTH_NODE,
        phase,
        ...extra,
      }),
    });
    const body = (await r.json()) as Record<string, JsonDoc>;
    if (r.ok && body.certificate) {
      this.certificate = body.certificate;
      this.ca = body.ca;
    }
    return { status: r.status, body };
  }

  booted() {
    return this.report('booted', { address: this.address, csr: this.csr, docker_version: '20.10.24' });
  }
}

/** The nodes of a cluster whose servers exist, keyed by node name. */
async function nodesOf(clusterUuid: string, count: number, addressOf: (vars: NodeVars) => string) {
  const servers = await waitFor(
    `${count} servers of ${clusterUuid}`,
    async () => {
      const s = await serversOf(clusterUuid);
      return s.length >= count ? s : undefined;
    },
    120_000,
  );
  const out = new Map<string, FakeNode>();
  for (const s of servers) {
    const vars = await userDataVars(s.id);
    out.set(vars.BERTH_NODE_NAME, new FakeNode(vars, addressOf(vars)));
  }
  return { nodes: out, servers };
}

async function createCluster(body: Record<string, unknown>): Promise<string> {
  const r = await api('POST', '/v1/clusters', { cluster_template_id: templateId, ...body });
  expect(r.status).toBe(202);
  return r.body.uuid as string;
}

async function deleteAndVerifyGone(uuid: string) {
  const r = await api('DELETE', `/v1/clusters/${uuid}`);
  expect(r.status).toBe(204);
  await waitCluster(svc.url, A.token, uuid, (c) => c.status === 'GONE', 150_000);
  expect(await serversOf(uuid)).toEqual([]);
}

beforeAll(async () => {
  A = await tenant(ks, 'cs-cond');
  res = await nodeImageAndFlavor(dir);
  svc = await startPrivateService('conductor');
  apiPort = await freePort();
  const t = await api('POST', '/v1/clustertemplates', {
    name: uniqueName('t'),
    coe: 'swarm-mode',
    image_id: res.image,
    flavor_id: res.flavor,
    master_flavor_id: res.flavor,
    external_network_id: 'public',
    apiserver_port: apiPort,
  });
  expect(t.status).toBe(201);
  templateId = t.body.uuid;
  // started first: its create_timeout (1 minute) runs while the rest of the file does
  neverReportsCreatedAt = Date.now();
  neverReports = await createCluster({ name: 'never', node_count: 0, create_timeout: 1 });
});

afterAll(async () => {
  if (svc) {
    const list = await api('GET', '/v1/clusters');
    await Promise.all(
      (list.body?.clusters ?? []).map((c: { uuid: string }) =>
        deleteAndVerifyGone(c.uuid).catch(() => undefined),
      ),
    );
    await svc.stop();
  }
  await res?.remove();
  await ks.cleanup();
}, 600_000);

describe('a cluster whose nodes report back', () => {
  let uuid: string;
  let master: FakeNode;
  let worker: FakeNode;
  /** the workers that heartbeat (the master always does) */
  const beating = new Set<FakeNode>();
  let heartbeats: NodeJS.Timeout | undefined;
  let proxy: TlsServer | undefined;

  afterAll(() => {
    clearInterval(heartbeats);
    proxy?.close();
  });

  it('boots one server per node, each with the bootstrap script, the report URL and the cluster secret', async () => {
    uuid = await createCluster({ name: 'swarm1', node_count: 1, create_timeout: 10 });
    const { nodes, servers } = await nodesOf(uuid, 2, (v) =>
      v.BERTH_ROLE === 'master' ? '127.0.0.1' : '127.0.0.2',
    );
    expect(servers.map((s) => s.name).sort()).toEqual([
      `swarm1-${uuid.slice(0, 8)}-master-0`,
      `swarm1-${uuid.slice(0, 8)}-node-0`,
    ]);
    master = [...nodes.values()].find((n) => n.vars.BERTH_ROLE === 'master')!;
    worker = [...nodes.values()].find((n) => n.vars.BERTH_ROLE === 'worker')!;
    expect(master.vars).toMatchObject({
      BERTH_CLUSTER: uuid,
      BERTH_REPORT_URL: `${svc.url}/node-api/v1/report`,
      BERTH_API_PORT: String(apiPort),
    });
    expect(master.vars.BERTH_SECRET).toBe(worker.vars.BERTH_SECRET);
    const c = (await api('GET', `/v1/clusters/${uuid}`)).body;
    expect(c.status).toBe('CREATE_IN_PROGRESS');
    expect(c.status_reason).toMatch(/waiting for 2 node\(s\).*never reported/);
  });

  it('refuses reports without the cluster secret', async () => {
    expect((await master.report('booted', {}, 'not-the-secret')).status).toBe(401);
    const other = new FakeNode(
      { ...master.vars, BERTH_CLUSTER: '00000000-0000-4000-8000-000000000000' },
      '127.0.0.1',
    );
    expect((await other.report('booted')).status).toBe(401);
  });

  it('tells the first master to init the swarm, with its TLS certificate from the cluster CA', async () => {
    const r = await master.booted();
    expect(r).toMatchObject({ status: 200, body: { action: 'init' } });
    writeFileSync(join(dir, 'node-cert.pem'), r.body.certificate);
    writeFileSync(join(dir, 'node-ca.pem'), r.body.ca);
    expect(
      execFileSync('openssl', ['verify', '-CAfile', join(dir, 'node-ca.pem'), join(dir, 'node-cert.pem')], {
        encoding: 'utf8',
      }),
    ).toMatch(/OK/);
    expect(
      execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'node-cert.pem')], {
        encoding: 'utf8',
      }),
    ).toMatch(/IP Address:127\.0\.0\.1/);
    // the CA the API hands out is the same
    expect((await api('GET', `/v1/certificates/${uuid}`)).body.pem).toBe(r.body.ca);
  });

  it('makes a worker wait for the join tokens, then join with them', async () => {
    expect((await worker.booted()).body).toMatchObject({ action: 'wait' });
    const init = await master.report('swarm-initialized', {
      address: '127.0.0.1',
      swarm_node_id: 'm0',
      join_tokens: { worker: 'SWMTKN-1-worker', manager: 'SWMTKN-1-manager' },
    });
    expect(init.body.action).toBe('none');
    expect((await worker.booted()).body).toMatchObject({
      action: 'join',
      join: { token: 'SWMTKN-1-worker', manager_address: '127.0.0.1:2377' },
    });
  });

  it('completes when every node is in the swarm, with the API and node addresses', async () => {
    await worker.report('joined', { address: '127.0.0.2', swarm_node_id: 'w0' });
    const c = await waitCluster(svc.url, A.token, uuid, (x) => x.status !== 'CREATE_IN_PROGRESS', 30_000);
    expect(c).toMatchObject({
      status: 'CREATE_COMPLETE',
      api_address: `tcp://127.0.0.1:${apiPort}`,
      master_addresses: ['127.0.0.1'],
      node_addresses: ['127.0.0.2'],
      coe_version: '20.10.24',
      node_count: 1,
      master_count: 1,
    });
    const ngs = (await api('GET', `/v1/clusters/${uuid}/nodegroups`)).body.nodegroups;
    expect(ngs.map((n: { status: string }) => n.status)).toEqual(['CREATE_COMPLETE', 'CREATE_COMPLETE']);
  });

  it('writes, with `openstack coe cluster config`, a docker client configuration that works over TLS', async () => {
    // the node's Docker API: TLS with its certificate, client certificates from the cluster CA only
    proxy = createTlsServer(
      {
        key: readFileSync(master.key),
        cert: master.certificate!,
        ca: master.ca!,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (sock) => {
        const up = connect('/var/run/docker.sock');
        sock.pipe(up).pipe(sock);
        up.on('error', () => sock.destroy());
        sock.on('error', () => up.destroy());
      },
    );
    await new Promise<void>((r) => proxy!.listen(apiPort, '127.0.0.1', r));
    const cfg = mkdtempSync(join(dir, 'cfg-'));
    // this private service is not in the catalog: the CLI is pointed at it with the user's token
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
    const out = execFileSync(
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
        encoding: 'utf8',
      },
    ).replace(/^export /gm, '');
    const env: Record<string, string> = {};
    for (const line of out.trim().split('\n')) {
      const [k, ...v] = line.split('=');
      env[k!] = v.join('=');
    }
    expect(env.DOCKER_HOST).toBe(`tcp://127.0.0.1:${apiPort}`);
    // (asynchronously: the TLS endpoint runs in this very process)
    const docker = (e: Record<string, string>) =>
      execFileP('docker', ['version', '--format', '{{.Server.Version}}'], {
        env: { ...process.env, ...e },
        timeout: 30_000,
      });
    const version = (await docker(env)).stdout.trim();
    expect(version).toBe((await docker({})).stdout.trim());
    // a client certificate from elsewhere is refused
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(cfg, 'key.pem'),
        '-subj',
        '/CN=mallory',
        '-days',
        '1',
        '-out',
        join(cfg, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    await expect(docker(env)).rejects.toThrow();
  });

  it('keeps health current from the heartbeats', async () => {
    const swarm = (workerStatus: string) => [
      { id: 'm0', hostname: 'm', status: 'Ready', availability: 'Active', manager_status: 'Leader' },
      { id: 'w0', hostname: 'w', status: workerStatus, availability: 'Active', manager_status: '' },
    ];
    let workerStatus = 'Ready';
    beating.add(worker);
    const beat = async () => {
      await master.report('heartbeat', {
        address: '127.0.0.1',
        swarm_node_id: 'm0',
        swarm_nodes: swarm(workerStatus),
        csr: master.csr,
      });
      for (const w of beating) {
        if (w !== worker || workerStatus === 'Ready')
          await w.report('heartbeat', { address: w.address, csr: w.csr });
      }
    };
    await beat();
    heartbeats = setInterval(() => void beat().catch(() => undefined), 1000);
    const healthy = await waitCluster(svc.url, A.token, uuid, (c) => c.health_status === 'HEALTHY', 30_000);
    expect(healthy.health_status_reason).toEqual({
      api: 'ok',
      [`swarm1-${uuid.slice(0, 8)}-master-0.Ready`]: 'True',
      [`swarm1-${uuid.slice(0, 8)}-node-0.Ready`]: 'True',
    });
    workerStatus = 'Down';
    const sick = await waitCluster(svc.url, A.token, uuid, (c) => c.health_status === 'UNHEALTHY', 30_000);
    expect(sick.health_status_reason[`swarm1-${uuid.slice(0, 8)}-node-0.Ready`]).toBe('False');
    workerStatus = 'Ready';
    await waitCluster(svc.url, A.token, uuid, (c) => c.health_status === 'HEALTHY', 30_000);
  });

  it('grows a nodegroup: the new node joins and the cluster is UPDATE_COMPLETE', async () => {
    const r = await api('POST', `/v1/clusters/${uuid}/actions/resize`, { node_count: 2 });
    expect(r).toMatchObject({ status: 202, body: { uuid } });
    expect((await api('GET', `/v1/clusters/${uuid}`)).body.status).toBe('UPDATE_IN_PROGRESS');
    const { nodes } = await nodesOf(uuid, 3, () => '127.0.0.3');
    const fresh = nodes.get(`swarm1-${uuid.slice(0, 8)}-node-1`)!;
    expect((await fresh.booted()).body).toMatchObject({ action: 'join', join: { token: 'SWMTKN-1-worker' } });
    await fresh.report('joined', { address: '127.0.0.3', swarm_node_id: 'w1' });
    beating.add(fresh);
    const c = await waitCluster(svc.url, A.token, uuid, (x) => x.status !== 'UPDATE_IN_PROGRESS', 30_000);
    expect(c).toMatchObject({
      status: 'UPDATE_COMPLETE',
      node_count: 2,
      node_addresses: ['127.0.0.2', '127.0.0.3'],
    });
  });

  it('shrinks it: the node asked for is drained by a manager first, then its server deleted', async () => {
    const before = await serversOf(uuid);
    const victim = before.find((s) => s.name.endsWith('node-0'))!;
    beating.delete(worker);
    const r = await api('POST', `/v1/clusters/${uuid}/actions/resize`, {
      node_count: 1,
      nodes_to_remove: [victim.id],
    });
    expect(r.status).toBe(202);
    // the manager's next heartbeat carries the drain order (the interval heartbeats are paused for this)
    clearInterval(heartbeats);
    const order = await waitFor(
      'a drain order',
      async () => {
        const h = await master.report('heartbeat', {
          address: '127.0.0.1',
          swarm_node_id: 'm0',
          csr: master.csr,
        });
        return h.body.action === 'drain' ? h.body : undefined;
      },
      20_000,
      300,
    );
    expect(order.drain_nodes).toEqual(['w0']);
    expect((await serversOf(uuid)).map((s) => s.id)).toContain(victim.id);
    await master.report('drained', { drained_nodes: ['w0'] });
    const c = await waitCluster(svc.url, A.token, uuid, (x) => x.status !== 'UPDATE_IN_PROGRESS', 60_000);
    expect(c).toMatchObject({ status: 'UPDATE_COMPLETE', node_count: 1, node_addresses: ['127.0.0.3'] });
    expect((await serversOf(uuid)).map((s) => s.id)).not.toContain(victim.id);
    // the removed node is told to leave if it reports again
    expect((await worker.report('heartbeat', { address: '127.0.0.2' })).status).toBe(404);
    heartbeats = setInterval(() => {
      for (const n of [master, ...beating])
        void n.report('heartbeat', { address: n.address, csr: n.csr }).catch(() => undefined);
    }, 1000);
  });

  it('rotates the CA: nodes get certificates from the new CA at their next heartbeat', async () => {
    const oldCa = (await api('GET', `/v1/certificates/${uuid}`)).body.pem;
    const r = await api('PATCH', `/v1/certificates/${uuid}`);
    expect(r).toMatchObject({ status: 202, body: { uuid } });
    const newCa = (await api('GET', `/v1/certificates/${uuid}`)).body.pem;
    expect(newCa).not.toBe(oldCa);
    const c = await waitCluster(svc.url, A.token, uuid, (x) => x.status !== 'UPDATE_IN_PROGRESS', 60_000);
    expect(c.status).toBe('UPDATE_COMPLETE');
    expect(master.ca).toBe(newCa);
    writeFileSync(join(dir, 'rot-ca.pem'), newCa);
    writeFileSync(join(dir, 'rot-cert.pem'), master.certificate!);
    expect(
      execFileSync('openssl', ['verify', '-CAfile', join(dir, 'rot-ca.pem'), join(dir, 'rot-cert.pem')], {
        encoding: 'utf8',
      }),
    ).toMatch(/OK/);
  });

  it('deletes it with every server, and its nodes are refused afterwards', async () => {
    clearInterval(heartbeats);
    await deleteAndVerifyGone(uuid);
    expect((await master.report('heartbeat', { address: '127.0.0.1' })).status).toBe(401);
  });
});

describe('failures', () => {
  it('a node that reports a failure fails the create at once, with its own words', async () => {
    const uuid = await createCluster({ name: 'fails', node_count: 0, create_timeout: 10 });
    const { nodes } = await nodesOf(uuid, 1, () => '127.0.0.9');
    const m = [...nodes.values()][0]!;
    await m.booted();
    await m.report('failed', {
      step: 'swarm-init',
      error: 'docker swarm init failed: address already in use',
    });
    const c = await waitCluster(svc.url, A.token, uuid, (x) => x.status !== 'CREATE_IN_PROGRESS', 30_000);
    expect(c.status).toBe('CREATE_FAILED');
    expect(c.status_reason).toBe(
      `node fails-${uuid.slice(0, 8)}-master-0 failed at step swarm-init: docker swarm init failed: address already in use`,
    );
    expect(c.faults).toEqual({ 'default-master': c.status_reason, 'default-worker': c.status_reason });
    await deleteAndVerifyGone(uuid);
  });

  it('a delete during the create cancels it and removes whatever was booted', async () => {
    const uuid = await createCluster({ name: 'short', node_count: 2, create_timeout: 10 });
    await waitFor(
      'a first server',
      async () => ((await serversOf(uuid)).length > 0 ? true : undefined),
      60_000,
      300,
    );
    await deleteAndVerifyGone(uuid);
  });

  it('a crash mid-create: after a restart the job resumes where it was, booting no server twice', async () => {
    const uuid = await createCluster({ name: 'crash', node_count: 2, create_timeout: 10 });
    await waitFor(
      'a first server',
      async () => ((await serversOf(uuid)).length > 0 ? true : undefined),
      60_000,
      100,
    );
    await svc.kill();
    const atCrash = (await serversOf(uuid)).length;
    await sleep(1000);
    await svc.start();
    const { nodes, servers } = await nodesOf(uuid, 3, (v) =>
      v.BERTH_ROLE === 'master' ? '127.0.1.1' : '127.0.1.2',
    );
    expect(atCrash).toBeGreaterThan(0);
    expect(servers).toHaveLength(3);
    expect(new Set(servers.map((s) => s.metadata.berth_node)).size).toBe(3);
    const [m, ...ws] = [...nodes.values()].sort((a, b) =>
      a.vars.BERTH_NODE_NAME.localeCompare(b.vars.BERTH_NODE_NAME),
    );
    expect(m!.vars.BERTH_ROLE).toBe('master');
    await m!.booted();
    await m!.report('swarm-initialized', {
      address: '127.0.1.1',
      swarm_node_id: 'cm',
      join_tokens: { worker: 'W', manager: 'M' },
    });
    for (const [i, w] of ws.entries()) {
      await w.booted();
      await w.report('joined', { address: `127.0.1.${i + 2}`, swarm_node_id: `cw${i}` });
    }
    const c = await waitCluster(svc.url, A.token, uuid, (x) => x.status !== 'CREATE_IN_PROGRESS', 60_000);
    expect(c.status).toBe('CREATE_COMPLETE');
    expect(await serversOf(uuid)).toHaveLength(3);
    await deleteAndVerifyGone(uuid);
  });

  it('a node that never reports: CREATE_FAILED when create_timeout runs out, saying what was awaited', async () => {
    const c = await waitCluster(
      svc.url,
      A.token,
      neverReports,
      (x) => x.status !== 'CREATE_IN_PROGRESS',
      150_000,
    );
    expect(c.status).toBe('CREATE_FAILED');
    const elapsed = Date.parse(c.updated_at) - neverReportsCreatedAt;
    expect(elapsed).toBeGreaterThanOrEqual(55_000);
    expect(c.status_reason).toMatch(
      new RegExp(
        `^CREATE timed out after 1 minute \\(create_timeout\\): create: waiting for 1 node\\(s\\): never-${neverReports.slice(0, 8)}-master-0 \\(Nova server [0-9a-f-]{36} ACTIVE, never reported since `,
      ),
    );
    expect(c.faults['default-master']).toBe(c.status_reason);
    // a FAILED cluster deletes cleanly, with its servers
    expect(await serversOf(neverReports)).toHaveLength(1);
    await deleteAndVerifyGone(neverReports);
  });
});
