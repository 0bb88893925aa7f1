/*
 * scan.h - walking a segment file record by record, for recovery
 * (recover.c) and the scrub (scrub.c). Private to store/.
 *
 * The file is read in windows (SCAN_WINDOW bytes); a record bigger than a
 * window has its checksum computed in pieces, so a corrupt length can never
 * make the scan allocate what it says.
 *
 * After a bad record, scan_resync() looks for the next position where a
 * record checks out (header and checksum). It is what tells a torn tail
 * (nothing valid after the bad bytes: a crash in the middle of an append)
 * from corruption (valid, possibly acknowledged, records after them). Its
 * work is bounded: every byte position is looked at once, and the
 * checksums computed for candidates together cover at most
 * SCAN_RESYNC_CRC_BUDGET bytes; past that it gives up with -EAGAIN
 * ("cannot tell"), which callers must treat as "valid records may follow".
 */
#ifndef PMQ_STORE_SCAN_H
#define PMQ_STORE_SCAN_H

#include <stdint.h>
#include <stddef.h>

#include "store/record.h"

/* Bytes read at a time. */
#define SCAN_WINDOW (1 << 20)
/* Checksum bytes one resync may compute over candidates. Random bytes
 * rarely look like a header whose length fits the file, but a producer can
 * put payloads that do at every position (a 1 GiB segment of them would
 * otherwise cost years); 256 MiB is a fraction of a second of CRC. */
#define SCAN_RESYNC_CRC_BUDGET (256u << 20)

struct scan {
	int fd;
	int64_t size;         /* the file's bytes that are scanned */
	unsigned char *buf;   /* SCAN_WINDOW bytes */
	int64_t win_pos;      /* buf holds [win_pos, win_pos + win_len) */
	size_t win_len;
};

/* 0 or -ENOMEM. */
int scan_init(struct scan *sc, int fd, int64_t size);
void scan_free(struct scan *sc);

/*
 * Checks the record at pos: *c is store_record_check()'s verdict with
 * SHORT meaning "runs past sc->size"; *r is its header when at least a
 * header fits. 0 or -errno (a read error).
 */
int scan_check(struct scan *sc, int64_t pos, struct store_record *r,
               enum store_record_check *c);

/*
 * The first position in [from, to) where a valid record starts (it may end
 * anywhere up to sc->size): *found and its header in *r, or *found = -1
 * when there is none. -EAGAIN when the budget ran out before it could tell
 * (*found = -1 then too), other -errno on a read error.
 */
int scan_resync(struct scan *sc, int64_t from, int64_t to, int64_t *found,
                struct store_record *r);

/* The end of the last non-zero byte in [from, to), or from if there is
 * none: zeros after the records are reserved space. 0 or -errno. */
int scan_nonzero_end(struct scan *sc, int64_t from, int64_t to, int64_t *out);

/* Reads [pos, pos + len) of fd into buf: 0, or -errno (-EIO at EOF). */
int scan_read_at(int fd, unsigned char *buf, size_t len, int64_t pos);

#endif
