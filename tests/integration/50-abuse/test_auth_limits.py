#!/usr/bin/env python3
"""test_auth_limits.py - password guessing and the memory of password
hashes (issue 10, attack 3), over raw HTTP through each front server.

- Failed logins are limited per account and per client address
  (REMOTE_ADDR; each client here binds its socket to its own 127.x
  address): over the limit, POST /api/login gets 429 with Retry-After and
  STOMP CONNECT with a password gets an ERROR saying to retry later, even
  with the right password; failed CONNECTs count like failed logins.
- While an attacker is locked out, a well-behaved client from another
  address signs up, logs in, connects with its token, posts and receives.
- Many parallel logins: each chat.fcgi process's peak memory (VmHWM) grows
  by at most kdf_concurrency hashes of kdf_memory_kib (skipped under
  sanitizers, whose shadow memory is not the server's); with
  kdf_concurrency 1 and kdf_wait_ms 0, logins that find no free slot get
  503 with Retry-After.
"""

import json
import os
import sys
import threading
import unittest
import uuid

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import taprunner  # noqa: E402

ACCOUNT_MAX = 3
ADDR_MAX = 6
KDF_KIB = 19456
OPTIONS = {'auth_account_failures': ACCOUNT_MAX, 'auth_addr_failures': ADDR_MAX,
           'auth_lockout_ms': 60000, 'kdf_memory_kib': KDF_KIB, 'kdf_concurrency': 2,
           'heartbeat_ms': 5000}
WAIT = 20.0
JSON = {'Content-Type': 'application/json'}
PASSWORD = 'a long enough password'


def name(tag):
    return '%s%s' % (tag, uuid.uuid4().hex[:10])


def stomp(command, headers, body=''):
    return '%s\n%s\n\n%s\x00' % (command, ''.join('%s:%s\n' % h for h in headers.items()), body)


class Base:
    front = 'lighttpd'
    options = {}

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(cls.front, options=dict(OPTIONS, **cls.options))
        cls.addClassCleanup(cls.stack.stop)
        cls.stack.start()

    def post(self, path, body, source, headers=JSON):
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        return self.stack.request('POST', path, body, headers, timeout=WAIT, source=source)

    def signup(self, user, source):
        r = self.post('/api/users', {'name': user, 'password': PASSWORD}, source)
        self.assertEqual(r.status, 201, r)

    def login(self, user, password, source):
        return self.post('/api/login', {'name': user, 'password': password}, source)

    def assert_limited(self, r, status=429):
        self.assertEqual(r.status, status, r)
        retry = r.header('Retry-After')
        self.assertIsNotNone(retry, r)
        self.assertTrue(retry.isdigit() and 1 <= int(retry) <= 60, retry)
        error = json.loads(r.body)['error']
        if status == 429:
            self.assertEqual(error, 'too many failed logins, retry in %s s' % retry)
        else:
            self.assertEqual(error, 'too many logins at once, retry later')

    def session(self, source):
        base = '/chat/000/%s' % uuid.uuid4().hex
        self.assertEqual(self.post(base + '/xhr', b'', source, {}).body, b'o\n')
        return base

    def send(self, base, frames, source):
        r = self.post(base + '/xhr_send', json.dumps(frames), source, {})
        self.assertEqual(r.status, 204, r)

    def poll(self, base, source):
        return self.post(base + '/xhr', b'', source, {}).body

    def connect(self, user, passcode, source):
        """A new SockJS session sending CONNECT: what came back first."""
        base = self.session(source)
        self.send(base, [stomp('CONNECT', {'accept-version': '1.2', 'host': 'localhost',
                                            'login': user, 'passcode': passcode})], source)
        return base, self.poll(base, source)


class LimitTests(Base):
    """Run against each front server."""

    def test_account_locked_after_failures(self):
        victim, attacker, owner = name('victim'), '127.0.0.11', '127.0.0.12'
        self.signup(victim, owner)
        for _ in range(ACCOUNT_MAX):
            self.assertEqual(self.login(victim, 'wrong guess', attacker).status, 401)
        # Locked: even the right password, from any address, over HTTP...
        self.assert_limited(self.login(victim, PASSWORD, attacker))
        self.assert_limited(self.login(victim.upper(), PASSWORD, owner))
        # ... and over STOMP.
        _, first = self.connect(victim, PASSWORD, owner)
        self.assertTrue(first.startswith(b'a["ERROR'), first)
        self.assertIn(b'too many failed logins, retry in', first)

    def test_failed_connects_count(self):
        victim, attacker = name('conn'), '127.0.0.13'
        self.signup(victim, '127.0.0.14')
        for _ in range(ACCOUNT_MAX):
            _, first = self.connect(victim, 'wrong guess', attacker)
            self.assertIn(b'authentication failed', first)
        self.assert_limited(self.login(victim, PASSWORD, '127.0.0.14'))

    def test_success_resets_the_account(self):
        user, source = name('reset'), '127.0.0.15'
        self.signup(user, source)
        for _ in range(2):
            for _ in range(ACCOUNT_MAX - 1):
                self.assertEqual(self.login(user, 'wrong guess', source).status, 401)
            self.assertEqual(self.login(user, PASSWORD, source).status, 200)

    def test_address_limited_while_another_client_chats(self):
        attacker, good = '127.0.0.16', '127.0.0.17'
        # One guess at each of many accounts: the address is locked.
        for i in range(ADDR_MAX):
            self.assertEqual(self.login(name('spray%d' % i), 'guess', attacker).status, 401)
        self.assert_limited(self.login(name('spray'), 'guess', attacker))
        # A client from another address signs up, logs in, posts, receives.
        user = name('good')
        self.signup(user, good)
        r = self.login(user, PASSWORD, good)
        self.assertEqual(r.status, 200, r)
        token = json.loads(r.body)['token']
        self.assert_limited(self.login(user, PASSWORD, attacker))
        base, first = self.connect(user, token, good)
        self.assertTrue(first.startswith(b'a["CONNECTED'), first)
        text = 'hello ' + uuid.uuid4().hex
        self.send(base, [stomp('SUBSCRIBE', {'id': 's1', 'destination': '/topic/chat/room/general'}),
                         stomp('SEND', {'destination': '/app/chat/room/general',
                                        'content-type': 'application/json', 'receipt': 'r1'},
                               json.dumps({'text': text}))], good)
        got = b''
        for _ in range(20):  # bounded: each poll returns what is there or a heartbeat
            got += self.poll(base, good)
            if text.encode() in got:
                break
        self.assertIn(text.encode(), got)
        self.assertIn(b'receipt-id:r1', got)


class LighttpdLimits(LimitTests, harness.StackTestCase):
    front = 'lighttpd'


class ApacheFcgidLimits(LimitTests, harness.StackTestCase):
    front = 'apache-fcgid'


class ApacheProxyFcgiLimits(LimitTests, harness.StackTestCase):
    front = 'apache-proxy-fcgi'


def status_kib(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise AssertionError('no %s for %d' % (field, pid))


class MemoryTests(Base):
    """Parallel logins: the hash memory stays within kdf_concurrency x
    kdf_memory_kib per process."""

    PARALLEL = 32
    SLACK_KIB = 24 * 1024  # threads' stacks, SQLite caches, the store

    def burst(self, user, source):
        out = [None] * self.PARALLEL
        start = threading.Barrier(self.PARALLEL)

        def one(i):
            start.wait()
            out[i] = self.login(user, PASSWORD, source)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(self.PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 2)
        self.assertTrue(all(r is not None for r in out), 'a login did not finish')
        return out

    @unittest.skipIf(os.environ.get('CHAT_SANITIZERS'), 'peak memory is not the server\'s under sanitizers')
    def test_peak_memory_bounded(self):
        user, source = name('mem'), '127.0.0.21'
        self.signup(user, source)
        self.assertEqual(self.login(user, PASSWORD, source).status, 200)
        procs = self.stack.chat_fcgi_processes()
        self.assertTrue(procs)
        before = {p.pid: status_kib(p.pid, 'VmHWM') for p in procs}
        statuses = [r.status for r in self.burst(user, source)]
        self.assertEqual(statuses, [200] * self.PARALLEL)
        bound = KDF_KIB * OPTIONS['kdf_concurrency'] + self.SLACK_KIB
        for p in self.stack.chat_fcgi_processes():
            grew = status_kib(p.pid, 'VmHWM') - before.get(p.pid, 0)
            harness.diag('chat.fcgi %d: VmHWM grew %d KiB (bound %d)' % (p.pid, grew, bound))
            self.assertLessEqual(grew, bound, p)


class LighttpdMemory(MemoryTests, harness.StackTestCase):
    front = 'lighttpd'


class ApacheProxyFcgiMemory(MemoryTests, harness.StackTestCase):
    front = 'apache-proxy-fcgi'


class NoFreeSlot(MemoryTests, harness.StackTestCase):
    """kdf_concurrency 1, kdf_wait_ms 0: a login finding the slot taken
    gets 503 with Retry-After at once."""

    front = 'lighttpd'
    options = {'kdf_concurrency': 1, 'kdf_wait_ms': 0}

    def test_busy_logins_get_503(self):
        user, source = name('busy'), '127.0.0.22'
        self.signup(user, source)
        seen = set()
        for _ in range(5):  # bounded: a burst of 32 nearly always overlaps at once
            for r in self.burst(user, source):
                seen.add(r.status)
                if r.status == 503:
                    self.assert_limited(r, 503)
                else:
                    self.assertEqual(r.status, 200, r)
            if 503 in seen:
                break
        self.assertIn(503, seen)
        self.assertIn(200, seen)

    test_peak_memory_bounded = None


if __name__ == '__main__':
    taprunner.main()
