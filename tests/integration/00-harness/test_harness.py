#!/usr/bin/env python3
"""test_harness.py - the integration harness itself: the incremental HTTP
reader against a scripted local server (each step of which the test
releases, so "arrives before the rest is sent" is observed, not timed),
the TAP runner's output, and Stack's retry, failure and leftover handling.
"""

import io
import os
import socket
import subprocess
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import taprunner  # noqa: E402


class ScriptedServer:
    """Accepts one connection, reads the request head, then sends each of
    STEPS (bytes) in turn, waiting before each but the first until the test
    calls release(); closes after the last if close is true."""

    def __init__(self, steps, close=True):
        self.steps = list(steps)
        self.close = close
        self.request = b''
        self.gates = [threading.Event() for _ in self.steps]
        self.gates[0].set()
        self.done = threading.Event()
        self.sock = socket.socket()
        self.sock.bind((harness.LOOPBACK, 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self._next = 1

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            while b'\r\n\r\n' not in self.request:
                data = conn.recv(4096)
                if not data:
                    return
                self.request += data
            for gate, data in zip(self.gates, self.steps):
                if not gate.wait(harness.TIMEOUT):
                    return
                conn.sendall(data)
            if not self.close:
                self.done.wait(harness.TIMEOUT)
        self.sock.close()

    def release(self):
        self.gates[self._next].set()
        self._next += 1

    def finish(self):
        for gate in self.gates:
            gate.set()
        self.done.set()
        self.thread.join(harness.TIMEOUT)


CHUNKED_HEAD = b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n'


class StreamTests(unittest.TestCase):

    def test_chunks_arrive_one_by_one(self):
        srv = ScriptedServer([CHUNKED_HEAD + b'5\r\nhello\r\n', b'1;ext=1\r\n', b' \r\n6\r\nworld\n\r\n',
                              b'0\r\nX-Trailer: 1\r\n\r\n'])
        try:
            with harness.open_stream(harness.LOOPBACK, srv.port, 'GET', '/s', headers={'X-A': 'b'}) as s:
                self.assertEqual(s.status, 200)
                self.assertEqual(s.header('content-type'), 'text/plain')
                self.assertEqual(s.read(), b'hello')  # before the rest is even sent
                srv.release()
                srv.release()
                self.assertEqual(s.read_until(b'wor'), b' wor')
                self.assertEqual(s.read_exactly(3), b'ld\n')
                srv.release()
                self.assertEqual(s.read(), b'')
                self.assertTrue(s.done)
                self.assertEqual(s.chunks, [5, 1, 6, 0])
                self.assertEqual(s.raw, b''.join(srv.steps))
        finally:
            srv.finish()
        self.assertEqual(srv.request, b'GET /s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-A: b\r\n\r\n' % srv.port)

    def test_nothing_arriving_times_out(self):
        srv = ScriptedServer([CHUNKED_HEAD + b'2\r\nab\r\n', b'0\r\n\r\n'], close=False)
        try:
            with harness.open_stream(harness.LOOPBACK, srv.port, 'GET', '/') as s:
                self.assertEqual(s.read(), b'ab')
                with self.assertRaises(TimeoutError):
                    s.read(timeout=0.2)
                srv.release()
                self.assertEqual(s.read_all(), b'')
        finally:
            srv.finish()

    def test_content_length_and_close_delimited(self):
        for head, body, rest in (
                (b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', b'12345', b''),
                (b'HTTP/1.0 200 OK\r\n\r\n', b'until close', b''),
                (b'HTTP/1.1 204 No Content\r\n\r\n', b'', b'')):
            with self.subTest(head=head):
                srv = ScriptedServer([head + body + rest])
                try:
                    s = harness.raw_request(harness.LOOPBACK, srv.port, b'GET / HTTP/1.1\r\n\r\n')
                finally:
                    srv.finish()
                self.assertEqual(s.body, body)
                self.assertEqual(s.head, head)
                self.assertEqual(s.raw, head + body + rest)

    def test_head_has_no_body(self):
        srv = ScriptedServer([b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'], close=False)
        try:
            s = harness.raw_request(harness.LOOPBACK, srv.port, b'HEAD / HTTP/1.1\r\n\r\n')
        finally:
            srv.finish()
        self.assertEqual((s.status, s.body), (200, b''))

    def test_malformed_responses(self):
        for data in (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
                     b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX',
                     b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort',
                     b'SMTP ready\r\n\r\n'):
            with self.subTest(data=data):
                srv = ScriptedServer([data])
                try:
                    with self.assertRaises(harness.ProtocolError):
                        harness.raw_request(harness.LOOPBACK, srv.port, b'GET / HTTP/1.1\r\n\r\n')
                finally:
                    srv.finish()

    def test_build_request(self):
        self.assertEqual(harness.build_request('POST', '/p', 'h:1', 'é', [('A', '1')]),
                         b'POST /p HTTP/1.1\r\nHost: h:1\r\nA: 1\r\nContent-Length: 2\r\n\r\n\xc3\xa9')
        self.assertEqual(harness.build_request('GET', '/', 'h', headers={'Host': 'x'}, version='HTTP/1.0'),
                         b'GET / HTTP/1.0\r\nHost: x\r\n\r\n')

    def test_free_port_is_bindable(self):
        with socket.socket() as s:
            s.bind((harness.LOOPBACK, harness.free_port()))


class TapRunnerTests(unittest.TestCase):

    def test_output(self):
        class Sample(unittest.TestCase):
            def test_a_pass(self):
                pass

            def test_b_fail(self):
                self.fail('boom')

            @unittest.skip('not here')
            def test_c_skip(self):
                pass

            @taprunner.todo('later')
            def test_d_todo(self):
                self.fail('not yet')

            @taprunner.todo('later')
            def test_e_xpass(self):
                pass

            def test_f_subtests(self):
                for i in range(3):
                    with self.subTest(i=i):
                        self.assertNotEqual(i, 1)

            def tap_diagnostics(self):
                return 'extra'

        out = io.StringIO()
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(Sample)
        result = taprunner.TAPTestRunner(out).run(suite)
        lines = [line for line in out.getvalue().splitlines() if not line.startswith('# ')]
        self.assertEqual(lines, ['ok 1 - Sample.test_a_pass',
                                 'not ok 2 - Sample.test_b_fail',
                                 'ok 3 - Sample.test_c_skip # SKIP not here',
                                 'not ok 4 - Sample.test_d_todo # TODO later',
                                 'ok 5 - Sample.test_e_xpass # TODO later',
                                 'not ok 6 - Sample.test_f_subtests',
                                 '1..6'])
        self.assertIn('# AssertionError: boom', out.getvalue())
        self.assertIn('# (i=1):', out.getvalue())
        self.assertEqual(out.getvalue().count('# extra'), 2)
        self.assertFalse(result.wasSuccessful())


@unittest.skipIf(harness.front_missing('lighttpd'), harness.front_missing('lighttpd'))
class StackTests(unittest.TestCase):

    def test_retries_when_the_port_is_taken(self):
        blocker = socket.socket()
        blocker.bind((harness.LOOPBACK, 0))
        blocker.listen(1)
        taken = blocker.getsockname()[1]
        ports = [taken]
        real = harness.free_port
        harness.free_port = lambda host=harness.LOOPBACK: ports.pop() if ports else real(host)
        try:
            with harness.Stack('lighttpd') as stack:
                self.assertNotEqual(stack.port, taken)
                self.assertEqual(len(stack.failed_attempts), 1)
                self.assertIn('port %d' % taken, stack.failed_attempts[0])
                self.assertEqual(stack.request('GET', '/chat').status, 200)
        finally:
            harness.free_port = real
            blocker.close()

    def test_failed_start_leaves_nothing(self):
        stack = harness.Stack('lighttpd', env={'FCGI_PROCS': 'nonsense'})
        with self.assertRaisesRegex(harness.StackError, 'did not start'):
            stack.start()
        self.assertFalse(os.path.exists(stack.var))
        self.assertEqual(harness.processes_mentioning(stack.var + '/'), [])
        self.assertNotIn(stack, harness.Stack.live)

    def test_leftover_is_killed_and_reported(self):
        stack = harness.Stack('lighttpd')
        stack.start()
        stray = subprocess.Popen(['bash', '-c', 'exec -a "stray %s/" sleep 600' % stack.run],
                                 stdin=subprocess.DEVNULL)
        try:
            with self.assertRaisesRegex(harness.StackError, 'stray'):
                stack.stop()
            self.assertEqual(stray.wait(harness.TIMEOUT), -9)
        finally:
            if stray.poll() is None:
                stray.kill()
                stray.wait()
        self.assertFalse(os.path.exists(stack.var))


if __name__ == '__main__':
    taprunner.main()
