# store/local.mk - this folder's part of the one Makefile (see Makefile.am).
# The durable store: a convenience library linked into pulsemqd. It knows
# nothing of threads, sessions or the server (see store/store.h).
noinst_LTLIBRARIES += libpmqstore.la
libpmqstore_la_SOURCES = store/store.h store/store_priv.h \
	store/io.h store/io.c store/record.h store/record.c \
	store/msgid.h store/msgid.c store/files.c store/partition.c store/recover.c store/store.c \
	store/scan.h store/scan.c store/scrub.c store/txlog.h store/txlog.c
libpmqstore_la_LIBADD = $(ZLIB_LIBS)
libpmqstore_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)

# Unit tests of the store (TAP), with the fault-injection seam of io.h.
STORE_UNIT_TESTS = tests/unit/test_store_record tests/unit/test_store \
	tests/unit/test_store_recover tests/unit/test_store_faults tests/unit/test_store_files \
	tests/unit/test_store_create tests/unit/test_txlog
check_PROGRAMS += $(STORE_UNIT_TESTS)
TESTS += $(STORE_UNIT_TESTS)
noinst_HEADERS += tests/unit/test_store_util.h
tests_unit_test_store_record_SOURCES = tests/unit/test_store_record.c
tests_unit_test_store_record_LDADD = libpmqstore.la
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_LDADD = libpmqstore.la
tests_unit_test_store_recover_SOURCES = tests/unit/test_store_recover.c
tests_unit_test_store_recover_LDADD = libpmqstore.la
tests_unit_test_store_faults_SOURCES = tests/unit/test_store_faults.c
tests_unit_test_store_faults_LDADD = libpmqstore.la
tests_unit_test_store_files_SOURCES = tests/unit/test_store_files.c
tests_unit_test_store_files_LDADD = libpmqstore.la
tests_unit_test_store_create_SOURCES = tests/unit/test_store_create.c
tests_unit_test_store_create_LDADD = libpmqstore.la
tests_unit_test_txlog_SOURCES = tests/unit/test_txlog.c
tests_unit_test_txlog_LDADD = libpmqstore.la
