/*
 * recover.c - opening a partition at start-up: list its segment files,
 * check that they line up, scan the last one record by record and cut a
 * torn tail (what a crash in the middle of an append leaves).
 *
 * Only the last segment is scanned: a segment is synced before the next one
 * is created (partition.c, do_roll), so an earlier one cannot be torn.
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
#include "store/store_priv.h"

/* The scan reads the segment in windows of this size (grown for a record
 * larger than it). */
#define SCAN_WINDOW (1 << 20)

/* "<20 digits>.meta" -> start. */
static bool parse_segment_name(const char *name, int64_t *start)
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
		if (!parse_segment_name(de->d_name, &start))
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

/* Reads [pos, pos + len) of fd into buf. 0 or -errno. */
static int read_at(int fd, unsigned char *buf, size_t len, int64_t pos)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(pos + (int64_t)got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

/* Scans the last segment; *valid = bytes of whole records, *last_id = the
 * last record's id (0 if none), *why = what stopped the scan early. */
static int scan_segment(struct store_segment *s, int fd, int64_t *valid, int64_t *last_id,
                        enum store_record_check *why, char *err, size_t errlen,
                        const char *dir)
{
	size_t cap = SCAN_WINDOW;
	unsigned char *buf = malloc(cap);
	int64_t pos = 0, win_pos = 0;
	size_t win_len = 0;
	int rc = 0;

	*last_id = 0;
	*why = STORE_RECORD_VALID;
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (pos < s->size) {
		size_t off = (size_t)(pos - win_pos);
		size_t avail = win_len - off;
		struct store_record r;
		enum store_record_check c = store_record_check(buf + off, avail, &r);
		if (c == STORE_RECORD_SHORT) {
			int64_t left = s->size - pos;
			size_t need = avail < STORE_RECORD_HEADER ? STORE_RECORD_HEADER
				: STORE_RECORD_HEADER + (size_t)r.len;
			if ((int64_t)need > left) {
				*why = c; /* the file ends inside this record */
				break;
			}
			/* The window ends inside this record: slide it here. */
			size_t want = (int64_t)cap < left ? cap : (size_t)left;
			if (want < need) {
				unsigned char *nb = realloc(buf, need);
				if (!nb) {
					rc = -ENOMEM;
					snprintf(err, errlen, "out of memory for a %zu-byte record", need);
					break;
				}
				buf = nb;
				cap = need;
				want = need;
			}
			rc = read_at(fd, buf, want, pos);
			if (rc != 0) {
				snprintf(err, errlen, "cannot read %s/%s: %s", dir, s->name, strerror(-rc));
				break;
			}
			win_pos = pos;
			win_len = want;
			continue;
		}
		if (c != STORE_RECORD_VALID) {
			*why = c;
			break;
		}
		*last_id = r.msgid;
		pos += STORE_RECORD_HEADER + r.len;
	}
	free(buf);
	*valid = pos;
	return rc;
}

/* The end of the last non-zero byte in [from, to) of fd, or from if there
 * is none: zeros after the records are reserved space, not a torn tail. */
static int nonzero_end(int fd, int64_t from, int64_t to, int64_t *out)
{
	unsigned char buf[65536];
	*out = from;
	for (int64_t pos = from; pos < to;) {
		size_t n = to - pos > (int64_t)sizeof buf ? sizeof buf : (size_t)(to - pos);
		int rc = read_at(fd, buf, n, pos);
		if (rc != 0)
			return rc;
		for (size_t i = n; i-- > 0;)
			if (buf[i]) {
				*out = pos + (int64_t)i + 1;
				break;
			}
		pos += (int64_t)n;
	}
	return 0;
}

int partition_recover(struct store_partition *p, char *err, size_t errlen)
{
	struct store_segment *last;
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
	last = p->segs[p->nsegs - 1];
	int fd = segment_pin(last, err, errlen);
	if (fd < 0)
		return fd;

	int64_t valid, last_id;
	enum store_record_check why;
	rc = scan_segment(last, fd, &valid, &last_id, &why, err, errlen, p->dir);
	if (rc != 0)
		goto out;
	if (valid < last->size) {
		int64_t torn_end;
		rc = nonzero_end(fd, valid, last->size, &torn_end);
		if (rc != 0) {
			snprintf(err, errlen, "cannot read %s/%s: %s", p->dir, last->name,
			         strerror(-rc));
			goto out;
		}
		if (ftruncate(fd, (off_t)valid) != 0 || p->st->io.fsync(fd) != 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot truncate the torn tail of %s/%s: %s", p->dir,
			         last->name, strerror(-rc));
			goto out;
		}
		/* Only zeros after the records: space reserved by the last run,
		 * nothing was lost. Otherwise a record was being written. */
		int64_t cut = torn_end - valid;
		if (cut > 0) {
			store_notice(p->st,
			             "partition %s-%d: truncated a torn tail of %" PRId64 " bytes at "
			             "offset %" PRId64 " of %s/%s (%s)",
			             p->topic, p->id, cut, last->start + valid, p->dir, last->name,
			             store_record_check_str(why));
			atomic_fetch_add(&p->st->truncated_bytes, (uint64_t)cut);
		}
		last->size = valid;
		last->reserved = valid;
	}
	if (last_id != 0)
		msgid_seed(&p->st->ids, last_id);
	p->written_end = p->flushed_end = last->start + last->size;
out:
	segment_unpin(last);
	return rc;
}
