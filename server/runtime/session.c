/*
 * session.c - a session's input, output and life (session.h).
 *
 * Input: edge-triggered reads into one buffer, decoded after every read;
 * a read budget per turn keeps one busy client from starving the others
 * (the session goes on the ready list and is read again next turn).
 * Output: answers queue in an outq and leave by writev at the end of each
 * loop turn (batching every answer that arrived meanwhile); EPOLLOUT is
 * armed only while bytes are pending. Backpressure: over max_output_bytes
 * pending, the session stops decoding and reading; below half it resumes.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "server/common/log.h"
#include "server/runtime/budget.h"
#include "server/runtime/dispatch.h"
#include "server/runtime/idle_policy.h"
#include "server/runtime/push.h"
#include "server/runtime/session.h"
#include "server/common/textline.h"

#define IN_BUF_MIN 16384          /* first input buffer; most lines are short */
#define IN_BUF_KEEP 65536         /* an empty buffer above this is given back */
#define IN_READ_MIN 4096          /* grow before reading into less room */
#define READ_BUDGET 262144        /* bytes read per session per loop turn */
#define WRITE_IOV 64              /* buffers gathered per writev */
#define LINGER_DISCARD 65536      /* unread input dropped before close (no RST) */
#define LAST_READ_MAX (16u << 20) /* shutdown: input read per session, at most (a peer
                                   * that keeps sending must not hold the stop) */

static void session_mark_ready(struct io_thread *io, struct session *s);

static void hvec_push(struct hvec *v, struct handle h)
{
	if (v->len == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct handle *n = realloc(v->v, cap * sizeof(*n));
		if (!n) {
			/* Losing a ready/dirty mark only delays that session
			 * until its next event or idle check. */
			pmq_log(PMQ_LOG_ERROR, "out of memory queueing a session");
			return;
		}
		v->v = n;
		v->cap = cap;
	}
	v->v[v->len++] = h;
}

struct session *session_lookup(struct io_thread *io, struct handle h)
{
	if (h.io != io->idx || h.slot >= io->nslots || io->slots[h.slot].gen != h.gen)
		return NULL;
	return io->slots[h.slot].s;
}

static int epoll_set(struct io_thread *io, struct session *s, int op, bool out)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (out ? EPOLLOUT : 0),
		.data.u64 = ((uint64_t)s->h.gen << 32) | s->h.slot,
	};
	return epoll_ctl(io->epfd, op, s->fd, &ev) == 0 ? 0 : -errno;
}

static int slot_take(struct io_thread *io, uint32_t *out)
{
	if (io->free_head == UINT32_MAX) {
		uint32_t n = io->nslots ? io->nslots * 2 : 64;
		struct io_slot *ns = realloc(io->slots, n * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (uint32_t i = io->nslots; i < n; i++) {
			ns[i].s = NULL;
			ns[i].gen = 1;
			ns[i].next_free = i + 1 < n ? i + 1 : UINT32_MAX;
		}
		io->slots = ns;
		io->free_head = io->nslots;
		io->nslots = n;
	}
	*out = io->free_head;
	io->free_head = io->slots[*out].next_free;
	return 0;
}

static void slot_give_back(struct io_thread *io, uint32_t slot)
{
	struct io_slot *sl = &io->slots[slot];

	sl->s = NULL;
	/* A new generation: every handle to the old session is stale. 0 is
	 * never live; all-ones would collide with the epoll tags. */
	if (++sl->gen == UINT32_MAX)
		sl->gen = 1;
	sl->next_free = io->free_head;
	io->free_head = slot;
}

static void post_timer(struct io_thread *io, struct idle_timer *t)
{
	if (io->timer_backlog || !timer_post(rt.timer, t)) {
		/* Keep order simple: once backlogged, queue behind. */
		t->next = io->timer_backlog;
		io->timer_backlog = t;
	}
}

int session_open(struct io_thread *io, int fd, const char *peer, bool admin)
{
	struct session *s = calloc(1, sizeof(*s));
	struct idle_timer *t = calloc(1, sizeof(*t));
	uint32_t slot;
	int err;

	if (!s || !t) {
		err = -ENOMEM;
		goto fail;
	}
	err = slot_take(io, &slot);
	if (err)
		goto fail;
	s->fd = fd;
	s->h = (struct handle){ .io = (uint16_t)io->idx, .slot = slot,
	                            .gen = io->slots[slot].gen };
	s->id = atomic_fetch_add(&rt.next_session_id, 1);
	s->state = SS_OPEN;
	s->want_read = true;
	s->admin = admin;
	s->last_read_ms = s->last_write_ms = s->out_since_ms = io->now_ms;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	idle_policy_init(s);
	err = epoll_set(io, s, EPOLL_CTL_ADD, false);
	if (err) {
		slot_give_back(io, slot);
		goto fail;
	}
	io->slots[slot].s = s;
	io->nsessions++;
	atomic_store_explicit(&io->nsessions_pub, io->nsessions, memory_order_relaxed);
	stats_inc(&io->stats, ST_TOTAL_CONNECTIONS);
	stats_inc(&io->stats, ST_SESS_OPEN);

	t->msg.type = IOM_IDLE_CHECK;
	t->msg.h = s->h;
	t->deadline_ms = idle_policy_first_check(s);
	post_timer(io, t);
	pmq_log(PMQ_LOG_DEBUG, "session %llu from %s opened on IO thread %u",
	        (unsigned long long)s->id, s->peer, io->idx);
	/* Bytes may already wait: edge-triggered epoll will not say so. */
	session_mark_ready(io, s);
	return 0;
fail:
	free(s);
	free(t);
	return err;
}

void session_kill(struct io_thread *io, struct session *s, enum close_reason why)
{
	if (s->dead)
		return;
	s->dead = true;
	s->why = why;
	hvec_push(&io->reap, s->h);
}

void session_drain(struct io_thread *io, struct session *s, enum close_reason why)
{
	if (s->dead || s->state == SS_DRAINING)
		return;
	s->state = SS_DRAINING;
	stats_dec(&io->stats, ST_SESS_OPEN);
	stats_inc(&io->stats, ST_SESS_DRAINING);
	s->why = why;
	s->in_len = 0;
	session_mark_dirty(io, s); /* flush decides when to close */
}

/* Graceful closes drop what the peer sent but we never read, so that close()
 * does not turn into a reset that could destroy our last answers in flight. */
static void discard_input(int fd)
{
	char sink[4096];
	size_t total = 0;

	while (total < LINGER_DISCARD) {
		ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
}

static void session_free(struct io_thread *io, struct session *s)
{
	enum pmq_log_level lvl = PMQ_LOG_DEBUG;

	/* Liveness decisions are worth a line; the rest are counted. */
	if (s->why == CLOSE_IDLE || s->why == CLOSE_HEARTBEAT || s->why == CLOSE_SLOW_CONSUMER)
		lvl = PMQ_LOG_INFO;
	pmq_log(lvl, "session %llu from %s closed: %s", (unsigned long long)s->id,
	        s->peer, close_reason_name(s->why));
	/* Counted before the peer can see the close: a client that reads our
	 * FIN and then asks `stats` must find this session counted. */
	stats_inc(&io->stats, (enum stat_id)(ST_CLOSED_FIRST + s->why));
	push_session_closed(s);
	stats_dec(&io->stats, s->state == SS_OPEN ? ST_SESS_OPEN : ST_SESS_DRAINING);
	session_set_flag(io, &s->throttled, ST_SESS_THROTTLED, false);
	session_set_flag(io, &s->hb_out, ST_SESS_HB_OUT, false);
	session_set_flag(io, &s->producer, ST_SESS_PRODUCERS, false);
	session_set_flag(io, &s->consumer, ST_SESS_CONSUMERS, false);
	atomic_fetch_sub(&rt.curr_connections, 1);
	if (s->why != CLOSE_PEER)
		discard_input(s->fd);
	close(s->fd);
	outq_clear(&s->out);
	budget_input_resize(s->in_cap, 0);
	free(s->in);
	slot_give_back(io, s->h.slot);
	io->nsessions--;
	atomic_store_explicit(&io->nsessions_pub, io->nsessions, memory_order_relaxed);
	free(s);
}

void session_reap(struct io_thread *io)
{
	for (size_t i = 0; i < io->reap.len; i++) {
		struct session *s = session_lookup(io, io->reap.v[i]);
		if (s && s->dead)
			session_free(io, s);
	}
	io->reap.len = 0;
}

static void session_mark_ready(struct io_thread *io, struct session *s)
{
	if (!s->on_ready) {
		s->on_ready = true;
		hvec_push(&io->ready, s->h);
	}
}

void session_mark_dirty(struct io_thread *io, struct session *s)
{
	if (!s->on_dirty) {
		s->on_dirty = true;
		hvec_push(&io->dirty, s->h);
	}
}

/* Output pending plus output promised to requests still in the pools: a
 * pipelined burst of large gets cannot overshoot the bound. */
static size_t owed(const struct session *s)
{
	return s->out.bytes + s->reserved;
}

static void check_throttle(struct io_thread *io, struct session *s)
{
	if (owed(s) > (size_t)rt.cfg->max_output_bytes)
		session_set_flag(io, &s->throttled, ST_SESS_THROTTLED, true);
}

void session_push(struct io_thread *io, struct session *s, struct outbuf *b)
{
	if (outq_empty(&s->out))
		s->out_since_ms = io->now_ms; /* the write-timeout clock starts */
	outq_push(&s->out, b);
	check_throttle(io, s);
	session_mark_dirty(io, s);
}

void session_answer(struct io_thread *io, struct session *s, int code,
                    int32_t opaque, const char *body, size_t len)
{
	size_t n = pmq_encode_result(NULL, 0, code, body, len, opaque);
	struct outbuf *b = outbuf_new(n);

	if (!b) {
		pmq_log(PMQ_LOG_ERROR, "session %llu: out of memory for an answer: closing",
		        (unsigned long long)s->id);
		session_kill(io, s, CLOSE_PEER);
		return;
	}
	pmq_encode_result(b->data, n, code, body, len, opaque);
	session_push(io, s, b);
}

void session_answerf(struct io_thread *io, struct session *s, int code,
                     int32_t opaque, const char *fmt, ...)
{
	char text[TEXTLINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	size_t n = textline_vformat(text, sizeof(text), fmt, ap);
	va_end(ap);
	session_answer(io, s, code, opaque, text, n);
}

void session_on_reply(struct io_thread *io, struct session *s, struct outbuf *b)
{
	if (s->inflight > 0)
		s->inflight--;
	s->reserved -= b->reserved < s->reserved ? b->reserved : s->reserved;
	session_push(io, s, b);
}

/* An over-long line is dropped up to its \r\n, but no further than a
 * whole line and body could be: a stream with no \r\n that long is not
 * the protocol any more. */
static size_t skip_line_bound(void)
{
	return (size_t)rt.cfg->max_line_bytes + (size_t)rt.cfg->max_body_bytes;
}

static const char *find_crlf(const char *p, size_t n)
{
	for (const char *q = p; n >= 2 && (q = memchr(q, '\r', n - 1 - (size_t)(q - p))); q++)
		if (q[1] == '\n')
			return q;
	return NULL;
}

/* Drops what a refused body or an over-long line still owes from the n
 * bytes at p; returns how many it took. */
static size_t input_skip(struct io_thread *io, struct session *s, const char *p, size_t n)
{
	if (s->skip > 0) {
		size_t k = n < s->skip ? n : s->skip;
		s->skip -= k;
		return k;
	}
	if (s->skip_cr && p[0] == '\n') {
		s->skip_line = s->skip_cr = false;
		return 1;
	}
	const char *end = find_crlf(p, n);
	if (end) {
		s->skip_line = s->skip_cr = false;
		return (size_t)(end + 2 - p);
	}
	s->skip_cr = p[n - 1] == '\r';
	if (n >= s->skip_line_left) {
		pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: no \\r\\n within %zu bytes of an "
		        "over-long line: closing", (unsigned long long)s->id, s->peer,
		        skip_line_bound());
		session_drain(io, s, CLOSE_BAD_INPUT);
		return n;
	}
	s->skip_line_left -= n;
	return n;
}

/* A decode error: answered here; true when decoding goes on. */
static bool decode_failed(struct io_thread *io, struct session *s,
                          const struct pmq_decode_error *err)
{
	stats_inc(&io->stats, ST_BAD_REQUESTS);
	session_answer(io, s, err->code, err->opaque, err->text, strlen(err->text));
	if (err->action == PMQ_ERR_RESYNC) {
		s->skip = err->skip;
		return true;
	}
	if (err->action == PMQ_ERR_SKIP_LINE) {
		s->skip_line = true;
		s->skip_cr = false;
		s->skip_line_left = skip_line_bound();
		return true;
	}
	/* Debug level: garbage floods must not flood the log from an IO
	 * thread; bad_requests counts every one. */
	pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: %s: closing",
	        (unsigned long long)s->id, s->peer, err->text);
	session_drain(io, s, CLOSE_BAD_INPUT);
	return false;
}

void session_decode(struct io_thread *io, struct session *s)
{
	size_t off = 0;
	/* A frame ended (a request, a bad line, a dropped body or line): what
	 * restarts frame_timeout_ms. Bytes alone do not, or a trickle would. */
	bool framed = false;

	while (!s->dead && s->state == SS_OPEN && (!s->throttled || s->last_read) &&
	       off < s->in_len) {
		struct pmq_msg m;
		struct pmq_decode_error err;
		size_t used = 0;

		if (s->skip > 0 || s->skip_line) {
			off += input_skip(io, s, s->in + off, s->in_len - off);
			framed = framed || (s->skip == 0 && !s->skip_line);
			continue;
		}
		enum pmq_decode_status st = pmq_decode_request(
			&rt.limits, s->in + off, s->in_len - off, &m, &used, &err);

		if (st == PMQ_DECODE_NEED_MORE)
			break;
		framed = true;
		if (st == PMQ_DECODE_ERROR) {
			off += used;
			if (!decode_failed(io, s, &err))
				break;
			continue;
		}
		dispatch_msg(io, s, &m, s->in + off, used);
		off += used;
	}
	if (s->state != SS_OPEN) {
		s->in_len = 0;
	} else if (off > 0) {
		memmove(s->in, s->in + off, s->in_len - off);
		s->in_len -= off;
	}
	budget_frame_note(io, s, framed);
	if (s->in_len == 0 && s->in_cap > IN_BUF_KEEP) {
		budget_input_resize(s->in_cap, 0);
		free(s->in);
		s->in = NULL;
		s->in_cap = 0;
	}
}

static size_t in_max(void)
{
	return (size_t)rt.cfg->max_line_bytes + (size_t)rt.cfg->max_body_bytes + 64;
}

/* Room to read into: 0 when the buffer is at its bound (the decoder should
 * have answered before: a line or body over the limits is an error). */
static size_t in_room(struct session *s)
{
	if (s->in_cap - s->in_len >= IN_READ_MIN || s->in_cap >= in_max())
		return s->in_cap - s->in_len;
	size_t cap = s->in_cap ? s->in_cap * 2 : IN_BUF_MIN;
	if (cap > in_max())
		cap = in_max();
	if (!budget_input_resize(s->in_cap, cap))
		return s->in_cap - s->in_len; /* at room 0, answered by the caller */
	char *n = realloc(s->in, cap);
	if (!n) {
		budget_input_resize(cap, s->in_cap);
		return s->in_cap - s->in_len;
	}
	s->in = n;
	s->in_cap = cap;
	return cap - s->in_len;
}

void session_read(struct io_thread *io, struct session *s)
{
	size_t budget = READ_BUDGET;

	while (!s->dead && s->state == SS_OPEN && !s->throttled && s->want_read) {
		size_t room = in_room(s);
		if (room == 0 && s->in_cap < in_max()) {
			budget_input_refuse(io, s);
			return;
		}
		if (room == 0) {
			pmq_log(PMQ_LOG_WARN, "session %llu from %s: input buffer full "
			        "undecoded: closing", (unsigned long long)s->id, s->peer);
			session_kill(io, s, CLOSE_BAD_INPUT);
			return;
		}
		ssize_t n = read(s->fd, s->in + s->in_len, room);
		if (n > 0) {
			s->last_read_ms = io->now_ms;
			s->reads++; /* orders reads against heartbeats (heartbeat.c) */
			s->in_len += (size_t)n;
			session_decode(io, s);
			/* A short read drained the socket; the next byte brings
			 * a new edge. Not after the peer's FIN: no edge follows
			 * it, so read on to the EOF. */
			if ((size_t)n < room && !s->rdhup)
				s->want_read = false;
			if (budget <= (size_t)n) {
				session_mark_ready(io, s);
				return;
			}
			budget -= (size_t)n;
			continue;
		}
		if (n == 0) {
			s->want_read = false;
			session_drain(io, s, CLOSE_PEER);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			s->want_read = false;
			return;
		}
		pmq_log(PMQ_LOG_DEBUG, "session %llu: read: %s", (unsigned long long)s->id,
		        strerror(errno));
		session_kill(io, s, CLOSE_PEER);
		return;
	}
}

void session_read_last(struct io_thread *io, struct session *s)
{
	size_t total = 0;

	if (s->dead || s->state != SS_OPEN)
		return;
	s->last_read = true;
	session_decode(io, s);
	while (!s->dead && s->state == SS_OPEN && total < LAST_READ_MAX) {
		size_t room = in_room(s);
		if (room == 0)
			break;
		ssize_t n = read(s->fd, s->in + s->in_len, room);
		if (n > 0) {
			s->last_read_ms = io->now_ms;
			s->in_len += (size_t)n;
			total += (size_t)n;
			session_decode(io, s);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; /* drained (EAGAIN), EOF or an error: the drain closes it */
	}
	s->last_read = false;
}

void session_on_event(struct io_thread *io, struct session *s, uint32_t events)
{
	if (s->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		s->want_read = true;
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			s->rdhup = true;
		if (s->state == SS_OPEN)
			session_read(io, s);
		else if (events & (EPOLLHUP | EPOLLERR))
			session_kill(io, s, CLOSE_PEER); /* draining, peer gone */
	}
	if (!s->dead && (events & EPOLLOUT))
		session_mark_dirty(io, s);
}

static void unthrottle(struct io_thread *io, struct session *s)
{
	if (s->throttled && owed(s) <= (size_t)rt.cfg->max_output_bytes / 2) {
		session_set_flag(io, &s->throttled, ST_SESS_THROTTLED, false);
		session_mark_ready(io, s); /* decode what waits, read again */
	}
}

void session_flush(struct io_thread *io, struct session *s)
{
	while (!s->dead && !outq_empty(&s->out)) {
		struct iovec iov[WRITE_IOV];
		int cnt = outq_iov(&s->out, iov, WRITE_IOV);

		if (cnt == 0) {
			outq_consume(&s->out, 0); /* empty buffers only */
			continue;
		}
		ssize_t n = writev(s->fd, iov, cnt);
		if (n > 0) {
			s->last_write_ms = io->now_ms;
			s->out_since_ms = io->now_ms;
			outq_consume(&s->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!s->epollout && epoll_set(io, s, EPOLL_CTL_MOD, true) == 0)
				s->epollout = true;
			unthrottle(io, s);
			return;
		}
		pmq_log(PMQ_LOG_DEBUG, "session %llu: write: %s", (unsigned long long)s->id,
		        strerror(errno));
		session_kill(io, s, CLOSE_PEER);
		return;
	}
	if (s->dead)
		return;
	if (s->epollout && epoll_set(io, s, EPOLL_CTL_MOD, false) == 0)
		s->epollout = false;
	unthrottle(io, s);
	/* Answers still owed (a put waiting for its group commit) are waited
	 * for; at shutdown the IO thread's flush deadline bounds the wait. */
	if (s->state == SS_DRAINING && s->inflight == 0)
		session_kill(io, s, s->why);
}
