/*
 * test_offsets.c - committed offsets against the real daemon: commit and
 * committed, the limits of OFFSET, lag in `stats groups`, durability
 * across kill -9 (flush_mode = sync: answered means on disk), a torn tail
 * of the log cut at restart without losing the value before it, and
 * offset_retention_ms removing the offsets of a group without members.
 */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/reg_util.h"

static const char *const settings[] = { "flush_mode=sync", NULL };

static int put(struct reg_conn *r, const char *topic, const char *payload)
{
	char line[300];

	snprintf(line, sizeof line, "put %s 0 %zu 0 1\r\n%s", topic, strlen(payload), payload);
	return reg_request(r, line);
}

static int commit(struct reg_conn *r, const char *group, long long offset)
{
	char line[300];

	snprintf(line, sizeof line, "commit t %s 0 %lld 2\r\n", group, offset);
	return reg_request(r, line);
}

/* committed offset of group in t-0, or -1 (404 or error) */
static long long committed(struct reg_conn *r, const char *group)
{
	char line[300], buf[64];

	snprintf(line, sizeof line, "committed t %s 0 3\r\n", group);
	if (reg_request(r, line) != 200)
		return -1;
	return strtoll(reg_body(r, buf, sizeof buf), NULL, 10);
}

int main(void)
{
	struct td_daemon d;
	struct reg_conn r;
	char buf[2048];

	if (td_start(&d, settings) != 0)
		bail_out("pulsemqd did not start");
	reg_open(&r, d.port);
	is(commit(&r, "g1", 0), 404, "commit to a partition that does not exist: 404");
	for (int i = 0; i < 10; i++)
		put(&r, "t", "hello");
	is(committed(&r, "g1"), -1, "nothing committed yet: 404");
	is(commit(&r, "g1", 25), 200, "commit 25");
	is(committed(&r, "g1"), 25, "committed answers 25");
	is(commit(&r, "g1", 50), 200, "commit 50");
	is(committed(&r, "g1"), 50, "committed answers the latest");
	is(commit(&r, "g2", 0), 200, "another group, offset 0");
	is(commit(&r, "g1", 100000), 400, "an offset past the partition's end: 400");
	ok(strstr(reg_body(&r, buf, sizeof buf), "past the end"), "  says so: %s", buf);
	is(committed(&r, "g1"), 50, "the refused commit changed nothing");

	if (reg_request(&r, "stats groups 5\r\n") == 200)
		reg_body(&r, buf, sizeof buf);
	ok(strstr(buf, "g1 t 0 committed=50 end=250 lag=200") != NULL,
	   "stats groups: committed, end and lag per partition");
	ok(strstr(buf, "g2 t 0 committed=0 end=250 lag=250") != NULL, "  for each group");

	/* answered means durable: kill -9 right after the answer */
	is(commit(&r, "g1", 75), 200, "commit 75, then kill -9");
	reg_close(&r);
	td_kill9(&d);
	is(td_restart(&d, settings), 0, "restarted on the same data");
	reg_open(&r, d.port);
	is(committed(&r, "g1"), 75, "the last answered commit survived kill -9");
	is(committed(&r, "g2"), 0, "and the other group's");
	reg_close(&r);

	/* a torn record at the tail: cut at restart, the value before kept */
	is(td_stop(&d, REG_T_MS), 0, "stopped");
	char path[800];
	snprintf(path, sizeof path, "%s/committed-offsets.log", d.data_dir);
	int fd = open(path, O_WRONLY | O_APPEND);
	ok(fd >= 0, "the log is %s", path);
	static const unsigned char torn[] = { 40, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9 };
	ok(fd >= 0 && write(fd, torn, sizeof torn) == (ssize_t)sizeof torn, "a torn record appended");
	if (fd >= 0)
		close(fd);
	is(td_restart(&d, settings), 0, "restarted over the torn tail");
	reg_open(&r, d.port);
	is(committed(&r, "g1"), 75, "the value before the torn record is kept");
	is(commit(&r, "g1", 80), 200, "commits go on after the cut");
	reg_close(&r);
	td_kill9(&d);
	is(td_restart(&d, settings), 0, "restarted again");
	reg_open(&r, d.port);
	is(committed(&r, "g1"), 80, "the commit after the cut was not hidden by the torn bytes");
	reg_close(&r);

	/* retention: no member, no commit for offset_retention_ms */
	td_stop(&d, REG_T_MS);
	static const char *const short_keep[] = { "offset_retention_ms=1000", NULL };
	is(td_restart(&d, short_keep), 0, "restarted with offset_retention_ms=1000");
	reg_open(&r, d.port);
	struct reg_conn member;
	reg_open(&member, d.port);
	is(reg_heartbeat(&member, "keeper", "consumer g2 t\n", 1), 200, "g2 has a member");
	uint64_t deadline = td_now_ms() + REG_T_MS;
	while (committed(&r, "g1") != -1 && td_now_ms() < deadline)
		td_wait_closed(r.c.fd, 100); /* paced polling */
	is(committed(&r, "g1"), -1, "g1 (no member) lost its offset to retention");
	/* g1's went; g2's is as old: it stays only because g2 has a member */
	is(committed(&r, "g2"), 0, "g2 (a member) keeps its offset");
	ok(td_stat(d.port, "", "committed_offsets_expired") >= 1, "counted");
	reg_close(&member);
	reg_close(&r);
	td_kill9(&d);
	is(td_restart(&d, short_keep), 0, "restarted");
	reg_open(&r, d.port);
	is(committed(&r, "g1"), -1, "the removal survived a restart");
	reg_close(&r);
	is(td_stop(&d, REG_T_MS), 0, "clean stop");
	td_cleanup(&d);
	return done_testing();
}
