/*
 * txlog.h - the transaction log: one append-only file of checksummed
 * records, with its own group commit, replay at open and compaction by
 * rewrite (doc/store-format.md, "Transaction log").
 *
 * The file starts with the 8 bytes "PMQTXL01"; then records
 *   uint32 len | uint32 crc | uint8 type | payload[len]
 * big-endian, crc = CRC-32 (IEEE) of the type byte and the payload. What
 * the types and payloads mean is the caller's (server/broker/tx_log.c):
 * this file only frames, checks, syncs and rewrites.
 *
 * Promises:
 *  - txlog_open() replays every valid record in order to the callback and
 *    cuts the file after the last one (a torn tail: a short or bad record
 *    and everything after it), reporting how many bytes were cut. A whole
 *    record with a bad checksum followed by a good one is corruption, not
 *    a torn write: the open then fails with -EUCLEAN (unless cut_corrupt,
 *    the store's recovery = truncate, says to cut there anyway).
 *  - txlog_append() writes (no fsync) and returns the record's sequence
 *    number; txlog_sync(seq) returns once that record is durable. Syncs
 *    are shared: while one fdatasync runs, later callers wait for the next
 *    one, which covers all of them (group commit).
 *  - After a failed fdatasync the log refuses appends and syncs (what the
 *    page cache holds is then unknown), as a partition does.
 *  - txlog_rewrite() replaces the file by one holding only what its
 *    callback emits, durably (temporary file, fdatasync, rename, directory
 *    fsync) and atomically: a crash leaves the old or the new file whole.
 *    Every record appended before it counts as synced afterwards: the
 *    caller emits every record still needed.
 *  - Thread-safe; no threads and no logging inside.
 */
#ifndef PMQ_STORE_TXLOG_H
#define PMQ_STORE_TXLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/io.h"

#define TXLOG_MAGIC "PMQTXL01"
#define TXLOG_MAGIC_BYTES 8
#define TXLOG_RECORD_HEADER 9
/* A record's payload at most: bounds what replay allocates for a len. */
#define TXLOG_RECORD_MAX ((size_t)1 << 30)

struct txlog;

struct txlog_stats {
	uint64_t bytes;        /* file size now */
	uint64_t records;      /* appended since open */
	uint64_t fsyncs;
	uint64_t rewrites;
	uint64_t truncated;    /* bytes cut at open */
};

/* Replay: each valid record; a non-zero return stops the open with it. */
typedef int txlog_replay_fn(void *ctx, uint8_t type, const unsigned char *payload,
                            size_t len);

/* Opens (creating) path and replays it. io NULL: the real syscalls. 0 or
 * -errno with err. */
int txlog_open(struct txlog **out, const char *path, const struct store_io *io,
               bool cut_corrupt, txlog_replay_fn *fn, void *ctx, char *err, size_t errlen);
void txlog_close(struct txlog *l);

int txlog_append(struct txlog *l, uint8_t type, const void *payload, size_t len,
                 uint64_t *seq, char *err, size_t errlen);
int txlog_sync(struct txlog *l, uint64_t seq, char *err, size_t errlen);

/* For the rewrite's callback: one record of the new file. */
struct txlog_writer;
int txlog_emit(struct txlog_writer *w, uint8_t type, const void *payload, size_t len);
/* Blocks appends meanwhile. fn returns 0 or -errno (the old file stays). */
int txlog_rewrite(struct txlog *l, int (*fn)(void *ctx, struct txlog_writer *w), void *ctx,
                  char *err, size_t errlen);

void txlog_get_stats(struct txlog *l, struct txlog_stats *s);

#endif
