/*
 * settings.h - the values of every setting of pulsemqd, as the wings read
 * them.
 *
 * The table that declares each key (name, type, default, range, help) and
 * the code that parses the command line and the config file into this
 * struct live in server/daemon/config.h: only the daemon knows how settings
 * are written; the wings below it only read the values.
 *
 * Promises:
 *  - Filled once at start-up, before any thread starts; read-only after,
 *    so any thread may read it without locks.
 */
#ifndef PMQ_SETTINGS_H
#define PMQ_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pmq_flush_mode { PMQ_FLUSH_SYNC, PMQ_FLUSH_ASYNC };
/* Start-up with valid records after a bad one (store.h, store_recovery). */
enum pmq_recovery { PMQ_RECOVERY_REFUSE, PMQ_RECOVERY_TRUNCATE };

/* A [topic=NAME] section: per-topic overrides; -1 / 0 = use the system one. */
struct settings_topic {
	char name[256];
	int32_t num_partitions;     /* -1: system num_partitions */
	int64_t segment_bytes;      /* -1: system segment_bytes */
	int64_t retention_hours;    /* -1: system retention_hours */
	int32_t flush_threshold;    /* -1: system */
	bool accept_put;            /* false: puts answered 403 */
};

struct settings {
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
	int32_t max_local_pause_ms; /* timer this late: a pause, nobody judged on it; 0 off */
	int32_t wheel_slots;
	int64_t max_line_bytes;
	int64_t max_body_bytes;
	int64_t max_output_bytes;
	int64_t max_buffer_bytes;   /* every session's input buffers together */
	int32_t frame_timeout_ms;   /* a begun request line + body completes within */
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
	enum pmq_recovery recovery;
	/* transactions (server/broker/tx.h) */
	int32_t max_tx_timeout_s;       /* a BEGIN's TIMEOUT is clamped to this */
	int32_t max_open_transactions;  /* BEGIN past it: 503 */
	int64_t max_tx_staged_bytes;    /* a put past it: 503 */

	/* client registration, groups, committed offsets (doc/registration.md) */
	int32_t client_expire_ms;    /* a registration lapses this long after its heartbeat */
	int32_t notify_coalesce_ms;  /* at most one notify per group this often */
	int32_t offset_retention_ms; /* offsets of a memberless group kept this long */
	int32_t stats_max_lines;     /* `stats clients` / `stats groups` lines at most */

	/* process */
	char log_level[16];
	char log_file[1024];        /* "" = stderr in the foreground, syslog daemonised */
	char pidfile[1024];
	bool daemonize;

	/* monitoring (server/metrics.h) */
	char metrics_listen[256];   /* "ADDR:PORT" for GET /metrics; "" = off */

	/* administration and availability (server/broker/availability.c) */
	char admin_socket[108];     /* Unix socket path (sun_path's size); "" = none */
	bool start_available;       /* false: start unavailable (puts 403) */
	int32_t shutdown_drain_ms;  /* SIGTERM drains this long first; 0 = stop at once */

	/* registry in ZooKeeper (server/broker/registry.c) */
	char zk_connect[1024];      /* "host:port[,host:port...]"; "" = no registry */
	char zk_root[256];          /* MetaQ's zkRoot: /meta */
	int32_t zk_session_timeout_ms;
	char advertise[256];        /* HOST:PORT clients use; "" = listen + bound port */

	struct settings_topic *topics; /* [topic=NAME] sections */
	size_t ntopics;

	/* --scrub: verify the data directory and exit. A mode of this run,
	 * not a setting: it is not in the table. */
	bool scrub;
};

/* The topic section for name, or NULL. */
const struct settings_topic *settings_find_topic(const struct settings *c,
                                                 const char *name, size_t len);

#endif
