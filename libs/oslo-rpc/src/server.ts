// An oslo-compatible RPC server (rpc/server.py + amqpdriver.py listener).
// Consumes `<topic>`, `<topic>.<server>` and `<topic>_fanout_<hex>`, acks each
// message on receipt (at-most-once, like RpcAMQPListener), drops duplicates
// by `_unique_id`, dispatches through the endpoints, sends call-monitor
// heartbeats while a handler runs, and replies with a result or a failure.
// Bad input never takes the server down: a call gets a failure reply, a cast
// is logged and dropped.
import type { ConsumeMessage } from 'amqplib';
import { errInfo, type ConsumerHandle } from './connection';
import { MsgIdCache } from './dedupe';
import { Dispatcher, type Endpoint, type RequestInfo } from './dispatcher';
import { OsloError, serializeFailure } from './errors';
import { redactContext, type Logger } from './logger';
import { serverConsumers } from './topology';
import type { Transport } from './transport';
import {
  buildHeartbeat,
  buildReply,
  deserializeMsg,
  isPlainObject,
  serializeMsg,
  unpackRequest,
  type IncomingRequest,
} from './wire';

export interface ServerTarget {
  topic: string;
  /** This host's name: the `<topic>.<server>` queue. */
  server: string;
  /** Overrides the transport's control exchange. */
  exchange?: string;
}

export interface RpcServerOptions {
  /** Handlers running at once; more requests wait in memory (oslo executor_thread_pool_size, 64). */
  maxConcurrency?: number;
  logger?: Logger;
}

/** Python's int() for `_timeout`: ints, integral strings, floats truncated; anything else 0. */
function pyInt(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
  return 0;
}

function malformed(message: string): OsloError {
  // builtins are always rebuilt natively by a Python caller
  return new OsloError({
    className: 'ValueError',
    module: 'builtins',
    message: `Malformed RPC request: ${message}`,
  });
}

export class RpcServer {
  private readonly log: Logger;
  private readonly dispatcher: Dispatcher;
  private readonly maxConcurrency: number;
  private readonly seen = new MsgIdCache();
  private readonly backlog: IncomingRequest[] = [];
  private handles: ConsumerHandle[] = [];
  private running = 0;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly transport: Transport,
    readonly target: ServerTarget,
    endpoints: readonly Endpoint[],
    opts: RpcServerOptions = {},
  ) {
    this.log = opts.logger ?? transport.log;
    this.dispatcher = new Dispatcher(endpoints);
    this.maxConcurrency = Math.max(1, opts.maxConcurrency ?? 64);
  }

  /**
   * Declare the queues and start consuming. Resolves once consuming; if the
   * broker is down it keeps retrying in the background and resolves when up
   * (pass `timeoutSeconds` to bound the wait).
   */
  async start(timeoutSeconds = Infinity): Promise<void> {
    if (this.state !== 'new') throw new Error(`RpcServer already ${this.state}`);
    this.state = 'running';
    const conn = this.transport.connection;
    const exchange = this.target.exchange ?? this.transport.controlExchange;
    const specs = serverConsumers(exchange, this.target.topic, this.target.server, this.transport.topology);
    try {
      for (const spec of specs) {
        this.handles.push(await conn.addConsumer(spec, (msg, ack) => this.onDelivery(msg, ack)));
      }
    } catch (err) {
      // all or nothing: do not leave half a server consuming
      await Promise.all(this.handles.map((h) => conn.removeConsumer(h)));
      this.handles = [];
      this.state = 'new';
      throw err;
    }
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (const h of this.handles) await conn.waitConsuming(h, deadline - Date.now());
    this.log.info({ exchange, topic: this.target.topic, server: this.target.server }, 'RPC server consuming');
  }

  /** Names of the queues this server consumes (for diagnostics and tests). */
  get queues(): string[] {
    return this.handles.map((h) => h.spec.queue.name);
  }

  /**
   * Stop consuming, let running (and already received) requests finish and
   * reply, then resolve. After `timeoutSeconds` it resolves anyway.
   */
  async stop(timeoutSeconds = Infinity): Promise<void> {
    if (this.state === 'stopped' || this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    const handles = this.handles;
    this.handles = [];
    // like oslo's Connection.close, the per-process fanout queue is deleted; the shared ones stay
    await Promise.all(
      handles.map((h) =>
        this.transport.connection.removeConsumer(h, { deleteQueue: h.spec.exchange?.type === 'fanout' }),
      ),
    );
    if (this.running > 0 || this.backlog.length > 0) {
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const done = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
        this.idleWaiters.push(done);
        if (Number.isFinite(timeoutSeconds)) {
          timer = setTimeout(() => {
            this.log.warn(
              { running: this.running, queued: this.backlog.length },
              'RPC server stop timed out',
            );
            resolve();
          }, timeoutSeconds * 1000);
        }
      });
    }
    this.state = 'stopped';
    this.log.info({ topic: this.target.topic, server: this.target.server }, 'RPC server stopped');
  }

  private onDelivery(msg: ConsumeMessage, ack: () => boolean): void {
    // ack first, dispatch after: a request that crashes us is not redelivered forever (oslo bug 1695746)
    if (!ack()) {
      this.log.warn({ queue: msg.fields.routingKey }, 'discarding RPC request due to failed acknowledge');
      return;
    }
    let raw: Record<string, unknown>;
    try {
      raw = deserializeMsg(msg.content);
    } catch (err) {
      // no readable _reply_q: nobody to answer
      this.log.warn(
        { err: (err as Error).message, exchange: msg.fields.exchange },
        'dropping malformed message',
      );
      return;
    }
    const req = unpackRequest(raw);
    if (req.uniqueId !== null) {
      if (this.seen.has(req.uniqueId)) {
        this.log.warn({ uniqueId: req.uniqueId, msgId: req.msgId }, 'ignoring duplicate message');
        return;
      }
      this.seen.add(req.uniqueId);
    }
    if (this.state === 'stopped') {
      this.log.warn({ msgId: req.msgId, method: req.method }, 'RPC server stopped; dropping request');
      return;
    }
    this.backlog.push(req);
    this.pump();
  }

  private pump(): void {
    while (this.running < this.maxConcurrency && this.backlog.length > 0) {
      const req = this.backlog.shift() as IncomingRequest;
      this.running++;
      void this.handle(req).finally(() => {
        this.running--;
        this.pump();
        if (this.running === 0 && this.backlog.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private async handle(req: IncomingRequest): Promise<void> {
    const isCall = req.msgId !== null && req.replyQ !== null; // oslo: no _msg_id, no reply
    const method = typeof req.method === 'string' ? req.method : String(req.method);
    const logCtx = {
      method,
      msgId: req.msgId,
      requestId: req.context.request_id,
      topic: this.target.topic,
    };
    const stopBeats = isCall ? this.startHeartbeats(req, method) : () => undefined;
    let result: unknown;
    let failed = false;
    let failure: unknown;
    try {
      result = await this.invoke(req, method);
    } catch (err) {
      failed = true;
      failure = err;
    }
    stopBeats();

    if (failed) {
      const expected = failure instanceof OsloError;
      const line = {
        ...logCtx,
        err: errInfo(failure),
        ...(expected ? {} : { stack: (failure as Error)?.stack }),
      };
      if (expected) this.log.info(line, 'RPC handler raised');
      else this.log.error(line, 'exception during message handling');
      if (!isCall) return; // a cast's failure has nobody to go to
      await this.reply(req, null, true, failure);
      return;
    }
    if (isCall) await this.reply(req, result, false);
    this.log.debug(logCtx, isCall ? 'RPC call handled' : 'RPC cast handled');
  }

  private async invoke(req: IncomingRequest, method: string): Promise<unknown> {
    if (typeof req.method !== 'string' || req.method === '')
      throw malformed('"method" must be a non-empty string');
    if (!isPlainObject(req.args)) throw malformed('"args" must be an object');
    if (req.namespace !== null && typeof req.namespace !== 'string') {
      throw malformed('"namespace" must be a string');
    }
    if (typeof req.version !== 'string') throw malformed('"version" must be a string');
    const handler = this.dispatcher.resolve({ method, namespace: req.namespace, version: req.version });
    const info: RequestInfo = {
      method,
      namespace: req.namespace,
      version: req.version,
      msgId: req.msgId,
      uniqueId: req.uniqueId,
      clientTimeout: pyInt(req.clientTimeout) || null,
    };
    this.log.debug(
      { method, msgId: req.msgId, context: redactContext(req.context) },
      req.msgId ? 'RPC call received' : 'RPC cast received',
    );
    return await handler(req.context, req.args, info);
  }

  /** Call-monitor heartbeats every _timeout/2 s while the handler runs (dispatcher.py _watchdog). */
  private startHeartbeats(req: IncomingRequest, method: string): () => void {
    if (!req.clientTimeout) return () => undefined; // oslo starts the watchdog only for a truthy _timeout
    const interval = pyInt(req.clientTimeout) / 2;
    if (interval < 1) {
      this.log.warn({ method, clientTimeout: req.clientTimeout }, 'client provided an invalid timeout value');
      return () => undefined;
    }
    const msgId = req.msgId as string;
    const replyQ = req.replyQ as string;
    const timer = setInterval(() => {
      this.log.debug({ method, msgId, interval }, 'sending call-monitor heartbeat');
      void this.transport.replies.heartbeat(replyQ, buildHeartbeat(msgId));
    }, interval * 1000);
    return () => clearInterval(timer);
  }

  private async reply(
    req: IncomingRequest,
    result: unknown,
    failed: boolean,
    failure?: unknown,
  ): Promise<void> {
    const msgId = req.msgId as string;
    let reply = failed
      ? buildReply(msgId, null, serializeFailure(failure, this.transport.includeTracebacks))
      : buildReply(msgId, result, null);
    let body: Buffer;
    try {
      body = serializeMsg(reply);
    } catch (err) {
      // e.g. a BigInt or a cycle in the result: tell the caller instead of leaving it to time out
      const e = new OsloError({
        className: 'TypeError',
        module: 'builtins',
        message: `RPC result is not JSON serializable: ${(err as Error).message}`,
      });
      this.log.error({ method: req.method, msgId, err: errInfo(err) }, 'cannot serialize RPC result');
      reply = buildReply(msgId, null, serializeFailure(e, false));
      body = serializeMsg(reply);
    }
    await this.transport.replies.send(req.replyQ as string, reply, body);
  }
}
