# actors/local.mk - this folder's part of the one Makefile (see Makefile.am).
# The actor runtime's building blocks: mailbox (MPSC ring + eventfd) and the
# hashed timer wheel. No logging here: functions return errors.
noinst_LTLIBRARIES += libpmqactors.la
libpmqactors_la_SOURCES = actors/mailbox.h actors/mailbox.c \
	actors/wheel.h actors/wheel.c \
	actors/ring.h actors/handle.h actors/clock.h actors/tsan.h
libpmqactors_la_LIBADD = $(CK_LIBS)

ACTORS_TESTS = tests/unit/test_mailbox tests/unit/test_wheel
check_PROGRAMS += $(ACTORS_TESTS)
TESTS += $(ACTORS_TESTS)
tests_unit_test_mailbox_SOURCES = tests/unit/test_mailbox.c
tests_unit_test_mailbox_LDADD = libpmqactors.la
tests_unit_test_wheel_SOURCES = tests/unit/test_wheel.c
tests_unit_test_wheel_LDADD = libpmqactors.la
