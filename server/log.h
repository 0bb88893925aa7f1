/*
 * log.h - one log for the daemon: stderr in the foreground, a file, or syslog.
 *
 * Thread-safe: each line is written with one write() call. Debug builds add
 * FILE:LINE. log_reopen() is called on SIGHUP (from the main thread, never
 * from the handler).
 */
#ifndef PMQ_LOG_H
#define PMQ_LOG_H

enum pmq_log_level { PMQ_LOG_ERROR, PMQ_LOG_WARN, PMQ_LOG_INFO, PMQ_LOG_DEBUG };

/* path: NULL or "" = stderr; "syslog" = syslog. Returns 0 or -errno. */
int log_open(const char *path, enum pmq_log_level level);
int log_reopen(void);
void log_close(void);
/* "error" "warn" "info" "debug" -> level; -1 if unknown. */
int log_level_parse(const char *name);
int log_enabled(enum pmq_log_level level);

void log_at(enum pmq_log_level level, const char *file, int line,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define pmq_log(level, ...) \
	do { if (log_enabled(level)) log_at(level, __FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
