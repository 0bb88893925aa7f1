# server/metrics/local.mk - the metrics wing: `stats` and /metrics, read
# from what they report on (server/metrics/metrics.h lists the files).
# Without libmicrohttpd, metrics.h turns metrics_start() into a refusal of
# a non-empty metrics_listen.
noinst_HEADERS += server/metrics/metrics.h server/metrics/metrics_source.h
pulsemqd_SOURCES += server/metrics/stats.h server/metrics/stats.c \
	server/metrics/stats_text.c server/metrics/stats_source.c \
	server/metrics/proc_stats.c server/metrics/stats_topics.h server/metrics/stats_topics.c \
	server/metrics/metrics_text.c server/metrics/metrics_hist.c
if HAVE_MHD
pulsemqd_SOURCES += server/metrics/metrics.c server/metrics/metrics_source.c
pulsemqd_CFLAGS += $(MHD_CFLAGS)
pulsemqd_LDADD += $(MHD_LIBS)
endif

# The pure renderings of the table of figures (`stats` lines, Prometheus
# text) on a made-up source, no daemon.
PMQ_STATS_PURE = server/common/counters.c server/common/sbuf.c \
	server/metrics/stats_text.c server/metrics/metrics_text.c server/metrics/metrics_hist.c

# The exposition format: names, types, labels, units, histograms.
check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c $(PMQ_STATS_PURE)
tests_unit_test_metrics_LDADD = libpmqpool.la libpmqproto.la $(CK_LIBS)

# Every row of the table in `stats`, in /metrics and in doc/stats.md.
check_PROGRAMS += tests/unit/test_stats_table
TESTS += tests/unit/test_stats_table
tests_unit_test_stats_table_SOURCES = tests/unit/test_stats_table.c $(PMQ_STATS_PURE)
tests_unit_test_stats_table_LDADD = libpmqpool.la libpmqproto.la $(CK_LIBS)

# GET /metrics from the real daemon.
if HAVE_MHD
check_PROGRAMS += tests/integration/test_metrics
TESTS += tests/integration/test_metrics
endif
tests_integration_test_metrics_SOURCES = tests/integration/test_metrics.c \
	server/common/counters.c server/common/sbuf.c server/metrics/stats_text.c
tests_integration_test_metrics_LDADD = libpmqtest.la libpmqproto.la

# `stats topics` against the real daemon (and across a restart).
check_PROGRAMS += tests/integration/test_stats_topics
TESTS += tests/integration/test_stats_topics
tests_integration_test_stats_topics_SOURCES = tests/integration/test_stats_topics.c
tests_integration_test_stats_topics_LDADD = libpmqtest.la libpmqproto.la
