/*
 * bench_worker.c - one bench thread: its connections, one epoll set,
 * nonblocking sockets, its own statistics.
 *
 * pulsemq connections go through libpulsemq's pipelined API (opaques,
 * heartbeats and reconnects included); --raw connections are in
 * bench_raw.c.
 *
 * Closed loop: each connection keeps -P requests in flight, latency from
 * the moment a request is queued. Open loop (--rate): each connection has
 * a schedule of intended start times; a request that cannot go out yet (-P
 * reached, connection down) stays due, and its latency still counts from
 * its scheduled time, so a stalled server is not hidden by the client
 * slowing down (coordinated omission).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/bench_conn.h"

#define LOOP_MAX_WAIT_MS 100   /* how often a worker looks at the stop flag */

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct bench_stats *stats_for(struct bench_worker *w, bool measured)
{
	return measured ? &w->meas : &w->warm;
}

void bench_count(struct bench_worker *w, bool measured, int op, int status,
                  uint64_t start, uint64_t now)
{
	struct bench_stats *s = stats_for(w, measured);
	struct op_stats *os = &s->op[op];
	if (status > 0) {
		if (status < BENCH_CODES)
			BUMP(&os->codes[status]);
		else
			BUMP(&os->other_codes);
		bench_hist_record(&os->lat, now > start ? now - start : 0);
	} else if (status == -ETIMEDOUT) {
		BUMP(&os->timeouts);
	} else {
		BUMP(&os->lost);
	}
	BUMP(&os->completed);
	if (measured && now > LOAD(&s->last_ns))
		STORE(&s->last_ns, now);
}

static void ack_add(struct bench_worker *w, uint32_t producer, int32_t partition, uint64_t seq)
{
	if (w->nacks == w->acks_cap) {
		size_t n = w->acks_cap ? w->acks_cap * 2 : 1024;
		struct bench_ack *a = realloc(w->acks, n * sizeof(*a));
		if (!a)
			return; /* verify will report these as unacked */
		w->acks = a;
		w->acks_cap = n;
	}
	w->acks[w->nacks++] = (struct bench_ack){ producer, partition, seq };
}

/* A get answer: move this partition's cursor past the whole messages, or
 * to where a 301 points, or back to the start at the end (404). */
static void get_advance(struct bconn *bc, const struct pulsemq_response *r, int part)
{
	int64_t *cur = &bc->cursor[part];
	if (r->status == 200 && r->value) {
		struct pulsemq_msgset set = { .data = (char *)r->body, .len = r->len, .offset = *cur };
		struct pulsemq_message m;
		size_t pos = 0;
		int rc;
		while ((rc = pulsemq_msgset_next(&set, &pos, &m)) != 0 && rc != -EPROTO)
			;
		*cur += (int64_t)pos;
	} else if (r->status == 301) {
		*cur = strtoll(r->body ? r->body : "0", NULL, 10);
	} else if (r->status == 404) {
		*cur = 0;
	}
}

static void on_response(struct pulsemq_conn *c, const struct pulsemq_response *r, void *arg)
{
	(void)c;
	struct breq *q = arg;
	struct bconn *bc = q->bc;
	struct bench_worker *w = bc->w;
	uint64_t now = bench_now_ns();
	bench_count(w, q->measured, q->op, r->status, q->start, now);
	if (q->op == OP_PUT && r->status == 200 && w->o->verify) {
		int64_t msgid, off;
		int32_t part;
		if (r->body && sscanf(r->body, "%" SCNd64 " %" SCNd32 " %" SCNd64, &msgid, &part, &off) == 3)
			ack_add(w, bc->gid, part, q->seq);
	}
	if (q->op == OP_GET)
		get_advance(bc, r, q->partition);
	q->next_free = bc->free_reqs;
	bc->free_reqs = q;
	bc->inflight--;
}

static void on_event(struct pulsemq_conn *c, const struct pulsemq_event *ev, void *arg)
{
	(void)c;
	struct bconn *bc = arg;
	/* Any of these may mean a new socket, possibly with the old number:
	 * register it afresh. A closed socket has left the epoll set. */
	bc->rereg = true;
	if (ev->type == PULSEMQ_EV_DISCONNECTED || ev->type == PULSEMQ_EV_RECONNECT_SCHEDULED)
		bc->fd_reg = -1;
	if (ev->type == PULSEMQ_EV_CONNECTED && ev->attempt > 0)
		bc->w->reconnects++;
}

static int pick_op(struct wstate *ws, struct bconn *bc)
{
	unsigned pos = (unsigned)(bc->mixpos++ % ws->mix_total);
	for (int op = 0; op < 3; op++) {
		if (pos < ws->o->mix[op])
			return op;
		pos -= ws->o->mix[op];
	}
	return OP_VERSION;
}

/* Submits one request on a pulsemq connection: 0 or -errno. */
static int submit_one(struct wstate *ws, struct bconn *bc, uint64_t start)
{
	struct breq *q = bc->free_reqs;
	if (!q)
		return -EAGAIN;
	uint64_t mixpos = bc->mixpos;
	int op = pick_op(ws, bc);
	int part = bc->fixed_part >= 0 ? bc->fixed_part :
	           (int)(bc->rr_part % (uint32_t)ws->o->partitions);
	int rc;
	uint64_t seq = 0;
	switch (op) {
	case OP_PUT:
		seq = ws->run->producer_seq[bc->gid];
		if (ws->o->msg_size)
			bench_payload_fill(bc->payload, ws->o->msg_size, ws->run->run_id, bc->gid, seq,
			                   start);
		rc = pulsemq_submit_put(bc->pc, ws->o->topic, part, bc->payload, ws->o->msg_size,
		                        0, on_response, q);
		break;
	case OP_GET:
		rc = pulsemq_submit_get(bc->pc, ws->o->topic, ws->o->group, part,
		                        bc->cursor[part], ws->get_max, on_response, q);
		break;
	default:
		rc = pulsemq_submit_version(bc->pc, on_response, q);
		break;
	}
	if (rc < 0) {
		bc->mixpos = mixpos; /* the same command next time */
		return rc;
	}
	if (op == OP_PUT)
		ws->run->producer_seq[bc->gid] = seq + 1;
	if (op != OP_VERSION)
		bc->rr_part++;
	bc->free_reqs = q->next_free;
	*q = (struct breq){ .bc = bc, .start = start, .op = op, .partition = part,
	                    .measured = start >= ws->run->warm_end, .seq = seq };
	bc->inflight++;
	return 0;
}

static int conn_setup(struct wstate *ws, struct bconn *bc, uint32_t gid)
{
	const struct bench_opts *o = ws->o;
	bc->w = ws->w;
	bc->gid = gid;
	bc->rfd = -1;
	bc->fd_reg = -1;
	bc->rr_part = gid;
	bc->fixed_part = -1;
	bc->cursor = calloc((size_t)o->partitions, sizeof(*bc->cursor));
	bc->payload = malloc(o->msg_size ? o->msg_size : 1);
	bc->reqs = calloc((size_t)o->pipeline, sizeof(*bc->reqs));
	if (!bc->cursor || !bc->payload || !bc->reqs)
		return -ENOMEM;
	for (int i = 0; i < o->pipeline; i++) {
		bc->reqs[i].next_free = bc->free_reqs;
		bc->free_reqs = &bc->reqs[i];
	}
	if (o->raw)
		return raw_connect(ws, bc);
	pulsemq_options_init(&bc->popt);
	bc->popt.request_timeout_ms = o->timeout_ms;
	bc->popt.heartbeat_interval_ms = o->heartbeat_ms;
	bc->popt.on_event = on_event;
	bc->popt.event_arg = bc;
	bc->popt.backoff_min_ms = 50;
	bc->popt.backoff_max_ms = 1000;
	const char *host = o->host;
	int port = o->port;
	if (o->nroutes) { /* -z */
		const struct pulsemq_route *r = &o->routes[gid % o->nroutes];
		host = r->host;
		port = r->port;
		bc->fixed_part = r->partition;
	}
	int rc = pulsemq_connect(&bc->pc, host, port, &bc->popt, ws->w->connect_text,
	                         sizeof(ws->w->connect_text));
	bc->rereg = true;
	return rc;
}

static void conn_teardown(struct bconn *bc)
{
	if (bc->pc) {
		struct pulsemq_conn_stats st;
		pulsemq_get_stats(bc->pc, &st);
		bc->w->heartbeats += st.heartbeats_sent;
		bc->w->conn_protocol_errors += st.protocol_errors;
		pulsemq_close(bc->pc);
	}
	if (bc->rfd >= 0)
		close(bc->rfd);
	free(bc->rin);
	free(bc->rout);
	free(bc->rstart);
	free(bc->rmeasured);
	free(bc->cursor);
	free(bc->payload);
	free(bc->reqs);
}

static void rearm(struct wstate *ws, struct bconn *bc)
{
	int fd;
	unsigned ev;
	if (bc->pc) {
		fd = pulsemq_fd(bc->pc);
		ev = pulsemq_events(bc->pc);
	} else {
		fd = bc->rdead ? -1 : bc->rfd;
		ev = EPOLLIN | (bc->rout_len > bc->rout_off ? EPOLLOUT : 0);
	}
	if (fd < 0) {
		bc->fd_reg = -1;
		return;
	}
	if (!bc->rereg && fd == bc->fd_reg && ev == bc->ev_reg)
		return;
	struct epoll_event e = { .events = ev, .data.ptr = bc };
	int op = bc->fd_reg == fd && !bc->rereg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(ws->ep, op, fd, &e) < 0) {
		op = errno == EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
		if (epoll_ctl(ws->ep, op, fd, &e) < 0)
			return; /* retried next round */
	}
	bc->fd_reg = fd;
	bc->ev_reg = ev;
	bc->rereg = false;
}

/* Sends what is due on bc. */
static void refill(struct wstate *ws, struct bconn *bc, uint64_t now, bool issuing)
{
	while (issuing && bc->budget > 0 && bc->inflight < ws->o->pipeline) {
		uint64_t start = now;
		if (ws->o->rate > 0) {
			if (bc->next_due > now)
				break;
			start = bc->next_due;
		}
		int rc = bc->pc ? submit_one(ws, bc, start) : raw_submit(ws, bc, start);
		if (rc < 0)
			break;
		ws->progress_ns = now;
		if (ws->o->rate > 0)
			bc->next_due += bc->interval;
		if (bc->budget != UINT64_MAX)
			bc->budget--;
	}
	if (bc->pc)
		(void)pulsemq_flush(bc->pc);
	else
		raw_flush(ws, bc);
}

static int wait_ms(struct wstate *ws, uint64_t now, bool issuing)
{
	int64_t best = LOOP_MAX_WAIT_MS;
	for (int i = 0; i < ws->nconns; i++) {
		struct bconn *bc = &ws->conns[i];
		if (bc->pc) {
			int t = pulsemq_timeout(bc->pc);
			if (t >= 0 && t < best)
				best = t;
		}
		if (issuing && ws->o->rate > 0 && bc->budget > 0 && bc->inflight < ws->o->pipeline) {
			int64_t t = bc->next_due > now ? (int64_t)((bc->next_due - now) / 1000000) : 0;
			if (t < best)
				best = t;
		}
	}
	if (ws->run->t_end && issuing) {
		int64_t t = ws->run->t_end > now ? (int64_t)((ws->run->t_end - now) / 1000000) + 1 : 0;
		if (t < best)
			best = t;
	}
	return (int)best;
}

static void loop(struct wstate *ws)
{
	const struct bench_opts *o = ws->o;
	struct epoll_event evs[64];
	uint64_t drain_deadline = 0;
	/* -n has no end time: give up issuing when nothing moved for this
	 * long (the target is gone and does not come back). */
	uint64_t stall_ns = ((uint64_t)o->timeout_ms + 5000) * 1000000ull;
	ws->progress_ns = bench_now_ns();
	for (;;) {
		uint64_t now = bench_now_ns();
		bool stop = __atomic_load_n(&ws->run->stop, __ATOMIC_ACQUIRE) != 0;
		bool issuing = !stop && (ws->run->t_end == 0 || now < ws->run->t_end);
		int inflight = 0;
		bool budget_left = false;
		for (int i = 0; i < ws->nconns; i++) {
			inflight += ws->conns[i].inflight;
			if (ws->conns[i].budget > 0 && !ws->conns[i].rdead)
				budget_left = true;
		}
		if (!budget_left)
			issuing = false;
		if (issuing && now - ws->progress_ns > stall_ns) {
			fprintf(stderr, "pulsemq-bench: thread %d: no progress for %d ms, giving up\n",
			        ws->w->id, o->timeout_ms + 5000);
			ws->w->stalled = true;
			__atomic_store_n(&ws->run->stop, 1, __ATOMIC_RELEASE);
			issuing = false;
		}
		if (!issuing) {
			if (inflight == 0)
				break;
			if (!drain_deadline)
				drain_deadline = now + ((uint64_t)o->timeout_ms + 1000) * 1000000ull;
			else if (now >= drain_deadline || stop)
				break;
		}
		int n = epoll_wait(ws->ep, evs, 64, wait_ms(ws, now, issuing));
		for (int i = 0; i < n; i++) {
			struct bconn *bc = evs[i].data.ptr;
			bc->revents |= evs[i].events;
		}
		now = bench_now_ns();
		for (int i = 0; i < ws->nconns; i++) {
			struct bconn *bc = &ws->conns[i];
			unsigned rev = bc->revents;
			bc->revents = 0;
			int before = bc->inflight;
			if (bc->pc) {
				(void)pulsemq_process(bc->pc, rev);
			} else if (!bc->rdead) {
				if (rev & (EPOLLIN | EPOLLERR | EPOLLHUP))
					raw_read(ws, bc);
			}
			if (bc->inflight < before)
				ws->progress_ns = now;
			refill(ws, bc, now, issuing);
			rearm(ws, bc);
		}
	}
}

void *bench_worker_main(void *arg)
{
	struct bench_worker *w = arg;
	const struct bench_opts *o = w->o;
	struct bench_run *run = w->run;
	struct wstate ws = { .w = w, .o = o, .run = run, .ep = -1 };
	bench_hist_init(&w->warm.op[0].lat);
	for (int op = 0; op < OP_COUNT; op++) {
		bench_hist_init(&w->warm.op[op].lat);
		bench_hist_init(&w->meas.op[op].lat);
	}
	ws.mix_total = o->mix[0] + o->mix[1] + o->mix[2];
	int64_t gm = (int64_t)o->msg_size * 2 + 2 * PULSEMQ_MSG_HEADER;
	ws.get_max = gm < 65536 ? 65536 : gm > INT32_MAX ? INT32_MAX : (int32_t)gm;
	for (int g = w->id; g < o->conns; g += o->threads)
		ws.nconns++;
	ws.conns = calloc((size_t)ws.nconns, sizeof(*ws.conns));
	ws.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!ws.conns || ws.ep < 0) {
		w->connect_error = -ENOMEM;
		snprintf(w->connect_text, sizeof(w->connect_text), "out of memory");
	}
	int k = 0;
	for (int g = w->id; ws.conns && g < o->conns && !w->connect_error; g += o->threads, k++) {
		int rc = conn_setup(&ws, &ws.conns[k], (uint32_t)g);
		if (rc < 0)
			w->connect_error = rc;
	}

	pthread_barrier_wait(&run->connected);
	pthread_barrier_wait(&run->go);
	if (!run->abort) {
		for (int i = 0; i < ws.nconns; i++) {
			struct bconn *bc = &ws.conns[i];
			int g = (int)bc->gid;
			bc->budget = UINT64_MAX;
			if (o->total)
				bc->budget = o->total / (uint64_t)o->conns +
				             ((uint64_t)g < o->total % (uint64_t)o->conns ? 1 : 0);
			if (o->rate > 0) {
				bc->interval = (uint64_t)(1e9 * o->conns / o->rate);
				if (!bc->interval)
					bc->interval = 1;
				/* Stagger the connections over one interval. */
				bc->next_due = run->t0 + bc->interval * (uint64_t)g / (uint64_t)o->conns;
			}
		}
		loop(&ws);
	}
	/* Whatever is still in flight now is lost (counted by the close). */
	for (int i = 0; i < ws.nconns; i++) {
		struct bconn *bc = &ws.conns[i];
		if (!bc->pc && bc->rcount)
			raw_fail(&ws, bc);
		conn_teardown(bc);
	}
	if (ws.ep >= 0)
		close(ws.ep);
	free(ws.conns);
	__atomic_add_fetch(&run->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}
