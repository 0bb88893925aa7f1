# server/process.mk - pulsemqd's process side: main, config, log, daemon.
# The runtime (server/local.mk) and the store (server/store.mk) append their
# files with `pulsemqd_SOURCES +=` and `pulsemqd_LDADD +=`.
sbin_PROGRAMS += pulsemqd
pulsemqd_SOURCES = server/main.c \
	server/config.h server/config_priv.h server/config.c server/config_load.c \
	server/config_value.h server/config_value.c \
	server/log.h server/log.c \
	server/daemon.h server/daemon.c \
	server/liveness.h server/liveness.c
pulsemqd_LDADD = libpmqproto.la $(INIH_LIBS) $(CK_LIBS) $(ZLIB_LIBS)
pulsemqd_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS) $(SYSTEMD_CFLAGS)
# sd_notify (server/notify.h): without libsystemd the calls are empty inlines.
noinst_HEADERS += server/notify.h
if HAVE_SYSTEMD
pulsemqd_SOURCES += server/notify.c
pulsemqd_LDADD += $(SYSTEMD_LIBS)
endif

# The config module on its own, against its table.
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c \
	server/config.c server/config_load.c server/config_value.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_LDADD = $(INIH_LIBS)

# Daemonise, pidfile, signals and exit statuses, against the real binary.
check_PROGRAMS += tests/integration/test_daemon
TESTS += tests/integration/test_daemon
tests_integration_test_daemon_SOURCES = tests/integration/test_daemon.c
tests_integration_test_daemon_LDADD = libpmqtest.la libpmqproto.la

# The log on its own: format, levels, concurrent writers, reopen.
check_PROGRAMS += tests/unit/test_log
TESTS += tests/unit/test_log
tests_unit_test_log_SOURCES = tests/unit/test_log.c server/log.c
