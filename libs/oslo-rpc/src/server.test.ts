import sinon from 'sinon';
import capture from './__fixtures__/oslo-wire-capture.json';
import { fakeTransport, flush, until } from './__tests__/harness';
import type { FakeBroker, FakeChannel } from './__tests__/fake-amqp';
import type { Endpoint } from './dispatcher';
import { OsloError } from './errors';
import { RpcServer } from './server';
import type { Transport } from './transport';
import { deserializeMsg, serializeMsg } from './wire';

const REPLY_Q = 'reply_0123456789abcdef0123456789abcdef';
let seq = 0;

/** A request as a Python client would send it. */
function request(method: string, extra: Record<string, unknown> = {}, call = true): Buffer {
  seq++;
  return serializeMsg({
    method,
    args: {},
    version: '1.0',
    ...(call ? { _msg_id: `msg${seq}`, _reply_q: REPLY_Q, _timeout: null } : {}),
    _unique_id: `uniq${seq}`,
    _context_request_id: 'req-1',
    _context_auth_token: 'SECRET-TOKEN',
    ...extra,
  });
}

function repliesFor(broker: FakeBroker, msgId?: string) {
  return broker
    .find((p) => p.exchange === '' && p.routingKey === REPLY_Q)
    .map((p) => p.inner)
    .filter((r) => msgId === undefined || r._msg_id === msgId);
}

function failureOf(reply: Record<string, unknown> | undefined): Record<string, unknown> {
  return JSON.parse(String(reply?.failure)) as Record<string, unknown>;
}

describe('RpcServer', () => {
  let broker: FakeBroker;
  let transport: Transport;
  let lines: ReturnType<typeof fakeTransport>['lines'];
  let server: RpcServer;
  let clock: sinon.SinonFakeTimers | undefined;

  async function startServer(endpoints: Endpoint[], opts = {}) {
    ({ broker, transport, lines } = fakeTransport());
    broker.declareQueue(REPLY_Q);
    server = new RpcServer(transport, { topic: 'compute', server: 'host1' }, endpoints, opts);
    await server.start();
  }

  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await server?.stop(1);
    await transport?.close();
  });

  it('declares its exchanges, queues and bindings exactly as oslo does', async () => {
    await startServer([{ methods: {} }]);
    const ch = broker.connections[0]?.channels[0] as FakeChannel;
    expect(ch.assertExchange.args).toEqual([
      ['nova', 'topic', { durable: false, autoDelete: false }],
      ['nova', 'topic', { durable: false, autoDelete: false }],
      ['compute_fanout', 'fanout', { durable: false, autoDelete: true }],
    ]);
    const fanoutQ = server.queues[2] as string;
    expect(fanoutQ).toMatch(/^compute_fanout_[0-9a-f]{32}$/);
    expect(ch.assertQueue.args).toEqual([
      ['compute', { durable: false, autoDelete: false, exclusive: false, arguments: {} }],
      ['compute.host1', { durable: false, autoDelete: false, exclusive: false, arguments: {} }],
      [fanoutQ, { durable: false, autoDelete: false, exclusive: false, arguments: { 'x-expires': 1800000 } }],
    ]);
    expect(ch.bindQueue.args).toEqual([
      ['compute', 'nova', 'compute'],
      ['compute.host1', 'nova', 'compute.host1'],
      [fanoutQ, 'compute_fanout', 'compute'],
    ]);
  });

  it('answers a call captured from real oslo with {result, failure, ending, _msg_id, _unique_id}', async () => {
    const spawn = sinon.spy((_ctx: unknown, args: Record<string, unknown>, _info: unknown) => ({
      ok: args.instance_uuid,
    }));
    await startServer([{ methods: { spawn } }]);
    const frame = (capture as { body: string }[]).find((f) => deserializeMsg(f.body).method === 'spawn');
    const inner = deserializeMsg(String(frame?.body));
    broker.inject('nova', 'compute.host1', serializeMsg({ ...inner, _reply_q: REPLY_Q, _timeout: null }));
    await until(() => repliesFor(broker).length === 1, 'reply');
    const [reply] = repliesFor(broker);
    expect(Object.keys(reply as object)).toEqual(['result', 'failure', 'ending', '_msg_id', '_unique_id']);
    expect(reply).toMatchObject({
      result: { ok: 'uuid-1' },
      failure: null,
      ending: true,
      _msg_id: inner._msg_id,
    });
    expect(spawn.firstCall.args[0]).toMatchObject({
      request_id: 'req-1',
      user_id: 'u1',
      auth_token: 'SECRET-TOKEN',
    });
    expect(spawn.firstCall.args[2]).toMatchObject({ method: 'spawn', version: '1.0', msgId: inner._msg_id });
    const published = broker.find((p) => p.routingKey === REPLY_Q)[0];
    expect(published?.options).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      priority: 0,
      mandatory: true,
    });
  });

  it('start() fails cleanly when the broker refuses a declaration (406), leaving nothing half-consuming', async () => {
    ({ broker, transport, lines } = fakeTransport());
    await transport.waitConnected();
    // someone declared compute.host1 with other arguments
    broker.queues.set('compute.host1', {
      name: 'compute.host1',
      durable: true,
      autoDelete: false,
      args: {},
      messages: [],
      consumers: [],
      rr: 0,
    });
    server = new RpcServer(transport, { topic: 'compute', server: 'host1' }, [{ methods: {} }]);
    await expect(server.start()).rejects.toThrow('PRECONDITION_FAILED');
    expect(broker.queues.get('compute')?.consumers ?? []).toHaveLength(0);
    expect(lines.some((l) => l.msg === 'cannot start consumer')).toBe(true);
    // the transport keeps working for everything else
    broker.queues.delete('compute.host1');
    server = new RpcServer(transport, { topic: 'compute', server: 'host1' }, [
      { methods: { ping: () => 'pong' } },
    ]);
    await server.start();
    broker.declareQueue(REPLY_Q);
    broker.inject('nova', 'compute.host1', request('ping'));
    await until(() => repliesFor(broker).length === 1, 'reply');
  });

  it('consumes the topic queue and the fanout queue too', async () => {
    const record = sinon.spy();
    await startServer([{ methods: { record } }]);
    broker.inject('nova', 'compute', request('record', {}, false));
    broker.inject('compute_fanout', '', request('record', {}, false));
    await until(() => record.callCount === 2, 'two casts');
    expect(repliesFor(broker)).toEqual([]);
  });

  it('acks a request on receipt, before the handler runs', async () => {
    let ackedBefore = false;
    await startServer([
      {
        methods: {
          work: () => {
            const ch = broker.connections[0]?.channels[0] as FakeChannel;
            ackedBefore = ch.ack.calledOnce;
          },
        },
      },
    ]);
    broker.inject('nova', 'compute', request('work'));
    await until(() => repliesFor(broker).length === 1, 'reply');
    expect(ackedBefore).toBe(true);
  });

  it('drops a duplicate _unique_id', async () => {
    const work = sinon.spy();
    await startServer([{ methods: { work } }]);
    const body = request('work');
    broker.inject('nova', 'compute', body);
    broker.inject('nova', 'compute', body);
    await until(() => repliesFor(broker).length === 1, 'reply');
    await flush(50);
    expect(work.callCount).toBe(1);
    expect(lines.some((l) => l.msg === 'ignoring duplicate message')).toBe(true);
  });

  it('runs async handlers and serializes thrown OsloErrors for Python to rebuild', async () => {
    await startServer([
      {
        methods: {
          get_info: async (_c, args) => {
            await flush(2);
            throw new OsloError({
              className: 'InstanceNotFound',
              module: 'nova.exception',
              message: `Instance ${String(args.instance_id)} could not be found.`,
              kwargs: { instance_id: args.instance_id, code: 404 },
            });
          },
          crash: () => {
            throw new TypeError('boom');
          },
          big: () => BigInt(1),
        },
      },
    ]);
    broker.inject('nova', 'compute', request('get_info', { args: { instance_id: 'i-1' } }));
    broker.inject('nova', 'compute', request('crash'));
    broker.inject('nova', 'compute', request('big'));
    await until(() => repliesFor(broker).length === 3, 'replies');
    const byMethod = (n: number) => failureOf(repliesFor(broker, `msg${seq - 3 + n}`)[0]);
    const [nf, crash, big] = [byMethod(1), byMethod(2), byMethod(3)];
    expect(nf).toMatchObject({
      class: 'InstanceNotFound',
      module: 'nova.exception',
      message: 'Instance i-1 could not be found.',
      args: ['Instance i-1 could not be found.'],
      kwargs: { instance_id: 'i-1', code: 404 },
    });
    expect(crash).toMatchObject({ class: 'TypeError', module: 'berth.oslo_rpc', message: 'boom' });
    expect(big).toMatchObject({ class: 'TypeError', module: 'builtins' });
    expect(repliesFor(broker).every((r) => r.result === null && r.ending === true)).toBe(true);
  });

  describe('malformed input never crashes the server', () => {
    it('calls get a failure reply; casts are logged and dropped; the server keeps serving', async () => {
      const ping = sinon.spy(() => 'pong');
      await startServer([{ version: '1.2', methods: { ping } }]);
      broker.inject('nova', 'compute', 'this is not json');
      broker.inject('nova', 'compute', '{"oslo.version":"2.0","oslo.message":"{broken"}');
      broker.inject('nova', 'compute', '[1,2,3]');
      broker.inject('nova', 'compute', request('frobnicate'));
      broker.inject('nova', 'compute', request('ping', { version: '2.0' }));
      broker.inject('nova', 'compute', request('ping', { version: 'banana' }));
      broker.inject('nova', 'compute', request('ping', { args: [1] }));
      broker.inject('nova', 'compute', request('ping', { method: 42 }));
      broker.inject('nova', 'compute', request('ping', { namespace: 'nope' }));
      broker.inject('nova', 'compute', request('frobnicate', {}, false)); // cast
      broker.inject('nova', 'compute', request('ping', { method: undefined }, false)); // cast, no method
      await until(() => repliesFor(broker).length === 6, 'six failure replies');
      const failures = repliesFor(broker).map(failureOf);
      expect(failures.map((f) => `${String(f.module)}.${String(f.class)}`)).toEqual([
        'oslo_messaging.rpc.dispatcher.NoSuchMethod',
        'oslo_messaging.rpc.dispatcher.UnsupportedVersion',
        'oslo_messaging.rpc.dispatcher.UnsupportedVersion',
        'builtins.ValueError',
        'builtins.ValueError',
        'oslo_messaging.rpc.dispatcher.UnsupportedVersion',
      ]);
      expect(failures[0]?.message).toBe('Endpoint does not support RPC method frobnicate');
      expect(failures[1]?.message).toBe('Endpoint does not support RPC version 2.0. Attempted method: ping');
      expect(lines.filter((l) => l.msg === 'dropping malformed message')).toHaveLength(3);
      // still alive
      broker.inject('nova', 'compute', request('ping'));
      await until(() => repliesFor(broker).length === 7, 'good reply');
      expect(repliesFor(broker)[6]).toMatchObject({ result: 'pong', failure: null });
    });
  });

  it('never logs the auth token, even at debug level', async () => {
    await startServer([{ methods: { ping: () => 'pong', fail: () => Promise.reject(new Error('x')) } }]);
    broker.inject('nova', 'compute', request('ping'));
    broker.inject('nova', 'compute', request('fail'));
    broker.inject('nova', 'compute', request('nope', {}, false));
    await until(() => repliesFor(broker).length === 2, 'replies');
    await flush(20);
    expect(lines.some((l) => l.level === 'debug' && l.msg === 'RPC call received')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('SECRET-TOKEN');
  });

  describe('call-monitor heartbeats', () => {
    it('sends ending:false every _timeout/2 s while the handler runs, then the reply', async () => {
      clock = sinon.useFakeTimers({
        toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      });
      let finish!: (v: string) => void;
      await startServer([{ methods: { slow: () => new Promise((r) => (finish = r)) } }]);
      broker.inject('nova', 'compute', request('slow', { _timeout: 4 }));
      await until(() => typeof finish === 'function', 'handler start');
      await clock.tickAsync(1999);
      expect(repliesFor(broker)).toHaveLength(0);
      await clock.tickAsync(1);
      await clock.tickAsync(4000);
      const beats = repliesFor(broker);
      expect(beats).toHaveLength(3);
      for (const b of beats) expect(b).toMatchObject({ result: null, failure: null, ending: false });
      expect(new Set(beats.map((b) => b._unique_id)).size).toBe(3);
      finish('done');
      await until(() => repliesFor(broker).length === 4, 'final reply');
      expect(repliesFor(broker)[3]).toMatchObject({ result: 'done', ending: true });
      await clock.tickAsync(10_000);
      expect(repliesFor(broker)).toHaveLength(4); // no beats after the reply
    });

    it('does not heartbeat for a _timeout below 2 s or a non-integer string (oslo warns)', async () => {
      clock = sinon.useFakeTimers({
        toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      });
      let finish!: () => void;
      await startServer([{ methods: { slow: () => new Promise<void>((r) => (finish = r)) } }]);
      broker.inject('nova', 'compute', request('slow', { _timeout: 1 }));
      await until(() => typeof finish === 'function', 'handler start');
      await clock.tickAsync(5000);
      expect(repliesFor(broker)).toHaveLength(0);
      expect(lines.some((l) => l.msg === 'client provided an invalid timeout value')).toBe(true);
      finish();
      await until(() => repliesFor(broker).length === 1, 'reply');
    });

    it('truncates a float _timeout like int(): 5.9 -> every 2.5 s', async () => {
      clock = sinon.useFakeTimers({
        toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      });
      let finish!: () => void;
      await startServer([{ methods: { slow: () => new Promise<void>((r) => (finish = r)) } }]);
      broker.inject('nova', 'compute', request('slow', { _timeout: 5.9 }));
      await until(() => typeof finish === 'function', 'handler start');
      await clock.tickAsync(5000);
      expect(repliesFor(broker)).toHaveLength(2);
      finish();
    });
  });

  it('limits concurrent handlers and queues the rest', async () => {
    const releases: (() => void)[] = [];
    await startServer([{ methods: { hold: () => new Promise<void>((r) => releases.push(r)) } }], {
      maxConcurrency: 2,
    });
    for (let i = 0; i < 3; i++) broker.inject('nova', 'compute', request('hold'));
    await until(() => releases.length === 2, 'two running');
    await flush(50);
    expect(releases).toHaveLength(2);
    releases[0]?.();
    await until(() => releases.length === 3, 'third starts');
    releases[1]?.();
    releases[2]?.();
    await until(() => repliesFor(broker).length === 3, 'replies');
  });

  it('stop() cancels the consumers, waits for running handlers and lets them reply', async () => {
    let finish!: () => void;
    await startServer([{ methods: { slow: () => new Promise<void>((r) => (finish = r)) } }]);
    broker.inject('nova', 'compute', request('slow'));
    await until(() => typeof finish === 'function', 'handler start');
    let stopped = false;
    const fanoutQ = server.queues[2];
    const stopping = server.stop().then(() => (stopped = true));
    await flush(50);
    const ch = broker.connections[0]?.channels[0] as FakeChannel;
    expect(ch.cancel.callCount).toBe(3);
    // the per-process fanout queue is deleted, as oslo's Connection.close does; shared queues stay
    expect(ch.deleteQueue.args).toEqual([[fanoutQ]]);
    expect(broker.queues.has('compute')).toBe(true);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(repliesFor(broker)).toHaveLength(1);
    // nothing consumed any more
    broker.inject('nova', 'compute', request('slow'));
    await flush(50);
    expect(broker.queues.get('compute')?.messages).toHaveLength(1);
  });
});
