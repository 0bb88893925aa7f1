/*
 * wire.c - a connection's bytes: the output buffer and writing it, reading
 * and decoding answers (pmq_decode_response), our heartbeat request and the
 * answer to the broker's own heartbeat.
 *
 * Completion callbacks run from conn_dispatch(); their body views point
 * into the input buffer, which is not touched until they return. A failure
 * a callback causes (a flush that finds the socket dead) is deferred to the
 * end of the dispatch loop by conn_fail().
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client/conn_priv.h"

char *conn_out_space(struct pulsemq_conn *c, size_t n)
{
	if (c->out_cap - c->out_len >= n)
		return c->out + c->out_len;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_cap - c->out_len >= n)
			return c->out + c->out_len;
	}
	size_t cap = c->out_cap ? c->out_cap : CONN_OUT_MIN;
	while (cap - c->out_len < n)
		cap *= 2;
	char *p = realloc(c->out, cap);
	if (!p)
		return NULL;
	c->out = p;
	c->out_cap = cap;
	return c->out + c->out_len;
}

size_t conn_out_room(const struct pulsemq_conn *c)
{
	return c->out_cap - c->out_len;
}

void conn_out_commit(struct pulsemq_conn *c, size_t n)
{
	c->out_len += n;
}

bool conn_in_callback(const struct pulsemq_conn *c)
{
	return c->dispatching > 0;
}

const struct pulsemq_options *conn_options(const struct pulsemq_conn *c)
{
	return &c->opt;
}

void conn_no_reconnect(struct pulsemq_conn *c)
{
	c->no_reconnect = true;
}

int pulsemq_flush(struct pulsemq_conn *c)
{
	if (c->state != CS_CONNECTED)
		return c->out_len > c->out_off ? -ENOTCONN : 0;
	if (c->deferred_err)
		return c->deferred_err;
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			c->last_write = conn_now_ns();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		int err = n < 0 ? -errno : -ECONNRESET;
		conn_fail(c, err);
		return err;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return 0;
}

int conn_send_heartbeat(struct pulsemq_conn *c)
{
	int32_t op;
	int rc = slot_reserve(c, NULL, NULL, true, &op);
	if (rc < 0)
		return rc;
	struct pmq_msg m = { .cmd = PMQ_CMD_VERSION, .opaque = op };
	char *p = conn_out_space(c, 64);
	size_t n = p ? pmq_encode(p, 64, &m) : 0;
	if (!p || n == 0 || n > 64) {
		conn_unreserve(c, op);
		return -ENOMEM;
	}
	conn_out_commit(c, n);
	c->st.heartbeats_sent++;
	return pulsemq_flush(c);
}

/* The broker's own heartbeat: `version OPAQUE` -> `result 200 0 OPAQUE`. */
static void conn_answer_broker(struct pulsemq_conn *c, int32_t opaque)
{
	char *p = conn_out_space(c, 64);
	if (!p)
		return;
	size_t n = pmq_encode_result(p, 64, 200, NULL, 0, opaque);
	if (n > 0 && n <= 64)
		conn_out_commit(c, n);
	c->st.broker_heartbeats++;
}

static void conn_dispatch(struct pulsemq_conn *c)
{
	size_t pos = 0;
	while (pos < c->in_len && c->state == CS_CONNECTED && !c->deferred_err) {
		struct pmq_msg m;
		struct pmq_decode_error e;
		size_t used = 0;
		enum pmq_decode_status ds = pmq_decode_response(&c->lim, c->in + pos,
		                                                c->in_len - pos, &m, &used, &e);
		if (ds == PMQ_DECODE_NEED_MORE)
			break;
		if (ds == PMQ_DECODE_ERROR) {
			c->st.protocol_errors++;
			/* Only a bad line alone is stepped over: a broker
			 * whose answers need skipping is not one to trust. */
			if (e.action != PMQ_ERR_RESYNC || e.skip > 0) {
				conn_fail(c, -EPROTO);
				return;
			}
			pos += used;
			continue;
		}
		pos += used;
		struct slot *s;
		switch (m.cmd) {
		case PMQ_CMD_VERSION:
			conn_answer_broker(c, m.opaque);
			break;
		case PMQ_CMD_NOTIFY:
			conn_reg_notify(c, &m);
			break;
		case PMQ_CMD_RESULT:
		case PMQ_CMD_VALUE:
			s = slot_find(c, m.opaque);
			if (!s) {
				c->st.late_responses++;
				break;
			}
			c->st.responses++;
			slot_complete(c, s, m.cmd == PMQ_CMD_VALUE ? 200 : m.code,
			              m.cmd == PMQ_CMD_VALUE, m.body.ptr, m.body.len);
			break;
		default:
			c->st.protocol_errors++;
			break;
		}
	}
	if (c->state != CS_CONNECTED)
		return; /* the buffers were dropped */
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	if (c->deferred_err)
		conn_fail(c, c->deferred_err);
}

/* Room for the next recv(): compacted by dispatch, grown for big bodies. */
static int conn_in_room(struct pulsemq_conn *c)
{
	if (c->in_cap - c->in_len >= CONN_READ_CHUNK / 4)
		return 0;
	size_t limit = c->lim.max_body_bytes + c->lim.max_line_bytes + CONN_READ_CHUNK;
	if (c->in_cap >= limit)
		return -EMSGSIZE;
	size_t cap = c->in_cap ? c->in_cap * 2 : CONN_READ_CHUNK;
	if (cap > limit)
		cap = limit;
	char *p = realloc(c->in, cap);
	if (!p)
		return -ENOMEM;
	c->in = p;
	c->in_cap = cap;
	return 0;
}

void conn_read(struct pulsemq_conn *c)
{
	for (int round = 0; round < CONN_READ_ROUNDS && c->state == CS_CONNECTED; round++) {
		int rc = conn_in_room(c);
		if (rc < 0) {
			c->st.protocol_errors++;
			conn_fail(c, rc);
			return;
		}
		size_t room = c->in_cap - c->in_len;
		ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			c->last_read = conn_now_ns();
			c->read_timeouts = 0;
			conn_dispatch(c);
			if ((size_t)n < room)
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_fail(c, n == 0 ? -ECONNRESET : -errno);
		return;
	}
}
