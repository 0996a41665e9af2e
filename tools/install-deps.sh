#!/usr/bin/env bash
# install-deps.sh - installs everything this project needs to build, run and
# test on Debian 12 (bookworm): Debian packages, the npm packages of www/ and
# tests/, and the Go modules of the FerretDB test fixture.  Idempotent.
# Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
	SUDO=sudo
fi

# Build toolchain and libraries (pkg-config names are checked by configure).
PKGS_BUILD="build-essential autoconf automake libtool pkg-config
	libfcgi-dev libwebsockets-dev libmongoc-dev libbson-dev libsqlite3-dev libsodium-dev libunistring-dev
	check clang libclang-rt-14-dev clang-format"
# Front servers and tools used by `make serve` and the tests (fonts-nanum:
# Hangul glyphs for chromium, so the Korean page's screenshots are legible;
# prometheus: its promtool checks GET /api/metrics in 60-ops/metrics.mjs;
# rabbitmq-server: the broker between cluster nodes, docs/cluster.md - the
# tests start a private node of it, the system's own is left alone).
PKGS_RUN="lighttpd apache2 libapache2-mod-fcgid sqlite3 python3 python3-stomp php-cgi
	curl ca-certificates procps chromium fonts-nanum prometheus rabbitmq-server"
# The .deb (debian/, tests/package/deb-smoke.sh): debhelper builds it,
# lintian checks it, logrotate and systemd-analyze check what it installs.
PKGS_DEB="debhelper fakeroot lintian logrotate systemd"
# Node.js (tests with the real sockjs-client and @stomp/stompjs): Debian's,
# unless a Node.js with npm is installed already (e.g. from NodeSource,
# whose package conflicts with Debian's npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	PKGS_RUN="$PKGS_RUN nodejs npm"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $PKGS_BUILD $PKGS_RUN $PKGS_DEB

# Debian starts apache2/lighttpd on port 80 where it can; this project runs
# its own instances with its own configuration, so leave the system ones alone.

for dir in www tests; do
	if [ -f "$dir/package.json" ]; then
		( cd "$dir" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi )
	fi
done

# The FerretDB fixture (a real MongoDB wire-protocol server for the tests)
# needs Go >= 1.24; its modules come from the Go module proxy.
GO=$(command -v go || true)
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if [ -n "$GO" ]; then
	( cd tests/fixtures/ferretdb && "$GO" mod download )
else
	echo "install-deps: Go (>= 1.24) not found: the MongoDB tests will be skipped." >&2
	echo "install-deps: install Go to /usr/local/go to run them against FerretDB." >&2
fi
echo "install-deps: done"
