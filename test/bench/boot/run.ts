/**
 * Boot benchmark: what Berth adds on top of Docker and what Nova adds on top
 * of Berth, measured side by side in one run on the all-in-one.
 *
 *   1. raw `docker create` + `start` of an image vs the agent's spawn RPC for
 *      the same image (sandbox + workload), both with the image already local
 *   2. Nova REST POST /servers -> ACTIVE, one server at a time and 20 at once
 *   3. the agent's RSS, idle and at its peak during the burst
 *
 *   4. one server with a Neutron port vs `--nic none`: ACTIVE time and agent RSS
 *
 * Run (as root, all-in-one up): see README.md beside this file.
 */
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Docker from 'dockerode';
import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';
import { getTransport, RpcClient } from '@berth/oslo-rpc';
import { NovaClient } from '@berth/openstack-clients';

import { testEnv } from '../../support/env';
import { adminCredentials, openstackSync } from '../../support/openstack-cli';

const args = new Map(process.argv.slice(2).map((a, i, all) => [a, all[i + 1]]));
const SAMPLES = Number(args.get('--samples') ?? 10);
const BURST = Number(args.get('--burst') ?? 20);
const HOST = args.get('--host') ?? 'aio1';
const AGENT_PID_FILE = '/run/berth-aio/berth-nova-agent.pid';
const NETWORK = args.get('--network') ?? 'private';

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
const os = (...a: string[]) => openstackSync(adminCredentials, a);

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main() {
  const session = new KeystoneSession({
    authUrl: testEnv.authUrl,
    auth: new PasswordAuth({
      username: testEnv.adminUser,
      userDomainName: 'Default',
      password: testEnv.adminPassword,
      scope: { projectName: testEnv.adminProject, projectDomainName: 'Default' },
    }),
  });
  const access = await session.getAccess();
  const nova = new NovaClient(session);
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const agentPid = Number(readFileSync(AGENT_PID_FILE, 'utf8'));

  // an image and a flavor of our own
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  execFileSync('bash', [
    '-c',
    `set -e; r=$(mktemp -d); mkdir -p $r/bin; cp /bin/busybox $r/bin/; ln -s busybox $r/bin/sleep; ln -s busybox $r/bin/sh;
     tar -C $r -c . | docker import --change 'CMD ["/bin/sleep","infinity"]' - berth-bench/busybox:latest >/dev/null;
     docker save -o ${dir}/bb.tar berth-bench/busybox:latest; rm -rf $r`,
  ]);
  const imageId = os(
    'image',
    'create',
    '--container-format',
    'docker',
    '--disk-format',
    'raw',
    '--file',
    `${dir}/bb.tar`,
    `bench-${randomUUID().slice(0, 8)}`,
    '-f',
    'value',
    '-c',
    'id',
  );
  const flavorName = `bench-${randomUUID().slice(0, 8)}`;
  const flavorId = os(
    'flavor',
    'create',
    '--ram',
    '64',
    '--disk',
    '1',
    '--vcpus',
    '1',
    flavorName,
    '-f',
    'value',
    '-c',
    'id',
  );
  os(
    'quota',
    'set',
    '--instances',
    String(BURST + 10),
    '--cores',
    String(BURST + 10),
    '--ram',
    String((BURST + 10) * 64),
    access.project!.id,
  );

  const waitActive = async (id: string) => {
    for (;;) {
      const s = await nova.getServer(id);
      if (s.status === 'ACTIVE') return;
      if (s.status === 'ERROR') throw new Error(`server ${id} ERROR: ${JSON.stringify(s.fault)}`);
      await sleep(100);
    }
  };
  const netId = os('network', 'show', NETWORK, '-f', 'value', '-c', 'id');
  const bootOne = async (name: string, withPort = false) => {
    const t0 = process.hrtime.bigint();
    const networks = withPort ? [{ uuid: netId }] : ('none' as const);
    const { id } = await nova.createServer({ name, imageRef: imageId, flavorRef: flavorId, networks });
    await waitActive(id);
    return { id, ms: ms(t0) };
  };

  try {
    // warm-up: loads the image into dockerd through the agent (not measured)
    const warm = await bootOne('bench-warm');
    await nova.deleteServer(warm.id);
    const localRef = `berth-glance/${imageId}:latest`;

    // 1. raw docker vs the agent's spawn
    const raw: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = process.hrtime.bigint();
      const c = await docker.createContainer({
        Image: localRef,
        HostConfig: { NetworkMode: 'none', Memory: 64 * 2 ** 20, NanoCpus: 1e9 },
      });
      await c.start();
      raw.push(ms(t0));
      await c.remove({ force: true });
    }
    const transport = getTransport({ url: 'rabbit://guest:guest@127.0.0.1:5672/', controlExchange: 'nova' });
    const agent = new RpcClient(
      transport,
      { topic: 'berth-agent', server: HOST, version: '1.0' },
      { timeout: 120 },
    );
    const ctx = { auth_token: access.token, project_id: access.project!.id, user_id: access.user!.id };
    const spawn: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const uuid = randomUUID();
      const instance = {
        uuid,
        name: `bench-${i}`,
        project_id: ctx.project_id,
        user_id: ctx.user_id,
        flavor: { name: flavorName, vcpus: 1, memory_mb: 64, root_gb: 1, extra_specs: {} },
      };
      const t0 = process.hrtime.bigint();
      await agent.call(ctx, 'spawn', {
        instance,
        image: { id: imageId, container_format: 'docker', properties: {} },
        network_info: [],
        power_on: true,
      });
      spawn.push(ms(t0));
      await agent.call(ctx, 'destroy', { instance_uuid: uuid, network_info: [] });
    }
    await transport.close();

    // 2. Nova: one at a time, then a burst
    const idleRss = rssMiB(agentPid);
    const single: number[] = [];
    for (let i = 0; i < Math.min(SAMPLES, 5); i++) {
      const b = await bootOne(`bench-single-${i}`);
      single.push(b.ms);
      await nova.deleteServer(b.id);
    }
    const onNet: number[] = [];
    let netRss = idleRss;
    for (let i = 0; i < Math.min(SAMPLES, 5); i++) {
      const b = await bootOne(`bench-net-${i}`, true);
      onNet.push(b.ms);
      netRss = Math.max(netRss, rssMiB(agentPid));
      await nova.deleteServer(b.id);
    }
    let peakRss = idleRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(agentPid))), 100);
    const t0 = process.hrtime.bigint();
    const burst = await Promise.all(Array.from({ length: BURST }, (_, i) => bootOne(`bench-burst-${i}`)));
    const burstAll = ms(t0);
    clearInterval(sampler);
    for (const b of burst) await nova.deleteServer(b.id);

    const f = (n: number) => `${n.toFixed(0)} ms`;
    console.log('\nBoot benchmark (all-in-one, one host, image already on the host)\n');
    console.log('| measure | baseline | Berth | difference | goal |');
    console.log('|---|---|---|---|---|');
    console.log(
      `| create+start, median of ${SAMPLES} | raw docker ${f(median(raw))} | agent spawn RPC ${f(median(spawn))} | +${f(median(spawn) - median(raw))} | <= +150 ms |`,
    );
    console.log(
      `| create+start, p90 | ${f(pct(raw, 90))} | ${f(pct(spawn, 90))} | +${f(pct(spawn, 90) - pct(raw, 90))} | |`,
    );
    console.log(
      `| Nova POST /servers -> ACTIVE, 1 server, median of ${single.length} | raw docker ${f(median(raw))} | ${f(median(single))} | +${f(median(single) - median(raw))} | <= 3000 ms |`,
    );
    console.log(
      `| Nova -> ACTIVE with one Neutron port (${NETWORK}), median of ${onNet.length} | --nic none ${f(median(single))} | ${f(median(onNet))} | +${f(median(onNet) - median(single))} | |`,
    );
    console.log(
      `| agent RSS after boots with a port | --nic none ${idleRss.toFixed(0)} MiB | ${netRss.toFixed(0)} MiB | | |`,
    );
    console.log(
      `| Nova, ${BURST} concurrent: all ACTIVE | | ${f(burstAll)} (${burst.length}/${BURST} ACTIVE) | | all ${BURST} ACTIVE |`,
    );
    console.log(
      `| Nova, ${BURST} concurrent: per server p50 / max | | ${f(median(burst.map((b) => b.ms)))} / ${f(Math.max(...burst.map((b) => b.ms)))} | | |`,
    );
    console.log(
      `| agent RSS idle / peak in the burst | | ${idleRss.toFixed(0)} MiB / ${peakRss.toFixed(0)} MiB | | <= 100 MiB |`,
    );
  } finally {
    os('image', 'delete', imageId);
    os('flavor', 'delete', flavorName);
    os('quota', 'set', '--instances', '10', '--cores', '20', '--ram', '51200', access.project!.id);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
