#!/bin/sh
# doorbell_bench_smoke.sh - runs bench/doorbell_latency with a small count
# and checks it prints its one result line (the benchmark's numbers are not
# judged here; this only keeps the program working).
set -u
bin="${top_builddir:-.}/bench/doorbell_latency"
out=$("$bin" -n 100) || { echo "doorbell_latency failed" >&2; exit 1; }
echo "$out"
case "$out" in
"doorbell wakeup across processes: median "*" us, p99 "*" us, max "*" us (100 wakeups)") exit 0 ;;
*) echo "unexpected output" >&2; exit 1 ;;
esac
