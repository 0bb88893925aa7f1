/*
 * recover.c - opening a partition at start-up: list its segment files,
 * check that they line up, scan the last one record by record and deal with
 * what follows its last valid record.
 *
 * Only the last segment is scanned: a segment is synced before the next one
 * is created (partition.c, do_roll), so an earlier one cannot be torn (a
 * bad record there is found by a get, or by pulsemqd --scrub).
 *
 * After the last valid record there may be:
 *  - zeros only: space reserved by the last run; cut silently;
 *  - bytes in which no valid record starts: a torn tail (a crash in the
 *    middle of an append, never acknowledged in flush_mode = sync); cut;
 *  - bad bytes followed by a record that checks out: corruption (a flipped
 *    bit, a bad sector), and the records after it may have been
 *    acknowledged. Cutting would delete them, so the open is refused unless
 *    the operator chose recovery = truncate.
 * Whatever is cut, except zeros, is first copied beside the segment to
 * <segment>.cut-<offset> and synced: recovery never destroys the only copy
 * of a byte.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/record.h"
#include "store/scan.h"
#include "store/store_priv.h"

/* Bytes copied at a time into a .cut file. */
#define CUT_COPY_CHUNK (1 << 20)
/* .cut-<offset>, .cut-<offset>.1, ...: an offset cut twice (a crash right
 * after the restart that cut it) keeps both copies. */
#define CUT_MAX_NAMES 1000

bool segment_parse_name(const char *name, int64_t *start)
{
	if (strlen(name) != STORE_SEGMENT_NAME_LEN || strcmp(name + 20, ".meta") != 0)
		return false;
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > (INT64_MAX - (name[i] - '0')) / 10)
			return false;
		v = v * 10 + (name[i] - '0');
	}
	*start = v;
	return true;
}

static int cmp_start(const void *a, const void *b)
{
	const struct store_segment *x = *(struct store_segment *const *)a;
	const struct store_segment *y = *(struct store_segment *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int load_segments(struct store_partition *p, char *err, size_t errlen)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "cannot open partition directory %s: %s", p->dir, strerror(-rc));
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		int64_t start;
		if (!segment_parse_name(de->d_name, &start))
			continue; /* not ours (MetaQ leaves none of its own here) */
		/* By name: the descriptor cache opens the file when it is used,
		 * so a partition of any number of segments costs no fd here. */
		struct stat sb;
		if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot open segment %s/%s: %s", p->dir, de->d_name,
			         strerror(-rc));
			break;
		}
		if (!S_ISREG(sb.st_mode)) {
			rc = -EINVAL;
			snprintf(err, errlen, "segment %s/%s is not a regular file; move it away "
			         "and restart", p->dir, de->d_name);
			break;
		}
		struct store_segment *s = segment_new(p, start);
		if (!s) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			break;
		}
		s->size = sb.st_size;
		s->reserved = sb.st_size;
		rc = partition_push_segment(p, s);
		if (rc != 0) {
			segment_unref(s);
			snprintf(err, errlen, "out of memory");
			break;
		}
	}
	closedir(d);
	if (rc != 0)
		return rc;
	if (p->nsegs > 1)
		qsort(p->segs, p->nsegs, sizeof *p->segs, cmp_start);
	for (size_t i = 1; i < p->nsegs; i++) {
		const struct store_segment *a = p->segs[i - 1], *b = p->segs[i];
		if (a->start + a->size != b->start) {
			snprintf(err, errlen,
			         "segments do not line up in %s: %s holds %" PRId64 " bytes so it "
			         "ends at offset %" PRId64 ", but the next file is %s; move the "
			         "stray or damaged files away and restart",
			         p->dir, a->name, a->size, a->start + a->size, b->name);
			return -EUCLEAN;
		}
	}
	return 0;
}

/* Walks the valid records from pos: *valid = where they end, *last_id =
 * the last one's id (0 if none), *why = what stopped the walk before the
 * end of the file. */
static int walk_records(struct scan *sc, int64_t pos, int64_t *valid, int64_t *last_id,
                        enum store_record_check *why)
{
	int rc = 0;
	*last_id = 0;
	*why = STORE_RECORD_VALID;
	while (pos < sc->size) {
		struct store_record r;
		enum store_record_check c;
		rc = scan_check(sc, pos, &r, &c);
		if (rc != 0)
			break;
		if (c != STORE_RECORD_VALID) {
			*why = c;
			break;
		}
		*last_id = r.msgid;
		pos += STORE_RECORD_HEADER + r.len;
	}
	*valid = pos;
	return rc;
}

/* Copies [from, to) of s's file to a new file beside it, named in path,
 * and syncs it and its name. 0, or -errno with err (the file is removed). */
static int save_cut(struct store_partition *p, struct store_segment *s, int64_t from,
                    int64_t to, char *path, size_t cap, char *err, size_t errlen)
{
	unsigned char *buf = malloc(CUT_COPY_CHUNK);
	int fd = -1, rc = 0;
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int n = 0; n < CUT_MAX_NAMES && fd < 0; n++) {
		if (n == 0)
			snprintf(path, cap, "%s/%s.cut-%" PRId64, p->dir, s->name, s->start + from);
		else
			snprintf(path, cap, "%s/%s.cut-%" PRId64 ".%d", p->dir, s->name,
			         s->start + from, n);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = errno == EEXIST ? -EEXIST : -errno;
		goto out;
	}
	for (int64_t pos = from; pos < to && rc == 0;) {
		size_t n = to - pos < CUT_COPY_CHUNK ? (size_t)(to - pos) : CUT_COPY_CHUNK;
		rc = scan_read_at(s->fd, buf, n, pos);
		for (size_t done = 0; rc == 0 && done < n;) {
			ssize_t w = p->st->io.pwrite(fd, buf + done, n - done,
			                             (off_t)(pos - from + (int64_t)done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				rc = w < 0 ? -errno : -EIO;
			else
				done += (size_t)w;
		}
		pos += (int64_t)n;
	}
	if (rc == 0 && p->st->io.fsync(fd) != 0)
		rc = -errno;
	if (rc == 0)
		rc = store_sync_dir(p->st, p->dir);
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		if (fd >= 0)
			unlink(path);
		snprintf(err, errlen, "partition %s-%d: cannot save the %" PRId64 " bytes to be cut "
		         "at offset %" PRId64 " of %s/%s to %s: %s; nothing was cut: free some "
		         "space and restart", p->topic, p->id, to - from, s->start + from, p->dir,
		         s->name, path, strerror(-rc));
	}
	free(buf);
	return rc;
}

/* Cuts s's file back to at and syncs it. */
static int cut_segment(struct store_partition *p, struct store_segment *s, int64_t at,
                       char *err, size_t errlen)
{
	if (ftruncate(s->fd, (off_t)at) != 0 || p->st->io.fsync(s->fd) != 0) {
		int rc = -errno;
		snprintf(err, errlen, "cannot truncate %s/%s at byte %" PRId64 ": %s", p->dir,
		         s->name, at, strerror(-rc));
		return rc;
	}
	s->size = at;
	s->reserved = at;
	return 0;
}

/* "a valid record follows at offset N", or, when the search gave up
 * (next = -1), that one may. */
static void say_follows(char *out, size_t cap, const struct store_segment *s, int64_t next)
{
	if (next >= 0)
		snprintf(out, cap, "a valid record follows at offset %" PRId64, s->start + next);
	else
		snprintf(out, cap, "valid records may follow (the search for one gave up after "
		         "%u MiB of checksums)", SCAN_RESYNC_CRC_BUDGET >> 20);
}

/* The refusal: valid records (found at next, or -1 when the search gave
 * up) follow the bad one at `at`. */
static int refuse_cut(struct store_partition *p, struct store_segment *s, int64_t at,
                      int64_t end, int64_t next, enum store_record_check why,
                      char *err, size_t errlen)
{
	char follows[128];
	say_follows(follows, sizeof follows, s, next);
	snprintf(err, errlen, "partition %s-%d: bad record at offset %" PRId64 " of %s/%s (%s), "
	         "and %s: this is corruption, not a torn tail; refusing to start rather than "
	         "cut %" PRId64 " bytes that hold valid records. Set recovery = truncate to cut "
	         "them (they are saved to %s/%s.cut-%" PRId64 " first), or move %s/%s away, "
	         "and restart; pulsemqd --scrub lists every bad record",
	         p->topic, p->id, s->start + at, p->dir, s->name, store_record_check_str(why),
	         follows, end - at, p->dir, s->name, s->start + at, p->dir, s->name);
	return -EUCLEAN;
}

/* Whether a valid record starts in (at, end): *next = the first (-1: none)
 * and *run_id = the id of the last one of the valid run from there. 0,
 * -EAGAIN when the search gave up (valid records may follow), or -errno. */
static int find_valid_after(struct scan *sc, int64_t at, int64_t end, int64_t *next,
                            int64_t *run_id)
{
	struct store_record r;
	int64_t run_end;
	enum store_record_check why;
	*run_id = 0;
	int rc = scan_resync(sc, at + 1, end, next, &r);
	if (rc == 0 && *next >= 0)
		rc = walk_records(sc, *next, &run_end, run_id, &why);
	return rc;
}

/* Logs a cut that recovery made: a torn tail, or (valid_after) one the
 * operator chose with recovery = truncate. */
static void notice_cut(struct store_partition *p, const struct store_segment *s, int64_t at,
                       int64_t end, enum store_record_check why, bool valid_after,
                       int64_t next, const char *saved)
{
	char follows[128];
	if (!valid_after) {
		store_notice(p->st, "partition %s-%d: truncated a torn tail of %" PRId64 " bytes at "
		             "offset %" PRId64 " of %s/%s (%s); the bytes cut are saved in %s",
		             p->topic, p->id, end - at, s->start + at, p->dir, s->name,
		             store_record_check_str(why), saved);
		return;
	}
	say_follows(follows, sizeof follows, s, next);
	store_notice(p->st, "partition %s-%d: recovery = truncate: cut %" PRId64 " bytes at "
	             "offset %" PRId64 " of %s/%s (%s) although %s; the bytes cut are saved "
	             "in %s", p->topic, p->id, end - at, s->start + at, p->dir, s->name,
	             store_record_check_str(why), follows, saved);
}

/* Deals with what follows the last valid record (at) of the last segment:
 * see the top of the file. */
static int recover_tail(struct store_partition *p, struct store_segment *s, struct scan *sc,
                        int64_t at, enum store_record_check why, char *err, size_t errlen)
{
	char saved[4096 + 64];
	int64_t end, next = -1, run_id = 0;
	bool valid_after = false;
	int rc = scan_nonzero_end(sc, at, s->size, &end);
	if (rc == 0 && end == at) /* only zeros: reserved space, nothing was lost */
		return cut_segment(p, s, at, err, errlen);
	if (rc == 0) {
		rc = find_valid_after(sc, at, end, &next, &run_id);
		valid_after = rc == -EAGAIN || (rc == 0 && next >= 0);
		if (valid_after && p->st->recovery != STORE_RECOVERY_TRUNCATE)
			return refuse_cut(p, s, at, end, next, why, err, errlen);
		if (rc == -EAGAIN)
			rc = 0;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot read %s/%s: %s", p->dir, s->name, strerror(-rc));
		return rc;
	}
	rc = save_cut(p, s, at, end, saved, sizeof saved, err, errlen);
	if (rc == 0)
		rc = cut_segment(p, s, at, err, errlen);
	if (rc != 0)
		return rc;
	atomic_fetch_add(&p->st->truncated_bytes, (uint64_t)(end - at));
	/* The saved records' ids must not be given again. */
	if (run_id != 0)
		msgid_seed(&p->st->ids, run_id);
	notice_cut(p, s, at, end, why, valid_after, next, saved);
	return 0;
}

/* Scans the last segment and recovers its tail. */
static int recover_last(struct store_partition *p, struct store_segment *s, char *err,
                        size_t errlen)
{
	struct scan sc;
	int64_t valid, last_id;
	enum store_record_check why;
	int rc = scan_init(&sc, s->fd, s->size);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	rc = walk_records(&sc, 0, &valid, &last_id, &why);
	if (rc != 0)
		snprintf(err, errlen, "cannot read %s/%s: %s", p->dir, s->name, strerror(-rc));
	else if (valid < s->size)
		rc = recover_tail(p, s, &sc, valid, why, err, errlen);
	scan_free(&sc);
	if (rc == 0 && last_id != 0)
		msgid_seed(&p->st->ids, last_id);
	return rc;
}

int partition_recover(struct store_partition *p, char *err, size_t errlen)
{
	int rc = load_segments(p, err, errlen);
	if (rc != 0)
		return rc;
	if (p->nsegs == 0) {
		struct store_segment *s;
		rc = segment_create(p, 0, &s, err, errlen);
		if (rc != 0)
			return rc;
		rc = partition_push_segment(p, s);
		if (rc != 0) {
			segment_unref(s);
			snprintf(err, errlen, "out of memory");
			return rc;
		}
	}
	struct store_segment *last = p->segs[p->nsegs - 1];
	/* Pinned: the descriptor cache keeps its fd open while recovery scans,
	 * saves and cuts through it. */
	int fd = segment_pin(last, err, errlen);
	if (fd < 0)
		return fd;
	rc = recover_last(p, last, err, errlen);
	if (rc != 0)
		goto out;
	p->written_end = p->flushed_end = last->start + last->size;
out:
	segment_unpin(last);
	return rc;
}
