/*
 * test_log.c - the daemon's log: line format, levels, one write per line
 * under concurrent writers, cut-off of long lines, reopen after a rename.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/common/log.h"
#include "tests/tap.h"

#define THREADS 4
#define LINES_PER_THREAD 2000

static char dir[512], path[600];

static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "r");
	char *buf = calloc(1, 4 << 20);
	size_t n = 0;
	if (f && buf) {
		n = fread(buf, 1, (4 << 20) - 1, f);
		buf[n] = '\0';
	}
	if (f)
		fclose(f);
	if (len)
		*len = n;
	return buf;
}

static void *writer(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < LINES_PER_THREAD; i++)
		pmq_log(PMQ_LOG_INFO, "thread %ld line %d %s", id, i,
		        "padding-padding-padding-padding-padding-padding-padding");
	return NULL;
}

int main(void)
{
	const char *tmp = getenv("PMQ_TEST_TMPDIR");
	snprintf(dir, sizeof dir, "%s/test_log.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		bail_out("mkdtemp failed");
	snprintf(path, sizeof path, "%s/pulsemqd.log", dir);

	is(log_level_parse("error"), PMQ_LOG_ERROR, "level 'error'");
	is(log_level_parse("debug"), PMQ_LOG_DEBUG, "level 'debug'");
	is(log_level_parse("verbose"), -1, "an unknown level is -1");

	is(log_open("/nonexistent-dir/x.log", PMQ_LOG_INFO), -ENOENT, "an unopenable file: -ENOENT");
	is(log_open(path, PMQ_LOG_INFO), 0, "log_open on a file");
	ok(log_enabled(PMQ_LOG_WARN) && log_enabled(PMQ_LOG_INFO) && !log_enabled(PMQ_LOG_DEBUG),
	   "info: warn and info on, debug off");
	pmq_log(PMQ_LOG_INFO, "hello %d", 42);
	pmq_log(PMQ_LOG_DEBUG, "not shown");
	pmq_log(PMQ_LOG_WARN, "two\nlines");

	char *text = slurp(path, NULL);
	regex_t re;
	regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z INFO "
	        "([a-z_]+\\.c:[0-9]+: )?hello 42\n", REG_EXTENDED | REG_NEWLINE);
	ok(regexec(&re, text, 0, NULL, 0) == 0, "ISO 8601 UTC with ms, level, message");
	regfree(&re);
#ifdef PMQ_DEBUG
	ok(strstr(text, "test_log.c:") != NULL, "debug builds add FILE:LINE");
#else
	ok(strstr(text, "test_log.c:") == NULL, "release builds leave FILE:LINE out");
#endif
	ok(strstr(text, "not shown") == NULL, "a disabled level is not written");
	ok(strstr(text, "WARN ") && strstr(text, "two lines\n"), "a newline in a message stays one line");
	free(text);

	/* A long message is cut, still one line. */
	char big[10000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pmq_log(PMQ_LOG_ERROR, "%s", big);
	text = slurp(path, NULL);
	char *cut = strstr(text, "xxx...\n");
	ok(cut != NULL, "a long line is cut and marked with '...'");
	free(text);

	/* Reopen after a rename: new lines go to a new file by the same name. */
	char rotated[620];
	snprintf(rotated, sizeof rotated, "%s.1", path);
	rename(path, rotated);
	pmq_log(PMQ_LOG_INFO, "before reopen");
	is(log_reopen(), 0, "log_reopen");
	pmq_log(PMQ_LOG_INFO, "after reopen");
	text = slurp(rotated, NULL);
	ok(strstr(text, "before reopen") && !strstr(text, "after reopen"), "old lines in the old file");
	free(text);
	text = slurp(path, NULL);
	ok(strstr(text, "after reopen") && !strstr(text, "before reopen"), "new lines in the new file");
	free(text);

	/* Concurrent writers: every line arrives whole. */
	unlink(path);
	is(log_reopen(), 0, "log_reopen onto a fresh file");
	pthread_t th[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	size_t len;
	text = slurp(path, &len);
	int lines = 0, good = 0;
	regcomp(&re, "^[0-9T:.Z-]{24} INFO ([a-z_]+\\.c:[0-9]+: )?thread [0-9] line [0-9]+ "
	        "(padding-){6}padding$", REG_EXTENDED);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		lines++;
		good += regexec(&re, line, 0, NULL, 0) == 0;
	}
	regfree(&re);
	is(lines, THREADS * LINES_PER_THREAD, "every line of %d threads arrived", THREADS);
	is(good, THREADS * LINES_PER_THREAD, "no line is interleaved with another");
	free(text);

	is(log_open("", PMQ_LOG_ERROR), 0, "log_open(\"\") goes back to stderr");
	ok(!log_enabled(PMQ_LOG_WARN), "level error: warn off");
	log_close();

	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
