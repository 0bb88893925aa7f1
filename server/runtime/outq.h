/*
 * outq.h - a session's output queue, with a priority lane.
 *
 * Promises:
 *  - Buffers leave in queue order; the bytes of one buffer are never
 *    interleaved with another's.
 *  - A priority buffer (heartbeat-pool responses, broker heartbeats) goes
 *    ahead of every buffer not yet started, behind the buffer being written
 *    and behind earlier priority buffers. Normal buffers keep FIFO order.
 *  - Pure: no sockets, no threads. The owner gathers iovecs, writes them
 *    with writev and reports how many bytes left.
 */
#ifndef PMQ_OUTQ_H
#define PMQ_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "server/runtime/iomsg.h"

struct outbuf {
	struct io_msg msg;      /* header when it travels as a reply */
	struct outbuf *next;
	size_t len;             /* bytes in data */
	size_t off;             /* bytes already written */
	bool prio;              /* priority lane */
	size_t reserved;        /* output its request had reserved (session.h) */
	unsigned timed_cmd;     /* enum pmq_cmd whose latency this answer ends, or 0 */
	uint64_t since_ns;      /* when that request was queued (timed_cmd only) */
	char data[];
};

struct outq {
	struct outbuf *head, *tail;
	struct outbuf *lane_end; /* last buffer of the front lane, or NULL */
	size_t bytes;            /* unwritten bytes */
	unsigned count;
};

/* malloc'd, len bytes of data; NULL on ENOMEM. */
struct outbuf *outbuf_new(size_t len);

void outq_push(struct outq *q, struct outbuf *b);
/* Fills at most max iovecs from the head; returns how many. */
int outq_iov(const struct outq *q, struct iovec *iov, int max);
/* n bytes left the socket: advance, freeing finished buffers. */
void outq_consume(struct outq *q, size_t n);
/* Frees everything. */
void outq_clear(struct outq *q);

static inline bool outq_empty(const struct outq *q)
{
	return q->head == NULL;
}

#endif
