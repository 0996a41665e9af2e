"""harness.py - what the integration tests share: the tree's paths, free
loopback ports, a whole server stack started by conf/serve.sh for the
duration of a test (Stack), and HTTP clients that show exactly what the
server sent: http.client for whole responses (request), a raw socket for
byte-exact exchanges (raw_request) and an incremental reader for streaming
responses (HTTPStream).

Python 3 standard library only.  Paths come from the environment that
Makefile.am exports to tests (top_srcdir, top_builddir, LIGHTTPD, APACHE2,
NODE, GO); run by hand from a build directory, they default to that
directory and the source tree this file is in.  Set CHAT_ITEST_KEEP=1 to
keep each stack's state directory after the test (its path is printed).
"""

import atexit
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def _guess_builddir():
    for d in (os.getcwd(), TOP_SRCDIR):
        if os.path.exists(os.path.join(d, 'fcgi', 'chat.fcgi')):
            return d
    return os.getcwd()


def _tool(var, name):
    # Set but empty means configure looked and found nothing.
    if var in os.environ:
        return os.environ[var] or None
    return shutil.which(name, path=os.environ.get('PATH', '') + ':/usr/sbin:/usr/local/go/bin')


TOP_SRCDIR = os.path.abspath(os.environ.get('top_srcdir') or os.path.join(HERE, '..', '..'))
TOP_BUILDDIR = os.path.abspath(os.environ.get('top_builddir') or _guess_builddir())
LIGHTTPD = _tool('LIGHTTPD', 'lighttpd')
APACHE2 = _tool('APACHE2', 'apache2')
NODE = _tool('NODE', 'node')
GO = _tool('GO', 'go')
SERVE_SH = os.path.join(TOP_SRCDIR, 'conf', 'serve.sh')
CHAT_FCGI = os.path.join(TOP_BUILDDIR, 'fcgi', 'chat.fcgi')
CHAT_WS = os.path.join(TOP_BUILDDIR, 'ws', 'chat-ws')
APACHE_MODULES = '/usr/lib/apache2/modules'  # as conf/serve.sh renders @MODULES@
FRONTS = ('lighttpd', 'apache-fcgid', 'apache-proxy-fcgi')
# chat.fcgi as plain CGI, one process per request (tests that ask for them).
CGI_FRONTS = ('lighttpd-cgi', 'apache-cgid')
LOOPBACK = '127.0.0.1'
TIMEOUT = 10.0  # default for one request or read, in seconds


def diag(text):
    """Print TEXT as TAP diagnostics ('# ' lines) on stdout."""
    for line in str(text).splitlines() or ['']:
        sys.stdout.write('# ' + line + '\n')
    sys.stdout.flush()


class StackError(Exception):
    """The stack did not start, did not stop, or left processes behind."""


class ProtocolError(Exception):
    """The server's bytes are not a well-formed HTTP/1.x response."""


# ---------------------------------------------------------------- ports

def free_port(host=LOOPBACK):
    """A TCP port on HOST that nothing listens on right now.  Another
    process may take it before the caller binds it: callers retry."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(port, host=LOOPBACK, timeout=TIMEOUT):
    """Poll until something accepts connections on HOST:PORT; raises
    TimeoutError.  Readiness polling, not a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError('nothing listens on %s:%d after %.1f s' % (host, port, timeout))
            time.sleep(0.02)


def wait_until(predicate, timeout=TIMEOUT, interval=0.02, what='condition'):
    """Poll PREDICATE() until it returns a true value, which is returned;
    raises TimeoutError naming WHAT after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError('%s not met after %.1f s' % (what, timeout))
        time.sleep(interval)


# ------------------------------------------------------------ processes

class Process:
    """A process seen in /proc, identified by PID and start time so that a
    reused PID is not mistaken for it."""

    def __init__(self, pid, name=None):
        self.pid = pid
        self.starttime = _starttime(pid)
        self.exe = _readlink('/proc/%d/exe' % pid)
        self.cmdline = _read('/proc/%d/cmdline' % pid).replace(b'\0', b' ').strip().decode('utf-8', 'replace')
        self.uid = _uid(pid)
        self.name = name or os.path.basename(self.exe or self.cmdline.split(' ')[0] or '?')

    def alive(self):
        """Still running (a zombie is not), and the same process."""
        stat = _stat(self.pid)
        return stat is not None and stat[0] not in 'ZX' and stat[1] == self.starttime

    def __repr__(self):
        return 'pid %d uid %s %s (%s)' % (self.pid, self.uid, self.name, self.cmdline)


def _read(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError:
        return b''


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def _stat(pid):
    """(state, starttime) of PID, or None if there is no such process."""
    raw = _read('/proc/%d/stat' % pid)
    if not raw:
        return None
    fields = raw[raw.rindex(b')') + 2:].split()
    return fields[0].decode(), int(fields[19])


def _starttime(pid):
    stat = _stat(pid)
    return stat[1] if stat else None


def _uid(pid):
    for line in _read('/proc/%d/status' % pid).splitlines():
        if line.startswith(b'Uid:'):
            return int(line.split()[1])
    return None


def processes_mentioning(needle):
    """Every live process other than this one whose command line or
    environment contains NEEDLE (a str): the processes of one stack, found
    through its run directory (front servers get it in their configuration
    path, chat.fcgi and chat-ws in CHAT_CONFIG), whoever spawned them."""
    found = []
    needle = needle.encode()
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        if needle in _read('/proc/%d/cmdline' % pid) or needle in _read('/proc/%d/environ' % pid):
            p = Process(pid)
            if p.alive():
                found.append(p)
    return found


# ---------------------------------------------------------------- fronts

def front_missing(front):
    """Why FRONT cannot run on this machine (a string for a skip), or None.
    A chat.fcgi that is not built is not a reason to skip: Stack fails."""
    if front not in FRONTS + CGI_FRONTS:
        return 'unknown front %r' % front
    if shutil.which('curl') is None:
        return 'curl not found (conf/serve.sh polls with it)'
    if front.startswith('lighttpd'):
        return None if LIGHTTPD else 'lighttpd not found by configure'
    if not APACHE2:
        return 'apache2 not found by configure'
    module = {'apache-fcgid': 'mod_fcgid.so', 'apache-cgid': 'mod_cgid.so'}.get(front, 'mod_proxy_fcgi.so')
    if not os.path.exists(os.path.join(APACHE_MODULES, module)):
        return '%s not in %s' % (module, APACHE_MODULES)
    return None


def _world_reachable(path):
    """Can an unprivileged account (Apache's www-data) reach PATH?"""
    path = os.path.abspath(path)
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return True
        if not os.stat(parent).st_mode & 0o001:
            return False
        path = parent


# ----------------------------------------------------------------- stack

_BIND_TROUBLE = re.compile(r'Address already in use|could not bind|can\'t bind|cannot listen on')


class Stack:
    """The whole server stack for one test: conf/serve.sh --daemon with
    FRONT (lighttpd, apache-fcgid, apache-proxy-fcgi) on a free loopback
    port, its state in a fresh temporary directory.

        with Stack('lighttpd') as stack:
            r = stack.request('GET', '/chat')

    Attributes once started: port, base_url ('http://127.0.0.1:PORT'),
    var (the state directory), run (VAR/run: logs, rendered configuration,
    pids), config (the rendered front-server configuration file).

    stop() (and leaving the with block) runs serve.sh --stop, then checks
    by PID and start time that every process of the stack is gone - those
    in VAR/run/pids and those the front server spawned (found through
    /proc) - KILLs any left over and raises StackError naming them.
    """

    live = []  # started and not yet stopped, for failure diagnostics

    def __init__(self, front='lighttpd', test_services=False, fcgi_procs=None,
                 mongodb_uri=None, env=None, attempts=4, start_timeout=60.0, options=None):
        self.front = front
        # chat.conf options (serve.sh --set); SEND and session rate limits are off
        # unless a test sets them (50-abuse tests them).  Test clients share
        # 127.0.0.1: the per-address bound on held requests is raised unless a
        # test (50-abuse/test_workers.py) sets it.
        self.options = dict({'rate_sends_burst': 0, 'rate_guest_sends_burst': 0,
                             'sessions_per_addr_burst': 0, 'held_per_addr': 1000},
                            **(options or {}))
        self.test_services = test_services
        self.fcgi_procs = fcgi_procs
        self.mongodb_uri = mongodb_uri
        self.extra_env = dict(env or {})
        self.attempts = attempts
        self.start_timeout = start_timeout
        self.host = LOOPBACK
        self.port = None
        self.var = None
        self.started = False
        self.known = []  # Process snapshots taken while running
        self.failed_attempts = []  # why each failed try to start failed

    # -- lifecycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.started:
            diag('%s failed in a %s stack; its logs:' % (exc_type.__name__, self.front))
            diag(self.log_tail())
        self.stop()
        return False

    @property
    def run(self):
        return os.path.join(self.var, 'run')

    @property
    def base_url(self):
        return 'http://%s:%d' % (self.host, self.port)

    @property
    def config(self):
        name = 'lighttpd.conf' if self.front.startswith('lighttpd') else 'apache.conf'
        return os.path.join(self.run, name)

    def url(self, path):
        return self.base_url + path

    def _env(self):
        env = dict(os.environ)
        # The stack must not depend on the caller's environment.
        for name in ('SOCKJS_TEST_SERVICES', 'MONGODB_URI', 'FCGI_PROCS', 'CHAT_CONFIG'):
            env.pop(name, None)
        for name, value in (('LIGHTTPD', LIGHTTPD), ('APACHE2', APACHE2)):
            if value:
                env[name] = value
        if self.fcgi_procs is not None:
            env['FCGI_PROCS'] = str(self.fcgi_procs)
        if self.mongodb_uri:
            env['MONGODB_URI'] = self.mongodb_uri
        env.update(self.extra_env)
        return env

    def _serve(self, *args, timeout):
        out = os.path.join(self.tmp_out, 'serve.out')
        with open(out, 'wb') as f:
            try:
                rc = subprocess.run(['bash', SERVE_SH] + list(args), stdin=subprocess.DEVNULL,
                                    stdout=f, stderr=subprocess.STDOUT, env=self._env(),
                                    timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                rc = 'timeout after %.0f s' % timeout
        return rc, _read(out).decode('utf-8', 'replace')

    def start(self):
        missing = front_missing(self.front)
        if not missing and not os.access(CHAT_FCGI, os.X_OK):
            missing = '%s not built (top_builddir %s)' % (CHAT_FCGI, TOP_BUILDDIR)
        if missing:
            raise StackError('cannot start %s: %s' % (self.front, missing))
        _stop_stacks_at_exit()
        self.var = tempfile.mkdtemp(prefix='chat-itest-%s-' % self.front)
        # Apache run as root drops to www-data, which must enter it.
        os.chmod(self.var, 0o755)
        if os.getuid() == 0 and not self.front.startswith('lighttpd') and not _world_reachable(self.var):
            shutil.rmtree(self.var)
            raise StackError('%s is not reachable by www-data (Apache drops root): '
                             'point TMPDIR at a directory it can enter' % self.var)
        self.tmp_out = tempfile.mkdtemp(prefix='chat-itest-out-')
        Stack.live.append(self)
        self.started = True
        failures = self.failed_attempts = []
        try:
            for _ in range(self.attempts):
                self.port = free_port()
                args = ['--front', self.front, '--port', str(self.port), '--bind', self.host,
                        '--builddir', TOP_BUILDDIR, '--var', self.var, '--daemon']
                if self.test_services:
                    args.append('--test-services')
                for name, value in sorted(self.options.items()):
                    args += ['--set', '%s=%s' % (name, value)]
                rc, out = self._serve(*args, timeout=self.start_timeout)
                why = None
                if rc != 0:
                    why = 'serve.sh exited with %s' % rc
                elif not all(Process(pid).alive() for pid, _ in self.pids()):
                    why = 'a process exited right after the start: %r' % self.pids()
                elif not self._owns_port():
                    why = 'port %d is answered by a process outside the stack' % self.port
                if why is None:
                    self.known = self.processes()
                    return self
                logs = self.log_tail()
                failures.append('%s on port %d:\n%s\n%s' % (why, self.port, out.rstrip(), logs))
                self._stop_quietly()
                # Only a lost race for the port is worth another try.
                if not (_BIND_TROUBLE.search(out + logs) or 'outside the stack' in why):
                    break
        except BaseException:
            self._stop_quietly()
            self._cleanup()
            raise
        self._cleanup()
        raise StackError('%s stack did not start:\n%s' % (self.front, '\n'.join(failures)))

    def _owns_port(self):
        """Is the listening socket on our port held by the stack's front
        server (and not by something that grabbed the port first)?"""
        inodes = set()
        for table in ('/proc/net/tcp', '/proc/net/tcp6'):
            for line in _read(table).decode().splitlines()[1:]:
                f = line.split()
                if f[3] == '0A' and int(f[1].rsplit(':', 1)[1], 16) == self.port:
                    inodes.add('socket:[%s]' % f[9])
        for pid, name in self.pids():
            if name not in ('lighttpd', 'apache2'):
                continue
            try:
                fds = os.listdir('/proc/%d/fd' % pid)
            except OSError:
                continue
            for fd in fds:
                if _readlink('/proc/%d/fd/%s' % (pid, fd)) in inodes:
                    return True
        return False

    def pids(self):
        """[(pid, name)] from VAR/run/pids: what serve.sh started itself."""
        result = []
        for line in _read(os.path.join(self.run, 'pids')).decode().splitlines():
            pid, _, name = line.partition(' ')
            result.append((int(pid), name.strip()))
        return result

    def processes(self):
        """Every live process of the stack: those in the pid file and those
        they spawned (Apache workers, chat.fcgi under lighttpd/mod_fcgid)."""
        found = {p.pid: p for p in processes_mentioning(self.run + '/')}
        for pid, name in self.pids():
            if pid not in found:
                p = Process(pid, name)
                if p.alive():
                    found[pid] = p
            else:
                found[pid].name = name
        return sorted(found.values(), key=lambda p: p.pid)

    def chat_fcgi_processes(self):
        """The live chat.fcgi processes of the stack: the built binary, or
        the copy serve.sh runs from the run directory when Apache drops
        root."""
        real = {os.path.realpath(CHAT_FCGI), os.path.join(self.run, 'bin', 'chat.fcgi')}
        return [p for p in self.processes() if p.exe and os.path.realpath(p.exe) in real]

    def remember(self):
        """Snapshot the stack's processes now (e.g. after requests made the
        front spawn chat.fcgi) so that stop() checks them too."""
        seen = {p.pid for p in self.known}
        self.known += [p for p in self.processes() if p.pid not in seen]
        return self.known

    def stop(self):
        """Stop the stack; raise StackError if anything was left behind (it
        is KILLed first) or serve.sh --stop failed.  Idempotent."""
        if not self.started:
            return
        problems = []
        try:
            self.remember()
            rc, out = self._serve('--stop', '--var', self.var, timeout=60)
            if rc != 0:
                problems.append('serve.sh --stop exited with %s:\n%s' % (rc, out))
            leftovers = [p for p in self.known if p.alive()]
            leftovers += [p for p in processes_mentioning(self.run + '/')
                          if p.pid not in {q.pid for q in leftovers}]
            if leftovers:
                problems.append('left running after serve.sh --stop (now KILLed):\n  ' +
                                '\n  '.join(map(repr, leftovers)))
                problems.append(self.log_tail())
                for p in leftovers:
                    _kill(p)
                wait_until(lambda: not any(p.alive() for p in leftovers), timeout=10,
                           what='KILLed leftovers gone')
            if os.path.exists(os.path.join(self.run, 'pids')):
                problems.append('serve.sh --stop left %s/pids' % self.run)
        finally:
            self._cleanup()
        if problems:
            raise StackError('%s stack did not stop cleanly:\n%s' % (self.front, '\n'.join(problems)))

    def _stop_quietly(self):
        try:
            self._serve('--stop', '--var', self.var, timeout=60)
            for p in processes_mentioning(self.run + '/'):
                _kill(p)
        except Exception as e:  # already failing: report the first error
            diag('while stopping after a failure: %r' % e)

    def _cleanup(self):
        if self in Stack.live:
            Stack.live.remove(self)
        self.started = False
        if os.environ.get('CHAT_ITEST_KEEP') == '1':
            diag('kept %s' % self.var)
        else:
            shutil.rmtree(self.var, ignore_errors=True)
        shutil.rmtree(self.tmp_out, ignore_errors=True)

    # -- diagnostics

    def log_tail(self, lines=40):
        """The last LINES lines of each VAR/run/*.log, as one string."""
        if self.var is None or not os.path.isdir(self.run):
            return '(no logs)'
        parts = []
        for name in sorted(os.listdir(self.run)):
            if name.endswith('.log'):
                text = _read(os.path.join(self.run, name)).decode('utf-8', 'replace')
                tail = text.splitlines()[-lines:]
                parts.append('---- %s/%s (last %d lines) ----' % (self.run, name, len(tail)))
                parts.extend(tail)
        return '\n'.join(parts) or '(no logs)'

    # -- HTTP against this stack

    def request(self, method, path, body=None, headers=None, timeout=TIMEOUT, source=None):
        """http.client request; returns a Response.  SOURCE: the client's
        address (another 127.x address plays another client)."""
        return request(self.host, self.port, method, path, body, headers, timeout, source)

    def raw_request(self, data, timeout=TIMEOUT):
        """Send DATA (bytes, a whole request) as is; returns an HTTPStream
        whose response has been read completely (see raw_request)."""
        return raw_request(self.host, self.port, data, timeout)

    def stream(self, method, path, body=None, headers=None, timeout=TIMEOUT, source=None):
        """Send a request and read the response head; returns an open
        HTTPStream to read the body from as it arrives."""
        return open_stream(self.host, self.port, method, path, body, headers, timeout, source)


def _stop_stacks_at_exit():
    """Stop whatever stacks are still running when the test program exits,
    including on Ctrl-C or SIGTERM (turned into SystemExit for this)."""
    global _exit_hook_installed
    if _exit_hook_installed:
        return
    _exit_hook_installed = True

    def stop_live():
        for stack in list(Stack.live):
            try:
                stack.stop()
            except Exception as e:
                diag('at exit: %s' % e)
    atexit.register(stop_live)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


_exit_hook_installed = False


def _kill(p):
    if p.alive():
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ------------------------------------------------------------------ HTTP

class Response:
    """A complete response: status (int), reason, version ('HTTP/1.1'),
    headers ([(name, value)] in the order and spelling received) and body
    (bytes, without transfer coding)."""

    def __init__(self, status, reason, headers, body, version='HTTP/1.1'):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.version = version

    def header(self, name, default=None):
        """The first value of header NAME (any case), or DEFAULT."""
        values = self.header_all(name)
        return values[0] if values else default

    def header_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    @property
    def text(self):
        return self.body.decode('utf-8')

    def __repr__(self):
        return '<%s %d %s, %s, body %r>' % (self.version, self.status, self.reason,
                                            self.headers, self.body[:200])


def request(host, port, method, path, body=None, headers=None, timeout=TIMEOUT, source=None):
    """One request over a fresh connection with http.client (which adds
    Host, Accept-Encoding: identity and, with a body, Content-Length unless
    given in HEADERS).  Returns a Response; the body is read completely."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        if isinstance(body, str):
            body = body.encode('utf-8')
        conn.request(method, path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        data = r.read()
        version = {10: 'HTTP/1.0', 11: 'HTTP/1.1'}.get(r.version, str(r.version))
        return Response(r.status, r.reason, r.getheaders(), data, version)
    finally:
        conn.close()


class HTTPStream:
    """One HTTP/1.x exchange over a raw socket, read incrementally.

    raw holds every byte received (head and transfer coding included);
    after read_head(): version, status, reason, headers ([(name, value)]),
    head (the head's bytes).  read() returns body bytes as they arrive,
    with the chunked coding removed; chunks lists the sizes of the chunks
    the server sent, in order.  Every read takes a timeout (seconds) and
    raises TimeoutError when nothing arrives in time.
    """

    def __init__(self, host, port, timeout=TIMEOUT, method='GET', source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.timeout = timeout
        self.method = method.upper()
        self.raw = b''
        self._buf = b''
        self._out = b''
        self.eof = False
        self.version = self.status = self.reason = self.head = None
        self.headers = []
        self.chunks = []
        self._state = None  # body framing: 'size', 'data', 'crlf', 'trailer', 'length', 'close', 'done'
        self._left = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self.sock.close()

    def send(self, data):
        """Send DATA (bytes) as is."""
        self.sock.sendall(data)

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def _recv(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('no data from the server in time (so far: %r)' % self.raw[-300:])
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError('no data from the server in time (so far: %r)' % self.raw[-300:]) from None
        except ConnectionResetError:
            data = b''
        if not data:
            self.eof = True
            return False
        self.raw += data
        self._buf += data
        return True

    def _deadline(self, timeout):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def header(self, name, default=None):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return default

    def read_head(self, timeout=None):
        """Read the status line and headers; returns self."""
        deadline = self._deadline(timeout)
        while b'\r\n\r\n' not in self._buf:
            if not self._recv(deadline):
                raise ProtocolError('connection closed before the end of the head: %r' % self._buf)
        head, self._buf = self._buf.split(b'\r\n\r\n', 1)
        self.head = head + b'\r\n\r\n'
        lines = head.decode('latin-1').split('\r\n')
        m = re.match(r'(HTTP/1\.[01]) (\d{3})(?: (.*))?$', lines[0])
        if not m:
            raise ProtocolError('bad status line %r' % lines[0])
        self.version, self.status, self.reason = m.group(1), int(m.group(2)), m.group(3) or ''
        for line in lines[1:]:
            name, sep, value = line.partition(':')
            if not sep:
                raise ProtocolError('bad header line %r' % line)
            self.headers.append((name, value.strip()))
        te = (self.header('Transfer-Encoding') or '').lower()
        length = self.header('Content-Length')
        if self.method == 'HEAD' or self.status in (204, 304) or 100 <= self.status < 200:
            self._state = 'done'
        elif 'chunked' in te:
            self._state = 'size'
        elif length is not None:
            self._left = int(length)
            self._state = 'length' if self._left else 'done'
        else:
            self._state = 'close'
        return self

    def _decode(self):
        """Move what the buffer holds of the body into _out."""
        while True:
            st = self._state
            if st == 'size':
                if b'\r\n' not in self._buf:
                    return
                line, self._buf = self._buf.split(b'\r\n', 1)
                try:
                    size = int(line.split(b';')[0].strip(), 16)
                except ValueError:
                    raise ProtocolError('bad chunk size line %r' % line) from None
                self.chunks.append(size)
                self._left, self._state = size, ('data' if size else 'trailer')
            elif st in ('data', 'length'):
                take = self._buf[:self._left]
                if not take:
                    return
                self._out += take
                self._buf = self._buf[len(take):]
                self._left -= len(take)
                if self._left == 0:
                    self._state = 'crlf' if st == 'data' else 'done'
            elif st == 'crlf':
                if len(self._buf) < 2:
                    return
                if self._buf[:2] != b'\r\n':
                    raise ProtocolError('chunk not followed by CRLF: %r' % self._buf[:20])
                self._buf = self._buf[2:]
                self._state = 'size'
            elif st == 'trailer':
                if b'\r\n' not in self._buf:
                    return
                line, self._buf = self._buf.split(b'\r\n', 1)
                if not line:
                    self._state = 'done'
            elif st == 'close':
                self._out += self._buf
                self._buf = b''
                return
            else:
                return

    @property
    def done(self):
        """The whole body has been received."""
        self._decode()
        return self._state == 'done' or (self._state == 'close' and self.eof)

    def read(self, timeout=None):
        """Body bytes received so far and not yet returned, waiting up to
        TIMEOUT for at least one; b'' once the body is complete."""
        if self._state is None:
            self.read_head(timeout)
        deadline = self._deadline(timeout)
        while True:
            self._decode()
            if self._out:
                out, self._out = self._out, b''
                return out
            if self.done:
                return b''
            if not self._recv(deadline):
                if self._state != 'close':
                    raise ProtocolError('connection closed in the middle of the body (state %s)' % self._state)
                return b''

    def read_until(self, marker, timeout=None):
        """Body bytes up to and including MARKER (bytes); what follows stays
        for the next read.  Raises TimeoutError, or ProtocolError if the
        body ends first."""
        deadline = self._deadline(timeout)
        got = b''
        while marker not in got:
            data = self.read(max(0.0, deadline - time.monotonic()))
            if not data:
                raise ProtocolError('body ended before %r; got %r' % (marker, got))
            got += data
        end = got.index(marker) + len(marker)
        self._out = got[end:] + self._out
        return got[:end]

    def read_exactly(self, n, timeout=None):
        """The next N body bytes."""
        deadline = self._deadline(timeout)
        got = b''
        while len(got) < n:
            data = self.read(max(0.0, deadline - time.monotonic()))
            if not data:
                raise ProtocolError('body ended after %d of %d bytes: %r' % (len(got), n, got))
            got += data
        self._out = got[n:] + self._out
        return got[:n]

    def read_all(self, timeout=None):
        """The rest of the body, until it is complete."""
        deadline = self._deadline(timeout)
        got = b''
        while True:
            data = self.read(max(0.0, deadline - time.monotonic()))
            if not data:
                return got
            got += data

    def response(self, timeout=None):
        """Read the rest and return it as a Response."""
        body = self.read_all(timeout)
        return Response(self.status, self.reason, self.headers, body, self.version)


def build_request(method, path, host, body=None, headers=None, version='HTTP/1.1'):
    """The bytes of a request: Host first unless HEADERS has one, then
    HEADERS in order, Content-Length for a body unless given."""
    headers = list((headers or {}).items()) if isinstance(headers, dict) else list(headers or [])
    names = {n.lower() for n, _ in headers}
    if isinstance(body, str):
        body = body.encode('utf-8')
    if 'host' not in names:
        headers.insert(0, ('Host', host))
    if body is not None and 'content-length' not in names and 'transfer-encoding' not in names:
        headers.append(('Content-Length', str(len(body))))
    head = '%s %s %s\r\n' % (method, path, version)
    head += ''.join('%s: %s\r\n' % (n, v) for n, v in headers)
    return head.encode('latin-1') + b'\r\n' + (body or b'')


def open_stream(host, port, method, path, body=None, headers=None, timeout=TIMEOUT, source=None):
    """Send a request (build_request) on a new connection and read the
    response head; returns the HTTPStream (close it, or use with)."""
    s = HTTPStream(host, port, timeout, method, source)
    try:
        s.send(build_request(method, path, '%s:%d' % (host, port), body, headers))
        s.read_head()
    except BaseException:
        s.close()
        raise
    return s


def raw_request(host, port, data, timeout=TIMEOUT):
    """Send DATA (the bytes of a whole request) on a new connection and read
    one whole response; returns the closed HTTPStream: .raw is every byte
    received, .head the head's bytes, .status/.headers parsed, .body the
    decoded body.  The method for framing is taken from DATA."""
    method = data.split(b' ', 1)[0].decode('latin-1')
    with HTTPStream(host, port, timeout, method) as s:
        s.send(data)
        s.read_head()
        s.body = s.read_all()
    return s


class StackTestCase(unittest.TestCase):
    """A TestCase whose failures are followed (in the TAP output) by the
    tail of the logs of every stack still running."""

    def tap_diagnostics(self):
        return '\n'.join('%s stack logs:\n%s' % (s.front, s.log_tail()) for s in Stack.live)
