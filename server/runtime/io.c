/*
 * io.c - one IO thread: an edge-triggered epoll loop over its share of the
 * listening socket (listen.h), its mailbox and its sessions.
 *
 * One turn of the loop:
 *   1. sleep in epoll_wait, announcing it to the mailbox first so posters
 *      write the eventfd only then (a busy thread is never woken by syscall);
 *   2. accept, read and decode for the sockets that reported;
 *   3. take the mailbox: answers from workers, idle checks from the timer,
 *      shutdown steps;
 *   4. go on with sessions whose read budget ran out (ready list);
 *   5. writev every session that gained output (dirty list), so answers
 *      that arrived together leave in one syscall;
 *   6. free the sessions killed during the turn.
 * Nothing here blocks: sockets are non-blocking, no lock is taken, and a
 * full timer mailbox is retried next turn instead of waited on.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "actors/clock.h"
#include "server/common/log.h"
#include "server/runtime/budget.h"
#include "server/runtime/dispatch.h"
#include "server/runtime/idle_policy.h"
#include "server/runtime/push.h"
#include "server/runtime/session.h"

#define IO_MAILBOX_CAPACITY 65536  /* answers + idle checks waiting; workers retry when full */
#define IO_EVENTS 256              /* epoll events per turn */
#define IO_MSG_BUDGET 16384        /* mailbox messages per turn: keeps sockets served */
#define IO_RETRY_MS 100            /* look again after EMFILE or a full timer mailbox */
#define IO_DRAIN_POLL_MS 20        /* shutdown: how often to look at the flush deadline */
#define SHUTDOWN_FLUSH_MS 2000     /* shutdown: time given to write what is owed */

#define PEER_NAME_MAX 64          /* "[v6 address]:port" */

#define TAG_LISTEN UINT64_MAX
#define TAG_MAILBOX (UINT64_MAX - 1)
#define TAG_ADMIN (UINT64_MAX - 2)

static void fd_reserve_open(void);

int io_create(struct io_thread **out, unsigned idx, int listen_fd)
{
	struct io_thread *io = calloc(1, sizeof(*io));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	int err;

	*out = NULL;
	if (!io)
		return -ENOMEM;
	io->idx = idx;
	io->lfd = listen_fd;
	io->afd = -1;
	io->free_head = UINT32_MAX;
	io->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (io->epfd < 0) {
		err = -errno;
		goto fail;
	}
	err = mailbox_create(&io->mb, IO_MAILBOX_CAPACITY);
	if (err)
		goto fail;
	ev.data.u64 = TAG_MAILBOX;
	if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, mailbox_fd(io->mb), &ev) != 0) {
		err = -errno;
		goto fail;
	}
	/* Every IO thread waits on the one listening socket (listen.h):
	 * EPOLLEXCLUSIVE wakes one sleeping thread per connection, not all. */
	ev.data.u64 = TAG_LISTEN;
	ev.events |= EPOLLEXCLUSIVE;
	if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		err = -errno;
		goto fail;
	}
	io->wake.type = IOM_WAKE;
	for (int op = 0; op < IOC_COUNT; op++) {
		io->ctrl[op].msg.type = IOM_CTRL;
		io->ctrl[op].op = (enum io_ctrl_op)op;
	}
	probe_init(&io->probe);
	fd_reserve_open();
	*out = io;
	return 0;
fail:
	io->lfd = -1; /* the caller still owns it */
	io_destroy(io);
	return err;
}

int io_add_admin(struct io_thread *io, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = TAG_ADMIN };

	if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -errno;
	io->afd = fd;
	return 0;
}

struct stats_block *io_stats(struct io_thread *io)
{
	return &io->stats;
}

unsigned io_sessions(const struct io_thread *io)
{
	return atomic_load_explicit(&((struct io_thread *)io)->nsessions_pub,
	                            memory_order_relaxed);
}

struct probe *io_probe(struct io_thread *io)
{
	return &io->probe;
}

void io_cmd_latency(const struct io_thread *io, enum pmq_cmd cmd, struct hist *into)
{
	if ((unsigned)cmd < PMQ_CMD_COUNT)
		hist_add(into, &io->cmd_latency[cmd]);
}

/* A worker's answer arrived: it ends its request's latency (one clock read
 * per mailbox round, *now 0 until read). */
static void time_answer(struct io_thread *io, const struct outbuf *b, uint64_t *now)
{
	if (b->timed_cmd == 0 || b->timed_cmd >= PMQ_CMD_COUNT)
		return;
	if (*now == 0)
		*now = clock_now_ns();
	hist_record_owned(&io->cmd_latency[b->timed_cmd],
	                  *now > b->since_ns ? (*now - b->since_ns) / 1000u : 0);
}

unsigned io_mailbox_depth(const struct io_thread *io)
{
	return mailbox_depth(io->mb);
}

bool io_post_wait(struct io_thread *io, struct io_msg *m, unsigned budget_ms)
{
	uint64_t deadline;
	long delay_ns = 20000;

	if (mailbox_post(io->mb, m))
		return true;
	deadline = clock_now_ms() + budget_ms;
	for (;;) {
		struct timespec ts = { 0, delay_ns };
		nanosleep(&ts, NULL);
		if (mailbox_post(io->mb, m))
			return true;
		if (clock_now_ms() >= deadline)
			return false;
		if (delay_ns < 1000000)
			delay_ns *= 2;
	}
}

void io_jam_replies(struct io_thread *io, int32_t ms)
{
	atomic_store(&io->jam_until_ms, clock_now_ms() + (uint64_t)(ms > 0 ? ms : 0));
}

static bool io_jammed(struct io_thread *io)
{
	uint64_t until = atomic_load_explicit(&io->jam_until_ms, memory_order_relaxed);

	return until != 0 && clock_now_ms() < until; /* no clock read unless ever jammed */
}

void io_post_reply(struct io_thread *io, struct outbuf *b, unsigned budget_ms)
{
	if (!io_jammed(io) && io_post_wait(io, &b->msg, budget_ms))
		return;
	if (!io_jammed(io))
		pmq_log(PMQ_LOG_WARN, "IO thread %u mailbox full for %u ms: an answer waits on "
		        "its overflow list", io->idx, budget_ms);
	struct outbuf *head = atomic_load(&io->overflow);
	do
		b->next = head;
	while (!atomic_compare_exchange_weak(&io->overflow, &head, b));
	/* Wake the thread if it sleeps. When this fails the mailbox is full:
	 * the thread cannot sleep before it takes those messages, and it
	 * takes the overflow list after them in the same turn. The message
	 * is never written to: being queued twice is harmless. */
	mailbox_post(io->mb, &io->wake);
}

void io_post_ctrl(struct io_thread *io, enum io_ctrl_op op)
{
	/* The messages are static: waiting is the only option, and the IO
	 * thread always drains. */
	while (!io_post_wait(io, &io->ctrl[op].msg, 1000))
		pmq_log(PMQ_LOG_WARN, "IO thread %u mailbox full: still waiting", io->idx);
}

/* Writes one unsolicited `result 503 L 0` and closes: a fresh socket's
 * buffer takes these few bytes; if not, the peer still sees the close. */
static void refuse(int fd, const char *why)
{
	char buf[128];
	size_t n = pmq_encode_result(buf, sizeof(buf), 503, why, strlen(why), 0);
	ssize_t w = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)w;
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void reject(struct io_thread *io, int fd)
{
	refuse(fd, "too many connections");
	stats_inc(&io->stats, ST_REJECTED_CONNECTIONS);
}

/*
 * Out of file descriptors (EMFILE, ENFILE): the connection would wait in
 * the backlog unanswered, and edge-triggered epoll would not say again.
 * One descriptor is kept in reserve (/dev/null, opened at start): closed,
 * it makes room to accept the connection, answer 503 and close it, then it
 * is opened again. One log line when an episode starts, one with the count
 * when a connection is accepted again. Shared by every IO thread: whoever
 * takes the reserve (an atomic exchange) uses it.
 */
static _Atomic int fd_reserve = -1;
static atomic_bool fd_short;          /* an episode is on */
static _Atomic uint64_t fd_refused;   /* connections answered 503 in it */
static _Atomic uint64_t fd_short_since_ms;

static void fd_reserve_open(void)
{
	if (atomic_load(&fd_reserve) >= 0)
		return;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		int none = -1;
		if (!atomic_compare_exchange_strong(&fd_reserve, &none, fd))
			close(fd); /* another thread put one back first */
	}
}

static void fd_reserve_close(void)
{
	int fd = atomic_exchange(&fd_reserve, -1);
	if (fd >= 0)
		close(fd);
}

static void fd_short_begin(struct io_thread *io, int err)
{
	if (atomic_exchange(&fd_short, true))
		return;
	atomic_store(&fd_short_since_ms, io->now_ms);
	pmq_log(PMQ_LOG_WARN, "accept: %s: answering new connections 503 \"server out of "
	        "file descriptors\" until descriptors free up (raise the open files limit, "
	        "ulimit -n, or lower max_connections)", strerror(err));
}

static void fd_short_end(struct io_thread *io)
{
	if (!atomic_load_explicit(&fd_short, memory_order_relaxed) ||
	    !atomic_exchange(&fd_short, false))
		return;
	pmq_log(PMQ_LOG_WARN, "accept: file descriptors available again after %llu ms: "
	        "%llu connections were answered 503 meanwhile",
	        (unsigned long long)(io->now_ms - atomic_load(&fd_short_since_ms)),
	        (unsigned long long)atomic_exchange(&fd_refused, 0));
	fd_reserve_open(); /* if a refusal could not take it back */
}

enum refusal { REFUSED, NONE_WAITING, NO_RESERVE };

/* accept() says EMFILE before it looks at the backlog: only accepting with
 * the reserve's slot tells whether a connection was waiting at all. */
static enum refusal fd_short_refuse(struct io_thread *io, int err)
{
	static const char why[] = "server out of file descriptors, retry later";
	int r = atomic_exchange(&fd_reserve, -1);

	if (r < 0) {
		fd_reserve_open(); /* lost to a race earlier: try to win it back */
		r = atomic_exchange(&fd_reserve, -1);
	}
	if (r < 0) {
		fd_short_begin(io, err); /* connections may wait unanswered */
		return NO_RESERVE;
	}
	close(r);
	int fd = accept4(io->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		bool none = errno == EAGAIN || errno == EWOULDBLOCK;
		fd_reserve_open();
		return none ? NONE_WAITING : NO_RESERVE;
	}
	fd_short_begin(io, err);
	refuse(fd, why);
	fd_reserve_open(); /* into the slot the refused one just gave back */
	atomic_fetch_add(&fd_refused, 1);
	stats_inc(&io->stats, ST_REJECTED_CONNECTIONS);
	stats_inc(&io->stats, ST_REJECTED_FDS);
	return REFUSED;
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	}
	snprintf(out, cap, "%s:%u", host, port);
}

/* A connection accepted by one IO thread, posted to the one whose turn it
 * is: EPOLLEXCLUSIVE wakes whichever thread sleeps first (often the same),
 * so accepting alone would pile the sessions on one thread. */
struct io_adopt {
	struct io_msg msg;
	int fd;
	char peer[PEER_NAME_MAX];
};

static atomic_uint io_next_turn;

static void open_session(struct io_thread *io, int fd, const char *peer)
{
	int rc = session_open(io, fd, peer, false);

	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "IO thread %u: cannot open a session for %s: %s",
		        io->idx, peer, strerror(-rc));
		close(fd);
		atomic_fetch_sub(&rt.curr_connections, 1);
	}
}

static void hand_out(struct io_thread *io, int fd, const char *peer)
{
	unsigned to = rt.nio > 1 ? atomic_fetch_add(&io_next_turn, 1) % rt.nio : io->idx;
	struct io_adopt *a;

	if (to != io->idx && (a = malloc(sizeof(*a)))) {
		a->msg.type = IOM_ADOPT;
		a->fd = fd;
		snprintf(a->peer, sizeof(a->peer), "%s", peer);
		if (io_post(rt.io[to], &a->msg))
			return;
		free(a); /* its mailbox is full: keep it here */
	}
	open_session(io, fd, peer);
}

static void on_adopt(struct io_thread *io, struct io_adopt *a)
{
	if (io->draining) { /* closing its sessions: as if never accepted */
		close(a->fd);
		atomic_fetch_sub(&rt.curr_connections, 1);
	} else {
		open_session(io, a->fd, a->peer);
	}
	free(a);
}

static void do_accept(struct io_thread *io)
{
	io->accept_retry = false;
	while (io->lfd >= 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int one = 1;
		char peer[PEER_NAME_MAX];
		int fd = accept4(io->lfd, (struct sockaddr *)&ss, &sl,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int err = errno;
			if (err == EINTR || err == ECONNABORTED)
				continue;
			if (err == EAGAIN || err == EWOULDBLOCK)
				return; /* another IO thread may have taken it: fine */
			if (err == EMFILE || err == ENFILE) {
				enum refusal r = fd_short_refuse(io, err);
				if (r == REFUSED)
					continue;
				if (r == NONE_WAITING)
					return; /* the next connection brings an edge */
			} else {
				pmq_log(PMQ_LOG_WARN, "IO thread %u: accept: %s", io->idx,
				        strerror(err));
			}
			/* ENOBUFS, ENOMEM, or no reserve: the connection waits
			 * in the backlog; edge-triggered epoll will not tell
			 * again, so look again shortly. */
			io->accept_retry = true;
			return;
		}
		fd_short_end(io);
		unsigned cur = atomic_fetch_add(&rt.curr_connections, 1);
		if (cur >= (unsigned)rt.cfg->max_connections) {
			atomic_fetch_sub(&rt.curr_connections, 1);
			reject(io, fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		peer_name(&ss, peer, sizeof(peer));
		hand_out(io, fd, peer);
	}
}

/* Admin connections: few, from the operator, so never refused for
 * max_connections (an operator must reach a full broker) and kept on this
 * thread. Counted in curr_connections like any session, which gives it
 * back when it closes. */
static void do_accept_admin(struct io_thread *io)
{
	while (io->afd >= 0) {
		int fd = accept4(io->afd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				pmq_log(PMQ_LOG_WARN, "admin_socket: accept: %s", strerror(errno));
			return;
		}
		atomic_fetch_add(&rt.curr_connections, 1);
		int rc = session_open(io, fd, "admin_socket", true);
		if (rc != 0) {
			pmq_log(PMQ_LOG_ERROR, "cannot open an admin session: %s", strerror(-rc));
			close(fd);
			atomic_fetch_sub(&rt.curr_connections, 1);
		}
	}
}

static void close_listener(struct io_thread *io)
{
	if (io->afd >= 0) {
		epoll_ctl(io->epfd, EPOLL_CTL_DEL, io->afd, NULL);
		close(io->afd);
		io->afd = -1;
	}
	if (io->lfd < 0)
		return;
	epoll_ctl(io->epfd, EPOLL_CTL_DEL, io->lfd, NULL);
	close(io->lfd);
	io->lfd = -1;
	io->accept_retry = false;
}

static void post_timer_backlog(struct io_thread *io)
{
	while (io->timer_backlog) {
		struct idle_timer *t = io->timer_backlog;
		io->timer_backlog = t->next;
		if (!timer_post(rt.timer, t)) {
			t->next = io->timer_backlog;
			io->timer_backlog = t;
			return;
		}
	}
}

/* The timer is ours from here until we post it again. A session never
 * points at its timer, so a session's close cannot free or touch a timer
 * that travels; a timer finds out its session is gone only here. */
static void on_idle_check(struct io_thread *io, struct idle_timer *t)
{
	struct session *s = session_lookup(io, t->msg.h);
	uint64_t next = 0;

	if (s && !s->dead && !io->draining)
		next = idle_policy_check(io, s, io->now_ms);
	if (next != 0 && !s->dead)
		next = budget_frame_check(io, s, io->now_ms, next);
	if (next == 0 || s->dead) {
		free(t); /* its session closed, is closing or was just killed */
		return;
	}
	t->deadline_ms = next;
	t->next = NULL;
	if (io->timer_backlog || !timer_post(rt.timer, t)) {
		t->next = io->timer_backlog;
		io->timer_backlog = t;
	}
}

static void start_drain(struct io_thread *io)
{
	io->draining = true;
	io->drain_deadline_ms = io->now_ms + SHUTDOWN_FLUSH_MS;
	close_listener(io);
	for (uint32_t i = 0; i < io->nslots; i++) {
		struct session *s = io->slots[i].s;
		if (!s || s->dead)
			continue;
		/* Requests whose bytes arrived before the stop are answered,
		 * not dropped with the unread input. */
		session_read_last(io, s);
		session_drain(io, s, CLOSE_SHUTDOWN);
		session_mark_dirty(io, s); /* also those draining already */
	}
}

static void take_reply(struct io_thread *io, struct outbuf *b, uint64_t *now)
{
	struct session *s = session_lookup(io, b->msg.h);

	time_answer(io, b, now);
	if (s && !s->dead)
		session_on_reply(io, s, b);
	else
		free(b); /* the session closed: its answers go with it */
}

/* The answers that found the mailbox full, oldest first. */
static void take_overflow(struct io_thread *io, uint64_t *now)
{
	struct outbuf *b = atomic_exchange(&io->overflow, NULL), *fifo = NULL;

	while (b) {
		struct outbuf *next = b->next;
		b->next = fifo;
		fifo = b;
		b = next;
	}
	while (fifo) {
		struct outbuf *next = fifo->next;
		fifo->next = NULL;
		take_reply(io, fifo, now);
		fifo = next;
	}
}

static void take_mail(struct io_thread *io)
{
	uint64_t now = 0;
	unsigned n;

	for (n = 0; n < IO_MSG_BUDGET; n++) {
		struct io_msg *m = mailbox_take(io->mb);
		if (!m)
			break;
		switch (m->type) {
		case IOM_REPLY:
			take_reply(io, (struct outbuf *)m, &now);
			break;
		case IOM_WAKE: /* for the overflow list, taken below */
			break;
		case IOM_IDLE_CHECK:
			on_idle_check(io, (struct idle_timer *)m);
			break;
		case IOM_CTRL: {
			struct io_ctrl *c = (struct io_ctrl *)m;
			if (c->op == IOC_STOP_ACCEPT)
				close_listener(io);
			else if (c->op == IOC_DRAIN)
				start_drain(io);
			break;
		}
		case IOM_PING:
			probe_took_ping(&io->probe);
			break;
		case IOM_ADOPT:
			on_adopt(io, (struct io_adopt *)m);
			break;
		case IOM_STALL: /* the timer's only */
			break;
		case IOM_PUSH:
		case IOM_CLOSE:
			push_on_mail(io, m);
			break;
		}
	}
	/* After the mailbox, every turn, also when its budget ran out: a
	 * poster that found it full relies on that (io_post_reply). */
	take_overflow(io, &now);
	if (n > 0)
		probe_took_mail(&io->probe);
	/* Budget spent: more may wait, and no eventfd write will come for
	 * them (we never announced sleep). The loop polls without sleeping. */
}

/* Wakes the pools this thread submitted to since the last call (lane
 * submits do not wake; pool.h). Called after each stretch of decoding and
 * before sleeping, so a task never waits for a wake past this turn. */
static void wake_pools(struct io_thread *io)
{
	unsigned todo = io->pools_to_wake;

	io->pools_to_wake = 0;
	for (int p = 0; todo; p++, todo >>= 1)
		if (todo & 1u)
			pool_wake(rt.pools[p]);
}

/* Runs the sessions queued in *v, on a snapshot: fn may queue again. */
static void run_list(struct io_thread *io, struct hvec *v, bool ready)
{
	struct hvec snap = *v;

	*v = (struct hvec){ 0 };
	for (size_t i = 0; i < snap.len; i++) {
		struct session *s = session_lookup(io, snap.v[i]);
		if (!s || s->dead)
			continue;
		if (ready) {
			s->on_ready = false;
			session_decode(io, s);
			session_read(io, s);
		} else {
			s->on_dirty = false;
			session_flush(io, s);
		}
	}
	/* Keep the bigger array for next time. */
	if (v->cap < snap.cap) {
		struct hvec keep = snap;
		keep.len = 0;
		for (size_t i = 0; i < v->len; i++)
			keep.v[keep.len++] = v->v[i];
		free(v->v);
		*v = keep;
	} else {
		free(snap.v);
	}
}

static bool drain_finished(struct io_thread *io)
{
	if (io->nsessions == 0)
		return true;
	if (io->now_ms < io->drain_deadline_ms)
		return false;
	pmq_log(PMQ_LOG_WARN, "IO thread %u: %u sessions still owed output after %d ms: "
	        "closing them", io->idx, io->nsessions, SHUTDOWN_FLUSH_MS);
	for (uint32_t i = 0; i < io->nslots; i++)
		if (io->slots[i].s)
			session_kill(io, io->slots[i].s, CLOSE_SHUTDOWN);
	session_reap(io);
	return true;
}

static void *io_main(void *arg)
{
	struct io_thread *io = arg;
	struct epoll_event evs[IO_EVENTS];

	io->now_ms = clock_now_ms();
	for (;;) {
		int timeout = -1, n;

		post_timer_backlog(io);
		wake_pools(io); /* a no-op unless something decoded after the last */
		if (io->ready.len || mailbox_depth(io->mb) || atomic_load(&io->overflow))
			timeout = 0;
		else if (io->draining)
			timeout = IO_DRAIN_POLL_MS;
		else if (io->timer_backlog || io->accept_retry)
			timeout = IO_RETRY_MS;

		if (timeout != 0 && mailbox_prepare_sleep(io->mb)) {
			n = epoll_wait(io->epfd, evs, IO_EVENTS, timeout);
			/* The eventfd is edge-triggered: it is read below
			 * only when it fired, not after every socket wake. */
			mailbox_awake(io->mb);
		} else {
			n = epoll_wait(io->epfd, evs, IO_EVENTS, 0);
		}
		io->now_ms = clock_now_ms();
		if (n < 0 && errno != EINTR)
			pmq_log(PMQ_LOG_ERROR, "IO thread %u: epoll_wait: %s", io->idx,
			        strerror(errno));

		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_MAILBOX) {
				mailbox_drain_fd(io->mb);
				continue; /* taken below, every turn */
			}
			if (tag == TAG_LISTEN) {
				do_accept(io);
				continue;
			}
			if (tag == TAG_ADMIN) {
				do_accept_admin(io);
				continue;
			}
			struct handle h = { .io = (uint16_t)io->idx,
			                        .slot = (uint32_t)tag,
			                        .gen = (uint32_t)(tag >> 32) };
			struct session *s = session_lookup(io, h);
			if (s)
				session_on_event(io, s, evs[i].events);
		}
		if (io->accept_retry && n == 0)
			do_accept(io);
		wake_pools(io);
		take_mail(io);
		run_list(io, &io->ready, true);
		wake_pools(io);
		run_list(io, &io->dirty, false);
		session_reap(io);
		if (io->draining && drain_finished(io))
			break;
	}
	return NULL;
}

int io_start(struct io_thread *io)
{
	char name[16];
	int rc = pthread_create(&io->tid, NULL, io_main, io);

	if (rc != 0)
		return -rc;
	io->started = true;
	snprintf(name, sizeof(name), "pmq-io-%u", io->idx);
	pthread_setname_np(io->tid, name);
	return 0;
}

void io_join(struct io_thread *io)
{
	if (io && io->started) {
		pthread_join(io->tid, NULL);
		io->started = false;
	}
}

static void free_msg(struct io_msg *m)
{
	if (m->type == IOM_ADOPT)
		close(((struct io_adopt *)m)->fd);
	if (m->type != IOM_CTRL && m->type != IOM_PING && m->type != IOM_WAKE)
		free(m); /* outbuf and idle_timer both start with their io_msg */
}

void io_destroy(struct io_thread *io)
{
	if (!io)
		return;
	for (uint32_t i = 0; i < io->nslots; i++) {
		struct session *s = io->slots[i].s;
		if (s) { /* only when start-up failed half way */
			close(s->fd);
			outq_clear(&s->out);
			budget_input_resize(s->in_cap, 0);
			free(s->in);
			free(s);
		}
	}
	free(io->slots);
	while (io->timer_backlog) {
		struct idle_timer *t = io->timer_backlog;
		io->timer_backlog = t->next;
		free(t);
	}
	for (struct outbuf *b = atomic_load(&io->overflow), *next; b; b = next) {
		next = b->next;
		free(b);
	}
	if (io->mb) {
		struct io_msg *m;
		while ((m = mailbox_take(io->mb)))
			free_msg(m);
		mailbox_destroy(io->mb);
	}
	if (io->lfd >= 0)
		close(io->lfd);
	if (io->afd >= 0)
		close(io->afd);
	if (io->idx == 0)
		fd_reserve_close(); /* every IO thread has stopped (teardown) */
	if (io->epfd >= 0)
		close(io->epfd);
	free(io->ready.v);
	free(io->dirty.v);
	free(io->reap.v);
	free(io);
}

bool io_post(struct io_thread *io, struct io_msg *m)
{
	return mailbox_post(io->mb, m);
}
