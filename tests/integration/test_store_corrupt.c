/*
 * test_store_corrupt.c - damaged segments against the real daemon.
 *
 * `pulsemqd --scrub` lists every bad record (a bad checksum, a length that
 * fits its segment but not its record, one that runs past the segment)
 * with its file and offset and exits 1, exits 0 on clean data, and refuses
 * while a broker runs.
 */
#include <config.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/test_cli_run.h"
#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define T_MS 10000   /* guards against hangs only */
#define RUN_MS 30000
#define NREC 16      /* records in the recovery test's partition */
#define NMID 60      /* records in the read test's partition: four segments */
#define SEG0 "00000000000000000000.meta"

static struct run_out out;

/* --- bytes on disk ----------------------------------------------------- */

static int write_at(const char *path, const void *buf, size_t len, int64_t pos)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = pwrite(fd, buf, len, (off_t)pos);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static void flip_byte(const char *path, int64_t pos)
{
	int fd = open(path, O_RDWR);
	unsigned char b;
	if (fd < 0 || pread(fd, &b, 1, pos) != 1)
		bail_out("read %s", path);
	b ^= 0x20;
	if (pwrite(fd, &b, 1, pos) != 1)
		bail_out("write %s", path);
	close(fd);
}

static void set_len(const char *path, int64_t pos, uint32_t len)
{
	unsigned char be[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
	                        (unsigned char)(len >> 8), (unsigned char)len };
	if (write_at(path, be, 4, pos) != 0)
		bail_out("write %s", path);
}

/* The segment of dir holding offset: its path and start. */
static int64_t segment_of(const char *dir, int64_t offset, char *path, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int64_t best = -1;
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		long long start;
		char tail[8];
		if (strlen(de->d_name) != 25 || sscanf(de->d_name, "%20lld%7s", &start, tail) != 2 ||
		    strcmp(tail, ".meta") != 0)
			continue;
		if (start <= offset && start > best)
			best = start;
	}
	closedir(d);
	snprintf(path, cap, "%s/%020" PRId64 ".meta", dir, best);
	return best;
}

/* --- the broker -------------------------------------------------------- */

/* Puts payload to topic-part: 200 with *offset and *msgid, else the code. */
static int put(struct td_conn *c, const char *topic, int part, const char *payload,
               int64_t *offset, int64_t *msgid)
{
	char buf[1024];
	size_t len = strlen(payload);
	int n = snprintf(buf, sizeof buf, "put %s %d %zu 0 1\r\n", topic, part, len);
	memcpy(buf + n, payload, len);
	if (td_roundtrip(c, buf, (size_t)n + len, T_MS) != 1 || c->msg.cmd != PMQ_CMD_RESULT)
		return -1;
	if (c->msg.code == 200) {
		char ans[128];
		size_t k = c->msg.body.len < sizeof ans - 1 ? c->msg.body.len : sizeof ans - 1;
		memcpy(ans, c->msg.body.ptr, k);
		ans[k] = '\0';
		long long id, off;
		int p;
		if (sscanf(ans, "%lld %d %lld", &id, &p, &off) != 3)
			return -1;
		*offset = off;
		*msgid = id;
	}
	return c->msg.code;
}

static struct td_conn conn_to(const struct td_daemon *d)
{
	struct td_conn c;
	td_conn_init(&c, td_connect(d->port));
	return c;
}

/* pulsemqd --scrub on data_dir. */
static int scrub(const char *data_dir)
{
	const char *bin = getenv("PULSEMQD");
	char opt[700];
	snprintf(opt, sizeof opt, "data_dir=%s", data_dir);
	const char *const argv[] = { bin ? bin : "./pulsemqd", "--scrub", "-o", opt, NULL };
	return run_prog(&out, NULL, RUN_MS, argv);
}

static bool out_has(const char *s)
{
	if (strstr(out.out, s))
		return true;
	diag("  stdout lacks '%s': %.1500s", s, out.out);
	return false;
}

/* --- item 6: recovery ------------------------------------------------ */

static int64_t offs[NREC + 1], ids[NREC];

static void fill_partition(struct td_daemon *d)
{
	struct td_conn c = conn_to(d);
	char payload[128];
	bool all = true;
	for (int i = 0; i < NREC; i++) {
		snprintf(payload, sizeof payload, "acknowledged record %02d of the recovery test", i);
		all &= put(&c, "rec", 0, payload, &offs[i], &ids[i]) == 200;
	}
	offs[NREC] = offs[NREC - 1] + 20 + (int64_t)strlen(payload);
	ok(all, "%d puts acknowledged", NREC);
	td_conn_free(&c);
}

/* --- item 7: reads ---------------------------------------------------- */

static int64_t moffs[NMID + 1];

static void fill_mid(struct td_daemon *d)
{
	struct td_conn c = conn_to(d);
	char payload[256];
	bool all = true;
	int64_t id;
	for (int i = 0; i < NMID; i++) {
		int n = snprintf(payload, sizeof payload, "middle segment record %02d ", i);
		memset(payload + n, 'a' + i % 26, 200 - (size_t)n);
		payload[200] = '\0';
		all &= put(&c, "mid", 0, payload, &moffs[i], &id) == 200;
	}
	moffs[NMID] = moffs[NMID - 1] + 220;
	ok(all, "%d puts of 220-byte records", NMID);
	td_conn_free(&c);
}

/* Records 2 (segment 0) and 18, 20 (segment 1): four segments of 18
 * records, so recovery, which scans only the last, starts cleanly. */
static void damage_mid(const struct td_daemon *d, int64_t bad[3])
{
	char dir[700], seg[800];
	snprintf(dir, sizeof dir, "%s/mid-0", d->data_dir);
	bad[0] = moffs[2];
	bad[1] = moffs[18];
	bad[2] = moffs[20];
	int64_t s0 = segment_of(dir, bad[0], seg, sizeof seg);
	flip_byte(seg, bad[0] - s0 + 20 + 50);
	int64_t s1 = segment_of(dir, bad[1], seg, sizeof seg);
	ok(s0 == 0 && s1 == bad[1] && segment_of(dir, moffs[NMID - 1], seg, sizeof seg) > bad[2],
	   "the damaged records are in the first and second of several segments");
	segment_of(dir, bad[1], seg, sizeof seg);
	set_len(seg, bad[1] - s1, 3000);        /* fits the segment, not a get */
	set_len(seg, bad[2] - s1, 0x7ffffff0u); /* runs far past the segment */
}

static void test_scrub(const struct td_daemon *d, const int64_t bad[3])
{
	char want[900], seg1[800], dir[700];
	snprintf(dir, sizeof dir, "%s/mid-0", d->data_dir);
	segment_of(dir, bad[1], seg1, sizeof seg1);
	is(scrub(d->data_dir), 1, "pulsemqd --scrub on the damaged data: exit 1");
	snprintf(want, sizeof want, "%s/" SEG0 ": bad record at offset %" PRId64 " (byte %" PRId64
	         "): checksum mismatch; 220 bad bytes, the next valid record is at offset %" PRId64,
	         dir, bad[0], bad[0], moffs[3]);
	ok(out_has(want), "reports the checksum mismatch with file, offset and the next record");
	snprintf(want, sizeof want, "%s: bad record at offset %" PRId64 " (byte 0): checksum "
	         "mismatch", seg1, bad[1]);
	ok(out_has(want), "reports the record with a wrong length inside its segment");
	snprintf(want, sizeof want, "%s: bad record at offset %" PRId64 " (byte %" PRId64 "): "
	         "record runs past the end of its segment", seg1, bad[2], bad[2] - bad[1]);
	ok(out_has(want), "reports the record whose length passes the segment");
	snprintf(want, sizeof want, "%d valid records (%d bytes); 3 bad, 0 torn tails", NMID - 3,
	         (NMID - 3) * 220);
	ok(out_has(want), "and every other record as valid");
}

int main(void)
{
	struct td_daemon d;
	int64_t bad[3];

	if (td_start(&d, NULL) != 0)
		bail_out("cannot start pulsemqd");
	fill_partition(&d);
	is(scrub(d.data_dir), 1, "--scrub while the broker runs: exit 1");
	ok(strstr(out.err, "is in use by a running broker") != NULL, "saying so");
	is(td_stop(&d, T_MS), 0, "clean stop");
	is(scrub(d.data_dir), 0, "--scrub on intact data: exit 0");
	ok(out_has(" 0 bad, 0 torn tails"), "nothing bad reported");
	td_cleanup(&d);

	const char *small[] = { "segment_bytes=4096", "max_body_bytes=1000",
	                        "max_transfer_bytes=2048", NULL };
	if (td_start(&d, small) != 0)
		bail_out("cannot start pulsemqd");
	fill_mid(&d);
	is(td_stop(&d, T_MS), 0, "clean stop");
	damage_mid(&d, bad);
	test_scrub(&d, bad);
	td_cleanup(&d);
	return done_testing();
}
