# bench/ - (filled in by its issue)

# Ring-to-wake latency of the cross-process doorbell (db/doorbell.c).
noinst_PROGRAMS += bench/doorbell_latency
bench_doorbell_latency_SOURCES = bench/doorbell_latency.c
bench_doorbell_latency_LDADD = $(CHATDB_LIBS)
EXTRA_DIST += bench/sockjs_latency.py bench/post_flood.py bench/held_streams.py


# chat-ws figures (memory with idle sockets, latencies): see the script.
EXTRA_DIST += bench/ws_bench.js

# STOMP chat figures (xhr_send -> WebSocket latency, one room's fan-out to
# 50 subscribers over the transports): see the script.
EXTRA_DIST += bench/stomp_bench.mjs

# Cross-node figures of the cluster relay (docs/cluster.md): see the script.
EXTRA_DIST += bench/cluster_bench.mjs

# Load generator for the benchmarks against the peers (see BENCHMARKS.md).
noinst_PROGRAMS += bench/loadgen
bench_loadgen_SOURCES = bench/loadgen.c

# A small run of the load generator in make check, so it does not rot.
TESTS += bench/loadgen-smoke.sh
dist_noinst_SCRIPTS += bench/loadgen-smoke.sh bench/run.sh bench/callgrind.sh bench/report.py bench/install-peers.sh \
	bench/peers/rabbitmq.sh
EXTRA_DIST += bench/peers/sockjs-broker.js bench/peers/nchan.conf.in

# make bench: every scenario against this project and the peers (about 10
# minutes; results, tables and plots in bench-results/; see BENCHMARKS.md).
bench: all
	BUILDDIR='$(abs_top_builddir)' $(SHELL) $(top_srcdir)/bench/run.sh --out '$(abs_top_builddir)/bench-results'
.PHONY: bench
EXTRA_DIST += BENCHMARKS.md bench/results/results.jsonl bench/results/scenario1.png \
	bench/results/scenario2.png bench/results/scenario3.png bench/results/scenario4.png
clean-local: clean-bench-results
clean-bench-results:
	rm -rf bench-results
.PHONY: clean-bench-results

# The STOMP parser alone, to count its instructions with callgrind (see the
# file's top and BENCHMARKS.md).
noinst_PROGRAMS += bench/stomp_parse
bench_stomp_parse_SOURCES = bench/stomp_parse.c
bench_stomp_parse_CPPFLAGS = -I$(top_srcdir)/core -I$(top_builddir)
bench_stomp_parse_LDADD = core/libchatcore.a
