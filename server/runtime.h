/*
 * runtime.h - the runtime's shared state, private to server/.
 *
 * One struct runtime exists while the server runs (`rt`). Everything in it
 * is set by server_start() before any thread starts and is read-only after,
 * except the atomics, which say so.
 *
 * Who owns what:
 *  - an IO thread owns its epoll set, listener, mailbox (consumer side),
 *    session table and sessions; other threads only post to its mailbox;
 *  - the timer thread owns the wheel and the idle timers queued in it;
 *  - pool workers own a request between dequeue and reply.
 */
#ifndef PMQ_RUNTIME_H
#define PMQ_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actors/handle.h"
#include "actors/mailbox.h"
#include "actors/wheel.h"
#include "pool/hist.h"
#include "pool/pool.h"
#include "protocol/protocol.h"
#include "server/config.h"
#include "server/iomsg.h"
#include "server/outq.h"
#include "server/request.h"
#include "server/stats.h"

enum rt_pool { RT_POOL_GET, RT_POOL_PUT, RT_POOL_HEARTBEAT, RT_POOL_COUNT };

/* One per session. It travels: IO thread -> timer mailbox -> wheel -> IO
 * mailbox (as an IOM_IDLE_CHECK) -> back. Whoever holds it owns it, and
 * nothing else points at it (the session names it nowhere): a timer whose
 * session has closed, or was killed by the check, is freed when it next
 * reaches the IO thread, by that thread. */
struct idle_timer {
	struct io_msg msg;              /* IOM_IDLE_CHECK + the session */
	struct pmq_wheel_entry entry;
	struct idle_timer *prev, *next; /* timer thread's list / IO backlog */
	uint64_t deadline_ms;
};

/* Shutdown phases, posted by server_stop() (static, never freed). */
enum io_ctrl_op { IOC_STOP_ACCEPT, IOC_DRAIN, IOC_TIMER_STOP };
struct io_ctrl {
	struct io_msg msg;
	enum io_ctrl_op op;
};

struct io_thread;
struct timer_thread;

struct runtime {
	const struct pmq_config *cfg;
	struct pmq_limits limits;
	struct pmq_pool *pools[RT_POOL_COUNT];
	struct io_thread **io;
	unsigned nio;
	struct timer_thread *timer;
	int port;
	uint64_t started_ms;            /* monotonic, for uptime */
	struct stats_block shared;      /* counters of non-IO threads */

	atomic_uint curr_connections;
	/* Replies may be posted while open; server_stop() closes it and waits
	 * for posters in progress before freeing the mailboxes. */
	atomic_bool replies_open;
	atomic_uint replies_busy;
	atomic_uint_fast64_t next_session_id;
};

extern struct runtime rt;

const char *rt_pool_name(enum rt_pool p);

/* io.c ------------------------------------------------------------------ */
int io_create(struct io_thread **out, unsigned idx, int listen_fd);
int io_start(struct io_thread *io);
/* Any thread but io's own: posts m, retrying with a short backoff while
 * the mailbox is full; false after budget_ms (the caller frees m). */
bool io_post_wait(struct io_thread *io, struct io_msg *m, unsigned budget_ms);
/* Any thread: post without waiting; false when the mailbox is full. */
bool io_post(struct io_thread *io, struct io_msg *m);
void io_post_ctrl(struct io_thread *io, enum io_ctrl_op op);
void io_join(struct io_thread *io);
void io_destroy(struct io_thread *io);
struct stats_block *io_stats(struct io_thread *io);
unsigned io_sessions(const struct io_thread *io);
unsigned io_mailbox_depth(const struct io_thread *io);
/* Its liveness probe (probe.h), for liveness.c. */
struct thread_probe *io_probe(struct io_thread *io);
/* Adds the latencies of cmd's answers this IO thread received (queued to
 * answer back on the IO thread) into *into (any thread). */
void io_cmd_latency(const struct io_thread *io, enum pmq_cmd cmd, struct pmq_hist *into);

/* timerthread.c --------------------------------------------------------- */
int timer_create_thread(struct timer_thread **out);
/* IO threads: hand t to the timer (false: its mailbox is full, keep t and
 * try again later). */
bool timer_post(struct timer_thread *tt, struct idle_timer *t);
/* Any thread: post a ping (liveness.c); false when the mailbox is full. */
bool timer_post_msg(struct timer_thread *tt, struct io_msg *m);
struct thread_probe *timer_probe(struct timer_thread *tt);
/* `debug sleep timer MS`: the timer thread stops for ms, then answers
 * `result 200 0 OPAQUE` to session h. false: mailbox full or ENOMEM. */
bool timer_stall(struct timer_thread *tt, struct pmq_handle h, int32_t opaque, int32_t ms);
void timer_stop(struct timer_thread *tt);
void timer_destroy(struct timer_thread *tt);

/* request.c ------------------------------------------------------------- */
struct pmq_request;
/* The processor for cmd, or NULL. */
pmq_processor_fn *processor_lookup(enum pmq_cmd cmd, void **ctx);
/* Registers version and stats unless the store (or a test) did. */
void proc_builtin_register(void);
/* Copies the decoded message (line + body in raw[0..len)) into a new
 * request for session h; NULL on ENOMEM. */
struct pmq_request *request_new(const struct pmq_msg *m, const char *raw,
                                size_t len, struct pmq_handle h,
                                enum rt_pool pool);
/* Submits to the request's pool: 0, -EBUSY or -ESHUTDOWN (req then still
 * belongs to the caller, who frees it with request_free). */
int request_submit(struct pmq_request *req);
/* A request that runs `debug sleep` instead of a processor. */
void request_set_sleep(struct pmq_request *req, int32_t ms);
/* Output bytes the answer may take, reserved on the session meanwhile;
 * handed back with the answer (outbuf.reserved). */
void request_set_reserve(struct pmq_request *req, size_t bytes);
void request_free(struct pmq_request *req);
/* Posts an encoded answer to the owning IO thread (any thread). */
void reply_post(struct pmq_handle h, bool prio, struct outbuf *b);

#endif
