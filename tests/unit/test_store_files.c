/*
 * test_store_files.c - segment files and what they cost: descriptors
 * opened on demand within max_open_files, across many partitions and many
 * segments, also at recovery; reservations that grow in steps with the
 * segment; error texts that keep their errno text when cut.
 */
#include <config.h>

#include <inttypes.h>

#include "tests/unit/test_store_util.h"

static char dir[PATH_MAX];
static int fail_pwrite; /* errno for every pwrite (0: none) */

static ssize_t h_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (fail_pwrite) {
		errno = fail_pwrite;
		return -1;
	}
	return store_io_default.pwrite(fd, buf, len, off);
}

static struct store *open_with(const struct store_io *io, int64_t max_files)
{
	char err[STORE_ERR_BYTES];
	struct store_options o = { .data_dir = dir, .broker_id = 7, .segment_bytes = 1 << 20,
	                           .notice = tsu_notice, .io = io, .max_open_files = max_files };
	struct store *st = NULL;
	if (store_open(&st, &o, err, sizeof err) != 0)
		bail_out("store_open: %s", err);
	return st;
}

static void fresh_dir(const char *tag)
{
	if (dir[0])
		tsu_rmrf(dir);
	tsu_mkdtemp(dir, sizeof dir, tag);
}

/* ---- segment descriptors on demand ------------------------------------ */

#define FD_PARTS 40
#define FD_MAX 4
#define ROLL_RECORDS 50

static bool read_one(struct store_partition *p, int64_t off, const char *want, size_t len)
{
	char err[STORE_ERR_BYTES], buf[256];
	struct store_read r;
	return store_partition_read(p, off, buf, sizeof buf, &r, err, sizeof err) == 0 &&
	       r.status == STORE_READ_OK && r.len >= 20 + len && memcmp(buf + 20, want, len) == 0;
}

static void test_files_on_demand(void)
{
	char err[STORE_ERR_BYTES], t[16];
	struct store_partition *p;
	struct store_append a;
	struct store_stats s;
	int64_t f;

	fresh_dir("files");
	struct store *st = open_with(NULL, FD_MAX);
	bool all = true;
	for (int i = 0; i < FD_PARTS; i++) {
		snprintf(t, sizeof t, "f%d", i);
		all = store_partition_open(st, t, strlen(t), 0, &p, err, sizeof err) == 0 &&
		      store_partition_append(p, 0, t, strlen(t), &a, err, sizeof err) == 0 &&
		      store_partition_flush(p, &f, err, sizeof err) == 0 && all;
	}
	ok(all, "%d partitions written and flushed with max_open_files = %d", FD_PARTS, FD_MAX);
	store_get_stats(st, &s);
	ok(s.open_files <= FD_MAX, "at most %d segment files open (%" PRIu64 ")", FD_MAX,
	   s.open_files);
	is(s.max_open_files, FD_MAX, "stats: max_open_files");
	all = true;
	for (int i = 0; i < FD_PARTS; i++) {
		snprintf(t, sizeof t, "f%d", i);
		p = store_partition_find(st, t, strlen(t), 0);
		all = p && read_one(p, 0, t, strlen(t)) && all;
	}
	ok(all, "every one reads back");
	store_get_stats(st, &s);
	ok(s.file_opens >= FD_PARTS - FD_MAX, "closed files were opened again (%" PRIu64 ")",
	   s.file_opens);
	store_close(st);

	/* Many segments of one partition (one record each). */
	fresh_dir("segs");
	struct store_options o = { .data_dir = dir, .segment_bytes = 64, .max_open_files = 2 };
	if (store_open(&st, &o, err, sizeof err) != 0)
		bail_out("open: %s", err);
	if (store_partition_open(st, "r", 1, 0, &p, err, sizeof err) != 0)
		bail_out("r: %s", err);
	all = true;
	for (int i = 0; i < ROLL_RECORDS; i++)
		all = store_partition_append(p, 0, "0123456789012345678901234567890123456789", 40, &a,
		                             err, sizeof err) == 0 && all;
	all = store_partition_flush(p, &f, err, sizeof err) == 0 && all;
	ok(all, "%d segments written with max_open_files = 2", ROLL_RECORDS);
	store_close(st);
	if (store_open(&st, &o, err, sizeof err) != 0)
		bail_out("reopen: %s", err);
	store_get_stats(st, &s);
	is(s.segments, ROLL_RECORDS, "all of them recovered");
	ok(s.open_files <= 2, "opening only the last one (%" PRIu64 " open)", s.open_files);
	p = store_partition_find(st, "r", 1, 0);
	all = p != NULL;
	for (int i = 0; all && i < ROLL_RECORDS; i++)
		all = read_one(p, (int64_t)i * 60, "0123456789", 10);
	ok(all, "and every record reads back");
	store_get_stats(st, &s);
	ok(s.open_files <= 2, "still at most 2 open (%" PRIu64 ")", s.open_files);
	store_close(st);
}

/* ---- reservations in steps -------------------------------------------- */

static void test_reserve_steps(void)
{
	char err[STORE_ERR_BYTES], seg[PATH_MAX + 64], rec[1000];
	struct store_partition *p;
	struct store_append a;

	fresh_dir("steps");
	struct store *st = tsu_open(dir, 1 << 30, NULL, err);
	if (!st || store_partition_open(st, "idle", 4, 0, &p, err, sizeof err) != 0)
		bail_out("idle: %s", err);
	snprintf(seg, sizeof seg, "%s/idle-0/00000000000000000000.meta", dir);
	store_partition_append(p, 0, "x", 1, &a, err, sizeof err);
	is(tsu_file_size(seg), 4096, "one small record reserves a page, not a MiB");
	memset(rec, 'r', sizeof rec);
	bool bounded = true;
	int64_t size = 21;
	for (int i = 0; i < 100; i++) {
		store_partition_append(p, 0, rec, sizeof rec, &a, err, sizeof err);
		size += 20 + (int64_t)sizeof rec;
		off_t fs = tsu_file_size(seg);
		if (fs > 2 * size + 4096 || fs < size)
			bounded = false;
	}
	ok(bounded, "the reservation stays within twice what the segment holds");
	store_close(st);
	is(tsu_file_size(seg), size, "and is cut at close");
}

/* ---- error texts ------------------------------------------------------ */

static void test_error_texts(void)
{
	char err[STORE_ERR_BYTES], small[48];
	struct store_io io = store_io_default;
	io.pwrite = h_pwrite;
	struct store_partition *p;
	struct store_append a;

	fresh_dir("errtext");
	struct store *st = open_with(&io, 0);
	if (store_partition_open(st, "t", 1, 0, &p, err, sizeof err) != 0)
		bail_out("t: %s", err);
	fail_pwrite = EIO;
	is(store_partition_append(p, 0, "x", 1, &a, small, sizeof small), -EIO,
	   "a failing write into a 48-byte error buffer");
	size_t n = strlen(small);
	ok(n < sizeof small && n > 18 && strcmp(small + n - 18, "Input/output error") == 0,
	   "keeps the errno text whole: '%s'", small);
	ok(strstr(small, "...") != NULL, "and marks what was cut");
	fail_pwrite = 0;
	store_close(st);

	char long_err[STORE_ERR_BYTES];
	memset(long_err, 'p', 1500);
	snprintf(long_err + 1500, sizeof long_err - 1500, ": No space left on device");
	store_err_shorten(long_err, 900);
	n = strlen(long_err);
	ok(n == 899 && strncmp(long_err, "ppp", 3) == 0 && strstr(long_err, "...") &&
	   strcmp(long_err + n - 25, ": No space left on device") == 0,
	   "store_err_shorten keeps the start and the errno text");
}

int main(void)
{
	test_files_on_demand();
	test_reserve_steps();
	test_error_texts();
	tsu_rmrf(dir);
	return done_testing();
}
