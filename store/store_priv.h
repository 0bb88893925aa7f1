/*
 * store_priv.h - the store's insides, shared by store.c, partition.c and
 * recover.c only.
 *
 * Locks, in the order they may be taken:
 *   store.map_lock (rwlock: topics and partitions, never their contents)
 *   -> partition.flush_lock (one flusher per partition)
 *   -> partition.lock (the append lock: segment list, sizes, ends)
 *   -> store.ids.lock (message ids)
 * No syscall that may wait on the disk for long (fsync, pread of a reader)
 * runs under partition.lock; pwrite of an append and the fsync at a segment
 * roll do, because they are the append.
 */
#ifndef PMQ_STORE_PRIV_H
#define PMQ_STORE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/msgid.h"
#include "store/store.h"

/* Space is reserved this far ahead of the write position (and at least one
 * record): one fallocate per this many bytes appended. */
#define STORE_RESERVE_CHUNK (1 << 20)
/* "<20 digits>.meta" */
#define STORE_SEGMENT_NAME_LEN 25

struct store_segment {
	int64_t start;
	int64_t size;       /* bytes of records (partition.lock) */
	int64_t reserved;   /* the file is zero-filled up to here (>= size) */
	int fd;
	int refs;           /* the list holds one; readers and flushers one each */
	char name[STORE_SEGMENT_NAME_LEN + 1];
};

struct store_partition {
	struct store *st;
	char *topic;
	int32_t id;
	char *dir;              /* data_dir/<topic>-<id> */
	int64_t segment_bytes;

	pthread_mutex_t flush_lock;
	pthread_mutex_t lock;
	struct store_segment **segs; /* by start; never empty */
	size_t nsegs, capsegs;
	int64_t written_end;    /* end of the last appended record */
	int64_t flushed_end;    /* readable end: durable up to here */
	uint64_t unflushed;     /* messages appended since the last flush began */
	uint64_t appended;      /* messages appended since the store opened */
	int64_t last_append_ms; /* wall clock of the latest of those, 0 if none */
	int failed;             /* -errno of a failed fsync: appends refused */
};

struct store_topic {
	char *name;
	struct store_partition **parts; /* by id; NULL where absent */
	int32_t nparts;
	atomic_uint rr;
	struct store_topic *next;       /* hash chain */
};

#define STORE_TOPIC_BUCKETS 256

struct store {
	char *data_dir;
	int lock_fd;
	int broker_id;
	int64_t segment_bytes;
	int64_t (*topic_segment_bytes)(void *ctx, const char *topic);
	void *topic_ctx;
	void (*notice)(void *ctx, const char *msg);
	void *notice_ctx;
	struct store_io io;
	struct msgid_gen ids;

	pthread_rwlock_t map_lock;
	struct store_topic *buckets[STORE_TOPIC_BUCKETS];

	atomic_uint_fast64_t appends, append_bytes, append_errors, fsyncs, fsync_errors,
		reads, read_bytes, truncated_bytes, segments_deleted, npartitions;
};

/* segment helpers (partition.c) */
void segment_name(char out[STORE_SEGMENT_NAME_LEN + 1], int64_t start);
struct store_segment *segment_new(int64_t start, int fd);
void segment_unref(struct store_segment *s);
/* Creates <dir>/<start>.meta (O_EXCL) and makes its name durable. */
int segment_create(struct store *st, const char *dir, int64_t start,
                   struct store_segment **out, char *err, size_t errlen);
int partition_push_segment(struct store_partition *p, struct store_segment *s);

struct store_partition *partition_new(struct store *st, const char *topic, int32_t id);
void partition_free(struct store_partition *p);

/* recover.c: loads p->dir's segments, checks they line up, scans and
 * truncates the last one; creates segment 0 in an empty directory. */
int partition_recover(struct store_partition *p, char *err, size_t errlen);

void store_notice(struct store *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Milliseconds since 1970 (CLOCK_REALTIME): when a partition last took an
 * append. */
int64_t store_wall_ms(void);
/* fsync of a directory (so a created or removed name survives a crash). */
int store_sync_dir(struct store *st, const char *dir);

#endif
