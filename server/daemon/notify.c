/*
 * notify.c - sd_notify() messages for systemd (Type=notify, WatchdogSec=).
 *
 * Compiled only when configure found libsystemd; see notify.h for who calls
 * what and when. A failed notification is logged at debug level only: the
 * broker serves clients whether or not the manager heard it.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "server/common/log.h"
#include "server/daemon/notify.h"

/* STATUS= text is shown by `systemctl status`; one short line is enough. */
#define NOTIFY_STATUS_MAX 256

static void send_state(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0)
		pmq_log(PMQ_LOG_DEBUG, "sd_notify(%s) failed: %d", state, rc);
}

void notify_ready(const char *status)
{
	char msg[NOTIFY_STATUS_MAX + 32];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status ? status : "serving");
	send_state(msg);
}

void notify_reloading(void)
{
	char msg[64];
	struct timespec ts;

	/* MONOTONIC_USEC lets systemd >= 253 match this reload to the
	 * `systemctl reload` that asked for it; older versions ignore it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	         (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	send_state(msg);
}

void notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=stopping");
}

void notify_status(const char *status)
{
	char msg[NOTIFY_STATUS_MAX + 8];

	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	send_state(msg);
}

void notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}

int64_t notify_watchdog_interval_ms(void)
{
	uint64_t usec = 0;

	/* Ping at half the timeout, as sd_watchdog_enabled(3) recommends. */
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	return (int64_t)(usec / 2000u) > 0 ? (int64_t)(usec / 2000u) : 1;
}
