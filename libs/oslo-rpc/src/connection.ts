// One AMQP connection, kept alive: connects with oslo's backoff
// (rabbit_retry_interval + n * rabbit_retry_backoff, capped at
// rabbit_interval_max), round-robins over the transport_url's hosts, and
// after any reconnect re-declares every registered exchange/queue/binding and
// restarts every consumer, because a broker restart loses all non-durable
// entities oslo uses. Publishing goes through a confirm channel so a caller
// learns whether the broker took its message (and, with `mandatory`, whether
// a queue got it: RabbitMQ sends basic.return before the ack).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import * as amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { MessageDeliveryFailure } from './errors';
import { silentLogger, type Logger } from './logger';
import type { ConsumerSpec, ExchangeSpec } from './topology';
import { describeAddress, parseTransportUrl, type BrokerAddress } from './url';
import { deserializeMsg, type PublishProperties } from './wire';

export interface ConnectionOptions {
  url: string;
  /** AMQP heartbeat in seconds (oslo heartbeat_timeout_threshold, 60); 0 disables. */
  heartbeat?: number;
  /** First reconnect delay in seconds (rabbit_retry_interval, 1). */
  retryInterval?: number;
  /** Added to the delay after each failed attempt (rabbit_retry_backoff, 2). */
  retryBackoff?: number;
  /** Delay cap in seconds (rabbit_interval_max, 30). */
  intervalMax?: number;
  /** basic.qos prefetch for consumers (rabbit_qos_prefetch_count, 0 = unlimited). */
  prefetchCount?: number;
  /** TCP connect timeout in seconds. */
  connectTimeout?: number;
  logger?: Logger;
  /** Seam for unit tests: how to open a connection. */
  connect?: ConnectFn;
}

/** The message could not be routed to any queue (mandatory publish came back). */
export class MessageUndeliverable extends MessageDeliveryFailure {
  override name = 'MessageUndeliverable';
}

export type ConnectFn = (
  address: BrokerAddress,
  options: Options.Connect,
  socketOptions: { timeout: number; noDelay: boolean; clientProperties: Record<string, unknown> },
) => Promise<ChannelModel>;

export type DeliveryHandler = (msg: ConsumeMessage, ack: () => boolean) => void;

/** A consumer to keep alive across reconnects; `handle` lets the owner cancel it. */
export interface ConsumerHandle {
  readonly spec: ConsumerSpec;
}

interface Registration extends ConsumerHandle {
  onMessage: DeliveryHandler;
  /** consumer tag on the current channel, if consuming */
  tag: string | null;
  cancelled: boolean;
}

interface PendingPublish {
  returned: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ConnectionManager extends EventEmitter {
  private readonly log: Logger;
  private readonly addresses: BrokerAddress[];
  private readonly heartbeat: number;
  private readonly retryInterval: number;
  private readonly retryBackoff: number;
  private readonly intervalMax: number;
  private readonly prefetchCount: number;
  private readonly connectTimeout: number;
  private readonly connectFn: ConnectFn;

  private conn: ChannelModel | null = null;
  private consumeCh: Channel | null = null;
  private publishCh: Promise<ConfirmChannel> | null = null;
  private declaredExchanges = new Map<string, Promise<unknown>>();
  /** Mandatory publishes awaiting their confirm, by `_unique_id` (to match basic.return). */
  private readonly pendingReturns = new Map<string, PendingPublish>();
  private drain: Promise<void> | null = null;
  private readonly registrations: Registration[] = [];
  private connected = false;
  private closing = false;
  private loop: Promise<void> | null = null;
  private looping = false;
  private loopToken = 0;
  private wakeSleep: (() => void) | null = null;
  private hostIndex = 0;
  private started = false;
  private lostCount = 0;
  private readonly connectionName: string;

  constructor(opts: ConnectionOptions) {
    super();
    this.log = opts.logger ?? silentLogger;
    this.addresses = parseTransportUrl(opts.url);
    this.heartbeat = opts.heartbeat ?? 60;
    this.retryInterval = opts.retryInterval ?? 1;
    this.retryBackoff = opts.retryBackoff ?? 2;
    this.intervalMax = opts.intervalMax ?? 30;
    this.prefetchCount = opts.prefetchCount ?? 0;
    this.connectTimeout = opts.connectTimeout ?? 10;
    this.connectFn = opts.connect ?? ((_a, o, so) => amqp.connect(o, so));
    this.connectionName = `${basename(process.argv[1] ?? process.title)}:${process.pid}:${randomUUID()}`;
    this.setMaxListeners(0); // every call waiting out a reconnect listens for 'connected'
    // 'disconnected'/'connected' are informational; an unhandled 'error' would crash, so we never emit one.
  }

  /** Begin connecting in the background (idempotent). */
  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    this.runLoop();
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** How many times the connection has been lost; lets a publisher tell a lost connection from a channel error. */
  get generation(): number {
    return this.lostCount;
  }

  /** Resolve once connected; reject after `timeoutMs` (Infinity = wait as long as it takes). */
  waitConnected(timeoutMs = Infinity): Promise<void> {
    this.start();
    if (this.connected) return Promise.resolve();
    if (this.closing) return Promise.reject(new MessageDeliveryFailure('transport is closed'));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error) => {
        if (timer) clearTimeout(timer);
        this.off('connected', onUp);
        this.off('closed', onClosed);
        if (err) reject(err);
        else resolve();
      };
      const onUp = () => done();
      const onClosed = () => done(new MessageDeliveryFailure('transport is closed'));
      this.on('connected', onUp);
      this.on('closed', onClosed);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () => done(new MessageDeliveryFailure(`not connected to the message broker after ${timeoutMs} ms`)),
          Math.max(0, timeoutMs),
        );
      }
    });
  }

  private runLoop(): void {
    // `looping` is cleared synchronously when the loop ends, so a connection
    // lost right after connecting always starts a new loop
    if (this.looping || this.closing) return;
    this.looping = true;
    const token = ++this.loopToken;
    this.loop = this.connectLoop(token);
  }

  private nextDelayMs(attempt: number): number {
    return Math.min(this.retryInterval + this.retryBackoff * (attempt - 1), this.intervalMax) * 1000;
  }

  private async connectLoop(token: number): Promise<void> {
    try {
      await this.connectUntilUp();
    } finally {
      if (this.loopToken === token) this.looping = false;
    }
  }

  private async connectUntilUp(): Promise<void> {
    let attempt = 0;
    while (!this.closing) {
      const addr = this.addresses[this.hostIndex % this.addresses.length] as BrokerAddress;
      this.hostIndex++;
      let conn: ChannelModel | null = null;
      try {
        conn = await this.connectFn(
          addr,
          {
            protocol: addr.protocol,
            hostname: addr.hostname,
            port: addr.port,
            username: addr.username,
            password: addr.password,
            vhost: addr.vhost,
            heartbeat: this.heartbeat,
          },
          {
            timeout: this.connectTimeout * 1000,
            // no Nagle: RPC is small request/reply frames, and Nagle + delayed ACK adds ~40 ms per hop
            noDelay: true,
            // shown by `rabbitmqctl list_connections client_properties`, like oslo's "<script>:<pid>:<uuid>"
            clientProperties: { connection_name: this.connectionName },
          },
        );
        if (this.closing) {
          await conn.close().catch(() => undefined);
          return;
        }
        this.attach(conn);
        await this.setupConsumers(conn);
        this.connected = true;
        this.looping = false; // from here a lost connection must start a new loop
        this.log.info({ broker: describeAddress(addr), attempt }, 'connected to AMQP server');
        this.emit('connected');
        return;
      } catch (err) {
        if (conn && this.conn === conn) {
          // connected but setting up failed (e.g. 406 on a declaration): start over on a fresh connection
          this.conn = null;
          this.consumeCh = null;
          this.publishCh = null;
          await conn.close().catch(() => undefined);
        }
        if (this.closing) return;
        attempt++;
        const delay = this.nextDelayMs(attempt);
        this.log.warn(
          { err: errInfo(err), broker: describeAddress(addr), attempt, retryInMs: delay },
          'AMQP server unreachable or setup failed; retrying',
        );
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wakeSleep = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeSleep = null;
      }
    }
  }

  private attach(conn: ChannelModel): void {
    this.conn = conn;
    this.declaredExchanges = new Map();
    conn.on('error', (err: Error) => this.log.warn({ err: errInfo(err) }, 'AMQP connection error'));
    conn.on('blocked', (reason: string) =>
      this.log.warn({ reason }, 'AMQP connection blocked by the broker'),
    );
    conn.on('unblocked', () => this.log.info({}, 'AMQP connection unblocked'));
    conn.on('close', (err?: Error) => this.onConnectionClosed(conn, err));
  }

  private onConnectionClosed(conn: ChannelModel, err?: Error): void {
    if (this.conn !== conn) return;
    const wasConnected = this.connected;
    this.lostCount++;
    this.conn = null;
    this.consumeCh = null;
    this.publishCh = null;
    this.connected = false;
    this.declaredExchanges = new Map();
    for (const r of this.registrations) r.tag = null;
    this.releaseDrain();
    if (this.closing) return;
    this.log.warn({ err: err ? errInfo(err) : undefined }, 'AMQP connection lost; reconnecting');
    if (wasConnected) this.emit('disconnected', err);
    this.runLoop();
  }

  /** Open the consume channel and (re)start every registered consumer on it. */
  private async setupConsumers(conn: ChannelModel): Promise<void> {
    const ch = await conn.createChannel();
    ch.on('error', (err: Error) => this.log.warn({ err: errInfo(err) }, 'AMQP consume channel error'));
    ch.on('close', () => this.onConsumeChannelClosed(conn, ch));
    if (this.prefetchCount > 0) await ch.prefetch(this.prefetchCount);
    this.consumeCh = ch;
    for (const r of [...this.registrations]) {
      if (!r.cancelled) await this.startConsumer(ch, r);
    }
  }

  /**
   * A channel can die alone (e.g. a queue redeclared with other arguments by
   * someone else): reopen it after a pause and restart the consumers.
   */
  private onConsumeChannelClosed(conn: ChannelModel, ch: Channel): void {
    if (this.consumeCh !== ch) return;
    this.consumeCh = null;
    for (const r of this.registrations) r.tag = null;
    // amqplib closes the channels before it reports the connection closed: look again a moment later
    setImmediate(() => {
      if (this.closing || this.conn !== conn) return;
      this.log.warn({}, 'AMQP consume channel closed; reopening');
      void this.reopenConsumeChannel(conn);
    });
  }

  private async reopenConsumeChannel(conn: ChannelModel): Promise<void> {
    await sleep(this.retryInterval * 1000);
    if (this.closing || this.conn !== conn || this.consumeCh) return;
    try {
      await this.setupConsumers(conn);
    } catch (err) {
      // e.g. the same 406 again: a fresh connection with backoff is the most we can do
      this.log.error({ err: errInfo(err) }, 'cannot restore consumers; reconnecting');
      await conn.close().catch(() => undefined);
    }
  }

  private async declare(ch: Channel, spec: ConsumerSpec): Promise<void> {
    if (spec.exchange) {
      await ch.assertExchange(spec.exchange.name, spec.exchange.type, {
        durable: spec.exchange.durable,
        autoDelete: spec.exchange.autoDelete,
      });
    }
    await ch.assertQueue(spec.queue.name, {
      durable: spec.queue.durable,
      autoDelete: spec.queue.autoDelete,
      exclusive: false,
      arguments: spec.queue.arguments,
    });
    if (spec.exchange) await ch.bindQueue(spec.queue.name, spec.exchange.name, spec.routingKey);
  }

  private async startConsumer(ch: Channel, r: Registration): Promise<void> {
    await this.declare(ch, r.spec);
    const ok = await ch.consume(r.spec.queue.name, (msg) => {
      if (msg === null) {
        // broker-side cancel (queue deleted, e.g. expired): redeclare and resume
        r.tag = null;
        if (!r.cancelled && this.consumeCh === ch) {
          this.log.warn({ queue: r.spec.queue.name }, 'consumer cancelled by the broker; redeclaring');
          this.startConsumer(ch, r).catch((err) =>
            this.log.error({ err: errInfo(err), queue: r.spec.queue.name }, 'cannot redeclare consumer'),
          );
        }
        return;
      }
      r.onMessage(msg, () => {
        try {
          ch.ack(msg);
          return true;
        } catch {
          return false; // channel gone: the broker will redeliver elsewhere
        }
      });
    });
    r.tag = ok.consumerTag;
    this.emit('consuming', r);
  }

  /** Resolve once `handle` is consuming (declared and basic.consume'd on a live channel). */
  waitConsuming(handle: ConsumerHandle, timeoutMs = Infinity): Promise<void> {
    const r = handle as Registration;
    if (r.tag !== null) return Promise.resolve();
    if (this.closing || r.cancelled) return Promise.reject(new MessageDeliveryFailure('consumer is gone'));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error) => {
        if (timer) clearTimeout(timer);
        this.off('consuming', onConsuming);
        this.off('closed', onClosed);
        if (err) reject(err);
        else resolve();
      };
      const onConsuming = (x: Registration) => x === r && done();
      const onClosed = () => done(new MessageDeliveryFailure('transport is closed'));
      this.on('consuming', onConsuming);
      this.on('closed', onClosed);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () =>
            done(
              new MessageDeliveryFailure(
                this.connected
                  ? `queue ${r.spec.queue.name} not consumed after ${timeoutMs} ms`
                  : `not connected to the message broker after ${timeoutMs} ms`,
              ),
            ),
          Math.max(0, timeoutMs),
        );
      }
    });
  }

  /**
   * Keep a consumer alive on this connection. Resolves once it consumes (or at
   * once, if not connected yet: it starts with the next connection).
   */
  async addConsumer(spec: ConsumerSpec, onMessage: DeliveryHandler): Promise<ConsumerHandle> {
    this.start();
    const r: Registration = { spec, onMessage, tag: null, cancelled: false };
    this.registrations.push(r);
    const ch = this.consumeCh;
    if (this.connected && ch) {
      const generation = this.lostCount;
      try {
        await this.startConsumer(ch, r);
      } catch (err) {
        await sleep(10); // let a dying connection report itself closed
        if (this.lostCount !== generation || this.closing) return r; // the reconnect declares it
        // the broker refused the declaration itself (e.g. 406 inequivalent arguments): a
        // configuration error; retrying it on every reconnect would only disturb the others
        this.log.error({ err: errInfo(err), queue: spec.queue.name }, 'cannot start consumer');
        await this.removeConsumer(r);
        throw err;
      }
    }
    return r;
  }

  /**
   * Stop a consumer (basic.cancel); it is not restarted on reconnect. With
   * `deleteQueue` the queue goes too (oslo deletes its fanout queues on close).
   */
  async removeConsumer(handle: ConsumerHandle, opts: { deleteQueue?: boolean } = {}): Promise<void> {
    const r = handle as Registration;
    r.cancelled = true;
    const i = this.registrations.indexOf(r);
    if (i >= 0) this.registrations.splice(i, 1);
    const ch = this.consumeCh;
    if (!ch) return;
    if (r.tag) {
      const tag = r.tag;
      r.tag = null;
      await ch.cancel(tag).catch(() => undefined);
    }
    if (opts.deleteQueue) await ch.deleteQueue(r.spec.queue.name).catch(() => undefined);
  }

  get closed(): boolean {
    return this.closing;
  }

  private getPublishChannel(conn: ChannelModel): Promise<ConfirmChannel> {
    if (!this.publishCh) {
      const p = conn.createConfirmChannel().then((ch) => {
        ch.on('error', (err: Error) => this.log.warn({ err: errInfo(err) }, 'AMQP publish channel error'));
        ch.on('close', () => {
          if (this.publishCh === p) {
            this.publishCh = null;
            this.declaredExchanges = new Map();
            this.releaseDrain();
          }
        });
        ch.on('return', (msg: ConsumeMessage) => this.onReturn(msg));
        ch.on('drain', () => this.releaseDrain());
        return ch;
      });
      p.catch(() => {
        if (this.publishCh === p) this.publishCh = null;
      });
      this.publishCh = p;
    }
    return this.publishCh;
  }

  private releaseDrain(): void {
    const d = this.drain as (Promise<void> & { release?: () => void }) | null;
    this.drain = null;
    d?.release?.();
  }

  private onReturn(msg: ConsumeMessage): void {
    try {
      const id = deserializeMsg(msg.content)._unique_id;
      const p = typeof id === 'string' ? this.pendingReturns.get(id) : undefined;
      if (p) p.returned = true;
    } catch {
      // not one of ours
    }
  }

  private ensureExchange(ch: ConfirmChannel, ex: ExchangeSpec): Promise<unknown> {
    // kombu declares an exchange once per connection before publishing to it
    let p = this.declaredExchanges.get(ex.name);
    if (!p) {
      p = ch.assertExchange(ex.name, ex.type, { durable: ex.durable, autoDelete: ex.autoDelete });
      p.catch(() => this.declaredExchanges.delete(ex.name));
      this.declaredExchanges.set(ex.name, p);
    }
    return p;
  }

  /**
   * Publish one message and resolve when the broker confirms it. `exchange`
   * null = the default exchange. With `mandatory`, `uniqueId` (the message's
   * `_unique_id`) identifies a basic.return, and an unroutable message rejects
   * with MessageUndeliverable. Waits up to `connectWaitMs` for a connection.
   */
  async publish(
    exchange: ExchangeSpec | null,
    routingKey: string,
    body: Buffer,
    props: PublishProperties,
    opts: { mandatory?: boolean; uniqueId?: string; connectWaitMs?: number } = {},
  ): Promise<void> {
    if (this.closing) throw new MessageDeliveryFailure('transport is closed');
    if (!this.connected) await this.waitConnected(opts.connectWaitMs ?? Infinity);
    const conn = this.conn;
    if (!conn) throw new MessageDeliveryFailure('connection lost before publishing');
    let ch: ConfirmChannel;
    try {
      ch = await this.getPublishChannel(conn);
      if (exchange) await this.ensureExchange(ch, exchange);
      while (this.drain) await this.drain;
    } catch (err) {
      throw new MessageDeliveryFailure(`cannot publish: ${(err as Error).message}`, { cause: err });
    }
    const mandatory = opts.mandatory === true && opts.uniqueId !== undefined;
    const pending: PendingPublish = { returned: false };
    if (mandatory) this.pendingReturns.set(opts.uniqueId as string, pending);
    try {
      await new Promise<void>((resolve, reject) => {
        let ok: boolean;
        try {
          ok = ch.publish(exchange ? exchange.name : '', routingKey, body, { ...props, mandatory }, (err) => {
            if (err) reject(new MessageDeliveryFailure('broker did not confirm the message', { cause: err }));
            else if (pending.returned) {
              reject(new MessageUndeliverable(`no queue for routing key ${JSON.stringify(routingKey)}`));
            } else resolve();
          });
        } catch (err) {
          reject(new MessageDeliveryFailure(`cannot publish: ${(err as Error).message}`, { cause: err }));
          return;
        }
        if (!ok && !this.drain) {
          // socket buffer full: later publishes wait for 'drain' (this one is already queued)
          let release!: () => void;
          const d = new Promise<void>((r) => (release = r)) as Promise<void> & { release?: () => void };
          d.release = release;
          this.drain = d;
        }
      });
    } finally {
      if (mandatory) this.pendingReturns.delete(opts.uniqueId as string);
    }
  }

  /** Close for good: consumers stop, the connection closes, no reconnect. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.connected = false;
    this.wakeSleep?.();
    this.emit('closed');
    const conn = this.conn;
    this.conn = null;
    this.consumeCh = null;
    this.publishCh = null;
    this.releaseDrain();
    if (conn) await conn.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
  }
}

/** A loggable view of an error (pino's `err` serializer understands Error, but not every logger does). */
export function errInfo(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown };
    return { type: e.name, message: e.message, ...(e.code !== undefined ? { code: e.code } : {}) };
  }
  return { message: String(err) };
}
