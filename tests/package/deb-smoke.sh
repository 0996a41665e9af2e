#!/bin/sh
# deb-smoke.sh - builds the .deb (dpkg-buildpackage -us -uc -b) from a copy
# of the source tree, checks it with lintian (warnings fail, overrides
# apart), installs it, starts what it installed (chat-ws as the account
# "chat" on /etc/chat/chat.conf, then a whole stack with the installed
# serve.sh, programs and page), fetches the page and /chat/info, and
# purges it, checking that nothing is left; also the shipped Apache site
# (conf/apache-site.conf) in front of chat.fcgi and chat-ws run as the units run them.  Takes minutes, needs root
# and debhelper/lintian (tools/install-deps.sh): opt-in with CHAT_TEST_DEB=1,
# otherwise it is skipped (exit 77).
#
# Usage: CHAT_TEST_DEB=1 tests/package/deb-smoke.sh   (top_srcdir: the source)
set -eu

if [ "${CHAT_TEST_DEB:-0}" != 1 ]; then
	echo "deb-smoke: skipped (set CHAT_TEST_DEB=1; it builds and installs a .deb)"
	exit 77
fi
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "deb-smoke: needs root (dpkg -i)" >&2; exit 1; }
for t in dpkg-buildpackage dh lintian curl git; do
	command -v "$t" >/dev/null || { echo "deb-smoke: $t is missing (tools/install-deps.sh)" >&2; exit 1; }
done
if dpkg -s chat-server >/dev/null 2>&1; then
	echo "deb-smoke: chat-server is installed already: not touching it" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/deb-smoke.XXXXXX)
ws_pid= stack= fcgi_pid= ap=
cleanup() {
	set +e
	if [ -n "$ws_pid" ]; then kill "$ws_pid" 2>/dev/null; fi
	if [ -n "$fcgi_pid" ]; then kill "$fcgi_pid" 2>/dev/null; fi
	if [ -n "$ap" ] && [ -f "$ap/apache.pid" ]; then kill "$(cat "$ap/apache.pid")" 2>/dev/null; fi
	if [ -n "$stack" ]; then bash /usr/share/chat/conf/serve.sh --stop --var "$stack" >/dev/null 2>&1; fi
	if dpkg -s chat-server >/dev/null 2>&1; then dpkg --purge chat-server >/dev/null 2>&1; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "deb-smoke: FAIL: $*" >&2; exit 1; }
now() { date +%s; }
t0=$(now)

# The page's npm bundles are not in git: make them as make www-bundles does.
if [ ! -f "$src/www/js/sockjs.min.js" ] && [ -d "$src/www/node_modules" ]; then
	(cd "$src/www" && node copy-bundles.mjs)
fi
[ -f "$src/www/js/sockjs.min.js" ] || fail "www/js/sockjs.min.js missing (npm ci in www/)"

# A clean copy: the tracked and new files, plus the bundles.
mkdir "$tmp/src"
(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - --no-recursion) |
	tar -C "$tmp/src" -xf -
cp "$src/www/js/sockjs.min.js" "$src/www/js/stomp.umd.min.js" "$tmp/src/www/js/"

(cd "$tmp/src" && dpkg-buildpackage -us -uc -b -j2 >"$tmp/build.log" 2>&1) ||
	{ tail -40 "$tmp/build.log" >&2; fail "dpkg-buildpackage"; }
deb=$(ls "$tmp"/chat-server_*.deb)
t_build=$(now)
echo "deb-smoke: built $(basename "$deb") in $((t_build - t0)) s"

lintian -I --fail-on error,warning --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1 ||
	{ cat "$tmp/lintian.log" >&2; fail "lintian"; }
echo "deb-smoke: lintian (fails on errors and warnings; info tags shown):"
sed 's/^/  /' "$tmp/lintian.log"

dpkg -i "$deb" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "dpkg -i"; }
t_inst=$(now)
# Debian 12 keeps units in /lib/systemd/system, later releases in /usr/lib.
units=$(dirname "$(dpkg -L chat-server | grep '/chat-ws\.service$')")
for f in /usr/bin/chat.fcgi /usr/bin/chat-ws /usr/bin/chatctl /etc/chat/chat.conf \
	/etc/logrotate.d/chat-server /usr/share/chat/www/index.html /usr/share/chat/www/js/sockjs.min.js \
	"$units/chat-ws.service" "$units/chat-fcgi.socket" "$units/chat-fcgi.service" \
	/usr/share/man/man1/chatctl.1.gz; do
	[ -e "$f" ] || fail "$f not installed"
done
getent passwd chat >/dev/null || fail "no account chat"
[ "$(stat -c %U /var/lib/chat)" = chat ] || fail "/var/lib/chat is not chat's"
systemd-analyze verify "$units/chat-ws.service" "$units/chat-fcgi.socket" "$units/chat-fcgi.service" ||
	fail "systemd-analyze verify"
logrotate -d /etc/logrotate.d/chat-server >/dev/null 2>&1 || fail "logrotate -d"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# chat-ws as its unit runs it (systemd, where it runs, started it already on
# the package's own ports; here a free one): account chat, /etc/chat/chat.conf.
if [ -d /run/systemd/system ]; then
	systemctl is-active --quiet chat-ws || fail "chat-ws.service is not active"
fi
wsp=$(free_port)
setpriv --reuid=chat --regid=chat --clear-groups env CHAT_CONFIG=/etc/chat/chat.conf /usr/bin/chat-ws --ws_port "$wsp" \
	>"$tmp/chat-ws.log" 2>&1 &
ws_pid=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$wsp/chat/websocket"; do
	i=$((i + 1))
	[ $i -lt 200 ] && kill -0 "$ws_pid" 2>/dev/null || { cat "$tmp/chat-ws.log" >&2; fail "chat-ws did not listen"; }
	sleep 0.05
done
[ "$(stat -c %U /var/lib/chat/chat.db)" = chat ] || fail "chat.db is not chat's"
chatctl -c /etc/chat/chat.conf --json status >"$tmp/status.json" || fail "chatctl status"
grep -q '"schema_version":' "$tmp/status.json" || fail "chatctl status: $(cat "$tmp/status.json")"
kill "$ws_pid"
wait "$ws_pid" || fail "chat-ws did not stop cleanly on SIGTERM"
ws_pid=

# The whole installed stack: lighttpd, chat.fcgi and chat-ws from /usr/bin,
# the page from /usr/share/chat/www.
stack=$tmp/var
port=$(free_port)
bash /usr/share/chat/conf/serve.sh --bindir /usr/bin --var "$stack" --port "$port" --daemon \
	>"$tmp/serve.log" 2>&1 || { cat "$tmp/serve.log" >&2; fail "serve.sh"; }
curl -sf "http://127.0.0.1:$port/" | grep -q '<html' || fail "the page"
curl -sf "http://127.0.0.1:$port/js/sockjs.min.js" >/dev/null || fail "sockjs.min.js"
curl -sf "http://127.0.0.1:$port/chat/info" | grep -q '"websocket":true' || fail "/chat/info"
bash /usr/share/chat/conf/serve.sh --stop --var "$stack" >/dev/null 2>&1
stack=

# The shipped Apache site (mod_proxy_fcgi, mod_proxy_wstunnel) in front of
# chat.fcgi and chat-ws running as chat on /etc/chat/chat.conf, as the units
# run them (chat.fcgi listening itself where systemd would hand it the
# socket), on free ports.
ap=$tmp/apache
mkdir -p "$ap"
hp=$(free_port) fp=$(free_port) wp=$(free_port)
mods=/usr/lib/apache2/modules
cat >"$ap/apache.conf" <<EOC
ServerRoot "$ap"
ServerName localhost
Listen 127.0.0.1:$hp
PidFile "$ap/apache.pid"
ErrorLog "$ap/error.log"
DefaultRuntimeDir "$ap"
Mutex file:$ap default
User www-data
Group www-data
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule mime_module $mods/mod_mime.so
LoadModule dir_module $mods/mod_dir.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so
LoadModule proxy_wstunnel_module $mods/mod_proxy_wstunnel.so
TypesConfig /etc/mime.types
Define CHAT_PORT $hp
Define CHAT_FCGI_PORT $fp
Define CHAT_WS_PORT $wp
Include /usr/share/chat/conf/apache-site.conf
EOC
as_chat="setpriv --reuid=chat --regid=chat --clear-groups env CHAT_CONFIG=/etc/chat/chat.conf"
$as_chat /usr/bin/chat-ws --ws_port "$wp" >"$tmp/ws2.log" 2>&1 &
ws_pid=$!
$as_chat /usr/bin/chat.fcgi --fcgi_listen "127.0.0.1:$fp" --ws_port "$wp" >"$tmp/fcgi.log" 2>&1 &
fcgi_pid=$!
/usr/sbin/apache2 -f "$ap/apache.conf" -k start >"$tmp/apache.log" 2>&1 ||
	{ cat "$tmp/apache.log" >&2; fail "apache2 with apache-site.conf"; }
i=0
until curl -s -o /dev/null "http://127.0.0.1:$hp/"; do
	i=$((i + 1))
	[ $i -lt 200 ] || { cat "$ap/error.log" >&2; fail "apache2 did not answer"; }
	sleep 0.05
done
curl -sf "http://127.0.0.1:$hp/" | grep -q '<html' || fail "apache: the page"
curl -sf "http://127.0.0.1:$hp/chat/info" | grep -q '"websocket":true' ||
	{ cat "$ap/error.log" "$tmp/fcgi.log" >&2; fail "apache: /chat/info through mod_proxy_fcgi"; }
[ "$(curl -sf -X POST "http://127.0.0.1:$hp/chat/000/debsmoke/xhr")" = o ] ||
	fail "apache: a SockJS session through mod_proxy_fcgi"
/usr/sbin/apache2 -f "$ap/apache.conf" -k stop >/dev/null 2>&1
kill "$fcgi_pid" "$ws_pid"
wait "$ws_pid" || fail "chat-ws did not stop cleanly on SIGTERM"
ws_pid=
t_run=$(now)
echo "deb-smoke: lintian+install $((t_inst - t_build)) s, runs $((t_run - t_inst)) s"

dpkg --purge chat-server >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log" >&2; fail "dpkg --purge"; }
for f in /usr/bin/chatctl /etc/chat /etc/logrotate.d/chat-server /usr/share/chat /var/lib/chat \
	"$units/chat-ws.service"; do
	[ ! -e "$f" ] || fail "$f left after purge"
done
echo "deb-smoke: ok (build $((t_build - t0)) s, install+run+purge $(( $(now) - t_build)) s)"
