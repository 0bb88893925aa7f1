/*
 * test_store_limits.c - the store's bounds against the real daemon: a deep
 * data_dir does not cut the file names out of the log.
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
