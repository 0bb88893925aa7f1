/*
 * bench_raw.c - --raw connections: plain nonblocking sockets that send the
 * given bytes per request and count one \r\n-terminated line per answer.
 * Peers such as memcached and redis answer in order, so a FIFO of start
 * times matches answers to requests.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/bench_conn.h"

/* Raw mode: queue the bytes and remember the start time. */
int raw_submit(struct wstate *ws, struct bconn *bc, uint64_t start)
{
	if (bc->rdead || bc->rcount == (size_t)ws->o->pipeline)
		return -EAGAIN;
	if (bc->rout_cap - bc->rout_len < ws->o->raw_len) {
		if (bc->rout_off) {
			memmove(bc->rout, bc->rout + bc->rout_off, bc->rout_len - bc->rout_off);
			bc->rout_len -= bc->rout_off;
			bc->rout_off = 0;
		}
		if (bc->rout_cap - bc->rout_len < ws->o->raw_len) {
			size_t cap = bc->rout_cap ? bc->rout_cap * 2 : 4096;
			while (cap - bc->rout_len < ws->o->raw_len)
				cap *= 2;
			char *p = realloc(bc->rout, cap);
			if (!p)
				return -ENOMEM;
			bc->rout = p;
			bc->rout_cap = cap;
		}
	}
	memcpy(bc->rout + bc->rout_len, ws->o->raw, ws->o->raw_len);
	bc->rout_len += ws->o->raw_len;
	size_t slot = (bc->rhead + bc->rcount) % (size_t)ws->o->pipeline;
	bc->rstart[slot] = start;
	bc->rmeasured[slot] = start >= ws->run->warm_end;
	bc->rcount++;
	bc->inflight++;
	return 0;
}

void raw_fail(struct wstate *ws, struct bconn *bc)
{
	uint64_t now = bench_now_ns();
	while (bc->rcount) {
		bench_count(ws->w, bc->rmeasured[bc->rhead], OP_RAW, -ECONNRESET,
		            bc->rstart[bc->rhead], now);
		bc->rhead = (bc->rhead + 1) % (size_t)ws->o->pipeline;
		bc->rcount--;
	}
	bc->inflight = 0;
	bc->rdead = true;
	if (bc->rfd >= 0)
		close(bc->rfd);
	bc->rfd = -1;
	bc->fd_reg = -1;
}

void raw_flush(struct wstate *ws, struct bconn *bc)
{
	while (!bc->rdead && bc->rout_off < bc->rout_len) {
		ssize_t n = send(bc->rfd, bc->rout + bc->rout_off, bc->rout_len - bc->rout_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			bc->rout_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		raw_fail(ws, bc);
		return;
	}
	if (bc->rout_off == bc->rout_len)
		bc->rout_off = bc->rout_len = 0;
}

void raw_read(struct wstate *ws, struct bconn *bc)
{
	for (int round = 0; round < 16 && !bc->rdead; round++) {
		ssize_t n = recv(bc->rfd, bc->rin + bc->rin_len, RAW_READ_CHUNK - bc->rin_len,
		                 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			raw_fail(ws, bc);
			return;
		}
		bc->rin_len += (size_t)n;
		uint64_t now = bench_now_ns();
		size_t pos = 0;
		for (;;) {
			char *nl = memchr(bc->rin + pos, '\n', bc->rin_len - pos);
			if (!nl)
				break;
			size_t end = (size_t)(nl - bc->rin);
			bool crlf = end > pos && bc->rin[end - 1] == '\r';
			pos = end + 1;
			if (!crlf || bc->rcount == 0) {
				/* Not our framing, or an answer nobody asked for. */
				BUMP(&ws->w->meas.protocol_errors);
				continue;
			}
			bench_count(ws->w, bc->rmeasured[bc->rhead], OP_RAW, 200,
			            bc->rstart[bc->rhead], now);
			bc->rhead = (bc->rhead + 1) % (size_t)ws->o->pipeline;
			bc->rcount--;
			bc->inflight--;
		}
		memmove(bc->rin, bc->rin + pos, bc->rin_len - pos);
		bc->rin_len -= pos;
		if (bc->rin_len == RAW_READ_CHUNK) {
			/* A line longer than the buffer: not a line protocol. */
			BUMP(&ws->w->meas.protocol_errors);
			raw_fail(ws, bc);
			return;
		}
	}
}

int raw_connect(struct wstate *ws, struct bconn *bc)
{
	/* libpulsemq resolves and connects with a timeout; take its socket. */
	struct pulsemq_options po;
	pulsemq_options_init(&po);
	po.heartbeat_interval_ms = 0;
	po.reconnect = false;
	struct pulsemq_conn *pc;
	int rc = pulsemq_connect(&pc, ws->o->host, ws->o->port, &po, ws->w->connect_text,
	                         sizeof(ws->w->connect_text));
	if (rc < 0)
		return rc;
	bc->rfd = dup(pulsemq_fd(pc));
	pulsemq_close(pc);
	if (bc->rfd < 0)
		return -errno;
	bc->rin = malloc(RAW_READ_CHUNK);
	bc->rstart = calloc((size_t)ws->o->pipeline, sizeof(*bc->rstart));
	bc->rmeasured = calloc((size_t)ws->o->pipeline, sizeof(*bc->rmeasured));
	if (!bc->rin || !bc->rstart || !bc->rmeasured)
		return -ENOMEM;
	bc->rereg = true;
	return 0;
}
