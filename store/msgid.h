/*
 * msgid.h - MetaQ message ids:
 *   ((ms - MSGID_EPOCH_MS) << 22) | (broker_id << 12) | seq
 * strictly increasing per broker, also across restarts (seeded with the
 * largest id recovered) and when the clock steps back (the generator keeps
 * its own time and borrows from the next millisecond when 4096 ids are
 * used up in one).
 */
#ifndef PMQ_STORE_MSGID_H
#define PMQ_STORE_MSGID_H

#include <pthread.h>
#include <stdint.h>

/* MetaQ's (and Twitter snowflake's) epoch: 2010-11-04T01:42:54.657Z. */
#define MSGID_EPOCH_MS 1288834974657LL
#define MSGID_SEQ_BITS 12
#define MSGID_BROKER_BITS 10

struct msgid_gen {
	pthread_mutex_t lock;
	int64_t broker_id;
	int64_t last_ms;  /* ms since the epoch of the last id */
	int64_t seq;      /* of the last id */
};

void msgid_init(struct msgid_gen *g, int broker_id);
void msgid_destroy(struct msgid_gen *g);
/* Never gives an id <= id again. */
void msgid_seed(struct msgid_gen *g, int64_t id);
/* now_ms: wall clock in ms since 1970 (a parameter so tests can move it). */
int64_t msgid_next(struct msgid_gen *g, int64_t now_ms);
int64_t msgid_now_ms(void);

#endif
