#!/bin/sh
# shared-host-bundle.sh SRCDIR BUILDDIR VERSION - writes
# chat-shared-host-VERSION.tar.gz in the current directory: one folder,
# chat/, to unpack into a web directory of a shared host (docs/shared-hosting.md):
#   .htaccess, chat (the program: the SockJS endpoint), api (the same
#   program, a hard link), chat-ws (the WebSocket sidecar, for hosts that
#   allow a long-lived process), chat.conf.sample, index.html, css/, js/
#   (with the sockjs-client and stompjs bundles), favicon.svg.
set -eu
src=$1 build=$2 version=$3
out=chat-shared-host-$version.tar.gz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
d=$stage/chat
mkdir -p "$d/js/i18n" "$d/css"
for f in sockjs.min.js stomp.umd.min.js; do
	if [ ! -f "$src/www/js/$f" ]; then
		echo "shared-host-bundle: $src/www/js/$f is missing: run make www-bundles" >&2
		exit 1
	fi
done
cp "$src/conf/shared-host/htaccess" "$d/.htaccess"
cp "$src/conf/shared-host/chat.conf.sample" "$d/chat.conf.sample"
cp "$src/www/index.html" "$src/www/favicon.svg" "$d/"
cp "$src/www/css/"*.css "$d/css/"
cp "$src/www/js/chat.js" "$src/www/js/sockjs.min.js" "$src/www/js/stomp.umd.min.js" "$d/js/"
cp "$src/www/js/i18n/"*.js "$d/js/i18n/"
cp "$build/fcgi/chat.fcgi" "$d/chat"
ln "$d/chat" "$d/api"
if [ -x "$build/ws/chat-ws" ]; then
	cp "$build/ws/chat-ws" "$d/chat-ws"
	chmod 755 "$d/chat-ws"
fi
# The libraries a host may lack (libfcgi, libwebsockets, mongo-c-driver,
# libsodium, SQLite and what they need) go into lib/, where the programs
# look first ($ORIGIN/lib, DT_RPATH): all but glibc's own, which every
# Linux has.  The bundle needs the glibc version it prints.
mkdir -p "$d/lib"
for prog in "$d/chat" "$d/chat-ws"; do
	[ -f "$prog" ] || continue
	ldd "$prog" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p'
done | sort -u | while read -r lib; do
	case ${lib##*/} in
	libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|libutil.so.*|ld-linux*) ;;
	*) cp -L "$lib" "$d/lib/" && chmod 644 "$d/lib/${lib##*/}" ;;
	esac
done
chmod 755 "$d/lib"
glibc=$(objdump -T "$d/chat" "$d/chat-ws" "$d/lib/"* 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1)
echo "shared-host-bundle: needs ${glibc:-an unknown glibc} or later"
chmod 755 "$d" "$d/chat" "$d/js" "$d/js/i18n" "$d/css"
chmod 644 "$d/.htaccess" "$d/chat.conf.sample" "$d/index.html" "$d/favicon.svg" \
	"$d/css/"*.css "$d/js/"*.js "$d/js/i18n/"*.js
tar -C "$stage" --owner=0 --group=0 --numeric-owner -czf "$out" chat
echo "shared-host-bundle: $out"
