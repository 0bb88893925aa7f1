/*
 * test_store_limits.c - the store's bounds against the real daemon:
 * max_topics answered 403 naming the setting (configured topics exempt);
 * any number of topics and segments served and recovered under a small
 * RLIMIT_NOFILE (segment files are opened on demand, max_open_files);
 * an idle topic reserves a page, not a MiB; topic names leave room for the
 * partition suffix; stray directories in data_dir are skipped with a
 * notice; and a deep data_dir does not cut the file names out of the log.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define T_MS 10000 /* only guards against hangs (sanitizer builds are slow) */
/* The daemon itself takes about 15 descriptors (log, lock, epoll and
 * eventfds of the IO threads, listeners): 64 leaves 16 segment files
 * (a quarter) and room for connections, and is far below the segments
 * and topics this test makes. */
#define LOW_NOFILE 64
#define MANY_TOPICS 100
#define MANY_SEGMENTS 300
/* A 40-byte payload is a 60-byte record: with segment_bytes = 64 every
 * record has a segment of its own. */
#define PAYLOAD40 "0123456789012345678901234567890123456789"
#define REC60 60

static bool body_has(const struct td_conn *c, const char *s)
{
	char buf[2048];
	size_t n = c->msg.body.len < sizeof buf - 1 ? c->msg.body.len : sizeof buf - 1;
	memcpy(buf, c->msg.body.ptr, n);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static void diag_body(const struct td_conn *c)
{
	diag("  response %d: '%.*s'", c->msg.code,
	     (int)(c->msg.body.len > 300 ? 300 : c->msg.body.len), c->msg.body.ptr);
}

static int put(struct td_conn *c, const char *topic, int part, const char *payload)
{
	char buf[2048];
	int n = snprintf(buf, sizeof buf, "put %s %d %zu 0 1\r\n%s", topic, part, strlen(payload),
	                 payload);
	if (n < 0 || (size_t)n >= sizeof buf)
		return -1;
	if (td_roundtrip(c, buf, (size_t)n, T_MS) != 1 || c->msg.cmd != PMQ_CMD_RESULT)
		return -1;
	return c->msg.code;
}

/* get TOPIC g PART OFF MAX: 200 for a value (body in c->msg), else the code. */
static int get(struct td_conn *c, const char *topic, int part, int64_t off, int max)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "get %s g %d %" PRId64 " %d 1\r\n", topic, part, off, max);
	if (td_roundtrip(c, buf, (size_t)n, T_MS) != 1)
		return -1;
	return c->msg.cmd == PMQ_CMD_VALUE ? 200 : c->msg.code;
}

static char *read_log(const struct td_daemon *d)
{
	FILE *f = fopen(d->log_path, "r");
	static char buf[1 << 16];
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void test_max_topics(void)
{
	struct td_daemon d;
	struct td_conn c;
	struct td_opts o = { .config_text = "[system]\nmax_topics = 3\n\n"
	                                    "[topic=configured]\nnum_partitions = 1\n" };
	if (td_start_opts(&d, &o, NULL) != 0)
		bail_out("cannot start pulsemqd with max_topics = 3");
	td_conn_init(&c, td_connect(d.port));

	bool all = true;
	for (int i = 0; i < 3; i++) {
		char t[16];
		snprintf(t, sizeof t, "t%d", i);
		all = put(&c, t, 0, "x") == 200 && all;
	}
	ok(all, "max_topics = 3: three new topics are created");
	is(put(&c, "t3", 0, "x"), 403, "a fourth is answered 403");
	ok(body_has(&c, "max_topics = 3") && body_has(&c, "t3"),
	   "naming the topic and the setting");
	diag_body(&c);
	is(put(&c, "t4", -1, "x"), 403, "also with partition -1");
	is(put(&c, "t0", 0, "y"), 200, "an existing topic still takes puts");
	is(put(&c, "configured", 0, "x"), 200, "a [topic=NAME] topic is not counted");
	is(td_stat(d.port, "", "store_topics"), 4, "stats: store_topics 4");
	is(td_stat(d.port, "", "store_topics_refused"), 2, "stats: store_topics_refused 2");
	td_conn_free(&c);
	is(td_stop(&d, T_MS), 0, "clean stop");

	/* More topics on disk than the limit: all served, none created. */
	const char *two[] = { "max_topics=2", NULL };
	if (!ok(td_restart(&d, two) == 0, "restart with max_topics = 2 below the 3 on disk"))
		bail_out("cannot restart pulsemqd");
	td_conn_init(&c, td_connect(d.port));
	ok(strstr(read_log(&d), "more than max_topics = 2") != NULL, "which the log says");
	is(put(&c, "t2", 0, "z"), 200, "existing topics are served");
	is(put(&c, "t5", 0, "z"), 403, "new ones are refused");
	td_conn_free(&c);
	td_stop(&d, T_MS);
	td_cleanup(&d);
}

/* Reads every record of topic-part (records of REC60 bytes from 0) back. */
static bool read_back(struct td_conn *c, const char *topic, int part, int n)
{
	for (int i = 0; i < n; i++) {
		int code = get(c, topic, part, (int64_t)i * REC60, 1000);
		if (code != 200 || c->msg.body.len != REC60 ||
		    memcmp(c->msg.body.ptr + 20, PAYLOAD40, 40) != 0) {
			diag("record %d of %s-%d: get answered %d", i, topic, part, code);
			return false;
		}
	}
	return true;
}

static void test_low_nofile(void)
{
	struct td_daemon d;
	struct td_conn c;
	struct td_opts o = { .nofile = LOW_NOFILE };
	const char *settings[] = { "segment_bytes=64", NULL };
	char t[32];

	if (td_start_opts(&d, &o, settings) != 0)
		bail_out("cannot start pulsemqd under RLIMIT_NOFILE %d", LOW_NOFILE);
	td_conn_init(&c, td_connect(d.port));
	is(td_stat(d.port, "", "store_max_open_files"), LOW_NOFILE / 4,
	   "max_open_files = 0: a quarter of RLIMIT_NOFILE");

	int code = 0, i;
	for (i = 0; i < MANY_TOPICS && (code = put(&c, (snprintf(t, sizeof t, "many%d", i), t), 0,
	                                             PAYLOAD40)) == 200; i++)
		;
	if (!ok(i == MANY_TOPICS, "%d topics under RLIMIT_NOFILE %d (got %d)", MANY_TOPICS,
	        LOW_NOFILE, i))
		diag_body(&c);
	for (i = 0; i < MANY_SEGMENTS && (code = put(&c, "segs", 0, PAYLOAD40)) == 200; i++)
		;
	if (!ok(i == MANY_SEGMENTS, "%d segments of one partition (got %d)", MANY_SEGMENTS, i))
		diag_body(&c);
	ok(read_back(&c, "segs", 0, MANY_SEGMENTS), "every record reads back");
	long long open = td_stat(d.port, "", "store_open_files");
	ok(open >= 0 && open <= LOW_NOFILE / 4, "at most max_open_files stay open (%lld)", open);
	td_conn_free(&c);
	is(td_stop(&d, T_MS), 0, "clean stop");

	/* Recovery opens no more files than the cache holds. */
	if (!ok(td_restart(&d, settings) == 0, "restart on %d partitions and %d segments under "
	        "RLIMIT_NOFILE %d", MANY_TOPICS + 1, MANY_TOPICS + MANY_SEGMENTS, LOW_NOFILE))
		bail_out("cannot restart pulsemqd under a low RLIMIT_NOFILE");
	td_conn_init(&c, td_connect(d.port));
	is(td_stat(d.port, "", "store_partitions"), MANY_TOPICS + 1, "every partition is back");
	ok(read_back(&c, "segs", 0, MANY_SEGMENTS), "every record reads back after the restart");
	bool all = true;
	for (i = 0; i < MANY_TOPICS; i++) {
		snprintf(t, sizeof t, "many%d", i);
		all = read_back(&c, t, 0, 1) && all;
	}
	ok(all, "and every topic's");
	is(put(&c, "segs", 0, PAYLOAD40), 200, "puts go on after the restart");
	td_conn_free(&c);
	is(td_stop(&d, T_MS), 0, "clean stop");
	td_cleanup(&d);
}

static void test_reserve_steps(void)
{
	struct td_daemon d;
	struct td_conn c;
	char t[32], path[1024];
	if (td_start(&d, NULL) != 0)
		bail_out("cannot start pulsemqd");
	td_conn_init(&c, td_connect(d.port));
	bool all = true;
	off_t biggest = 0;
	for (int i = 0; i < 20; i++) {
		snprintf(t, sizeof t, "idle%d", i);
		all = put(&c, t, 0, "x") == 200 && all;
		snprintf(path, sizeof path, "%s/%s-0/00000000000000000000.meta", d.data_dir, t);
		off_t sz = file_size(path);
		if (sz > biggest || sz < 0)
			biggest = sz < 0 ? INT32_MAX : sz;
	}
	ok(all, "20 topics of one one-byte message");
	ok(biggest <= 4096, "each reserves at most 4 KiB while running (biggest %lld bytes)",
	   (long long)biggest);
	td_conn_free(&c);
	td_stop(&d, T_MS);
	snprintf(path, sizeof path, "%s/idle0-0/00000000000000000000.meta", d.data_dir);
	is(file_size(path), 21, "a clean stop cuts the reservation");
	td_cleanup(&d);
}

static void test_name_limit(void)
{
	struct td_daemon d;
	struct td_conn c;
	char name[300], path[1024];
	const char *settings[] = { "num_partitions=1024", NULL };
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	td_conn_init(&c, td_connect(d.port));

	memset(name, 'n', 250);
	name[250] = '\0';
	is(put(&c, name, 1023, "x"), 200, "a 250-byte topic, partition 1023: a 255-byte name");
	snprintf(path, sizeof path, "%s/%s-1023", d.data_dir, name);
	ok(file_size(path) >= 0, "its directory exists");
	memset(name, 'm', 254);
	name[254] = '\0';
	is(put(&c, name, 0, "x"), 400, "a 254-byte topic: 400");
	ok(body_has(&c, "at most 250"), "saying the limit");
	diag_body(&c);
	name[251] = '\0';
	is(put(&c, name, 0, "x"), 400, "a 251-byte topic: 400 too (no partition would fit)");
	is(td_stat(d.port, "", "store_topics"), 1, "refused names leave no topic behind");
	td_conn_free(&c);
	td_stop(&d, T_MS);
	td_cleanup(&d);
}

static int mkdirf(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return mkdir(path, 0755);
}

static int copy_file(const char *from, const char *to)
{
	char buf[4096];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t n;
	int rc = in && out ? 0 : -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

static void test_stray_dirs(void)
{
	struct td_daemon d;
	struct td_conn c;
	char from[1024], to[1024];
	if (td_start(&d, NULL) != 0)
		bail_out("cannot start pulsemqd");
	td_conn_init(&c, td_connect(d.port));
	is(put(&c, "dup", 0, "hello"), 200, "a record in dup-0");
	td_conn_free(&c);
	td_stop(&d, T_MS);

	/* dup-00 holds the same files as dup-0: the same partition twice */
	mkdirf(d.data_dir, "dup-00");
	snprintf(from, sizeof from, "%s/dup-0/00000000000000000000.meta", d.data_dir);
	snprintf(to, sizeof to, "%s/dup-00/00000000000000000000.meta", d.data_dir);
	ok(copy_file(from, to) == 0, "dup-00: a copy of dup-0");
	mkdirf(d.data_dir, "big-50000000");
	mkdirf(d.data_dir, "huge-2147483646");
	mkdirf(d.data_dir, "past-99999999999999999999");
	mkdirf(d.data_dir, "lost+found");

	if (!ok(td_restart(&d, NULL) == 0, "stray directories do not stop the start"))
		bail_out("cannot restart pulsemqd");
	td_conn_init(&c, td_connect(d.port));
	const char *log = read_log(&d);
	ok(strstr(log, "ignoring") && strstr(log, "/dup-00: not a partition directory "
	   "(partition numbers are written without leading zeros)"), "dup-00 is skipped, saying why");
	ok(strstr(log, "/big-50000000: not a partition directory (partition numbers are 0 to "
	   "1023)"), "big-50000000 is skipped, saying why");
	ok(strstr(log, "/huge-2147483646: not a partition"), "huge-2147483646 is skipped");
	ok(strstr(log, "/past-99999999999999999999: not a partition"), "so is a number past int64");
	ok(!strstr(log, "lost+found"), "a directory of another shape is ignored silently");
	is(td_stat(d.port, "", "store_partitions"), 1, "one partition: dup-0");
	is(get(&c, "dup", 0, 0, 1000), 200, "dup-0 is served");
	ok(c.msg.body.len == 25 && memcmp(c.msg.body.ptr + 20, "hello", 5) == 0, "its record");
	snprintf(to, sizeof to, "%s/big-50000000/00000000000000000000.meta", d.data_dir);
	ok(file_size(to) < 0, "nothing was created in a skipped directory");
	td_conn_free(&c);
	is(td_stop(&d, T_MS), 0, "clean stop");
	td_cleanup(&d);
}

/* Makes dir/sub/sub/... (components of 100 bytes) until the path is at
 * least len bytes long; the result into out. */
static int deep_dir(const char *dir, size_t len, char *out, size_t cap)
{
	char comp[101];
	memset(comp, 'd', 100);
	comp[100] = '\0';
	snprintf(out, cap, "%s", dir);
	while (strlen(out) < len) {
		size_t n = strlen(out);
		if (n + 102 >= cap)
			return -1;
		snprintf(out + n, cap - n, "/%s", comp);
		if (mkdir(out, 0755) != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static void test_deep_data_dir(void)
{
	struct td_daemon d;
	struct td_conn c;
	char stray[1024];
	if (td_start(&d, NULL) != 0)
		bail_out("cannot start pulsemqd");
	td_stop(&d, T_MS);
	/* 500 bytes of data_dir: the old 256-byte error text lost the names */
	if (deep_dir(d.dir, 500, d.data_dir, sizeof d.data_dir) != 0)
		bail_out("cannot make a deep data directory");
	if (td_restart(&d, NULL) != 0)
		bail_out("cannot start pulsemqd on a deep data directory");
	td_conn_init(&c, td_connect(d.port));
	is(put(&c, "deep", 0, "hello"), 200, "a record under a 500-byte data_dir");
	td_conn_free(&c);
	td_stop(&d, T_MS);

	snprintf(stray, sizeof stray, "%s/deep-0/00000000000000099999.meta", d.data_dir);
	FILE *f = fopen(stray, "w");
	if (f)
		fclose(f);
	ok(td_restart(&d, NULL) != 0, "misaligned segments refuse the start");
	const char *log = read_log(&d);
	ok(strstr(log, "do not line up") && strstr(log, "00000000000000000000.meta holds 25 bytes")
	   && strstr(log, "the next file is 00000000000000099999.meta; move the stray"),
	   "the log line names both files in full");
	td_cleanup(&d);
}

static const struct {
	const char *name;
	void (*fn)(void);
} parts[] = {
	{ "max_topics", test_max_topics },
	{ "nofile", test_low_nofile },
	{ "reserve", test_reserve_steps },
	{ "names", test_name_limit },
	{ "stray", test_stray_dirs },
	{ "deep", test_deep_data_dir },
};

/* With an argument, only the part of that name runs (to look at one). */
int main(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (argc < 2 || strcmp(argv[1], parts[i].name) == 0)
			parts[i].fn();
	return done_testing();
}
