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

/*
 * During start-up main() turns this on so that warnings and errors also reach
 * fd 2 (the terminal, or the daemonise pipe to the waiting parent) when the
 * log itself goes to a file or syslog; it turns it off once ready. Lines are
 * never copied when the log already is stderr.
 */
void log_copy_to_stderr(int on);

#define pmq_log(level, ...) \
	do { if (log_enabled(level)) log_at(level, __FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
