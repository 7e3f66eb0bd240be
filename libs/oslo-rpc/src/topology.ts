// Exchange and queue declarations, exactly as oslo's rabbit driver makes them
// (impl_rabbit.py declare_*_consumer, *_send; amqpdriver.py listen). RabbitMQ
// refuses (406 PRECONDITION_FAILED) a redeclaration with other flags or
// arguments, so any drift here breaks interop with Python services sharing
// the broker; the interop tests compare both sides' declarations.
import { newId } from './wire';

export interface ExchangeSpec {
  name: string;
  type: 'topic' | 'fanout';
  durable: boolean;
  autoDelete: boolean;
}

export interface QueueSpec {
  name: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: Record<string, unknown>;
}

/** A queue, the exchange it is bound to (none for the default exchange) and the binding key. */
export interface ConsumerSpec {
  exchange: ExchangeSpec | null;
  queue: QueueSpec;
  routingKey: string;
}

/** The oslo config knobs that shape declarations. */
export interface TopologyOptions {
  /** amqp_durable_queues (default false) */
  durableQueues: boolean;
  /** amqp_auto_delete (default false) */
  autoDelete: boolean;
  /** rabbit_transient_queues_ttl in seconds (default 1800); 0 = no x-expires. */
  transientQueuesTtl: number;
}

export const DEFAULT_TOPOLOGY: TopologyOptions = {
  durableQueues: false,
  autoDelete: false,
  transientQueuesTtl: 1800,
};

function transientArgs(o: TopologyOptions): Record<string, unknown> {
  return o.transientQueuesTtl > 0 ? { 'x-expires': o.transientQueuesTtl * 1000 } : {};
}

/** The control exchange (`nova`, `openstack`, ...): topic, durable/auto_delete from config. */
export function topicExchange(name: string, o: TopologyOptions): ExchangeSpec {
  return { name, type: 'topic', durable: o.durableQueues, autoDelete: o.autoDelete };
}

/** `<topic>_fanout`: always non-durable and auto-delete (fanout_send and declare_fanout_consumer agree). */
export function fanoutExchange(topic: string): ExchangeSpec {
  return { name: `${topic}_fanout`, type: 'fanout', durable: false, autoDelete: true };
}

/** `<topic>` or `<topic>.<server>` on the control exchange; no queue arguments (no TTL for these). */
export function topicConsumer(exchange: string, routingKey: string, o: TopologyOptions): ConsumerSpec {
  return {
    exchange: topicExchange(exchange, o),
    queue: { name: routingKey, durable: o.durableQueues, autoDelete: o.autoDelete, arguments: {} },
    routingKey,
  };
}

/** `<topic>_fanout_<uuid hex>`, one per server process, expiring when unused. */
export function fanoutConsumer(topic: string, o: TopologyOptions, unique = newId()): ConsumerSpec {
  return {
    exchange: fanoutExchange(topic),
    queue: {
      name: `${topic}_fanout_${unique}`,
      durable: false,
      autoDelete: false,
      arguments: transientArgs(o),
    },
    routingKey: topic,
  };
}

/** `reply_<uuid hex>` on the default exchange, one per client transport. */
export function replyConsumer(o: TopologyOptions, unique = newId()): ConsumerSpec {
  return {
    exchange: null,
    queue: { name: `reply_${unique}`, durable: false, autoDelete: false, arguments: transientArgs(o) },
    routingKey: '',
  };
}

/** The three consumers of an RPC server (AMQPDriverBase.listen). */
export function serverConsumers(
  exchange: string,
  topic: string,
  server: string,
  o: TopologyOptions,
): ConsumerSpec[] {
  return [
    topicConsumer(exchange, topic, o),
    topicConsumer(exchange, `${topic}.${server}`, o),
    fanoutConsumer(topic, o),
  ];
}
