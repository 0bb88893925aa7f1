# tests/lib/local.mk - the TAP emitter's own test, and helpers the tests share.
check_PROGRAMS += tests/unit/tap_selftest
TESTS += tests/unit/tap_selftest
noinst_HEADERS += tests/tap.h tests/lib/daemon.h

# Integration tests link this: start the real pulsemqd, talk to it.
# Link order: LDADD = libpmqtest.la libpmqproto.la
check_LTLIBRARIES += libpmqtest.la
libpmqtest_la_SOURCES = tests/lib/daemon.c
