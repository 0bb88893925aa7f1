/*
 * store_priv.h - the store's insides, shared by store.c, partition.c and
 * recover.c only.
 *
 * Locks, in the order they may be taken:
 *   store.create_lock (who creates which partition; the topic count)
 *   -> store.map_lock (rwlock: topics and partitions, never their contents)
 *   -> partition.flush_lock (one flusher per partition)
 *   -> partition.lock (the append lock: segment list, sizes, ends)
 *   -> store.ids.lock (message ids)
 *   -> store.files.lock (the descriptor cache: fd, pins, LRU links)
 * No syscall that may wait on the disk for long (fsync, pread of a reader)
 * runs under partition.lock; pwrite of an append and the fsync at a segment
 * roll do, because they are the append, and so does the open() of the
 * segment an append writes when the cache had closed it. None at all runs
 * under map_lock, create_lock or files.lock: creating a partition does its
 * mkdir and fsyncs with no lock held (store.c), and the cache opens and
 * closes descriptors outside its lock (files.c).
 */
#ifndef PMQ_STORE_PRIV_H
#define PMQ_STORE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/msgid.h"
#include "store/store.h"

/* Space is reserved ahead of the write position in steps that grow with
 * the segment: as much again as it holds, at least STORE_RESERVE_MIN (one
 * page: an idle topic costs 4 KiB, not a chunk) and at most
 * STORE_RESERVE_CHUNK (one reserve per MiB appended on a busy one), and
 * always at least one record. */
#define STORE_RESERVE_MIN 4096
#define STORE_RESERVE_CHUNK (1 << 20)
/* "<20 digits>.meta" */
#define STORE_SEGMENT_NAME_LEN 25

struct store_segment {
	struct store_partition *part; /* its directory, to open the file again */
	int64_t start;
	int64_t size;       /* bytes of records (partition.lock) */
	int64_t reserved;   /* the file is zero-filled up to here (>= size) */
	int refs;           /* the list holds one; readers and flushers one each */
	/* The descriptor cache's (files.lock): fd is -1 while closed; pins
	 * count its users now, and only an unpinned fd sits in the LRU. */
	int fd;
	int pins;
	struct store_segment *lru_prev, *lru_next;
	char name[STORE_SEGMENT_NAME_LEN + 1];
};

/* Open segment descriptors: every one is counted; the unpinned ones are in
 * an LRU list and closed, least recently used first, past max. */
struct store_files {
	pthread_mutex_t lock;
	struct store_segment *head, *tail; /* head: most recently used */
	size_t open;
	size_t max;
	atomic_uint_fast64_t opens;        /* files opened again on demand */
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
	/* 1 + the last offset a read found corrupt and reported (0: none),
	 * so a consumer retrying it does not log a line per get. */
	atomic_int_fast64_t corrupt_noticed;
};

struct store_topic {
	char *name;
	struct store_partition **parts; /* by id; NULL where absent */
	int32_t nparts;
	atomic_uint rr;
	struct store_topic *next;       /* hash chain */
};

#define STORE_TOPIC_BUCKETS 256

/* A partition being created (store.c): found by later creators of the same
 * partition, who wait for its result instead of creating it again. */
struct store_creation {
	char *topic;
	size_t len;
	int32_t id;
	bool new_topic;   /* counts as one more topic while it runs */
	bool done;
	int rc;
	int waiters;
	char err[STORE_ERR_BYTES];
	struct store_creation *next;
};

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
	enum store_recovery recovery;
	struct msgid_gen ids;

	pthread_rwlock_t map_lock;
	struct store_topic *buckets[STORE_TOPIC_BUCKETS];

	pthread_mutex_t create_lock;
	pthread_cond_t created;           /* a creation finished */
	struct store_creation *creating;
	int64_t max_topics;               /* 0: no limit */
	bool (*topic_configured)(void *ctx, const char *topic, size_t len);
	uint64_t ntopics_counted;         /* in the map, not configured (create_lock) */
	atomic_uint_fast64_t ntopics, topics_refused;
	/* Round robin of topics not created yet, per hash bucket (store.c). */
	atomic_uint rr_unknown[STORE_TOPIC_BUCKETS];

	struct store_files files;

	atomic_uint_fast64_t appends, append_bytes, append_errors, fsyncs, fsync_errors,
		reads, read_bytes, truncated_bytes, segments_deleted, npartitions;
	atomic_uint_fast64_t corrupt_reads;
};

/* segment helpers (partition.c) */
void segment_name(char out[STORE_SEGMENT_NAME_LEN + 1], int64_t start);
/* A segment of p whose file is closed (the cache opens it on demand). */
struct store_segment *segment_new(struct store_partition *p, int64_t start);
void segment_unref(struct store_segment *s);
/* "<dir>/<name>" into out (cap bytes). */
void segment_path(const struct store_segment *s, char *out, size_t cap);
/* Creates <p->dir>/<start>.meta (O_EXCL) and makes its name durable; its
 * descriptor goes to the cache. */
int segment_create(struct store_partition *p, int64_t start, struct store_segment **out,
                   char *err, size_t errlen);
int partition_push_segment(struct store_partition *p, struct store_segment *s);

struct store_partition *partition_new(struct store *st, const char *topic, int32_t id);
void partition_free(struct store_partition *p);

/* "<20 digits>.meta" -> start (recover.c). */
bool segment_parse_name(const char *name, int64_t *start);

/* recover.c: loads p->dir's segments, checks they line up, scans the last
 * one and cuts its tail (or refuses, see store_recovery); creates segment 0
 * in an empty directory. */
int partition_recover(struct store_partition *p, char *err, size_t errlen);

/* files.c: the descriptor cache. */
void files_init(struct store_files *f, size_t max);
void files_destroy(struct store_files *f);
/* max_open_files 0: a quarter of RLIMIT_NOFILE, at least 8. */
size_t files_default_max(void);
/* s's descriptor, opened when closed, kept open until segment_unpin().
 * The fd (>= 0), or -errno with err. Any lock of the store but files.lock
 * may be held. */
int segment_pin(struct store_segment *s, char *err, size_t errlen);
void segment_unpin(struct store_segment *s);
/* Hands a just-created file's fd to the cache (open, unpinned). */
void segment_adopt_fd(struct store_segment *s, int fd);
/* Closes s's descriptor if open; s has no pins (its last unref). */
void segment_close_fd(struct store_segment *s);

void store_notice(struct store *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* snprintf of fmt, then ": <strerror(e)>". When it does not fit, the
 * formatted part is cut ("...") and the errno text stays whole: it is
 * what tells an operator what went wrong. */
void store_errf(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Milliseconds since 1970 (CLOCK_REALTIME): when a partition last took an
 * append. */
int64_t store_wall_ms(void);
/* fsync of a directory (so a created or removed name survives a crash). */
int store_sync_dir(struct store *st, const char *dir);

#endif
