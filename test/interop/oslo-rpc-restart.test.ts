// A real RabbitMQ restart in the middle of traffic between @berth/oslo-rpc
// and Python oslo.messaging: calls in flight may fail (ours with a clear
// ConnectionLost), and afterwards both sides have reconnected, redeclared
// their queues (server, fanout and reply queues vanish with the broker) and
// serve calls, casts and fanouts again in both directions.
import { ConnectionLost, getTransport, RpcClient, RpcServer, type Transport } from '@berth/oslo-rpc';
import { RabbitBroker } from '../support/rabbit-broker';
import { PythonPeer, type PeerAnswer } from './python/peer-process';

jest.setTimeout(120_000);

describe('oslo.messaging interop across a broker restart', () => {
  let broker: RabbitBroker;
  let py: PythonPeer;
  let transport: Transport;
  let server: RpcServer;
  let client: RpcClient;
  const casts: string[] = [];

  beforeAll(async () => {
    broker = await RabbitBroker.start();
    // quick reconnects so the test is short: 0.5 s, then +0.5 s per attempt, at most 2 s apart
    transport = getTransport({
      url: broker.url,
      controlExchange: 'nova',
      retryInterval: 0.5,
      retryBackoff: 0.5,
      intervalMax: 2,
    });
    server = new RpcServer(transport, { topic: 'berth-ts', server: 'ts-host' }, [
      {
        methods: {
          add: (_c, a) => Number(a.a) + Number(a.b),
          record: (_c, a) => void casts.push(String(a.tag)),
          sleep: async (_c, a) => {
            await new Promise((r) => setTimeout(r, Number(a.seconds) * 1000));
            return 'slept';
          },
        },
      },
    ]);
    client = new RpcClient(transport, { topic: 'berth-py', server: 'py-host' }, { timeout: 10 });
    [py] = await Promise.all([PythonPeer.start(broker.transportUrl), server.start(30)]);
    await py.serve('berth-py', 'py-host');
  });

  afterAll(async () => {
    await py?.stop();
    await server?.stop(5);
    await transport?.close();
    await broker?.stop();
  });

  it('both directions work before the restart', async () => {
    await expect(client.call({}, 'add', { a: 1, b: 2 })).resolves.toBe(3);
    expect((await py.call({ topic: 'berth-ts', server: 'ts-host' }, 'add', { a: 2, b: 2 })).result).toBe(4);
  });

  it('calls in flight fail with a clear error; afterwards both sides keep working', async () => {
    const tsInFlight = client.call({}, 'sleep', { seconds: 3 }).catch((e: unknown) => e);
    const pyInFlight = py.call(
      { topic: 'berth-ts', server: 'ts-host' },
      'sleep',
      { seconds: 3 },
      { timeout: 15 },
    );
    await new Promise((r) => setTimeout(r, 500));

    const t0 = Date.now();
    await broker.restart();
    const restartMs = Date.now() - t0;

    const tsErr = await tsInFlight;
    expect(tsErr).toBeInstanceOf(ConnectionLost);
    expect(String((tsErr as Error).message)).toMatch(/lost while waiting for the reply to sleep/);
    // Python's view of its in-flight call: the reply queue died with the broker, so it times out
    // (or, if the TS reply races the reconnect just right, succeeds); either way it settles.
    const pyAnswer: PeerAnswer = await pyInFlight;
    expect(pyAnswer.ok ? 'ok' : pyAnswer.error?.class).toMatch(/^(ok|MessagingTimeout)$/);

    // Later calls work in both directions once each side has reconnected and redeclared.
    const tsAfter = await retry(() => client.prepare({ timeout: 2 }).call({}, 'add', { a: 5, b: 5 }));
    const pyAfter = await retry(async () => {
      const a = await py.call(
        { topic: 'berth-ts', server: 'ts-host' },
        'add',
        { a: 6, b: 6 },
        { timeout: 2 },
      );
      if (!a.ok) throw new Error(JSON.stringify(a.error));
      return a.result;
    });
    expect(tsAfter).toBe(10);
    expect(pyAfter).toBe(12);
    console.log(
      `broker restart took ${restartMs} ms; both sides serving again ${Date.now() - t0} ms after it began; ` +
        `Python's in-flight call ended with ${pyAnswer.ok ? 'a result' : pyAnswer.error?.class}`,
    );

    // steady again: a burst of calls, casts and fanouts, both ways
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.call({}, 'add', { a: i, b: 1 })),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await client.cast({}, 'record', { tag: 'after-cast' });
    await client.prepare({ fanout: true, server: null }).cast({}, 'record', { tag: 'after-fanout' });
    await py.waitEvent((e) => e.args?.tag === 'after-cast');
    await py.waitEvent((e) => e.args?.tag === 'after-fanout');
    await py.cast({ topic: 'berth-ts', server: 'ts-host' }, 'record', { tag: 'py-after-cast' });
    await py.cast({ topic: 'berth-ts', fanout: true }, 'record', { tag: 'py-after-fanout' });
    await until(() => casts.includes('py-after-cast') && casts.includes('py-after-fanout'));
  });
});

async function retry<T>(fn: () => Promise<T>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() - t0 > ms) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
