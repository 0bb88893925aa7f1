/*
 * tx_timer.c - time and connections: the broker's own timer wheel for
 * transaction timeouts, the close hook that rolls back a closed
 * connection's local transactions, and the tick that drives both (tx.h).
 *
 * The tick runs on a put worker every TX_TICK_MS (runtime_every): it
 * advances the wheel, which fires only the timeouts due (never a scan of
 * the table), and takes the connections closed since the last tick. The
 * close hook itself runs on an IO thread and must not block, so it only
 * pushes the handle on a lock-free stack.
 *
 * A closed connection is remembered for a while (its requests still
 * queued in the put pool run after the close): a BEGIN from it is refused
 * instead of opening a transaction nobody can finish.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "actors/clock.h"
#include "server/common/log.h"
#include "server/runtime/runtime.h"
#include "server/broker/tx.h"

/* How long past request_timeout_ms a closed connection is remembered: a
 * request queued before the close runs within request_timeout_ms. */
#define TX_CLOSED_MARGIN_MS 2000

struct closed {
	struct closed *next;     /* the stack, then the bucket chain */
	struct handle h;
	struct wheel_entry expiry;
};

static _Atomic(struct closed *) closed_stack;
static struct closed *closed_set[TX_BUCKETS];
/* Transactions the wheel rolled back during an advance, freed after it. */
static struct tx *victims;

static size_t handle_bucket(struct handle h)
{
	uint64_t x = ((uint64_t)h.io << 48) ^ ((uint64_t)h.slot << 20) ^ h.gen;
	return (size_t)((x * 11400714819323198485ULL) >> 40) % TX_BUCKETS;
}

static void on_timeout(struct wheel_entry *e, void *arg)
{
	struct tx *t = arg;
	(void)e;
	if (t->state != TX_START && t->state != TX_IN_USE)
		return; /* prepared or finishing: never timed out */
	tx_unlink(t);
	t->next = victims;
	victims = t;
	atomic_fetch_add(&tx_g.timed_out, 1);
	atomic_fetch_add(&tx_g.rolled_back, 1);
}

void tx_timer_arm(struct tx *t, int32_t seconds)
{
	int64_t s = seconds;
	if (s > tx_g.cfg->max_tx_timeout_s)
		s = tx_g.cfg->max_tx_timeout_s;
	t->timer.fire = on_timeout;
	t->timer.arg = t;
	wheel_schedule(tx_g.wheel, &t->timer, clock_now_ms() + (uint64_t)s * 1000);
}

void tx_timer_cancel(struct tx *t)
{
	if (t->timer.queued)
		wheel_cancel(tx_g.wheel, &t->timer);
}

static void on_forget_closed(struct wheel_entry *e, void *arg)
{
	struct closed *c = arg;
	(void)e;
	for (struct closed **pp = &closed_set[handle_bucket(c->h)]; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	free(c);
}

bool tx_conn_closed(struct handle h)
{
	for (struct closed *c = closed_set[handle_bucket(h)]; c; c = c->next)
		if (handle_equal(c->h, h))
			return true;
	return false;
}

static void on_close(struct handle h, void *ctx)
{
	(void)ctx;
	struct closed *c = calloc(1, sizeof *c);
	if (!c) {
		/* its transactions then wait for their timeout or a restart */
		return;
	}
	c->h = h;
	c->next = atomic_load(&closed_stack);
	while (!atomic_compare_exchange_weak(&closed_stack, &c->next, c))
		;
}

/* Lock held: rolls back h's local transactions (all in one bucket). */
static void close_one(struct closed *c, uint64_t now)
{
	struct tx **pp = tx_local_bucket(c->h);
	while (*pp) {
		struct tx *x = *pp;
		if (!handle_equal(x->owner, c->h) || x->state == TX_BUSY) {
			pp = &x->next;
			continue;
		}
		tx_unlink(x);
		x->next = victims;
		victims = x;
		atomic_fetch_add(&tx_g.closed_rollbacks, 1);
		atomic_fetch_add(&tx_g.rolled_back, 1);
	}
	c->next = closed_set[handle_bucket(c->h)];
	closed_set[handle_bucket(c->h)] = c;
	c->expiry.fire = on_forget_closed;
	c->expiry.arg = c;
	wheel_schedule(tx_g.wheel, &c->expiry,
	               now + (uint64_t)tx_g.cfg->request_timeout_ms + TX_CLOSED_MARGIN_MS);
}

static void tick(void *ctx)
{
	(void)ctx;
	uint64_t now = clock_now_ms();
	struct closed *c = atomic_exchange(&closed_stack, NULL);

	pthread_mutex_lock(&tx_g.lock);
	wheel_advance(tx_g.wheel, now);
	while (c) {
		struct closed *n = c->next;
		close_one(c, now);
		c = n;
	}
	struct tx *v = victims;
	victims = NULL;
	pthread_mutex_unlock(&tx_g.lock);
	while (v) {
		struct tx *n = v->next;
		pmq_log(PMQ_LOG_DEBUG, "transaction %s rolled back (timeout or closed connection)",
		        v->key);
		tx_free(v);
		v = n;
	}
	tx_log_maybe_compact();
}

int tx_timer_start(void)
{
	int rc = wheel_create(&tx_g.wheel, TX_WHEEL_SLOTS, TX_TICK_MS, clock_now_ms());
	if (rc == 0)
		rc = runtime_every(TX_TICK_MS, RT_POOL_PUT, tick, NULL);
	if (rc == 0)
		rc = runtime_on_close(on_close, NULL);
	return rc;
}

void tx_timer_stop(void)
{
	/* The wheel first: destroying it touches the entries still queued,
	 * the closed connections' and the transactions' (tx_stop frees those
	 * after this). */
	if (tx_g.wheel)
		wheel_destroy(tx_g.wheel);
	tx_g.wheel = NULL;
	for (struct closed *c = atomic_exchange(&closed_stack, NULL), *n; c; c = n) {
		n = c->next;
		free(c);
	}
	for (size_t i = 0; i < TX_BUCKETS; i++) {
		for (struct closed *c = closed_set[i], *n; c; c = n) {
			n = c->next;
			free(c);
		}
		closed_set[i] = NULL;
	}
}
