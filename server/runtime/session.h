/*
 * session.h - a client session, the actor its IO thread owns.
 *
 * Only the owning IO thread touches a struct session or its io_thread;
 * everyone else names a session by struct handle and posts to the IO
 * thread's mailbox. A session is never freed in the middle of a loop
 * iteration: session_kill() marks it and the IO thread reaps it at the end,
 * so a pointer stays valid for the rest of the iteration and stale handles
 * (in the ready / dirty lists, in epoll events) are recognised by their
 * generation.
 *
 * Life: OPEN (reading, decoding) -> DRAINING (quit, undecodable input,
 * peer EOF, shutdown: no more reading; closes once what is owed is written)
 * -> killed (reaped, counted by reason).
 */
#ifndef PMQ_SESSION_H
#define PMQ_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/runtime/idle.h"
#include "server/runtime/outq.h"
#include "server/runtime/probe.h"
#include "server/runtime/io.h"
#include "server/runtime/reqlife.h"
#include "server/runtime/rt.h"
#include "server/runtime/timer.h"

enum session_state { SS_OPEN, SS_DRAINING };

struct session {
	int fd;
	struct handle h;
	uint64_t id;                    /* for logs */
	enum session_state state;
	enum close_reason why;          /* for DRAINING and killed */
	bool dead;                      /* killed: reaped at the end of the loop */
	bool throttled;                 /* output over max_output_bytes: not reading */
	bool last_read;                 /* shutdown: decoding regardless of throttling */
	bool want_read;                 /* the socket may hold more bytes */
	bool rdhup;                     /* the peer shut its side: read to EOF */
	bool epollout;                  /* EPOLLOUT armed */
	bool on_ready, on_dirty;        /* queued in io->ready / io->dirty */
	bool admin;                     /* came through admin_socket: admin commands allowed */
	bool producer, consumer;        /* has sent a put / a get (gauges; drain waits on producers) */

	char *in;                       /* undecoded input */
	size_t in_len, in_cap;          /* in_cap is counted in max_buffer_bytes (budget.h) */
	/* Input to drop unread, as it arrives (never buffered whole): */
	size_t skip;                    /* body bytes of a refused request */
	bool skip_line;                 /* an over-long line, up to its \r\n */
	bool skip_cr;                   /* ... whose last byte dropped was \r */
	size_t skip_line_left;          /* bytes it may still take, then close */
	uint64_t frame_since_ms;        /* the unfinished frame in `in` began (budget.h); 0: none */
	struct outq out;
	unsigned inflight;              /* requests in pools, not yet answered */
	size_t reserved;                /* output bytes those may still add (gets) */

	uint64_t last_read_ms;          /* any byte read */
	uint64_t reads;                 /* reads that brought bytes, counted */
	uint64_t last_write_ms;         /* any byte written */
	uint64_t out_since_ms;          /* output pending and no progress since */
	struct idle_marks marks;

	/* the broker's own heartbeats (heartbeat.c) */
	bool hb_out;                    /* one is outstanding */
	uint32_t hb_misses;             /* in a row */
	uint64_t hb_sent_ms, hb_deadline_ms;
	uint64_t hb_reads;              /* reads when the last one was queued */
	int32_t hb_run_first;           /* opaques of this unanswered run */
	int32_t hb_last;
	int32_t hb_next;                /* the session's own opaque sequence */

	char peer[64];
};

struct io_slot {
	struct session *s;
	uint32_t gen;                   /* current generation; never 0 */
	uint32_t next_free;
};

struct hvec {
	struct handle *v;
	size_t len, cap;
};

struct io_thread {
	unsigned idx;
	pthread_t tid;
	bool started;
	int epfd;
	int lfd;                        /* listener, -1 once closed */
	int afd;                        /* admin_socket listener (IO thread 0 only), else -1 */
	struct mailbox *mb;
	uint64_t now_ms;                /* refreshed after every epoll_wait */

	struct io_slot *slots;
	uint32_t nslots, free_head;     /* free list through next_free */
	unsigned nsessions;
	atomic_uint nsessions_pub;      /* for stats, from other threads */

	struct hvec ready, dirty, reap;
	struct idle_timer *timer_backlog; /* timer mailbox was full */
	bool accept_retry;              /* accept hit EMFILE: try again later */
	bool draining;                  /* shutdown: closing every session */
	uint64_t drain_deadline_ms;

	struct stats_block stats;
	struct io_ctrl ctrl[IOC_COUNT]; /* shutdown messages, by op */
	struct probe probe;      /* the watchdog's ping (probe.h) */
	/* Answers that found the mailbox full (io_post_reply): a stack
	 * pushed by any thread, taken whole by this one every turn. */
	_Atomic(struct outbuf *) overflow;
	struct io_msg wake;             /* IOM_WAKE, posted after a push */
	atomic_uint_fast64_t jam_until_ms; /* debug: answers skip the mailbox */
	unsigned pools_to_wake;         /* bit per rt_pool: lane submits since the last wake */
	/* Queued to answer received, by command: written by this thread only
	 * (hist_record_owned), read by metrics scrapes. */
	struct hist cmd_latency[PMQ_CMD_COUNT];
};

/* Sets one of a session's flags that has a gauge (ST_SESS_THROTTLED,
 * ST_SESS_HB_OUT), moving the gauge when the flag changes. */
static inline void session_set_flag(struct io_thread *io, bool *flag, enum stat_id gauge,
                                    bool on)
{
	if (*flag == on)
		return;
	*flag = on;
	if (on)
		stats_inc(&io->stats, gauge);
	else
		stats_dec(&io->stats, gauge);
}

struct session *session_lookup(struct io_thread *io, struct handle h);
/* admin: the connection came through admin_socket. */
int session_open(struct io_thread *io, int fd, const char *peer, bool admin);
void session_kill(struct io_thread *io, struct session *s, enum close_reason why);
/* Stop reading; close once inflight is 0 and the output is written. */
void session_drain(struct io_thread *io, struct session *s, enum close_reason why);
void session_reap(struct io_thread *io);
void session_on_event(struct io_thread *io, struct session *s, uint32_t events);
/* Read (within a budget) and decode. */
void session_read(struct io_thread *io, struct session *s);
/* Shutdown, with the pools stopped: read and decode everything the peer
 * sent so far (at most LAST_READ_MAX), throttled or not, so that every
 * request that arrived is answered (503 "shutting down" by now). */
void session_read_last(struct io_thread *io, struct session *s);
/* Decode what is buffered (after throttling ends). */
void session_decode(struct io_thread *io, struct session *s);
void session_flush(struct io_thread *io, struct session *s);
/* Queue b (its prio set by the caller) and mark the session dirty. */
void session_push(struct io_thread *io, struct session *s, struct outbuf *b);
/* Encode `result CODE LEN OPAQUE` + body and push it. */
void session_answer(struct io_thread *io, struct session *s, int code,
                    int32_t opaque, const char *body, size_t len);
void session_answerf(struct io_thread *io, struct session *s, int code,
                     int32_t opaque, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void session_mark_dirty(struct io_thread *io, struct session *s);
/* A request's answer came back. */
void session_on_reply(struct io_thread *io, struct session *s, struct outbuf *b);

#endif
