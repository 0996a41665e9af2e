#!/bin/sh
# bundle.sh - the shared-host bundle runs on a host that lacks the chat's
# libraries, and the programs install without root.
#  - tools/shared-host-bundle.sh builds it (nothing group- or world-
#    writable, as suexec wants); unpacked, ldd of chat and
#    chat-ws shows nothing outside chat/lib but glibc's own libraries;
#  - with the system's copies of the shipped libraries hidden (bind-mounted
#    /dev/null over each, in a mount namespace of its own: skipped where
#    unshare is not allowed), the bundled chat answers a CGI request and
#    chat-ws starts (--help loads every library), while the build's own
#    chat.fcgi cannot start;
#  - `make install prefix=DIR` as an unprivileged account (nobody, when
#    run as root) installs the programs into DIR.
# Exit 77 (skip) when www/js has no sockjs-client bundle (make www-bundles).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
[ -f "$top_srcdir/www/js/sockjs.min.js" ] || { echo "www/js/sockjs.min.js missing: skip"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "bundle.sh: $*" >&2; exit 1; }

(cd "$tmp" && sh "$top_srcdir/tools/shared-host-bundle.sh" "$top_srcdir" "$top_builddir" test) >"$tmp/build.log" ||
	{ cat "$tmp/build.log"; fail "the bundle did not build"; }
grep 'needs GLIBC_' "$tmp/build.log"
tar -C "$tmp" -xzf "$tmp/chat-shared-host-test.tar.gz"
d=$tmp/chat
[ -x "$d/chat" ] && [ -x "$d/api" ] && [ -x "$d/chat-ws" ] && [ -f "$d/.htaccess" ] &&
	[ -f "$d/chat.conf.sample" ] && [ -f "$d/index.html" ] && [ -f "$d/js/sockjs.min.js" ] ||
	fail "the bundle lacks a file: $(ls -A "$d")"
[ "$(ls "$tmp" | grep -v -e '^chat$' -e '\.tar\.gz$' -e '\.log$')" = "" ] || fail "more than one folder"
# suexec refuses programs in world- or group-writable places.
[ -z "$(find "$d" -perm /022)" ] || fail "group- or world-writable: $(find "$d" -perm /022)"

# Everything ldd resolves is in chat/lib or glibc's.
for prog in chat chat-ws; do
	ldd "$d/$prog" >"$tmp/ldd" || fail "ldd $prog failed"
	if grep -q 'not found' "$tmp/ldd"; then cat "$tmp/ldd"; fail "$prog: a library is missing"; fi
	outside=$(sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p' "$tmp/ldd" | grep -v "^$d/lib/" |
		grep -v -e '/libc\.so' -e '/libm\.so' -e '/libdl\.so' -e '/libpthread\.so' \
			-e '/librt\.so' -e '/libresolv\.so' -e '/libutil\.so' -e '/ld-linux' || true)
	[ -z "$outside" ] || fail "$prog uses libraries outside chat/lib: $outside"
done
echo "ok: ldd shows only chat/lib and glibc"

# A host without them: each shipped library's system copy hidden.
cat >"$tmp/chat.conf" <<EOF
db_path = $tmp/state/chat.db
bell_path = $tmp/state/chat.bell
store_uri = "sqlite:$tmp/state/history.db"
EOF
mkdir -p "$tmp/state"
cat >"$tmp/hide.sh" <<'EOF'
set -eu
d=$1 build=$2
for lib in "$d"/lib/*; do
	for sys in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /lib /usr/lib; do
		[ -e "$sys/${lib##*/}" ] && mount --bind /dev/null "$sys/${lib##*/}"
	done
done
if "$build/fcgi/chat.fcgi" --help >/dev/null 2>&1; then echo "the build's chat.fcgi still starts"; exit 3; fi
GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI=/chat "$d/chat" </dev/null
"$d/chat-ws" --help >/dev/null
EOF
if unshare -m true 2>/dev/null; then
	out=$(CHAT_CONFIG=$tmp/chat.conf unshare -m sh "$tmp/hide.sh" "$d" "$top_builddir") ||
		fail "with the system's libraries hidden: $out"
	case $out in *"Welcome to SockJS!"*) ;; *) fail "no greeting from the bundled chat: $out" ;; esac
	echo "ok: runs with the system's copies of its libraries hidden"
else
	echo "unshare -m not allowed here: the hidden-libraries check is skipped"
fi

# make install as an unprivileged account (of an up-to-date build: the
# account cannot write the build tree).
make -s -C "$top_builddir" all >/dev/null
if [ "$(id -u)" = 0 ]; then
	mkdir "$tmp/prefix" && chown nobody "$tmp/prefix"
	chmod 755 "$tmp"
	runuser -u nobody -- make -s -C "$top_builddir" install prefix="$tmp/prefix" >"$tmp/install.log" 2>&1 ||
		{ cat "$tmp/install.log"; fail "make install as nobody failed"; }
else
	make -s -C "$top_builddir" install prefix="$tmp/prefix" >"$tmp/install.log" 2>&1 ||
		{ cat "$tmp/install.log"; fail "make install failed"; }
fi
[ -x "$tmp/prefix/bin/chat.fcgi" ] && [ -x "$tmp/prefix/bin/chat-ws" ] || fail "make install left no programs"
[ "$(find "$tmp/prefix" -type f | wc -l)" -ge 2 ] || fail "nothing installed"
echo "ok: make install prefix=DIR without root"
