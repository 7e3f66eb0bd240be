// @berth/oslo-rpc against the real thing: Debian's python3-oslo.messaging
// 14.0.3 (test/interop/python/peer.py) on a private RabbitMQ node, both
// directions: call, cast, fanout, remote exceptions rebuilt natively
// (berth_interop_exc.DemoNotFound, nova.exception.InstanceNotFound),
// dispatcher errors, namespaces, call-monitor heartbeats, and identical
// queue/exchange declarations.
import {
  getTransport,
  MessagingTimeout,
  OsloError,
  RemoteError,
  RpcClient,
  RpcServer,
  type Endpoint,
  type Logger,
  type Transport,
} from '@berth/oslo-rpc';
import { RabbitBroker } from '../support/rabbit-broker';
import { PythonPeer } from './python/peer-process';

jest.setTimeout(60_000);

const PY_CTXT = {
  request_id: 'req-py-1',
  user_id: 'u-py',
  project_id: 'p-py',
  auth_token: 'SECRET-PY-TOKEN',
};
const TS_CTXT = {
  request_id: 'req-ts-1',
  user_id: 'u-ts',
  project_id: 'p-ts',
  auth_token: 'SECRET-TS-TOKEN',
};

const logLines: string[] = [];
const logger: Logger = {
  debug: (o, m) => logLines.push(`debug ${m} ${JSON.stringify(o)}`),
  info: (o, m) => logLines.push(`info ${m} ${JSON.stringify(o)}`),
  warn: (o, m) => logLines.push(`warn ${m} ${JSON.stringify(o)}`),
  error: (o, m) => logLines.push(`error ${m} ${JSON.stringify(o)}`),
};

interface Received {
  server: string;
  method: string;
  context: Record<string, unknown>;
  args: Record<string, unknown>;
}

function tsEndpoints(serverName: string, received: Received[]): Endpoint[] {
  const note = (method: string) => (context: Record<string, unknown>, args: Record<string, unknown>) => {
    received.push({ server: serverName, method, context, args });
  };
  return [
    {
      version: '1.3',
      methods: {
        echo: (context, args) => {
          note('echo')(context, args);
          return { args, ctxt: context, server: serverName };
        },
        add: (_c, args) => Number(args.a) + Number(args.b),
        record: note('record'),
        sleep: async (_c, args) => {
          await new Promise((r) => setTimeout(r, Number(args.seconds) * 1000));
          return `slept ${String(args.seconds)}`;
        },
        raise_demo: (_c, args) => {
          throw new OsloError({
            className: 'DemoNotFound',
            module: 'berth_interop_exc',
            message: `Demo ${String(args.name)} could not be found.`,
            kwargs: { name: args.name, code: 404 },
          });
        },
        raise_nova: (_c, args) => {
          throw new OsloError({
            className: 'InstanceNotFound',
            module: 'nova.exception',
            message: `Instance ${String(args.instance_id)} could not be found.`,
            kwargs: { instance_id: args.instance_id, code: 404 },
          });
        },
        raise_plain: () => {
          throw new Error('plain JS failure');
        },
      },
    },
    { namespace: 'berth_ns', version: '2.1', methods: { ns_echo: (_c, args) => ({ ns: 'berth_ns', args }) } },
  ];
}

describe('oslo.messaging interop', () => {
  let broker: RabbitBroker;
  let py: PythonPeer;
  let transport: Transport;
  let tsServer: RpcServer;
  let tsServer2: RpcServer;
  const received: Received[] = [];

  beforeAll(async () => {
    broker = await RabbitBroker.start();
    transport = getTransport({ url: broker.url, controlExchange: 'nova', logger });
    tsServer = new RpcServer(
      transport,
      { topic: 'berth-ts', server: 'ts-host' },
      tsEndpoints('ts-host', received),
    );
    tsServer2 = new RpcServer(
      transport,
      { topic: 'berth-ts', server: 'ts-host2' },
      tsEndpoints('ts-host2', received),
    );
    [py] = await Promise.all([
      PythonPeer.start(broker.transportUrl, { allowedExmods: ['berth_interop_exc', 'nova.exception'] }),
      tsServer.start(30),
      tsServer2.start(30),
    ]);
    await py.serve('berth-py', 'py-host');
  });

  afterAll(async () => {
    await py?.stop();
    await tsServer?.stop(5);
    await tsServer2?.stop(5);
    await transport?.close();
    await broker?.stop();
  });

  describe('Python client -> TypeScript server', () => {
    const target = { topic: 'berth-ts', server: 'ts-host', version: '1.0' };

    it('call: args and context arrive intact, the result comes back', async () => {
      const args = { n: 1, s: 'ünïcode ✓', list: [1, 'two', null], nested: { deep: { x: true } } };
      const a = await py.call(target, 'echo', args, { ctxt: PY_CTXT });
      expect(a.error).toBeUndefined();
      expect(a.result).toEqual({ args, ctxt: PY_CTXT, server: 'ts-host' });
      expect(received.find((r) => r.method === 'echo')?.context).toEqual(PY_CTXT);
    });

    it('call to the topic without a server is served by one of the servers', async () => {
      const a = await py.call({ topic: 'berth-ts' }, 'add', { a: 20, b: 22 });
      expect(a.result).toBe(42);
    });

    it('cast reaches the addressed server only', async () => {
      await py.cast(target, 'record', { tag: 'py-cast' }, PY_CTXT);
      await until(() => received.some((r) => r.args.tag === 'py-cast'));
      await new Promise((r) => setTimeout(r, 200));
      expect(received.filter((r) => r.args.tag === 'py-cast').map((r) => r.server)).toEqual(['ts-host']);
    });

    it('fanout cast reaches every server on the topic', async () => {
      await py.cast({ topic: 'berth-ts', fanout: true }, 'record', { tag: 'py-fanout' }, PY_CTXT);
      await until(() => received.filter((r) => r.args.tag === 'py-fanout').length === 2);
      expect(
        received
          .filter((r) => r.args.tag === 'py-fanout')
          .map((r) => r.server)
          .sort(),
      ).toEqual(['ts-host', 'ts-host2']);
    });

    it('an OsloError is re-raised in Python as the real class of an allowed module', async () => {
      const a = await py.call(target, 'raise_demo', { name: 'd1' });
      expect(a.ok).toBe(false);
      expect(a.error?.class).toBe('DemoNotFound_Remote');
      expect(a.error?.module).toBe('berth_interop_exc_Remote');
      expect(a.error?.mro).toContain('berth_interop_exc.DemoNotFound');
      expect(a.error?.str.split('\n')[0]).toBe('Demo d1 could not be found.');
      expect(a.error?.kwargs).toEqual({ name: 'd1', code: 404 });
    });

    it('nova.exception.InstanceNotFound is rebuilt natively by Nova-side Python', async () => {
      const a = await py.call(target, 'raise_nova', { instance_id: 'inst-9' });
      expect(a.error?.class).toBe('InstanceNotFound_Remote');
      expect(a.error?.mro).toContain('nova.exception.InstanceNotFound');
      expect(a.error?.mro).toContain('nova.exception.NotFound');
      expect(a.error?.str.split('\n')[0]).toBe('Instance inst-9 could not be found.');
      expect(a.error?.kwargs).toEqual({ instance_id: 'inst-9', code: 404 });
    });

    it('a plain JS error becomes oslo RemoteError carrying the JS class name', async () => {
      const a = await py.call(target, 'raise_plain');
      expect(a.error?.class).toBe('RemoteError');
      expect(a.error?.module).toBe('oslo_messaging.rpc.client');
      expect(a.error?.exc_type).toBe('Error');
      expect(a.error?.value).toBe('plain JS failure');
    });

    it('unknown method and unsupported version come back as oslo dispatcher errors', async () => {
      const nsm = await py.call(target, 'no_such_thing');
      expect(nsm.error).toMatchObject({ class: 'RemoteError', exc_type: 'NoSuchMethod' });
      expect(nsm.error?.value).toBe('Endpoint does not support RPC method no_such_thing');
      const uv = await py.call({ ...target, version: '1.4' }, 'echo');
      expect(uv.error).toMatchObject({ class: 'RemoteError', exc_type: 'UnsupportedVersion' });
      expect(uv.error?.value).toBe('Endpoint does not support RPC version 1.4. Attempted method: echo');
    });

    it('namespaced endpoint', async () => {
      const a = await py.call({ ...target, namespace: 'berth_ns', version: '2.0' }, 'ns_echo', { x: 1 });
      expect(a.result).toEqual({ ns: 'berth_ns', args: { x: 1 } });
    });

    it('without call monitoring a slow handler times out in Python', async () => {
      const a = await py.call(target, 'sleep', { seconds: 2 }, { timeout: 1 });
      expect(a.error?.class).toBe('MessagingTimeout');
    });
  });

  describe('TypeScript client -> Python server', () => {
    let client: RpcClient;
    beforeAll(() => {
      client = new RpcClient(
        transport,
        { topic: 'berth-py', server: 'py-host', version: '1.0' },
        { timeout: 30 },
      );
    });

    it('call: args and context arrive intact, the result comes back', async () => {
      const args = { n: 1, s: 'ünïcode ✓', list: [1, 'two', null], nested: { deep: { x: true } } };
      const r = (await client.call(TS_CTXT, 'echo', args)) as Record<string, unknown>;
      expect(r.args).toEqual(args);
      expect(r.server).toBe('py-host');
      // oslo's RpcContext leaves `client_timeout` (our null _timeout) in the dict it hands endpoints
      expect(r.ctxt).toEqual({ ...TS_CTXT, client_timeout: null });
    });

    it('call to the topic without a server', async () => {
      await expect(client.prepare({ server: null }).call({}, 'add', { a: 1, b: 2 })).resolves.toBe(3);
    });

    it('cast and fanout cast reach the Python server', async () => {
      await client.cast(TS_CTXT, 'record', { tag: 'ts-cast' });
      await client.prepare({ fanout: true, server: null }).cast(TS_CTXT, 'record', { tag: 'ts-fanout' });
      const cast = await py.waitEvent((e) => e.args?.tag === 'ts-cast');
      await py.waitEvent((e) => e.args?.tag === 'ts-fanout');
      expect(cast).toMatchObject({ method: 'record', server: 'py-host' });
      expect(cast.ctxt).toMatchObject(TS_CTXT);
    });

    it('Python exceptions arrive as RemoteError with exc_type, module and kwargs', async () => {
      const demo = (await client
        .call({}, 'raise_demo', { name: 'd2' })
        .catch((e: unknown) => e)) as RemoteError;
      expect(demo).toBeInstanceOf(RemoteError);
      expect(demo.excType).toBe('DemoNotFound');
      expect(demo.module).toBe('berth_interop_exc');
      expect(demo.value).toBe('Demo d2 could not be found.');
      expect(demo.kwargs).toEqual({ name: 'd2', code: 404 });
      expect(demo.traceback.join('')).toContain('raise berth_interop_exc.DemoNotFound');

      const nova = (await client
        .call({}, 'raise_nova', { instance_id: 'i-7' })
        .catch((e: unknown) => e)) as RemoteError;
      expect(nova.is('nova.exception', 'InstanceNotFound')).toBe(true);
      expect(nova.kwargs).toEqual({ instance_id: 'i-7', code: 404 });

      const ve = (await client
        .call({}, 'raise_value', { message: 'bad value' })
        .catch((e: unknown) => e)) as RemoteError;
      expect(ve.is('builtins', 'ValueError')).toBe(true);
      expect(ve.value).toBe('bad value');
    });

    it('Python dispatcher errors: NoSuchMethod, UnsupportedVersion', async () => {
      const nsm = (await client.call({}, 'nope').catch((e: unknown) => e)) as RemoteError;
      expect(nsm.is('oslo_messaging.rpc.dispatcher', 'NoSuchMethod')).toBe(true);
      expect(nsm.value).toBe('Endpoint does not support RPC method nope');
      const uv = (await client
        .prepare({ version: '1.9' })
        .call({}, 'echo')
        .catch((e: unknown) => e)) as RemoteError;
      expect(uv.is('oslo_messaging.rpc.dispatcher', 'UnsupportedVersion')).toBe(true);
    });

    it('namespaced endpoint', async () => {
      const r = await client.prepare({ namespace: 'berth_ns', version: '2.1' }).call({}, 'ns_echo', { y: 2 });
      expect(r).toEqual({ ns: 'berth_ns', args: { y: 2 } });
    });

    it('a slow Python handler past the timeout raises MessagingTimeout', async () => {
      const err = await client
        .prepare({ timeout: 1 })
        .call({}, 'sleep', { seconds: 2 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MessagingTimeout);
    });
  });

  it('5 s handlers under a 2 s call-monitor timeout succeed in both directions', async () => {
    const t0 = Date.now();
    const [fromPy, fromTs] = await Promise.all([
      py.call(
        { topic: 'berth-ts', server: 'ts-host' },
        'sleep',
        { seconds: 5 },
        { timeout: 30, callMonitorTimeout: 2 },
      ),
      new RpcClient(
        transport,
        { topic: 'berth-py', server: 'py-host' },
        { timeout: 30, callMonitorTimeout: 2 },
      ).call({}, 'sleep', { seconds: 5 }),
    ]);
    expect(fromPy.error).toBeUndefined();
    expect(fromPy.result).toBe('slept 5');
    expect(fromTs).toBe('slept 5');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(5000);
  });

  it('declares queues and exchanges exactly like oslo (same flags and arguments)', async () => {
    const queues = parseTable(
      await broker.rabbitmqctl('list_queues', '-q', 'name', 'durable', 'auto_delete', 'arguments'),
    );
    const exchanges = parseTable(
      await broker.rabbitmqctl('list_exchanges', '-q', 'name', 'type', 'durable', 'auto_delete'),
    );
    const q = (name: string) => queues.find((r) => r[0] === name)?.slice(1);
    const qLike = (re: RegExp) => queues.filter((r) => re.test(r[0] ?? '')).map((r) => r.slice(1));
    expect(q('berth-ts')).toEqual(q('berth-py'));
    expect(q('berth-ts.ts-host')).toEqual(q('berth-py.py-host'));
    expect(q('berth-ts')).toEqual(['false', 'false', '[]']);
    const fanouts = [...qLike(/^berth-ts_fanout_[0-9a-f]{32}$/), ...qLike(/^berth-py_fanout_[0-9a-f]{32}$/)];
    expect(fanouts).toHaveLength(3);
    for (const f of fanouts) expect(f).toEqual(['false', 'false', '[{"x-expires",1800000}]']);
    const replies = qLike(/^reply_[0-9a-f]{32}$/);
    expect(replies).toHaveLength(2); // one per process: ours and Python's
    expect(replies[0]).toEqual(replies[1]);
    const ex = (name: string) => exchanges.find((r) => r[0] === name)?.slice(1);
    expect(ex('nova')).toEqual(['topic', 'false', 'false']);
    expect(ex('berth-ts_fanout')).toEqual(ex('berth-py_fanout'));
    expect(ex('berth-ts_fanout')).toEqual(['fanout', 'false', 'true']);
  });

  it('never logged an auth token', () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toMatch(/SECRET-(PY|TS)-TOKEN/);
  });
});

function parseTable(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^(name|Timeout|Listing)/.test(l))
    .map((l) => l.split('\t'));
}

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
