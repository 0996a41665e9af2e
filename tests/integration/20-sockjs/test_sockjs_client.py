#!/usr/bin/env python3
"""test_sockjs_client.py - the real sockjs-client (npm, run by Node) against
the echo service over each HTTP transport Node can run (xhr-streaming,
xhr-polling, eventsource; jsonp and htmlfile need a browser: see
tests/browser), through each front server: unicode, JSON-hostile
characters and a 64 KiB message come back exactly, in order.

Needs Node.js and tests/node_modules (npm ci in tests/, done by
tools/install-deps.sh); skipped without them unless CHAT_REQUIRE_NODE=1.
"""

import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import taprunner  # noqa: E402

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sockjs_echo.mjs')
NODE_MODULES = os.environ.get('CHAT_NODE_MODULES') or os.path.join(harness.TOP_SRCDIR, 'tests', 'node_modules')
TRANSPORTS = ('xhr-streaming', 'xhr-polling', 'eventsource')
MESSAGES = [
    'hello',
    'Grüße, 世界 — \U0001F600',
    'quotes " and \\ backslash, 100% of </script> & \u2028 \u0000 \n\r\t',
    '0123456789abcdef' * 4096,  # 64 KiB
    'last',
]


def node_missing():
    if not harness.NODE:
        return 'node not found'
    if not os.path.isdir(os.path.join(NODE_MODULES, 'sockjs-client')):
        return 'no sockjs-client in %s (run npm ci in tests/)' % NODE_MODULES
    return None


class SockJSClientTests:
    front = None

    @classmethod
    def setUpClass(cls):
        missing = node_missing()
        if missing:
            if os.environ.get('CHAT_REQUIRE_NODE') == '1':
                raise RuntimeError(missing + ' and CHAT_REQUIRE_NODE=1')
            raise unittest.SkipTest(missing)
        cls.stack = harness.Stack(cls.front, test_services=True)
        cls.addClassCleanup(cls.stack.stop)
        cls.stack.start()

    def echo(self, transport, messages, service='/echo'):
        env = dict(os.environ, CHAT_NODE_MODULES=NODE_MODULES)
        p = subprocess.run([harness.NODE, CLIENT, self.stack.url(service), transport, json.dumps(messages)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        lines = p.stdout.decode('utf-8', 'replace').strip().split('\n')  # not splitlines(): U+2028
        self.assertTrue(lines, 'no output; stderr: %s' % p.stderr.decode('utf-8', 'replace')[-2000:])
        result = json.loads(lines[-1])
        self.assertEqual(p.returncode, 0, (result if len(lines[-1]) < 2000 else lines[-1][:2000],
                                           p.stderr.decode('utf-8', 'replace')[-2000:]))
        return result

    def check(self, transport):
        result = self.echo(transport, MESSAGES)
        self.assertEqual(result['transport'], transport)
        self.assertEqual(len(result['received']), len(MESSAGES))
        for got, want in zip(result['received'], MESSAGES):
            self.assertEqual(got, want)

    def test_xhr_streaming(self):
        self.check('xhr-streaming')

    def test_xhr_polling(self):
        self.check('xhr-polling')

    def test_eventsource(self):
        self.check('eventsource')


class Lighttpd(SockJSClientTests, harness.StackTestCase):
    front = 'lighttpd'


class ApacheFcgid(SockJSClientTests, harness.StackTestCase):
    front = 'apache-fcgid'


class ApacheProxyFcgi(SockJSClientTests, harness.StackTestCase):
    front = 'apache-proxy-fcgi'


if __name__ == '__main__':
    taprunner.main()
