// The shared handle a service creates once: broker connection, oslo config
// knobs, the reply sender (servers) and the lazily created reply queue
// (clients). Like an oslo Transport, many clients and servers share one.
import { ConnectionManager, type ConnectionOptions } from './connection';
import { silentLogger, type Logger } from './logger';
import { ReplySender } from './replies';
import { ReplyWaiter } from './reply-waiter';
import { DEFAULT_TOPOLOGY, type TopologyOptions } from './topology';
import { redactUrl } from './url';

export interface TransportOptions extends Omit<ConnectionOptions, 'logger'> {
  /** transport_url (`rabbit://user:pass@host:5672/`) or an amqp:// URL. */
  url: string;
  /** oslo control_exchange: `nova` for Nova; oslo's default is `openstack`. */
  controlExchange?: string;
  logger?: Logger;
  /** amqp_durable_queues (false) */
  durableQueues?: boolean;
  /** amqp_auto_delete (false) */
  autoDelete?: boolean;
  /** rabbit_transient_queues_ttl, seconds (1800): x-expires of reply and fanout queues. */
  transientQueuesTtl?: number;
  /** rpc_response_timeout, seconds (60): default call timeout. */
  rpcResponseTimeout?: number;
  /** kombu_missing_consumer_retry_timeout, seconds (60): how long a reply retries a missing reply queue. */
  missingConsumerRetryTimeout?: number;
  /** Send JS stack traces in failures' `tb` (oslo always sends Python's). Default true. */
  includeTracebacks?: boolean;
}

export class Transport {
  readonly connection: ConnectionManager;
  readonly controlExchange: string;
  readonly topology: TopologyOptions;
  readonly rpcResponseTimeout: number;
  readonly includeTracebacks: boolean;
  readonly log: Logger;
  readonly replies: ReplySender;
  private waiter: ReplyWaiter | null = null;
  private closed = false;

  constructor(opts: TransportOptions) {
    this.log = opts.logger ?? silentLogger;
    this.controlExchange = opts.controlExchange ?? 'openstack';
    this.topology = {
      durableQueues: opts.durableQueues ?? DEFAULT_TOPOLOGY.durableQueues,
      autoDelete: opts.autoDelete ?? DEFAULT_TOPOLOGY.autoDelete,
      transientQueuesTtl: opts.transientQueuesTtl ?? DEFAULT_TOPOLOGY.transientQueuesTtl,
    };
    this.rpcResponseTimeout = opts.rpcResponseTimeout ?? 60;
    this.includeTracebacks = opts.includeTracebacks ?? true;
    this.connection = new ConnectionManager({ ...opts, logger: this.log });
    this.replies = new ReplySender(this.connection, this.log, opts.missingConsumerRetryTimeout ?? 60);
    this.log.debug(
      { url: redactUrl(opts.url), exchange: this.controlExchange },
      'oslo-rpc transport created',
    );
    this.connection.start();
  }

  /** The process-wide reply queue (`reply_<hex>`), created on the first call. */
  replyWaiter(): ReplyWaiter {
    if (this.closed) throw new Error('transport is closed');
    if (!this.waiter) this.waiter = new ReplyWaiter(this.connection, this.topology, this.log);
    return this.waiter;
  }

  /** Resolve once connected to the broker (handy at service start-up). */
  waitConnected(timeoutSeconds = Infinity): Promise<void> {
    return this.connection.waitConnected(timeoutSeconds * 1000);
  }

  /** Close the connection. Stop servers first (RpcServer.stop) so their handlers can reply. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiter?.shutdown();
    await this.connection.close();
  }
}

export function getTransport(opts: TransportOptions): Transport {
  return new Transport(opts);
}
