# tests/lib/local.mk - the TAP emitter's own test, and helpers the tests share.
check_PROGRAMS += tests/unit/tap_selftest
TESTS += tests/unit/tap_selftest
noinst_HEADERS += tests/tap.h tests/lib/daemon.h tests/lib/exchange.h

# Integration tests link this: start the real pulsemqd, talk to it.
# Link order: LDADD = libpmqtest.la libpmqproto.la
check_LTLIBRARIES += libpmqtest.la
libpmqtest_la_SOURCES = tests/lib/daemon.c tests/lib/exchange.c

# The exchange helpers' own test: lengths computed, bytes matched exactly.
check_PROGRAMS += tests/unit/test_exchange
TESTS += tests/unit/test_exchange
tests_unit_test_exchange_SOURCES = tests/unit/test_exchange.c
tests_unit_test_exchange_LDADD = libpmqtest.la libpmqproto.la
