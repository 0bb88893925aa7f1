# server/store.mk - the store's processors and their tests, linked into pulsemqd.
# (server/store_service.c itself is listed by server/local.mk.)
pulsemqd_SOURCES += server/store_service_priv.h server/proc_store.c server/flush.c
pulsemqd_LDADD += libpmqstore.la

# Against the real daemon: put / get / offset, and kill -9 under load.
STORE_INTEGRATION_TESTS = tests/integration/test_store tests/integration/test_crash \
	tests/integration/test_store_topics tests/integration/test_store_limits
check_PROGRAMS += $(STORE_INTEGRATION_TESTS)
TESTS += $(STORE_INTEGRATION_TESTS)
tests_integration_test_store_SOURCES = tests/integration/test_store.c
tests_integration_test_store_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_crash_SOURCES = tests/integration/test_crash.c
tests_integration_test_crash_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_store_topics_SOURCES = tests/integration/test_store_topics.c
tests_integration_test_store_topics_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_store_limits_SOURCES = tests/integration/test_store_limits.c
tests_integration_test_store_limits_LDADD = libpmqtest.la libpmqproto.la
