#!/usr/bin/env python3
"""post_flood.py - what one guest flooding chat posts costs (issue 10,
attack 4): posts stored per second and disk growth over DURATION seconds.

Starts the stack behind lighttpd (SQLite store) twice: without SEND limits
(rate_guest_sends_burst 0, as before the limits) and with the defaults
(rate_guest_sends 1, burst 5).  One guest session sends posts to "general"
in xhr_send batches of 50, as fast as the server answers, for DURATION s;
stored posts are the room's seq in chat.db, the disk is chat.db (+ WAL)
and history.db in the state directory.

    python3 bench/post_flood.py [--seconds 5] [--front lighttpd]

Run from a build directory (or set top_builddir).
"""

import argparse
import json
import os
import sqlite3
import sys
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
import harness  # noqa: E402

LIMITED = {'rate_guest_sends': 1, 'rate_guest_sends_burst': 5}


def stomp(command, headers, body=''):
    return '%s\n%s\n\n%s\x00' % (command, ''.join('%s:%s\n' % h for h in headers.items()), body)


def disk(var):
    return sum(os.path.getsize(os.path.join(var, f)) for f in os.listdir(var)
               if f.startswith(('chat.db', 'history.db')))


def measure(front, seconds, options):
    with harness.Stack(front, options=options) as stack:
        base = '/chat/000/%s' % uuid.uuid4().hex
        assert stack.request('POST', base + '/xhr', b'').body == b'o\n'
        send = lambda frames: stack.request('POST', base + '/xhr_send', json.dumps(frames))  # noqa: E731
        send([stomp('CONNECT', {'accept-version': '1.2', 'host': 'localhost'}),
              stomp('SUBSCRIBE', {'id': 'err', 'destination': '/user/queue/errors'})])
        before, sent, t0 = disk(stack.var), 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            r = send([stomp('SEND', {'destination': '/app/chat/room/general'},
                            json.dumps({'text': 'flood %d' % (sent + i)})) for i in range(50)])
            assert r.status == 204, r
            sent += 50
        elapsed = time.monotonic() - t0
        grew = disk(stack.var) - before
        db = sqlite3.connect(os.path.join(stack.var, 'chat.db'), timeout=30)
        row = db.execute("SELECT seq FROM chat_room_seq WHERE room = 'general'").fetchone()
        db.close()
        stored = row[0] if row else 0
        print('%s %s: sent %d in %.1f s, stored %d (%.0f posts/s), disk +%d KiB'
              % (front, 'limited' if options else 'unlimited', sent, elapsed, stored,
                 stored / elapsed, grew // 1024))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=float, default=5.0)
    ap.add_argument('--front', default='lighttpd')
    args = ap.parse_args()
    measure(args.front, args.seconds, {})
    measure(args.front, args.seconds, LIMITED)


if __name__ == '__main__':
    main()
