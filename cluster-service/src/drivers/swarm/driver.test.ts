import { execFileSync } from 'node:child_process';

import sinon from 'sinon';
import { OpenStackHttpError } from 'keystone-client-ts';
import type { SecurityGroup, Server } from '@berth/openstack-clients';

import type { ClusterRow, NodeGroupRow } from '../../db/clusters';
import type { NodeRow } from '../../db/nodes';
import type { TemplateRow } from '../../db/templates';
import { DriverError, type DriverContext } from '../driver';
import { renderBootstrap, shq } from './bootstrap';
import { SwarmModeDriver } from './driver';

const CLUSTER = '11111111-2222-4333-8444-555555555555';

/** Nova as a map of servers, behind sinon stubs */
function fakeNova() {
  const servers = new Map<string, Server>();
  let n = 0;
  const nova = {
    createServer: sinon
      .stub()
      .callsFake(async (req: { name: string; metadata: Record<string, string>; userData: string }) => {
        const id = `srv-${++n}`;
        servers.set(id, {
          id,
          name: req.name,
          status: 'ACTIVE',
          metadata: req.metadata,
          userData: req.userData,
        } as unknown as Server);
        return { id, links: [] };
      }),
    listServers: sinon
      .stub()
      .callsFake(async (f: { name: string }) =>
        [...servers.values()].filter((s) => new RegExp(f.name).test(s.name)),
      ),
    deleteServer: sinon.stub().callsFake(async (id: string) => servers.delete(id)),
  };
  return { nova, servers };
}

/** Neutron's security groups as a map, behind sinon stubs; a group on a live server's port is in use (409) */
function fakeNeutron(inUse: () => boolean = () => false) {
  const groups = new Map<string, SecurityGroup>();
  let n = 0;
  const httpError = (status: number, code: string) =>
    Object.assign(Object.create(OpenStackHttpError.prototype) as OpenStackHttpError, {
      status,
      code,
      message: `${code} (HTTP ${status})`,
    });
  const neutron = {
    createSecurityGroup: sinon.stub().callsFake(async (req: { name: string; description: string }) => {
      const g = {
        id: `sg-${++n}`,
        project_id: 'p1',
        security_group_rules: [],
        ...req,
      } as unknown as SecurityGroup;
      groups.set(g.id, g);
      return g;
    }),
    findSecurityGroup: sinon.stub().callsFake(async (id: string) => groups.get(id)),
    listSecurityGroups: sinon
      .stub()
      .callsFake(async (f: { name: string }) => [...groups.values()].filter((g) => g.name === f.name)),
    createSecurityGroupRules: sinon.stub().callsFake(async (rules: Array<{ security_group_id: string }>) =>
      rules.map((r, i) => {
        const rule = {
          id: `rule-${i}`,
          port_range_min: null,
          port_range_max: null,
          remote_group_id: null,
          remote_ip_prefix: null,
          ...r,
        };
        groups.get(r.security_group_id)!.security_group_rules.push(rule as never);
        return rule;
      }),
    ),
    deleteSecurityGroup: sinon.stub().callsFake(async (id: string) => {
      if (inUse()) throw httpError(409, 'SecurityGroupInUse');
      return groups.delete(id);
    }),
    resolveNetwork: sinon.stub(),
  };
  return { neutron, groups, httpError };
}

function fakeContext(
  o: {
    masters?: number;
    workers?: number;
    nova?: ReturnType<typeof fakeNova>;
    neutron?: ReturnType<typeof fakeNeutron>;
    fixedNetwork?: string;
  } = {},
) {
  const { nova, servers } = o.nova ?? fakeNova();
  const { neutron } = o.neutron ?? fakeNeutron();
  const cluster = {
    uuid: CLUSTER,
    name: 'demo',
    status: 'CREATE_IN_PROGRESS',
    driver_state: '{}',
    keypair: null,
    fixed_network: o.fixedNetwork ?? null,
    project_id: 'p1',
    flavor_id: 'small',
    master_flavor_id: 'small',
  } as unknown as ClusterRow;
  const template = {
    image_id: 'node-image',
    flavor_id: 'small',
    master_flavor_id: 'small',
    apiserver_port: null,
    tls_disabled: 0,
    fixed_network: null,
  } as unknown as TemplateRow;
  const ng = (role: string, count: number): NodeGroupRow =>
    ({
      uuid: `ng-${role}`,
      name: `default-${role}`,
      role,
      node_count: count,
      is_default: 1,
      image_id: null,
      flavor_id: null,
    }) as unknown as NodeGroupRow;
  const nodegroups = [ng('master', o.masters ?? 1), ng('worker', o.workers ?? 1)];
  const nodes: NodeRow[] = [];
  let now = 1_000_000;
  const ctx: DriverContext = {
    cluster,
    template,
    nodegroups,
    nodes,
    config: {
      swarm: { api_port: 2376, report_interval: 30, node_down_after: 120 },
      compute: { default_networks: 'none' },
    } as unknown as DriverContext['config'],
    logger: { info: () => undefined, warn: () => undefined } as unknown as DriverContext['logger'],
    serverFilter: {},
    compute: () => nova as unknown as ReturnType<DriverContext['compute']>,
    network: () => neutron as unknown as ReturnType<DriverContext['network']>,
    resolveNetwork: async (n) => {
      if (n === 'missing') throw new DriverError('network missing not found');
      return `net-id-of-${n}`;
    },
    resolveImage: async (i) => `id-of-${i}`,
    imageProperties: async () => ({}),
    resolveFlavor: async (f) => `id-of-${f}`,
    templateById: async () => undefined,
    ca: {
      certPem: async () => 'CA-PEM',
      fingerprint: async () => 'fp-1',
      signServer: sinon.stub().resolves('SERVER-CERT'),
    },
    nodeSecret: () => 's3cr3t',
    reportUrl: 'http://api.example/node-api/v1/report',
    seal: (p) => `sealed:${p}`,
    open: (s) => s.replace(/^sealed:/, ''),
    now: () => now,
    updateCluster: async (v) => void Object.assign(cluster, v),
    updateNodegroup: async (uuid, v) =>
      void Object.assign(
        nodegroups.find((g) => g.uuid === uuid)!,
        v,
      ),
    insertNode: async () => undefined,
    updateNode: async (uuid, v) => void Object.assign(nodes.find((n) => n.uuid === uuid) ?? {}, v),
    updateNodeIf: async (uuid, state, v) => {
      const n = nodes.find((x) => x.uuid === uuid);
      if (!n || n.state !== state) return false;
      Object.assign(n, v);
      return true;
    },
    deleteNode: async (uuid) => {
      const i = nodes.findIndex((n) => n.uuid === uuid);
      if (i >= 0) nodes.splice(i, 1);
    },
  };
  return { ctx, nova, neutron, servers, advance: (ms: number) => (now += ms) };
}

const driver = new SwarmModeDriver(['berth-swarm-node']);
const byRole = (ctx: DriverContext, role: string) => ctx.nodes.filter((n) => n.role === role);

async function formSwarm(ctx: DriverContext) {
  await driver.create(ctx);
  const [m] = byRole(ctx, 'master');
  const [w] = byRole(ctx, 'worker');
  await driver.nodeReport(ctx, m!, {
    cluster_uuid: CLUSTER,
    node_uuid: m!.uuid,
    phase: 'booted',
    address: '10.0.0.1',
    csr: 'CSR',
    docker_version: '24.0.5',
  });
  await driver.nodeReport(ctx, m!, {
    cluster_uuid: CLUSTER,
    node_uuid: m!.uuid,
    phase: 'swarm-initialized',
    address: '10.0.0.1',
    swarm_node_id: 'M',
    join_tokens: { worker: 'WT', manager: 'MT' },
  });
  await driver.nodeReport(ctx, w!, {
    cluster_uuid: CLUSTER,
    node_uuid: w!.uuid,
    phase: 'booted',
    address: '10.0.0.2',
    csr: 'CSR',
  });
  await driver.nodeReport(ctx, w!, {
    cluster_uuid: CLUSTER,
    node_uuid: w!.uuid,
    phase: 'joined',
    address: '10.0.0.2',
    swarm_node_id: 'W',
  });
  return { m: m!, w: w! };
}

describe('SwarmModeDriver', () => {
  it('serves swarm-mode templates whose image has one of the configured os_distro values', () => {
    expect(driver.provides).toContainEqual({ serverType: 'vm', os: 'berth-swarm-node', coe: 'swarm-mode' });
    expect(() => driver.validateCluster({ masterCount: 2 })).toThrow(/odd/);
    expect(() => driver.validateCluster({ masterCount: 3 })).not.toThrow();
  });

  it('boots one server per node with the bootstrap script, once, and says what it waits for', async () => {
    const { ctx, nova, servers } = fakeContext({ masters: 1, workers: 2 });
    const r = await driver.create(ctx);
    expect(r.done).toBe(false);
    expect(nova.createServer.callCount).toBe(3);
    const req = nova.createServer.firstCall.args[0];
    expect(req).toMatchObject({
      name: 'demo-11111111-master-0',
      imageRef: 'id-of-node-image',
      flavorRef: 'id-of-small',
      networks: 'none',
    });
    expect(req.metadata).toMatchObject({ berth_cluster: CLUSTER, berth_role: 'master' });
    expect(req.userData).toContain("BERTH_SECRET='s3cr3t'");
    expect(req.userData).toContain("BERTH_REPORT_URL='http://api.example/node-api/v1/report'");
    expect(!r.done && r.step).toMatch(
      /waiting for 3 node\(s\): demo-11111111-master-0 \(Nova server srv-1 ACTIVE, never reported since/,
    );
    await driver.create(ctx);
    expect(nova.createServer.callCount).toBe(3);
    expect(servers.size).toBe(3);
  });

  it('wraps the script in a nested_docker container spec for images Berth runs as containers', async () => {
    const { ctx, nova } = fakeContext({ workers: 0 });
    ctx.imageProperties = async () => ({ berth_allow_nested_docker: 'true', os_distro: 'debian' });
    await driver.create(ctx);
    const userData: string = nova.createServer.firstCall.args[0].userData;
    const [header, json] = userData.split('\n');
    expect(header).toBe('#container-spec');
    const spec = JSON.parse(json!) as {
      nested_docker: boolean;
      restart_policy: string;
      env: { BERTH_BOOTSTRAP_B64: string };
    };
    expect(spec.nested_docker).toBe(true);
    expect(spec.restart_policy).toBe('unless-stopped');
    expect(Buffer.from(spec.env.BERTH_BOOTSTRAP_B64, 'base64').toString()).toMatch(
      /^#!\/bin\/sh\n[\s\S]*BERTH_ROLE='master'/,
    );
  });

  it('adopts a server Nova already has for a planned node instead of booting another', async () => {
    const nova = fakeNova();
    const { ctx } = fakeContext({ workers: 0, nova });
    await driver.create(ctx);
    expect(nova.nova.createServer.callCount).toBe(1);
    // as after a crash between Nova's answer and our write: the node is planned again
    const node = ctx.nodes[0]!;
    node.state = 'planned';
    node.server_id = null;
    await driver.create(ctx);
    expect(nova.nova.createServer.callCount).toBe(1);
    expect(node.server_id).toBe('srv-1');
  });

  it('has the first master init the swarm and the others join with the right token', async () => {
    const { ctx } = fakeContext({ masters: 3, workers: 1 });
    await driver.create(ctx);
    const [m0, m1] = byRole(ctx, 'master');
    const [w] = byRole(ctx, 'worker');
    const report = (n: NodeRow, phase: 'booted' | 'swarm-initialized' | 'joined', extra = {}) =>
      driver.nodeReport(ctx, n, {
        cluster_uuid: CLUSTER,
        node_uuid: n.uuid,
        phase,
        address: `10.0.0.${n.idx + 1}`,
        csr: 'CSR',
        ...extra,
      });
    expect(await report(w!, 'booted')).toMatchObject({
      action: 'wait',
      certificate: 'SERVER-CERT',
      ca: 'CA-PEM',
    });
    expect((ctx.ca.signServer as sinon.SinonStub).lastCall.args).toEqual([
      'CSR',
      { ips: ['10.0.0.1'], dns: [w!.name] },
    ]);
    expect(await report(m0!, 'booted')).toMatchObject({ action: 'init' });
    await report(m0!, 'swarm-initialized', {
      swarm_node_id: 'A',
      join_tokens: { worker: 'WT', manager: 'MT' },
    });
    expect(await report(m1!, 'booted')).toMatchObject({
      action: 'join',
      join: { token: 'MT', manager_address: '10.0.0.1:2377' },
    });
    expect(await report(w!, 'booted')).toMatchObject({ action: 'join', join: { token: 'WT' } });
    expect(ctx.cluster.driver_state).not.toContain('WT"');
    await expect(
      report(m1!, 'swarm-initialized', { join_tokens: { worker: 'x', manager: 'y' } }),
    ).rejects.toThrow(/not the initial manager/);
  });

  it('completes once every node is in, with addresses and versions', async () => {
    const { ctx } = fakeContext();
    await formSwarm(ctx);
    expect(await driver.create(ctx)).toEqual({ done: true });
    expect(ctx.cluster).toMatchObject({
      api_address: 'tcp://10.0.0.1:2376',
      coe_version: '24.0.5',
      container_version: '24.0.5',
    });
    expect(ctx.nodegroups.map((g) => JSON.parse(g.node_addresses))).toEqual([['10.0.0.1'], ['10.0.0.2']]);
  });

  it("fails with the node's own words when it reports a failure, and on a Nova ERROR", async () => {
    const a = fakeContext();
    await driver.create(a.ctx);
    const [m] = byRole(a.ctx, 'master');
    await driver.nodeReport(a.ctx, m!, {
      cluster_uuid: CLUSTER,
      node_uuid: m!.uuid,
      phase: 'failed',
      step: 'dockerd',
      error: 'dockerd did not start',
    });
    await expect(driver.create(a.ctx)).rejects.toThrow(
      new DriverError('node demo-11111111-master-0 failed at step dockerd: dockerd did not start'),
    );

    const b = fakeContext();
    await driver.create(b.ctx);
    const s = [...b.servers.values()][1]!;
    Object.assign(s, {
      status: 'ERROR',
      fault: { code: 500, message: 'No valid host was found.', created: '' },
    });
    await expect(driver.create(b.ctx)).rejects.toThrow(
      `node demo-11111111-node-0: Nova server ${s.id} went to ERROR: No valid host was found.`,
    );
  });

  it('shrinks by draining through a manager before deleting the server', async () => {
    const { ctx, servers } = fakeContext({ workers: 2 });
    await driver.create(ctx);
    const [m] = byRole(ctx, 'master');
    const workers = byRole(ctx, 'worker');
    await driver.nodeReport(ctx, m!, {
      cluster_uuid: CLUSTER,
      node_uuid: m!.uuid,
      phase: 'booted',
      address: '10.0.0.1',
    });
    await driver.nodeReport(ctx, m!, {
      cluster_uuid: CLUSTER,
      node_uuid: m!.uuid,
      phase: 'swarm-initialized',
      address: '10.0.0.1',
      swarm_node_id: 'M',
      join_tokens: { worker: 'WT', manager: 'MT' },
    });
    for (const [i, w] of workers.entries()) {
      await driver.nodeReport(ctx, w, {
        cluster_uuid: CLUSTER,
        node_uuid: w.uuid,
        phase: 'joined',
        address: `10.0.1.${i}`,
        swarm_node_id: `W${i}`,
      });
    }
    expect(await driver.create(ctx)).toEqual({ done: true });
    const victim = workers[0]!;
    const r = await driver.resize(ctx, {
      nodegroupId: 'ng-worker',
      nodeCount: 1,
      nodesToRemove: [victim.server_id!],
    });
    expect(!r.done && r.step).toMatch(/draining/);
    expect(servers.has(victim.server_id!)).toBe(true);
    const order = await driver.nodeReport(ctx, m!, {
      cluster_uuid: CLUSTER,
      node_uuid: m!.uuid,
      phase: 'heartbeat',
    });
    expect(order).toMatchObject({ action: 'drain', drain_nodes: ['W0'] });
    await driver.nodeReport(ctx, m!, {
      cluster_uuid: CLUSTER,
      node_uuid: m!.uuid,
      phase: 'drained',
      drained_nodes: ['W0'],
    });
    const serverId = victim.server_id!;
    await driver.resize(ctx, { nodegroupId: 'ng-worker', nodeCount: 1, nodesToRemove: [serverId] });
    expect(servers.has(serverId)).toBe(false);
    expect(await driver.resize(ctx, { nodegroupId: 'ng-worker', nodeCount: 1, nodesToRemove: [] })).toEqual({
      done: true,
    });
    expect(ctx.nodes.map((n) => n.name)).toEqual(['demo-11111111-master-0', 'demo-11111111-node-1']);
  });

  it('upgrades workers by rolling: a node of the new image joins before an old one is drained and deleted', async () => {
    const { ctx, servers, nova } = fakeContext({ workers: 1 });
    const { m, w } = await formSwarm(ctx);
    expect(await driver.create(ctx)).toEqual({ done: true });
    ctx.templateById = async () => ({ ...ctx.template, image_id: 'node-image-v2' }) as TemplateRow;
    const req = { nodegroupId: 'ng-worker', templateId: 'new', maxBatchSize: 1 };
    expect((await driver.upgrade(ctx, req)).done).toBe(false);
    expect(nova.createServer.lastCall.args[0]).toMatchObject({
      name: 'demo-11111111-node-1',
      imageRef: 'id-of-node-image-v2',
    });
    const fresh = ctx.nodes.find((n) => n.name.endsWith('node-1'))!;
    await driver.nodeReport(ctx, fresh, {
      cluster_uuid: CLUSTER,
      node_uuid: fresh.uuid,
      phase: 'joined',
      address: '10.0.0.3',
      swarm_node_id: 'W2',
    });
    expect((await driver.upgrade(ctx, req)).done).toBe(false);
    expect(w.state).toBe('draining');
    const order = await driver.nodeReport(ctx, m, {
      cluster_uuid: CLUSTER,
      node_uuid: m.uuid,
      phase: 'heartbeat',
    });
    expect(order).toMatchObject({ action: 'drain', drain_nodes: ['W'] });
    await driver.nodeReport(ctx, m, {
      cluster_uuid: CLUSTER,
      node_uuid: m.uuid,
      phase: 'drained',
      drained_nodes: ['W'],
    });
    const old = w.server_id!;
    await driver.upgrade(ctx, req);
    expect(servers.has(old)).toBe(false);
    expect(await driver.upgrade(ctx, req)).toEqual({ done: true });
    expect(ctx.nodes.map((n) => n.name)).toEqual(['demo-11111111-master-0', 'demo-11111111-node-1']);
    expect(JSON.parse(ctx.nodegroups[1]!.node_addresses)).toEqual(['10.0.0.3']);
  });

  it('refuses to remove a node that is not in the nodegroup', async () => {
    const { ctx } = fakeContext({ workers: 1 });
    await driver.create(ctx);
    await expect(
      driver.resize(ctx, { nodegroupId: 'ng-worker', nodeCount: 0, nodesToRemove: ['nope'] }),
    ).rejects.toThrow('nodes_to_remove: nope is not a node of nodegroup default-worker');
  });

  it('deletes every server, including ones it has no row for', async () => {
    const { ctx, servers, nova } = fakeContext();
    await driver.create(ctx);
    await nova.createServer({
      name: 'demo-11111111-node-9',
      metadata: { berth_cluster: CLUSTER },
      userData: '',
    });
    expect(servers.size).toBe(3);
    // the first call deletes, the next one confirms Nova no longer lists them
    expect((await driver.delete(ctx)).done).toBe(false);
    expect(servers.size).toBe(0);
    expect(await driver.delete(ctx)).toEqual({ done: true });
    expect(ctx.nodes).toEqual([]);
  });

  it("reports health from the managers' view and the heartbeats", async () => {
    const { ctx, advance } = fakeContext();
    expect(await driver.health(ctx)).toEqual({
      status: 'UNKNOWN',
      reason: { api: 'The cluster demo is not accessible.' },
    });
    const { m, w } = await formSwarm(ctx);
    const beat = async (workerStatus: string) => {
      await driver.nodeReport(ctx, m, {
        cluster_uuid: CLUSTER,
        node_uuid: m.uuid,
        phase: 'heartbeat',
        swarm_nodes: [
          { id: 'M', status: 'Ready' },
          { id: 'W', status: workerStatus },
        ],
      });
      await driver.nodeReport(ctx, w, { cluster_uuid: CLUSTER, node_uuid: w.uuid, phase: 'heartbeat' });
    };
    await beat('Ready');
    expect(await driver.health(ctx)).toEqual({
      status: 'HEALTHY',
      reason: { api: 'ok', 'demo-11111111-master-0.Ready': 'True', 'demo-11111111-node-0.Ready': 'True' },
    });
    await beat('Down');
    expect((await driver.health(ctx)).reason['demo-11111111-node-0.Ready']).toBe('False');
    advance(200_000);
    expect((await driver.health(ctx)).status).toBe('UNKNOWN');
  });

  it('hands out a certificate from a rotated CA at the next heartbeat, and waits for every node', async () => {
    const { ctx } = fakeContext();
    const { m, w } = await formSwarm(ctx);
    ctx.ca.fingerprint = async () => 'fp-2';
    expect((await driver.rotateCa(ctx)).done).toBe(false);
    const r = await driver.nodeReport(ctx, m, {
      cluster_uuid: CLUSTER,
      node_uuid: m.uuid,
      phase: 'heartbeat',
      csr: 'CSR',
      ca_fingerprint: 'fp-1',
    });
    expect(r).toMatchObject({ certificate: 'SERVER-CERT', ca: 'CA-PEM' });
    expect((await driver.rotateCa(ctx)).done).toBe(false);
    await driver.nodeReport(ctx, w, {
      cluster_uuid: CLUSTER,
      node_uuid: w.uuid,
      phase: 'heartbeat',
      csr: 'CSR',
      ca_fingerprint: 'fp-1',
    });
    expect(await driver.rotateCa(ctx)).toEqual({ done: true });
  });
});

describe('SwarmModeDriver on a network', () => {
  const SWARM_PORTS = [
    'tcp 2376-2376 from 0.0.0.0/0',
    'icmp any from 0.0.0.0/0',
    'tcp 2377-2377 from the group',
    'tcp 7946-7946 from the group',
    'udp 7946-7946 from the group',
    'udp 4789-4789 from the group',
  ];
  const rulesOf = (g: SecurityGroup) =>
    g.security_group_rules.map(
      (r) =>
        `${r.protocol} ${r.port_range_min === null ? 'any' : `${r.port_range_min}-${r.port_range_max}`} from ${
          r.remote_group_id === g.id ? 'the group' : r.remote_ip_prefix
        }`,
    );

  it('puts the nodes on the fixed network (a name resolved through Neutron) in a security group of the cluster', async () => {
    const net = fakeNeutron();
    const { ctx, nova } = fakeContext({ workers: 2, neutron: net, fixedNetwork: 'public' });
    await driver.create(ctx);
    expect(net.groups.size).toBe(1);
    const [group] = [...net.groups.values()];
    expect(group).toMatchObject({
      name: 'demo-11111111-secgroup',
      description: `Berth cluster ${CLUSTER}: its nodes`,
    });
    expect(rulesOf(group!)).toEqual(SWARM_PORTS);
    expect(net.neutron.createSecurityGroupRules.firstCall.args[0][0]).toMatchObject({
      direction: 'ingress',
      ethertype: 'IPv4',
    });
    expect(JSON.parse(ctx.cluster.driver_state)).toEqual({ security_group: group!.id });
    expect(nova.createServer.callCount).toBe(3);
    for (const call of nova.createServer.getCalls()) {
      expect(call.args[0]).toMatchObject({
        networks: [{ uuid: 'net-id-of-public' }],
        securityGroups: [group!.id],
      });
    }
    // the next steps find the recorded group: nothing new in Neutron
    await driver.create(ctx);
    expect(net.neutron.createSecurityGroup.callCount).toBe(1);
    expect(net.neutron.createSecurityGroupRules.callCount).toBe(1);
  });

  it('opens the API port the template asks for', async () => {
    const net = fakeNeutron();
    const { ctx } = fakeContext({ workers: 0, neutron: net, fixedNetwork: 'public' });
    (ctx.template as { apiserver_port: number | null }).apiserver_port = 3376;
    await driver.create(ctx);
    expect(rulesOf([...net.groups.values()][0]!)[0]).toBe('tcp 3376-3376 from 0.0.0.0/0');
  });

  it('adopts the group a crashed conductor made but did not record, and adds only the rules it lacks', async () => {
    const net = fakeNeutron();
    const a = fakeContext({ workers: 0, neutron: net, fixedNetwork: 'public' });
    await driver.create(a.ctx);
    const [group] = [...net.groups.values()];
    group!.security_group_rules.splice(3); // as if the crash came in the middle of the rules
    const b = fakeContext({ workers: 0, neutron: net, fixedNetwork: 'public' });
    await driver.create(b.ctx);
    expect(net.groups.size).toBe(1);
    expect(JSON.parse(b.ctx.cluster.driver_state)).toEqual({ security_group: group!.id });
    expect(rulesOf(group!)).toEqual(SWARM_PORTS);
    expect(net.neutron.createSecurityGroupRules.lastCall.args[0]).toHaveLength(3);
  });

  it('fails at once on an unknown fixed network, and lets a Neutron outage through to be retried', async () => {
    const { ctx } = fakeContext({ fixedNetwork: 'missing' });
    await expect(driver.create(ctx)).rejects.toThrow(
      new DriverError('fixed_network missing: network missing not found'),
    );
    const net = fakeNeutron();
    net.neutron.listSecurityGroups.rejects(net.httpError(503, 'ServiceUnavailable'));
    const down = fakeContext({ neutron: net, fixedNetwork: 'public' });
    const err = await driver.create(down.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenStackHttpError);
    expect(err).not.toBeInstanceOf(DriverError);
    net.neutron.listSecurityGroups.resetBehavior();
    net.neutron.listSecurityGroups.resolves([]);
    net.neutron.createSecurityGroup.rejects(net.httpError(403, 'Forbidden'));
    await expect(driver.create(down.ctx)).rejects.toThrow(
      /could not make the cluster's security group demo-11111111-secgroup: Forbidden/,
    );
  });

  it('deletes the group after the servers, waiting while Neutron still has it on a port', async () => {
    let ports = true;
    const net = fakeNeutron(() => ports);
    const { ctx, servers } = fakeContext({ neutron: net, fixedNetwork: 'public' });
    await driver.create(ctx);
    const id = [...net.groups.keys()][0]!;
    expect((await driver.delete(ctx)).done).toBe(false);
    expect(servers.size).toBe(0);
    const r = await driver.delete(ctx);
    expect(r).toMatchObject({
      done: false,
      step: `deleting security group(s) ${id}: Neutron still has ports in them`,
    });
    ports = false;
    expect(await driver.delete(ctx)).toEqual({ done: true });
    expect(net.groups.size).toBe(0);
  });

  it('makes no security group and asks Neutron nothing for nodes without a network', async () => {
    const net = fakeNeutron();
    const { ctx, nova } = fakeContext({ neutron: net });
    await driver.create(ctx);
    expect(nova.createServer.firstCall.args[0]).not.toHaveProperty('securityGroups');
    await driver.delete(ctx);
    await driver.delete(ctx);
    for (const stub of Object.values(net.neutron)) expect(stub.called).toBe(false);
  });
});

describe('bootstrap script', () => {
  it('quotes every value for sh and is valid sh', () => {
    expect(shq("it's")).toBe(`'it'\\''s'`);
    const script = renderBootstrap({
      reportUrl: "http://x/node-api/v1/report?a='b'",
      secret: 'abc',
      clusterUuid: CLUSTER,
      nodeUuid: CLUSTER,
      nodeName: 'demo-master-0',
      role: 'master',
      apiPort: 2376,
      reportInterval: 30,
      tlsDisabled: false,
    });
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain(`BERTH_REPORT_URL='http://x/node-api/v1/report?a='\\''b'\\'''`);
    execFileSync('sh', ['-n'], { input: script });
    expect(Buffer.byteLength(script)).toBeLessThan(48 * 1024);
  });
});
