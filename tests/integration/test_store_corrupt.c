/*
 * test_store_corrupt.c - damaged segments against the real daemon.
 *
 * Recovery: one flipped byte in the middle of the last segment, with
 * acknowledged records after it, makes the start fail (exit 3, the log
 * naming the file, the offset and recovery = truncate) and cuts nothing;
 * recovery = truncate cuts there and saves the bytes first; a torn tail is
 * still cut, and saved too.
 *
 * Reads: a bad checksum, a length past the segment's end and a length no
 * get can return, in segments that recovery does not scan, are answered
 * 500 naming the offset; the log says so once per offset; `pulsemq get`
 * exits 3 on a bad record and 1 on the 500; `pulsemqd --scrub` lists every
 * bad record with its file and offset and exits 1, 0 on clean data, and
 * refuses while a broker runs.
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

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		buf = malloc(n > 0 ? (size_t)n + 1 : 1);
		rewind(f);
		if (buf && n >= 0 && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

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

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
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

/* How often s occurs in the daemon's log. */
static int log_count(const struct td_daemon *d, const char *s)
{
	size_t len;
	char *log = slurp(d->log_path, &len);
	int n = 0;
	for (const char *p = log; p && (p = strstr(p, s)); p += strlen(s))
		n++;
	free(log);
	return n;
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

/* get: 200 for a value, else the result code; the body in c->msg. */
static int get(struct td_conn *c, const char *topic, int part, int64_t off, int max)
{
	char line[256];
	int n = snprintf(line, sizeof line, "get %s grp %d %" PRId64 " %d 9\r\n", topic, part, off,
	                 max);
	if (td_roundtrip(c, line, (size_t)n, T_MS) != 1)
		return -1;
	return c->msg.cmd == PMQ_CMD_VALUE ? 200 : c->msg.code;
}

static bool body_has(const struct td_conn *c, const char *s)
{
	char buf[2048];
	size_t n = c->msg.body.len < sizeof buf - 1 ? c->msg.body.len : sizeof buf - 1;
	memcpy(buf, c->msg.body.ptr, n);
	buf[n] = '\0';
	if (!strstr(buf, s)) {
		diag("  body '%s' lacks '%s'", buf, s);
		return false;
	}
	return true;
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

static void test_refuse(struct td_daemon *d, char *seg, size_t cap)
{
	char want[2048];
	fill_partition(d);
	is(td_stop(d, T_MS), 0, "clean stop");
	snprintf(seg, cap, "%s/rec-0/" SEG0, d->data_dir);
	ok(file_size(seg) == offs[NREC], "the segment ends at its last record");

	/* One byte of record 1's payload: records 2..15 still check out. */
	flip_byte(seg, offs[1] + 20 + 7);
	size_t before_len;
	char *before = slurp(seg, &before_len);

	diag("a bad record followed by valid ones must refuse the start:");
	ok(td_restart(d, NULL) != 0, "a flipped byte before 14 valid records: the start is refused");
	is(d->exit_status, 3, "exit status 3 (the data needs the operator)");
	snprintf(want, sizeof want, "bad record at offset %" PRId64 " of %s (checksum mismatch)",
	         offs[1], seg);
	ok(log_count(d, want) > 0, "the log names the file, the offset and the reason");
	snprintf(want, sizeof want, "a valid record follows at offset %" PRId64, offs[2]);
	ok(log_count(d, want) > 0, "and where the valid records resume");
	ok(log_count(d, "Set recovery = truncate to cut them") > 0, "and the option that cuts them");

	size_t after_len;
	char *after = slurp(seg, &after_len);
	ok(before && after && before_len == after_len && memcmp(before, after, after_len) == 0,
	   "nothing was cut: the segment is byte for byte as it was");
	char cut[800];
	snprintf(cut, sizeof cut, "%s.cut-%" PRId64, seg, offs[1]);
	ok(file_size(cut) < 0, "and no .cut file was written");
	free(before);
	free(after);
}

static void test_truncate(struct td_daemon *d, const char *seg)
{
	const char *truncate_on[] = { "recovery=truncate", NULL };
	char want[2400], cut[800];
	size_t seg_len;
	char *orig = slurp(seg, &seg_len);

	if (!ok(td_restart(d, truncate_on) == 0, "recovery = truncate: the daemon starts"))
		bail_out("cannot start with recovery = truncate");
	snprintf(cut, sizeof cut, "%s.cut-%" PRId64, seg, offs[1]);
	snprintf(want, sizeof want, "recovery = truncate: cut %" PRId64 " bytes at offset %" PRId64
	         " of %s (checksum mismatch) although a valid record follows at offset %" PRId64
	         "; the bytes cut are saved in %s", offs[NREC] - offs[1], offs[1], seg, offs[2], cut);
	is(log_count(d, want), 1, "the log says what was cut and where it is saved");
	size_t cut_len;
	char *saved = slurp(cut, &cut_len);
	ok(orig && saved && cut_len == (size_t)(offs[NREC] - offs[1]) &&
	   memcmp(saved, orig + offs[1], cut_len) == 0,
	   "%s holds exactly the %zu bytes cut", strrchr(cut, '/') + 1, cut_len);
	is(file_size(seg), offs[1], "the segment ends where the bad record began");

	struct td_conn c = conn_to(d);
	ok(get(&c, "rec", 0, 0, 65536) == 200 && c.msg.body.len == (size_t)offs[1],
	   "a get from 0 returns the one record before the bad one");
	int64_t off, id;
	is(put(&c, "rec", 0, "after the cut", &off, &id), 200, "a put after the cut");
	ok(off == offs[1] && id > ids[NREC - 1], "lands at the cut, with an id above the saved ones");
	td_conn_free(&c);
	free(orig);
	free(saved);
}

static void test_torn_saved(struct td_daemon *d)
{
	struct td_conn c = conn_to(d);
	int64_t end, id;
	is(put(&c, "torn", 0, "the only whole record", &end, &id), 200, "a put to torn-0");
	td_conn_free(&c);
	end += 20 + (int64_t)strlen("the only whole record");
	is(td_stop(d, T_MS), 0, "clean stop");

	/* An append a crash cut short: header and 5 of its 12 payload bytes. */
	static const unsigned char torn[] = {
		0, 0, 0, 12, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0, 0, 0x27, 0x10, 0, 0, 0, 0,
		'h', 'a', 'l', 'f', ' ',
	};
	char seg[700], cut[800], want[2400];
	snprintf(seg, sizeof seg, "%s/torn-0/" SEG0, d->data_dir);
	if (write_at(seg, torn, sizeof torn, end) != 0)
		bail_out("append to %s", seg);
	if (!ok(td_restart(d, NULL) == 0, "a torn tail does not stop the start"))
		bail_out("cannot restart after a torn tail");
	snprintf(cut, sizeof cut, "%s.cut-%" PRId64, seg, end);
	snprintf(want, sizeof want, "truncated a torn tail of %zu bytes at offset %" PRId64
	         " of %s (record runs past the end of its segment); the bytes cut are saved in %s",
	         sizeof torn, end, seg, cut);
	is(log_count(d, want), 1, "the log says it was cut and where the bytes are");
	size_t len;
	char *saved = slurp(cut, &len);
	ok(saved && len == sizeof torn && memcmp(saved, torn, len) == 0,
	   "the .cut file holds the torn bytes");
	is(file_size(seg), end, "the segment ends at its last whole record");
	free(saved);
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

static void test_reads(struct td_daemon *d, const char *const *settings, const int64_t bad[3])
{
	char want[300];
	if (!ok(td_restart(d, settings) == 0, "the daemon starts: the last segment is intact"))
		bail_out("cannot restart");

	struct td_conn c = conn_to(d);
	is(get(&c, "mid", 0, bad[0], 65536), 500, "get at a record with a bad checksum: 500");
	snprintf(want, sizeof want, "corrupt record at offset %" PRId64 " in mid-0: checksum "
	         "mismatch", bad[0]);
	ok(body_has(&c, want), "naming the offset, the partition and the reason");
	is(get(&c, "mid", 0, bad[0], 65536), 500, "asked again: 500 again");
	is(log_count(d, want), 1, "logged once for that offset, not once per get");

	is(get(&c, "mid", 0, bad[2], 65536), 500, "get at a record whose length passes the segment: 500");
	snprintf(want, sizeof want, "corrupt record at offset %" PRId64 " in mid-0: record runs "
	         "past the end of its segment", bad[2]);
	ok(body_has(&c, want), "naming the offset");

	is(get(&c, "mid", 0, bad[1], 65536), 500, "get at a record longer than max_transfer_bytes: 500");
	snprintf(want, sizeof want, "record at offset %" PRId64 " in mid-0 is 3020 bytes, more "
	         "than max_transfer_bytes (2048)", bad[1]);
	ok(body_has(&c, want), "saying no get can return it");

	ok(get(&c, "mid", 0, moffs[1], 65536) == 200 && c.msg.body.len > 220,
	   "get one record earlier: the good record comes first, served as before");
	ok(td_stat(d->port, "", "store_corrupt_reads") == 3, "stats: store_corrupt_reads 3");
	td_conn_free(&c);
}

static void test_cli(const struct td_daemon *d, const char *cli, const int64_t bad[3])
{
	char port[16], off[32], want[300];
	snprintf(port, sizeof port, "%d", d->port);
	snprintf(off, sizeof off, "%" PRId64, moffs[1]);
	const char *const from_good[] = { cli, "-p", port, "get", "mid", "0", off, NULL };
	run_prog(&out, NULL, RUN_MS, from_good);
	is(out.status, 3, "pulsemq get over a bad record: exit 3");
	ok(strstr(out.out, "middle segment record 01") && strstr(out.out, "CHECKSUM MISMATCH"),
	   "after printing the good record and the flagged bad one");
	snprintf(want, sizeof want, "checksum mismatch in the record at offset %" PRId64, bad[0]);
	ok(strstr(out.err, want) != NULL, "stderr names the bad record's offset");

	snprintf(off, sizeof off, "%" PRId64, bad[0]);
	const char *const at_bad[] = { cli, "-p", port, "get", "mid", "0", off, NULL };
	run_prog(&out, NULL, RUN_MS, at_bad);
	ok(out.status == 1 && strstr(out.err, "500 corrupt record at offset"),
	   "pulsemq get at the bad record: exit 1 with the broker's 500");
}

static void test_scrub(const struct td_daemon *d, const int64_t bad[3])
{
	char want[2400], seg1[800], dir[700];
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
	const char *cli = getenv("PULSEMQ_CLI");
	struct td_daemon d;
	char seg[700];
	int64_t bad[3];
	if (!cli)
		bail_out("PULSEMQ_CLI is not set (run under make check)");

	if (td_start(&d, NULL) != 0)
		bail_out("cannot start pulsemqd");
	test_refuse(&d, seg, sizeof seg);
	test_truncate(&d, seg);
	is(scrub(d.data_dir), 1, "--scrub while the broker runs: exit 1");
	ok(strstr(out.err, "is in use by a running broker") != NULL, "saying so");
	test_torn_saved(&d);
	is(td_stop(&d, T_MS), 0, "clean stop");
	is(scrub(d.data_dir), 0, "--scrub on intact data (after the cuts): exit 0");
	ok(out_has(" 0 bad, 0 torn tails"), "nothing bad reported");
	td_cleanup(&d);

	const char *small[] = { "segment_bytes=4096", "max_body_bytes=1000",
	                        "max_transfer_bytes=2048", NULL };
	if (td_start(&d, small) != 0)
		bail_out("cannot start pulsemqd");
	fill_mid(&d);
	is(td_stop(&d, T_MS), 0, "clean stop");
	damage_mid(&d, bad);
	test_reads(&d, small, bad);
	test_cli(&d, cli, bad);
	is(td_stop(&d, T_MS), 0, "clean stop");
	test_scrub(&d, bad);
	td_cleanup(&d);
	return done_testing();
}
