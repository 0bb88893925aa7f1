/*
 * store.h - the durable message store: topics, partitions, segments.
 *
 * Layout and records are MetaQ's (doc/store-format.md, format version 1):
 * data_dir/<topic>-<partition>/<20-digit start offset>.meta segment files
 * holding records `int32 len | int32 checksum | int64 msgid | int32 flag |
 * payload` (big-endian). Offsets are byte positions in the partition's log.
 *
 * Promises:
 *  - No threads inside and no logging: callers (server/) own the threads;
 *    failures come back as -errno plus one line of English in err, and
 *    things worth logging (a truncated torn tail) go to the notice callback.
 *  - Thread-safe: any thread may call any function on an open store. Each
 *    partition has one append lock; appends to different partitions run in
 *    parallel; fsync and pread run without that lock held.
 *  - An append is written (pwrite) but not yet durable; readers see only
 *    what a store_partition_flush() has made durable (the readable end).
 *  - Space is reserved (zero-filled and synced, io.h) before a record is
 *    written, so a full disk fails the append instead of a later flush.
 *    The zeros after the last record are cut at store_close() and, after a
 *    crash, by recovery.
 *  - After a failed fsync a partition refuses appends until the store is
 *    reopened: what the page cache holds is then unknown (fsyncgate). A
 *    flush that cannot open a segment file to sync it fails the same way.
 *  - store_open() recovers: segments must line up (start + size == next
 *    start) or the open fails naming the files; the last segment of each
 *    partition is scanned record by record and a torn tail is truncated.
 *    Recovery never deletes a record that checks out unless told to
 *    (STORE_RECOVERY_TRUNCATE), and never cuts a byte other than reserved
 *    zeros without first saving it beside the segment (recover.c).
 *  - A read never hands out a record at its start offset that fails its
 *    header check, or its checksum when it was read whole: -EBADMSG names
 *    the offset instead.
 *  - The data directory is locked (flock on data_dir/pulsemq.lock): a
 *    second store_open() on it fails with -EBUSY while the first is open.
 *  - Bounded by disk, not by file descriptors: segment files are opened
 *    when used and closed again by an LRU cache of at most max_open_files
 *    idle descriptors, so any number of partitions and segments opens and
 *    serves under the RLIMIT_NOFILE the process started with.
 *  - At most max_topics topics (those topic_configured() names do not
 *    count); creating one more fails with -EDQUOT, naming the setting.
 *  - Creating a partition (mkdir, directory fsyncs, its first segment)
 *    runs outside every lock readers take: gets and puts on existing
 *    partitions never wait for it. Concurrent creators of one partition
 *    agree: one creates, the others wait for it and get its result.
 *  - A failed creation leaves nothing in memory (the directory may stay on
 *    disk; the next attempt or start-up reuses it).
 */
#ifndef PMQ_STORE_H
#define PMQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "store/io.h"

/* Bytes of English an error message may take (store functions' err).
 * The longest names a partition directory twice and two segment files:
 * under a data_dir of STORE_DATA_DIR_MAX bytes that is about 1600 bytes.
 * A message cut to a smaller buffer keeps its errno text (store_errf). */
#define STORE_ERR_BYTES 2048
/* Longest data_dir path, so that every message fits STORE_ERR_BYTES
 * (the daemon's data_dir setting holds 1023 bytes). */
#define STORE_DATA_DIR_MAX 1023
/* Partition ids are 0 .. STORE_PARTITIONS_MAX - 1: the daemon's
 * num_partitions range, and so at most 4 digits in a directory name. */
#define STORE_PARTITIONS_MAX 1024
/* A topic name leaves room for "-1023" in a 255-byte file name
 * (NAME_MAX): "<topic>-<partition>" is the partition's directory. */
#define STORE_TOPIC_MAX_BYTES 250

struct store;
struct store_partition;

/* What recovery does when valid records follow a bad one in the last
 * segment (corruption, not a torn tail). */
enum store_recovery {
	STORE_RECOVERY_REFUSE,   /* the open fails with -EUCLEAN, naming the place */
	STORE_RECOVERY_TRUNCATE, /* cut from the bad record on (saved first) */
};

struct store_options {
	const char *data_dir;        /* created if missing */
	int broker_id;               /* 0..1023, part of every message id */
	int64_t segment_bytes;       /* a segment rolls over at this size */
	/* Per-topic segment size, or NULL to use segment_bytes for all. */
	int64_t (*topic_segment_bytes)(void *ctx, const char *topic);
	void *topic_ctx;
	/* Recovery notices ("truncated N bytes ..."); may be NULL. */
	void (*notice)(void *ctx, const char *msg);
	void *notice_ctx;
	const struct store_io *io;   /* NULL: the real syscalls */
	enum store_recovery recovery;
	/* Topics at most (0: no limit); creating another fails -EDQUOT. */
	int64_t max_topics;
	/* Topics that do not count against max_topics and are never refused
	 * (the daemon's [topic=NAME] sections); NULL: none. Called with
	 * topic_ctx, under a store lock: it must be quick and not call back. */
	bool (*topic_configured)(void *ctx, const char *topic, size_t len);
	/* Idle segment descriptors kept open at most (0: a quarter of
	 * RLIMIT_NOFILE). Descriptors in use are never closed, so the count
	 * may pass this while that many reads and writes run at once. */
	int64_t max_open_files;
};

struct store_stats {
	uint64_t appends;            /* records appended */
	uint64_t append_bytes;       /* bytes appended (headers included) */
	uint64_t append_errors;      /* appends refused or failed */
	uint64_t fsyncs;             /* fsync calls on segment files */
	uint64_t fsync_errors;
	uint64_t reads;              /* successful reads */
	uint64_t read_bytes;
	uint64_t truncated_bytes;    /* cut from torn tails at open */
	uint64_t corrupt_reads;      /* reads refused: a bad record at the offset */
	uint64_t segments_deleted;   /* by retention */
	uint64_t partitions;
	uint64_t segments;
	uint64_t topics;             /* topics in the map */
	uint64_t topics_refused;     /* creations refused by max_topics */
	uint64_t open_files;         /* segment descriptors open now */
	uint64_t max_open_files;     /* the cache's bound in effect */
	uint64_t file_opens;         /* segment files opened again on demand */
};

/* Opens (creating data_dir when missing), locks and recovers the store.
 * 0, or -errno with the reason in err. */
int store_open(struct store **out, const struct store_options *o,
               char *err, size_t errlen);
/* Closes files and frees. Does not flush: the caller flushes first. */
void store_close(struct store *st);

void store_get_stats(struct store *st, struct store_stats *s);

/* The partition if it exists (on disk or created since), else NULL.
 * The pointer stays valid until store_close(). */
struct store_partition *store_partition_find(struct store *st, const char *topic,
                                             size_t len, int32_t partition);
/* The partition, created (directory + first segment) when missing.
 * 0 or -errno with err: -EINVAL for a topic name or partition the store
 * cannot hold (longer than STORE_TOPIC_MAX_BYTES, bad characters, id out
 * of range), -EDQUOT past max_topics, else what the disk said. */
int store_partition_open(struct store *st, const char *topic, size_t len,
                         int32_t partition, struct store_partition **out,
                         char *err, size_t errlen);
/* Round robin over 0..n-1 per topic (for `put` with partition -1). */
int32_t store_pick_partition(struct store *st, const char *topic, size_t len,
                             int32_t n);
/* Calls fn for every partition (under the store's map lock: fn must not
 * open partitions). */
void store_foreach_partition(struct store *st,
                             void (*fn)(struct store_partition *p, void *ctx),
                             void *ctx);

/* What `stats topics` shows of a partition. */
struct store_partition_info {
	int64_t first, end;      /* first segment's start, readable end */
	uint64_t appended;       /* messages appended since store_open() */
	int64_t last_append_ms;  /* wall clock (ms since 1970) of the latest, 0 if none */
};
void store_partition_info(struct store_partition *p, struct store_partition_info *out);

const char *store_partition_topic(const struct store_partition *p);
int32_t store_partition_id(const struct store_partition *p);

struct store_append {
	int64_t msgid;   /* the id given to the message */
	int64_t offset;  /* where its record starts */
	int64_t end;     /* where it ends: durable once the flushed end >= end */
};

/*
 * Appends one record (generating its message id) under the partition's
 * append lock, rolling to a new segment when this one would pass
 * segment_bytes. 0, or -errno (-ENOSPC, -EIO, -EROFS for a partition
 * that failed an fsync, -EMSGSIZE) with err; on failure nothing was
 * appended and nothing will become readable.
 */
int store_partition_append(struct store_partition *p, int32_t flag,
                           const void *payload, size_t len,
                           struct store_append *out, char *err, size_t errlen);

/* A message of a batch, with the id it was given earlier (a transaction's
 * put gets its id when it is staged, store_next_msgid()). */
struct store_batch_msg {
	int64_t msgid;
	int32_t flag;
	const void *payload;
	size_t len;
};

/*
 * Appends n records with their given ids as one write under one hold of
 * the append lock, all into one segment (rolled first when they would pass
 * segment_bytes): no other append lands between them and a flush makes
 * either all of them readable or none (a transaction's commit). out gets
 * the first record's offset and the last one's end. Same errors as
 * store_partition_append(); on failure nothing was appended.
 */
int store_partition_append_batch(struct store_partition *p,
                                 const struct store_batch_msg *msgs, size_t n,
                                 struct store_append *out, char *err, size_t errlen);

/* A fresh message id (as appends take them), and a floor under every id
 * given from now on (ids found in a transaction log at start-up). */
int64_t store_next_msgid(struct store *st);
void store_seed_msgid(struct store *st, int64_t id);

/*
 * Makes everything appended so far durable (fsync of each segment written
 * since the last flush) and advances the readable end. One flush at a time
 * per partition; appends continue meanwhile. *flushed is the readable end
 * afterwards (also on failure). 0 or -errno with err.
 */
int store_partition_flush(struct store_partition *p, int64_t *flushed,
                          char *err, size_t errlen);
/* Appended but not yet flushed: messages and whether any bytes wait. */
uint64_t store_partition_unflushed(struct store_partition *p);
bool store_partition_dirty(struct store_partition *p);

enum store_read_status {
	STORE_READ_OK,      /* len bytes at offset were copied */
	STORE_READ_BEFORE,  /* offset is before the first segment: moved = its start */
	STORE_READ_END,     /* offset is at or past the readable end: moved = end */
};

struct store_read {
	enum store_read_status status;
	size_t len;
	int64_t moved;
};

/* Copies up to max bytes of the log from offset, within one segment and
 * below the readable end, into buf. 0 (see r->status) or -errno with err;
 * -EBADMSG when the record at offset is corrupt (store_record_check_head():
 * a bad length or id, one running past its segment, or a bad checksum when
 * it was read whole), err then saying "corrupt record at offset N in
 * TOPIC-P: why". The first such read of an offset also goes to the notice
 * callback, later ones of the same offset do not. */
int store_partition_read(struct store_partition *p, int64_t offset, void *buf,
                         size_t max, struct store_read *r, char *err, size_t errlen);

/* The start of the segment holding offset; the first start if before it;
 * the readable end if at or past it. -ENOENT when the partition holds no
 * readable bytes. */
int store_partition_nearest(struct store_partition *p, int64_t offset, int64_t *out);

/* First start and readable end. */
void store_partition_bounds(struct store_partition *p, int64_t *first, int64_t *end);

/* Shortens a message in err (formatted by the store) to fit max bytes
 * with its NUL, keeping its start and its end, where the errno text is:
 * for callers that must put it in a smaller buffer (an answer line). */
void store_err_shorten(char *err, size_t max);

/* Deletes whole segments, oldest first and never the last one, whose file
 * was last modified before cutoff. Returns how many were deleted, or
 * -errno with err (those deleted before the error stay deleted). */
int store_partition_expire(struct store_partition *p, time_t cutoff,
                           char *err, size_t errlen);

/*
 * Verifies every record of every segment of every partition under
 * data_dir, changing nothing. Holds data_dir's lock (shared) meanwhile: a
 * running broker makes it fail with -EBUSY, and a broker cannot start
 * during a scrub. report(ctx, line) gets one line of English per finding
 * (file, offset, what is wrong, where the next valid record is). 0 when
 * the scrub ran (res->bad says whether it found corruption), or -errno with
 * err when it could not run or finish.
 */
struct store_scrub_result {
	uint64_t partitions, segments, records, bytes; /* looked at, records valid */
	uint64_t bad;         /* bad records (or runs of bad bytes), misalignments */
	uint64_t torn;        /* torn tails: recovery cuts them (not counted as bad) */
};
int store_scrub(const char *data_dir, void (*report)(void *ctx, const char *line),
                void *ctx, struct store_scrub_result *res, char *err, size_t errlen);

#endif
