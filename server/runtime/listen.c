/*
 * listen.c - the one listening socket, shared by the IO threads (listen.h).
 */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

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

/* Someone accepts on path: another daemon holds it. */
static bool unix_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return false;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	return rc == 0;
}

/* A socket file left by a daemon that died may be replaced; nothing else. */
static int unix_clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;

	if (lstat(sa->sun_path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (unix_in_use(sa))
		return -EADDRINUSE;
	return unlink(sa->sun_path) == 0 ? 0 : -errno;
}

int listen_open_unix(const char *path, int *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "admin_socket '%s': longer than %zu bytes", path,
		         sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	rc = unix_clear_stale(&sa);
	if (rc != 0) {
		snprintf(err, errlen, "admin_socket '%s': %s", path,
		         rc == -EADDRINUSE ? "another process serves it" :
		         rc == -EEXIST ? "exists and is not a socket" : strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "admin_socket: socket: %s", strerror(-rc));
		return rc;
	}
	if (fchmod(fd, 0600) != 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0600) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on admin_socket '%s': %s", path,
		         strerror(-rc));
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}
