/*
 * runtime.h - the runtime wing: IO threads, sessions, pools, the timer
 * thread. What the wings above it (broker, metrics, daemon) may call.
 *
 * The runtime knows the wire (protocol/), its threads (actors/, pool/) and
 * nothing of the broker: commands reach the broker only through the table
 * of processors (request.h), and anything else the broker wants from the
 * runtime's threads goes through the hooks below.
 *
 * Files of this wing and their headers:
 *   runtime.c   start and stop (this header)
 *   listen.c    listeners (listen.h)
 *   io.c        IO threads: epoll, mailbox, accept (io.h)
 *   session.c   sessions: read, decode, write, close (session.h)
 *   outq.c      a session's output queue (outq.h)
 *   dispatch.c  routing a decoded command to its pool (dispatch.h)
 *   request.c   a request's life, the processor table (request.h, reqlife.h)
 *   timer.c     the timer thread, its wheel, local pauses (timer.h)
 *   idle.c      idle states, Netty-style (idle.h)
 *   idle_policy.c  one look when a session's timer fires (idle_policy.h)
 *   dead_peer.c    read silence, unanswered heartbeats (dead_peer.h)
 *   heartbeat.c    the broker's `version N`, its answers (heartbeat.h)
 *   slow_consumer.c  output stuck past write_timeout_ms (slow_consumer.h)
 *   progress.c  progress checks for the watchdog (this header)
 *   views.c     read-only views for stats and /metrics (this header)
 *   push.c      pushes, closes and the close hook for the broker (push.h)
 *
 * Promises:
 *  - runtime_start() binds every listener before it returns (a bind error
 *    reaches the terminal), then starts pools, IO threads and the timer
 *    thread, and writes port_file once connections are accepted.
 *  - runtime_stop() is graceful and bounded: stop accepting, answer or
 *    finish what is queued, close sessions, join every thread.
 *  - The views below may be called from any thread between start and
 *    stop; they read counters and take no lock.
 */
#ifndef PMQ_RUNTIME_H
#define PMQ_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/handle.h"
#include "protocol/protocol.h"
#include "server/common/counters.h"
#include "server/common/settings.h"

struct hist;
struct pool;

/* The most IO threads the runtime runs (the io_threads setting's bound). */
#define RT_IO_THREADS_MAX 256

enum rt_pool { RT_POOL_GET, RT_POOL_PUT, RT_POOL_HEARTBEAT, RT_POOL_COUNT };

/* ---- hooks: the broker's work on the runtime's threads ----------------- */

/* Periodic work (e.g. store retention): every period_ms the timer thread
 * submits fn as a task to pool, at most one run in flight; a full pool
 * skips that period. The timer only times and posts; fn runs on a worker.
 * At most RT_PERIODIC_MAX, registered before runtime_start(). */
#define RT_PERIODIC_MAX 4
int runtime_every(uint32_t period_ms, enum rt_pool pool, void (*fn)(void *ctx), void *ctx);

/* `debug sleep TARGET MS` for a target the runtime does not own (e.g.
 * "flush"): fn is called on the IO thread and must not block; the runtime
 * answers 200. Registered before runtime_start(). */
int runtime_debug_target(const char *target, void (*fn)(int32_t ms));

/* A session closes (any reason): fn runs on its IO thread as it is freed,
 * once per session. It must be quick and must not block (no disk, no
 * waiting on a pool or a contended lock): defer real work. One hook. */
int runtime_on_close(void (*fn)(struct handle h, void *ctx), void *ctx);

/* Any thread: bytes for session h that answer no request (e.g. a notify
 * push); copied. false when the runtime is stopping or h's IO thread does
 * not take mail in time; a closed session drops it silently. */
bool runtime_push(struct handle h, const void *data, size_t len);

/* Any thread: close session h once what it is owed is written, counted
 * under why. false as for runtime_push. */
bool runtime_close(struct handle h, enum close_reason why);

/* ---- life ----------------------------------------------------------------- */

/* 0, or -errno with the reason logged. cfg stays valid until stop. */
int runtime_start(const struct settings *cfg);
/* The port bound (port 0 = any free port). */
int runtime_bound_port(void);
void runtime_stop(void);

/* ---- read-only views (any thread, between start and stop) ---------------- */

const char *rt_pool_name(enum rt_pool p);
const struct pool *runtime_pool(enum rt_pool p);
unsigned runtime_connections(void);
uint64_t runtime_started_ms(void);
/* Sum of one counter over every block. */
uint64_t runtime_counter_total(enum stat_id id);
unsigned runtime_io_threads(void);
unsigned runtime_io_sessions(unsigned io);
unsigned runtime_io_mailbox_depth(unsigned io);
/* Input buffer bytes counted against max_buffer_bytes now (budget.h). */
size_t runtime_input_buffer_bytes(void);
/* Adds the latencies of cmd's answers (queued to answer received on the IO
 * thread) over every IO thread into *into. */
void runtime_cmd_latency(enum pmq_cmd cmd, struct hist *into);

/* ---- the watchdog's checks (main thread only, between start and stop) ---- */

/* Pings every IO thread and the timer thread and compares every pool's
 * progress with the previous call. Returns how many are stuck; the first
 * finding goes to why (one line of English). */
unsigned runtime_progress_check(char *why, size_t cap);

#endif
