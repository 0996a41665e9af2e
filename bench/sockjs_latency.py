#!/usr/bin/env python3
"""sockjs_latency.py - latency of one message from an xhr_send to an
xhr_streaming receiver held by another chat.fcgi process.

Starts the stack (conf/serve.sh) behind each front server named, holds an
xhr_streaming response on a session of the echo service, and N times: sends
one message with xhr_send (a keep-alive connection) and times until it is
read from the stream.  Under Apache mod_fcgid a process serves one request
at a time, so the held stream and each xhr_send are in different processes
by construction; under lighttpd they are two of chat.fcgi's threads or
processes.  The time includes the client's HTTP round trip of the send (the
RECEIPT-like 204 is awaited before the stream is read, as a browser's
sockjs-client does not wait, this is an upper bound).

    python3 bench/sockjs_latency.py [-n 1000] [--front apache-fcgid] [--front lighttpd]

Run from a build directory (or set top_builddir); prints one line per front.
"""

import argparse
import http.client
import os
import statistics
import sys
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
import harness  # noqa: E402


def measure(front, n):
    with harness.Stack(front, test_services=True) as stack:
        sid = str(uuid.uuid4())
        conn = http.client.HTTPConnection(stack.host, stack.port, timeout=10)
        with stack.stream('POST', '/echo/000/%s/xhr_streaming' % sid, b'') as stream:
            stream.read_exactly(2049)
            assert stream.read_until(b'\n') == b'o\n'
            samples = []
            for i in range(n):
                body = ('["m%d"]' % i).encode()
                t0 = time.perf_counter()
                conn.request('POST', '/echo/000/%s/xhr_send' % sid, body)
                r = conn.getresponse()
                r.read()
                assert r.status == 204, r.status
                line = stream.read_until(b'\n')
                samples.append(time.perf_counter() - t0)
                assert line == ('a["m%d"]\n' % i).encode(), line
        conn.close()
    samples.sort()
    us = [s * 1e6 for s in samples]
    return (statistics.median(us), us[int(len(us) * 0.99) - 1], us[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-n', type=int, default=1000)
    ap.add_argument('--front', action='append')
    args = ap.parse_args()
    for front in args.front or ['apache-fcgid', 'lighttpd', 'apache-proxy-fcgi']:
        med, p99, mx = measure(front, args.n)
        print('xhr_send -> xhr_streaming (%s): median %.0f us, p99 %.0f us, max %.0f us (%d messages)'
              % (front, med, p99, mx, args.n))


if __name__ == '__main__':
    main()
