// The cluster node image on the real stack: `berth-swarm-node` (built from
// Debian packages by devstack/aio/lib/berth-node-image.sh) booted by Nova with
// Berth's container driver on Neutron ports. A node runs its own dockerd
// (nested_docker profile, granted by the image's admin-set property), nodes
// form a Docker Swarm over a project network, and overlay networks work inside
// Neutron's VXLAN when made with the uplink's MTU. Timings are printed, never
// asserted.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { NovaFixture } from '../support/nova-fixture';
import { CliError, openstack, run, waitFor } from '../support/openstack-cli';
import {
  faultOf,
  importInNode,
  inNode,
  NODE_FLAVOR,
  NODE_IMAGE,
  nodeSpec,
  serverIp,
  SINK_PORT,
  sinkReports,
  sinkSpec,
  tinyRootfsTar,
  waitNodeReady,
  waitServer,
} from '../support/node-image';
import { projectNetwork } from '../support/openstack-resources';

jest.setTimeout(900_000);

const f = new NovaFixture();
let net: string;
let tiny: string;
const servers: string[] = [];
const seconds = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

async function boot(
  userData: string | undefined,
  name: string,
  flavor = NODE_FLAVOR,
  image = NODE_IMAGE,
): Promise<string> {
  const s = await f.boot({
    image,
    flavor,
    network: net,
    name,
    ...(userData !== undefined ? { userData } : {}),
  });
  servers.push(s.id);
  return s.id;
}

beforeAll(async () => {
  await f.setUp();
  net = await projectNetwork(f.user, 'nodes', '10.66.0.0/24');
  tiny = await tinyRootfsTar(f.dir);
}, 300_000);

afterAll(async () => {
  for (const id of servers) await f.deleteServer(id);
  if (net) await openstack(f.user, ['network', 'delete', net]).catch(() => undefined);
  await f.tearDown();
}, 600_000);

describe('the berth-swarm-node image', () => {
  it('is public, a docker image, and carries the admin grant and os_distro; berth.node is its flavor', async () => {
    const img = await openstack<{
      visibility: string;
      container_format: string;
      disk_format: string;
      properties: Record<string, string>;
    }>(f.user, ['image', 'show', NODE_IMAGE, '-f', 'json']);
    expect(img).toMatchObject({ visibility: 'public', container_format: 'docker', disk_format: 'raw' });
    expect(img.properties).toMatchObject({ berth_allow_nested_docker: 'true', os_distro: 'debian' });
    const flavor = await openstack<{ vcpus: number; ram: number; disk: number }>(f.user, [
      'flavor',
      'show',
      NODE_FLAVOR,
      '-f',
      'json',
    ]);
    expect(flavor.vcpus).toBe(1);
    expect(flavor.ram).toBeGreaterThanOrEqual(512);
    expect(flavor.disk).toBe(5);
  });

  it('boots with nested_docker: dockerd answers and runs a container loaded inside, within the flavor memory', async () => {
    const t0 = Date.now();
    const id = await boot(
      nodeSpec({
        // the bootstrap hook: a script the entrypoint runs once dockerd answers
        BERTH_BOOTSTRAP: "#!/bin/sh\ndocker info -f '{{.Driver}}' >/var/lib/berth-node/bootstrap-saw\n",
      }),
      'node-a',
    );
    await waitServer(f, id, 'ACTIVE');
    await waitNodeReady(id);
    console.info(`node ACTIVE and dockerd ready ${seconds(t0)} s after server create`);

    const info = await inNode(id, "docker info -f '{{.ServerVersion}} {{.Driver}} {{.CgroupDriver}}'");
    expect(info.trim()).toMatch(/^20\.10\.\d+\S* overlay2 cgroupfs$/);
    expect((await inNode(id, 'cat /var/lib/berth-node/bootstrap-saw')).trim()).toBe('overlay2');
    const log = await openstack<string>(f.user, ['console', 'log', 'show', id]);
    expect(log).toMatch(
      /berth-node: dockerd \S+ ready in \d+ s: storage overlay2, mtu 1450 \(eth0 10\.66\.0\.\d+\)/,
    );

    // no registry: a root filesystem tar imported into the node's dockerd
    await importInNode(id, tiny, 'tiny:1');
    expect(await inNode(id, 'docker run --rm tiny:1 echo hello-from-nested')).toBe('hello-from-nested\n');
    // nested containers get the uplink's MTU and live in the node's cgroup, so the flavor's RAM bounds them
    const nodeCgroup = (await inNode(id, "sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup")).trim();
    const inner = await inNode(
      id,
      "docker run --rm tiny:1 sh -c 'ip -o link show eth0; cat /proc/self/cgroup'",
    );
    expect(inner).toContain('mtu 1450');
    expect(inner).toContain(`:memory:${nodeCgroup}/`);
    const oom = await inNode(
      id,
      'docker run --rm tiny:1 dd if=/dev/zero of=/dev/null bs=1500M count=1; echo "exit $?"',
    );
    expect(oom).toContain('exit 137');
    expect(
      await inNode(
        id,
        'docker run --rm tiny:1 dd if=/dev/zero of=/dev/null bs=200M count=1 2>&1; echo "exit $?"',
      ),
    ).toContain('exit 0');
  });

  it('is refused without an admin grant, with a fault naming the grant', async () => {
    // the same bytes as the user's own image: the grant property is not copied, and users cannot set it
    const file = join(f.dir, 'node.tar');
    await openstack(f.user, ['image', 'save', '--file', file, NODE_IMAGE], 300_000);
    const own = await f.uploadImage(file, 'docker', { os_distro: 'debian' });
    const denied = await openstack(f.user, [
      'image',
      'set',
      '--property',
      'berth_allow_nested_docker=true',
      own,
    ]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(denied).toBeInstanceOf(CliError);
    expect((denied as CliError).stderr).toMatch(/403|Forbidden/);

    const id = await boot(nodeSpec(), 'node-b', NODE_FLAVOR, own);
    const s = await waitServer(f, id, 'ERROR');
    expect(faultOf(s)).toContain(
      'nested_docker: true needs the admin grant berth:allow_nested_docker=... on the flavor or berth_allow_nested_docker on the image',
    );

    // without a container spec at all the entrypoint says what it needs, and the server stops
    const plain = await boot(undefined, 'node-b-plain', NODE_FLAVOR, own);
    await waitServer(f, plain, 'SHUTOFF');
    const log = await openstack<string>(f.user, ['console', 'log', 'show', plain]);
    expect(log).toContain('this image runs dockerd and needs the nested_docker profile');
    expect(log).toContain("'nested_docker: true'");
  });
});

describe('a swarm of berth-swarm-node servers on a Neutron network', () => {
  const secret = randomBytes(16).toString('hex');
  let sink: string;
  let master: string;
  let workers: string[];

  it('forms from three nodes booted at once, coordinated through their reports', async () => {
    sink = await boot(sinkSpec(secret), 'sink', f.flavor);
    await waitServer(f, sink, 'ACTIVE');
    const url = `http://${await serverIp(f.user, sink)}:${SINK_PORT}/report`;
    const env = (role: string, node: string) => ({
      BERTH_NODE_ROLE: role,
      BERTH_NODE_UUID: node,
      BERTH_CLUSTER_UUID: 'cluster-e2e',
      BERTH_REPORT_URL: url,
      BERTH_CLUSTER_SECRET: secret,
    });

    const t0 = Date.now();
    [master, ...workers] = await Promise.all([
      boot(nodeSpec(env('master', 'm0')), 'swarm-master-0'),
      boot(nodeSpec(env('worker', 'w0')), 'swarm-node-0'),
      boot(nodeSpec(env('worker', 'w1')), 'swarm-node-1'),
    ]);
    const created = seconds(t0);
    for (const id of [master, ...workers]) await waitServer(f, id!, 'ACTIVE');
    const active = seconds(t0);
    const nodes = await waitFor(
      'three Ready swarm nodes',
      async () => {
        const ls = await inNode(master, "docker node ls --format '{{.Hostname}} {{.Status}} {{.ID}}'").catch(
          () => '',
        );
        const rows = ls.split('\n').filter((l) => l.includes(' Ready '));
        return rows.length === 3 ? rows : undefined;
      },
      180_000,
      500,
    );
    console.info(
      `swarm of 3: servers created in ${created} s, all ACTIVE at ${active} s, all Ready at ${seconds(t0)} s after the first create`,
    );
    expect(nodes.map((r) => r.split(' ')[0]).sort()).toEqual([
      'swarm-master-0',
      'swarm-node-0',
      'swarm-node-1',
    ]);

    // what the cluster service would have seen: the master's tokens, then each worker in the swarm
    const reports = await waitFor(
      'the joined reports',
      async () => {
        const r = await sinkReports(sink);
        return r.filter((x) => x.phase === 'joined').length === 2 ? r : undefined;
      },
      60_000,
    );
    const init = reports.find((r) => r.phase === 'swarm-initialized');
    expect(init).toMatchObject({ node_uuid: 'm0', role: 'master', cluster_uuid: 'cluster-e2e' });
    expect(init!.join_tokens!.worker).toMatch(/^SWMTKN-1-/);
    expect(init!.address).toBe(await serverIp(f.user, master));
    const ids = nodes.map((r) => r.split(' ')[2]);
    for (const w of reports.filter((r) => r.phase === 'joined')) {
      expect(['w0', 'w1']).toContain(w.node_uuid);
      expect(ids).toContain(w.swarm_node_id);
    }
    expect(reports.some((r) => r.phase === 'failed')).toBe(false);
  });

  it('runs a service across nodes on an overlay network made with the uplink MTU', async () => {
    for (const id of [master, ...workers]) await importInNode(id, tiny, 'tiny:1');
    // Neutron gives 1450; Docker takes VXLAN's 50 bytes off the network's mtu option: tasks get 1400
    const mtu = (await inNode(master, 'cat /run/berth-node/mtu')).trim();
    expect(mtu).toBe('1450');
    await inNode(
      master,
      `docker network create -d overlay --opt com.docker.network.driver.mtu=${mtu} ov >/dev/null &&
       docker service create -d --no-resolve-image --name web --network ov --replicas 2 --endpoint-mode dnsrr \
         --constraint node.role==worker --replicas-max-per-node 1 tiny:1 httpd -f -p 80 -h /www >/dev/null`,
    );
    const task = async (node: string) => {
      const c = (await inNode(node, 'docker ps -q -f name=web.')).trim();
      if (!c) return undefined;
      const ip = (
        await inNode(node, `docker inspect -f '{{(index .NetworkSettings.Networks "ov").IPAddress}}' ${c}`)
      ).trim();
      return { c, ip };
    };
    const [a, b] = await waitFor(
      'a task on each worker',
      async () => {
        const t = await Promise.all(workers.map(task));
        return t.every((x) => x?.ip) ? (t as { c: string; ip: string }[]) : undefined;
      },
      120_000,
    );
    const inTask = (node: string, c: string, script: string) =>
      inNode(node, `docker exec ${c} sh -c '${script}'`, 60_000);

    expect(await inTask(workers[0]!, a!.c, 'ip -o link show eth0')).toContain('mtu 1400');
    // across the nodes: full-size packets (1372 + 28 = 1400), a 1 MiB transfer, the service name
    expect(await inTask(workers[0]!, a!.c, `ping -c 2 -W 3 -s 1372 ${b!.ip} >/dev/null && echo ok`)).toBe(
      'ok\n',
    );
    const got = await inTask(
      workers[0]!,
      a!.c,
      `printf "GET /big HTTP/1.0\\r\\n\\r\\n" | nc -w 10 ${b!.ip} 80 | wc -c`,
    );
    expect(Number(got.trim())).toBeGreaterThan(1048576);
    expect(
      await inTask(workers[1]!, b!.c, 'printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" | nc -w 5 web 80'),
    ).toContain('hello-from-a-task');
  });

  it('keeps a node in the swarm across a reboot of its server', async () => {
    const w = workers[0]!;
    const name = 'swarm-node-0';
    const before = (await run('docker', ['inspect', '-f', '{{.State.StartedAt}}', `nova-${w}`])).trim();
    await openstack(f.user, ['server', 'reboot', w]);
    await waitFor(
      'the node restarted',
      async () =>
        (await run('docker', ['inspect', '-f', '{{.State.StartedAt}}', `nova-${w}`])).trim() !== before
          ? true
          : undefined,
      120_000,
    );
    await waitServer(f, w, 'ACTIVE');
    await waitNodeReady(w);
    const status = await waitFor(
      `${name} Ready again`,
      async () => {
        const s = (
          await inNode(master, `docker node ls --filter name=${name} --format '{{.Status}}'`)
        ).trim();
        return s === 'Ready' ? s : undefined;
      },
      120_000,
    );
    expect(status).toBe('Ready');
    expect(await openstack<string>(f.user, ['console', 'log', 'show', w])).toContain('already in the swarm');
  });
});
