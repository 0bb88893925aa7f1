/*
 * msgid.c - the message id generator (msgid.h).
 */
#include <config.h>

#include <time.h>

#include "store/msgid.h"

#define SEQ_MASK ((1LL << MSGID_SEQ_BITS) - 1)

void msgid_init(struct msgid_gen *g, int broker_id)
{
	pthread_mutex_init(&g->lock, NULL);
	g->broker_id = broker_id & ((1 << MSGID_BROKER_BITS) - 1);
	g->last_ms = 0;
	g->seq = SEQ_MASK;
}

void msgid_destroy(struct msgid_gen *g)
{
	pthread_mutex_destroy(&g->lock);
}

void msgid_seed(struct msgid_gen *g, int64_t id)
{
	pthread_mutex_lock(&g->lock);
	int64_t ms = id >> (MSGID_SEQ_BITS + MSGID_BROKER_BITS);
	/* Whatever broker wrote it, continue after its millisecond. */
	if (ms >= g->last_ms) {
		g->last_ms = ms;
		g->seq = SEQ_MASK;
	}
	pthread_mutex_unlock(&g->lock);
}

int64_t msgid_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t msgid_next(struct msgid_gen *g, int64_t now_ms)
{
	int64_t ms = now_ms - MSGID_EPOCH_MS, id;
	pthread_mutex_lock(&g->lock);
	if (ms > g->last_ms) {
		g->last_ms = ms;
		g->seq = 0;
	} else if (g->seq < SEQ_MASK) {
		g->seq++; /* same (or earlier: clock stepped back) millisecond */
	} else {
		g->last_ms++; /* 4096 ids in one ms: borrow the next */
		g->seq = 0;
	}
	id = g->last_ms << (MSGID_SEQ_BITS + MSGID_BROKER_BITS) |
	     g->broker_id << MSGID_SEQ_BITS | g->seq;
	pthread_mutex_unlock(&g->lock);
	return id;
}
