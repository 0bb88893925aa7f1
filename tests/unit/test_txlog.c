/*
 * test_txlog.c - the transaction log's file (store/txlog.h): records come
 * back in order, a torn tail or a bad checksum cuts the file there, a
 * failed fdatasync makes the log refuse, a rewrite keeps only what it is
 * given, and a file that is no log is refused.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "store/txlog.h"
#include "tests/tap.h"

static char path[600];
static int nseen;
static char seen[16][64];

static int collect(void *ctx, uint8_t type, const unsigned char *p, size_t len)
{
	(void)ctx;
	if (nseen < 16)
		snprintf(seen[nseen++], 64, "%u:%.*s", type, (int)len, (const char *)p);
	return 0;
}

static struct txlog *open_log(void)
{
	struct txlog *l = NULL;
	char err[STORE_ERR_BYTES];
	nseen = 0;
	if (txlog_open(&l, path, NULL, false, collect, NULL, err, sizeof err) != 0)
		diag("open: %s", err);
	return l;
}

static void append(struct txlog *l, uint8_t type, const char *s, bool sync)
{
	char err[STORE_ERR_BYTES];
	uint64_t seq;
	if (txlog_append(l, type, s, strlen(s), &seq, err, sizeof err) != 0 ||
	    (sync && txlog_sync(l, seq, err, sizeof err) != 0))
		diag("append: %s", err);
}

static off_t file_size(void)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static int emit_two(void *ctx, struct txlog_writer *w)
{
	(void)ctx;
	int rc = txlog_emit(w, 7, "kept", 4);
	return rc ? rc : txlog_emit(w, 8, "also", 4);
}

static int failing_fsync(int fd)
{
	(void)fd;
	errno = EIO;
	return -1;
}

int main(void)
{
	char dir[] = "/tmp/pmq-txlog.XXXXXX";
	if (!mkdtemp(dir))
		bail_out("mkdtemp");
	snprintf(path, sizeof path, "%s/txlog", dir);

	char err[STORE_ERR_BYTES];
	struct txlog *l = open_log();
	ok(l && nseen == 0, "a new log opens empty");
	is(file_size(), TXLOG_MAGIC_BYTES, "holding only its magic");
	append(l, 1, "one", true);
	append(l, 2, "two", false);
	append(l, 3, "three", true);
	struct txlog_stats st;
	txlog_get_stats(l, &st);
	ok(st.records == 3 && st.fsyncs >= 1 && st.fsyncs <= 2, "3 records, %llu fdatasyncs",
	   (unsigned long long)st.fsyncs);
	txlog_close(l);

	l = open_log();
	ok(l && nseen == 3 && !strcmp(seen[0], "1:one") && !strcmp(seen[1], "2:two") &&
	   !strcmp(seen[2], "3:three"), "replayed in order");
	txlog_close(l);

	/* a torn tail: half of a fourth record */
	off_t whole = file_size();
	int fd = open(path, O_WRONLY | O_APPEND);
	ok(write(fd, "\0\0\0\x20\1\2\3\4\5abc", 12) == 12, "half a record appended");
	close(fd);
	l = open_log();
	txlog_get_stats(l, &st);
	ok(l && nseen == 3 && st.truncated == 12, "torn tail: 3 records, 12 bytes cut");
	is(file_size(), whole, "the file ends after the last whole record");
	append(l, 4, "four", true);
	txlog_close(l);

	/* a flipped byte in the second record, two good ones after it */
	fd = open(path, O_RDWR);
	char b;
	off_t second = TXLOG_MAGIC_BYTES + TXLOG_RECORD_HEADER + 3 + TXLOG_RECORD_HEADER;
	ok(pread(fd, &b, 1, second) == 1, "read a byte of the second payload");
	b ^= 0x40;
	ok(pwrite(fd, &b, 1, second) == 1, "flipped it");
	close(fd);
	l = NULL;
	ok(txlog_open(&l, path, NULL, false, collect, NULL, err, sizeof err) == -EUCLEAN,
	   "a bad record with good ones after it: the open refuses (%s)", err);
	nseen = 0;
	ok(txlog_open(&l, path, NULL, true, collect, NULL, err, sizeof err) == 0 && nseen == 1 &&
	   !strcmp(seen[0], "1:one"), "told to cut: only the first survives");

	/* rewrite: only what the callback emits */
	ok(txlog_rewrite(l, emit_two, NULL, err, sizeof err) == 0, "rewrite");
	append(l, 9, "after", true);
	txlog_get_stats(l, &st);
	is(st.rewrites, 1, "counted");
	txlog_close(l);
	l = open_log();
	ok(l && nseen == 3 && !strcmp(seen[0], "7:kept") && !strcmp(seen[1], "8:also") &&
	   !strcmp(seen[2], "9:after"), "the rewritten log, then the append after it");
	txlog_close(l);
	char tmp[700];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	ok(access(tmp, F_OK) != 0, "no temporary file left");

	/* a failed fdatasync: the log refuses from then on */
	struct store_io io = store_io_default;
	io.fsync = failing_fsync;
	struct txlog *f = NULL;
	ok(txlog_open(&f, path, &io, false, collect, NULL, err, sizeof err) == 0,
	   "open with a bad disk");
	uint64_t seq;
	ok(txlog_append(f, 1, "x", 1, &seq, err, sizeof err) == 0, "append is written");
	ok(txlog_sync(f, seq, err, sizeof err) == -EROFS, "its sync fails: %s", err);
	ok(txlog_append(f, 1, "y", 1, &seq, err, sizeof err) == -EROFS, "and appends are refused");
	txlog_close(f);

	/* not a log */
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(write(fd, "NOTALOG!xxxx", 12) == 12, "overwrote the file");
	close(fd);
	l = NULL;
	ok(txlog_open(&l, path, NULL, false, collect, NULL, err, sizeof err) == -EUCLEAN,
	   "a file without the magic is refused: %s", err);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
