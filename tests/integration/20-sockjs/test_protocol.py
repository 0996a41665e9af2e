#!/usr/bin/env python3
"""test_protocol.py - the SockJS 0.3.3 HTTP transports of chat.fcgi, over
raw HTTP through each front server (lighttpd; Apache with mod_fcgid; Apache
with mod_proxy_fcgi), against the four protocol test services: the
behaviours of the literate test suite sockjs-protocol-0.3.3.py, with its
exact status codes, headers and bytes, plus what the suite cannot check
from one process (a message crossing chat.fcgi processes).

The stacks run with the suite's server settings: a 4096-byte streaming
response limit, and short heartbeat and disconnect delays so that those
events can be awaited within the test's time.
"""

import concurrent.futures
import json
import os
import sys
import unittest
import uuid

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import taprunner  # noqa: E402

# The disconnect delay is long here: mod_fcgid starts a process per
# concurrent request, about one a second, and a session must outlive that.
OPTIONS = {'response_limit': 4096, 'heartbeat_ms': 4000, 'disconnect_delay_ms': 15000}
# sockjs-node's: no-transform keeps mod_deflate and proxies off the streams.
NO_CACHE = 'no-store, no-cache, no-transform, must-revalidate, max-age=0'
# lighttpd 1.4.69 sends text/javascript (RFC 9239) for application/javascript.
JS = ('application/javascript; charset=UTF-8', 'text/javascript; charset=UTF-8')
PLAIN = 'text/plain; charset=UTF-8'
WAIT = 10.0  # seconds to await an event that must come


def sid():
    return str(uuid.uuid4())


class ProtocolTests:
    """The tests, run against the stack of the class's `front`."""

    front = None

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(cls.front, test_services=True, options=OPTIONS)
        cls.addClassCleanup(cls.stack.stop)
        cls.stack.start()

    # -- helpers

    def req(self, method, path, body=None, headers=None):
        return self.stack.request(method, path, body, headers, timeout=WAIT)

    def post(self, path, body=b'', headers=None):
        return self.req('POST', path, body, headers)

    def send(self, base, session, messages, expect=204):
        r = self.post('%s/000/%s/xhr_send' % (base, session), json.dumps(messages))
        self.assertEqual(r.status, expect, r)
        return r

    def open_stream(self, path, method='POST', headers=None):
        body = b'' if method == 'POST' else None
        return self.stack.stream(method, path, body, headers, timeout=WAIT)

    def frame(self, stream):
        """The next xhr_streaming frame, skipping heartbeats (a slow run
        may see one anywhere)."""
        frame = stream.read_until(b'\n')
        while frame == b'h\n':
            frame = stream.read_until(b'\n')
        return frame

    def assertNoCache(self, r):
        self.assertEqual(r.header('Cache-Control'), NO_CACHE, r)
        self.assertIsNone(r.header('Expires'), r)
        self.assertIsNone(r.header('Last-Modified'), r)

    def assertCors(self, r, origin=None):
        """As sockjs-node 0.3.24 and the CORS spec: no Origin, '*' and no
        credentials (never both); an Origin ('null' too) echoed, with
        credentials."""
        self.assertEqual(r.header('Access-Control-Allow-Origin'), origin or '*', r)
        self.assertEqual(r.header('Access-Control-Allow-Credentials'), 'true' if origin else None, r)

    def assertCacheable(self, r):
        self.assertRegex(r.header('Cache-Control') or '', r'public, max-age=[1-9][0-9]{6}')
        self.assertIsNotNone(r.header('Expires'), r)
        self.assertIsNone(r.header('Last-Modified'), r)

    # -- base URL, greeting, 404s

    def test_greeting(self):
        for path in ('/echo', '/echo/'):
            r = self.req('GET', path)
            self.assertEqual((r.status, r.body), (200, b'Welcome to SockJS!\n'), path)
            self.assertEqual(r.header('Content-Type'), PLAIN)
            self.assertIsNone(r.header('Set-Cookie'))

    def test_not_found(self):
        for path in ('/echo/a', '/echo/a.html', '/echo//', '/echo///', '/echo/a/a', '/echo/a/a/',
                     '/echo/a/', '/echo//xhr', '/echo/a./a/xhr', '/echo/a/a./xhr', '/echo/././xhr',
                     '/echo/xhr', '/echo///xhr', '/echo/a/a/nope', '/echo/iframe.htm',
                     '/echo/IFRAME.HTML', '/echo/iframe-/.html'):
            self.assertEqual(self.req('GET', path).status, 404, path)

    # -- /info

    def test_info(self):
        r = self.req('GET', '/echo/info')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header('Content-Type'), 'application/json; charset=UTF-8')
        self.assertNoCache(r)
        self.assertCors(r)
        info = json.loads(r.body)
        self.assertEqual(info['websocket'], os.access(harness.CHAT_WS, os.X_OK))
        self.assertEqual((info['origins'], info['cookie_needed']), (['*:*'], False))
        self.assertTrue(0 <= info['entropy'] < 2 ** 32)
        entropies = {json.loads(self.req('GET', '/echo/info').body)['entropy'] for _ in range(4)}
        self.assertGreater(len(entropies | {info['entropy']}), 1, 'entropy must change')
        self.assertFalse(json.loads(self.req('GET', '/disabled_websocket_echo/info').body)['websocket'])
        r = self.req('GET', '/cookie_needed_echo/info')
        self.assertTrue(json.loads(r.body)['cookie_needed'])
        self.assertIsNone(r.header('Set-Cookie'), '/info never sets the cookie')
        r = self.req('GET', '/echo/info', headers={'Origin': 'http://example.test'})
        self.assertCors(r, 'http://example.test')
        self.assertCors(self.req('GET', '/echo/info', headers={'Origin': 'null'}), 'null')

    def test_options(self):
        for path, methods in (('/echo/info', 'OPTIONS, GET'), ('/echo/000/%s/xhr' % sid(), 'OPTIONS, POST'),
                              ('/echo/000/%s/xhr_send' % sid(), 'OPTIONS, POST'),
                              ('/echo/000/%s/xhr_streaming' % sid(), 'OPTIONS, POST')):
            for origin in (None, 'test', 'null'):
                headers = {'Access-Control-Request-Headers': 'a, b, c'}
                if origin:
                    headers['Origin'] = origin
                r = self.req('OPTIONS', path, headers=headers)
                self.assertEqual((r.status, r.body), (204, b''), (path, r))
                self.assertCacheable(r)
                self.assertGreater(int(r.header('Access-Control-Max-Age')), 1000000)
                self.assertEqual(r.header('Access-Control-Allow-Methods'), methods, path)
                self.assertEqual(r.header('Access-Control-Allow-Headers'), 'a, b, c')
                self.assertCors(r, origin)

    # -- iframe

    def test_iframe(self):
        r = self.req('GET', '/echo/iframe.html')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header('Content-Type'), 'text/html; charset=UTF-8')
        self.assertCacheable(r)
        self.assertIsNone(r.header('Set-Cookie'))
        self.assertIn(b'SockJS.bootstrap_iframe()', r.body)
        etag = r.header('ETag')
        self.assertTrue(etag)
        for path in ('/echo/iframe-a.html', '/echo/iframe-0.3.4.html', '/echo/iframe.html?t=1'):
            r2 = self.req('GET', path)
            self.assertEqual((r2.status, r2.header('ETag'), r2.body), (200, etag, r.body), path)
        r = self.req('GET', '/echo/iframe.html', headers={'If-None-Match': etag})
        self.assertEqual((r.status, r.body), (304, b''))
        self.assertIsNone(r.header('Content-Type'))

    # -- xhr polling and xhr_send

    def test_xhr_polling_session(self):
        s = sid()
        r = self.post('/echo/000/%s/xhr' % s)
        self.assertEqual((r.status, r.body), (200, b'o\n'))
        self.assertIn(r.header('Content-Type'), JS)
        self.assertNoCache(r)
        self.assertCors(r)
        self.assertIsNone(r.header('Set-Cookie'), 'no JSESSIONID without cookie_needed')
        r = self.send('/echo', s, ['x'])
        self.assertEqual(r.body, b'')
        # Apache drops the Content-Type of a 204 whatever chat.fcgi sends.
        self.assertIn(r.header('Content-Type'), (PLAIN, None))
        self.assertNoCache(r)
        self.assertCors(r)
        r = self.post('/echo/999/%s/xhr' % s)  # the server id does not matter
        self.assertEqual((r.status, r.body), (200, b'a["x"]\n'))
        self.send('/echo', s, ['a', 'b'])
        self.send('/echo', s, ['c'])
        self.assertEqual(self.post('/echo/000/%s/xhr' % s).body, b'a["a","b","c"]\n',
                         'one response carries everything queued, in order')

    def test_xhr_send_to_unknown_session(self):
        r = self.post('/echo/000/%s/xhr_send' % sid(), b'["x"]')
        self.assertEqual(r.status, 404)

    def test_xhr_send_payload_errors(self):
        s = sid()
        self.assertEqual(self.post('/echo/000/%s/xhr' % s).body, b'o\n')
        for body, message in ((b'', b'Payload expected.'), (b'["x', b'Broken JSON encoding.'),
                              (b'[1]', b'Broken JSON encoding.'), (b'"x"', b'Broken JSON encoding.')):
            r = self.post('/echo/000/%s/xhr_send' % s, body)
            self.assertEqual((r.status, r.body), (500, message), body)
        for ctype in ('text/plain', 'T', 'application/json', 'application/xml', '',
                      'application/json; charset=utf-8', 'text/xml; charset=utf-8', 'text/xml'):
            r = self.post('/echo/000/%s/xhr_send' % s, b'["x"]', {'Content-Type': ctype})
            self.assertEqual(r.status, 204, ctype)
        self.assertEqual(self.post('/echo/000/%s/xhr' % s).body, b'a[' + b','.join([b'"x"'] * 8) + b']\n')

    def test_method_not_allowed(self):
        s = sid()
        for method, path in (('GET', '/echo/000/%s/xhr' % s), ('GET', '/echo/000/%s/xhr_send' % s),
                             ('POST', '/echo/000/%s/eventsource' % s), ('POST', '/echo/info')):
            r = self.req(method, path, b'' if method == 'POST' else None)
            self.assertEqual((r.status, r.body), (405, b''), (method, path))
            self.assertIsNone(r.header('Content-Type'), (method, path))
            self.assertTrue(r.header('Allow'), (method, path))

    def test_websocket_url_without_upgrade(self):
        r = self.req('GET', '/echo/000/%s/websocket' % sid())
        if os.access(harness.CHAT_WS, os.X_OK):
            self.assertEqual((r.status, r.body), (400, b'Can "Upgrade" only to "WebSocket".'))
            r = self.req('POST', '/echo/000/%s/websocket' % sid(), b'')
            self.assertEqual((r.status, r.body), (405, b''))
            r = self.req('GET', '/disabled_websocket_echo/000/%s/websocket' % sid())
            self.assertEqual(r.status, 404)
        else:  # no sidecar: WebSocket is not offered (/info says so)
            self.assertIn(r.status, (404, 502, 503))

    def test_another_connection_still_open(self):
        s = sid()
        with self.open_stream('/echo/000/%s/xhr_streaming' % s) as stream:
            self.assertEqual(stream.read_exactly(2049), b'h' * 2048 + b'\n')
            self.assertEqual(stream.read_until(b'\n'), b'o\n')
            # The stream holds the session: a second receiver is refused...
            r = self.post('/echo/000/%s/xhr' % s)
            self.assertEqual((r.status, r.body), (200, b'c[2010,"Another connection still open"]\n'))
            # ...without harm to the first.
            self.send('/echo', s, ['still here'])
            self.assertEqual(self.frame(stream), b'a["still here"]\n')

    def test_close_service(self):
        s = sid()
        self.assertEqual(self.post('/close/000/%s/xhr' % s).body, b'o\n')
        for _ in range(2):
            self.assertEqual(self.post('/close/000/%s/xhr' % s).body, b'c[3000,"Go away!"]\n')
        with self.open_stream('/close/000/%s/xhr_streaming' % sid()) as stream:
            stream.read_exactly(2049)
            self.assertEqual(stream.read_all(), b'o\nc[3000,"Go away!"]\n')

    # -- streaming transports

    def test_xhr_streaming(self):
        s = sid()
        with self.open_stream('/echo/000/%s/xhr_streaming' % s) as stream:
            self.assertEqual(stream.status, 200)
            self.assertIn(stream.header('Content-Type'), JS)
            self.assertEqual(stream.header('Cache-Control'), NO_CACHE)
            self.assertEqual(stream.read_exactly(2049), b'h' * 2048 + b'\n')
            self.assertEqual(stream.read_until(b'\n'), b'o\n')
            self.send('/echo', s, ['x'])
            self.assertEqual(self.frame(stream), b'a["x"]\n')
            self.send('/echo', s, ['y', 'z'])
            self.assertEqual(self.frame(stream), b'a["y","z"]\n')

    def test_streaming_response_limit(self):
        """The suite's check: 'o' and 31 frames of 135 bytes reach the 4096-byte
        limit on the 31st, and the response ends right after it."""
        s = sid()
        msg = 'x' * 128
        with self.open_stream('/echo/000/%s/xhr_streaming' % s) as stream:
            stream.read_exactly(2049)
            self.assertEqual(stream.read_until(b'\n'), b'o\n')
            for i in range(31):
                self.send('/echo', s, [msg])
                self.assertEqual(self.frame(stream), ('a["%s"]\n' % msg).encode(), i)
            self.assertEqual(stream.read_all(), b'', 'the stream ends at the limit')
        # The session lives on: the next request gets what came meanwhile.
        self.send('/echo', s, ['after'])
        self.assertEqual(self.post('/echo/000/%s/xhr' % s).body, b'a["after"]\n')

    def test_heartbeat(self):
        s = sid()
        with self.open_stream('/echo/000/%s/xhr_streaming' % s) as stream:
            stream.read_exactly(2049)
            self.assertEqual(stream.read_until(b'\n'), b'o\n')
            self.assertEqual(stream.read_until(b'\n', timeout=WAIT), b'h\n')
        # A held poll with nothing to say answers with a heartbeat.
        s = sid()
        self.assertEqual(self.post('/echo/000/%s/xhr' % s).body, b'o\n')
        self.assertEqual(self.post('/echo/000/%s/xhr' % s).body, b'h\n')

    def test_aborted_stream(self):
        """A receiver that goes away mid-stream ends the session: once the
        server has noticed (at once when the front server closes the FastCGI
        connection, within two heartbeats behind Apache), the next request
        gets c[1002] (or, the session being gone, a new one: 'o')."""
        s = sid()
        with self.open_stream('/echo/000/%s/xhr_streaming' % s) as stream:
            stream.read_exactly(2049)
            self.assertEqual(stream.read_until(b'\n'), b'o\n')
        busy = b'c[2010,"Another connection still open"]\n'

        def answer():
            body = self.post('/echo/000/%s/xhr' % s).body
            return body if body != busy else None
        # Behind Apache the server learns of it only when a heartbeat write
        # fails, which can take two heartbeats.
        noticed = harness.wait_until(answer, timeout=5 * OPTIONS['heartbeat_ms'] / 1000 + WAIT,
                                     interval=0.25, what='abort noticed')
        self.assertIn(noticed,
                      (b'c[1002,"Connection interrupted"]\n', b'o\n'))

    def test_eventsource(self):
        s = sid()
        with self.open_stream('/echo/000/%s/eventsource' % s, 'GET') as stream:
            self.assertEqual(stream.header('Content-Type'), 'text/event-stream; charset=UTF-8')
            self.assertEqual(stream.header('Cache-Control'), NO_CACHE)
            self.assertEqual(stream.read_exactly(2), b'\r\n')
            self.assertEqual(stream.read_until(b'\r\n\r\n'), b'data: o\r\n\r\n')
            self.send('/echo', s, ['  \u0000\n\r 100%'])
            # sockjs-client 1.x runs decodeURI() on each event.
            self.assertEqual(stream.read_until(b'\r\n\r\n'),
                             b'data: a["  \\u0000\\n\\r 100%25"]\r\n\r\n')

    def test_htmlfile(self):
        s = sid()
        r = self.req('GET', '/echo/000/%s/htmlfile' % s)
        self.assertEqual((r.status, r.body), (500, b'"callback" parameter required'))
        r = self.req('GET', '/echo/000/%s/htmlfile?c=a<b' % s)
        self.assertEqual((r.status, r.body), (500, b'invalid "callback" parameter'))
        with self.open_stream('/echo/000/%s/htmlfile?c=%%63allback' % s, 'GET') as stream:
            self.assertEqual(stream.header('Content-Type'), 'text/html; charset=UTF-8')
            self.assertEqual(stream.header('Cache-Control'), NO_CACHE)
            page = stream.read_until(b'\r\n\r\n')  # the page, padded
            self.assertIn(b'var c = parent.callback;', page)
            self.assertGreater(len(page), 1024)
            self.assertEqual(stream.read_until(b'</script>\r\n'), b'<script>\np("o");\n</script>\r\n')
            self.send('/echo', s, ['</script>'])
            self.assertEqual(stream.read_until(b'</script>\r\n'),
                             b'<script>\np("a[\\"\\u003c/script\\u003e\\"]");\n</script>\r\n')

    # -- jsonp

    def test_jsonp(self):
        s = sid()
        r = self.req('GET', '/echo/000/%s/jsonp' % s)
        self.assertEqual((r.status, r.body), (500, b'"callback" parameter required'))
        r = self.req('GET', '/echo/000/%s/jsonp?c=%%63allback' % s)
        self.assertEqual((r.status, r.body), (200, b'/**/callback("o");\r\n'))
        self.assertIn(r.header('Content-Type'), JS)
        self.assertNoCache(r)
        r = self.post('/echo/000/%s/jsonp_send' % s, b'd=%5B%22x%22%5D',
                      {'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual((r.status, r.body), (200, b'ok'))
        self.assertEqual(r.header('Content-Type'), PLAIN)
        self.assertNoCache(r)
        r = self.post('/echo/000/%s/jsonp_send' % s, b'["%61bc"]', {'Content-Type': 'text/plain'})
        self.assertEqual((r.status, r.body), (200, b'ok'))
        r = self.req('GET', '/echo/000/%s/jsonp?c=x' % s)
        self.assertEqual(r.body, b'/**/x("a[\\"x\\",\\"%61bc\\"]");\r\n')
        for body, ctype, message in ((b'', 'text/plain', b'Payload expected.'),
                                     (b'd=', 'application/x-www-form-urlencoded', b'Payload expected.'),
                                     (b'p=p', 'application/x-www-form-urlencoded', b'Payload expected.'),
                                     (b'd=%5B%22x', 'application/x-www-form-urlencoded', b'Broken JSON encoding.')):
            r = self.post('/echo/000/%s/jsonp_send' % s, body, {'Content-Type': ctype})
            self.assertEqual((r.status, r.body), (500, message), body)
        self.assertEqual(self.post('/echo/000/%s/jsonp_send' % sid(), b'["x"]').status, 404)

    # -- cookies

    def test_jsessionid(self):
        s = sid()
        r = self.post('/cookie_needed_echo/000/%s/xhr' % s)
        self.assertEqual(r.body, b'o\n')
        self.assertEqual(r.header('Set-Cookie'), 'JSESSIONID=dummy; path=/')
        r = self.post('/cookie_needed_echo/000/%s/xhr_send' % s, b'["x"]', {'Cookie': 'JSESSIONID=abcdef'})
        self.assertEqual(r.status, 204)
        r = self.post('/cookie_needed_echo/000/%s/xhr' % s, b'', {'Cookie': 'a=b; JSESSIONID=abcdef'})
        self.assertEqual(r.body, b'a["x"]\n')
        self.assertEqual(r.header('Set-Cookie'), 'JSESSIONID=abcdef; path=/')
        r = self.req('GET', '/cookie_needed_echo/000/%s/jsonp?c=x' % sid())
        self.assertEqual(r.header('Set-Cookie'), 'JSESSIONID=dummy; path=/')

    # -- messages: encoding, size, order

    def test_unicode_and_large_messages(self):
        s = sid()
        self.post('/echo/000/%s/xhr' % s)
        text = 'Grüße, 世界 — \U0001F600 \u2028 "quoted" \\ back'
        big = ('0123456789abcdef' * 4096)  # 64 KiB
        self.send('/echo', s, [text])
        r = self.post('/echo/000/%s/xhr' % s)
        self.assertEqual(json.loads(r.body[1:]), [text])
        self.assertIn(b'\\ud83d\\ude00', r.body, 'astral characters as escaped surrogate pairs')
        self.assertIn(b'\\u2028', r.body)
        self.send('/echo', s, [big])
        r = self.post('/echo/000/%s/xhr' % s)
        self.assertEqual(json.loads(r.body[1:]), [big])

    def test_oversize_payload_refused(self):
        s = sid()
        self.post('/echo/000/%s/xhr' % s)
        big = json.dumps(['x' * (7 * 65536)])
        r = self.post('/echo/000/%s/xhr_send' % s, big)
        self.assertEqual((r.status, r.body), (413, b'Payload too large.'))
        self.send('/echo', s, ['fine'])
        self.assertEqual(self.post('/echo/000/%s/xhr' % s).body, b'a["fine"]\n', 'nothing lost')

    def test_many_senders_one_receiver(self):
        """Concurrent xhr_sends (served by different threads or processes)
        all arrive, none twice."""
        s = sid()
        self.post('/echo/000/%s/xhr' % s)
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda i: self.send('/echo', s, ['m%d' % i]), range(40)))
        got = []
        while len(got) < 40:
            r = self.post('/echo/000/%s/xhr' % s)
            self.assertEqual(r.status, 200)
            if r.body.startswith(b'a'):
                got += json.loads(r.body[1:])
        self.assertEqual(sorted(got), sorted('m%d' % i for i in range(40)))

    def test_many_held_streams(self):
        """Many receiving requests held at once (threads of one process
        behind mod_proxy_fcgi, processes under mod_fcgid): each gets its
        own messages."""
        sessions = [sid() for _ in range(12)]
        streams = [self.open_stream('/echo/000/%s/xhr_streaming' % s) for s in sessions]
        try:
            for stream in streams:
                stream.read_exactly(2049)
                self.assertEqual(stream.read_until(b'\n'), b'o\n')
            for i, s in enumerate(sessions):
                self.send('/echo', s, ['to %d' % i])
            for i, stream in enumerate(streams):
                self.assertEqual(self.frame(stream), ('a["to %d"]\n' % i).encode())
        finally:
            for stream in streams:
                stream.close()

class CrossProcess:
    """Under mod_fcgid a chat.fcgi process serves one request at a time, so
    while one holds a stream, an xhr_send is necessarily served by another
    process: the message crosses processes through the outbox and doorbell."""

    def test_message_crosses_processes(self):
        s = sid()
        with self.open_stream('/echo/000/%s/xhr_streaming' % s) as stream:
            stream.read_exactly(2049)
            self.assertEqual(stream.read_until(b'\n'), b'o\n')
            for i in range(20):
                self.send('/echo', s, ['cross %d' % i])
                self.assertEqual(self.frame(stream), ('a["cross %d"]\n' % i).encode())
            self.assertGreaterEqual(len(self.stack.chat_fcgi_processes()), 2)


class Lighttpd(ProtocolTests, harness.StackTestCase):
    front = 'lighttpd'


class SessionTimeout(harness.StackTestCase):
    """The disconnect delay, decided by chat.fcgi whatever the front."""

    def test_session_times_out_after_disconnect_delay(self):
        with harness.Stack('lighttpd', test_services=True,
                           options={'disconnect_delay_ms': 1000, 'heartbeat_ms': 4000}) as stack:
            s = sid()
            self.assertEqual(stack.request('POST', '/echo/000/%s/xhr' % s, b'').body, b'o\n')
            self.assertEqual(stack.request('POST', '/echo/000/%s/xhr_send' % s, b'["x"]').status, 204)
            # With no receiving request the session goes after the delay:
            # sending to it then fails.
            harness.wait_until(lambda: stack.request('POST', '/echo/000/%s/xhr_send' % s,
                                                     b'["y"]').status == 404,
                               timeout=WAIT, interval=0.25, what='session timeout')


class ApacheFcgid(CrossProcess, ProtocolTests, harness.StackTestCase):
    front = 'apache-fcgid'


class ApacheProxyFcgi(ProtocolTests, harness.StackTestCase):
    front = 'apache-proxy-fcgi'


if __name__ == '__main__':
    taprunner.main()
