/*
 * notify.h - tells the service manager what pulsemqd is doing (sd_notify).
 *
 * Promises:
 *  - Every call is cheap and never fails the caller: without libsystemd
 *    (HAVE_SYSTEMD undefined) the functions are empty inlines, and when
 *    pulsemqd was not started by systemd (no $NOTIFY_SOCKET) sd_notify()
 *    does nothing.
 *  - Call from the main thread only (the messages must stay in order:
 *    RELOADING=1 ... READY=1, then STOPPING=1 last).
 *
 * Where main.c calls them:
 *   notify_ready(status)   after runtime_start() returned 0: listeners bound,
 *                          store recovered, threads running;
 *   notify_reloading() / notify_ready()   around the SIGHUP work;
 *   notify_stopping()      before runtime_stop();
 *   notify_status(text)    now and then ("42 connections, 1234 ops/s");
 *   notify_watchdog()      only when the runtime shows progress, at least
 *                          every notify_watchdog_interval_ms().
 */
#ifndef PMQ_NOTIFY_H
#define PMQ_NOTIFY_H

#include <stdint.h>

#ifdef HAVE_SYSTEMD

void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *status);
void notify_watchdog(void);
/* How often to call notify_watchdog(): half of WatchdogSec= in ms, or 0
 * when systemd is not watching this process. */
int64_t notify_watchdog_interval_ms(void);

#else /* no libsystemd: nothing to tell */

static inline void notify_ready(const char *status) { (void)status; }
static inline void notify_reloading(void) {}
static inline void notify_stopping(void) {}
static inline void notify_status(const char *status) { (void)status; }
static inline void notify_watchdog(void) {}
static inline int64_t notify_watchdog_interval_ms(void) { return 0; }

#endif
#endif
