#!/usr/bin/env python3
"""held_streams.py - how long a well-behaved client waits while another
address holds many xhr_streaming requests (issue 10, attack 2).

    top_builddir=BUILD python3 bench/held_streams.py [FRONT [N]]

starts the stack (tests/integration/harness.py, the shipped settings) with
FRONT (lighttpd, apache-fcgid, apache-proxy-fcgi; default lighttpd), opens
N (default 128) streams from 127.0.0.1 at once, then times from 127.0.0.2
GET /chat/info, GET /api/rooms and a whole xhr session (open, CONNECT by
xhr_send, the CONNECTED poll).  Each wait is bounded by a 30 s timeout.
"""

import json
import os
import sys
import threading
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests',
                                'integration'))
import harness  # noqa: E402

TIMEOUT = 30.0


def main():
    front = sys.argv[1] if len(sys.argv) > 1 else 'lighttpd'
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    with harness.Stack(front) as stack:
        streams, lock = [], threading.Lock()

        def hold():
            try:
                s = stack.stream('POST', '/chat/000/%s/xhr_streaming' % uuid.uuid4().hex, b'',
                                 timeout=TIMEOUT, source='127.0.0.1')
                with lock:
                    streams.append(s)
            except (OSError, harness.ProtocolError):
                pass
        threads = [threading.Thread(target=hold) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)

        def timed(what, fn):
            t0 = time.monotonic()
            try:
                result = fn()
            except (OSError, harness.ProtocolError) as e:
                result = 'failed: %s' % e
            print('%-18s %-14s %6.2f s  %s' % (front, what, time.monotonic() - t0, result))

        timed('/chat/info', lambda: stack.request('GET', '/chat/info', timeout=TIMEOUT,
                                                  source='127.0.0.2').status)
        timed('/api/rooms', lambda: stack.request('GET', '/api/rooms', timeout=TIMEOUT,
                                                  source='127.0.0.2').status)

        def session():
            base = '/chat/000/%s' % uuid.uuid4().hex
            stack.request('POST', base + '/xhr', b'', timeout=TIMEOUT, source='127.0.0.2')
            frame = 'CONNECT\naccept-version:1.2\nhost:localhost\n\n\x00'
            stack.request('POST', base + '/xhr_send', json.dumps([frame]), timeout=TIMEOUT,
                          source='127.0.0.2')
            r = stack.request('POST', base + '/xhr', b'', timeout=TIMEOUT, source='127.0.0.2')
            return r.body[:14]
        timed('xhr session', session)
        print('%-18s streams opened: %d' % (front, len(streams)))
        for s in streams:
            s.close()


if __name__ == '__main__':
    main()
