/*
 * test_cli_run.h - run a built program (the CLI, the bench) with given
 * stdin, capture stdout and stderr, and get its exit status; a deadline
 * guards against hangs. Shared by test_cli.c and test_bench.c.
 */
#ifndef PMQ_TEST_CLI_RUN_H
#define PMQ_TEST_CLI_RUN_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

struct run_out {
	int status;        /* exit status, or -1 (signal, timeout, spawn failure) */
	char out[65536];
	size_t out_len;
	char err[16384];
	size_t err_len;
};

/* argv[0] is the program path; NULL-terminated. */
static inline int run_prog(struct run_out *r, const char *input, int timeout_ms,
                           const char *const argv[])
{
	int pin[2], pout[2], perr[2];
	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (pipe(pin) < 0 || pipe(pout) < 0 || pipe(perr) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		close(pin[0]); close(pin[1]); close(pout[0]);
		close(pout[1]); close(perr[0]); close(perr[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	if (input) {
		size_t len = strlen(input), off = 0;
		while (off < len) {
			ssize_t n = write(pin[1], input + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	close(pin[1]);
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;
	bool out_open = true, err_open = true;
	while (out_open || err_open) {
		uint64_t now = td_now_ms();
		if (now >= deadline) {
			kill(pid, SIGKILL);
			break;
		}
		struct pollfd p[2] = { { .fd = out_open ? pout[0] : -1, .events = POLLIN },
		                       { .fd = err_open ? perr[0] : -1, .events = POLLIN } };
		if (poll(p, 2, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			size_t room = sizeof(r->out) - 1 - r->out_len;
			char sink[4096];
			ssize_t n = read(pout[0], room ? r->out + r->out_len : sink, room ? room : sizeof(sink));
			if (n <= 0)
				out_open = false;
			else if (room)
				r->out_len += (size_t)n;
		}
		if (p[1].revents) {
			size_t room = sizeof(r->err) - 1 - r->err_len;
			char sink[4096];
			ssize_t n = read(perr[0], room ? r->err + r->err_len : sink, room ? room : sizeof(sink));
			if (n <= 0)
				err_open = false;
			else if (room)
				r->err_len += (size_t)n;
		}
	}
	r->out[r->out_len] = '\0';
	r->err[r->err_len] = '\0';
	close(pout[0]);
	close(perr[0]);
	int st;
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	if (r->err_len)
		diag("stderr: %.300s", r->err);
	return r->status;
}

/* The unsigned number after `"key": ` following the first occurrence of
 * `after` (NULL = from the start) in a JSON text; -1 when absent. */
static inline long long json_num(const char *text, const char *after, const char *key)
{
	const char *p = after ? strstr(text, after) : text;
	char pat[96];
	if (!p)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(p, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

#endif
