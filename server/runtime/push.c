/*
 * push.c - pushes, closes and the close hook for the broker (push.h,
 * runtime.h).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/runtime/push.h"
#include "server/runtime/session.h"

/* How long a poster retries a full IO mailbox, as answers do. */
#define PUSH_POST_BUDGET_MS 2000

struct close_msg {
	struct io_msg msg;      /* IOM_CLOSE */
	enum close_reason why;
};

/* Written at start-up only, before the IO threads exist. */
static struct {
	void (*fn)(struct handle h, void *ctx);
	void *ctx;
} close_hooks[RT_CLOSE_HOOKS_MAX];
static unsigned nclose_hooks;

int runtime_on_close(void (*fn)(struct handle h, void *ctx), void *ctx)
{
	if (!fn)
		return -EINVAL;
	if (nclose_hooks == RT_CLOSE_HOOKS_MAX)
		return -ENOSPC;
	close_hooks[nclose_hooks].fn = fn;
	close_hooks[nclose_hooks].ctx = ctx;
	nclose_hooks++;
	return 0;
}

void push_session_closed(const struct session *s)
{
	for (unsigned i = 0; i < nclose_hooks; i++)
		close_hooks[i].fn(s->h, close_hooks[i].ctx);
}

/* Posts m to h's IO thread while the runtime takes mail; false (m not
 * taken) when it is stopping or the mailbox stays full. */
static bool post(struct handle h, struct io_msg *m)
{
	bool ok = false;

	/* rt.io and rt.nio are read only while replies are open: the
	 * runtime's teardown closes them and waits for posters in progress
	 * before it frees the IO threads (a broker thread may push after). */
	atomic_fetch_add(&rt.replies_busy, 1);
	if (atomic_load(&rt.replies_open) && h.io < rt.nio)
		ok = io_post_wait(rt.io[h.io], m, PUSH_POST_BUDGET_MS);
	atomic_fetch_sub(&rt.replies_busy, 1);
	return ok;
}

bool runtime_push(struct handle h, const void *data, size_t len)
{
	struct outbuf *b = outbuf_new(len);

	if (!b)
		return false;
	memcpy(b->data, data, len);
	b->msg.type = IOM_PUSH;
	b->msg.h = h;
	if (post(h, &b->msg))
		return true;
	free(b);
	return false;
}

bool runtime_close(struct handle h, enum close_reason why)
{
	struct close_msg *c = calloc(1, sizeof(*c));

	if (!c)
		return false;
	c->msg.type = IOM_CLOSE;
	c->msg.h = h;
	c->why = why;
	if (post(h, &c->msg))
		return true;
	free(c);
	return false;
}

void push_on_mail(struct io_thread *io, struct io_msg *m)
{
	struct session *s = session_lookup(io, m->h);

	if (m->type == IOM_PUSH) {
		if (s && !s->dead)
			session_push(io, s, (struct outbuf *)m);
		else
			free(m);
		return;
	}
	if (s && !s->dead)
		session_drain(io, s, ((struct close_msg *)m)->why);
	free(m);
}
