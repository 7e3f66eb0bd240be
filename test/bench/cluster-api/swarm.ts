/**
 * Swarm create-to-complete on the all-in-one's shared cluster service (real
 * conductor, real Nova, the shared `berth-swarm-node` image on `public`):
 * a cluster of 1 master + 2 workers from POST /v1/clusters to
 * CREATE_COMPLETE, beside its floor measured in the same run: the same three
 * servers booted straight through Nova (same image, flavor, network, at
 * once) to ACTIVE. What the cluster adds on top is the bootstrap: dockerd
 * in each node, `swarm init`, the joins and the reports. Goal: <= 60 s.
 */
import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';
import { NovaClient } from '@berth/openstack-clients';

import { call, SHARED_URL, type Tenant, waitCluster } from '../../support/cluster-service';
import { KEYSTONE_URL } from '../../support/keystone-fixture';
import { adminCredentials, openstackSync } from '../../support/openstack-cli';

const IMAGE = process.env.BERTH_TEST_NODE_IMAGE ?? 'berth-swarm-node';
const FLAVOR = process.env.BERTH_TEST_NODE_FLAVOR ?? 'berth.node';
const NETWORK = process.env.BERTH_TEST_PUBLIC_NETWORK ?? 'public';
const GOAL_S = 60;

const seconds = (t0: number) => (Date.now() - t0) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface SwarmResult {
  novaActive: number[];
  clusterComplete: number[];
  goalMet: boolean;
}

/** the floor: three node servers straight through Nova, all ACTIVE */
async function novaBoot(nova: NovaClient, ids: { image: string; flavor: string; net: string }, run: number) {
  const t0 = Date.now();
  const servers = await Promise.all(
    ['m0', 'n0', 'n1'].map((n) =>
      nova.createServer({
        name: `bench-swarm-floor-${run}-${n}`,
        imageRef: ids.image,
        flavorRef: ids.flavor,
        networks: [{ uuid: ids.net }],
      }),
    ),
  );
  try {
    for (;;) {
      const all = await Promise.all(servers.map((s) => nova.getServer(s.id)));
      const bad = all.find((s) => s.status === 'ERROR');
      if (bad) throw new Error(`baseline server ${bad.name} went to ERROR`);
      if (all.every((s) => s.status === 'ACTIVE')) return seconds(t0);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await Promise.all(servers.map((s) => nova.deleteServer(s.id).catch(() => false)));
  }
}

async function clusterCreate(t: Tenant, template: string, run: number): Promise<number> {
  const t0 = Date.now();
  const r = await call(
    SHARED_URL,
    await t.token(),
    'POST',
    '/v1/clusters',
    { name: `bench-swarm-${run}`, cluster_template_id: template, master_count: 1, node_count: 2 },
    { version: 'latest' },
  );
  if (r.status !== 202) throw new Error(`cluster create: ${r.status} ${r.text}`);
  const uuid = r.body.uuid as string;
  try {
    const c = await waitCluster(SHARED_URL, t.token, uuid, (x) => x.status !== 'CREATE_IN_PROGRESS', 600_000);
    if (c.status !== 'CREATE_COMPLETE') throw new Error(`cluster ${uuid}: ${c.status}: ${c.status_reason}`);
    return seconds(t0);
  } finally {
    await call(SHARED_URL, await t.token(), 'DELETE', `/v1/clusters/${uuid}`, undefined, {
      version: 'latest',
    });
    await waitCluster(SHARED_URL, t.token, uuid, (x) => x.status === 'GONE', 300_000);
  }
}

export async function swarmCreateBench(t: Tenant, runs: number): Promise<SwarmResult> {
  const session = new KeystoneSession({
    authUrl: KEYSTONE_URL,
    auth: new PasswordAuth({
      username: t.creds.username,
      userDomainName: 'Default',
      password: t.creds.password,
      scope: { projectId: t.projectId },
    }),
  });
  const nova = new NovaClient(session);
  const tpl = await call(
    SHARED_URL,
    await t.token(),
    'POST',
    '/v1/clustertemplates',
    {
      name: 'bench-swarm',
      coe: 'swarm-mode',
      image_id: IMAGE,
      flavor_id: FLAVOR,
      master_flavor_id: FLAVOR,
      external_network_id: NETWORK,
      fixed_network: NETWORK,
    },
    { version: 'latest' },
  );
  if (tpl.status !== 201) throw new Error(`template create: ${tpl.status} ${tpl.text}`);
  // ids for the baseline's direct boots
  const id = (kind: string, name: string) =>
    openstackSync(adminCredentials, [kind, 'show', name, '-f', 'value', '-c', 'id']);
  const ids = { image: id('image', IMAGE), flavor: id('flavor', FLAVOR), net: id('network', NETWORK) };
  const novaActive: number[] = [];
  const clusterComplete: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      novaActive.push(await novaBoot(nova, ids, i));
      clusterComplete.push(await clusterCreate(t, tpl.body.uuid, i));
    }
  } finally {
    await call(SHARED_URL, await t.token(), 'DELETE', `/v1/clustertemplates/${tpl.body.uuid}`);
  }
  const goalMet = median(clusterComplete) <= GOAL_S;
  console.log(`\nSwarm of 1 master + 2 workers on Nova (${runs} run(s), median)`);
  console.log(
    ['measure', 'baseline: 3 servers via Nova -> ACTIVE', 'berth: cluster -> CREATE_COMPLETE', 'goal']
      .map((h) => h.padEnd(40))
      .join(''),
  );
  console.log(
    [
      'create',
      `${median(novaActive).toFixed(1)} s`,
      `${median(clusterComplete).toFixed(1)} s`,
      `<= ${GOAL_S} s: ${goalMet ? 'met' : 'NOT met'}`,
    ]
      .map((c) => c.padEnd(40))
      .join(''),
  );
  return { novaActive, clusterComplete, goalMet };
}
