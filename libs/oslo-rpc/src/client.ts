// An oslo-compatible RPC client (rpc/client.py + amqpdriver.py _send):
// call (waits for a reply, with timeout and call-monitor), cast (fire and
// forget, confirmed by the broker), fanout cast, and prepare() to override
// the target or timeouts for one invocation. Durations are in seconds, as in
// oslo's API and config.
import { MessageDeliveryFailure, MessagingError } from './errors';
import { fanoutExchange, topicExchange, type ExchangeSpec } from './topology';
import type { Transport } from './transport';
import {
  buildRequest,
  newId,
  publishProperties,
  serializeMsg,
  versionIsCompatible,
  type Context,
} from './wire';

export interface Target {
  topic: string;
  /** Send to one server (`<topic>.<server>`); without it any server on the topic takes it. */
  server?: string | null;
  /** Overrides the transport's control exchange. */
  exchange?: string | null;
  namespace?: string | null;
  /** The API version the request needs, e.g. '1.0'. */
  version?: string | null;
  /** Cast to every server on the topic (casts only). */
  fanout?: boolean;
}

export interface CallOptions {
  /** Overall call timeout in seconds (default: the transport's rpcResponseTimeout, 60). */
  timeout?: number | null;
  /**
   * Call-monitor timeout in seconds, sent as `_timeout`: the server heartbeats
   * every timeout/2 s and the call fails if no heartbeat arrives in time.
   * Must be >= 2 for a server to heartbeat at all (it rounds down).
   */
  callMonitorTimeout?: number | null;
  /** Refuse to send versions above this cap (oslo version_cap). */
  versionCap?: string | null;
}

export type PrepareOptions = Partial<Target> & CallOptions;

export class InvalidTarget extends MessagingError {
  override name = 'InvalidTarget';
}

export class RpcVersionCapError extends MessagingError {
  override name = 'RpcVersionCapError';
}

export class RpcClient {
  constructor(
    private readonly transport: Transport,
    readonly target: Target,
    readonly options: CallOptions = {},
  ) {
    if (!target.topic) throw new InvalidTarget('a target needs a topic');
  }

  /** A client with some target fields or options overridden (oslo prepare()). */
  prepare(overrides: PrepareOptions): RpcClient {
    const { timeout, callMonitorTimeout, versionCap, ...target } = overrides;
    const opts: CallOptions = { ...this.options };
    if (timeout !== undefined) opts.timeout = timeout;
    if (callMonitorTimeout !== undefined) opts.callMonitorTimeout = callMonitorTimeout;
    if (versionCap !== undefined) opts.versionCap = versionCap;
    return new RpcClient(this.transport, { ...this.target, ...target }, opts);
  }

  /** Whether `version` (default: the target's) is allowed by the version cap. */
  canSendVersion(version: string | null | undefined = this.target.version): boolean {
    return versionIsCompatible(this.options.versionCap ?? null, version ?? null);
  }

  private checkVersionCap(): void {
    if (this.options.versionCap != null && !this.canSendVersion()) {
      throw new RpcVersionCapError(
        `Requested message version, ${this.target.version} is incompatible. It needs to be equal in major ` +
          `version and less than or equal in minor version as the specified version cap ${this.options.versionCap}.`,
      );
    }
  }

  private exchangeSpec(): ExchangeSpec {
    return topicExchange(this.target.exchange ?? this.transport.controlExchange, this.transport.topology);
  }

  private routingKey(): string {
    return this.target.server ? `${this.target.topic}.${this.target.server}` : this.target.topic;
  }

  /**
   * Invoke `method` and wait for its result. Rejects with RemoteError (the
   * handler failed), MessagingTimeout, ConnectionLost or MessageDeliveryFailure.
   */
  async call<T = unknown>(context: Context, method: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.target.fanout) throw new InvalidTarget('A call cannot be used with fanout');
    this.checkVersionCap();
    const timeoutS = this.options.timeout ?? this.transport.rpcResponseTimeout;
    const cm = this.options.callMonitorTimeout ?? null;
    const deadline = Date.now() + timeoutS * 1000;
    const waiter = this.transport.replyWaiter();
    const replyQ = await waiter.ready(timeoutS * 1000);
    const msgId = newId();
    const msg = buildRequest({
      method,
      args,
      context,
      namespace: this.target.namespace ?? undefined,
      version: this.target.version ?? undefined,
      reply: { msgId, replyQ, callMonitorTimeout: cm },
    });
    const wait = waiter.wait(msgId, {
      method,
      topic: this.target.topic,
      timeoutMs: Math.max(0, deadline - Date.now()),
      callMonitorMs: cm === null ? null : cm * 1000,
    });
    const body = serializeMsg(msg);
    try {
      // the request expires with the caller's patience, like kombu's expiration=timeout
      await this.sendWithRetry(this.exchangeSpec(), this.routingKey(), body, deadline, timeoutS);
      wait.markSent();
    } catch (err) {
      wait.cancel();
      throw err;
    }
    return (await wait.promise) as T;
  }

  /** Invoke `method` without waiting for a result; resolves when the broker has the message. */
  async cast(context: Context, method: string, args: Record<string, unknown> = {}): Promise<void> {
    this.checkVersionCap();
    const msg = buildRequest({
      method,
      args,
      context,
      namespace: this.target.namespace ?? undefined,
      version: this.target.version ?? undefined,
    });
    const timeoutS = this.options.timeout ?? this.transport.rpcResponseTimeout;
    const deadline = Date.now() + timeoutS * 1000;
    const body = serializeMsg(msg);
    if (this.target.fanout) {
      await this.sendWithRetry(fanoutExchange(this.target.topic), '', body, deadline);
    } else {
      await this.sendWithRetry(this.exchangeSpec(), this.routingKey(), body, deadline);
    }
  }

  /**
   * Publish, riding out a reconnect (oslo's ensure() does the same): a retry
   * reuses the same body, hence the same `_unique_id`, so a server that got
   * the first copy drops the second.
   */
  private async sendWithRetry(
    exchange: ExchangeSpec,
    routingKey: string,
    body: Buffer,
    deadline: number,
    expirationS?: number,
  ): Promise<void> {
    const conn = this.transport.connection;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new MessageDeliveryFailure(`could not send to ${exchange.name}/${routingKey} in time`);
      const generation = conn.generation;
      try {
        await conn.publish(exchange, routingKey, body, publishProperties(expirationS), {
          connectWaitMs: left,
        });
        return;
      } catch (err) {
        if (!(err instanceof MessageDeliveryFailure) || deadline - Date.now() <= 0) throw err;
        await new Promise((r) => setTimeout(r, 10)); // let a dying connection report itself closed
        if (conn.isConnected() && conn.generation === generation) {
          // the channel failed but the connection is up (e.g. 406 on the exchange): not transient
          throw err;
        }
        this.transport.log.debug(
          { exchange: exchange.name, routingKey },
          'publish failed; retrying after reconnect',
        );
      }
    }
  }
}
