import sinon from 'sinon';
import { fakeTransport, flush, until } from './__tests__/harness';
import type { FakeBroker, FakeChannel } from './__tests__/fake-amqp';
import { InvalidTarget, RpcClient, RpcVersionCapError } from './client';
import { ConnectionLost, MessageDeliveryFailure, MessagingTimeout, OsloError, RemoteError } from './errors';
import { RpcServer } from './server';
import type { Transport } from './transport';
import { serializeMsg } from './wire';

const CTX = { request_id: 'req-9', auth_token: 'tok' };

describe('RpcClient', () => {
  let broker: FakeBroker;
  let transport: Transport;
  let server: RpcServer | undefined;
  let clock: sinon.SinonFakeTimers | undefined;

  beforeEach(() => {
    ({ broker, transport } = fakeTransport({ retryInterval: 0.1, retryBackoff: 0.1 }));
  });

  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await server?.stop(1);
    server = undefined;
    await transport.close();
  });

  async function serve(
    methods: Record<string, (c: Record<string, unknown>, a: Record<string, unknown>) => unknown>,
  ) {
    server = new RpcServer(transport, { topic: 'berth', server: 'host1' }, [
      { version: '1.4', methods },
      { namespace: 'baseapi', version: '1.1', methods: { ping: () => 'baseapi-pong' } },
    ]);
    await server.start();
  }

  const requests = () => broker.find((p) => p.exchange !== '');

  it('calls a server and returns its result; the request looks like oslo’s', async () => {
    await serve({ add: (_c, a) => Number(a.a) + Number(a.b) });
    const client = new RpcClient(
      transport,
      { topic: 'berth', server: 'host1', version: '1.0' },
      { timeout: 30 },
    );
    await expect(client.call(CTX, 'add', { a: 2, b: 3 })).resolves.toBe(5);
    const [req] = requests();
    expect(req?.exchange).toBe('nova');
    expect(req?.routingKey).toBe('berth.host1');
    expect(req?.options).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      priority: 0,
      expiration: '30000',
      mandatory: false,
    });
    expect(req?.inner).toMatchObject({
      method: 'add',
      args: { a: 2, b: 3 },
      version: '1.0',
      _timeout: null,
      _context_request_id: 'req-9',
      _context_auth_token: 'tok',
    });
    expect(String(req?.inner._reply_q)).toMatch(/^reply_[0-9a-f]{32}$/);
    // the reply queue is declared like oslo's: default exchange, x-expires
    const ch = broker.connections[0]?.channels.find((c) => !c.confirm) as FakeChannel;
    expect(ch.assertQueue.args.find((a) => String(a[0]).startsWith('reply_'))?.[1]).toEqual({
      durable: false,
      autoDelete: false,
      exclusive: false,
      arguments: { 'x-expires': 1800000 },
    });
  });

  it('prepare() overrides target and options without touching the original', async () => {
    await serve({ echo: (_c, a) => a });
    const base = new RpcClient(transport, { topic: 'berth', version: '1.0' });
    const pinged = base.prepare({ namespace: 'baseapi', version: '1.1', server: 'host1', timeout: 5 });
    await expect(pinged.call({}, 'ping')).resolves.toBe('baseapi-pong');
    await expect(base.prepare({ version: '1.4' }).call({}, 'echo', { x: 1 })).resolves.toEqual({ x: 1 });
    const [first, second] = requests();
    expect(first?.inner).toMatchObject({ namespace: 'baseapi', version: '1.1' });
    expect(first?.routingKey).toBe('berth.host1');
    expect(first?.options.expiration).toBe('5000');
    expect(second?.routingKey).toBe('berth');
    expect(second?.inner).not.toHaveProperty('namespace');
    expect(base.target).toEqual({ topic: 'berth', version: '1.0' });
  });

  it('rebuilds a remote failure as RemoteError with exc_type, module, kwargs', async () => {
    await serve({
      get: (_c, a) => {
        throw new OsloError({
          className: 'InstanceNotFound',
          module: 'nova.exception',
          message: 'Instance x could not be found.',
          kwargs: { instance_id: a.id, code: 404 },
        });
      },
    });
    const client = new RpcClient(transport, { topic: 'berth' });
    const err = (await client.call({}, 'get', { id: 'x' }).catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.excType).toBe('InstanceNotFound');
    expect(err.module).toBe('nova.exception');
    expect(err.value).toBe('Instance x could not be found.');
    expect(err.kwargs).toEqual({ instance_id: 'x', code: 404 });
    const nsm = (await client.call({}, 'nope').catch((e: unknown) => e)) as RemoteError;
    expect(nsm.is('oslo_messaging.rpc.dispatcher', 'NoSuchMethod')).toBe(true);
  });

  it('casts (no reply routing) and fanout casts to <topic>_fanout', async () => {
    const seen: string[] = [];
    await serve({ note: (_c, a) => void seen.push(String(a.n)) });
    const client = new RpcClient(transport, { topic: 'berth', server: 'host1' });
    await client.cast(CTX, 'note', { n: 'one' });
    await client.prepare({ fanout: true, server: null }).cast(CTX, 'note', { n: 'all' });
    await until(() => seen.length === 2, 'two casts');
    const [cast, fanout] = requests();
    expect(cast?.inner).not.toHaveProperty('_msg_id');
    expect(cast?.inner).not.toHaveProperty('_reply_q');
    expect(cast?.options.expiration).toBeUndefined();
    expect(fanout?.exchange).toBe('berth_fanout');
    expect(fanout?.routingKey).toBe('');
    expect(broker.exchanges.get('berth_fanout')).toEqual({
      type: 'fanout',
      durable: false,
      autoDelete: true,
    });
  });

  it('refuses call on a fanout target and versions above the cap', async () => {
    const client = new RpcClient(transport, { topic: 'berth', fanout: true });
    await expect(client.call({}, 'x')).rejects.toBeInstanceOf(InvalidTarget);
    const capped = new RpcClient(transport, { topic: 'berth', version: '1.5' }, { versionCap: '1.4' });
    expect(capped.canSendVersion()).toBe(false);
    expect(capped.canSendVersion('1.3')).toBe(true);
    await expect(capped.cast({}, 'x')).rejects.toBeInstanceOf(RpcVersionCapError);
  });

  it('times out with MessagingTimeout when nobody answers', async () => {
    clock = sinon.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    broker.declareQueue('berth'); // a queue nobody consumes
    await transport.waitConnected();
    const client = new RpcClient(transport, { topic: 'berth' }, { timeout: 5 });
    const p = client.call({}, 'lost').catch((e: unknown) => e);
    await clock.tickAsync(4999);
    await clock.tickAsync(1);
    const err = (await p) as MessagingTimeout;
    expect(err).toBeInstanceOf(MessagingTimeout);
    expect(err.method).toBe('lost');
    expect(err.message).toMatch(/Timed out waiting for a reply to message ID [0-9a-f]{32}/);
    expect(transport.replyWaiter().waiting).toBe(0);
  });

  describe('call monitor', () => {
    /** A server that, like oslo's dispatcher, only heartbeats and never answers until told. */
    async function heartbeatingPeer(beatEveryMs: number | null) {
      broker.declareQueue('berth', { exchange: 'nova', key: 'berth' });
      const peerCh = (await broker.connect()) as unknown as { createChannel(): Promise<FakeChannel> };
      const ch = await peerCh.createChannel();
      let req: Record<string, unknown> | undefined;
      await ch.consume('berth', (m) => {
        if (m) req = JSON.parse(JSON.parse(m.content.toString())['oslo.message']) as Record<string, unknown>;
      });
      const send = (body: object) =>
        broker.inject(
          '',
          String(req?._reply_q),
          serializeMsg({ _msg_id: req?._msg_id, _unique_id: 'u', ...body }),
        );
      let timer: NodeJS.Timeout | undefined;
      return {
        get req() {
          return req;
        },
        start() {
          if (beatEveryMs) {
            timer = setInterval(() => send({ result: null, failure: null, ending: false }), beatEveryMs);
          }
        },
        finish(result: unknown) {
          clearInterval(timer);
          send({ result, failure: null, ending: true });
        },
      };
    }

    it('sends _timeout and stays alive while heartbeats arrive, past the call-monitor timeout', async () => {
      clock = sinon.useFakeTimers({
        toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      });
      const peer = await heartbeatingPeer(1000);
      const client = new RpcClient(transport, { topic: 'berth' }, { timeout: 60, callMonitorTimeout: 2 });
      let settled = false;
      const p = client.call({}, 'long').finally(() => (settled = true));
      await until(() => peer.req !== undefined, 'request');
      expect(peer.req?._timeout).toBe(2);
      peer.start();
      await clock.tickAsync(10_000);
      expect(settled).toBe(false);
      peer.finish('finally');
      await expect(p).resolves.toBe('finally');
    });

    it('fails once heartbeats stop for longer than the call-monitor timeout', async () => {
      clock = sinon.useFakeTimers({
        toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      });
      const peer = await heartbeatingPeer(null);
      const client = new RpcClient(transport, { topic: 'berth' }, { timeout: 60, callMonitorTimeout: 2 });
      const p = client.call({}, 'long').catch((e: unknown) => e);
      await until(() => peer.req !== undefined, 'request');
      await clock.tickAsync(2001);
      const err = (await p) as MessagingTimeout;
      expect(err).toBeInstanceOf(MessagingTimeout);
      expect(err.message).toContain('no call-monitor heartbeat within 2000 ms');
    });

    it('the overall timeout still applies while heartbeats arrive', async () => {
      clock = sinon.useFakeTimers({
        toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      });
      const peer = await heartbeatingPeer(500);
      const client = new RpcClient(transport, { topic: 'berth' }, { timeout: 5, callMonitorTimeout: 2 });
      const p = client.call({}, 'long').catch((e: unknown) => e);
      await until(() => peer.req !== undefined, 'request');
      peer.start();
      await clock.tickAsync(5001);
      expect(await p).toBeInstanceOf(MessagingTimeout);
      peer.finish(null);
    });
  });

  it('fails an in-flight call with ConnectionLost on a broker restart; later calls work', async () => {
    let release!: () => void;
    await serve({ hang: () => new Promise<void>((r) => (release = r)), ping: () => 'pong' });
    const client = new RpcClient(transport, { topic: 'berth', server: 'host1' }, { timeout: 10 });
    const p = client.call({}, 'hang').catch((e: unknown) => e);
    await until(() => typeof release === 'function', 'handler running');
    await flush(50); // the broker's confirm reaches the client
    broker.restart();
    const err = (await p) as ConnectionLost;
    expect(err).toBeInstanceOf(ConnectionLost);
    expect(err.message).toContain('lost while waiting for the reply to hang');
    await transport.waitConnected(5);
    await expect(client.call({}, 'ping')).resolves.toBe('pong');
    release();
  });

  it('a call made while the broker is down waits for the reconnect, then goes through', async () => {
    await serve({ ping: () => 'pong' });
    broker.up = false;
    broker.restart();
    const client = new RpcClient(transport, { topic: 'berth', server: 'host1' }, { timeout: 10 });
    const p = client.call({}, 'ping');
    await new Promise((r) => setTimeout(r, 150));
    broker.up = true;
    await expect(p).resolves.toBe('pong');
  });

  it('gives up with MessageDeliveryFailure when the broker stays down past the timeout', async () => {
    await transport.waitConnected();
    broker.up = false;
    broker.restart();
    const client = new RpcClient(transport, { topic: 'berth' }, { timeout: 0.3 });
    await expect(client.cast({}, 'x')).rejects.toBeInstanceOf(MessageDeliveryFailure);
    await expect(client.call({}, 'x')).rejects.toBeInstanceOf(MessageDeliveryFailure);
  });

  it('a channel error (406 on the exchange) fails the send at once, and publishing recovers after', async () => {
    await transport.waitConnected();
    broker.exchanges.set('other', { type: 'topic', durable: true, autoDelete: false }); // inequivalent
    const bad = new RpcClient(transport, { topic: 'berth', exchange: 'other' }, { timeout: 10 });
    const t0 = Date.now();
    const err = await bad.cast({}, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageDeliveryFailure);
    expect(String((err as Error).message)).toContain('PRECONDITION_FAILED');
    expect(Date.now() - t0).toBeLessThan(1000);
    await serve({ ping: () => 'pong' });
    await expect(new RpcClient(transport, { topic: 'berth' }).call({}, 'ping')).resolves.toBe('pong');
  });

  it('drops late and malformed replies without disturbing waiting calls', async () => {
    await serve({ ping: () => 'pong' });
    const client = new RpcClient(transport, { topic: 'berth' });
    await client.call({}, 'ping');
    const replyQ = transport.replyWaiter().queue;
    broker.inject('', replyQ, 'garbage');
    broker.inject('', replyQ, serializeMsg({ _msg_id: 'unknown', result: 1, ending: true }));
    await flush(20);
    await expect(client.call({}, 'ping')).resolves.toBe('pong');
  });
});
