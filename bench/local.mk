# bench/local.mk - this folder's part of the one Makefile (see Makefile.am).

# decode_bench: commands/second through pmq_decode_request() on one core.
noinst_PROGRAMS += bench/decode_bench
bench_decode_bench_SOURCES = bench/decode_bench.c
bench_decode_bench_LDADD = libpmqproto.la

# peers.sh: pulsemqd beside memcached and redis, measured by pulsemq-bench.
EXTRA_DIST += bench/peers.sh

# durable_bench: durable puts/s of pulsemqd (flush_mode=sync) beside redis
# (appendfsync always) and beanstalkd (-f 0), get MB/s, fsyncs per put.
noinst_PROGRAMS += bench/durable_bench
bench_durable_bench_SOURCES = bench/durable_bench.c
bench_durable_bench_LDADD = libpmqtest.la libpmqproto.la

# rtt_bench + version_bench.sh: `version` round trips/s of pulsemqd beside
# memcached's `version`, at 1 connection, 50 x 1 and 50 x 32 in flight.
noinst_PROGRAMS += bench/rtt_bench
bench_rtt_bench_SOURCES = bench/rtt_bench.c
bench_rtt_bench_LDADD = libpmqproto.la
EXTRA_DIST += bench/version_bench.sh
# ab_rtt.sh: two builds of pulsemqd measured in turns (before/after a change).
EXTRA_DIST += bench/ab_rtt.sh

# tx_bench: committed transactions/s (10 puts each) beside plain durable
# puts, 50 connections, flush_mode=sync; fsyncs per committed transaction.
noinst_PROGRAMS += bench/tx_bench
bench_tx_bench_SOURCES = bench/tx_bench.c
bench_tx_bench_LDADD = libpmqtest.la libpmqproto.la

# reg_rss.py: RSS per registered client and the registration round trip
# of a running pulsemqd (issue 12; doc/performance.md).
EXTRA_DIST += bench/reg_rss.py
