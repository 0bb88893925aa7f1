/*
 * daemon.h - the daemon wing, and going to the background with a
 * handshake, and the pidfile.
 *
 * The daemon wing composes the others (doc/layout.md): it loads the
 * settings, daemonises, starts the store service (broker.h), the runtime
 * (runtime.h) and the metrics (metrics.h), waits for signals, feeds the
 * systemd watchdog only while everything moves, and stops them in order.
 * No other wing includes it. Files of this wing:
 *   main.c        start, signals, stop; exit statuses
 *   config.c      the one table of settings (config.h), with config_load.c
 *                 (command line, config file) and config_value.c (parsing
 *                 one value, config_value.h)
 *   daemon.c      daemonising and the pidfile (this header)
 *   notify.c      sd_notify (notify.h)
 *   liveness.c    the watchdog's verdict (liveness.h)
 *   status.c      the STATUS= line (status.h)
 *
 * daemon_start() forks before anything binds or starts a thread (threads do
 * not survive fork). The parent stays attached to the terminal and waits on
 * a pipe: whatever the child writes to fd 2 until it is ready is copied to
 * the parent's stderr, so a bind error still reaches the user. When the child
 * calls daemon_ready() the parent exits 0; when the child exits first, the
 * parent exits with the child's status (1 if it gave none).
 */
#ifndef PMQ_DAEMON_H
#define PMQ_DAEMON_H

#include <stddef.h>

/* In the child: returns 0 after setsid(), chdir("/"), stdin/stdout on
 * /dev/null and stderr on the pipe. The parent never returns. -errno (still
 * in the foreground, nothing forked) when pipe or fork fails. */
int daemon_start(void);

/* In the child, once serving: tells the parent, then points stderr at
 * /dev/null. A no-op when daemon_start() was not called. */
void daemon_ready(void);

/* path relative to the current directory -> absolute, in place (the daemon
 * changes directory to "/"). 0, or -ENAMETOOLONG / -errno. */
int daemon_absolute_path(char *path, size_t cap);

/*
 * Writes getpid() to path through a temporary file and rename(). Refuses
 * (-EEXIST, err names the pid) when path names a live process other than us;
 * a stale file (no such process, or unreadable) is replaced. 0 or -errno,
 * with err set on failure.
 */
int pidfile_create(const char *path, char *err, size_t errlen);

/* Removes path if it still names us. */
void pidfile_remove(const char *path);

#endif
