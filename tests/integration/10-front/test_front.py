#!/usr/bin/env python3
"""test_front.py - the front servers (lighttpd; Apache with mod_fcgid; Apache
with mod_proxy_fcgi) as conf/serve.sh configures them: the SockJS greeting
from chat.fcgi, 404s, the static page, the test-service prefixes, many
requests at once, a configuration the server itself accepts, and a stop
that leaves no process behind.  One class per front, so the counts say
which front failed.
"""

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import taprunner  # noqa: E402

GREETING = b'Welcome to SockJS!\n'
TEXT_PLAIN = 'text/plain; charset=UTF-8'
FCGI_PROCS = 2
TEST_SERVICES = ('echo', 'close', 'disabled_websocket_echo', 'cookie_needed_echo')


def answered_by_chat_fcgi(r):
    """chat.fcgi answers everything with text/plain; charset=UTF-8 (the
    greeting, or its 404 'Not found.'); the front servers' own pages are
    HTML."""
    return r.header('Content-Type') == TEXT_PLAIN and r.body in (GREETING, b'Not found.\n')


class FrontTests:
    """The tests, run against the stack of the class's `front`."""

    front = None
    _services = None

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(cls.front, fcgi_procs=FCGI_PROCS)
        cls.addClassCleanup(cls.stack.stop)
        cls.stack.start()
        cls._services = None

    @classmethod
    def services_stack(cls):
        """A second stack of the same front with --test-services, started
        on first use and stopped with the class."""
        if cls._services is None:
            cls._services = harness.Stack(cls.front, test_services=True, fcgi_procs=FCGI_PROCS)
            cls.addClassCleanup(cls._services.stop)
            cls._services.start()
        return cls._services

    def assertGreeting(self, r, what):
        self.assertEqual(r.status, 200, '%s: %r' % (what, r))
        self.assertEqual(r.body, GREETING, what)
        self.assertEqual(r.header_all('Content-Type'), [TEXT_PLAIN], what)

    # -- the greeting

    def test_greeting(self):
        self.assertGreeting(self.stack.request('GET', '/chat'), 'GET /chat')

    def test_greeting_trailing_slash(self):
        self.assertGreeting(self.stack.request('GET', '/chat/'), 'GET /chat/')

    def test_greeting_raw_bytes(self):
        """Byte-exact over a raw socket, with the query string ignored."""
        s = self.stack.raw_request(b'GET /chat?x=1 HTTP/1.1\r\nHost: localhost\r\n'
                                   b'Connection: close\r\n\r\n')
        self.assertTrue(s.head.startswith(b'HTTP/1.1 200 OK\r\n'), s.head)
        self.assertEqual(s.body, GREETING)
        self.assertEqual([v for n, v in s.headers if n.lower() == 'content-type'], [TEXT_PLAIN])
        if s.header('Content-Length') is not None:
            self.assertEqual(int(s.header('Content-Length')), len(GREETING))

    def test_unknown_paths_404(self):
        for path in ('/chat/nonexistent', '/chat/000/abcd/no_such_transport', '/chatx'):
            with self.subTest(path=path):
                r = self.stack.request('GET', path)
                self.assertEqual(r.status, 404, '%s: %r' % (path, r))
                self.assertNotEqual(r.body, GREETING, path)

    def test_echo_not_mounted_without_test_services(self):
        r = self.stack.request('GET', '/echo')
        self.assertEqual(r.status, 404, r)
        self.assertFalse(answered_by_chat_fcgi(r), r)

    def test_unknown_path_answered_by_chat_fcgi(self):
        """A path under the prefix reaches chat.fcgi, which says 404."""
        r = self.stack.request('GET', '/chat/nonexistent')
        self.assertEqual(r.status, 404)
        self.assertTrue(answered_by_chat_fcgi(r), r)

    # -- static files

    def test_static_index(self):
        with open(os.path.join(harness.TOP_SRCDIR, 'www', 'index.html'), 'rb') as f:
            page = f.read()
        for path in ('/', '/index.html'):
            with self.subTest(path=path):
                r = self.stack.request('GET', path)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, page)
                self.assertRegex(r.header('Content-Type', ''), r'^text/html(;|$)')

    # -- test services

    def test_test_services_routed_to_chat_fcgi(self):
        """--test-services routes /echo etc. to chat.fcgi; /chat still works."""
        stack = self.services_stack()
        self.assertGreeting(stack.request('GET', '/chat'), 'GET /chat with --test-services')
        for name in TEST_SERVICES:
            with self.subTest(prefix=name):
                r = stack.request('GET', '/' + name)
                self.assertTrue(answered_by_chat_fcgi(r), '/%s: %r' % (name, r))
                # Sub-paths too, but not names that merely start the same.
                r = stack.request('GET', '/%s/info' % name)
                self.assertEqual((r.status, r.header('Content-Type')),
                                 (200, 'application/json; charset=UTF-8'), '/%s/info: %r' % (name, r))
        r = stack.request('GET', '/echoes')
        self.assertEqual(r.status, 404)
        self.assertFalse(answered_by_chat_fcgi(r), r)

    def test_test_services_greeting(self):
        stack = self.services_stack()
        for name in TEST_SERVICES:
            self.assertGreeting(stack.request('GET', '/' + name), 'GET /' + name)

    # -- load

    def test_concurrent_requests(self):
        """Many requests at once, mixed: every one gets its own answer."""
        expected = {'/chat': (200, GREETING), '/chat/': (200, GREETING),
                    '/chat/nonexistent': (404, None)}
        jobs = [path for path in expected for _ in range(12)]

        def fetch(path):
            r = self.stack.request('GET', path, timeout=30)
            return path, r

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(fetch, jobs))
        self.assertEqual(len(results), len(jobs))
        for path, r in results:
            status, body = expected[path]
            self.assertEqual(r.status, status, '%s: %r' % (path, r))
            if body is not None:
                self.assertEqual(r.body, body, path)

    # -- processes

    def test_chat_fcgi_processes_found(self):
        """The /proc scan that the stop check relies on finds chat.fcgi."""
        self.assertGreeting(self.stack.request('GET', '/chat'), 'GET /chat')
        procs = self.stack.chat_fcgi_processes()
        self.assertTrue(procs, 'no chat.fcgi among %r' % self.stack.processes())
        pids = dict(self.stack.pids())
        if self.front == 'lighttpd':
            self.assertEqual(len(procs), FCGI_PROCS, procs)
        elif self.front == 'apache-fcgid':
            self.assertLessEqual(len(procs), FCGI_PROCS, procs)
            if os.getuid() == 0:
                self.assertTrue(all(p.uid != 0 for p in procs), 'mod_fcgid ran chat.fcgi as root: %r' % procs)
        else:
            self.assertEqual([p.pid for p in procs], [pid for pid, name in pids.items() if name == 'chat.fcgi'])

    def test_stop_leaves_nothing(self):
        stack = harness.Stack(self.front, fcgi_procs=FCGI_PROCS)
        try:
            stack.start()
            # Requests in parallel, so that mod_fcgid spawns its processes too.
            with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
                for r in pool.map(lambda _: stack.request('GET', '/chat', timeout=30), range(8)):
                    self.assertGreeting(r, 'GET /chat')
            procs = stack.remember()
            run = stack.run
            names = {p.name for p in procs}
            self.assertIn('lighttpd' if self.front == 'lighttpd' else 'apache2', names, procs)
            self.assertTrue(stack.chat_fcgi_processes(), procs)
        finally:
            stack.stop()  # raises StackError naming any process left behind
        self.assertEqual([p for p in procs if p.alive()], [])
        self.assertEqual(harness.processes_mentioning(run + '/'), [])

    def test_stop_after_front_killed(self):
        """serve.sh --stop also ends what a KILLed front server left
        orphaned: its workers and the chat.fcgi processes it spawned."""
        stack = harness.Stack(self.front, fcgi_procs=FCGI_PROCS)
        try:
            stack.start()
            self.assertGreeting(stack.request('GET', '/chat'), 'GET /chat')
            started = stack.pids()
            for pid, _ in started:
                os.kill(pid, signal.SIGKILL)
            harness.wait_until(lambda: not any(harness.Process(pid).alive() for pid, _ in started),
                               what='KILLed processes gone')
            self.assertTrue(stack.chat_fcgi_processes() or self.front == 'apache-proxy-fcgi',
                            'nothing orphaned: %r' % stack.processes())
        finally:
            stack.stop()

    # -- configuration

    def configs(self):
        """The rendered configurations: plain and with --test-services."""
        return [self.stack.config, self.services_stack().config]

    def test_config_fully_rendered(self):
        """No @NAME@ left outside comments."""
        for config in self.configs():
            with self.subTest(config=config), open(config) as f:
                lines = [line for line in f if not line.lstrip().startswith('#')]
                self.assertEqual(re.findall(r'@[A-Z_]+@', ''.join(lines)), [], config)

    def test_config_syntax(self):
        """The rendered configurations pass the server's own check."""
        for config in self.configs():
            if self.front == 'lighttpd':
                cmd = [harness.LIGHTTPD, '-tt', '-f', config]
            else:
                cmd = [harness.APACHE2, '-t', '-f', config]
            with self.subTest(config=config):
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
                self.assertEqual(p.returncode, 0, '%s:\n%s' % (' '.join(cmd), p.stdout.decode('utf-8', 'replace')))


def front_class(front):
    """Class decorator: run FrontTests against FRONT, or skip every test
    with the reason FRONT cannot run here."""
    def decorate(cls):
        cls.front = front
        missing = harness.front_missing(front)
        return unittest.skip(missing)(cls) if missing else cls
    return decorate


@front_class('lighttpd')
class Lighttpd(FrontTests, harness.StackTestCase):
    pass


@front_class('apache-fcgid')
class ApacheFcgid(FrontTests, harness.StackTestCase):
    pass


@front_class('apache-proxy-fcgi')
class ApacheProxyFcgi(FrontTests, harness.StackTestCase):
    pass


if __name__ == '__main__':
    taprunner.main()
