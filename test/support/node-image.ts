// What the cluster node image suites (test/e2e/node-image*.test.ts) need on
// top of the Nova fixture: the shared `berth-swarm-node` image and `berth.node`
// flavor the all-in-one registers (devstack/aio/lib/berth-node-image.sh),
// container specs for nodes, commands run by a node's own (nested) dockerd, a
// project network, and a report sink: a tiny HTTP service on the node
// network standing in for the cluster service (nodes on a tenant network
// cannot reach the host).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type NovaFixture, type Server } from './nova-fixture';
import { type Credentials, openstack, run, waitFor } from './openstack-cli';

export const NODE_IMAGE = process.env.BERTH_TEST_NODE_IMAGE ?? 'berth-swarm-node';
export const NODE_FLAVOR = process.env.BERTH_TEST_NODE_FLAVOR ?? 'berth.node';
/** the all-in-one's flat provider network, the host's own (devstack/aio/lib/neutron.sh): cluster nodes live there */
export const PUBLIC_NETWORK = process.env.BERTH_TEST_PUBLIC_NETWORK ?? 'public';

/** `openstack coe cluster template create` arguments: swarm-mode on the node image and flavor, nodes on `fixedNetwork` */
export function nodeTemplateArgs(name: string, fixedNetwork: string = PUBLIC_NETWORK): string[] {
  return [
    'coe',
    'cluster',
    'template',
    'create',
    name,
    '--coe',
    'swarm-mode',
    '--image',
    NODE_IMAGE,
    '--flavor',
    NODE_FLAVOR,
    '--master-flavor',
    NODE_FLAVOR,
    '--external-network',
    PUBLIC_NETWORK,
    '--fixed-network',
    fixedNetwork,
  ];
}

/** `#container-spec` user data (JSON is YAML, so nothing needs quoting by hand) */
export function containerSpec(spec: Record<string, unknown>): string {
  return `#container-spec\n${JSON.stringify(spec, null, 1)}\n`;
}

/** a node: nested dockerd granted by the image, env as given */
export function nodeSpec(env: Record<string, string> = {}, extra: Record<string, unknown> = {}): string {
  return containerSpec({ nested_docker: true, restart_policy: 'unless-stopped', env, ...extra });
}

/** runs a shell script inside the node (the server's workload container) */
export const inNode = (serverId: string, script: string, timeoutMs = 120_000): Promise<string> =>
  run('docker', ['exec', `nova-${serverId}`, 'sh', '-c', script], timeoutMs);

/** what the node's entrypoint says about itself (/run/berth-node/status) */
export const nodeStatus = (serverId: string): Promise<string> =>
  inNode(serverId, 'cat /run/berth-node/status').then(
    (s) => s.trim(),
    () => 'unknown',
  );

/** waits until the node's entrypoint reports `ready` (dockerd up, bootstrap done); fails at once on `*failed` */
export async function waitNodeReady(serverId: string, timeoutMs = 120_000): Promise<void> {
  let failed = '';
  await waitFor(
    `node ${serverId} ready`,
    async () => {
      const s = await nodeStatus(serverId);
      if (s.endsWith('failed')) failed = s;
      return s === 'ready' || failed ? true : undefined;
    },
    timeoutMs,
    500,
  );
  if (failed)
    throw new Error(
      `node ${serverId} status ${failed}: ${await run('docker', ['logs', `nova-${serverId}`])}`,
    );
}

/**
 * A plain root filesystem tar (not `docker save`): busybox-static, a 1 MiB
 * file and an index page under /www, for `docker import` inside a node.
 */
export async function tinyRootfsTar(dir: string): Promise<string> {
  const tar = join(dir, 'tiny-rootfs.tar');
  await run('bash', [
    '-c',
    `set -e; r=$(mktemp -d); mkdir -p $r/bin $r/www $r/tmp $r/etc; cp /bin/busybox $r/bin/;
     for a in sh sleep echo cat ls ip ping nc httpd hostname wc head nslookup dd; do ln -s busybox $r/bin/$a; done;
     echo 'root:x:0:0:root:/:/bin/sh' > $r/etc/passwd; echo hello-from-a-task > $r/www/index.html;
     head -c 1048576 /dev/urandom > $r/www/big; tar -C $r -cf ${tar} .; rm -rf $r`,
  ]);
  return tar;
}

/** copies a root filesystem tar into the node and imports it into the node's dockerd as REF */
export async function importInNode(serverId: string, tar: string, ref: string): Promise<void> {
  await run('docker', ['cp', tar, `nova-${serverId}:/root/rootfs.tar`]);
  await inNode(
    serverId,
    `docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' /root/rootfs.tar ${ref} >/dev/null && rm /root/rootfs.tar`,
  );
}

/** the first fixed IPv4 address of a server's first port */
export async function serverIp(creds: Credentials, serverId: string): Promise<string> {
  const ports = await openstack<{ 'Fixed IP Addresses': { ip_address: string }[] }[]>(creds, [
    'port',
    'list',
    '--server',
    serverId,
    '--long',
    '-f',
    'json',
  ]);
  const ip = ports[0]?.['Fixed IP Addresses'][0]?.ip_address;
  if (!ip) throw new Error(`server ${serverId} has no fixed IP`);
  return ip;
}

/** the fault of a server, as `server show` gives it */
export function faultOf(s: Server): string {
  return typeof s.fault === 'string' ? s.fault : (s.fault?.message ?? '');
}

/**
 * Waits for the server to reach `status`; unlike polling `show` blindly it
 * stops at once when the server lands in another final state (ERROR while
 * waiting for ACTIVE, ACTIVE while waiting for ERROR), with the fault.
 */
export async function waitServer(
  f: NovaFixture,
  id: string,
  status: 'ACTIVE' | 'ERROR' | 'SHUTOFF',
  timeoutMs = 240_000,
): Promise<Server> {
  let wrong: Server | undefined;
  const s = await waitFor(
    `server ${id} ${status}`,
    async () => {
      const cur = await f.show(id);
      if (cur.status === status) return cur;
      // ERROR is final; ACTIVE is final only when ERROR was expected (SHUTOFF comes after ACTIVE)
      if (cur.status === 'ERROR' || (status === 'ERROR' && cur.status === 'ACTIVE')) {
        wrong = cur;
        return cur;
      }
      return undefined;
    },
    timeoutMs,
    1000,
  );
  if (wrong)
    throw new Error(`server ${id} is ${wrong.status}, not ${status}: ${faultOf(wrong) || 'no fault'}`);
  return s;
}

/**
 * The report sink: one HTTP request per connection (socat), checked against
 * the cluster secret, appended to /srv/reports.jsonl. It answers like the
 * cluster service would: once a master reported `swarm-initialized`, every
 * reply carries `join: {token, manager_address}`, which is how workers booted
 * at the same time as the master learn how to join.
 */
const SINK_SCRIPT = readFileSync(join(__dirname, 'node-report-sink.sh'), 'utf8');

export const SINK_PORT = 8080;

/** the sink's container spec: the node image's sh, jq and socat, no nested dockerd */
export function sinkSpec(secret: string): string {
  return containerSpec({
    entrypoint: ['/bin/sh', '-c'],
    command: [
      `printf '%s\\n' "$SINK_SCRIPT" >/srv/sink.sh && chmod +x /srv/sink.sh && echo sink listening && ` +
        `exec socat TCP-LISTEN:${SINK_PORT},fork,reuseaddr EXEC:/srv/sink.sh`,
    ],
    env: { SINK_SECRET: secret, SINK_SCRIPT },
  });
}

export interface NodeReport {
  cluster_uuid: string;
  node_uuid: string;
  node_name: string;
  role: string;
  phase: string;
  address: string;
  docker_version: string;
  swarm_node_id?: string;
  join_tokens?: { worker: string; manager: string };
  step?: string;
  error?: string;
}

/** every report the sink accepted, oldest first (a line still being written is left for the next read) */
export async function sinkReports(sinkId: string): Promise<NodeReport[]> {
  const out = await inNode(sinkId, 'cat /srv/reports.jsonl 2>/dev/null || true');
  const reports: NodeReport[] = [];
  for (const line of out.split('\n').filter(Boolean)) {
    try {
      reports.push(JSON.parse(line) as NodeReport);
    } catch {
      // several nodes report at once: a concurrent append may not be complete yet
    }
  }
  return reports;
}
