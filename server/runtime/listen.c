/*
 * listen.c - the one listening socket, shared by the IO threads (listen.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "server/runtime/listen.h"

#define LISTEN_BACKLOG 4096 /* the one queue of every IO thread; the kernel caps it at somaxconn */

static int open_one(const struct addrinfo *ai, int port, int *out)
{
	int one = 1, fd, err;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_storage ss;
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	/* SO_REUSEADDR only: a restart binds past our own TIME_WAITs, but a
	 * listening socket of anyone else still fails the bind. Never
	 * SO_REUSEPORT: it lets any process of our user join the port. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int listen_open_all(const char *host, int port, unsigned n, int *fds,
                    int *bound_port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	unsigned opened = 0;
	int rc;

	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen address '%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	rc = open_one(res, port, &fds[0]);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on %s port %d: %s", host, port, strerror(-rc));
		freeaddrinfo(res);
		return rc;
	}
	opened = 1;
	if (port == 0) {
		port = port_of(fds[0]);
		if (port < 0) {
			rc = port;
			snprintf(err, errlen, "getsockname: %s", strerror(-rc));
			goto fail;
		}
	}
	for (; opened < n; opened++) {
		fds[opened] = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
		if (fds[opened] < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot share the listening socket: %s", strerror(-rc));
			goto fail;
		}
	}
	freeaddrinfo(res);
	*bound_port = port;
	return 0;
fail:
	for (unsigned i = 0; i < opened; i++)
		close(fds[i]);
	freeaddrinfo(res);
	return rc;
}
