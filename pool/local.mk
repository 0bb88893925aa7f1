# pool/local.mk - this folder's part of the one Makefile (see Makefile.am).
# The bounded executor pool: a ck ring, an event count on a futex, and a
# queue-wait histogram. No logging here: functions return errors.
noinst_LTLIBRARIES += libpmqpool.la
libpmqpool_la_SOURCES = pool/pool.h pool/pool.c \
	pool/futex_ec.h pool/futex_ec.c \
	pool/hist.h pool/hist.c
libpmqpool_la_LIBADD = $(CK_LIBS)

POOL_TESTS = tests/unit/test_pool tests/unit/test_hist
check_PROGRAMS += $(POOL_TESTS)
TESTS += $(POOL_TESTS)
tests_unit_test_pool_SOURCES = tests/unit/test_pool.c
tests_unit_test_pool_LDADD = libpmqpool.la
tests_unit_test_hist_SOURCES = tests/unit/test_hist.c
tests_unit_test_hist_LDADD = libpmqpool.la
