/*
 * test_store_recover.c - start-up recovery: a torn tail cut at every
 * possible point of the last record is truncated (and reported with the
 * bytes cut), garbage and zero-filled tails are cut, misaligned segments
 * refuse the open naming the files. A bad record followed by valid ones
 * refuses the open and cuts nothing, unless STORE_RECOVERY_TRUNCATE; what
 * is cut is saved first, and a failed save cuts nothing; a search for
 * valid records that runs out of budget counts as "they may follow".
 */
#include <config.h>

#include "store/record.h"
#include "tests/unit/test_store_util.h"

static char dir[PATH_MAX];

static struct store *must_open(int64_t seg)
{
	char err[STORE_ERR_BYTES];
	struct store *st = tsu_open(dir, seg, NULL, err);
	if (!st)
		bail_out("open: %s", err);
	return st;
}

/* Appends the payloads to t-0 and flushes; returns the end. */
static int64_t put_all(struct store *st, const char *const *msgs, int n)
{
	char err[STORE_ERR_BYTES];
	struct store_partition *p;
	struct store_append a = { 0 };
	int64_t f;
	if (store_partition_open(st, "t", 1, 0, &p, err, sizeof err) != 0)
		bail_out("open partition: %s", err);
	for (int i = 0; i < n; i++)
		if (store_partition_append(p, i, msgs[i], strlen(msgs[i]), &a, err, sizeof err) != 0)
			bail_out("append: %s", err);
	store_partition_flush(p, &f, err, sizeof err);
	return f;
}

static int64_t end_of(struct store *st)
{
	int64_t first, end;
	struct store_partition *p = store_partition_find(st, "t", 1, 0);
	if (!p)
		return -1;
	store_partition_bounds(p, &first, &end);
	return end;
}

/* The records of [0, end) read back whole and valid: how many. */
static int count_records(struct store *st, int64_t end)
{
	char err[STORE_ERR_BYTES];
	unsigned char buf[8192];
	struct store_read r;
	struct store_partition *p = store_partition_find(st, "t", 1, 0);
	int n = 0;
	int64_t off = 0;
	while (off < end) {
		if (store_partition_read(p, off, buf, sizeof buf, &r, err, sizeof err) != 0 ||
		    r.status != STORE_READ_OK)
			return -1;
		size_t pos = 0;
		struct store_record rec;
		while (store_record_check(buf + pos, r.len - pos, &rec) == STORE_RECORD_VALID) {
			pos += STORE_RECORD_HEADER + (size_t)rec.len;
			n++;
		}
		if (pos == 0)
			return -1;
		off += (int64_t)pos;
	}
	return n;
}

static void test_every_cut(void)
{
	static const char *const msgs[] = { "first message", "second", "the last record" };
	char seg[PATH_MAX + 64];
	struct store *st = must_open(1 << 20);
	int64_t end = put_all(st, msgs, 3);
	store_close(st);
	int64_t last_start = end - (STORE_RECORD_HEADER + (int64_t)strlen(msgs[2]));
	snprintf(seg, sizeof seg, "%s/t-0/00000000000000000000.meta", dir);

	/* The last record's bytes: a cut leaving only zeros of it is reserved
	 * space to recovery (cut silently); otherwise the notice counts the
	 * bytes up to the last non-zero one. */
	unsigned char last[256];
	bool all_ok = true, notices_ok = true;
	for (int64_t cut = last_start + 1; cut < end; cut++) {
		/* (each round writes the record again, with a new msgid) */
		int sfd = open(seg, O_RDONLY);
		if (sfd < 0 ||
		    pread(sfd, last, (size_t)(end - last_start), last_start) != end - last_start)
			bail_out("read %s", seg);
		close(sfd);
		if (truncate(seg, (off_t)cut) != 0)
			bail_out("truncate: %s", strerror(errno));
		tsu_notices = 0;
		st = must_open(1 << 20);
		int64_t got = end_of(st);
		int n = count_records(st, got);
		if (got != last_start || n != 2 || tsu_file_size(seg) != last_start) {
			all_ok = false;
			diag("cut at %lld: end %lld, %d records", (long long)cut, (long long)got, n);
		}
		char want[64];
		int64_t nz = 0;
		for (int64_t i = 0; i < cut - last_start; i++)
			if (last[i])
				nz = i + 1;
		snprintf(want, sizeof want, "torn tail of %lld bytes at offset %lld",
		         (long long)nz, (long long)last_start);
		if (nz == 0 ? tsu_notices != 0 : tsu_notices != 1 || !strstr(tsu_last_notice, want)) {
			notices_ok = false;
			diag("cut at %lld: %d notices, '%s'", (long long)cut, tsu_notices,
			     tsu_last_notice);
		}
		/* the record is gone: write it again for the next cut */
		put_all(st, msgs + 2, 1);
		store_close(st);
	}
	ok(all_ok, "a last record cut at each of its %lld inner points is truncated away",
	   (long long)(end - last_start - 1));
	ok(notices_ok, "each truncation is reported with the bytes cut: %s", tsu_last_notice);

	tsu_notices = 0;
	st = must_open(1 << 20);
	ok(end_of(st) == end && tsu_notices == 0, "a whole log opens without a notice");
	is(count_records(st, end), 3, "all three records read back");
	store_close(st);
}

static void append_bytes(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		bail_out("append to %s: %s", path, strerror(errno));
	close(fd);
}

static void test_bad_tails(void)
{
	char seg[PATH_MAX + 64];
	snprintf(seg, sizeof seg, "%s/t-0/00000000000000000000.meta", dir);
	struct store *st = must_open(1 << 20);
	int64_t end = end_of(st);
	store_close(st);

	unsigned char zeros[100] = { 0 };
	append_bytes(seg, zeros, sizeof zeros);
	tsu_notices = 0;
	st = must_open(1 << 20);
	ok(end_of(st) == end && tsu_notices == 0 && tsu_file_size(seg) == end,
	   "a zero-filled tail (space reserved before a crash) is cut without a notice");
	store_close(st);

	/* a torn record followed by reserved zeros: only the record counts */
	unsigned char part[STORE_RECORD_HEADER + 8];
	store_record_header(part, 777, 0, "12345678", 8);
	memcpy(part + STORE_RECORD_HEADER, "1234", 4); /* half the payload */
	append_bytes(seg, part, STORE_RECORD_HEADER + 4);
	append_bytes(seg, zeros, sizeof zeros);
	tsu_notices = 0;
	st = must_open(1 << 20);
	ok(end_of(st) == end && tsu_notices == 1 && strstr(tsu_last_notice, "torn tail of 24 bytes"),
	   "a torn record before reserved zeros is reported with its own bytes: %s",
	   tsu_last_notice);
	store_close(st);

	/* a whole record whose payload was not written (CRC mismatch) */
	unsigned char rec[STORE_RECORD_HEADER + 8];
	store_record_header(rec, 12345, 0, "payload!", 8);
	memset(rec + STORE_RECORD_HEADER, 'x', 8);
	append_bytes(seg, rec, sizeof rec);
	st = must_open(1 << 20);
	ok(end_of(st) == end && strstr(tsu_last_notice, "checksum"),
	   "a record with a bad checksum is cut: %s", tsu_last_notice);
	store_close(st);

	/* a huge length */
	unsigned char hdr[STORE_RECORD_HEADER];
	store_record_header(hdr, 12345, 0, "", 0);
	hdr[0] = 0x7f;
	append_bytes(seg, hdr, sizeof hdr);
	st = must_open(1 << 20);
	ok(end_of(st) == end, "a length past the end of the file is cut");
	store_close(st);
	is(tsu_file_size(seg), end, "the file is truncated on disk too");
}

/* A torn tail in a second segment: only the last segment is scanned and the
 * cut lands inside it. */
static void test_torn_in_last_segment(void)
{
	char sub[PATH_MAX + 8];
	snprintf(sub, sizeof sub, "%s/t-0", dir);
	tsu_rmrf(sub);
	static const char *const msgs[] = { "aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd" };
	struct store *st = must_open(60); /* two 30-byte records per segment */
	int64_t end = put_all(st, msgs, 4);
	store_close(st);
	is(end, 120, "four records in two segments");
	char seg[PATH_MAX + 64];
	snprintf(seg, sizeof seg, "%s/t-0/00000000000000000060.meta", dir);
	truncate(seg, 45);
	st = must_open(60);
	is(end_of(st), 90, "second segment cut back to its first record");
	is(count_records(st, 90), 3, "three records remain");
	store_close(st);
}

/* The io seam: fail pwrite (of the .cut copy: recovery writes nothing
 * else) with this errno. */
static int fail_pwrite;

static ssize_t f_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (fail_pwrite) {
		errno = fail_pwrite;
		return -1;
	}
	return store_io_default.pwrite(fd, buf, len, off);
}

static const struct store_io faulty = { f_pwrite, NULL, NULL };

static struct store *open_with(enum store_recovery mode, int *rc, char *err)
{
	struct store_io io = faulty;
	io.fsync = store_io_default.fsync;
	io.reserve = store_io_default.reserve;
	struct store_options o = { .data_dir = dir, .broker_id = 7, .segment_bytes = 1 << 20,
	                           .notice = tsu_notice, .io = &io, .recovery = mode };
	struct store *st = NULL;
	*rc = store_open(&st, &o, err, STORE_ERR_BYTES);
	return st;
}

static bool same_file(const char *path, const unsigned char *want, size_t len)
{
	unsigned char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
	if (fd >= 0)
		close(fd);
	return n == (ssize_t)len && memcmp(buf, want, len) == 0;
}

/* A flipped byte in the middle of the last segment, 14 records after it. */
static void test_corruption_before_valid(void)
{
	char sub[PATH_MAX + 8], seg[PATH_MAX + 64], cut[PATH_MAX + 128], err[STORE_ERR_BYTES];
	snprintf(sub, sizeof sub, "%s/t-0", dir);
	tsu_rmrf(sub);
	const char *msgs[16];
	char text[16][32];
	for (int i = 0; i < 16; i++) {
		snprintf(text[i], sizeof text[i], "acknowledged %02d", i);
		msgs[i] = text[i];
	}
	struct store *st = must_open(1 << 20);
	int64_t end = put_all(st, msgs, 16);
	store_close(st);
	const int64_t bad = STORE_RECORD_HEADER + 15; /* record 1 starts at 35 */
	snprintf(seg, sizeof seg, "%s/t-0/00000000000000000000.meta", dir);
	int fd = open(seg, O_RDWR);
	unsigned char orig[4096], b;
	if (fd < 0 || pread(fd, orig, (size_t)end, 0) != end)
		bail_out("read %s", seg);
	b = orig[bad + STORE_RECORD_HEADER + 3] ^ 0x01;
	orig[bad + STORE_RECORD_HEADER + 3] = b;
	if (pwrite(fd, &b, 1, bad + STORE_RECORD_HEADER + 3) != 1)
		bail_out("write %s", seg);
	close(fd);

	int rc;
	st = open_with(STORE_RECOVERY_REFUSE, &rc, err);
	ok(st == NULL && rc == -EUCLEAN, "refuse: the open fails with -EUCLEAN (%d)", rc);
	ok(strstr(err, "bad record at offset 35 of ") && strstr(err, "(checksum mismatch)") &&
	   strstr(err, "a valid record follows at offset 70") &&
	   strstr(err, "Set recovery = truncate"), "naming offset, reason, what follows, the option: %s",
	   err);
	ok(same_file(seg, orig, (size_t)end), "the segment is untouched");
	store_close(st);

	/* The copy cannot be written: nothing may be cut. */
	fail_pwrite = ENOSPC;
	st = open_with(STORE_RECOVERY_TRUNCATE, &rc, err);
	fail_pwrite = 0;
	ok(st == NULL && rc == -ENOSPC && strstr(err, "nothing was cut"),
	   "truncate with a full disk: the open fails, nothing cut: %s", err);
	snprintf(cut, sizeof cut, "%s.cut-35", seg);
	ok(same_file(seg, orig, (size_t)end) && tsu_file_size(cut) < 0,
	   "the segment is untouched and no partial copy is left");
	store_close(st);

	tsu_notices = 0;
	st = open_with(STORE_RECOVERY_TRUNCATE, &rc, err);
	ok(st != NULL && end_of(st) == bad, "truncate: opens, the log ends at the bad record");
	ok(tsu_notices == 1 && strstr(tsu_last_notice, "recovery = truncate: cut 525 bytes at "
	   "offset 35") && strstr(tsu_last_notice, "saved in"), "and says so: %s", tsu_last_notice);
	ok(same_file(cut, orig + bad, (size_t)(end - bad)), "the .cut file holds the bytes cut");
	is(tsu_file_size(seg), bad, "the segment is cut on disk");
	store_close(st);
}

/* A resync that runs out of budget cannot rule valid records out. */
static void test_resync_budget(void)
{
	char sub[PATH_MAX + 8], seg[PATH_MAX + 64], err[STORE_ERR_BYTES];
	snprintf(sub, sizeof sub, "%s/t-0", dir);
	tsu_rmrf(sub);
	static const char *const one[] = { "x" };
	struct store *st = must_open(1 << 20);
	int64_t end = put_all(st, one, 1);
	store_close(st);
	/* 32 MiB in which every fourth position reads as a header of a
	 * 15 MiB record that fits the file (and fails its CRC). */
	enum { SZ = 32 << 20 };
	unsigned char *junk = malloc(SZ);
	if (!junk)
		bail_out("out of memory");
	for (size_t i = 0; i < SZ; i += 4) {
		junk[i] = 0x00;
		junk[i + 1] = 0xF0;
		junk[i + 2] = 0x00;
		junk[i + 3] = 0x01;
	}
	snprintf(seg, sizeof seg, "%s/t-0/00000000000000000000.meta", dir);
	int fd = open(seg, O_WRONLY);
	if (fd < 0 || pwrite(fd, junk, SZ, end) != SZ)
		bail_out("write %s", seg);
	close(fd);
	free(junk);
	int rc;
	st = open_with(STORE_RECOVERY_REFUSE, &rc, err);
	ok(st == NULL && rc == -EUCLEAN && strstr(err, "valid records may follow (the search for "
	   "one gave up after 256 MiB of checksums)"), "an exhausted search refuses too: %s", err);
	is(tsu_file_size(seg), end + SZ, "nothing cut");
	store_close(st);
	tsu_rmrf(sub);
}

/* Records bigger than the scan's window: checked in pieces, whole or bad. */
static void test_big_records(void)
{
	char sub[PATH_MAX + 8], seg[PATH_MAX + 64], err[STORE_ERR_BYTES];
	snprintf(sub, sizeof sub, "%s/t-0", dir);
	tsu_rmrf(sub);
	size_t big = (3u << 20) / 2; /* 1.5 MiB: more than SCAN_WINDOW */
	char *payload = malloc(big + 1);
	if (!payload)
		bail_out("out of memory");
	memset(payload, 'b', big);
	payload[big] = '\0';
	const char *msgs[] = { payload, "small after it" };
	struct store *st = must_open(4 << 20);
	int64_t end = put_all(st, msgs, 2);
	store_close(st);
	free(payload);
	tsu_notices = 0;
	st = must_open(4 << 20);
	ok(st && end_of(st) == end && tsu_notices == 0, "a 1.5 MiB record is recovered whole");
	store_close(st);

	snprintf(seg, sizeof seg, "%s/t-0/00000000000000000000.meta", dir);
	int fd = open(seg, O_RDWR);
	if (fd < 0 || pwrite(fd, "B", 1, 1 << 20) != 1)
		bail_out("write %s", seg);
	close(fd);
	int rc;
	st = open_with(STORE_RECOVERY_REFUSE, &rc, err);
	char want[96];
	snprintf(want, sizeof want, "a valid record follows at offset %zu", STORE_RECORD_HEADER + big);
	ok(st == NULL && rc == -EUCLEAN && strstr(err, "bad record at offset 0 of") &&
	   strstr(err, want), "a flipped byte 1 MiB into it is found, and the record after: %s", err);
	store_close(st);
	tsu_rmrf(sub);
}

static void test_misaligned(void)
{
	char path[PATH_MAX + 64], err[STORE_ERR_BYTES];
	/* t-0 now has 0..60 and 60..90; add a stray segment that does not
	 * follow on */
	snprintf(path, sizeof path, "%s/t-0/00000000000000001000.meta", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	struct store *st = tsu_open(dir, 60, NULL, err);
	ok(st == NULL, "misaligned segments refuse the open");
	ok(strstr(err, "00000000000000000060.meta") && strstr(err, "00000000000000001000.meta") &&
	   strstr(err, "ends at offset 90"), "the message names both files: %s", err);
	store_close(st);
	unlink(path);
	st = tsu_open(dir, 60, NULL, err);
	ok(st != NULL, "opens again once the stray file is gone");
	store_close(st);

	/* a gap at the front is fine: retention removed older segments */
	snprintf(path, sizeof path, "%s/t-0/00000000000000000000.meta", dir);
	unlink(path);
	st = tsu_open(dir, 60, NULL, err);
	ok(st != NULL, "a log starting at 60 opens");
	int64_t v = -1;
	struct store_partition *p = st ? store_partition_find(st, "t", 1, 0) : NULL;
	ok(p && store_partition_nearest(p, 0, &v) == 0 && v == 60, "offset 0 -> 60 (first start)");
	store_close(st);
}

int main(void)
{
	tsu_mkdtemp(dir, sizeof dir, "recover");
	test_every_cut();
	test_bad_tails();
	test_torn_in_last_segment();
	test_misaligned();
	test_corruption_before_valid();
	test_resync_budget();
	test_big_records();
	tsu_rmrf(dir);
	return done_testing();
}
