#!/usr/bin/env python3
"""test_rate_limits.py - post floods (issue 10, attack 4), over raw HTTP
(SockJS xhr) through lighttpd and an Apache front.

SENDs are limited per user by token buckets in chat.db (rate_sends /
rate_guest_sends and their bursts).  The tests run with refill rates of 0,
so exactly the burst is accepted whatever the timing:
- a guest flooding 500 posts gets a MESSAGE on /user/queue/errors for
  refused ones, and past 50 refusals an ERROR ends its session; the store
  holds exactly the accepted posts (the burst); meanwhile a client from another address signs in,
  posts and receives its own post;
- a registered user's burst is larger than a guest's, and one user's
  sessions share it;
- new SockJS sessions per client address (REMOTE_ADDR): past the burst the
  opening request gets 429 with Retry-After and no session, while another
  address opens sessions.
"""

import json
import os
import sys
import unittest
import uuid

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import taprunner  # noqa: E402
from test_auth_limits import PASSWORD, Base, name, stomp  # noqa: E402

GUEST_BURST = 5
USER_BURST = 20
SESSION_BURST = 5
FLOOD = 500
REFUSED_MAX = 50  # BROKER_REFUSED_BURST: then an ERROR ends the session
BATCH = 50  # SockJS messages per xhr_send
OPTIONS = {'rate_guest_sends': 0, 'rate_guest_sends_burst': GUEST_BURST,
           'rate_sends': 0, 'rate_sends_burst': USER_BURST,
           'sessions_per_addr_rate': 0, 'sessions_per_addr_burst': SESSION_BURST}
ROOM = '/app/chat/room/general'


def frames(body):
    """The STOMP frames of one SockJS xhr response."""
    out = []
    for line in body.decode().split('\n'):
        if line.startswith('a['):
            out += json.loads(line[1:])
    return out


class Client:
    """A STOMP session over SockJS xhr from one source address."""

    def __init__(self, test, source, login=None, passcode=None):
        self.test, self.source = test, source
        self.base = test.session(source)
        headers = {'accept-version': '1.2', 'host': 'localhost'}
        if passcode is not None:
            headers.update({'login': login, 'passcode': passcode})
        self.send([stomp('CONNECT', headers),
                   stomp('SUBSCRIBE', {'id': 'err', 'destination': '/user/queue/errors'})])
        self.got = []
        self.wait(lambda: any(f.startswith('CONNECTED') for f in self.got))

    def send(self, msgs):
        self.test.send(self.base, msgs, self.source)

    def wait(self, done, polls=3000):
        for _ in range(polls):  # bounded: each poll returns what is there or a heartbeat
            if done():
                return
            self.got += frames(self.test.poll(self.base, self.source))
        self.test.fail('not done after %d polls: %r' % (polls, self.got[-5:]))

    def flood(self, tag, n, start=0):
        """n posts tagged tag, each with a receipt, BATCH per request."""
        for i in range(start, start + n, BATCH):
            self.send([stomp('SEND', {'destination': ROOM, 'receipt': '%s-%d' % (tag, j)},
                             json.dumps({'text': '%s %d' % (tag, j)}))
                       for j in range(i, min(i + BATCH, start + n))])

    def settle(self, tag, n, ended=False):
        """Waits for n receipts of tag (ended: then the ERROR that ends the
        session); returns the refused SENDs' bodies."""
        def receipts():
            return sum(1 for f in self.got if f.startswith('RECEIPT\n') and
                       ('receipt-id:%s-' % tag) in f)
        errors = lambda: [f for f in self.got if f.startswith('ERROR')]  # noqa: E731
        if ended:
            self.wait(lambda: errors())
            self.test.assertIn('message:rate limited\\c too many refused SENDs', errors()[0])
        self.wait(lambda: receipts() >= n)
        if not ended:
            self.test.assertFalse(errors())
        return [json.loads(f.split('\n\n', 1)[1].rstrip('\0')) for f in self.got
                if f.startswith('MESSAGE\n') and 'subscription:err\n' in f]


class RateTests(Base):
    options = OPTIONS

    def stored(self, client, tag):
        """Posts of tag in the room's history (store and chat.db)."""
        client.got = []
        client.send([stomp('SUBSCRIBE', {'id': 'h', 'destination': ROOM + '/history',
                                         'limit': '500'})])
        client.wait(lambda: any('subscription:h\n' in f for f in client.got))
        body = next(f for f in client.got if 'subscription:h\n' in f).split('\n\n', 1)[1]
        return sum(1 for m in json.loads(body.rstrip('\0')) if m['text'].startswith(tag + ' '))

    def user(self, source):
        user = name('rate')
        self.signup(user, source)
        r = self.login(user, PASSWORD, source)
        self.assertEqual(r.status, 200, r)
        return user, json.loads(r.body)['token']

    def test_guest_flood_refused_while_another_client_chats(self):
        tag = 'flood' + uuid.uuid4().hex[:8]
        guest = Client(self, '127.0.0.31')
        guest.flood(tag, FLOOD // 2)
        # Another address signs in, posts and receives meanwhile.
        user, token = self.user('127.0.0.2')
        good = Client(self, '127.0.0.2', user, token)
        good.send([stomp('SUBSCRIBE', {'id': 'live', 'destination': '/topic/chat/room/general'})])
        guest.flood(tag, FLOOD - FLOOD // 2, FLOOD // 2)
        text = 'hello ' + uuid.uuid4().hex
        good.send([stomp('SEND', {'destination': ROOM, 'receipt': 'g-1'},
                         json.dumps({'text': text}))])
        good.wait(lambda: any(text in f and 'subscription:live\n' in f for f in good.got))
        refused = guest.settle(tag, 0, ended=True)
        # Told of each refusal until the ERROR; MESSAGEs still queued when
        # the ERROR ended the session go with its subscriptions.
        self.assertLessEqual(len(refused), REFUSED_MAX)
        for r in refused:
            self.assertEqual(r['error'], 'rate limited')
            self.assertEqual(r['destination'], ROOM)
            self.assertGreater(r['retry_after_ms'], 0)
        # Accepted == stored; nothing refused was stored.
        self.assertEqual(self.stored(good, tag), GUEST_BURST)

    def test_user_burst_is_looser_and_shared_by_sessions(self):
        tag = 'user' + uuid.uuid4().hex[:8]
        user, token = self.user('127.0.0.32')
        a = Client(self, '127.0.0.32', user, token)
        b = Client(self, '127.0.0.33', user, token)
        a.flood(tag + 'a', USER_BURST)
        b.flood(tag + 'b', USER_BURST)
        refused = len(a.settle(tag + 'a', USER_BURST)) + len(b.settle(tag + 'b', USER_BURST))
        # Looser than a guest's, and one bucket for both sessions.
        self.assertGreater(USER_BURST, GUEST_BURST)
        self.assertEqual(refused, USER_BURST)
        self.assertEqual(self.stored(a, tag + 'a') + self.stored(a, tag + 'b'), USER_BURST)

    def test_session_flood_gets_429(self):
        flood, other = '127.0.0.41', '127.0.0.42'
        for _ in range(SESSION_BURST):
            self.session(flood)
        for _ in range(3):
            base = '/chat/000/%s' % uuid.uuid4().hex
            r = self.post(base + '/xhr', b'', flood, {})
            self.assertEqual(r.status, 429, r)
            self.assertTrue(r.header('Retry-After', '').isdigit(), r)
            # Not created: sending to it is an unknown session.
            self.assertEqual(self.post(base + '/xhr_send', '["x"]', flood, {}).status, 404)
        self.session(other)
        Client(self, other)


class LighttpdRates(RateTests, harness.StackTestCase):
    front = 'lighttpd'


class ApacheFcgidRates(RateTests, harness.StackTestCase):
    front = 'apache-fcgid'


if __name__ == '__main__':
    taprunner.main()
