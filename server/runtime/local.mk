# server/runtime/local.mk - the runtime wing: IO threads, listeners,
# sessions, routing to the pools, the timer thread, idle events, the
# broker's heartbeats, a request's life (server/runtime/runtime.h lists the
# files). See doc/runtime.md.
pulsemqd_SOURCES += \
	server/runtime/runtime.h server/runtime/runtime.c server/runtime/rt.h \
	server/runtime/listen.h server/runtime/listen.c \
	server/runtime/iomsg.h server/runtime/probe.h \
	server/runtime/outq.h server/runtime/outq.c \
	server/runtime/idle.h server/runtime/idle.c \
	server/runtime/session.h server/runtime/session.c \
	server/runtime/io.h server/runtime/io.c \
	server/runtime/dispatch.h server/runtime/dispatch.c \
	server/runtime/idle_policy.h server/runtime/idle_policy.c \
	server/runtime/dead_peer.h server/runtime/dead_peer.c \
	server/runtime/heartbeat.h server/runtime/heartbeat.c \
	server/runtime/slow_consumer.h server/runtime/slow_consumer.c \
	server/runtime/timer.h server/runtime/timer.c \
	server/runtime/request.h server/runtime/reqlife.h server/runtime/request.c \
	server/runtime/progress.c server/runtime/views.c \
	server/runtime/push.h server/runtime/push.c \
	server/runtime/budget.h server/runtime/budget.c
pulsemqd_LDADD += libpmqpool.la libpmqactors.la

# Unit tests of the runtime's pure parts.
RUNTIME_UNIT_TESTS = tests/unit/test_outq tests/unit/test_idle
check_PROGRAMS += $(RUNTIME_UNIT_TESTS)
TESTS += $(RUNTIME_UNIT_TESTS)
tests_unit_test_outq_SOURCES = tests/unit/test_outq.c server/runtime/outq.c
tests_unit_test_idle_SOURCES = tests/unit/test_idle.c server/runtime/idle.c

# The runtime against the real daemon.
RUNTIME_IT_TESTS = tests/integration/test_runtime_basic \
	tests/integration/test_runtime_busy \
	tests/integration/test_runtime_idle \
	tests/integration/test_runtime_badinput \
	tests/integration/test_runtime_bigmsg \
	tests/integration/test_runtime_overflow \
	tests/integration/test_runtime_limits \
	tests/integration/test_runtime_shutdown \
	tests/integration/test_runtime_churn \
	tests/integration/test_runtime_hb_order \
	tests/integration/test_runtime_pause
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
tests_integration_test_runtime_bigmsg_SOURCES = tests/integration/test_runtime_bigmsg.c
tests_integration_test_runtime_bigmsg_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_overflow_SOURCES = tests/integration/test_runtime_overflow.c
tests_integration_test_runtime_overflow_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_limits_SOURCES = tests/integration/test_runtime_limits.c
tests_integration_test_runtime_limits_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_shutdown_SOURCES = tests/integration/test_runtime_shutdown.c
tests_integration_test_runtime_shutdown_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_churn_SOURCES = tests/integration/test_runtime_churn.c
tests_integration_test_runtime_churn_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_hb_order_SOURCES = tests/integration/test_runtime_hb_order.c
tests_integration_test_runtime_hb_order_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_pause_SOURCES = tests/integration/test_runtime_pause.c
tests_integration_test_runtime_pause_LDADD = libpmqtest.la libpmqproto.la

# Process-wide limits against the real daemon: the port, file descriptors,
# input memory and frame deadlines.
LIMITS_IT_TESTS = tests/integration/test_runtime_port \
	tests/integration/test_runtime_fds \
	tests/integration/test_runtime_frames
check_PROGRAMS += $(LIMITS_IT_TESTS)
TESTS += $(LIMITS_IT_TESTS)
tests_integration_test_runtime_port_SOURCES = tests/integration/test_runtime_port.c
tests_integration_test_runtime_port_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_fds_SOURCES = tests/integration/test_runtime_fds.c
tests_integration_test_runtime_fds_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_runtime_frames_SOURCES = tests/integration/test_runtime_frames.c
tests_integration_test_runtime_frames_LDADD = libpmqtest.la libpmqproto.la
