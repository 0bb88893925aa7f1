/*
 * status.h - the one-line status systemd shows (`systemctl status`, STATUS=).
 *
 * status_line() writes "N connections, R ops/s, queued get/put/heartbeat
 * a/b/c": R is the rate of requests decoded (every command) since the
 * previous call. Main thread only, while the runtime runs; the first call
 * reports the rate since start-up.
 *
 * main.c sends it as STATUS= (notify_status) on every wake of its signal
 * loop (every WatchdogSec/2 under systemd), unless the watchdog check just
 * put a "stuck" reason there instead.
 */
#ifndef PMQ_STATUS_H
#define PMQ_STATUS_H

#include <stddef.h>

size_t status_line(char *buf, size_t cap);

#endif
