/*
 * timer.h - the one timer thread (timer.c): a hashed wheel of idle timers
 * and the periodic hooks (runtime.h).
 *
 * Promises: the timer never looks at a session and never runs broker work
 * itself: it posts idle checks to the owning IO thread and submits periodic
 * work to a pool; it never blocks on another thread. It notices a local
 * pause (waking more than max_local_pause_ms late) before it fires any
 * timer of that window.
 */
#ifndef PMQ_TIMER_H
#define PMQ_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "server/runtime/rt.h"

struct probe;

int timer_create_thread(struct timer_thread **out);
/* IO threads: hand t to the timer (false: its mailbox is full, keep t and
 * try again later). */
bool timer_post(struct timer_thread *tt, struct idle_timer *t);
/* Any thread: post a ping (liveness.c); false when the mailbox is full. */
bool timer_post_msg(struct timer_thread *tt, struct io_msg *m);
/* IO threads: the end of the last local pause (the timer woke later than
 * it meant by more than max_local_pause_ms), or now_ms when the timer is
 * that late right now; 0 when there was none. */
uint64_t timer_pause_resumed_ms(struct timer_thread *tt, uint64_t now_ms);
struct probe *timer_probe(struct timer_thread *tt);
/* `debug sleep timer MS`: the timer thread stops for ms, then answers
 * `result 200 0 OPAQUE` to session h. false: mailbox full or ENOMEM. */
bool timer_stall(struct timer_thread *tt, struct handle h, int32_t opaque, int32_t ms);
void timer_stop(struct timer_thread *tt);
void timer_destroy(struct timer_thread *tt);

#endif
