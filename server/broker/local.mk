# server/broker/local.mk - the broker wing: the processors, the store
# service, group commit and retention (server/broker/broker.h lists the
# files).
pulsemqd_SOURCES += server/broker/broker.h server/broker/store_service.h \
	server/broker/store_service.c server/broker/proc_store.c \
	server/broker/proc_version.c server/broker/flush.c \
	server/broker/availability.h server/broker/availability.c \
	server/broker/registry.h server/broker/registry.c server/broker/registry_zk.c \
	server/broker/tx.h server/broker/tx.c server/broker/tx_commit.c \
	server/broker/tx_log.c server/broker/tx_timer.c \
	server/broker/clients.h server/broker/clients_priv.h server/broker/clients.c \
	server/broker/clients_table.c server/broker/clients_list.c server/broker/offsets.c
pulsemqd_LDADD += libpmqstore.la $(ZK_LIBS)
pulsemqd_CFLAGS += $(ZK_CFLAGS)

# Against the real daemon: put / get / offset, kill -9 under load, damaged
# segments (recovery, reads, the CLI, --scrub).
STORE_INTEGRATION_TESTS = tests/integration/test_store tests/integration/test_crash \
	tests/integration/test_store_topics tests/integration/test_store_corrupt \
	tests/integration/test_store_limits
check_PROGRAMS += $(STORE_INTEGRATION_TESTS)
TESTS += $(STORE_INTEGRATION_TESTS)
tests_integration_test_store_SOURCES = tests/integration/test_store.c
tests_integration_test_store_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_crash_SOURCES = tests/integration/test_crash.c
tests_integration_test_crash_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_store_topics_SOURCES = tests/integration/test_store_topics.c
tests_integration_test_store_topics_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_store_corrupt_SOURCES = tests/integration/test_store_corrupt.c
tests_integration_test_store_corrupt_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_store_limits_SOURCES = tests/integration/test_store_limits.c
tests_integration_test_store_limits_LDADD = libpmqtest.la libpmqproto.la

# The registry against a real ZooKeeper (Debian's zookeeper package, run by
# the test), its nodes read with the C client.
check_PROGRAMS += tests/integration/test_registry
TESTS += tests/integration/test_registry
noinst_HEADERS += tests/integration/zk_util.h
tests_integration_test_registry_SOURCES = tests/integration/test_registry.c
tests_integration_test_registry_CFLAGS = $(AM_CFLAGS) $(ZK_CFLAGS)
tests_integration_test_registry_LDADD = libpmqtest.la libpmqproto.la $(ZK_LIBS)

# Transactions against the real daemon: the MetaQ transcripts byte for
# byte, visibility, timeouts, caps, bad input; restarts and kill -9 at
# each step of a commit.
TX_INTEGRATION_TESTS = tests/integration/test_tx tests/integration/test_tx_crash
check_PROGRAMS += $(TX_INTEGRATION_TESTS)
TESTS += $(TX_INTEGRATION_TESTS)
noinst_HEADERS += tests/integration/tx_util.h
tests_integration_test_tx_SOURCES = tests/integration/test_tx.c
tests_integration_test_tx_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_tx_crash_SOURCES = tests/integration/test_tx_crash.c
tests_integration_test_tx_crash_LDADD = libpmqtest.la libpmqproto.la

# Client registration, groups, notify and committed offsets (issue 12).
REG_INTEGRATION_TESTS = tests/integration/test_registration tests/integration/test_groups_notify \
	tests/integration/test_offsets tests/integration/test_registration_storm
check_PROGRAMS += $(REG_INTEGRATION_TESTS)
TESTS += $(REG_INTEGRATION_TESTS)
noinst_HEADERS += tests/integration/reg_util.h
tests_integration_test_registration_SOURCES = tests/integration/test_registration.c
tests_integration_test_registration_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_groups_notify_SOURCES = tests/integration/test_groups_notify.c
tests_integration_test_groups_notify_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_registration_storm_SOURCES = tests/integration/test_registration_storm.c
tests_integration_test_registration_storm_LDADD = libpmqtest.la libpmqproto.la
tests_integration_test_offsets_SOURCES = tests/integration/test_offsets.c
tests_integration_test_offsets_LDADD = libpmqtest.la libpmqproto.la
