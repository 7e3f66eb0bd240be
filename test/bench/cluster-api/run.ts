/**
 * cluster-api benchmark: the two list calls every client and Horizon makes
 * most, `GET /v1/clustertemplates` and `GET /v1/clusters`, against
 * berth-cluster-service and against Debian's magnum-api (Zed), side by side
 * in one run: the same Keystone, the same user and token, the same data
 * (templates and clusters with their nodegroups), the same HTTP client.
 *
 *   test/bench/cluster-api/run [--templates 10] [--clusters 20] [--requests 200]
 *     [--magnum-requests 40] [--concurrency 4] [--seconds 10] [--swarm-runs 1] [--json FILE]
 *
 * (`run` sets up magnum-api first and passes --magnum URL --magnum-conf FILE.)
 * Latency: sequential requests over one keep-alive connection, p50/p99.
 * Throughput: `concurrency` clients in a loop for `seconds`.
 * Goals: Berth's median <= 1/10 of Magnum's, Berth's p99 <= 50 ms; a Swarm
 * of 1 master + 2 workers CREATE_COMPLETE in <= 60 s (swarm.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { call, nodeImageAndFlavor, startPrivateService, tenant } from '../../support/cluster-service';
import { KeystoneFixture } from '../../support/keystone-fixture';
import { testEnv } from '../../support/env';
import { swarmCreateBench } from './swarm';

const args = new Map(process.argv.slice(2).map((a, i, all) => [a, all[i + 1]]));
const MAGNUM = args.get('--magnum') ?? 'http://127.0.0.1:9513';
const MAGNUM_CONF = args.get('--magnum-conf') ?? '/etc/magnum/magnum-bench.conf';
const TEMPLATES = Number(args.get('--templates') ?? 10);
const CLUSTERS = Number(args.get('--clusters') ?? 20);
const REQUESTS = Number(args.get('--requests') ?? 200);
/** magnum-api answers /v1/clusters in seconds (each cluster's template and nodegroups are RPC calls to its conductor) */
const MAGNUM_REQUESTS = Number(args.get('--magnum-requests') ?? 40);
const CONCURRENCY = Number(args.get('--concurrency') ?? 4);
const SECONDS = Number(args.get('--seconds') ?? 10);
const JSON_OUT = args.get('--json');
/** Swarm clusters of 1 master + 2 workers created on the shared service (0: skip) */
const SWARM_RUNS = Number(args.get('--swarm-runs') ?? 1);

interface Result {
  system: string;
  path: string;
  items: number;
  p50: number;
  p99: number;
  mean: number;
  rps: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function once(base: string, path: string, token: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await fetch(`${base}${path}`, {
    headers: {
      'X-Auth-Token': token,
      'OpenStack-API-Version': 'container-infra latest',
      Accept: 'application/json',
    },
  });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${base}${path} answered ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function measure(
  system: string,
  base: string,
  path: string,
  token: string,
  requests: number,
): Promise<Result> {
  const first = await call(base, token, 'GET', path, undefined, { version: 'latest' });
  const items = (first.body[path.split('/').pop()!] as unknown[]).length;
  for (let i = 0; i < 5; i++) await once(base, path, token);
  const lat: number[] = [];
  for (let i = 0; i < requests; i++) lat.push(await once(base, path, token));
  let done = 0;
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        await once(base, path, token);
        done++;
      }
    }),
  );
  return {
    system,
    path,
    items,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    mean: lat.reduce((a, b) => a + b, 0) / lat.length,
    rps: done / SECONDS,
  };
}

async function main() {
  const ks = new KeystoneFixture();
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-cluster-api-'));
  const res = await nodeImageAndFlavor(dir);
  // the conductor is off: the clusters stay rows (no servers), as in Magnum's database
  const svc = await startPrivateService('bench', {
    DEFAULT: { debug: 'false' },
    conductor: { enabled: 'false' },
  });
  try {
    const t = await tenant(ks, 'bench-capi');
    const token = await t.token();
    const templates: string[] = [];
    for (let i = 0; i < TEMPLATES; i++) {
      const r = await call(
        svc.url,
        token,
        'POST',
        '/v1/clustertemplates',
        {
          name: `bench-t${i}`,
          coe: 'swarm-mode',
          image_id: res.image,
          flavor_id: res.flavor,
          master_flavor_id: res.flavor,
          external_network_id: 'public',
          labels: { a: '1' },
        },
        { version: 'latest' },
      );
      if (r.status !== 201) throw new Error(`template create: ${r.status} ${r.text}`);
      templates.push(r.body.uuid);
    }
    for (let i = 0; i < CLUSTERS; i++) {
      const r = await call(
        svc.url,
        token,
        'POST',
        '/v1/clusters',
        {
          name: `bench-c${i}`,
          cluster_template_id: templates[i % templates.length],
          node_count: 1,
        },
        { version: 'latest' },
      );
      if (r.status !== 202) throw new Error(`cluster create: ${r.status} ${r.text}`);
    }
    console.log(`berth: ${TEMPLATES} templates, ${CLUSTERS} clusters`);
    console.log(
      execFileSync(
        testEnv.python,
        [
          join(__dirname, '..', '..', '..', 'magnum_fill.py'),
          MAGNUM_CONF,
          t.projectId,
          t.userId,
          String(TEMPLATES),
          String(CLUSTERS),
          res.image,
          res.flavor,
        ],
        { encoding: 'utf8' },
      ).trim(),
    );

    const results: Result[] = [];
    for (const path of ['/v1/clustertemplates', '/v1/clusters']) {
      results.push(await measure('magnum-api 15.0.1', MAGNUM, path, token, MAGNUM_REQUESTS));
      results.push(await measure('berth', svc.url, path, token, REQUESTS));
    }

    console.log(
      `\nGET latency over sequential requests (berth ${REQUESTS}, magnum ${MAGNUM_REQUESTS}), throughput with ${CONCURRENCY} clients for ${SECONDS} s`,
    );
    console.log(
      ['path', 'items', 'magnum p50', 'berth p50', 'magnum p99', 'berth p99', 'magnum req/s', 'berth req/s']
        .map((h, i) => h.padEnd(i === 0 ? 19 : 14))
        .join(''),
    );
    let ok = true;
    for (const path of ['/v1/clustertemplates', '/v1/clusters']) {
      const m = results.find((r) => r.path === path && r.system !== 'berth')!;
      const b = results.find((r) => r.path === path && r.system === 'berth')!;
      console.log(
        [
          path.replace('/v1/', ''),
          `${b.items}/${m.items}`,
          `${m.p50.toFixed(1)} ms`,
          `${b.p50.toFixed(2)} ms`,
          `${m.p99.toFixed(1)} ms`,
          `${b.p99.toFixed(2)} ms`,
          m.rps.toFixed(1),
          b.rps.toFixed(1),
        ]
          .map((c, i) => c.padEnd(i === 0 ? 19 : 14))
          .join(''),
      );
      const goalMedian = b.p50 <= m.p50 / 10;
      const goalP99 = b.p99 <= 50;
      ok &&= goalMedian && goalP99;
      console.log(
        `  goal median <= 1/10 of Magnum's: ${goalMedian ? 'met' : 'NOT met'} (${(m.p50 / b.p50).toFixed(1)}x faster); goal p99 <= 50 ms: ${goalP99 ? 'met' : 'NOT met'}`,
      );
    }
    const swarm = SWARM_RUNS > 0 ? await swarmCreateBench(t, SWARM_RUNS) : undefined;
    ok &&= swarm?.goalMet ?? true;
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ lists: results, swarm }, null, 2));
    process.exitCode = ok ? 0 : 1;
  } finally {
    await svc.stop();
    await res.remove();
    await ks.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
