/*
 * liveness.h - is the broker still making progress? (systemd watchdog)
 *
 * main.c calls liveness_check() before each WATCHDOG=1 and sends it only
 * when the answer is true, so systemd restarts a wedged broker instead of
 * one whose main thread alone is still alive.
 *
 * Promises:
 *  - Main thread only, between server_start() and server_stop(); cheap
 *    (reads counters, takes no lock a worker holds).
 *  - A pool is stuck when it had requests queued at the previous call and
 *    still has, and none finished (completed or expired) in between. With
 *    the check every WatchdogSec/2, two stuck checks in a row miss the
 *    watchdog and systemd restarts the daemon.
 *  - why receives one line naming what is stuck, for the log and STATUS=.
 *
 * Not covered yet: the IO threads and the timer thread expose no progress
 * counter (an idle IO thread rightly sleeps in epoll_wait), so a wedged IO
 * or timer thread is not detected here. Closing that gap needs a per-thread
 * counter bumped by a periodic no-op mailbox message (IO) and by each tick
 * (timer).
 */
#ifndef PMQ_LIVENESS_H
#define PMQ_LIVENESS_H

#include <stdbool.h>
#include <stddef.h>

bool liveness_check(char *why, size_t cap);

#endif
