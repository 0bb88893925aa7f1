# server/daemon/local.mk - pulsemqd's daemon wing: main, the settings
# table, config file, daemonising, pidfile, signals, sd_notify, STATUS= and
# the watchdog's liveness checks (server/daemon/daemon.h lists the files).
# It composes the wings below; each appends its own sources to pulsemqd
# with `pulsemqd_SOURCES +=` in its local.mk.
sbin_PROGRAMS += pulsemqd
pulsemqd_SOURCES = server/daemon/main.c \
	server/daemon/config.h server/daemon/config_priv.h \
	server/daemon/config.c server/daemon/config_load.c \
	server/daemon/config_value.h server/daemon/config_value.c \
	server/daemon/daemon.h server/daemon/daemon.c \
	server/daemon/liveness.h server/daemon/liveness.c \
	server/daemon/status.h server/daemon/status.c
pulsemqd_LDADD = libpmqproto.la $(INIH_LIBS) $(CK_LIBS) $(ZLIB_LIBS)
pulsemqd_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS) $(SYSTEMD_CFLAGS)
# sd_notify (notify.h): without libsystemd the calls are empty inlines.
noinst_HEADERS += server/daemon/notify.h
if HAVE_SYSTEMD
pulsemqd_SOURCES += server/daemon/notify.c
pulsemqd_LDADD += $(SYSTEMD_LIBS)
endif

# The config module on its own, against its table.
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c \
	server/daemon/config.c server/daemon/config_load.c server/daemon/config_value.c \
	server/common/settings.c server/common/counters.c server/common/sbuf.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_LDADD = $(INIH_LIBS)

# Daemonise, pidfile, signals and exit statuses, against the real binary.
check_PROGRAMS += tests/integration/test_daemon
TESTS += tests/integration/test_daemon
tests_integration_test_daemon_SOURCES = tests/integration/test_daemon.c
tests_integration_test_daemon_LDADD = libpmqtest.la libpmqproto.la

# The sd_notify conversation (the test plays systemd through $NOTIFY_SOCKET).
if HAVE_SYSTEMD
check_PROGRAMS += tests/integration/test_notify
TESTS += tests/integration/test_notify
endif
tests_integration_test_notify_SOURCES = tests/integration/test_notify.c
tests_integration_test_notify_LDADD = libpmqtest.la libpmqproto.la

# The admin socket and the availability switch: offline, online, drain,
# SIGTERM drain (protocol.md "Administration and availability").
check_PROGRAMS += tests/integration/test_admin
TESTS += tests/integration/test_admin
tests_integration_test_admin_SOURCES = tests/integration/test_admin.c
tests_integration_test_admin_LDADD = libpmqtest.la libpmqproto.la
