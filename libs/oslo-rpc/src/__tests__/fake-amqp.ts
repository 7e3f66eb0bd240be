// An in-memory stand-in for amqplib's ChannelModel/Channel, backed by a tiny
// broker model (exchanges, queues, bindings, consumers, confirms, mandatory
// returns, 406 on inequivalent redeclaration). Every channel method is a
// sinon spy, so tests can assert exactly what was declared and published,
// and `restart()` simulates a broker restart (connections drop, transient
// entities vanish). Deliveries are async (microtasks) like a real socket.
import { EventEmitter } from 'node:events';
import sinon from 'sinon';
import type { ChannelModel, ConsumeMessage, Options } from 'amqplib';

interface FakeQueue {
  name: string;
  durable: boolean;
  autoDelete: boolean;
  args: Record<string, unknown>;
  messages: ConsumeMessage[];
  consumers: { tag: string; ch: FakeChannel; cb: (m: ConsumeMessage | null) => void }[];
  rr: number;
}

interface FakeExchange {
  type: string;
  durable: boolean;
  autoDelete: boolean;
}

export interface Published {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
  /** the inner oslo message, parsed */
  inner: Record<string, unknown>;
}

function amqpError(code: number, text: string): Error & { code: number } {
  return Object.assign(new Error(`Channel closed by server: ${code} (${text})`), { code });
}

const tick = () => new Promise<void>((r) => queueMicrotask(r));

export class FakeBroker {
  exchanges = new Map<string, FakeExchange>();
  queues = new Map<string, FakeQueue>();
  bindings: { queue: string; exchange: string; key: string }[] = [];
  connections: FakeConnection[] = [];
  published: Published[] = [];
  up = true;
  private deliveryTag = 0;
  private consumerSeq = 0;

  /** The `connect` seam for ConnectionManager. */
  connect = sinon.spy(
    async (_address?: unknown, _options?: Options.Connect, _socket?: unknown): Promise<ChannelModel> => {
      await tick();
      if (!this.up)
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5672'), { code: 'ECONNREFUSED' });
      const c = new FakeConnection(this);
      this.connections.push(c);
      return c as unknown as ChannelModel;
    },
  );

  /** Drop every connection and all non-durable entities; `downMs` keeps it refusing connections. */
  restart(): void {
    for (const c of [...this.connections])
      c.drop(new Error('CONNECTION_FORCED - broker forced connection closure'));
    for (const [n, q] of this.queues) if (!q.durable) this.queues.delete(n);
    for (const [n, e] of this.exchanges) if (!e.durable) this.exchanges.delete(n);
    this.bindings = this.bindings.filter((b) => this.queues.has(b.queue) && this.exchanges.has(b.exchange));
  }

  nextTag(): number {
    return ++this.deliveryTag;
  }

  nextConsumerTag(): string {
    return `amq.ctag-${++this.consumerSeq}`;
  }

  route(exchange: string, key: string): FakeQueue[] {
    if (exchange === '') {
      const q = this.queues.get(key);
      return q ? [q] : [];
    }
    const ex = this.exchanges.get(exchange);
    if (!ex) return [];
    const names = this.bindings
      .filter((b) => b.exchange === exchange && (ex.type === 'fanout' || b.key === key || b.key === '#'))
      .map((b) => b.queue);
    return [...new Set(names)].map((n) => this.queues.get(n)).filter((q): q is FakeQueue => !!q);
  }

  enqueue(
    q: FakeQueue,
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
  ): void {
    const msg = {
      content,
      fields: { deliveryTag: 0, redelivered: false, exchange, routingKey, consumerTag: '' },
      properties: { ...options, headers: options.headers ?? {} },
    } as unknown as ConsumeMessage;
    q.messages.push(msg);
    this.dispatch(q);
  }

  dispatch(q: FakeQueue): void {
    void tick().then(() => {
      while (q.messages.length > 0 && q.consumers.length > 0) {
        const c = q.consumers[q.rr++ % q.consumers.length];
        if (!c) break;
        const m = q.messages.shift() as ConsumeMessage;
        const delivered = {
          ...m,
          fields: { ...m.fields, deliveryTag: this.nextTag(), consumerTag: c.tag },
        } as ConsumeMessage;
        c.ch.unacked.add(delivered.fields.deliveryTag);
        c.cb(delivered);
      }
    });
  }

  /** Create a queue out of band, like a peer would (e.g. a Python client's reply queue), optionally bound. */
  declareQueue(name: string, bindTo?: { exchange: string; key: string }): void {
    if (!this.queues.has(name)) {
      this.queues.set(name, {
        name,
        durable: false,
        autoDelete: false,
        args: {},
        messages: [],
        consumers: [],
        rr: 0,
      });
    }
    if (bindTo) {
      if (!this.exchanges.has(bindTo.exchange)) {
        this.exchanges.set(bindTo.exchange, { type: 'topic', durable: false, autoDelete: false });
      }
      this.bindings.push({ queue: name, exchange: bindTo.exchange, key: bindTo.key });
    }
  }

  /** Messages published so far whose inner message matches. */
  find(pred: (p: Published) => boolean): Published[] {
    return this.published.filter(pred);
  }

  /** Publish like an external peer would (bypassing any client). */
  inject(exchange: string, routingKey: string, body: Buffer | string): void {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(body);
    for (const q of this.route(exchange, routingKey)) this.enqueue(q, exchange, routingKey, content, {});
  }
}

export class FakeConnection extends EventEmitter {
  channels: FakeChannel[] = [];
  closed = false;
  connection = { serverProperties: {} };

  constructor(readonly broker: FakeBroker) {
    super();
  }

  createChannel = sinon.spy(async () => {
    await tick();
    if (this.closed) throw new Error('Connection closed');
    const ch = new FakeChannel(this, false);
    this.channels.push(ch);
    return ch;
  });

  createConfirmChannel = sinon.spy(async () => {
    await tick();
    if (this.closed) throw new Error('Connection closed');
    const ch = new FakeChannel(this, true);
    this.channels.push(ch);
    return ch;
  });

  close = sinon.spy(async () => {
    if (this.closed) return;
    this.drop();
  });

  /** Connection goes away; `err` set = unexpected (as amqplib emits it). */
  drop(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.broker.connections = this.broker.connections.filter((c) => c !== this);
    for (const ch of [...this.channels]) ch.kill();
    if (err) this.emit('error', err);
    this.emit('close', err);
  }
}

export class FakeChannel extends EventEmitter {
  closed = false;
  unacked = new Set<number>();
  acked: number[] = [];
  private confirmsPending: ((err: Error | null) => void)[] = [];

  constructor(
    readonly conn: FakeConnection,
    readonly confirm: boolean,
  ) {
    super();
  }

  private get broker(): FakeBroker {
    return this.conn.broker;
  }

  private check(): void {
    if (this.closed) throw new Error('Channel closed');
  }

  /** Server-side channel error: the channel dies, pending ops fail. */
  fail(err: Error): never {
    this.emit('error', err);
    this.kill();
    throw err;
  }

  kill(): void {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.broker.queues.values()) q.consumers = q.consumers.filter((c) => c.ch !== this);
    const pend = this.confirmsPending;
    this.confirmsPending = [];
    for (const cb of pend) cb(new Error('channel closed'));
    this.emit('close');
  }

  assertExchange = sinon.spy(async (name: string, type: string, opts: Options.AssertExchange = {}) => {
    await tick();
    this.check();
    const want = { type, durable: opts.durable ?? true, autoDelete: opts.autoDelete ?? false };
    const have = this.broker.exchanges.get(name);
    if (
      have &&
      (have.type !== want.type || have.durable !== want.durable || have.autoDelete !== want.autoDelete)
    ) {
      this.fail(amqpError(406, `PRECONDITION_FAILED - inequivalent arg for exchange '${name}'`));
    }
    this.broker.exchanges.set(name, want);
    return { exchange: name };
  });

  assertQueue = sinon.spy(async (name: string, opts: Options.AssertQueue = {}) => {
    await tick();
    this.check();
    const args = (opts.arguments ?? {}) as Record<string, unknown>;
    const have = this.broker.queues.get(name);
    if (have) {
      if (
        have.durable !== (opts.durable ?? true) ||
        have.autoDelete !== (opts.autoDelete ?? false) ||
        JSON.stringify(have.args) !== JSON.stringify(args)
      ) {
        this.fail(amqpError(406, `PRECONDITION_FAILED - inequivalent arg for queue '${name}'`));
      }
    } else {
      this.broker.queues.set(name, {
        name,
        durable: opts.durable ?? true,
        autoDelete: opts.autoDelete ?? false,
        args,
        messages: [],
        consumers: [],
        rr: 0,
      });
    }
    const q = this.broker.queues.get(name) as FakeQueue;
    return { queue: name, messageCount: q.messages.length, consumerCount: q.consumers.length };
  });

  bindQueue = sinon.spy(async (queue: string, exchange: string, key: string) => {
    await tick();
    this.check();
    if (!this.broker.queues.has(queue) || !this.broker.exchanges.has(exchange)) {
      this.fail(amqpError(404, 'NOT_FOUND'));
    }
    if (!this.broker.bindings.some((b) => b.queue === queue && b.exchange === exchange && b.key === key)) {
      this.broker.bindings.push({ queue, exchange, key });
    }
    return {};
  });

  deleteQueue = sinon.spy(async (name: string) => {
    await tick();
    this.check();
    const q = this.broker.queues.get(name);
    this.broker.queues.delete(name);
    this.broker.bindings = this.broker.bindings.filter((b) => b.queue !== name);
    for (const c of q?.consumers ?? []) c.cb(null);
    return { messageCount: q?.messages.length ?? 0 };
  });

  prefetch = sinon.spy(async () => {
    await tick();
    return {};
  });

  consume = sinon.spy(async (queue: string, cb: (m: ConsumeMessage | null) => void) => {
    await tick();
    this.check();
    const q = this.broker.queues.get(queue);
    if (!q) this.fail(amqpError(404, `NOT_FOUND - no queue '${queue}'`));
    const tag = this.broker.nextConsumerTag();
    q.consumers.push({ tag, ch: this, cb });
    this.broker.dispatch(q);
    return { consumerTag: tag };
  });

  cancel = sinon.spy(async (tag: string) => {
    await tick();
    for (const q of this.broker.queues.values()) q.consumers = q.consumers.filter((c) => c.tag !== tag);
    return { consumerTag: tag };
  });

  ack = sinon.spy((msg: ConsumeMessage) => {
    this.check();
    this.unacked.delete(msg.fields.deliveryTag);
    this.acked.push(msg.fields.deliveryTag);
  });

  publish = sinon.spy(
    (
      exchange: string,
      routingKey: string,
      content: Buffer,
      options: Options.Publish = {},
      cb?: (err: Error | null, ok?: object) => void,
    ): boolean => {
      this.check();
      let inner: Record<string, unknown> = {};
      try {
        const outer = JSON.parse(content.toString()) as Record<string, string>;
        inner = JSON.parse(outer['oslo.message'] ?? '{}') as Record<string, unknown>;
      } catch {
        // not an oslo message
      }
      this.broker.published.push({ exchange, routingKey, content, options, inner });
      if (exchange !== '' && !this.broker.exchanges.has(exchange)) {
        // like RabbitMQ: 404 closes the channel asynchronously
        queueMicrotask(() => {
          this.emit('error', amqpError(404, `NOT_FOUND - no exchange '${exchange}'`));
          this.kill();
        });
        if (cb) this.confirmsPending.push(cb);
        return true;
      }
      const targets = this.broker.route(exchange, routingKey);
      for (const q of targets) this.broker.enqueue(q, exchange, routingKey, content, options);
      if (cb) {
        this.confirmsPending.push(cb);
        void tick().then(() => {
          if (this.closed) return;
          if (targets.length === 0 && options.mandatory) {
            this.emit('return', { content, fields: { exchange, routingKey }, properties: options });
          }
          const i = this.confirmsPending.indexOf(cb);
          if (i >= 0) {
            this.confirmsPending.splice(i, 1);
            cb(null, {});
          }
        });
      }
      return true;
    },
  );

  close = sinon.spy(async () => {
    this.kill();
  });
}
