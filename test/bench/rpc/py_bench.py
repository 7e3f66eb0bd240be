#!/usr/bin/python3
"""Python side of the RPC benchmark: real oslo.messaging 14 (Debian).

  py_bench.py server --url rabbit://... --topic T        prints "ready", serves until stdin closes
  py_bench.py client --url rabbit://... --topic T --concurrency N --duration S --latency-calls K
                                                          prints one JSON line of results

Mirrors ts-bench.ts exactly: same method, payload, warm-up, and measurement.
"""
import argparse
import logging
import json
import statistics
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging as om

PAYLOAD = 'x' * 256


class Endpoint(object):
    target = om.Target(version='1.0')

    def echo(self, ctxt, i, data):
        return {'i': i, 'data': data}


def transport(url):
    logging.basicConfig(level=logging.ERROR)  # oslo warns about >10 waiting calls; expected here
    om.set_transport_defaults(control_exchange='berth-bench')
    cfg.CONF([], project='berth-bench')
    return om.get_rpc_transport(cfg.CONF, url=url)


def pct(sorted_ms, p):
    if not sorted_ms:
        return None
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


def serve(a):
    t = transport(a.url)
    server = om.get_rpc_server(t, om.Target(topic=a.topic, server='bench'), [Endpoint()],
                               executor='threading')
    server.start()
    print('ready', flush=True)
    sys.stdin.read()  # until the runner closes our stdin
    server.stop()
    server.wait()
    t.cleanup()


def client(a):
    t = transport(a.url)
    c = om.get_rpc_client(t, om.Target(topic=a.topic, server='bench', version='1.0'), timeout=30)
    ctxt = {'request_id': 'req-bench', 'user_id': 'u', 'project_id': 'p'}

    def one(i):
        t0 = time.perf_counter()
        r = c.call(ctxt, 'echo', i=i, data=PAYLOAD)
        dt = (time.perf_counter() - t0) * 1000.0
        assert r['i'] == i
        return dt

    for i in range(1000):  # warm-up: connections, reply queue, caches (and V8 JIT on the TS side)
        one(i)

    lat = sorted(one(i) for i in range(a.latency_calls))

    stop_at = time.perf_counter() + a.duration
    counts = [0] * a.concurrency
    loaded = [[] for _ in range(a.concurrency)]

    def worker(w):
        i = 0
        while time.perf_counter() < stop_at:
            loaded[w].append(one(i))
            i += 1
        counts[w] = i

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    under_load = sorted(x for l in loaded for x in l)
    print(json.dumps({
        'impl': 'python',
        'latency': {'calls': len(lat), 'p50': pct(lat, 50), 'p99': pct(lat, 99), 'mean': statistics.mean(lat)},
        'throughput': {'concurrency': a.concurrency, 'seconds': elapsed, 'calls': sum(counts),
                       'callsPerSecond': sum(counts) / elapsed,
                       'p50': pct(under_load, 50), 'p99': pct(under_load, 99)},
    }), flush=True)
    t.cleanup()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['server', 'client'])
    p.add_argument('--url', required=True)
    p.add_argument('--topic', default='bench-py')
    p.add_argument('--concurrency', type=int, default=32)
    p.add_argument('--duration', type=float, default=10)
    p.add_argument('--latency-calls', type=int, default=2000)
    a = p.parse_args()
    serve(a) if a.mode == 'server' else client(a)


if __name__ == '__main__':
    main()
