// The caller's side of replies (amqpdriver.py ReplyWaiter): one reply queue
// per transport, calls waiting by `_msg_id`, and the call-monitor logic: the
// overall timeout always applies, and with a call-monitor timeout each
// `ending: false` heartbeat from the server restarts that second timer, so a
// long call lives as long as the server keeps beating.
import type { ConnectionManager, ConsumerHandle } from './connection';
import { ConnectionLost, MessagingTimeout, deserializeFailure, type RemoteError } from './errors';
import type { Logger } from './logger';
import { replyConsumer, type ConsumerSpec, type TopologyOptions } from './topology';
import { deserializeMsg } from './wire';

export interface WaitOptions {
  method: string;
  topic: string;
  /** overall timeout, ms */
  timeoutMs: number;
  /** call-monitor timeout, ms; null = none */
  callMonitorMs: number | null;
}

interface PendingCall {
  opts: WaitOptions;
  sent: boolean;
  deadline: number;
  cmDeadline: number;
  timer: NodeJS.Timeout | null;
  result: unknown;
  failure: RemoteError | null;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export interface WaitHandle {
  promise: Promise<unknown>;
  /** The request reached the broker: from now on a connection loss fails the call. */
  markSent(): void;
  /** Stop waiting (the request could not be sent). */
  cancel(): void;
}

export class ReplyWaiter {
  readonly queue: string;
  private readonly spec: ConsumerSpec;
  private handle: Promise<ConsumerHandle> | null = null;
  private readonly pending = new Map<string, PendingCall>();
  private readonly onDisconnect = () => this.failSent();

  constructor(
    private readonly conn: ConnectionManager,
    topology: TopologyOptions,
    private readonly log: Logger,
  ) {
    this.spec = replyConsumer(topology);
    this.queue = this.spec.queue.name;
    conn.on('disconnected', this.onDisconnect);
  }

  /** Declare and consume the reply queue (once); resolve when it is live. */
  async ready(connectWaitMs: number): Promise<string> {
    if (!this.handle) {
      this.handle = this.conn.addConsumer(this.spec, (msg, ack) => this.onMessage(msg.content, ack));
    }
    // connected: this waits for the queue declaration, so the first request never
    // races its own reply queue; not connected: the next connect declares it first
    let handle: ConsumerHandle;
    try {
      handle = await this.handle;
    } catch (err) {
      this.handle = null; // refused by the broker: let the next call try again
      throw err;
    }
    await this.conn.waitConsuming(handle, connectWaitMs);
    return this.queue;
  }

  get waiting(): number {
    return this.pending.size;
  }

  wait(msgId: string, opts: WaitOptions): WaitHandle {
    let resolve!: (v: unknown) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const now = Date.now();
    const p: PendingCall = {
      opts,
      sent: false,
      deadline: now + opts.timeoutMs,
      cmDeadline: opts.callMonitorMs === null ? Infinity : now + opts.callMonitorMs,
      timer: null,
      result: null,
      failure: null,
      resolve,
      reject,
    };
    this.pending.set(msgId, p);
    this.arm(msgId, p);
    return {
      promise,
      markSent: () => {
        p.sent = true;
      },
      cancel: () => this.settle(msgId, p),
    };
  }

  private arm(msgId: string, p: PendingCall): void {
    if (p.timer) clearTimeout(p.timer);
    const until = Math.min(p.deadline, p.cmDeadline);
    p.timer = setTimeout(() => this.onTimeout(msgId, p), Math.max(0, until - Date.now()));
  }

  private onTimeout(msgId: string, p: PendingCall): void {
    const byMonitor = p.cmDeadline < p.deadline;
    const why = byMonitor
      ? `no call-monitor heartbeat within ${p.opts.callMonitorMs} ms`
      : `after ${p.opts.timeoutMs} ms`;
    this.settle(
      msgId,
      p,
      new MessagingTimeout(
        `Timed out waiting for a reply to message ID ${msgId} (method ${p.opts.method}, topic ${p.opts.topic}, ${why})`,
        msgId,
        p.opts.method,
        p.opts.topic,
      ),
    );
  }

  private settle(msgId: string, p: PendingCall, err?: Error, value?: unknown): void {
    if (this.pending.get(msgId) !== p) return;
    this.pending.delete(msgId);
    if (p.timer) clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(value);
  }

  private onMessage(content: Buffer, ack: () => boolean): void {
    ack(); // replies are acked on receipt, like oslo's ReplyWaiter
    let data: Record<string, unknown>;
    try {
      data = deserializeMsg(content);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, queue: this.queue }, 'dropping malformed reply');
      return;
    }
    const msgId = data._msg_id;
    const p = typeof msgId === 'string' ? this.pending.get(msgId) : undefined;
    if (!p || typeof msgId !== 'string') {
      // late reply after a timeout, or for another process sharing nothing: oslo logs and drops too
      this.log.info({ msgId }, 'no call waiting for this reply');
      return;
    }
    const ending = data.ending === true;
    if (data.failure) {
      p.failure = deserializeFailure(data.failure);
    } else if (data.result !== null && data.result !== undefined) {
      p.result = data.result;
    } else if (!ending) {
      // call-monitor heartbeat: the server is still working on it
      if (p.opts.callMonitorMs !== null) p.cmDeadline = Date.now() + p.opts.callMonitorMs;
      this.arm(msgId, p);
      return;
    }
    if (ending || !('ending' in data)) {
      // pre-`ending` servers sent the result alone; treat it as final
      if (p.failure) this.settle(msgId, p, p.failure);
      else this.settle(msgId, p, undefined, p.result);
    }
  }

  /** Connection lost: replies to calls already sent will not come (reply queue and requests are transient). */
  private failSent(): void {
    for (const [msgId, p] of [...this.pending]) {
      if (!p.sent) continue; // still waiting to be published; it will be sent after reconnecting
      this.settle(
        msgId,
        p,
        new ConnectionLost(
          `connection to the message broker lost while waiting for the reply to ${p.opts.method} ` +
            `(message ID ${msgId}); the server may or may not have run it`,
          msgId,
          p.opts.method,
        ),
      );
    }
  }

  /** Transport closing: fail every waiting call. */
  shutdown(): void {
    this.conn.off('disconnected', this.onDisconnect);
    for (const [msgId, p] of [...this.pending]) {
      this.settle(
        msgId,
        p,
        new ConnectionLost(`transport closed while waiting for ${p.opts.method}`, msgId, p.opts.method),
      );
    }
  }
}
