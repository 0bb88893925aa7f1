/*
 * cli_ctl.c - `pulsemq ctl` (cli_ctl.h). One blocking Unix stream
 * connection, one request, one answer: the codec encodes and decodes, so the
 * bytes are protocol.md's and nothing else.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "client/cli_ctl.h"
#include "protocol/protocol.h"

#define EXIT_BROKER 1
#define EXIT_USAGE 2
#define CTL_OPAQUE 1
#define CTL_DRAIN_MAX_S (PMQ_ADMIN_DRAIN_MAX_MS / 1000)
#define CTL_ANSWER_MAX 4096 /* an admin answer is a few short lines */

static int ctl_usage(const char *what)
{
	fprintf(stderr, "pulsemq: ctl: %s (usage: pulsemq [-S PATH] ctl "
	        "status|online|offline|drain SECONDS)\n", what);
	return EXIT_USAGE;
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until one whole response decodes into *m (views into buf). */
static int read_answer(int fd, char *buf, size_t cap, int timeout_ms, struct pmq_msg *m)
{
	size_t len = 0, used;
	struct pmq_decode_error err;

	for (;;) {
		enum pmq_decode_status st = pmq_decode_response(NULL, buf, len, m, &used, &err);
		if (st == PMQ_DECODE_OK)
			return 0;
		if (st == PMQ_DECODE_ERROR || len == cap)
			return -1;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		ssize_t r = recv(fd, buf + len, cap - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		len += (size_t)r;
	}
}

/* "key value\n" lines as one JSON object; values are words or numbers. */
static void print_json(const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	bool first = true;

	printf("{\"status\": 200");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(eol - p));
		if (sp) {
			const char *v = sp + 1;
			bool num = v < eol;
			for (const char *q = v; q < eol; q++)
				num = num && *q >= '0' && *q <= '9';
			printf(", \"%.*s\": %s%.*s%s", (int)(sp - p), p, num ? "" : "\"",
			       (int)(eol - v), v, num ? "" : "\"");
		}
		first = false;
		p = eol + 1;
	}
	(void)first;
	printf("}\n");
}

int cli_ctl(int argc, const char *const *argv, const char *socket_path, bool json,
            int timeout_ms)
{
	struct pmq_msg m = { .cmd = PMQ_CMD_ADMIN, .opaque = CTL_OPAQUE };
	char line[128], buf[CTL_ANSWER_MAX];

	if (argc < 2)
		return ctl_usage("which command?");
	const char *verb = argv[1];
	if (!strcmp(verb, "drain")) {
		char *e;
		long s = argc == 3 ? strtol(argv[2], &e, 10) : -1;
		if (argc != 3 || *e || e == argv[2] || s < 0 || s > CTL_DRAIN_MAX_S)
			return ctl_usage("drain takes SECONDS, from 0 to 86400");
		m.admin_ms = (int32_t)(s * 1000);
	} else if (strcmp(verb, "status") && strcmp(verb, "online") && strcmp(verb, "offline")) {
		return ctl_usage("unknown command");
	} else if (argc != 2) {
		return ctl_usage("too many arguments");
	}
	m.admin_verb = (struct pmq_view){ verb, strlen(verb) };
	size_t n = pmq_encode(line, sizeof line, &m);
	if (n == 0 || n > sizeof line)
		return ctl_usage("command too long");

	int fd = ctl_connect(socket_path);
	if (fd < 0) {
		fprintf(stderr, "pulsemq: ctl: cannot connect to the admin socket %s: %s%s\n",
		        socket_path, strerror(errno),
		        errno == EACCES ? " (run as the daemon's user or root)" :
		        errno == ENOENT ? " (is admin_socket set? -S PATH)" : "");
		return EXIT_USAGE;
	}
	int rc = send_all(fd, line, n) == 0 ? read_answer(fd, buf, sizeof buf, timeout_ms, &m) : -1;
	close(fd);
	if (rc != 0 || m.cmd != PMQ_CMD_RESULT) {
		fprintf(stderr, "pulsemq: ctl %s: no answer from %s\n", verb, socket_path);
		return EXIT_USAGE;
	}
	if (m.code != 200) {
		if (json)
			printf("{\"status\": %d}\n", (int)m.code);
		fprintf(stderr, "pulsemq: ctl %s: %d %.*s\n", verb, (int)m.code,
		        (int)m.body.len, m.body.ptr);
		return EXIT_BROKER;
	}
	if (json)
		print_json(m.body.ptr, m.body.len);
	else
		fwrite(m.body.ptr, 1, m.body.len, stdout);
	return 0;
}
