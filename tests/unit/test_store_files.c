/*
 * test_store_files.c - segment files and what they cost: error texts that
 * keep their errno text when cut.
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

static struct store *open_with(const struct store_io *io)
{
	char err[STORE_ERR_BYTES];
	struct store_options o = { .data_dir = dir, .broker_id = 7, .segment_bytes = 1 << 20,
	                           .notice = tsu_notice, .io = io };
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

/* ---- error texts ------------------------------------------------------ */

static void test_error_texts(void)
{
	char err[STORE_ERR_BYTES], small[48];
	struct store_io io = store_io_default;
	io.pwrite = h_pwrite;
	struct store_partition *p;
	struct store_append a;

	fresh_dir("errtext");
	struct store *st = open_with(&io);
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
	test_error_texts();
	tsu_rmrf(dir);
	return done_testing();
}
