/*
 * test_store_faults.c - the failure paths, through the io.h seam: a full
 * disk (reserve ENOSPC), a failing write (EIO, short write), a failing
 * fsync. Each is an error to the caller, and nothing it covered becomes
 * readable or is reported flushed.
 */
#include <config.h>

#include "tests/unit/test_store_util.h"

static char dir[PATH_MAX];

/* Each knob: fail the next calls with this errno (0 = pass through). */
static int fail_reserve, fail_pwrite, fail_fsync;
static int short_pwrite;  /* write only half, then fail_pwrite applies */
static int reserve_calls, fsync_calls;

static ssize_t f_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (short_pwrite && len > 1) {
		short_pwrite = 0;
		return store_io_default.pwrite(fd, buf, len / 2, off);
	}
	if (fail_pwrite) {
		errno = fail_pwrite;
		return -1;
	}
	return store_io_default.pwrite(fd, buf, len, off);
}

static int f_fsync(int fd)
{
	fsync_calls++;
	if (fail_fsync) {
		errno = fail_fsync;
		return -1;
	}
	return store_io_default.fsync(fd);
}

static int f_reserve(int fd, off_t off, off_t len)
{
	reserve_calls++;
	if (fail_reserve) {
		errno = fail_reserve;
		return -1;
	}
	return store_io_default.reserve(fd, off, len);
}

static const struct store_io faulty = { f_pwrite, f_fsync, f_reserve };

static int64_t readable_end(struct store_partition *p)
{
	int64_t first, end;
	store_partition_bounds(p, &first, &end);
	return end;
}

int main(void)
{
	char err[STORE_ERR_BYTES], seg[PATH_MAX + 64];
	struct store_partition *p;
	struct store_append a;
	int64_t f;

	tsu_mkdtemp(dir, sizeof dir, "faults");
	snprintf(seg, sizeof seg, "%s/t-0/00000000000000000000.meta", dir);
	struct store *st = tsu_open(dir, 8 << 20, &faulty, err);
	if (!st)
		bail_out("open: %s", err);
	if (store_partition_open(st, "t", 1, 0, &p, err, sizeof err) != 0)
		bail_out("partition: %s", err);

	is(store_partition_append(p, 0, "one", 3, &a, err, sizeof err), 0, "a healthy append");
	is(store_partition_flush(p, &f, err, sizeof err), 0, "and flush");
	is(f, 23, "readable end 23");
	ok(reserve_calls == 1, "space was reserved before the first write");

	/* full disk: reserve fails; fill the reserved chunk first by claiming
	 * a record bigger than what is reserved */
	static char big[2 << 20];
	fail_reserve = ENOSPC;
	int rc = store_partition_append(p, 0, big, sizeof big, &a, err, sizeof err);
	is(rc, -ENOSPC, "a full disk fails the append with ENOSPC");
	ok(strstr(err, "no space") != NULL, "with the reason: %s", err);
	unsigned char after[64];
	int sfd = open(seg, O_RDONLY);
	ssize_t got = sfd >= 0 ? pread(sfd, after, sizeof after, 23) : -1;
	close(sfd);
	bool zeros = got >= 0;
	for (ssize_t i = 0; i < got; i++)
		if (after[i])
			zeros = false;
	ok(zeros, "nothing was written after the first record");
	fail_reserve = 0;
	store_partition_flush(p, &f, err, sizeof err);
	is(f, 23, "nothing new is readable");

	/* a file system without fallocate: falls back to statvfs */
	fail_reserve = EOPNOTSUPP;
	is(store_partition_append(p, 0, big, 1 << 20, &a, err, sizeof err), 0,
	   "without fallocate the free space is checked instead");
	fail_reserve = 0;
	store_partition_flush(p, &f, err, sizeof err);
	is(f, 23 + 20 + (1 << 20), "and the record is stored");
	int64_t end = f;

	/* EIO on write */
	fail_pwrite = EIO;
	rc = store_partition_append(p, 0, "two", 3, &a, err, sizeof err);
	is(rc, -EIO, "a write error fails the append with EIO");
	ok(strstr(err, "write to") != NULL, "with the reason: %s", err);
	fail_pwrite = 0;

	/* short write, then EIO: the half record is cut from the file */
	short_pwrite = 1;
	fail_pwrite = EIO;
	rc = store_partition_append(p, 0, "three", 5, &a, err, sizeof err);
	is(rc, -EIO, "a short write then an error fails the append");
	is(tsu_file_size(seg), end, "the half-written record is cut from the file");
	fail_pwrite = 0;

	is(store_partition_append(p, 0, "four", 4, &a, err, sizeof err), 0, "the next append works");
	is(a.offset, end, "at the offset the failed ones did not take");
	store_partition_flush(p, &f, err, sizeof err);
	is(f, end + 24, "readable end moves by that one record");
	end = f;

	/* EIO on fsync: not flushed, not readable, partition refuses writes */
	is(store_partition_append(p, 0, "five", 4, &a, err, sizeof err), 0, "append before a bad fsync");
	fail_fsync = EIO;
	rc = store_partition_flush(p, &f, err, sizeof err);
	is(rc, -EIO, "the flush fails with EIO");
	ok(strstr(err, "fsync") != NULL, "with the reason: %s", err);
	is(f, end, "the flushed end did not move");
	is(readable_end(p), end, "the unflushed record is not readable");
	fail_fsync = 0;
	rc = store_partition_append(p, 0, "six", 3, &a, err, sizeof err);
	is(rc, -EROFS, "after a failed fsync appends are refused");
	ok(strstr(err, "restart") != NULL, "saying what to do: %s", err);
	rc = store_partition_flush(p, &f, err, sizeof err);
	ok(rc != 0 && f == end, "and later flushes keep failing");
	ok(!store_partition_dirty(p), "a failed partition is not reported dirty");

	/* fsync failing at a segment roll */
	struct store_partition *q;
	store_close(st);
	st = tsu_open(dir, 100, &faulty, err);
	if (!st)
		bail_out("reopen: %s", err);
	p = store_partition_find(st, "t", 1, 0);
	is(readable_end(p), end, "after a restart the never-flushed record is gone");
	store_partition_open(st, "r", 1, 0, &q, err, sizeof err);
	is(store_partition_append(q, 0, "0123456789012345678901234567890123456789", 40, &a, err,
	                          sizeof err), 0, "a 60-byte record");
	fail_fsync = EIO;
	rc = store_partition_append(q, 0, "0123456789012345678901234567890123456789", 40, &a, err,
	                            sizeof err);
	is(rc, -EIO, "a roll whose fsync fails fails the append");
	fail_fsync = 0;
	rc = store_partition_flush(q, &f, err, sizeof err);
	ok(rc != 0 && f == 0, "nothing of that partition is readable");
	struct store_stats s;
	store_get_stats(st, &s);
	ok(s.append_errors == 1 && s.fsync_errors == 1, "stats count the errors");
	store_close(st);
	tsu_rmrf(dir);
	return done_testing();
}
