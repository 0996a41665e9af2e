#!/usr/bin/env python3
"""test_protocol_cgi.py - the SockJS protocol tests of test_protocol.py with
chat.fcgi run as a plain CGI program, one process per request: behind
lighttpd mod_cgi and Apache mod_cgid (docs/shared-hosting.md).  A held poll
or stream is a sleeping process, so every xhr_send beside one is served by
another process and crosses through the outbox and doorbell.
"""

import os
import sys

sys.dont_write_bytecode = True  # the source tree may be read-only (distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import taprunner  # noqa: E402
import test_protocol  # noqa: E402


class CgiCrossProcess:
    """Each xhr_send is a process of its own, beside the one process that
    holds the stream: every message crosses processes, and the stream's
    process is the same from its first frame to its last."""

    def test_message_crosses_processes(self):
        s = test_protocol.sid()
        with self.open_stream('/echo/000/%s/xhr_streaming' % s) as stream:
            stream.read_exactly(2049)
            self.assertEqual(stream.read_until(b'\n'), b'o\n')
            holders = {p.pid for p in self.stack.chat_fcgi_processes()}
            self.assertGreaterEqual(len(holders), 1)
            for i in range(20):
                self.send('/echo', s, ['cross %d' % i])
                self.assertEqual(self.frame(stream), ('a["cross %d"]\n' % i).encode())
            self.assertTrue(holders & {p.pid for p in self.stack.chat_fcgi_processes()},
                            'the stream is still served by the process that opened it')


class LighttpdCgi(CgiCrossProcess, test_protocol.ProtocolTests, harness.StackTestCase):
    front = 'lighttpd-cgi'


class ApacheCgid(CgiCrossProcess, test_protocol.ProtocolTests, harness.StackTestCase):
    front = 'apache-cgid'


if __name__ == '__main__':
    taprunner.main()
