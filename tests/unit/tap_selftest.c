/* The TAP emitter itself: what a passing and a failing check print. */
#include <config.h>

#include <unistd.h>
#include <sys/wait.h>

#include "tests/tap.h"

/* Runs a failing check in a child and reads what it printed. */
static int child_output(char *buf, size_t cap)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		tap_run = 0;
		tap_failed = 0;
		tap_planned = -1;
		is(1, 2, "one is two");
		_exit(done_testing());
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fds[0], buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fds[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	char out[1024];
	plan(4);
	int rc = child_output(out, sizeof out);
	is(rc, 1, "a failing check makes done_testing() return 1");
	ok(strstr(out, "not ok 1 - one is two") != NULL, "the failure is printed as 'not ok'");
	ok(strstr(out, "got: 1, expected: 2") != NULL, "the diagnostic says what was expected");
	ok(strstr(out, "1..1") != NULL, "a late plan is printed by done_testing()");
	return done_testing();
}
