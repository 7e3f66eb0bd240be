import sinon from 'sinon';
import type { ConsumeMessage } from 'amqplib';
import { FakeBroker, type FakeChannel } from './__tests__/fake-amqp';
import { flush, recordingLogger, until } from './__tests__/harness';
import { ConnectionManager, MessageUndeliverable } from './connection';
import { MessageDeliveryFailure } from './errors';
import { ReplySender } from './replies';
import { topicConsumer, DEFAULT_TOPOLOGY } from './topology';
import { buildReply, publishProperties, serializeMsg } from './wire';

const TIMERS = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const };

function manager(broker: FakeBroker, opts: Partial<ConstructorParameters<typeof ConnectionManager>[0]> = {}) {
  const { logger, lines } = recordingLogger();
  const cm = new ConnectionManager({
    url: 'rabbit://guest:guest@h1:5672,guest:guest@h2:5673/',
    connect: broker.connect,
    logger,
    ...opts,
  });
  return { cm, lines };
}

describe('ConnectionManager', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  let cm: ConnectionManager | undefined;

  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await cm?.close();
    cm = undefined;
  });

  it('connects with the AMQP heartbeat and round-robins over the transport_url hosts', async () => {
    const broker = new FakeBroker();
    ({ cm } = manager(broker, { heartbeat: 30 }));
    await cm.waitConnected(1000);
    expect(broker.connect.firstCall.args[1]).toMatchObject({
      hostname: 'h1',
      port: 5672,
      heartbeat: 30,
      vhost: '/',
    });
    broker.restart();
    await until(() => broker.connect.callCount === 2, 'reconnect');
    expect(broker.connect.secondCall.args[1]).toMatchObject({ hostname: 'h2', port: 5673 });
  });

  it('retries with oslo backoff: interval, +backoff each time, capped at interval_max', async () => {
    clock = sinon.useFakeTimers({ ...TIMERS, toFake: [...TIMERS.toFake] });
    const broker = new FakeBroker();
    broker.up = false;
    ({ cm } = manager(broker, { retryInterval: 1, retryBackoff: 2, intervalMax: 6 }));
    const t0 = Date.now();
    cm.start();
    const attemptsAt: number[] = [];
    for (let ms = 0; ms <= 30_000; ms += 100) {
      await clock.tickAsync(100);
      while (attemptsAt.length < broker.connect.callCount) attemptsAt.push(Date.now() - t0);
    }
    // delays 1, 3, 5, 6, 6, ... s after the first (immediate) failure
    const gaps = attemptsAt.slice(1).map((t, i) => Math.round((t - (attemptsAt[i] as number)) / 1000));
    expect(gaps.slice(0, 6)).toEqual([1, 3, 5, 6, 6, 6]);
    broker.up = true;
    await clock.tickAsync(6000);
    expect(cm.isConnected()).toBe(true);
  });

  it('re-declares and re-consumes every registered consumer after a broker restart', async () => {
    const broker = new FakeBroker();
    ({ cm } = manager(broker, { retryInterval: 0.01 }));
    const got: string[] = [];
    await cm.addConsumer(topicConsumer('nova', 'compute', DEFAULT_TOPOLOGY), (m, ack) => {
      ack();
      got.push(m.content.toString());
    });
    await cm.waitConnected();
    broker.inject('nova', 'compute', 'one');
    await until(() => got.length === 1, 'first message');
    broker.restart();
    expect(broker.queues.has('compute')).toBe(false);
    await cm.waitConnected(1000);
    await until(() => broker.queues.has('compute'), 'queue redeclared');
    broker.inject('nova', 'compute', 'two');
    await until(() => got.length === 2, 'message after restart');
    const newCh = broker.connections[0]?.channels[0] as FakeChannel;
    expect(newCh.assertExchange.firstCall.args).toEqual([
      'nova',
      'topic',
      { durable: false, autoDelete: false },
    ]);
  });

  it('emits disconnected once per lost connection, and connected again', async () => {
    const broker = new FakeBroker();
    ({ cm } = manager(broker, { retryInterval: 0.01 }));
    const events: string[] = [];
    cm.on('connected', () => events.push('up'));
    cm.on('disconnected', () => events.push('down'));
    await cm.waitConnected();
    broker.restart();
    await until(() => events.length === 3, 'events');
    expect(events).toEqual(['up', 'down', 'up']);
  });

  it('reopens a consume channel the broker closed alone, and resumes consuming', async () => {
    const broker = new FakeBroker();
    let lines: ReturnType<typeof manager>['lines'];
    ({ cm, lines } = manager(broker, { retryInterval: 0.01 }));
    const got: ConsumeMessage[] = [];
    await cm.addConsumer(topicConsumer('nova', 't', DEFAULT_TOPOLOGY), (m, ack) => {
      ack();
      got.push(m);
    });
    await cm.waitConnected();
    const conn = broker.connections[0];
    conn?.channels[0]?.kill();
    await until(() => (conn?.channels.length ?? 0) >= 2, 'new consume channel');
    broker.inject('nova', 't', 'x');
    await until(() => got.length === 1, 'delivery on the new channel');
    expect(broker.connections).toHaveLength(1); // same connection
    expect(lines.some((l) => l.msg === 'AMQP consume channel closed; reopening')).toBe(true);
  });

  it('redeclares a queue the broker cancelled (deleted) under a consumer', async () => {
    const broker = new FakeBroker();
    ({ cm } = manager(broker));
    const got: string[] = [];
    await cm.addConsumer(topicConsumer('nova', 't', DEFAULT_TOPOLOGY), (m, ack) => {
      ack();
      got.push(m.content.toString());
    });
    await cm.waitConnected();
    const q = broker.queues.get('t');
    broker.queues.delete('t');
    for (const c of q?.consumers ?? []) c.cb(null);
    await until(() => broker.queues.has('t'), 'queue redeclared');
    await flush(20);
    broker.inject('nova', 't', 'back');
    await until(() => got.length === 1, 'delivery');
  });

  it('publish: confirmed; MessageUndeliverable for an unroutable mandatory message', async () => {
    const broker = new FakeBroker();
    ({ cm } = manager(broker));
    broker.declareQueue('reply_x');
    const reply = buildReply('m1', 1, null);
    await expect(
      cm.publish(null, 'reply_x', serializeMsg(reply), publishProperties(), {
        mandatory: true,
        uniqueId: reply._unique_id,
      }),
    ).resolves.toBeUndefined();
    const lost = buildReply('m2', 1, null);
    await expect(
      cm.publish(null, 'reply_gone', serializeMsg(lost), publishProperties(), {
        mandatory: true,
        uniqueId: lost._unique_id,
      }),
    ).rejects.toBeInstanceOf(MessageUndeliverable);
  });

  it('publish: declares a topic exchange once per connection before using it', async () => {
    const broker = new FakeBroker();
    ({ cm } = manager(broker));
    const ex = { name: 'nova', type: 'topic' as const, durable: false, autoDelete: false };
    await Promise.all([1, 2, 3].map(() => cm?.publish(ex, 'k', Buffer.from('{}'), publishProperties())));
    const pubCh = broker.connections[0]?.channels.find((c) => c.confirm) as FakeChannel;
    expect(pubCh.assertExchange.callCount).toBe(1);
    expect(pubCh.publish.callCount).toBe(3);
  });

  it('publish: fails after connectWaitMs when the broker is down', async () => {
    const broker = new FakeBroker();
    broker.up = false;
    ({ cm } = manager(broker));
    await expect(
      cm.publish(null, 'q', Buffer.from('{}'), publishProperties(), { connectWaitMs: 50 }),
    ).rejects.toThrow(MessageDeliveryFailure);
  });

  it('close() stops reconnecting and fails waiters', async () => {
    const broker = new FakeBroker();
    broker.up = false;
    const m = manager(broker, { retryInterval: 0.01 });
    const waiting = m.cm.waitConnected();
    await flush(10);
    await m.cm.close();
    await expect(waiting).rejects.toThrow('transport is closed');
    const calls = broker.connect.callCount;
    await new Promise((r) => setTimeout(r, 50));
    expect(broker.connect.callCount).toBe(calls);
  });
});

describe('ReplySender', () => {
  it('retries a reply whose queue is missing every 250 ms until it appears', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const broker = new FakeBroker();
      const { logger, lines } = recordingLogger();
      const cm = new ConnectionManager({ url: 'rabbit://h/', connect: broker.connect, logger });
      await cm.waitConnected();
      const sender = new ReplySender(cm, logger, 60);
      const sent = sender.send('reply_late', buildReply('m', 'r', null));
      await clock.tickAsync(1000);
      broker.declareQueue('reply_late');
      await clock.tickAsync(300);
      await expect(sent).resolves.toBe(true);
      const attempts = broker.find((p) => p.routingKey === 'reply_late');
      expect(attempts.length).toBeGreaterThanOrEqual(4);
      expect(new Set(attempts.map((a) => a.inner._unique_id)).size).toBe(1); // same message each time
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
      await cm.close();
    } finally {
      clock.restore();
    }
  });

  it('gives up after the retry timeout and then drops replies to that queue at once', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const broker = new FakeBroker();
      const { logger, lines } = recordingLogger();
      const cm = new ConnectionManager({ url: 'rabbit://h/', connect: broker.connect, logger });
      await cm.waitConnected();
      const sender = new ReplySender(cm, logger, 2);
      const sent = sender.send('reply_dead', buildReply('m', 'r', null));
      await clock.tickAsync(2500);
      await expect(sent).resolves.toBe(false);
      expect(lines.some((l) => l.msg === 'failed to send reply; abandoning')).toBe(true);
      const before = broker.published.length;
      await expect(sender.send('reply_dead', buildReply('m2', 'r', null))).resolves.toBe(false);
      expect(broker.published.length).toBe(before);
      await cm.close();
    } finally {
      clock.restore();
    }
  });

  it('stops retrying at once when the transport closes', async () => {
    const broker = new FakeBroker();
    const { logger } = recordingLogger();
    const cm = new ConnectionManager({ url: 'rabbit://h/', connect: broker.connect, logger });
    await cm.waitConnected();
    const sender = new ReplySender(cm, logger, 60);
    const sent = sender.send('reply_nobody', buildReply('m', 'r', null));
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    await cm.close();
    await expect(sent).resolves.toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
