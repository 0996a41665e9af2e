#!/usr/bin/env bash
# quickstart.sh - on a fresh Debian 12 machine: install the dependencies,
# build, and start the whole stack in the foreground (Ctrl-C stops it).
# Arguments are passed to `make serve`, e.g. PORT=9000 FRONT=apache.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
exec make serve "$@"
