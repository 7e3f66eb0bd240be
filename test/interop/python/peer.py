#!/usr/bin/python3
"""The real oslo.messaging peer for the Berth interop tests.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging 14.0.3). It speaks
JSON lines: one command per stdin line, one answer per stdout line (plus
``{"event": ...}`` lines for messages the Python RPC server receives), so one
long-lived process serves a whole test file and Python's slow start-up
(importing oslo) is paid once.

Commands (``id`` is echoed back):
  {"id": 1, "op": "serve", "topic": "t", "server": "s"}
  {"id": 2, "op": "stop_server"}
  {"id": 3, "op": "call", "target": {"topic": "t", "server": "s", "version": "1.0",
   "namespace": null}, "method": "m", "args": {}, "ctxt": {}, "timeout": 10,
   "call_monitor_timeout": null}
  {"id": 4, "op": "cast", "target": {..., "fanout": true}, "method": "m", "args": {}, "ctxt": {}}
  {"id": 5, "op": "quit"}
Answers: {"id": 1, "ok": true, "result": ...} or {"id": 1, "ok": false, "error": {...}}.
"""
import argparse
import concurrent.futures
import json
import logging
import sys
import threading
import time
import traceback

from oslo_config import cfg
import oslo_messaging as om

_out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, default=repr)
    with _out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def describe_exception(exc):
    cls = type(exc)
    return {
        'class': cls.__name__,
        'module': cls.__module__,
        'mro': ['%s.%s' % (c.__module__, c.__name__) for c in cls.__mro__],
        'str': str(exc),
        'kwargs': getattr(exc, 'kwargs', None),
        # oslo_messaging.RemoteError carries these
        'exc_type': getattr(exc, 'exc_type', None),
        'value': getattr(exc, 'value', None),
    }


class Endpoint(object):
    """Default namespace, version 1.3."""

    target = om.Target(version='1.3')

    def __init__(self, server_name):
        self.server_name = server_name

    def _event(self, method, ctxt, args):
        emit({'event': 'received', 'server': self.server_name, 'method': method,
              'args': args, 'ctxt': ctxt})

    def echo(self, ctxt, **kwargs):
        self._event('echo', ctxt, kwargs)
        return {'args': kwargs, 'ctxt': ctxt, 'server': self.server_name}

    def add(self, ctxt, a, b):
        return a + b

    def sleep(self, ctxt, seconds):
        time.sleep(seconds)
        return 'slept %s' % seconds

    def record(self, ctxt, **kwargs):
        self._event('record', ctxt, kwargs)

    def raise_demo(self, ctxt, name):
        import berth_interop_exc
        raise berth_interop_exc.DemoNotFound(name=name)

    def raise_nova(self, ctxt, instance_id):
        from nova import exception
        raise exception.InstanceNotFound(instance_id=instance_id)

    def raise_value(self, ctxt, message):
        raise ValueError(message)

    def raise_unlisted(self, ctxt):
        # a module the TS client does not treat specially
        raise om.MessagingException('unlisted failure')


class NamespacedEndpoint(object):
    target = om.Target(namespace='berth_ns', version='2.1')

    def ns_echo(self, ctxt, **kwargs):
        return {'ns': 'berth_ns', 'args': kwargs}


class Peer(object):
    def __init__(self, url, exchange, exmods):
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        om.set_transport_defaults(control_exchange=exchange)
        cfg.CONF([], project='berth-interop')
        self.transport = om.get_rpc_transport(cfg.CONF, url=url, allowed_remote_exmods=exmods)
        # quicker reconnection than the defaults, so the restart test stays short (the
        # rabbit driver registered these options above; connections read them lazily)
        cfg.CONF.set_override('rabbit_retry_interval', 1, group='oslo_messaging_rabbit')
        cfg.CONF.set_override('rabbit_retry_backoff', 1, group='oslo_messaging_rabbit')
        cfg.CONF.set_override('kombu_reconnect_delay', 0.5, group='oslo_messaging_rabbit')
        self.server = None
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=64)

    def client(self, cmd):
        t = dict(cmd.get('target') or {})
        target = om.Target(topic=t['topic'], server=t.get('server'), version=t.get('version'),
                           namespace=t.get('namespace'), fanout=t.get('fanout'))
        return om.get_rpc_client(self.transport, target, timeout=cmd.get('timeout'),
                                 call_monitor_timeout=cmd.get('call_monitor_timeout'))

    def op_serve(self, cmd):
        if self.server is not None:
            raise RuntimeError('already serving')
        target = om.Target(topic=cmd['topic'], server=cmd['server'])
        self.server = om.get_rpc_server(self.transport, target,
                                        [Endpoint(cmd['server']), NamespacedEndpoint()],
                                        executor='threading')
        self.server.start()
        return 'serving'

    def op_stop_server(self, cmd):
        if self.server is not None:
            self.server.stop()
            self.server.wait()
            self.server = None
        return 'stopped'

    def op_call(self, cmd):
        return self.client(cmd).call(cmd.get('ctxt') or {}, cmd['method'], **(cmd.get('args') or {}))

    def op_cast(self, cmd):
        self.client(cmd).cast(cmd.get('ctxt') or {}, cmd['method'], **(cmd.get('args') or {}))
        return None

    def handle(self, cmd):
        try:
            result = getattr(self, 'op_' + cmd['op'])(cmd)
            emit({'id': cmd.get('id'), 'ok': True, 'result': result})
        except Exception as exc:  # report every failure to the test
            emit({'id': cmd.get('id'), 'ok': False, 'error': describe_exception(exc),
                  'tb': traceback.format_exc()})

    def run(self):
        emit({'event': 'ready'})
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cmd = json.loads(line)
            if cmd['op'] == 'quit':
                break
            if cmd['op'] in ('call', 'cast'):
                self.pool.submit(self.handle, cmd)  # calls may overlap
            else:
                self.handle(cmd)
        self.op_stop_server({})
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.transport.cleanup()
        emit({'event': 'bye'})


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--exchange', default='berth-interop')
    p.add_argument('--allowed-exmods', default='berth_interop_exc,nova.exception')
    a = p.parse_args()
    Peer(a.url, a.exchange, [m for m in a.allowed_exmods.split(',') if m]).run()


if __name__ == '__main__':
    main()
