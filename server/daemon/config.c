/*
 * config.c - THE table of pulsemqd's settings, and what reads it (config.h).
 *
 * Each setting is one row: name, type, field, default, range, help. The
 * default is written as the string a user would type and parsed through the
 * same code as user input, so a default outside its own range cannot slip
 * in (the unit test loads the defaults). --help, -o, the INI file and
 * `stats config` all walk this table; nothing else lists the keys.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/daemon/config.h"
#include "server/daemon/config_priv.h"
#include "server/daemon/config_value.h"
#include "server/common/counters.h"
#include "server/runtime/runtime.h"

enum key_type {
	KT_I32,    /* int32_t */
	KT_I64,    /* int64_t */
	KT_SIZE,   /* int64_t bytes, K/M/G suffixes */
	KT_BOOL,   /* bool */
	KT_STR,    /* char[size]; min = shortest length */
	KT_CHOICE, /* char[size] holding one of choices */
	KT_ENUM,   /* an enum holding the index into choices */
};

struct config_key {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;
	const char *def;
	int64_t min, max;
	const char *const *choices; /* NULL-terminated, for KT_CHOICE / KT_ENUM */
	const char *help;
};

/* The field's type is checked at compile time: _Generic has no default, so a
 * row whose macro does not match the member's type does not compile. */
#define FIELD(S, f, T) _Generic(((struct S *)0)->f, T: offsetof(struct S, f))
#define FSIZE(S, f) sizeof(((struct S *)0)->f)

#define I32(n, f, d, lo, hi, h) { n, KT_I32, FIELD(settings, f, int32_t), 0, d, lo, hi, NULL, h }
#define SIZE(n, f, d, lo, hi, h) { n, KT_SIZE, FIELD(settings, f, int64_t), 0, d, lo, hi, NULL, h }
#define BOOL(n, f, d, h) { n, KT_BOOL, FIELD(settings, f, bool), 0, d, 0, 1, NULL, h }
#define STR(n, f, d, lo, h) \
	{ n, KT_STR, FIELD(settings, f, char *), FSIZE(settings, f), d, lo, 0, NULL, h }
#define CHOICE(n, f, d, ch, h) \
	{ n, KT_CHOICE, FIELD(settings, f, char *), FSIZE(settings, f), d, 0, 0, ch, h }
#define ENUM(n, f, T, d, ch, h) { n, KT_ENUM, FIELD(settings, f, T), 0, d, 0, 0, ch, h }

#define KiB (1ll << 10)
#define MiB (1ll << 20)
#define GiB (1ll << 30)
#define TiB (1ll << 40)

/* Ranges shared by a [system] key and its [topic=NAME] override. */
#define PARTITIONS_MIN 1
#define PARTITIONS_MAX 1024
#define SEGMENT_MIN 64     /* one record header and a little payload */
#define SEGMENT_MAX TiB
#define RETENTION_MAX 876000 /* 100 years: effectively "keep" */
#define FLUSH_THRESHOLD_MAX 10000000

static const char *const flush_modes[] = { "sync", "async", NULL };
static const char *const recovery_modes[] = { "refuse", "truncate", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

static const struct config_key keys[] = {
	/* network */
	STR("listen", listen, "127.0.0.1", 1, "address to listen on (IPv4 or IPv6 literal, or host name)"),
	I32("port", port, "8123", 0, 65535, "TCP port; 0 = any free port (see port_file)"),
	STR("port_file", port_file, "", 0, "write the bound port here once accepting (empty: none)"),
	I32("io_threads", io_threads, "0", 0, RT_IO_THREADS_MAX, "IO threads; 0 = one per online CPU"),
	I32("max_connections", max_connections, "10000", 1, 1000000, "open client connections at most; more are refused"),
	/* pools */
	I32("get_threads", get_threads, "4", 1, 1024, "worker threads of the get pool (get, offset)"),
	I32("put_threads", put_threads, "4", 1, 1024, "worker threads of the put pool (put, transaction)"),
	I32("heartbeat_threads", heartbeat_threads, "1", 1, 1024, "worker threads of the heartbeat pool (version, stats)"),
	I32("get_queue_size", get_queue_size, "1024", 1, 1048576, "queued get requests at most; more are answered 503"),
	I32("put_queue_size", put_queue_size, "1024", 1, 1048576, "queued put requests at most; more are answered 503"),
	/* 4096, not 1024: MetaQ clients pipeline version probes, and 50
	 * connections x 32 in flight overflowed 1024 into 503s
	 * (doc/performance.md). Still bounded: ~0.5 KB a queued request. */
	I32("heartbeat_queue_size", heartbeat_queue_size, "4096", 1, 1048576, "queued heartbeat requests at most; more are answered 503"),
	I32("request_timeout_ms", request_timeout_ms, "5000", 1, 3600000, "a request queued longer than this is answered 504"),
	/* sessions, idle, heartbeats */
	I32("idle_timeout_ms", idle_timeout_ms, "15000", 10, 86400000, "after this long without traffic the server sends a heartbeat"),
	I32("heartbeat_timeout_ms", heartbeat_timeout_ms, "5000", 10, 3600000, "a heartbeat unanswered this long counts as missed"),
	I32("max_missed_heartbeats", max_missed_heartbeats, "3", 1, 1000, "missed heartbeats in a row that close a session"),
	I32("session_timeout_ms", session_timeout_ms, "300000", 10, 86400000, "a session that sends nothing this long is closed"),
	I32("tick_ms", tick_ms, "100", 1, 10000, "timer wheel tick: resolution of every timeout"),
	/* Cassandra's MAX_LOCAL_PAUSE_IN_MS: above scheduling noise on a loaded
	 * host, below every conviction window of the defaults. */
	I32("max_local_pause_ms", max_local_pause_ms, "5000", 0, 86400000, "timer thread this late: the process was paused; no session is judged on that silence, idle ones are heartbeated first (0 = off)"),
	I32("wheel_slots", wheel_slots, "512", 1, 1048576, "timer wheel slots (rounded up to a power of two)"),
	SIZE("max_line_bytes", max_line_bytes, "1024", 32, MiB, "longest command line (CR LF included); a longer one is answered 400 and skipped up to its end, or closes the session when it is a put's or another body command's"),
	SIZE("max_body_bytes", max_body_bytes, "1M", 1, GiB, "largest message body a put may carry"),
	SIZE("max_output_bytes", max_output_bytes, "8M", 1, 16 * GiB, "a session with more unwritten output than this is not read until it drains below half"),
	SIZE("max_buffer_bytes", max_buffer_bytes, "256M", 64 * KiB, TiB, "input buffered by all sessions together (beyond 16K each); a request that needs more is answered 503 and its session closed"),
	I32("frame_timeout_ms", frame_timeout_ms, "30000", 10, 86400000, "a request line and body begun must complete within this, or the session is closed"),
	I32("write_timeout_ms", write_timeout_ms, "10000", 1, 3600000, "a session whose output does not drain this long is closed"),
	BOOL("enable_debug_commands", enable_debug_commands, "no", "allow `debug sleep` and friends (tests, diagnosis)"),
	/* store */
	STR("data_dir", data_dir, "/var/lib/pulsemq", 1, "directory of the topic partitions (MetaQ layout)"),
	I32("broker_id", broker_id, "0", 0, 1023, "this broker's id, as in MetaQ's brokerId"),
	BOOL("auto_create_topics", auto_create_topics, "yes", "create a topic on its first put"),
	I32("num_partitions", num_partitions, "1", PARTITIONS_MIN, PARTITIONS_MAX, "partitions of a new topic"),
	SIZE("segment_bytes", segment_bytes, "1G", SEGMENT_MIN, SEGMENT_MAX, "a segment file rolls over at this size"),
	/* A topic costs a directory, 4 KiB on disk per partition and its scan
	 * at start-up, but no file descriptor while idle (max_open_files):
	 * 10000 bounds what clients can create without troubling a disk. */
	I32("max_topics", max_topics, "10000", 1, 10000000, "topics at most ([topic=NAME] ones not counted); a put creating one more is answered 403"),
	I32("max_open_files", max_open_files, "0", 0, 10000000, "segment files kept open at most, least recently used closed first; 0 = a quarter of RLIMIT_NOFILE"),
	ENUM("flush_mode", flush_mode, enum pmq_flush_mode, "sync", flush_modes, "sync: a put is answered after fsync (group commit); async: at once"),
	I32("flush_threshold", flush_threshold, "1000", 0, FLUSH_THRESHOLD_MAX, "async: fsync after this many messages (0 = every message)"),
	I32("flush_interval_ms", flush_interval_ms, "1000", 1, 3600000, "async: fsync at least this often"),
	SIZE("max_transfer_bytes", max_transfer_bytes, "2M", 1, 2 * GiB, "most bytes one get returns; must be at least max_body_bytes + 20 (checked at start-up)"),
	I32("retention_hours", retention_hours, "168", 1, RETENTION_MAX, "segments older than this are deleted"),
	BOOL("update_consumer_offsets", update_consumer_offsets, "no", "yes: a get past a partition's end is answered 301 with the end offset, not 404; offsets are never stored"),
	/* refuse by default: records after a bad one may have been
	 * acknowledged, and only the operator may decide to drop them. */
	ENUM("recovery", recovery, enum pmq_recovery, "refuse", recovery_modes, "a bad record followed by valid ones at start-up: refuse to start, or truncate there (the cut bytes are saved beside the segment)"),
	/* transactions: MetaQ's maxTxTimeoutInSeconds is 60; the caps keep
	 * clients that never finish from filling memory (staged messages are
	 * held in memory until commit). */
	I32("max_tx_timeout_s", max_tx_timeout_s, "60", 1, 86400, "a transaction's TIMEOUT (seconds, sent with BEGIN) is clamped to this; an unprepared transaction past it is rolled back"),
	I32("max_open_transactions", max_open_transactions, "10000", 1, 10000000, "open transactions at most (local and XA, prepared included); a BEGIN past it is answered 503"),
	SIZE("max_tx_staged_bytes", max_tx_staged_bytes, "256M", 1, 16 * GiB, "message bytes all open transactions may hold until commit; a transactional put past it is answered 503"),
	/* client registration (doc/registration.md) */
	I32("client_expire_ms", client_expire_ms, "120000", 100, 86400000, "a client registration lapses this long after its last heartbeat; its session is then closed (registration expired)"),
	I32("notify_coalesce_ms", notify_coalesce_ms, "100", 1, 60000, "at most one notify per consumer group this often, carrying the latest generation"),
	I32("offset_retention_ms", offset_retention_ms, "604800000", 1000, 2147483647, "committed offsets of a group with no members and no commit this long are removed"),
	I32("stats_max_lines", stats_max_lines, "1000", 1, 10000000, "`stats clients` and `stats groups` list this many lines at most, then `more N`"),
	/* process */
	CHOICE("log_level", log_level, "info", log_levels, "least severe level logged (-v: debug)"),
	STR("log_file", log_file, "", 0, "log to this file, or 'syslog'; empty: stderr in the foreground, syslog with -d"),
	STR("pidfile", pidfile, "", 0, "write the daemon's pid here (empty: none)"),
	BOOL("daemonize", daemonize, "no", "run in the background once listening (-d)"),
	/* monitoring */
	STR("metrics_listen", metrics_listen, "", 0, "ADDR:PORT serving Prometheus GET /metrics (empty: off)"),
	/* administration and availability */
	STR("admin_socket", admin_socket, "", 0, "Unix socket (mode 0600) taking the admin commands: pulsemq ctl (empty: none; the package uses /run/pulsemq/admin.sock)"),
	BOOL("start_available", start_available, "yes", "no: start unavailable (puts answered 403) until `pulsemq ctl online`"),
	/* registry in ZooKeeper (MetaQ's layout) */
	STR("zk_connect", zk_connect, "", 0, "ZooKeeper servers HOST:PORT[,HOST:PORT...] to register this broker with, where MetaQ clients look (empty: no registry)"),
	STR("zk_root", zk_root, "/meta", 2, "ZooKeeper root of the registry (MetaQ's zkRoot)"),
	I32("zk_session_timeout_ms", zk_session_timeout_ms, "30000", 1000, 600000, "ZooKeeper session timeout: a dead broker's nodes vanish after this long"),
	STR("advertise", advertise, "", 0, "HOST:PORT clients should connect to, as registered in ZooKeeper (empty: listen and the bound port; required when listen is a wildcard)"),
	I32("shutdown_drain_ms", shutdown_drain_ms, "0", 0, PMQ_ADMIN_DRAIN_MAX_MS, "SIGTERM first drains this long: puts answered 403, the stop comes once no producer is left or the time is up (0 = stop at once)"),
};

#define T_I32(n, f, lo, hi, h) { n, KT_I32, FIELD(settings_topic, f, int32_t), 0, "", lo, hi, NULL, h }
#define T_I64(n, f, lo, hi, h) { n, KT_I64, FIELD(settings_topic, f, int64_t), 0, "", lo, hi, NULL, h }
#define T_SIZE(n, f, lo, hi, h) { n, KT_SIZE, FIELD(settings_topic, f, int64_t), 0, "", lo, hi, NULL, h }
#define T_BOOL(n, f, h) { n, KT_BOOL, FIELD(settings_topic, f, bool), 0, "", 0, 1, NULL, h }

/* [topic=NAME] keys; an absent key means "the [system] value". */
static const struct config_key topic_keys[] = {
	T_I32("num_partitions", num_partitions, PARTITIONS_MIN, PARTITIONS_MAX, "partitions of this topic"),
	T_SIZE("segment_bytes", segment_bytes, SEGMENT_MIN, SEGMENT_MAX, "segment size of this topic"),
	T_I64("retention_hours", retention_hours, 1, RETENTION_MAX, "retention of this topic"),
	T_I32("flush_threshold", flush_threshold, 0, FLUSH_THRESHOLD_MAX, "async flush threshold of this topic"),
	T_BOOL("accept_put", accept_put, "no: puts to this topic are answered 403"),
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

/* "an integer from 1 to 1024": the expectation, for errors and --help. */
static void key_describe(const struct config_key *k, char *buf, size_t cap)
{
	char lo[32], hi[32];
	size_t n;

	switch (k->type) {
	case KT_I32:
	case KT_I64:
		snprintf(buf, cap, "an integer from %" PRId64 " to %" PRId64, k->min, k->max);
		break;
	case KT_SIZE:
		config_format_size(k->min, lo, sizeof lo);
		config_format_size(k->max, hi, sizeof hi);
		snprintf(buf, cap, "a size in bytes from %s to %s (suffixes K, M, G allowed)", lo, hi);
		break;
	case KT_BOOL:
		snprintf(buf, cap, "yes, no, true, false, on, off, 1 or 0");
		break;
	case KT_STR:
		snprintf(buf, cap, "%s of at most %zu bytes", k->min > 0 ? "a non-empty string" : "a string",
		         k->size - 1);
		break;
	case KT_CHOICE:
	case KT_ENUM:
		n = (size_t)snprintf(buf, cap, "one of");
		for (size_t i = 0; k->choices[i] && n < cap; i++)
			n += (size_t)snprintf(buf + n, cap - n, "%s %s", i ? "," : "", k->choices[i]);
		break;
	}
}

/* Longest part of a bad value repeated in an error message. */
#define VALUE_ECHO_MAX 100

/* Parses value into base + k->offset, or explains why not. */
static int key_set(const struct config_key *k, void *base, const char *value,
                   char *err, size_t errlen)
{
	char *field = (char *)base + k->offset;
	char want[160];
	int64_t v;
	size_t len;

	switch (k->type) {
	case KT_I32:
	case KT_I64:
	case KT_SIZE:
		if (config_parse_int(value, k->type == KT_SIZE, k->min, k->max, &v) != 0)
			goto invalid;
		if (k->type == KT_I32)
			*(int32_t *)(void *)field = (int32_t)v;
		else
			*(int64_t *)(void *)field = v;
		return 0;
	case KT_BOOL:
		if (config_parse_bool(value, (bool *)(void *)field) != 0)
			goto invalid;
		return 0;
	case KT_STR:
		len = strlen(value);
		if (len >= k->size || (int64_t)len < k->min)
			goto invalid;
		memcpy(field, value, len + 1);
		return 0;
	case KT_CHOICE:
	case KT_ENUM:
		for (int i = 0; k->choices[i]; i++) {
			if (strcmp(value, k->choices[i]) != 0)
				continue;
			if (k->type == KT_ENUM)
				*(int *)(void *)field = i; /* enums in this table are int-sized */
			else
				memcpy(field, value, strlen(value) + 1);
			return 0;
		}
		goto invalid;
	}
invalid:
	key_describe(k, want, sizeof want);
	/* Echo a runaway value only in part: the message must still fit. */
	len = strlen(value);
	snprintf(err, errlen, "invalid value '%.*s%s' for '%s': expected %s",
	         len > VALUE_ECHO_MAX ? VALUE_ECHO_MAX : (int)len, value,
	         len > VALUE_ECHO_MAX ? "..." : "", k->name, want);
	return -1;
}

static const struct config_key *key_find(const struct config_key *table, size_t n,
                                         const char *key, size_t klen)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(table[i].name) == klen && memcmp(table[i].name, key, klen) == 0)
			return &table[i];
	return NULL;
}

/* "unknown key 'io_thread' (did you mean 'io_threads'?)": the suggestion is
 * the nearest key by edit distance, offered only when it is plausibly a typo
 * (within 2 edits, or a third of the length). */
static void key_unknown(const struct config_key *table, size_t n, const char *key,
                        size_t klen, char *err, size_t errlen)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		size_t d = config_edit_distance(key, klen, table[i].name);
		if (d < best_d) {
			best_d = d;
			best = table[i].name;
		}
	}
	int shown = klen > 200 ? 200 : (int)klen;
	if (best && (best_d <= 2 || best_d <= klen / 3))
		snprintf(err, errlen, "unknown key '%.*s' (did you mean '%s'?)", shown, key, best);
	else
		snprintf(err, errlen, "unknown key '%.*s' (pulsemqd -h lists them)", shown, key);
}

_Static_assert(sizeof(enum pmq_flush_mode) == sizeof(int), "KT_ENUM stores an int");
_Static_assert(sizeof(enum pmq_recovery) == sizeof(int), "KT_ENUM stores an int");

int config_defaults(struct settings *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NKEYS(keys); i++)
		if (key_set(&keys[i], c, keys[i].def, err, errlen) != 0)
			return -1;
	return 0;
}

int config_set(struct settings *c, const char *key, size_t klen, const char *value,
               char *err, size_t errlen)
{
	const struct config_key *k = key_find(keys, NKEYS(keys), key, klen);
	if (!k) {
		key_unknown(keys, NKEYS(keys), key, klen, err, errlen);
		return -1;
	}
	return key_set(k, c, value, err, errlen);
}

int config_topic_set(struct settings_topic *t, const char *key, size_t klen,
                     const char *value, char *err, size_t errlen)
{
	const struct config_key *k = key_find(topic_keys, NKEYS(topic_keys), key, klen);
	if (!k) {
		key_unknown(topic_keys, NKEYS(topic_keys), key, klen, err, errlen);
		return -1;
	}
	return key_set(k, t, value, err, errlen);
}

/* A topic name becomes a directory name "<topic>-<partition>" under
 * data_dir, so it may not hold '/' or be a dot name, and leaves room for
 * "-1023" in 255 bytes (the store's STORE_TOPIC_MAX_BYTES); MetaQ's own
 * names are letters, digits, '_', '-' and '.'. */
#define TOPIC_NAME_MAX 250
static bool topic_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > TOPIC_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

struct settings_topic *config_topic_get(struct settings *c, const char *name, size_t len,
                                          char *err, size_t errlen)
{
	struct settings_topic *t = (struct settings_topic *)settings_find_topic(c, name, len);
	if (t)
		return t;
	if (!topic_name_ok(name, len)) {
		snprintf(err, errlen, "invalid topic name '%.*s': expected 1 to %d of "
		         "A-Z a-z 0-9 _ - . (not starting with '.')", len > 200 ? 200 : (int)len, name,
		         TOPIC_NAME_MAX);
		return NULL;
	}
	t = realloc(c->topics, (c->ntopics + 1) * sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->topics = t;
	t = &c->topics[c->ntopics++];
	memset(t, 0, sizeof *t);
	memcpy(t->name, name, len);
	t->num_partitions = -1;
	t->segment_bytes = -1;
	t->retention_hours = -1;
	t->flush_threshold = -1;
	t->accept_put = true;
	return t;
}

void config_free(struct settings *c)
{
	free(c->topics);
	c->topics = NULL;
	c->ntopics = 0;
}

/* The value as a user would write it (sizes in plain bytes for scripts). */
static void key_format(const struct config_key *k, const void *base, char *buf, size_t cap)
{
	const char *field = (const char *)base + k->offset;
	switch (k->type) {
	case KT_I32:
		snprintf(buf, cap, "%" PRId32, *(const int32_t *)(const void *)field);
		break;
	case KT_I64:
	case KT_SIZE:
		snprintf(buf, cap, "%" PRId64, *(const int64_t *)(const void *)field);
		break;
	case KT_BOOL:
		snprintf(buf, cap, "%s", *(const bool *)(const void *)field ? "yes" : "no");
		break;
	case KT_STR:
	case KT_CHOICE:
		snprintf(buf, cap, "%s", field);
		break;
	case KT_ENUM: {
		int v = *(const int *)(const void *)field, n = 0;
		while (k->choices[n])
			n++;
		snprintf(buf, cap, "%s", v >= 0 && v < n ? k->choices[v] : "?");
		break;
	}
	}
}

void config_format_stats(const struct settings *c, struct sbuf *out)
{
	char value[1100], prefix[300];

	for (size_t i = 0; i < NKEYS(keys); i++) {
		key_format(&keys[i], c, value, sizeof value);
		stats_line(out, "", keys[i].name, value);
	}
	/* Topic overrides as "topic.NAME.key value"; unset ones are skipped. */
	for (size_t t = 0; t < c->ntopics; t++) {
		const struct settings_topic *tc = &c->topics[t];
		snprintf(prefix, sizeof prefix, "topic.%s.", tc->name);
		for (size_t i = 0; i < NKEYS(topic_keys); i++) {
			key_format(&topic_keys[i], tc, value, sizeof value);
			if (strcmp(value, "-1") != 0)
				stats_line(out, prefix, topic_keys[i].name, value);
		}
	}
}

static void print_table(FILE *out, const struct config_key *table, size_t n, bool defaults)
{
	char want[160];
	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = &table[i];
		key_describe(k, want, sizeof want);
		if (!defaults)
			fprintf(out, "  %s\n", k->name);
		else
			fprintf(out, "  %s = %s\n", k->name, *k->def ? k->def : "\"\"");
		fprintf(out, "      %s\n      (%s)\n", k->help, want);
	}
}

void config_print_keys(FILE *out)
{
	fprintf(out, "\nSettings: -o KEY=VALUE, or KEY = VALUE in the [system] section of the\n"
	             "config file (defaults < config file < command line):\n\n");
	print_table(out, keys, NKEYS(keys), true);
	fprintf(out, "\nPer-topic settings, in a [topic=NAME] section of the config file\n"
	             "(unset: the [system] value; accept_put defaults to yes):\n\n");
	print_table(out, topic_keys, NKEYS(topic_keys), false);
}

void config_print_ini(const struct settings *c, FILE *out)
{
	char value[1100], want[160];

	fprintf(out, "# pulsemqd settings, as printed by pulsemqd --print-config %s\n"
	             "# Read with: pulsemqd -c FILE (options given after it still win).\n"
	             "\n[system]\n", PACKAGE_VERSION);
	for (size_t i = 0; i < NKEYS(keys); i++) {
		key_describe(&keys[i], want, sizeof want);
		key_format(&keys[i], c, value, sizeof value);
		fprintf(out, "\n# %s\n# %s; default %s\n%s = %s\n", keys[i].help, want,
		        *keys[i].def ? keys[i].def : "empty", keys[i].name, value);
	}
	for (size_t t = 0; t < c->ntopics; t++) {
		fprintf(out, "\n[topic=%s]\n", c->topics[t].name);
		for (size_t i = 0; i < NKEYS(topic_keys); i++) {
			key_format(&topic_keys[i], &c->topics[t], value, sizeof value);
			if (strcmp(value, "-1") != 0)
				fprintf(out, "%s = %s\n", topic_keys[i].name, value);
		}
	}
}

void config_dump_table(FILE *out)
{
	char want[160];
	for (size_t i = 0; i < NKEYS(keys); i++) {
		key_describe(&keys[i], want, sizeof want);
		fprintf(out, "system\t%s\t%s\t%s\t%s\n", keys[i].name, keys[i].def, want,
		        keys[i].help);
	}
	for (size_t i = 0; i < NKEYS(topic_keys); i++) {
		key_describe(&topic_keys[i], want, sizeof want);
		fprintf(out, "topic\t%s\t\t%s\t%s\n", topic_keys[i].name, want, topic_keys[i].help);
	}
}
