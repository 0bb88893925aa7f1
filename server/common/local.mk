# server/common/local.mk - the leaves every wing of pulsemqd shares: the
# log, the settings' values, the counter blocks, text buffers. Nothing here
# includes another wing, so each wing may use it without a circle.
pulsemqd_SOURCES += \
	server/common/log.h server/common/log.c \
	server/common/settings.h server/common/settings.c \
	server/common/counters.h server/common/counters.c \
	server/common/sbuf.h server/common/sbuf.c \
	server/common/textline.h

# The log on its own: format, levels, concurrent writers, reopen.
check_PROGRAMS += tests/unit/test_log
TESTS += tests/unit/test_log
tests_unit_test_log_SOURCES = tests/unit/test_log.c server/common/log.c
