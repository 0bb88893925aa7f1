/*
 * test_groups_notify.c - notify pushes against the real daemon: three
 * consumers in a group, one joins, one leaves, one is killed with SIGKILL:
 * each survivor gets a notify with the new generation. A burst of 200
 * joins gives each member at most 2 notifies (coalescing), the last one
 * with the final generation.
 */
#include <config.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/reg_util.h"

#define BURST 200

static const char *const settings[] = { "notify_coalesce_ms=100", NULL };

/* A client in another process: registers in GROUP, says so on the pipe,
 * then waits to be killed. */
static pid_t spawn_member(int port, const char *id, const char *group)
{
	int p[2];
	char c = 0;

	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		struct reg_conn r;
		char body[300];
		/* the parent's sockets must close when the parent closes them */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != p[1])
				close(fd);
		snprintf(body, sizeof body, "consumer %s t\n", group);
		if (reg_open(&r, port) == 0 && reg_heartbeat(&r, id, body, 1) == 200)
			c = 1;
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

static void test_join_leave_kill(int port)
{
	struct reg_conn a, b, d, q;
	char m[512];

	reg_open(&a, port);
	reg_open(&b, port);
	reg_open(&d, port);
	reg_open(&q, port);
	is(reg_heartbeat(&a, "m-a", "consumer ng t\n", 1), 200, "a registers");
	is(reg_heartbeat(&b, "m-b", "consumer ng t\n", 1), 200, "b registers");
	pid_t c = spawn_member(port, "m-c", "ng");
	ok(c > 0, "c (another process) registers");
	uint64_t g = reg_members(&q, "ng", m, sizeof m);
	is_str(m, "m-a,m-b,m-c", "three members");
	ok(reg_wait_gen(&a, g, REG_T_MS) && reg_wait_gen(&b, g, REG_T_MS),
	   "a and b were told generation %llu", (unsigned long long)g);

	is(reg_heartbeat(&d, "m-d", "consumer ng t\n", 1), 200, "d joins");
	uint64_t g2 = reg_members(&q, "ng", m, sizeof m);
	ok(g2 > g, "generation bumped to %llu", (unsigned long long)g2);
	ok(reg_wait_gen(&a, g2, REG_T_MS) && reg_wait_gen(&b, g2, REG_T_MS),
	   "join: a and b get notify with the new generation");

	reg_close(&d);
	uint64_t deadline = td_now_ms() + REG_T_MS, g3;
	while ((g3 = reg_members(&q, "ng", m, sizeof m)) == g2 && td_now_ms() < deadline)
		;
	ok(g3 > g2 && strcmp(m, "m-a,m-b,m-c") == 0, "d left: generation %llu",
	   (unsigned long long)g3);
	ok(reg_wait_gen(&a, g3, REG_T_MS) && reg_wait_gen(&b, g3, REG_T_MS),
	   "leave: a and b get notify with the new generation");

	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	deadline = td_now_ms() + REG_T_MS;
	uint64_t g4;
	while ((g4 = reg_members(&q, "ng", m, sizeof m)) == g3 && td_now_ms() < deadline)
		;
	ok(g4 > g3 && strcmp(m, "m-a,m-b") == 0, "c killed: generation %llu, members %s",
	   (unsigned long long)g4, m);
	ok(reg_wait_gen(&a, g4, REG_T_MS) && reg_wait_gen(&b, g4, REG_T_MS),
	   "kill -9: a and b get notify with the new generation");
	ok(a.last_gen == g4 && b.last_gen == g4, "notifies carry the latest generation");
	reg_close(&a);
	reg_close(&b);
	reg_close(&q);
}

/* 200 joins sent as fast as one thread can (well within 50 ms on an idle
 * host; the coalescing bounds the count however long it takes, as long as
 * the burst fits in a window or two: the window is widened for this test
 * so a loaded host cannot stretch it). */
static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

static void test_burst(int coalesce_ms)
{
	char setting[64];
	const char *const wide[] = { setting, NULL };
	struct td_daemon d;
	static struct reg_conn r[BURST];
	struct reg_conn q;
	char m[BURST * 16];
	char id[32];

	snprintf(setting, sizeof setting, "notify_coalesce_ms=%d", coalesce_ms);
	diag("burst with %s", setting);
	if (td_start(&d, wide) != 0)
		bail_out("pulsemqd did not start");
	int opened = 0;
	for (int i = 0; i < BURST; i++)
		opened += reg_open(&r[i], d.port) == 0;
	is(opened, BURST, "%d connections", BURST);
	reg_open(&q, d.port);
	uint64_t t0 = td_now_ms();
	for (int i = 0; i < BURST; i++) {
		snprintf(id, sizeof id, "b-%03d", i);
		td_sendf(r[i].c.fd, "heartbeat %s 14 1\r\nconsumer bg t\n", id);
	}
	int answered = 0;
	for (int i = 0; i < BURST; i++)
		answered += reg_read(&r[i], false, REG_T_MS) == 1 && r[i].c.msg.code == 200;
	uint64_t took = td_now_ms() - t0;
	is(answered, BURST, "every join answered 200");
	diag("%d joins sent and answered in %llu ms", BURST, (unsigned long long)took);
	uint64_t g = reg_members(&q, "bg", m, sizeof m);
	is(g, (uint64_t)BURST, "generation %d: 1 at creation, +1 per later join", BURST);
	int got_final = 0;
	for (int i = 0; i < BURST; i++)
		got_final += reg_wait_gen(&r[i], g, REG_T_MS);
	is(got_final, BURST - 0, "every member was told the final generation");
	/* anything more would have come within a window: wait one, then count */
	td_wait_closed(q.c.fd, coalesce_ms + 200);
	unsigned most = 0, over = 0;
	for (int i = 0; i < BURST; i++) {
		while ((r[i].c.len > 0 || readable(r[i].c.fd)) && td_read_msg(&r[i].c, 1000) == 1)
			if (r[i].c.msg.cmd == PMQ_CMD_NOTIFY)
				r[i].notifies++;
		if (r[i].notifies > most)
			most = r[i].notifies;
		over += r[i].notifies > 2;
	}
	diag("most notifies one member got: %u", most);
	if (took <= (uint64_t)coalesce_ms / 2) {
		is(over, 0, "no member got more than 2 notifies");
	} else {
		/* A burst longer than the window (a loaded or sanitized host)
		 * spans several windows: still at most one notify per window
		 * it spans, plus the last one. */
		uint64_t bound = 2 + took / (uint64_t)coalesce_ms;
		ok(most <= bound, "the burst took %llu ms: at most one notify per %d ms window "
		   "(most %u <= %llu)", (unsigned long long)took, coalesce_ms, most,
		   (unsigned long long)bound);
	}
	ok(td_stat(d.port, "", "notifies_sent") <= 2 * BURST, "notifies_sent <= 2 per member");
	for (int i = 0; i < BURST; i++)
		reg_close(&r[i]);
	reg_close(&q);
	is(td_stop(&d, REG_T_MS), 0, "burst daemon stops cleanly");
	td_cleanup(&d);
}

int main(void)
{
	struct td_daemon d;

	if (td_start(&d, settings) != 0)
		bail_out("pulsemqd did not start");
	test_join_leave_kill(d.port);
	is(td_stop(&d, REG_T_MS), 0, "clean stop");
	td_cleanup(&d);
	test_burst(100);  /* the default: 200 joins within 50 ms */
	test_burst(1000); /* a wide window, so a loaded host still fits the burst in it */
	return done_testing();
}
