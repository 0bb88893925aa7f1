/*
 * mailbox.c - an MPSC ck_ring of pointers plus an eventfd that is written
 * only when the owner has said it is about to sleep.
 *
 * The wake-up protocol is a Dekker pair (see doc/runtime-primitives.md):
 *   poster: publish in the ring; full fence; if sleeping, exchange it to 0
 *           and, if we were the one to clear it, write the eventfd.
 *   owner:  sleeping = 1; full fence; if the ring is not empty, do not sleep.
 * Each side stores, fences, then loads the other's variable, so at least one
 * of them sees the other's store: either the owner sees the message and
 * stays awake, or the poster sees the flag and writes the eventfd.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <ck_pr.h>
#include <ck_ring.h>

#include "actors/mailbox.h"
#include "actors/ring.h"
#include "actors/tsan.h"

/* ck_ring's own limit: the size is an unsigned power of two. */
#define MAILBOX_MAX_CAPACITY (1u << 30)

struct mailbox {
	struct ck_ring ring;        /* first: ck pads it to cache lines */
	struct ck_ring_buffer *buf;
	int efd;
	/* 1 while the owner is (about to be) in epoll_wait. Own cache line:
	 * every poster reads it. */
	char pad[64];
	unsigned sleeping;
};

int mailbox_create(struct mailbox **out, unsigned capacity)
{
	struct mailbox *mb = NULL;
	unsigned size = 2;
	int err;

	*out = NULL;
	if (capacity == 0 || capacity >= MAILBOX_MAX_CAPACITY)
		return -EINVAL;
	/* A ck ring of size N holds N - 1 entries. */
	while (size - 1 < capacity)
		size <<= 1;

	mb = calloc(1, sizeof(*mb));
	if (!mb)
		return -ENOMEM;
	mb->efd = -1;
	mb->buf = calloc(size, sizeof(*mb->buf));
	if (!mb->buf) {
		err = -ENOMEM;
		goto fail;
	}
	mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->efd < 0) {
		err = -errno;
		goto fail;
	}
	ck_ring_init(&mb->ring, size);
	*out = mb;
	return 0;
fail:
	mailbox_destroy(mb);
	return err;
}

void mailbox_destroy(struct mailbox *mb)
{
	if (!mb)
		return;
	if (mb->efd >= 0)
		close(mb->efd);
	free(mb->buf);
	free(mb);
}

int mailbox_fd(const struct mailbox *mb)
{
	return mb->efd;
}

bool mailbox_post(struct mailbox *mb, void *msg)
{
	if (!msg)
		return false; /* NULL is what take() says when empty */

	PMQ_TSAN_RELEASE(msg);
	if (!ring_enqueue_mp(&mb->ring, mb->buf, msg))
		return false;

	/* Our store to the ring must be visible before we read the flag. */
	ck_pr_fence_memory();
	if (ck_pr_load_uint(&mb->sleeping) &&
	    ck_pr_fas_uint(&mb->sleeping, 0) == 1) {
		uint64_t one = 1;
		/* Only EAGAIN (counter at its maximum) can fail here, and
		 * then the fd is readable anyway. */
		ssize_t r = write(mb->efd, &one, sizeof(one));
		(void)r;
	}
	return true;
}

void *mailbox_take(struct mailbox *mb)
{
	void *msg;

	if (!ck_ring_dequeue_mpsc(&mb->ring, mb->buf, &msg))
		return NULL;
	PMQ_TSAN_ACQUIRE(msg);
	return msg;
}

bool mailbox_prepare_sleep(struct mailbox *mb)
{
	ck_pr_store_uint(&mb->sleeping, 1);
	/* The flag must be visible before we look at the ring. */
	ck_pr_fence_memory();
	if (ck_ring_size(&mb->ring) == 0)
		return true;
	/* Messages already wait: withdraw the announcement. A poster may
	 * have cleared it first and will write the eventfd; that only costs
	 * one spurious wake, drained by mailbox_woke(). */
	ck_pr_fas_uint(&mb->sleeping, 0);
	return false;
}

void mailbox_awake(struct mailbox *mb)
{
	ck_pr_store_uint(&mb->sleeping, 0);
}

void mailbox_drain_fd(struct mailbox *mb)
{
	uint64_t v;
	/* Non-blocking: EAGAIN when nobody wrote. */
	ssize_t r = read(mb->efd, &v, sizeof(v));

	(void)r;
}

void mailbox_woke(struct mailbox *mb)
{
	mailbox_awake(mb);
	mailbox_drain_fd(mb);
}

unsigned mailbox_depth(const struct mailbox *mb)
{
	return ck_ring_size(&mb->ring);
}
