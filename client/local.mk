# client/local.mk - libpulsemq, the `pulsemq` CLI and `pulsemq-bench`.

# The library: installed with its header and a pkg-config file. The codec
# (libpmqproto.la, a convenience library) is linked in; only pulsemq_*
# symbols are exported.
lib_LTLIBRARIES += libpulsemq.la
include_HEADERS += client/pulsemq.h
noinst_HEADERS += client/conn.h client/conn_priv.h client/backoff.h client/bench_hist.h
CLIENT_LIB_SOURCES = client/conn.c client/opaque.c client/wire.c \
	client/request.c client/blocking.c client/msgset.c client/discover.c client/cluster.c \
	client/tx.c client/register.c client/consumer.c
libpulsemq_la_SOURCES = $(CLIENT_LIB_SOURCES)
libpulsemq_la_CFLAGS = $(AM_CFLAGS) $(ZK_CFLAGS)
libpulsemq_la_LIBADD = libpmqproto.la $(ZK_LIBS)
libpulsemq_la_LDFLAGS = -version-info 0:0:0 -export-symbols-regex '^pulsemq_'

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = client/libpulsemq.pc
EXTRA_DIST += client/libpulsemq.pc.in

# Unit tests: the histogram, message-set decoding, backoff.
CLIENT_UNIT_TESTS = tests/unit/test_client_hist tests/unit/test_client_msgset \
	tests/unit/test_client_assign
check_PROGRAMS += $(CLIENT_UNIT_TESTS)
TESTS += $(CLIENT_UNIT_TESTS)
tests_unit_test_client_hist_SOURCES = tests/unit/test_client_hist.c client/bench_hist.c
tests_unit_test_client_msgset_SOURCES = tests/unit/test_client_msgset.c
tests_unit_test_client_msgset_LDADD = libpulsemq.la libpmqproto.la
tests_unit_test_client_assign_SOURCES = tests/unit/test_client_assign.c
tests_unit_test_client_assign_LDADD = libpulsemq.la libpmqproto.la

# The load generator: one epoll loop per thread over libpulsemq's
# pipelined API (or raw line-protocol sockets for peers).
bin_PROGRAMS += pulsemq-bench
noinst_HEADERS += client/bench.h client/bench_conn.h
pulsemq_bench_SOURCES = client/bench.c client/bench_opts.c client/bench_worker.c \
	client/bench_raw.c client/bench_verify.c client/bench_report.c client/bench_hist.c \
	client/bench_consume.c
# The programs carry the library's code inside (its sources, not the .so):
# the pulsemq package then installs alone, `apt install ./pulsemq_*.deb`
# needs no libpulsemq0.
pulsemq_bench_SOURCES += $(CLIENT_LIB_SOURCES)
pulsemq_bench_LDADD = libpmqproto.la $(ZLIB_LIBS) $(ZK_LIBS)
# Own object names (pulsemq_bench-conn.o), apart from the library's .lo.
pulsemq_bench_CFLAGS = $(AM_CFLAGS) $(ZK_CFLAGS)

# The command-line client.
bin_PROGRAMS += pulsemq
pulsemq_SOURCES = client/cli.c client/cli_ctl.h client/cli_ctl.c $(CLIENT_LIB_SOURCES)
pulsemq_LDADD = libpmqproto.la $(ZLIB_LIBS) $(ZK_LIBS)
pulsemq_CFLAGS = $(AM_CFLAGS) $(ZK_CFLAGS)

# Against the real daemon: the library, the CLI, the bench.
CLIENT_INTEGRATION_TESTS = tests/integration/test_client tests/integration/test_cli \
	tests/integration/test_bench tests/integration/test_tx_client \
	tests/integration/test_client_groups tests/integration/test_cli_consume
check_PROGRAMS += $(CLIENT_INTEGRATION_TESTS)
TESTS += $(CLIENT_INTEGRATION_TESTS)
noinst_HEADERS += tests/integration/test_cli_run.h
tests_integration_test_client_SOURCES = tests/integration/test_client.c
tests_integration_test_client_LDADD = libpulsemq.la libpmqtest.la libpmqproto.la
tests_integration_test_cli_SOURCES = tests/integration/test_cli.c
tests_integration_test_cli_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_cli_consume_SOURCES = tests/integration/test_cli_consume.c
tests_integration_test_cli_consume_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_tx_client_SOURCES = tests/integration/test_tx_client.c
tests_integration_test_tx_client_LDADD = libpulsemq.la libpmqtest.la libpmqproto.la
tests_integration_test_client_groups_SOURCES = tests/integration/test_client_groups.c
tests_integration_test_client_groups_LDADD = libpulsemq.la libpmqtest.la libpmqproto.la
tests_integration_test_bench_SOURCES = tests/integration/test_bench.c
tests_integration_test_bench_LDADD = libpmqtest.la libpmqproto.la

dist_man_MANS += client/pulsemq.1 client/pulsemq-bench.1

# Discovery through a real ZooKeeper: two brokers, `pulsemq -z`.
check_PROGRAMS += tests/integration/test_cluster
TESTS += tests/integration/test_cluster
tests_integration_test_cluster_SOURCES = tests/integration/test_cluster.c
tests_integration_test_cluster_CFLAGS = $(AM_CFLAGS) $(ZK_CFLAGS)
tests_integration_test_cluster_LDADD = libpmqtest.la libpmqproto.la $(ZK_LIBS)

# Three brokers, a cluster producer through discovery, SIGKILL mid-way.
check_PROGRAMS += tests/integration/test_cluster3
TESTS += tests/integration/test_cluster3
tests_integration_test_cluster3_SOURCES = tests/integration/test_cluster3.c
tests_integration_test_cluster3_CFLAGS = $(AM_CFLAGS) $(ZK_CFLAGS)
tests_integration_test_cluster3_LDADD = libpulsemq.la libpmqtest.la libpmqproto.la $(ZK_LIBS)

# quickstart.sh cluster: ZooKeeper and three brokers, the printed commands,
# SIGTERM stops them all.
TESTS += tests/integration/test_quickstart_cluster.sh
EXTRA_DIST += tests/integration/test_quickstart_cluster.sh
