/*
 * liveness.h - is the broker still making progress? (systemd watchdog)
 *
 * main.c calls liveness_check() before each WATCHDOG=1 and sends it only
 * when the answer is true, so systemd restarts a wedged broker instead of
 * one whose main thread alone is still alive.
 *
 * What is checked, each call:
 *  - every IO thread and the timer thread: each call posts a ping into the
 *    thread's mailbox, and the thread stamps a counter whenever it takes
 *    mail (probe.h). A thread that has not taken its mail since the
 *    previous call, although a ping was waiting, is stuck. An idle thread
 *    is woken by the ping, so idleness is never mistaken for a wedge.
 *  - every pool: stuck when it had requests queued at the previous call
 *    and still has, and none finished (completed or expired) in between;
 *  - group commit (flush_mode = sync): stuck when puts waited for a flush
 *    at the previous call and still do, and no group commit finished in
 *    between (a hung fsync: the pools and threads look fine meanwhile).
 *
 * Why the main thread checks rather than the timer thread: the main thread
 * is the one that talks to systemd, and a check run by the timer would go
 * quiet exactly when the timer wedges.
 *
 * Promises:
 *  - Main thread only, between runtime_start() and runtime_stop(); cheap
 *    (reads counters, posts one message per thread, takes no lock).
 *  - With the check every WatchdogSec/2, a thread or pool stuck for two
 *    checks in a row misses the watchdog and systemd restarts the daemon.
 *  - why receives one line naming what is stuck (the first thing found,
 *    and how many in all), for the log and STATUS=.
 */
#ifndef PMQ_LIVENESS_H
#define PMQ_LIVENESS_H

#include <stdbool.h>
#include <stddef.h>

bool liveness_check(char *why, size_t cap);

#endif
