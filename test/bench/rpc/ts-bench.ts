// TypeScript side of the RPC benchmark (@berth/oslo-rpc). Mirrors py_bench.py:
//   node ts-bench.js server --url amqp://... --topic T      prints "ready", serves until stdin closes
//   node ts-bench.js client --url ... --concurrency N --duration S --latency-calls K   prints one JSON line
import { getTransport, RpcClient, RpcServer } from '@berth/oslo-rpc';

const PAYLOAD = 'x'.repeat(256);

export interface BenchResult {
  impl: string;
  latency: { calls: number; p50: number; p99: number; mean: number };
  throughput: {
    concurrency: number;
    seconds: number;
    calls: number;
    callsPerSecond: number;
    p50: number;
    p99: number;
  };
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

/** Nearest-rank percentile, same as py_bench.py. */
function pct(sorted: number[], p: number): number {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * sorted.length + 0.5) - 1));
  return sorted[k] as number;
}

async function serve(url: string, topic: string): Promise<void> {
  const transport = getTransport({ url, controlExchange: 'berth-bench' });
  const server = new RpcServer(transport, { topic, server: 'bench' }, [
    { version: '1.0', methods: { echo: (_c, a) => ({ i: a.i, data: a.data }) } },
  ]);
  await server.start(30);
  process.stdout.write('ready\n');
  process.stdin.resume();
  await new Promise((r) => process.stdin.once('end', r));
  await server.stop(5);
  await transport.close();
}

async function client(url: string, topic: string): Promise<void> {
  const concurrency = Number(arg('concurrency', '32'));
  const duration = Number(arg('duration', '10'));
  const latencyCalls = Number(arg('latency-calls', '2000'));
  const transport = getTransport({ url, controlExchange: 'berth-bench' });
  const c = new RpcClient(transport, { topic, server: 'bench', version: '1.0' }, { timeout: 30 });
  const ctxt = { request_id: 'req-bench', user_id: 'u', project_id: 'p' };

  const one = async (i: number): Promise<number> => {
    const t0 = performance.now();
    const r = (await c.call(ctxt, 'echo', { i, data: PAYLOAD })) as { i: number };
    const dt = performance.now() - t0;
    if (r.i !== i) throw new Error('wrong reply');
    return dt;
  };

  for (let i = 0; i < 1000; i++) await one(i); // warm-up: connection, reply queue, V8 JIT tiers
  const lat: number[] = [];
  for (let i = 0; i < latencyCalls; i++) lat.push(await one(i));
  lat.sort((a, b) => a - b);

  const stopAt = performance.now() + duration * 1000;
  const loaded: number[] = [];
  let calls = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      let i = 0;
      while (performance.now() < stopAt) {
        loaded.push(await one(i++));
        calls++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  loaded.sort((a, b) => a - b);
  const result: BenchResult = {
    impl: 'typescript',
    latency: {
      calls: lat.length,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      mean: lat.reduce((a, b) => a + b, 0) / lat.length,
    },
    throughput: {
      concurrency,
      seconds,
      calls,
      callsPerSecond: calls / seconds,
      p50: pct(loaded, 50),
      p99: pct(loaded, 99),
    },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await transport.close();
}

if (require.main === module) {
  const mode = process.argv[2];
  const url = arg('url', 'amqp://guest:guest@127.0.0.1:5672/');
  const topic = arg('topic', 'bench-ts');
  (mode === 'server' ? serve(url, topic) : client(url, topic)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
