# bench/ - (filled in by its issue)

# Ring-to-wake latency of the cross-process doorbell (db/doorbell.c).
noinst_PROGRAMS += bench/doorbell_latency
bench_doorbell_latency_SOURCES = bench/doorbell_latency.c
bench_doorbell_latency_LDADD = $(CHATDB_LIBS)
EXTRA_DIST += bench/sockjs_latency.py


# chat-ws figures (memory with idle sockets, latencies): see the script.
EXTRA_DIST += bench/ws_bench.js

# Load generator for the benchmarks against the peers (see BENCHMARKS.md).
noinst_PROGRAMS += bench/loadgen
bench_loadgen_SOURCES = bench/loadgen.c
