import { DEFAULT_TOPOLOGY, fanoutConsumer, replyConsumer, serverConsumers, topicExchange } from './topology';

describe('declarations match oslo impl_rabbit', () => {
  it('server queues: <topic>, <topic>.<server> on the control exchange, and a fanout queue', () => {
    const [topic, server, fanout] = serverConsumers('nova', 'compute', 'host1', DEFAULT_TOPOLOGY);
    const ex = { name: 'nova', type: 'topic', durable: false, autoDelete: false };
    expect(topic).toEqual({
      exchange: ex,
      queue: { name: 'compute', durable: false, autoDelete: false, arguments: {} },
      routingKey: 'compute',
    });
    expect(server).toEqual({
      exchange: ex,
      queue: { name: 'compute.host1', durable: false, autoDelete: false, arguments: {} },
      routingKey: 'compute.host1',
    });
    expect(fanout?.exchange).toEqual({
      name: 'compute_fanout',
      type: 'fanout',
      durable: false,
      autoDelete: true,
    });
    expect(fanout?.queue.name).toMatch(/^compute_fanout_[0-9a-f]{32}$/);
    expect(fanout?.queue).toMatchObject({
      durable: false,
      autoDelete: false,
      arguments: { 'x-expires': 1800000 },
    });
    expect(fanout?.routingKey).toBe('compute');
  });

  it('reply queue: reply_<hex> on the default exchange, x-expires from rabbit_transient_queues_ttl', () => {
    const r = replyConsumer(DEFAULT_TOPOLOGY);
    expect(r.exchange).toBeNull();
    expect(r.queue.name).toMatch(/^reply_[0-9a-f]{32}$/);
    expect(r.queue).toMatchObject({ durable: false, autoDelete: false, arguments: { 'x-expires': 1800000 } });
    expect(replyConsumer({ ...DEFAULT_TOPOLOGY, transientQueuesTtl: 0 }).queue.arguments).toEqual({});
  });

  it('amqp_durable_queues / amqp_auto_delete shape the control exchange and topic queues only', () => {
    const o = { durableQueues: true, autoDelete: true, transientQueuesTtl: 60 };
    expect(topicExchange('nova', o)).toEqual({
      name: 'nova',
      type: 'topic',
      durable: true,
      autoDelete: true,
    });
    expect(fanoutConsumer('t', o).queue).toMatchObject({
      durable: false,
      autoDelete: false,
      arguments: { 'x-expires': 60000 },
    });
  });
});
