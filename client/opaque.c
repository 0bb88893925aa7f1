/*
 * opaque.c - a connection's pending requests, found by opaque.
 *
 * A power-of-two table indexed by opaque & mask. Opaques count up from
 * INT32_MIN (as MetaQ's client does); an opaque whose slot is taken is
 * skipped, so live opaques are always distinct modulo the table size and a
 * lookup is one probe. The table doubles at half load. Every request gets
 * the same timeout, so submission order is deadline order: a FIFO of
 * opaques is checked from its head, completed entries popped lazily.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "client/conn_priv.h"

struct slot *slot_find(struct pulsemq_conn *c, int32_t opaque)
{
	struct slot *s = &c->slots[(uint32_t)opaque & (c->nslots - 1)];
	return s->used && s->opaque == opaque ? s : NULL;
}

static int slots_grow(struct pulsemq_conn *c)
{
	uint32_t n = c->nslots * 2;
	struct slot *ns = calloc(n, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->nslots; i++)
		if (c->slots[i].used)
			ns[(uint32_t)c->slots[i].opaque & (n - 1)] = c->slots[i];
	free(c->slots);
	c->slots = ns;
	c->nslots = n;
	return 0;
}

static int fifo_push(struct pulsemq_conn *c, int32_t opaque)
{
	if (c->fifo_len == c->fifo_cap) {
		size_t n = c->fifo_cap ? c->fifo_cap * 2 : CONN_FIFO_MIN;
		int32_t *nf = malloc(n * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		for (size_t i = 0; i < c->fifo_len; i++)
			nf[i] = c->fifo[(c->fifo_head + i) & (c->fifo_cap - 1)];
		free(c->fifo);
		c->fifo = nf;
		c->fifo_cap = n;
		c->fifo_head = 0;
	}
	c->fifo[(c->fifo_head + c->fifo_len) & (c->fifo_cap - 1)] = opaque;
	c->fifo_len++;
	return 0;
}

int slot_reserve(struct pulsemq_conn *c, pulsemq_callback *cb, void *arg,
                        bool heartbeat, int32_t *opaque)
{
	if (c->state != CS_CONNECTED || c->deferred_err)
		return -ENOTCONN;
	if ((c->npending + 1) * 2 > c->nslots && slots_grow(c) < 0)
		return -ENOMEM;
	struct slot *s;
	int32_t op;
	for (;;) {
		op = (int32_t)c->next_opaque++;
		/* INT32_MAX is what `version`/`stats` without an opaque use. */
		if (op == INT32_MAX)
			continue;
		s = &c->slots[(uint32_t)op & (c->nslots - 1)];
		if (!s->used)
			break;
	}
	uint64_t deadline = 0;
	if (c->opt.request_timeout_ms > 0) {
		if (fifo_push(c, op) < 0)
			return -ENOMEM;
		deadline = conn_now_ns() + (uint64_t)c->opt.request_timeout_ms * NS_PER_MS;
	}
	*s = (struct slot){ .cb = cb, .arg = arg, .deadline = deadline,
	                    .opaque = op, .used = true, .heartbeat = heartbeat };
	c->npending++;
	if (!heartbeat)
		c->st.requests++;
	*opaque = op;
	return 0;
}

int conn_reserve(struct pulsemq_conn *c, pulsemq_callback *cb, void *arg, int32_t *opaque)
{
	return slot_reserve(c, cb, arg, false, opaque);
}

void conn_unreserve(struct pulsemq_conn *c, int32_t opaque)
{
	struct slot *s = slot_find(c, opaque);
	if (s) {
		if (!s->heartbeat)
			c->st.requests--;
		s->used = false;
		c->npending--;
	}
}

/* Frees the slot first (the callback may submit), then calls back. */
void slot_complete(struct pulsemq_conn *c, struct slot *s, int status,
                          bool value, const char *body, size_t len)
{
	struct slot copy = *s;
	s->used = false;
	c->npending--;
	if (copy.heartbeat) {
		if (status > 0)
			c->st.heartbeats_answered++;
		if (copy.cb) { /* a registration heartbeat: the library's own */
			struct pulsemq_response r = { .status = status, .opaque = copy.opaque,
			                              .body = body, .len = len };
			c->dispatching++;
			copy.cb(c, &r, copy.arg);
			c->dispatching--;
		}
		return;
	}
	if (status == -ETIMEDOUT)
		c->st.timeouts++;
	c->delivered++;
	if (!copy.cb)
		return;
	struct pulsemq_response r = { .status = status, .value = value,
	                              .opaque = copy.opaque, .body = body, .len = len };
	c->dispatching++;
	copy.cb(c, &r, copy.arg);
	c->dispatching--;
}

void conn_expire(struct pulsemq_conn *c, uint64_t now)
{
	while (c->fifo_len > 0 && c->state == CS_CONNECTED) {
		int32_t op = c->fifo[c->fifo_head];
		struct slot *s = slot_find(c, op);
		if (s && s->deadline > now)
			break;
		c->fifo_head = (c->fifo_head + 1) & (c->fifo_cap - 1);
		c->fifo_len--;
		if (s)
			slot_complete(c, s, -ETIMEDOUT, false, NULL, 0);
	}
	if (c->deferred_err && c->state == CS_CONNECTED)
		conn_fail(c, c->deferred_err);
}

/*
 * MPush-style liveness. The read check comes first and counts silence only
 * while something is owed to us (our heartbeat included): an idle, healthy
 * connection is never charged a miss. A silent peer is closed after
 * about (max_read_timeouts + 1) intervals.
 */
