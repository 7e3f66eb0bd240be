/**
 * Heat benchmark: a stack of N containers (OS::Container::Container through
 * Berth's heat-resources and nova-driver) from create to CREATE_COMPLETE and
 * from delete to gone, beside N sequential `docker run`s of the same image,
 * a control stack of N OS::Heat::None with the same shape (what Heat itself
 * costs) and the same N servers booted straight through Nova's API (what
 * Nova and the nova-driver cost), all in one run on the all-in-one.
 *
 *   npx tsc -b && npx tsc -p test/bench/heat
 *   node test/bench/heat/dist/bench/heat/run.js [--containers 10] [--samples 3]
 *
 * It works in a project and user of its own (quota raised for the stacks),
 * with its own image and flavor, and removes all of it at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createHttpClient, KeystoneSession, PasswordAuth } from 'keystone-client-ts';
import { NovaClient } from '@berth/openstack-clients';

import { testEnv } from '../../support/env';
import { adminCredentials, openstackSync } from '../../support/openstack-cli';
import { KeystoneFixture, uniqueName } from '../../support/keystone-fixture';
import { busyboxTarball } from '../../support/nova-fixture';

const args = new Map(process.argv.slice(2).map((a, i, all) => [a, all[i + 1]]));
const N = Number(args.get('--containers') ?? 10);
const SAMPLES = Number(args.get('--samples') ?? 3);
const GOAL_S = 15;

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const admin = (...a: string[]) => openstackSync(adminCredentials, a);

/** N resources hanging off one root: Heat's convergence engine waits 1 s per independent root resource */
function template(kind: 'container' | 'none', image: string, flavor: string): object {
  const resources: Record<string, object> = { root: { type: 'OS::Heat::None' } };
  for (let i = 0; i < N; i++) {
    resources[`c${i}`] =
      kind === 'container'
        ? { type: 'OS::Container::Container', depends_on: 'root', properties: { image, flavor } }
        : { type: 'OS::Heat::None', depends_on: 'root' };
  }
  return { heat_template_version: '2021-04-16', resources };
}

async function main() {
  const keystone = new KeystoneFixture();
  const dir = mkdtempSync(join(tmpdir(), 'berth-heat-bench-'));
  const project = await keystone.project('heat-bench');
  const user = await keystone.user('heat-bench');
  await keystone.grantProject(user.id, project.id, 'member');
  const session = new KeystoneSession({
    authUrl: testEnv.authUrl,
    auth: new PasswordAuth({ userId: user.id, password: user.password, scope: { projectId: project.id } }),
  });
  const heat = createHttpClient(session, { service: { type: 'orchestration' } });
  const nova = new NovaClient(session);
  const tarball = await busyboxTarball(dir);
  const localImage = 'berth-test/busybox:latest';
  const imageId = admin(
    'image',
    'create',
    '--project',
    project.id,
    '--container-format',
    'docker',
    '--disk-format',
    'raw',
    '--file',
    tarball,
    uniqueName('bench'),
    '-f',
    'value',
    '-c',
    'id',
  );
  const flavor = uniqueName('bench');
  admin('flavor', 'create', '--ram', '128', '--disk', '1', '--vcpus', '1', flavor);
  admin(
    'quota',
    'set',
    '--instances',
    String(N + 5),
    '--cores',
    String(N + 5),
    '--ram',
    String((N + 5) * 128),
    project.id,
  );

  const stackRun = async (kind: 'container' | 'none', name: string) => {
    const t0 = process.hrtime.bigint();
    const { data } = await heat.post<{ stack: { id: string } }>('/stacks', {
      stack_name: name,
      template: template(kind, imageId, flavor),
      timeout_mins: 10,
    });
    const path = `/stacks/${name}/${data.stack.id}`;
    let status = '';
    while (!/_(COMPLETE|FAILED)$/.test(status)) {
      await sleep(200);
      status = (await heat.get<{ stack: { stack_status: string; stack_status_reason: string } }>(path)).data
        .stack.stack_status;
    }
    const create = seconds(t0);
    if (status !== 'CREATE_COMPLETE') throw new Error(`${name}: ${status}`);
    const t1 = process.hrtime.bigint();
    await heat.delete(path);
    for (;;) {
      await sleep(200);
      const s = await heat.get<{ stack: { stack_status: string } }>(path).catch(() => undefined);
      if (!s || s.data.stack.stack_status === 'DELETE_COMPLETE') break;
      if (s.data.stack.stack_status === 'DELETE_FAILED') throw new Error(`${name}: DELETE_FAILED`);
    }
    // gone means gone from Nova too (Heat is done once every server answered 404)
    const left = kind === 'container' ? (await nova.listServers()).length : 0;
    return { create, delete: seconds(t1), left };
  };

  /** the same N servers straight through Nova's API, concurrently: what Heat and Berth's plugin add on top */
  const novaBurst = async () => {
    const t0 = process.hrtime.bigint();
    const flavorId = (await nova.resolveFlavor(flavor))!.id;
    const ids = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        nova
          .createServer({
            name: uniqueName(`nova-${i}`),
            imageRef: imageId,
            flavorRef: flavorId,
            networks: 'none',
          })
          .then((s) => s.id),
      ),
    );
    const pending = new Set(ids);
    while (pending.size) {
      await sleep(200);
      for (const id of [...pending]) {
        const s = await nova.getServer(id);
        if (s.status === 'ERROR') throw new Error(`server ${id} ERROR: ${JSON.stringify(s.fault)}`);
        if (s.status === 'ACTIVE') pending.delete(id);
      }
    }
    const active = seconds(t0);
    for (const id of ids) await nova.deleteServer(id);
    while ((await nova.listServers()).length) await sleep(500);
    return active;
  };

  try {
    // warm-up (not measured): the agent loads the image into dockerd once
    await stackRun('container', uniqueName('warm'));

    const docker: number[] = [];
    for (let s = 0; s < SAMPLES; s++) {
      const ids: string[] = [];
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        ids.push(
          execFileSync('docker', [
            'run',
            '-d',
            '--network',
            'none',
            '--memory',
            '128m',
            '--cpus',
            '1',
            localImage,
          ])
            .toString()
            .trim(),
        );
      }
      docker.push(seconds(t0));
      execFileSync('docker', ['rm', '-f', ...ids]);
    }
    const control: Array<{ create: number; delete: number }> = [];
    const berth: Array<{ create: number; delete: number; left: number }> = [];
    const direct: number[] = [];
    for (let s = 0; s < SAMPLES; s++) {
      control.push(await stackRun('none', uniqueName('control')));
      direct.push(await novaBurst());
      berth.push(await stackRun('container', uniqueName('containers')));
    }

    const f = (xs: number[]) => `${median(xs).toFixed(1)} s (${xs.map((x) => x.toFixed(1)).join(', ')})`;
    const bCreate = median(berth.map((b) => b.create));
    console.log(`\nHeat benchmark: ${N} containers, median of ${SAMPLES} (all samples in brackets)\n`);
    console.log('| measure | time | goal |');
    console.log('|---|---|---|');
    console.log(`| baseline: ${N} sequential \`docker run -d\` | ${f(docker)} | |`);
    console.log(
      `| control: stack of ${N} OS::Heat::None, create to CREATE_COMPLETE | ${f(control.map((c) => c.create))} | |`,
    );
    console.log(`| control: its delete to DELETE_COMPLETE | ${f(control.map((c) => c.delete))} | |`);
    console.log(`| Nova alone: ${N} concurrent POST /servers to all ACTIVE (no Heat) | ${f(direct)} | |`);
    console.log(
      `| Berth: stack of ${N} OS::Container::Container, create to CREATE_COMPLETE | ${f(berth.map((b) => b.create))} | <= ${GOAL_S} s: ${bCreate <= GOAL_S ? 'met' : 'NOT met'} |`,
    );
    console.log(
      `| Berth: its delete to gone (DELETE_COMPLETE, no server left) | ${f(berth.map((b) => b.delete))} | servers left: ${Math.max(...berth.map((b) => b.left))} |`,
    );
  } finally {
    for (const s of (await nova.listServers().catch(() => [])) ?? [])
      await nova.deleteServer(s.id).catch(() => undefined);
    admin('image', 'delete', imageId);
    admin('flavor', 'delete', flavor);
    await keystone.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
