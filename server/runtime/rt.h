/*
 * rt.h - the runtime's shared state, private to server/runtime/.
 *
 * One struct runtime exists while the server runs (`rt`). Everything in it
 * is set by runtime_start() before any thread starts and is read-only after,
 * except the atomics, which say so.
 *
 * Who owns what:
 *  - an IO thread owns its epoll set, listener, mailbox (consumer side),
 *    session table and sessions; other threads only post to its mailbox;
 *  - the timer thread owns the wheel and the idle timers queued in it;
 *  - pool workers own a request between dequeue and reply.
 */
#ifndef PMQ_RT_H
#define PMQ_RT_H

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
#include "server/common/settings.h"
#include "server/runtime/iomsg.h"
#include "server/runtime/outq.h"
#include "server/runtime/request.h"
#include "server/runtime/runtime.h"

/* One per session. It travels: IO thread -> timer mailbox -> wheel -> IO
 * mailbox (as an IOM_IDLE_CHECK) -> back. Whoever holds it owns it, and
 * nothing else points at it (the session names it nowhere): a timer whose
 * session has closed, or was killed by the check, is freed when it next
 * reaches the IO thread, by that thread. */
struct idle_timer {
	struct io_msg msg;              /* IOM_IDLE_CHECK + the session */
	struct wheel_entry entry;
	struct idle_timer *prev, *next; /* timer thread's list / IO backlog */
	uint64_t deadline_ms;
};

/* Shutdown phases, posted by runtime_stop() (static, never freed). */
enum io_ctrl_op {
	IOC_STOP_ACCEPT,
	IOC_DRAIN,
	IOC_TIMER_STOP,
	IOC_COUNT /* not an op: how many there are (io_thread.ctrl) */
};
struct io_ctrl {
	struct io_msg msg;
	enum io_ctrl_op op;
};

struct io_thread;
struct timer_thread;

struct runtime {
	const struct settings *cfg;
	struct pmq_limits limits;
	struct pool *pools[RT_POOL_COUNT];
	struct io_thread **io;
	unsigned nio;
	struct timer_thread *timer;
	int port;
	bool admin_open;                /* admin_socket is ours: removed at stop */
	uint64_t started_ms;            /* monotonic, for uptime */
	struct stats_block shared;      /* counters of non-IO threads */

	atomic_uint curr_connections;
	/* Replies may be posted while open; runtime_stop() closes it and waits
	 * for posters in progress before freeing the mailboxes. */
	atomic_bool replies_open;
	atomic_uint replies_busy;
	atomic_uint_fast64_t next_session_id;
};

extern struct runtime rt;

#endif
