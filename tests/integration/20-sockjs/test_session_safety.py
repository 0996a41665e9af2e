#!/usr/bin/env python3
"""test_session_safety.py - what a client that is not a session's owner can
do with it, and the SockJS response details that keep pages of other sites
out (issue 11, points 7 and 8), over raw HTTP through each front server.

- A session is bound to the address of its first request (session_bind):
  a second client, here one whose socket is bound to another loopback
  address, gets 404 on every transport of it, as for an unknown session
  (what Spring answers a request from another principal), and neither
  reads nor posts; with session_bind = 0 it can.
- Session ids shorter than session_id_min (8, what sockjs-client sends)
  get 404, as an invalid path; no session id reaches the logs.
- /api applies `origins` (403) and takes only JSON bodies (415).
- An upgrade request with "Connection: close" gets SockJS's 400.
- Behind lighttpd an aborted stream is noticed at once: the client's next
  request gets c[1002] (or a new session), never c[2010].
"""

import json
import os
import signal
import sys
import unittest
import uuid

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import taprunner  # noqa: E402

OPTIONS = {'heartbeat_ms': 4000, 'disconnect_delay_ms': 15000, 'origins': 'http://chat.test'}
OTHER = '127.0.0.2'  # another client's address (all of 127/8 is loopback)
WAIT = 10.0
CONNECT = 'CONNECT\naccept-version:1.2\nhost:localhost\n\n\x00'
INTERRUPTED = b'c[1002,"Connection interrupted"]\n'
BUSY = b'c[2010,"Another connection still open"]\n'


def sid():
    return uuid.uuid4().hex


class Base:
    front = 'lighttpd'
    options = {}

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(cls.front, test_services=True, options=dict(OPTIONS, **cls.options))
        cls.addClassCleanup(cls.stack.stop)
        cls.stack.start()

    def req(self, method, path, body=None, headers=None, source=None):
        return self.stack.request(method, path, body, headers, timeout=WAIT, source=source)

    def post(self, path, body=b'', headers=None, source=None):
        return self.req('POST', path, body, headers, source)


class BoundTests(Base):
    """Run against each front server."""

    def test_another_address_cannot_use_a_session(self):
        s = sid()
        base = '/echo/000/%s' % s
        self.assertEqual(self.post(base + '/xhr').body, b'o\n')
        self.assertEqual(self.post(base + '/xhr_send', b'["stolen"]', source=OTHER).status, 404)
        self.assertEqual(self.post(base + '/jsonp_send', b'd=%5B%22x%22%5D', source=OTHER,
                                   headers={'Content-Type': 'application/x-www-form-urlencoded'}).status,
                         404)
        for method, transport in (('POST', 'xhr'), ('POST', 'xhr_streaming'), ('GET', 'eventsource'),
                                  ('GET', 'htmlfile?c=x'), ('GET', 'jsonp?c=x')):
            r = self.req(method, '%s/%s' % (base, transport), b'' if method == 'POST' else None,
                         source=OTHER)
            self.assertEqual((r.status, r.body), (404, b'Not found.\n'), transport)
        # The owner goes on, and got nothing from the other client.
        self.assertEqual(self.post(base + '/xhr_send', b'["mine"]').status, 204)
        self.assertEqual(self.post(base + '/xhr').body, b'a["mine"]\n')

    def test_another_address_cannot_post_as_the_user(self):
        base = '/chat/000/%s' % sid()
        self.assertEqual(self.post(base + '/xhr').body, b'o\n')
        self.assertEqual(self.post(base + '/xhr_send', json.dumps([CONNECT])).status, 204)
        self.assertTrue(self.post(base + '/xhr').body.startswith(b'a["CONNECTED'))
        send = ('SEND\ndestination:/app/chat/room/general\ncontent-type:application/json\n'
                'receipt:r1\n\n{"text":"not mine"}\x00')
        self.assertEqual(self.post(base + '/xhr_send', json.dumps([send]), source=OTHER).status, 404)
        self.assertEqual(self.post(base + '/xhr', source=OTHER).status, 404)
        self.assertEqual(self.post(base + '/xhr_send', json.dumps(['DISCONNECT\nreceipt:bye\n\n\x00'])).status,
                         204)
        self.assertIn(b'RECEIPT\\nreceipt-id:bye', self.post(base + '/xhr').body)

    def test_short_session_id_refused(self):
        # The chat endpoint holds users' sessions: short ids are refused.
        for n in (1, 7):
            base = '/chat/000/%s' % ('k' * n)
            self.assertEqual(self.post(base + '/xhr').status, 404, n)
            self.assertEqual(self.post(base + '/xhr_send', b'["x"]').status, 404, n)
            self.assertEqual(self.req('GET', base + '/jsonp?c=x').status, 404, n)
        self.assertEqual(self.post('/chat/000/%s/xhr' % ('k' * 8)).body, b'o\n')
        # The SockJS protocol suite's test services take its 1-character ids.
        self.assertEqual(self.post('/echo/a/a/xhr').body, b'o\n')

    def test_api_origins_and_json_only(self):
        name = 'u' + uuid.uuid4().hex[:10]
        body = json.dumps({'name': name, 'password': 'a long enough password'})
        json_ct = {'Content-Type': 'application/json'}
        for ctype in ('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'):
            r = self.post('/api/users', body, {'Content-Type': ctype})
            self.assertEqual(r.status, 415, ctype)
        r = self.post('/api/users', body, dict(json_ct, Origin='http://evil.test'))
        self.assertEqual(r.status, 403)
        self.assertEqual(self.req('GET', '/api/rooms', headers={'Origin': 'http://evil.test'}).status, 403)
        # The same rule as the SockJS endpoint's.
        self.assertEqual(self.post('/echo/000/%s/xhr' % sid(), headers={'Origin': 'http://evil.test'}).status,
                         403)
        r = self.post('/api/users', body, dict(json_ct, Origin='http://chat.test'))
        self.assertEqual(r.status, 201, r)
        r = self.post('/api/login', body, {'Content-Type': 'application/json; charset=UTF-8'})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(json.loads(r.body)['token'])

class LighttpdBound(BoundTests, harness.StackTestCase):
    front = 'lighttpd'

    def test_upgrade_with_connection_close(self):
        """lighttpd hands it to chat-ws, which answers it itself now
        (libwebsockets dropped it, and lighttpd answered 500)."""
        if not os.access(harness.CHAT_WS, os.X_OK):
            self.skipTest('no chat-ws')
        for ws_path in ('/echo/000/%s/websocket' % sid(), '/echo/websocket'):
            r = self.req('GET', ws_path, headers={'Upgrade': 'WebSocket', 'Connection': 'close'})
            self.assertEqual((r.status, r.body), (400, b'"Connection" must be "Upgrade".'), ws_path)

    def test_aborted_stream_noticed_at_once(self):
        """The next request right after the abort, with no wait in
        between, already finds the session ended (lighttpd propagates the
        client's FIN to chat.fcgi, which wakes on it)."""
        for _ in range(3):
            base = '/echo/000/%s' % sid()
            with self.stack.stream('POST', base + '/xhr_streaming', b'', timeout=WAIT) as stream:
                stream.read_exactly(2049)
                self.assertEqual(stream.read_until(b'\n'), b'o\n')
            self.assertIn(self.post(base + '/xhr').body, (INTERRUPTED, b'o\n'))

    def test_no_session_id_in_the_logs(self):
        """Even the info line of a lease taken over from a killed process
        names the session only by a tag."""
        with harness.Stack('lighttpd', test_services=True, fcgi_procs=1, options=OPTIONS) as stack:
            s = sid()
            base = '/echo/000/%s' % s
            with stack.stream('POST', base + '/xhr_streaming', b'', timeout=WAIT) as stream:
                stream.read_exactly(2049)
                self.assertEqual(stream.read_until(b'\n'), b'o\n')
                for p in stack.chat_fcgi_processes():
                    os.kill(p.pid, signal.SIGKILL)
                    harness.wait_until(lambda: not p.alive(), what='chat.fcgi KILLed')
            # lighttpd starts a new chat.fcgi, which takes the dead one's lease.
            harness.wait_until(lambda: stack.request('POST', base + '/xhr_send', b'["x"]').status == 204,
                               timeout=WAIT, interval=0.1, what='a new chat.fcgi')
            self.assertEqual(stack.request('POST', base + '/xhr', b'').body, b'a["x"]\n')
            logs = stack.log_tail(10000)
            self.assertIn('took over the lease', logs)
            self.assertNotIn(s, logs)


class ApacheFcgidBound(BoundTests, harness.StackTestCase):
    front = 'apache-fcgid'


class ApacheProxyFcgiBound(BoundTests, harness.StackTestCase):
    front = 'apache-proxy-fcgi'


class Unbound(Base, harness.StackTestCase):
    """session_bind = 0: for clients that change address."""

    options = {'session_bind': 0}

    def test_another_address_may_use_a_session(self):
        base = '/echo/000/%s' % sid()
        self.assertEqual(self.post(base + '/xhr').body, b'o\n')
        self.assertEqual(self.post(base + '/xhr_send', b'["moved"]', source=OTHER).status, 204)
        self.assertEqual(self.post(base + '/xhr', source=OTHER).body, b'a["moved"]\n')


if __name__ == '__main__':
    taprunner.main()
