#!/usr/bin/env python3
"""test_workers.py - worker exhaustion (issue 10, attack 2), over raw HTTP
through each front server.

- One client address (REMOTE_ADDR; each client here binds its socket to
  its own 127.x address) holds at most held_per_addr polls and streams
  across every process; each chat.fcgi process holds at most threads -
  held_reserve.  A receiving request over either bound is answered at
  once with a heartbeat frame ("h", what a long-poll gets at a heartbeat),
  so sockjs-client polls or reopens again and its session stays open.
- While attackers hold all they may, plus POSTs whose body never comes, a
  well-behaved client from another address gets /info, /api and a whole
  xhr session (open, xhr_send, receive) answered.
- Streams opened and closed at once let their leases go well before the
  heartbeat: behind Apache, which tells chat.fcgi that a client left only
  through a failed write, held requests write "h" every held_probe_ms
  (conf/serve.sh sets it for the Apache fronts).
"""

import json
import os
import sqlite3
import sys
import time
import unittest
import uuid

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import taprunner  # noqa: E402

THREADS = 16
RESERVE = 4
PER_ADDR = 6
HEARTBEAT_MS = 25000
OPTIONS = {'threads': THREADS, 'held_reserve': RESERVE, 'held_per_addr': PER_ADDR,
           'heartbeat_ms': HEARTBEAT_MS, 'body_timeout_ms': 3000}
WAIT = 20.0
ATTACKERS = ['127.0.0.1', '127.0.0.3', '127.0.0.4']
GOOD = '127.0.0.2'
PRELUDE = b'h' * 2048 + b'\n'


def stomp(command, headers, body=''):
    return '%s\n%s\n\n%s\x00' % (command, ''.join('%s:%s\n' % h for h in headers.items()), body)


class Base:
    front = 'lighttpd'
    budget = THREADS - RESERVE  # held requests the stack holds at once

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(cls.front, fcgi_procs=1, options=OPTIONS,
                                  env={'FCGID_MAX_PROCS': '32'})
        cls.addClassCleanup(cls.stack.stop)
        cls.stack.start()

    def held(self, peer=None):
        """Unexpired leases in chat.db (of peer's sessions only, if given)."""
        db = sqlite3.connect('file:%s/chat.db?mode=ro' % self.stack.var, uri=True, timeout=WAIT)
        try:
            sql = ('SELECT count(*) FROM sessions WHERE lease_owner IS NOT NULL'
                   ' AND lease_until_ms > ?')
            args = [int(time.time() * 1000)]
            if peer is not None:
                sql += ' AND peer = ?'
                args.append(peer)
            return db.execute(sql, args).fetchone()[0]
        finally:
            db.close()

    def open_stream(self, source):
        """A new session's xhr_streaming: the open HTTPStream, read up to "o"."""
        s = self.stack.stream('POST', '/chat/000/%s/xhr_streaming' % uuid.uuid4().hex, b'',
                              timeout=WAIT, source=source)
        self.assertEqual(s.status, 200)
        self.assertEqual(s.read_until(b'o\n'), PRELUDE + b'o\n')
        return s

    def attack(self):
        """Each attacker opens streams until one is answered at once; returns
        the held ones.  Sequential, so each sees the leases of the ones
        before it."""
        held = []
        for source in ATTACKERS:
            for _ in range(PER_ADDR + 2):  # bounded: the bound is PER_ADDR
                s = self.open_stream(source)
                if len(held) < self.budget and \
                        sum(1 for h in held if h[0] == source) < PER_ADDR:
                    held.append((source, s))
                    continue
                # Over a bound: the heartbeat, and the response ends.
                self.assertEqual(s.read_all(), b'h\n')
                s.close()
                break
        return [s for _, s in held]

    def slow_posts(self, n):
        """n POSTs to xhr_send whose body never comes."""
        posts = []
        for _ in range(n):
            s = harness.HTTPStream(self.stack.host, self.stack.port, WAIT, 'POST', ATTACKERS[0])
            s.send(b'POST /chat/000/%s/xhr_send HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                   b'Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n'
                   % uuid.uuid4().hex.encode())
            posts.append(s)
        return posts

    def assert_good_client_served(self):
        r = self.stack.request('GET', '/chat/info', timeout=WAIT, source=GOOD)
        self.assertEqual(r.status, 200, r)
        r = self.stack.request('GET', '/api/rooms', timeout=WAIT, source=GOOD)
        self.assertEqual(r.status, 200, r)
        base = '/chat/000/%s' % uuid.uuid4().hex
        r = self.stack.request('POST', base + '/xhr', b'', timeout=WAIT, source=GOOD)
        self.assertEqual(r.body, b'o\n')
        frame = stomp('CONNECT', {'accept-version': '1.2', 'host': 'localhost'})
        r = self.stack.request('POST', base + '/xhr_send', json.dumps([frame]), timeout=WAIT,
                               source=GOOD)
        self.assertEqual(r.status, 204, r)
        for _ in range(20):  # bounded: "h" is "nothing yet", and the client polls again
            r = self.stack.request('POST', base + '/xhr', b'', timeout=WAIT, source=GOOD)
            if r.body != b'h\n':
                break
        self.assertTrue(r.body.startswith(b'a["CONNECTED'), r.body)

    def close_all(self, streams):
        for s in streams:
            s.close()
        # Released on the client's departure, well before the heartbeat.
        harness.wait_until(lambda: self.held() == 0, timeout=HEARTBEAT_MS / 2000,
                           what='every held lease released')

    def test_held_bounded_and_good_client_served(self):
        streams = self.attack()
        try:
            self.assertEqual(self.held(), len(streams))
            for source in ATTACKERS:
                self.assertLessEqual(self.held(source), PER_ADDR)
            self.assertEqual(len(streams), min(self.budget, PER_ADDR * len(ATTACKERS)))
            self.assert_good_client_served()
        finally:
            self.close_all(streams)

    def test_slow_posts_do_not_stall(self):
        posts = self.slow_posts(2 * THREADS)
        try:
            self.assert_good_client_served()
        finally:
            for s in posts:
                s.close()

    def test_vanished_streams_released(self):
        streams = self.attack()
        self.assertTrue(streams)
        self.close_all(streams)
        self.assert_good_client_served()


class Lighttpd(Base, harness.StackTestCase):
    front = 'lighttpd'


class ApacheFcgid(Base, harness.StackTestCase):
    """One thread per process: conf/serve.sh sets held_max to
    FcgidMaxProcesses (FCGID_MAX_PROCS, 32 here) - 16."""
    front = 'apache-fcgid'
    budget = 32 - 16


class ApacheProxyFcgi(Base, harness.StackTestCase):
    front = 'apache-proxy-fcgi'


if __name__ == '__main__':
    taprunner.main()
