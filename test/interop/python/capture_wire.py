#!/usr/bin/python3
"""Capture what real oslo.messaging 14 puts on the wire, for unit-test fixtures.

Needs a broker with the firehose on (``rabbitmqctl -n <node> trace_on``).
Runs a real oslo RPC server and client (exchange ``nova``, topic ``capture``,
server ``host1``) through a call with call-monitor heartbeats, a call that
fails with nova.exception.InstanceNotFound, a cast and a fanout cast, and
writes every ``publish.*`` trace message (exchange, routing key, AMQP
properties, body) as JSON to --out.

  /usr/bin/python3 test/interop/python/capture_wire.py --url amqp://guest:guest@127.0.0.1:PORT/ \
      --out libs/oslo-rpc/src/__fixtures__/oslo-wire-capture.json
"""
import argparse
import json
import threading
import time

import kombu
from oslo_config import cfg
import oslo_messaging as om


class Endpoint(object):
    target = om.Target(version='1.0')

    def spawn(self, ctxt, instance_uuid, image):
        time.sleep(3)
        return {'instance_uuid': instance_uuid, 'state': 'running'}

    def get_info(self, ctxt, instance_uuid):
        from nova import exception
        raise exception.InstanceNotFound(instance_id=instance_uuid)

    def power_off(self, ctxt, instance_uuid):
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--out', required=True)
    a = p.parse_args()

    captured = []
    conn = kombu.Connection(a.url.replace('rabbit://', 'amqp://', 1))
    chan = conn.channel()
    q = kombu.Queue('capture-firehose', exchange=kombu.Exchange('amq.rabbitmq.trace', type='topic',
                                                                 passive=True),
                    routing_key='publish.#', channel=chan, exclusive=True)
    q.declare()

    def on_msg(body, message):
        h = message.headers
        if h.get('exchange_name') == 'amq.rabbitmq.trace':
            return
        captured.append({
            'exchange': h.get('exchange_name'),
            'routing_keys': h.get('routing_keys'),
            'properties': h.get('properties'),
            'body': message.body.decode('utf-8') if isinstance(message.body, bytes) else message.body,
        })

    consumer = kombu.Consumer(chan, queues=[q], callbacks=[on_msg], accept=None, no_ack=True)
    consumer.consume()
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            try:
                conn.drain_events(timeout=0.2)
            except Exception:
                pass
    t = threading.Thread(target=drain, daemon=True)
    t.start()

    om.set_transport_defaults(control_exchange='nova')
    cfg.CONF([], project='capture')
    transport = om.get_rpc_transport(cfg.CONF, url=a.url, allowed_remote_exmods=['nova.exception'])
    server = om.get_rpc_server(transport, om.Target(topic='capture', server='host1'), [Endpoint()],
                               executor='threading')
    server.start()
    ctxt = {'request_id': 'req-1', 'user_id': 'u1', 'project_id': 'p1', 'auth_token': 'SECRET-TOKEN',
            'roles': ['member'], 'is_admin': False}
    client = om.get_rpc_client(transport, om.Target(topic='capture', server='host1', version='1.0'),
                               timeout=30, call_monitor_timeout=2)
    result = client.call(ctxt, 'spawn', instance_uuid='uuid-1', image={'id': 'img'})
    print('call result', result)
    try:
        client.prepare(call_monitor_timeout=None).call(ctxt, 'get_info', instance_uuid='0000-1')
    except Exception as exc:
        print('failure', type(exc), exc.__class__.__mro__[1])
    client.cast(ctxt, 'power_off', instance_uuid='uuid-1')
    client.prepare(fanout=True, server=None).cast(ctxt, 'power_off', instance_uuid='uuid-2')
    time.sleep(1)
    server.stop()
    server.wait()
    transport.cleanup()
    stop.set()
    t.join()
    with open(a.out, 'w') as f:
        json.dump(captured, f, indent=2, sort_keys=True)
        f.write('\n')
    print('captured', len(captured))


if __name__ == '__main__':
    main()
