/*
 * scrub.c - store_scrub(): verify every record of every segment, offline,
 * and report each bad one with its file and offset (store.h).
 *
 * Recovery scans only the last segment of a partition and a get checks only
 * the record it starts at; the scrub is the one pass that reads everything.
 * It changes nothing, so it can run on a copy or a read-only mount, and it
 * classifies what it finds as recovery does (scan.h): after a bad record it
 * looks for the next valid one and carries on from there, so one flipped
 * byte is one finding and the records after it are still verified.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/scan.h"
#include "store/store_priv.h"

#define SCRUB_LOCK_FILE "pulsemq.lock" /* store.c's STORE_LOCK_FILE */
/* Longest path the scrub builds (data_dir/partition/segment). */
#define SCRUB_PATH_MAX 4096

struct scrub {
	void (*report)(void *ctx, const char *line);
	void *ctx;
	struct store_scrub_result *res;
};

struct scrub_seg {
	int64_t start, size;
	char name[STORE_SEGMENT_NAME_LEN + 1];
};

static void scrub_say(struct scrub *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void scrub_say(struct scrub *x, const char *fmt, ...)
{
	char line[3 * SCRUB_PATH_MAX];
	va_list ap;
	if (!x->report)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	x->report(x->ctx, line);
}

/* "<topic>-<digits>", as store.c reads partition directories. */
static bool partition_dir_name(const char *name)
{
	const char *dash = strrchr(name, '-');
	if (!dash || dash == name || name[0] == '.' || dash[1] == '\0')
		return false;
	for (const char *c = dash + 1; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_seg(const void *a, const void *b)
{
	const struct scrub_seg *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* What follows the bad record at pos: reports it and returns where the
 * scan goes on (-1: the segment is done). */
static int64_t scrub_bad(struct scrub *x, struct scan *sc, const char *path, int64_t start,
                         int64_t pos, enum store_record_check why, bool last)
{
	int64_t end, next = -1;
	struct store_record r;
	int rc = scan_nonzero_end(sc, pos, sc->size, &end);
	if (rc == 0 && end > pos)
		rc = scan_resync(sc, pos + 1, end, &next, &r);
	if (rc != 0 && rc != -EAGAIN) {
		scrub_say(x, "%s: cannot read at byte %" PRId64 ": %s", path, pos, strerror(-rc));
		x->res->bad++;
		return -1;
	}
	if (rc == 0 && end == pos) {
		if (last)
			return -1; /* reserved space after the last record */
		scrub_say(x, "%s: bad record at offset %" PRId64 " (byte %" PRId64 "): only zeros "
		          "from there to the end of the segment (%" PRId64 " bytes), which only "
		          "the last segment may hold", path, start + pos, pos, sc->size - pos);
	} else if (rc == -EAGAIN) {
		scrub_say(x, "%s: bad record at offset %" PRId64 " (byte %" PRId64 "): %s; no valid "
		          "record found after it within %u MiB of checksums: the rest of the "
		          "segment (%" PRId64 " bytes) is not verified", path, start + pos, pos,
		          store_record_check_str(why), SCAN_RESYNC_CRC_BUDGET >> 20, sc->size - pos);
	} else if (next < 0 && last) {
		scrub_say(x, "%s: torn tail at offset %" PRId64 " (byte %" PRId64 "): %s; %" PRId64
		          " bytes in which no valid record starts (an append cut by a crash): the "
		          "next start cuts them and saves them beside the segment", path,
		          start + pos, pos, store_record_check_str(why), end - pos);
		x->res->torn++;
		return -1;
	} else if (next < 0) {
		scrub_say(x, "%s: bad record at offset %" PRId64 " (byte %" PRId64 "): %s; no valid "
		          "record after it in this segment (%" PRId64 " bytes to its end)", path,
		          start + pos, pos, store_record_check_str(why), sc->size - pos);
	} else {
		scrub_say(x, "%s: bad record at offset %" PRId64 " (byte %" PRId64 "): %s; %" PRId64
		          " bad bytes, the next valid record is at offset %" PRId64, path,
		          start + pos, pos, store_record_check_str(why), next - pos, start + next);
		x->res->bad++;
		return next;
	}
	x->res->bad++;
	return -1;
}

static void scrub_segment(struct scrub *x, const char *dir, const struct scrub_seg *s,
                          bool last)
{
	char path[SCRUB_PATH_MAX + STORE_SEGMENT_NAME_LEN + 2];
	struct scan sc;
	snprintf(path, sizeof path, "%s/%s", dir, s->name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || scan_init(&sc, fd, s->size) != 0) {
		scrub_say(x, "%s: cannot open: %s", path, strerror(fd < 0 ? errno : ENOMEM));
		x->res->bad++;
		if (fd >= 0)
			close(fd);
		return;
	}
	x->res->segments++;
	for (int64_t pos = 0; pos >= 0 && pos < s->size;) {
		struct store_record r;
		enum store_record_check c;
		int rc = scan_check(&sc, pos, &r, &c);
		if (rc != 0) {
			scrub_say(x, "%s: cannot read at byte %" PRId64 ": %s", path, pos,
			          strerror(-rc));
			x->res->bad++;
			break;
		}
		if (c != STORE_RECORD_VALID) {
			pos = scrub_bad(x, &sc, path, s->start, pos, c, last);
			continue;
		}
		x->res->records++;
		x->res->bytes += STORE_RECORD_HEADER + (uint64_t)r.len;
		pos += STORE_RECORD_HEADER + r.len;
	}
	scan_free(&sc);
	close(fd);
}

/* The segment files of dir, sorted by start: 0 or -errno. */
static int list_segments(const char *dir, struct scrub_seg **out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;
	int rc = 0;
	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		int64_t start;
		if (!segment_parse_name(de->d_name, &start) ||
		    fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct scrub_seg *ns = realloc(*out, cap * sizeof *ns);
			if (!ns) {
				rc = -ENOMEM;
				break;
			}
			*out = ns;
		}
		struct scrub_seg *s = &(*out)[(*n)++];
		s->start = start;
		s->size = sb.st_size;
		memcpy(s->name, de->d_name, sizeof s->name); /* parsed: exactly that long */
	}
	closedir(d);
	if (rc == 0 && *n > 1)
		qsort(*out, *n, sizeof **out, cmp_seg);
	return rc;
}

static void scrub_partition(struct scrub *x, const char *data_dir, const char *name)
{
	char dir[SCRUB_PATH_MAX];
	struct scrub_seg *segs;
	size_t n;
	snprintf(dir, sizeof dir, "%s/%s", data_dir, name);
	int rc = list_segments(dir, &segs, &n);
	if (rc != 0) {
		scrub_say(x, "%s: cannot list the segments: %s", dir, strerror(-rc));
		x->res->bad++;
		return;
	}
	x->res->partitions++;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && segs[i - 1].start + segs[i - 1].size != segs[i].start) {
			scrub_say(x, "%s: segments do not line up: %s ends at offset %" PRId64 " but "
			          "the next file is %s (the broker refuses to start)", dir,
			          segs[i - 1].name, segs[i - 1].start + segs[i - 1].size, segs[i].name);
			x->res->bad++;
		}
		scrub_segment(x, dir, &segs[i], i + 1 == n);
	}
	free(segs);
}

/* The partition directories of data_dir, sorted (a stable report). */
static int list_partitions(const char *data_dir, char ***out, size_t *n)
{
	DIR *d = opendir(data_dir);
	struct dirent *de;
	size_t cap = 0;
	int rc = 0;
	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (!partition_dir_name(de->d_name) || fstatat(dirfd(d), de->d_name, &sb, 0) != 0 ||
		    !S_ISDIR(sb.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(*out, cap * sizeof *nn);
			if (!nn) {
				rc = -ENOMEM;
				break;
			}
			*out = nn;
		}
		if (!((*out)[*n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (rc == 0 && *n > 1)
		qsort(*out, *n, sizeof **out, cmp_name);
	return rc;
}

/* Shares the broker's lock: *out = its fd, or -1 when there is no lock
 * file (a directory pulsemq never served). 0 or -errno with err. */
static int scrub_lock(const char *data_dir, int *out, char *err, size_t errlen)
{
	char path[SCRUB_PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", data_dir, SCRUB_LOCK_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*out = -1;
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		int rc = -errno;
		snprintf(err, errlen, "cannot open lock file %s: %s", path, strerror(-rc));
		return rc;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			snprintf(err, errlen, "data directory %s is in use by a running broker (%s "
			         "is locked): stop it first, the scrub reads a stopped broker's files",
			         data_dir, path);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

int store_scrub(const char *data_dir, void (*report)(void *ctx, const char *line),
                void *ctx, struct store_scrub_result *res, char *err, size_t errlen)
{
	struct scrub x = { .report = report, .ctx = ctx, .res = res };
	char **names = NULL;
	size_t n = 0;
	memset(res, 0, sizeof *res);
	int lock;
	int rc = scrub_lock(data_dir, &lock, err, errlen);
	if (rc != 0)
		return rc;
	rc = list_partitions(data_dir, &names, &n);
	if (rc != 0)
		snprintf(err, errlen, "cannot read data directory %s: %s", data_dir, strerror(-rc));
	for (size_t i = 0; rc == 0 && i < n; i++)
		scrub_partition(&x, data_dir, names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (lock >= 0)
		close(lock);
	return rc;
}
