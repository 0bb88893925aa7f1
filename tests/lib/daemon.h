/*
 * daemon.h - start the real pulsemqd for an integration test, talk to it.
 *
 * Every call waits for an event (a file appearing, a byte arriving, a child
 * exiting) with a deadline; none sleeps as synchronisation. Failures return
 * -1 / NULL and print a TAP diagnostic ("# ...").
 */
#ifndef PMQ_TEST_DAEMON_H
#define PMQ_TEST_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/protocol.h"

struct td_daemon {
	pid_t pid;
	int port;
	char dir[512];        /* private temp dir: data/, port file, log */
	char data_dir[600];
	char log_path[600];   /* the daemon's stderr */
	int exit_status;      /* when it exited during start-up: its status, else -1 */
	/* Read by every (re)start, so a test may change them in between:
	 * RLIMIT_NOFILE set in the child before exec (0: inherited), and a
	 * config file passed with -c ("": none). */
	long nofile;
	char conf_path[600];
};

struct td_opts {
	long nofile;              /* 0: the test's own limit */
	const char *config_text;  /* written to DIR/pulsemqd.conf, NULL: none */
};

/* When > 0, td_start/td_restart run the daemon with RLIMIT_NOFILE set to
 * this (soft and hard), to test running out of file descriptors. */
extern 
/*
 * Starts $PULSEMQD (the built binary) on 127.0.0.1, port 0, with
 * port_file and data_dir inside a fresh temp dir under $PMQ_TEST_TMPDIR,
 * plus the extra "-o KEY=VALUE" settings given as "key=value" strings
 * (NULL-terminated array, may be NULL). Waits up to 10 s for the port file.
 * Returns 0, or -1 (the log is dumped as diagnostics).
 */
int td_start(struct td_daemon *d, const char *const *settings);
/* td_start() with a file descriptor limit and/or a config file. */
int td_start_opts(struct td_daemon *d, const struct td_opts *o, const char *const *settings);
/* Same, reusing d->dir and d->data_dir (a restart on the same data). */
int td_restart(struct td_daemon *d, const char *const *settings);
/* The port in a port_file written whole ("N\n"), or -1 (absent, not
 * written whole yet). */
int td_read_port_file(const char *path);
/* SIGTERM, then waits up to timeout_ms; returns the exit status, or -1 on
 * timeout (then SIGKILL) or death by signal. */
int td_stop(struct td_daemon *d, int timeout_ms);
/* Waits up to timeout_ms for the daemon to exit by itself (a drain);
 * returns its exit status, or -1 on timeout (it is left running) or death
 * by signal. */
int td_wait_exit(struct td_daemon *d, int timeout_ms);
/* SIGKILL and reap. */
void td_kill9(struct td_daemon *d);
/* Removes d->dir recursively. */
void td_cleanup(struct td_daemon *d);

/* A blocking TCP connection to 127.0.0.1:port with TCP_NODELAY; -1 on error. */
int td_connect(int port);
/* Writes all of buf; 0 or -1. */
int td_send(int fd, const void *buf, size_t len);
int td_sendf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Buffered reader of broker responses over one socket. */
struct td_conn {
	int fd;
	char *buf;
	size_t len, cap;
	struct pmq_msg msg;   /* the last decoded response: views into a copy */
	char *msg_bytes;      /* owned copy backing msg's views */
};
void td_conn_init(struct td_conn *c, int fd);
void td_conn_free(struct td_conn *c); /* closes fd too */
/*
 * Reads the next response (result, value or the broker's version heartbeat)
 * within timeout_ms. 1: c->msg holds it; 0: the peer closed cleanly before a
 * response; -1: timeout, error or undecodable bytes.
 */
int td_read_msg(struct td_conn *c, int timeout_ms);
/* One read into c->buf before deadline (td_now_ms()): 1 bytes came, 0 the
 * peer closed, -1 timeout or error. */
int td_conn_fill(struct td_conn *c, uint64_t deadline);
/* 1 when the peer closes (EOF or reset) within timeout_ms, discarding any
 * bytes that arrive before; 0 on timeout. */
int td_wait_closed(int fd, int timeout_ms);

/* A one-shot request/response: sends req, reads one response. */
int td_roundtrip(struct td_conn *c, const char *req, size_t len, int timeout_ms);

/* Monotonic milliseconds. */
uint64_t td_now_ms(void);

/* `stats ITEM` on a fresh connection: the value of key, or -1. */
long long td_stat(int port, const char *item, const char *key);

#endif
