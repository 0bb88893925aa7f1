/*
 * daemon.c - the daemonise handshake and the pidfile (daemon.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/daemon/daemon.h"

/* The child's end of the handshake pipe; -1 in the foreground. */
static int ready_fd = -1;

/* The parent: copy the child's start-up messages to our stderr until the
 * ready byte (NUL, which text never holds) or end of file. */
static void __attribute__((noreturn)) parent_wait(int rfd, pid_t child)
{
	char buf[512];
	for (;;) {
		ssize_t n = read(rfd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		char *nul = memchr(buf, '\0', (size_t)n);
		size_t text = nul ? (size_t)(nul - buf) : (size_t)n;
		if (text > 0 && write(STDERR_FILENO, buf, text) < 0)
			(void)0; /* the terminal went away; keep waiting */
		if (nul)
			_exit(0);
	}
	/* The pipe closed without the ready byte: the child failed or died. */
	int st;
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		_exit(WEXITSTATUS(st));
	_exit(1);
}

int daemon_start(void)
{
	int fds[2], null;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	fflush(NULL); /* nothing buffered may be written twice */
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	if (pid > 0) {
		close(fds[1]);
		parent_wait(fds[0], pid);
	}
	close(fds[0]);
	ready_fd = fds[1];
	/* A new session: no controlling terminal, no terminal signals. */
	if (setsid() < 0 || chdir("/") != 0)
		return -errno;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -errno;
	if (dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
	    dup2(ready_fd, STDERR_FILENO) < 0) {
		int e = errno;
		close(null);
		return -e;
	}
	close(null);
	return 0;
}

void daemon_ready(void)
{
	static const char ready = '\0';
	int null;

	if (ready_fd < 0)
		return;
	while (write(ready_fd, &ready, 1) < 0 && errno == EINTR)
		;
	/* dup2 swaps fd 2 atomically: a thread logging right now writes to the
	 * pipe or to /dev/null, never to a closed or reused descriptor. */
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
	close(ready_fd);
	ready_fd = -1;
}

int daemon_absolute_path(char *path, size_t cap)
{
	char cwd[4096];
	if (path[0] == '\0' || path[0] == '/')
		return 0;
	while (path[0] == '.' && path[1] == '/') /* "./var" -> "var": tidier logs */
		memmove(path, path + 2, strlen(path + 2) + 1);
	if (path[0] == '\0')
		strcpy(path, ".");
	if (!getcwd(cwd, sizeof cwd))
		return -errno;
	size_t need = strlen(cwd) + 1 + strlen(path) + 1;
	if (need > cap)
		return -ENAMETOOLONG;
	char tmp[8192];
	snprintf(tmp, sizeof tmp, "%s/%s", cwd, path);
	memcpy(path, tmp, need);
	return 0;
}

/* The pid in path, or 0 when there is none we can read. */
static pid_t pidfile_read(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	long pid = strtol(buf, NULL, 10);
	return pid > 0 && pid < (1L << 30) ? (pid_t)pid : 0;
}

int pidfile_create(const char *path, char *err, size_t errlen)
{
	char tmp[4200], text[32];
	pid_t old = pidfile_read(path);
	int fd, rc = 0;

	/* EPERM also means alive: the process exists but is not ours. */
	if (old > 0 && old != getpid() && (kill(old, 0) == 0 || errno == EPERM)) {
		snprintf(err, errlen, "pidfile '%s' names running process %ld: "
		         "is another pulsemqd running?", path, (long)old);
		return -EEXIST;
	}
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot write pidfile '%s': %s", tmp, strerror(errno));
		return rc;
	}
	int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
	if (write(fd, text, (size_t)len) != len) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "cannot write pidfile '%s': %s", tmp, strerror(-rc));
	}
	if (close(fd) != 0 && rc == 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot write pidfile '%s': %s", tmp, strerror(-rc));
	}
	/* rename() is atomic: readers see the old file or the whole new one. */
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot write pidfile '%s': %s", path, strerror(-rc));
	}
	if (rc != 0)
		unlink(tmp);
	return rc;
}

void pidfile_remove(const char *path)
{
	if (path && *path && pidfile_read(path) == getpid())
		unlink(path);
}
