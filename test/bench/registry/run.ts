/**
 * Registry benchmark, side by side in one run on the all-in-one:
 *
 *   glance-bridge (its daemon, storing in the aio's Glance)
 *   vs docker-registry 2.8.2 (Debian's distribution, local filesystem, no auth)
 *   vs a direct Glance upload and download of the same bytes
 *
 * with skopeo pushing and pulling an image of about 200 MB in several layers
 * (fresh random layers each round: skopeo would otherwise mount known blobs).
 * Then: bytes the bridge sends to Glance for a second push of the same
 * layers, and the bridge's peak RSS while it moves a 1 GiB layer each way.
 *
 * Run (as root, all-in-one up): test/bench/registry/run [--rounds 3] [--layers 5] [--layer-mb 40]
 *   [--big-mb 1024] [--json FILE]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

import { GlanceClient } from '@berth/openstack-clients';
import { KeystoneSession, PasswordAuth } from 'keystone-client-ts';

import { testEnv } from '../../support/env';
import { KeystoneFixture } from '../../support/keystone-fixture';

const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..', '..', '..', '..'); // test/bench/registry/dist/bench/registry -> repo root
const args = new Map(process.argv.slice(2).map((a, i, all) => [a, all[i + 1]]));
const ROUNDS = Number(args.get('--rounds') ?? 3);
const LAYERS = Number(args.get('--layers') ?? 5);
const LAYER_MB = Number(args.get('--layer-mb') ?? 40);
const BIG_MB = Number(args.get('--big-mb') ?? 1024);
const JSON_OUT = args.get('--json');
const MiB = 1024 * 1024;

const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'berth-registry-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(250);
    }
  }
  throw new Error(`${url} did not answer`);
}

function background(name: string, cmd: string, argv: string[]): ChildProcess {
  const log = createWriteStream(join(work, `${name}.log`));
  const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  p.stdout?.pipe(log);
  p.stderr?.pipe(log);
  return p;
}

async function stop(p: ChildProcess | undefined) {
  if (!p || p.exitCode !== null || p.pid === undefined) return;
  const done = new Promise((r) => p.once('exit', r));
  process.kill(-p.pid, 'SIGTERM');
  await Promise.race([done, sleep(10_000)]);
}

// ---- content: an OCI layout written by hand ----

interface Layout {
  dir: string;
  blobs: Array<{ digest: string; path: string; size: number }>;
  bytes: number;
}

async function writeLayer(path: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const out = createWriteStream(path);
  const chunk = 4 * MiB;
  for (let done = 0; done < size; done += chunk) {
    const b = randomBytes(Math.min(chunk, size - done));
    h.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return `sha256:${h.digest('hex')}`;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function makeLayout(name: string, sizes: number[]): Promise<Layout> {
  const dir = join(work, name);
  const blobsDir = join(dir, 'blobs', 'sha256');
  mkdirSync(blobsDir, { recursive: true });
  const layers = [];
  for (const size of sizes) {
    const tmp = join(blobsDir, `tmp-${randomUUID()}`);
    const digest = await writeLayer(tmp, size);
    const path = join(blobsDir, digest.slice(7));
    await exec('mv', [tmp, path]);
    layers.push({ digest, path, size });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      nonce: randomUUID(),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha(config),
        size: config.length,
      },
      // "gzip" layers (random bytes): clients keep them as they are
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.size,
      })),
    }),
  );
  for (const b of [config, manifest]) writeFileSync(join(blobsDir, sha(b).slice(7)), b);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
  return { dir, blobs: layers, bytes: layers.reduce((n, l) => n + l.size, 0) };
}

// ---- the three contenders ----

async function skopeo(argv: string[]): Promise<number> {
  const t0 = now();
  await exec('skopeo', argv, { maxBuffer: 16 * MiB, env: { ...process.env, TMPDIR: work } });
  return now() - t0;
}

const pushTo = (layout: Layout, ref: string, creds?: string) =>
  skopeo([
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    `oci:${layout.dir}:bench`,
    ref,
  ]);

async function pullFrom(ref: string, creds?: string): Promise<number> {
  const out = join(work, `pull-${randomUUID()}`);
  try {
    return await skopeo([
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      ...(creds ? ['--src-creds', creds] : []),
      ref,
      `oci:${out}:bench`,
    ]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Direct Glance: create + PUT each layer (all at once, as skopeo sends layers), then GET them to files. */
async function glanceDirect(
  glance: GlanceClient,
  layout: Layout,
  parallel: boolean,
): Promise<{ push: number; pull: number }> {
  const upload = async (b: Layout['blobs'][number]) => {
    const img = await glance.createImage({
      name: `bench-direct-${b.digest.slice(7, 19)}`,
      container_format: 'bare',
      disk_format: 'raw',
      os_hidden: true,
    });
    await glance.uploadData(img.id, () => createReadStream(b.path, { highWaterMark: MiB }), { size: b.size });
    return img.id;
  };
  const download = async (id: string, i: number) => {
    const d = await glance.downloadData(id);
    await pipeline(d.body, createWriteStream(join(work, `direct-${i}`)));
  };
  const t0 = now();
  const ids: string[] = [];
  if (parallel) ids.push(...(await Promise.all(layout.blobs.map(upload))));
  else for (const b of layout.blobs) ids.push(await upload(b));
  const push = now() - t0;
  const t1 = now();
  if (parallel) await Promise.all(ids.map(download));
  else for (const [i, id] of ids.entries()) await download(id, i);
  const pull = now() - t1;
  for (const [i, id] of ids.entries()) {
    rmSync(join(work, `direct-${i}`), { force: true });
    await glance.deleteImage(id);
  }
  return { push, pull };
}

async function storeBytes(bridgeUrl: string): Promise<number> {
  const text = await (await fetch(`${bridgeUrl}/metrics`)).text();
  const m = /^berth_registry_store_bytes_total\{[^}]*kind="blob"[^}]*\} (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(
    text,
  );
  return m ? Number(m[1]) : 0;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function peakRss<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
  try {
    const value = await fn();
    return { value, peak: Math.max(peak, rssMiB(pid)) };
  } finally {
    clearInterval(timer);
  }
}

async function main() {
  const ks = new KeystoneFixture();
  let bridge: ChildProcess | undefined;
  let noCache: ChildProcess | undefined;
  let registry: ChildProcess | undefined;
  const namespace = `berth-bench-${randomBytes(3).toString('hex')}`;
  const bridgeConf = join(work, 'bridge.conf');
  const rows: Record<string, { push: number[]; pull: number[] }> = {
    'glance-bridge': { push: [], pull: [] },
    'glance-bridge, cache off': { push: [], pull: [] },
    'docker-registry 2.8.2': { push: [], pull: [] },
    'Glance direct, parallel': { push: [], pull: [] },
    'Glance direct, 1 at a time': { push: [], pull: [] },
  };
  const result: Record<string, unknown> = {};
  let failed = false;
  try {
    const project = await ks.project('bench');
    const user = await ks.user('bench');
    await ks.grantProject(user.id, project.id, 'member');
    const creds = `${user.name}:${user.password}`;
    const glance = new GlanceClient(
      new KeystoneSession({
        authUrl: testEnv.authUrl,
        auth: new PasswordAuth({
          userId: user.id,
          password: user.password,
          scope: { projectId: project.id },
        }),
      }),
      { interface: 'public' },
    );

    // the bridge daemon, as the aio runs it but private: own port, state and Glance namespace
    const bport = await freePort();
    writeFileSync(
      bridgeConf,
      `[DEFAULT]\nstate_dir = ${join(work, 'bridge-state')}\n[api]\nbind_port = ${bport}\n` +
        `[keystone_authtoken]\nwww_authenticate_uri = ${testEnv.authUrl}\nauth_url = ${testEnv.authUrl}\n` +
        `username = berth-glance-bridge\npassword = ${process.env.BERTH_BENCH_BRIDGE_PASSWORD ?? 'secret'}\nproject_name = service\n` +
        `[glance]\nnamespace = ${namespace}\n[nova]\nregister_on_push = false\n`,
    );
    // the command line devstack/aio/lib/berth-glance-bridge.sh runs
    const daemon = (conf: string) => [
      '--max-semi-space-size=1',
      join(ROOT, 'glance-bridge/dist/cli/main.js'),
      '--config-file',
      conf,
    ];
    bridge = background('bridge', 'node', daemon(bridgeConf));
    const bridgeUrl = `http://127.0.0.1:${bport}`;
    await waitHttp(`${bridgeUrl}/healthcheck`);
    // a second bridge on the same database and Glance images without the local blob cache:
    // its pulls stream every byte from Glance
    const nport = await freePort();
    const noCacheConf = join(work, 'bridge-nocache.conf');
    writeFileSync(
      noCacheConf,
      readFileSync(bridgeConf, 'utf8').replace(`bind_port = ${bport}`, `bind_port = ${nport}`) +
        '[cache]\nmax_size_mb = 0\n',
    );
    noCache = background('bridge-nocache', 'node', daemon(noCacheConf));
    await waitHttp(`http://127.0.0.1:${nport}/healthcheck`);

    const rport = await freePort();
    const regConf = join(work, 'registry.yml');
    writeFileSync(
      regConf,
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry-data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${rport}\n`,
    );
    registry = background('docker-registry', 'docker-registry', ['serve', regConf]);
    await waitHttp(`http://127.0.0.1:${rport}/v2/`);

    const sizes = Array.from({ length: LAYERS }, (_, i) =>
      Math.round(LAYER_MB * MiB * (0.6 + (0.8 * i) / Math.max(1, LAYERS - 1))),
    );
    let layout: Layout | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      if (layout) rmSync(layout.dir, { recursive: true, force: true });
      layout = await makeLayout(`image-${round}`, sizes);
      const mb = layout.bytes / MiB;
      const order = round % 2 ? ['bridge', 'registry', 'glance'] : ['glance', 'registry', 'bridge'];
      for (const who of order) {
        if (who === 'bridge') {
          const ref = `docker://127.0.0.1:${bport}/${project.name}/bench${round}:v1`;
          rows['glance-bridge']!.push.push(mb / (await pushTo(layout, ref, creds)));
          rows['glance-bridge']!.pull.push(mb / (await pullFrom(ref, creds)));
          const cold = `docker://127.0.0.1:${nport}/${project.name}/bench${round}:v1`;
          rows['glance-bridge, cache off']!.pull.push(mb / (await pullFrom(cold, creds)));
        } else if (who === 'registry') {
          const ref = `docker://127.0.0.1:${rport}/bench/bench${round}:v1`;
          rows['docker-registry 2.8.2']!.push.push(mb / (await pushTo(layout, ref)));
          rows['docker-registry 2.8.2']!.pull.push(mb / (await pullFrom(ref)));
        } else {
          // all layers at once (the fastest Glance gets: the goal's baseline), and one after the other
          // (as skopeo sends layers)
          const p = await glanceDirect(glance, layout, true);
          rows['Glance direct, parallel']!.push.push(mb / p.push);
          rows['Glance direct, parallel']!.pull.push(mb / p.pull);
          const q = await glanceDirect(glance, layout, false);
          rows['Glance direct, 1 at a time']!.push.push(mb / q.push);
          rows['Glance direct, 1 at a time']!.pull.push(mb / q.pull);
        }
      }
      process.stderr.write(`round ${round}/${ROUNDS} done (${mb.toFixed(0)} MiB in ${LAYERS} layers)\n`);
    }

    // a second push of the same layers: another tag, then another repository of the project
    const before = await storeBytes(bridgeUrl);
    await pushTo(layout as Layout, `docker://127.0.0.1:${bport}/${project.name}/bench${ROUNDS}:again`, creds);
    await pushTo(layout as Layout, `docker://127.0.0.1:${bport}/${project.name}/bench-copy:v1`, creds);
    const secondPushBytes = (await storeBytes(bridgeUrl)) - before;
    rmSync((layout as Layout).dir, { recursive: true, force: true });

    // RSS while a 1 GiB layer goes in and out
    const big = await makeLayout('big', [BIG_MB * MiB]);
    const pid = bridge.pid as number;
    const idle = rssMiB(pid);
    const bigRef = `docker://127.0.0.1:${bport}/${project.name}/big:v1`;
    const bigPush = await peakRss(pid, () => pushTo(big, bigRef, creds));
    const bigPull = await peakRss(pid, () => pullFrom(bigRef, creds));
    rmSync(big.dir, { recursive: true, force: true });

    // ---- report ----
    const med = (k: string, w: 'push' | 'pull') => median(rows[k]![w]);
    const line = (cols: string[]) =>
      `| ${cols.map((c, i) => (i ? c.padStart(12) : c.padEnd(24))).join(' | ')} |`;
    const out: string[] = [];
    out.push(
      `\nskopeo 1.9.3 copying ${(sizes.reduce((a, b) => a + b, 0) / MiB).toFixed(0)} MiB in ${LAYERS} layers, median of ${ROUNDS} rounds (MiB/s)\n`,
    );
    out.push(line(['', 'push MiB/s', 'pull MiB/s']));
    out.push(line(['-'.repeat(24), '-'.repeat(12), '-'.repeat(12)]));
    for (const k of Object.keys(rows))
      out.push(line([k, rows[k]!.push.length ? med(k, 'push').toFixed(1) : '-', med(k, 'pull').toFixed(1)]));
    const pushRatio = med('glance-bridge', 'push') / med('Glance direct, parallel', 'push');
    const pushRatioSeq = med('glance-bridge', 'push') / med('Glance direct, 1 at a time', 'push');
    const pullRatio = med('glance-bridge', 'pull') / med('docker-registry 2.8.2', 'pull');
    const goals = [
      [
        `push >= 0.8x direct Glance upload (all layers at once)`,
        `${pushRatio.toFixed(2)}x (${pushRatioSeq.toFixed(2)}x of one layer at a time)`,
        pushRatio >= 0.8,
      ],
      [`pull >= docker-registry pull`, `${pullRatio.toFixed(2)}x`, pullRatio >= 1],
      [`second push sends 0 bytes to Glance`, `${secondPushBytes} bytes`, secondPushBytes === 0],
      [
        `RSS <= 150 MiB moving ${BIG_MB} MiB`,
        `push peak ${bigPush.peak.toFixed(0)} MiB, pull peak ${bigPull.peak.toFixed(0)} MiB (idle ${idle.toFixed(0)})`,
        Math.max(bigPush.peak, bigPull.peak) <= 150,
      ],
    ] as const;
    out.push(
      `\nload average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (2 cores shared with other jobs)`,
    );
    out.push('\ngoals:');
    for (const [what, value, ok] of goals) out.push(`  ${ok ? 'MET   ' : 'MISSED'} ${what}: ${value}`);
    out.push(
      `  (pull with the cache off, every byte from Glance: ${(med('glance-bridge, cache off', 'pull') / med('docker-registry 2.8.2', 'pull')).toFixed(2)}x docker-registry)`,
    );
    out.push(
      `  (${BIG_MB} MiB layer through the bridge: push ${(BIG_MB / bigPush.value).toFixed(1)} MiB/s, pull ${(BIG_MB / bigPull.value).toFixed(1)} MiB/s)`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
    Object.assign(result, {
      rows,
      secondPushBytes,
      rss: { idle, push: bigPush.peak, pull: bigPull.peak },
      big: { push: bigPush.value, pull: bigPull.value },
    });
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(result, null, 2));
  } catch (e) {
    failed = true;
    for (const name of ['bridge', 'docker-registry']) {
      const log = join(work, `${name}.log`);
      if (statSync(log, { throwIfNoEntry: false })) {
        process.stderr.write(
          `--- last lines of ${name}.log ---\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}\n`,
        );
      }
    }
    throw e;
  } finally {
    // leave nothing in Glance: the bridge's GC with no grace, then anything left in its namespace
    await stop(bridge);
    await stop(noCache);
    await stop(registry);
    if (statSync(bridgeConf, { throwIfNoEntry: false })) {
      await exec('node', [
        join(ROOT, 'glance-bridge/dist/cli/main.js'),
        '--config-file',
        bridgeConf,
        'gc',
        '--grace-period',
        '0',
      ]).catch(() => undefined);
    }
    const admin = new GlanceClient(ks.session, { interface: 'public' });
    for (const img of await admin
      .listImages({ os_hidden: true, properties: { berth_store_namespace: namespace } })
      .catch(() => [])) {
      await admin.deleteImage(img.id).catch(() => undefined);
    }
    if (!failed) rmSync(work, { recursive: true, force: true });
    await ks.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
