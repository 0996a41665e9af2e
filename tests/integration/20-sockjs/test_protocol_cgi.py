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


class LighttpdCgi(test_protocol.CrossProcess, test_protocol.ProtocolTests, harness.StackTestCase):
    front = 'lighttpd-cgi'


class ApacheCgid(test_protocol.CrossProcess, test_protocol.ProtocolTests, harness.StackTestCase):
    front = 'apache-cgid'


if __name__ == '__main__':
    taprunner.main()
