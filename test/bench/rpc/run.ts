// RPC benchmark: @berth/oslo-rpc (TS client -> TS server) against
// oslo.messaging 14 (Python client -> Python server), same private RabbitMQ
// node, same run, same payload and method. Each side runs its server and its
// client as separate processes. Prints latency (sequential calls) and
// throughput (N concurrent callers over one connection) side by side.
//
//   npx tsc -b test/bench/rpc && node test/bench/rpc/dist/bench/rpc/run.js [--concurrency 32] [--duration 10]
//       [--latency-calls 5000] [--rounds 3] [--url amqp://guest:guest@127.0.0.1:5672/] [--json out.json]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RabbitBroker } from '../../support/rabbit-broker';
import type { BenchResult } from './ts-bench';

const PYTHON = '/usr/bin/python3';
const SRC_DIR = join(__dirname, '..', '..', '..'); // dist/bench/rpc -> test/bench/rpc

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

interface Side {
  label: string;
  server: [string, string[]];
  client: [string, string[]];
}

interface RunningServer {
  stop(): Promise<void>;
}

/** Start a side's server process and wait for its "ready" line. */
async function startServer(side: Side): Promise<RunningServer> {
  const server = spawn(side.server[0], side.server[1], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: server.stdout });
    rl.on('line', (l) => l.trim() === 'ready' && resolve());
    server.once('exit', (code) => reject(new Error(`${side.label} server exited ${code}`)));
  });
  return {
    async stop() {
      server.stdin.end(); // servers stop when their stdin closes
      const t = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** One client run: a fresh process, one JSON line of results. */
async function runClient(side: Side): Promise<BenchResult> {
  const out = await new Promise<string>((resolve, reject) => {
    const client = spawn(side.client[0], side.client[1], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    client.stdout.on('data', (b: Buffer) => (buf += b.toString()));
    client.once('exit', (code) =>
      code === 0 ? resolve(buf) : reject(new Error(`${side.label} client exited ${code}`)),
    );
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '') as BenchResult;
}

/** Per-metric median over rounds: on a shared 2-core box one round can catch a noisy neighbour. */
function median(results: BenchResult[]): BenchResult {
  const med = (f: (r: BenchResult) => number) => {
    const v = results.map(f).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)] as number;
  };
  const first = results[0] as BenchResult;
  return {
    impl: first.impl,
    latency: {
      calls: first.latency.calls,
      p50: med((r) => r.latency.p50),
      p99: med((r) => r.latency.p99),
      mean: med((r) => r.latency.mean),
    },
    throughput: {
      concurrency: first.throughput.concurrency,
      seconds: med((r) => r.throughput.seconds),
      calls: med((r) => r.throughput.calls),
      callsPerSecond: med((r) => r.throughput.callsPerSecond),
      p50: med((r) => r.throughput.p50),
      p99: med((r) => r.throughput.p99),
    },
  };
}

function table(py: BenchResult, ts: BenchResult): string {
  const f = (n: number, d = 2) => n.toFixed(d);
  const rows: [string, string, string, string][] = [
    ['metric', 'oslo.messaging 14 (Python)', '@berth/oslo-rpc (TS)', 'TS vs Python'],
    [
      `latency p50, 1 caller (ms)`,
      f(py.latency.p50),
      f(ts.latency.p50),
      `${f(py.latency.p50 / ts.latency.p50)}x faster`,
    ],
    [
      `latency p99, 1 caller (ms)`,
      f(py.latency.p99),
      f(ts.latency.p99),
      `${f(py.latency.p99 / ts.latency.p99)}x faster`,
    ],
    [
      `latency mean, 1 caller (ms)`,
      f(py.latency.mean),
      f(ts.latency.mean),
      `${f(py.latency.mean / ts.latency.mean)}x faster`,
    ],
    [
      `throughput, ${ts.throughput.concurrency} callers (calls/s)`,
      f(py.throughput.callsPerSecond, 0),
      f(ts.throughput.callsPerSecond, 0),
      `${f(ts.throughput.callsPerSecond / py.throughput.callsPerSecond)}x`,
    ],
    [`latency p50 under load (ms)`, f(py.throughput.p50), f(ts.throughput.p50), ''],
    [`latency p99 under load (ms)`, f(py.throughput.p99), f(ts.throughput.p99), ''],
  ];
  const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i] as number)).join(' | ')} |`;
  return [
    line(rows[0] as string[]),
    `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

async function main(): Promise<void> {
  const concurrency = arg('concurrency', '32');
  const duration = arg('duration', '10');
  const latencyCalls = arg('latency-calls', '5000');
  const rounds = Number(arg('rounds', '3'));
  const external = arg('url', '');
  const broker = external ? null : await RabbitBroker.start();
  const amqpUrl = external || (broker as RabbitBroker).url;
  const osloUrl = amqpUrl.replace(/^amqp:/, 'rabbit:');
  const load = ['--concurrency', concurrency, '--duration', duration, '--latency-calls', latencyCalls];
  try {
    console.log(
      `broker: ${broker ? `private node ${broker.nodeName}` : amqpUrl}; ${rounds} rounds (median shown); ` +
        `latency: ${latencyCalls} sequential calls; throughput: ${concurrency} callers for ${duration} s\n`,
    );
    const tsScript = join(__dirname, 'ts-bench.js');
    const pyScript = join(SRC_DIR, 'py_bench.py');
    const tsSide: Side = {
      label: 'typescript',
      server: [process.execPath, [tsScript, 'server', '--url', amqpUrl, '--topic', 'bench-ts']],
      client: [process.execPath, [tsScript, 'client', '--url', amqpUrl, '--topic', 'bench-ts', ...load]],
    };
    const pySide: Side = {
      label: 'python',
      server: [PYTHON, [pyScript, 'server', '--url', osloUrl, '--topic', 'bench-py']],
      client: [PYTHON, [pyScript, 'client', '--url', osloUrl, '--topic', 'bench-py', ...load]],
    };
    const servers = await Promise.all([startServer(tsSide), startServer(pySide)]);
    const tsRuns: BenchResult[] = [];
    const pyRuns: BenchResult[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        // alternate who goes first, so a slow patch on the box hits both sides alike
        const order = r % 2 === 0 ? [tsSide, pySide] : [pySide, tsSide];
        for (const side of order) {
          const res = await runClient(side);
          (side === tsSide ? tsRuns : pyRuns).push(res);
          console.error(
            `round ${r + 1} ${side.label}: p50 ${res.latency.p50.toFixed(2)} ms, p99 ${res.latency.p99.toFixed(2)} ms, ` +
              `${res.throughput.callsPerSecond.toFixed(0)} calls/s`,
          );
        }
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
    const ts = median(tsRuns);
    const py = median(pyRuns);
    console.log(table(py, ts));
    const latencyOk = ts.latency.p50 <= py.latency.p50 && ts.latency.p99 <= py.latency.p99;
    const throughputOk = ts.throughput.callsPerSecond >= 2 * py.throughput.callsPerSecond;
    console.log(`\ngoal: TS latency no worse than Python's: ${latencyOk ? 'met' : 'NOT met'}`);
    console.log(`goal: TS throughput >= 2x Python's: ${throughputOk ? 'met' : 'NOT met'}`);
    const json = arg('json', '');
    if (json) {
      writeFileSync(
        json,
        `${JSON.stringify({ python: py, typescript: ts, rounds: { python: pyRuns, typescript: tsRuns } }, null, 2)}\n`,
      );
    }
  } finally {
    await broker?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
