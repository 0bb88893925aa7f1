/*
 * test_outq.c - the output queue: FIFO, writev gathering, partial writes,
 * and the priority lane (ahead of buffers not started, never splitting the
 * one being written, FIFO among priority buffers).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "server/runtime/outq.h"
#include "tests/tap.h"

static struct outbuf *mk(const char *s, bool prio)
{
	struct outbuf *b = outbuf_new(strlen(s));
	memcpy(b->data, s, strlen(s));
	b->prio = prio;
	return b;
}

/* The queue's unwritten bytes, in order. */
static void drain_to(struct outq *q, char *out, size_t cap)
{
	struct iovec iov[64];
	int n = outq_iov(q, iov, 64);
	size_t len = 0;
	for (int i = 0; i < n && len < cap - 1; i++) {
		size_t k = iov[i].iov_len < cap - 1 - len ? iov[i].iov_len : cap - 1 - len;
		memcpy(out + len, iov[i].iov_base, k);
		len += k;
	}
	out[len] = '\0';
}

int main(void)
{
	struct outq q = { 0 };
	char got[256];

	outq_push(&q, mk("A", false));
	outq_push(&q, mk("B", false));
	outq_push(&q, mk("C", false));
	drain_to(&q, got, sizeof(got));
	is_str(got, "ABC", "normal buffers keep FIFO order");
	is(q.bytes, 3, "bytes counted");

	outq_push(&q, mk("h", true));
	drain_to(&q, got, sizeof(got));
	is_str(got, "hABC", "a priority buffer goes ahead of buffers not started");
	outq_push(&q, mk("i", true));
	drain_to(&q, got, sizeof(got));
	is_str(got, "hiABC", "priority buffers keep FIFO order among themselves");

	outq_consume(&q, 2); /* h, i written */
	outq_clear(&q);
	is(q.bytes, 0, "clear empties");
	ok(outq_empty(&q), "empty after clear");

	outq_push(&q, mk("long-answer", false));
	outq_push(&q, mk("next", false));
	outq_consume(&q, 4); /* "long" written: started */
	outq_push(&q, mk("H", true));
	drain_to(&q, got, sizeof(got));
	is_str(got, "-answerHnext", "a started buffer is never split by a priority one");
	outq_push(&q, mk("I", true));
	drain_to(&q, got, sizeof(got));
	is_str(got, "-answerHInext", "... and the lane continues behind it");
	is(q.count, 4, "4 buffers queued");

	outq_consume(&q, 7 + 1); /* rest of long-answer and H */
	drain_to(&q, got, sizeof(got));
	is_str(got, "Inext", "consume frees finished buffers");
	outq_consume(&q, 1); /* I: the lane is now empty */
	outq_push(&q, mk("J", true));
	drain_to(&q, got, sizeof(got));
	is_str(got, "Jnext", "a new lane starts at the front when nothing is started");
	outq_consume(&q, 2); /* J and 'n' of next */
	outq_push(&q, mk("K", true));
	outq_push(&q, mk("tail", false));
	drain_to(&q, got, sizeof(got));
	is_str(got, "extKtail", "priority after a partly written normal buffer, normal at the end");
	is(q.bytes, 8, "bytes follow partial writes");

	/* Empty buffers (a result with no body still has a line, but be safe). */
	outq_clear(&q);
	outq_push(&q, mk("", false));
	outq_push(&q, mk("x", false));
	struct iovec iov[4];
	is(outq_iov(&q, iov, 4), 1, "empty buffers give no iovec");
	outq_consume(&q, 1);
	ok(outq_empty(&q) && q.count == 0, "and are freed with the rest");

	/* Gathering is bounded by max. */
	for (int i = 0; i < 10; i++)
		outq_push(&q, mk("0123456789", i % 3 == 0));
	is(outq_iov(&q, iov, 4), 4, "at most max iovecs");
	outq_consume(&q, 95);
	is(q.bytes, 5, "partial consumption over many buffers");
	is(q.count, 1, "one buffer left");
	outq_clear(&q);
	return done_testing();
}
