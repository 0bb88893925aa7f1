# server/local.mk - this folder's part of the one Makefile (see Makefile.am).
# The runtime: IO threads, sessions, dispatch to the pools, the timer thread,
# heartbeats, stats (see doc/runtime.md).
RUNTIME_SOURCES = \
	server/server.h server/server.c server/runtime.h \
	server/listen.h server/listen.c \
	server/iomsg.h server/probe.h server/textline.h server/outq.h server/outq.c \
	server/idle.h server/idle.c \
	server/session.h server/session.c server/io.c \
	server/dispatch.c server/heartbeat.c server/timerthread.c \
	server/request.h server/request.c server/proc_builtin.c \
	server/stats.h server/stats.c \
	server/store_service.h server/store_service.c
pulsemqd_SOURCES += $(RUNTIME_SOURCES)
pulsemqd_LDADD += libpmqpool.la libpmqactors.la

# Unit tests of the runtime's pure parts.
RUNTIME_UNIT_TESTS = tests/unit/test_outq tests/unit/test_idle
check_PROGRAMS += $(RUNTIME_UNIT_TESTS)
TESTS += $(RUNTIME_UNIT_TESTS)
tests_unit_test_outq_SOURCES = tests/unit/test_outq.c server/outq.c
tests_unit_test_idle_SOURCES = tests/unit/test_idle.c server/idle.c

# The runtime against the real daemon.
RUNTIME_IT_TESTS = tests/integration/test_runtime_basic \
	tests/integration/test_runtime_busy \
	tests/integration/test_runtime_idle \
	tests/integration/test_runtime_badinput \
	tests/integration/test_runtime_limits \
	tests/integration/test_runtime_shutdown \
	tests/integration/test_runtime_churn
check_PROGRAMS += $(RUNTIME_IT_TESTS)
TESTS += $(RUNTIME_IT_TESTS)
noinst_HEADERS += tests/integration/rt_util.h
tests_integration_test_runtime_basic_SOURCES = tests/integration/test_runtime_basic.c
tests_integration_test_runtime_basic_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_busy_SOURCES = tests/integration/test_runtime_busy.c
tests_integration_test_runtime_busy_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_idle_SOURCES = tests/integration/test_runtime_idle.c
tests_integration_test_runtime_idle_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_badinput_SOURCES = tests/integration/test_runtime_badinput.c
tests_integration_test_runtime_badinput_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_limits_SOURCES = tests/integration/test_runtime_limits.c
tests_integration_test_runtime_limits_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_shutdown_SOURCES = tests/integration/test_runtime_shutdown.c
tests_integration_test_runtime_shutdown_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_churn_SOURCES = tests/integration/test_runtime_churn.c
tests_integration_test_runtime_churn_LDADD = libpmqtest.la libpmqproto.la
