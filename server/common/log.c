/*
 * log.c - the daemon's one log (log.h).
 *
 * A line is formatted into a stack buffer and leaves with a single write(),
 * so lines from different threads never interleave and no lock is taken on
 * the hot path. log_reopen() swaps the file under the same descriptor number
 * with dup3(), which is atomic: a thread writing concurrently lands in either
 * the old or the new file, never in a closed descriptor.
 *
 * Format: "2026-01-31T12:00:00.123Z INFO message" (UTC, milliseconds); debug
 * builds (PMQ_DEBUG) add "file.c:42: " before the message.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "server/common/log.h"

/* Longer lines are cut and end in "..."; a log line is not a data channel. */
#define LOG_LINE_MAX 4096

enum log_dest { LOG_TO_STDERR, LOG_TO_FILE, LOG_TO_SYSLOG };

/*
 * Written by log_open()/log_close() in main before any thread starts and
 * after every thread has been joined; read by everyone in between. The level
 * and the copy flag are atomics because -v and the start-up copy change them
 * while other threads may already be logging.
 */
static enum log_dest log_dest = LOG_TO_STDERR;
static int log_fd = STDERR_FILENO;
static char log_path[1024];
static int log_level_cur = PMQ_LOG_INFO;
static int log_copy_stderr;

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };
static const char *const level_keys[] = { "error", "warn", "info", "debug" };

int log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof level_keys / sizeof level_keys[0]); i++)
		if (name && strcmp(name, level_keys[i]) == 0)
			return i;
	return -1;
}

int log_enabled(enum pmq_log_level level)
{
	return (int)level <= __atomic_load_n(&log_level_cur, __ATOMIC_RELAXED);
}

void log_copy_to_stderr(int on)
{
	__atomic_store_n(&log_copy_stderr, on, __ATOMIC_RELAXED);
}

static int log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

int log_open(const char *path, enum pmq_log_level level)
{
	log_close();
	__atomic_store_n(&log_level_cur, (int)level, __ATOMIC_RELAXED);
	if (!path || !*path)
		return 0;
	if (strcmp(path, "syslog") == 0) {
		openlog("pulsemqd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_dest = LOG_TO_SYSLOG;
		return 0;
	}
	if (strlen(path) >= sizeof log_path)
		return -ENAMETOOLONG;
	int fd = log_open_file(path);
	if (fd < 0)
		return fd;
	memcpy(log_path, path, strlen(path) + 1);
	log_fd = fd;
	log_dest = LOG_TO_FILE;
	return 0;
}

int log_reopen(void)
{
	if (log_dest != LOG_TO_FILE)
		return 0;
	int fd = log_open_file(log_path);
	if (fd < 0)
		return fd;
	/* Atomic replacement under the same number: see the top of the file. */
	int rc = dup3(fd, log_fd, O_CLOEXEC) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

void log_close(void)
{
	if (log_dest == LOG_TO_FILE)
		close(log_fd);
	else if (log_dest == LOG_TO_SYSLOG)
		closelog();
	log_dest = LOG_TO_STDERR;
	log_fd = STDERR_FILENO;
	log_path[0] = '\0';
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to complain to */
		p += w;
		n -= (size_t)w;
	}
}

/* Appends fmt to buf at *len, never past cap - 1; marks a cut with "...". */
static void append_v(char *buf, size_t cap, size_t *len, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void append_v(char *buf, size_t cap, size_t *len, const char *fmt, va_list ap)
{
	if (*len >= cap - 1)
		return;
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= cap - *len) {
		*len = cap - 1;
		memcpy(buf + cap - 4, "...", 3);
	} else {
		*len += (size_t)n;
	}
}

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	append_v(buf, cap, len, fmt, ap);
	va_end(ap);
}

void log_at(enum pmq_log_level level, const char *file, int line, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	int saved_errno = errno; /* callers may log and then look at errno */
	char buf[LOG_LINE_MAX];
	size_t len = 0, msg_start;
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if ((unsigned)level > PMQ_LOG_DEBUG)
		level = PMQ_LOG_ERROR;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	append(buf, sizeof buf - 1, &len, ".%03ldZ %s ", ts.tv_nsec / 1000000L,
	       level_names[level]);
	msg_start = len;
#ifdef PMQ_DEBUG
	const char *base = strrchr(file, '/');
	append(buf, sizeof buf - 1, &len, "%s:%d: ", base ? base + 1 : file, line);
#else
	(void)file;
	(void)line;
#endif
	va_start(ap, fmt);
	append_v(buf, sizeof buf - 1, &len, fmt, ap);
	va_end(ap);
	/* One event, one line: a stray newline in a message must not forge a
	 * second entry. */
	for (size_t i = msg_start; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[len++] = '\n';

	if (log_dest == LOG_TO_SYSLOG) {
		/* syslog stamps its own time; send the message part only. */
		syslog(syslog_prio[level], "%.*s", (int)(len - msg_start - 1), buf + msg_start);
	} else {
		write_all(log_fd, buf, len);
	}
	if (log_dest != LOG_TO_STDERR && level <= PMQ_LOG_WARN &&
	    __atomic_load_n(&log_copy_stderr, __ATOMIC_RELAXED))
		write_all(STDERR_FILENO, buf, len);
	errno = saved_errno;
}
