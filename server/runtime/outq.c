/*
 * outq.c - a session's output queue (outq.h).
 *
 * The front lane is the buffer being written (if any) followed by the
 * priority buffers queued since; lane_end points at its last priority
 * member, so a new priority buffer goes right after it in O(1).
 */
#include <config.h>

#include <stdlib.h>

#include "server/runtime/outq.h"

struct outbuf *outbuf_new(size_t len)
{
	struct outbuf *b = malloc(sizeof(*b) + len);

	if (!b)
		return NULL;
	b->msg.type = IOM_REPLY;
	b->next = NULL;
	b->len = len;
	b->off = 0;
	b->prio = false;
	b->reserved = 0;
	b->timed_cmd = 0;
	return b;
}

static void push_after(struct outq *q, struct outbuf *at, struct outbuf *b)
{
	if (!at) {
		b->next = q->head;
		q->head = b;
		if (!q->tail)
			q->tail = b;
		return;
	}
	b->next = at->next;
	at->next = b;
	if (q->tail == at)
		q->tail = b;
}

void outq_push(struct outq *q, struct outbuf *b)
{
	q->bytes += b->len - b->off;
	q->count++;
	b->next = NULL;
	if (!b->prio) {
		push_after(q, q->tail, b);
		return;
	}
	if (q->lane_end)
		push_after(q, q->lane_end, b);
	else if (q->head && q->head->off > 0)
		push_after(q, q->head, b); /* never split a started buffer */
	else
		push_after(q, NULL, b);
	q->lane_end = b;
}

int outq_iov(const struct outq *q, struct iovec *iov, int max)
{
	int n = 0;

	for (struct outbuf *b = q->head; b && n < max; b = b->next) {
		if (b->len == b->off)
			continue;
		iov[n].iov_base = b->data + b->off;
		iov[n].iov_len = b->len - b->off;
		n++;
	}
	return n;
}

void outq_consume(struct outq *q, size_t n)
{
	q->bytes -= n;
	while (q->head) {
		struct outbuf *b = q->head;
		size_t left = b->len - b->off;

		if (n < left) {
			b->off += n;
			return;
		}
		n -= left;
		q->head = b->next;
		if (!q->head)
			q->tail = NULL;
		if (q->lane_end == b)
			q->lane_end = NULL;
		q->count--;
		free(b);
		if (n == 0 && q->head && q->head->len != q->head->off)
			return;
	}
}

void outq_clear(struct outq *q)
{
	struct outbuf *b = q->head;

	while (b) {
		struct outbuf *next = b->next;
		free(b);
		b = next;
	}
	q->head = q->tail = q->lane_end = NULL;
	q->bytes = 0;
	q->count = 0;
}
