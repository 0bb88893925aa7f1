/*
 * config.h - every setting of pulsemqd, parsed once at start-up.
 *
 * Promises:
 *  - One table in config.c declares each key once: name, type, default,
 *    range, one line of help. --help, -o KEY=VALUE, the config file (INI via
 *    libinih) and `stats config` all read that table.
 *  - An unknown key or a value out of range stops start-up with a message
 *    naming the key, the allowed range and the nearest known key; the caller
 *    exits with status 2.
 *  - After config_load() returns, struct pmq_config is read-only and may be
 *    read from any thread without locks.
 */
/*
 * NOTE for every file in server/: `#include <config.h>` there finds THIS
 * file (the including file's directory is searched first), not autoconf's,
 * so PACKAGE_VERSION, HAVE_SYSTEMD, HAVE_MHD, PMQ_DEBUG and _GNU_SOURCE go
 * missing without a word. Write `#include <config.h>` as the first line of
 * a .c file in server/ instead (angle brackets search only -I paths).
 */
#ifndef PMQ_CONFIG_H
#define PMQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pmq_flush_mode { PMQ_FLUSH_SYNC, PMQ_FLUSH_ASYNC };

/* A [topic=NAME] section: per-topic overrides; -1 / 0 = use the system one. */
struct pmq_topic_config {
	char name[256];
	int32_t num_partitions;     /* -1: system num_partitions */
	int64_t segment_bytes;      /* -1: system segment_bytes */
	int64_t retention_hours;    /* -1: system retention_hours */
	int32_t flush_threshold;    /* -1: system */
	bool accept_put;            /* false: puts answered 403 */
};

struct pmq_config {
	/* network */
	char listen[256];
	int32_t port;               /* 0: any free port */
	char port_file[1024];       /* "" = none */
	int32_t io_threads;         /* 0: online CPUs */
	int32_t max_connections;

	/* pools */
	int32_t get_threads, put_threads, heartbeat_threads;
	int32_t get_queue_size, put_queue_size, heartbeat_queue_size;
	int32_t request_timeout_ms;

	/* sessions, idle, heartbeats */
	int32_t idle_timeout_ms;
	int32_t heartbeat_timeout_ms;
	int32_t max_missed_heartbeats;
	int32_t session_timeout_ms;
	int32_t tick_ms;
	int32_t wheel_slots;
	int64_t max_line_bytes;
	int64_t max_body_bytes;
	int64_t max_output_bytes;
	int32_t write_timeout_ms;
	bool enable_debug_commands;

	/* store */
	char data_dir[1024];
	int32_t broker_id;
	bool auto_create_topics;
	int32_t num_partitions;
	int64_t segment_bytes;
	int32_t max_topics;         /* [topic=NAME] ones not counted */
	int32_t max_open_files;     /* segment fds; 0: RLIMIT_NOFILE / 4 */
	enum pmq_flush_mode flush_mode;
	int32_t flush_threshold;    /* async: fsync after this many messages */
	int32_t flush_interval_ms;  /* async: and at least this often */
	int64_t max_transfer_bytes;
	int32_t retention_hours;
	bool update_consumer_offsets;

	/* process */
	char log_level[16];
	char log_file[1024];        /* "" = stderr in the foreground, syslog daemonised */
	char pidfile[1024];
	bool daemonize;

	/* monitoring (server/metrics.h) */
	char metrics_listen[256];   /* "ADDR:PORT" for GET /metrics; "" = off */

	struct pmq_topic_config *topics; /* [topic=NAME] sections */
	size_t ntopics;
};

/*
 * Parses the command line (-c FILE, -l, -p, -D, -t, -d, -P, -o KEY=VALUE, -v,
 * -h, -V) and the config file into c, defaults first. Returns 0 to run,
 * 1 when the caller should exit 0 (--help, -V or --print-config printed), or -1 with a
 * one-line message in err (unknown key with a "did you mean", value out of
 * range with the range, unreadable file): the caller prints it and exits 2.
 */
int config_load(struct pmq_config *c, int argc, char **argv,
                char *err, size_t errlen);
void config_free(struct pmq_config *c);

/* "key value\r\n" for every key, for `stats config`; returns bytes written
 * (at most cap). */
size_t config_format_stats(const struct pmq_config *c, char *buf, size_t cap);

/* The topic section for name, or NULL. */
const struct pmq_topic_config *config_topic(const struct pmq_config *c,
                                            const char *name, size_t len);

#endif
