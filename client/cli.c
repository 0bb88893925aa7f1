/*
 * cli.c - `pulsemq`, the command-line client, on libpulsemq's blocking API.
 *
 * Exit status: 0 success, 1 the broker refused (its status code is
 * printed), 2 usage or connection errors, 3 get received a record that
 * fails its checksum or cannot be decoded (it is printed, flagged, and
 * nothing after it). --json prints one JSON object per result (per message
 * for get) on stdout, errors included.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "client/cli_ctl.h"
#include "client/pulsemq.h"

#define EXIT_BROKER 1
#define EXIT_USAGE 2
#define EXIT_BAD_RECORD 3
#define CLI_MAX_BODY (64u << 20)   /* put: the most read from a file or stdin */
#define FOLLOW_WAIT_MS 500         /* get --follow: pause when caught up */

struct cli {
	const char *host;
	int port;
	const char *admin_socket;  /* ctl: -S PATH */
	const char *zk;            /* -z HOST:PORT[/ROOT]: brokers from ZooKeeper */
	char zk_part[16];          /* get -z TOPIC B-P: P, for cmd_get */
	bool json;
	bool follow;
	int timeout_ms;
	const char *group;
	const char *file;
	int32_t max_size;
	int32_t flag;
	int count;
	bool group_set;
	long long limit;            /* consume -n: stop after this many; 0 = follow */
	const char *argv[8];
	int argc;
	struct pulsemq_conn *conn;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fputs("usage: pulsemq [-h HOST] [-p PORT | -z ZK[/ROOT]] [-S PATH] [--json] [--timeout MS]\n"
	      "               COMMAND ...\n"
	      "commands:\n"
	      "  put TOPIC [PARTITION] [-f FILE|-] [--flag N]  store a message (stdin by default)\n"
	      "  get TOPIC PARTITION OFFSET [--follow] [--group G] [--max-size BYTES]\n"
	      "  offset TOPIC PARTITION OFFSET [--group G]\n"
	      "  stats [ITEM]                  broker statistics (pools, topics, sessions, config)\n"
	      "  version                       the broker's version\n"
	      "  ping [-c COUNT]               round-trip time of `version`\n"
	      "  with -z HOST:PORT[/ROOT] (brokers found in ZooKeeper, MetaQ's layout):\n"
	      "  put TOPIC                     on an available broker's partition, the next\n"
	      "                                one when a broker refuses (403, 503) or is down\n"
	      "  get TOPIC B-P OFFSET          partition P of broker B\n"
	      "  ctl status|online|offline|drain SECONDS\n"
	      "                                the daemon's availability, over its admin socket\n"
	      "                                (-S PATH, default " CLI_CTL_DEFAULT_SOCKET ")\n"
	      "  tx list [QUALIFIER]           prepared XA branches (RECOVER), all or of one\n"
	      "                                unique qualifier\n"
	      "  tx commit KEY | tx rollback KEY  finish a prepared XA branch by its key\n"
	      "  consume -g GROUP TOPIC [-n N] follow TOPIC as a member of consumer group GROUP,\n"
	      "                                committing as it goes (-n: stop after N messages)\n"
	      "  groups                        groups: members, generation, lag per partition\n"
	      "  clients                       registered client sessions\n"
	      "exit status: 0 success, 1 broker error (code printed), 2 usage or connection error,\n"
	      "             3 get received a bad record (checksum mismatch, undecodable)\n",
	      f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("pulsemq: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (see --help)\n", stderr);
	va_end(ap);
	return EXIT_USAGE;
}

static void json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				fprintf(f, "\\u%04x", ch);
			else
				fputc(ch, f);
		}
	}
	fputc('"', f);
}

/* Prints a failure and returns the exit status it deserves. */
static int fail(const struct cli *c, const char *what, int rc, const struct pulsemq_error *err)
{
	const char *text = err && err->text[0] ? err->text : strerror(rc < 0 ? -rc : EIO);
	if (c->json) {
		printf("{\"status\": %d, \"error\": ", rc);
		json_string(stdout, text, strlen(text));
		printf("}\n");
	}
	if (rc > 0)
		fprintf(stderr, "pulsemq: %s: %d %s\n", what, rc, text);
	else
		fprintf(stderr, "pulsemq: %s: %s\n", what, text);
	return rc > 0 ? EXIT_BROKER : EXIT_USAGE;
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static bool looks_negative_number(const char *s)
{
	return s[0] == '-' && s[1] >= '0' && s[1] <= '9';
}

static int parse_args(struct cli *c, int argc, char **argv)
{
	int64_t v;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = false;
		if (a[0] != '-' || a[1] == '\0' || looks_negative_number(a)) {
			if (c->argc == (int)(sizeof(c->argv) / sizeof(c->argv[0])))
				return usage_error("too many arguments at '%s'", a);
			c->argv[c->argc++] = a;
			continue;
		}
		if (!strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--json")) {
			c->json = true;
		} else if (!strcmp(a, "--follow")) {
			c->follow = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--host")) {
			takes = true;
			c->host = val;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
			takes = true;
			if (val && parse_i64(val, 1, 65535, &v) < 0)
				return usage_error("bad port '%s'", val);
			c->port = (int)v;
		} else if (!strcmp(a, "--timeout")) {
			takes = true;
			if (val && parse_i64(val, 1, 3600000, &v) < 0)
				return usage_error("bad timeout '%s'", val);
			c->timeout_ms = (int)v;
		} else if (!strcmp(a, "-z") || !strcmp(a, "--zookeeper")) {
			takes = true;
			c->zk = val;
		} else if (!strcmp(a, "-S") || !strcmp(a, "--admin-socket")) {
			takes = true;
			c->admin_socket = val;
		} else if (!strcmp(a, "--group") || !strcmp(a, "-g")) {
			takes = true;
			c->group = val;
			c->group_set = true;
		} else if (!strcmp(a, "-n")) {
			takes = true;
			if (val && parse_i64(val, 1, INT64_MAX, &v) < 0)
				return usage_error("bad message count '%s'", val);
			c->limit = v;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
			takes = true;
			c->file = val;
		} else if (!strcmp(a, "--max-size")) {
			takes = true;
			if (val && parse_i64(val, 1, INT32_MAX, &v) < 0)
				return usage_error("bad max size '%s'", val);
			c->max_size = (int32_t)v;
		} else if (!strcmp(a, "--flag")) {
			takes = true;
			if (val && parse_i64(val, INT32_MIN, INT32_MAX, &v) < 0)
				return usage_error("bad flag '%s'", val);
			c->flag = (int32_t)v;
		} else if (!strcmp(a, "-c") || !strcmp(a, "--count")) {
			takes = true;
			if (val && parse_i64(val, 1, 1000000, &v) < 0)
				return usage_error("bad count '%s'", val);
			c->count = (int)v;
		} else {
			return usage_error("unknown option '%s'", a);
		}
		if (takes) {
			if (!val)
				return usage_error("option '%s' needs a value", a);
			i++;
		}
	}
	return 0;
}

static int need_args(const struct cli *c, int min, int max)
{
	if (c->argc - 1 < min || c->argc - 1 > max) {
		fprintf(stderr, "pulsemq: %s: wrong number of arguments (see --help)\n", c->argv[0]);
		return -1;
	}
	return 0;
}

/* The whole of a file or stdin, at most CLI_MAX_BODY bytes. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = !path || !strcmp(path, "-") ? stdin : fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			if (cap >= CLI_MAX_BODY) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			char *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				free(buf);
				buf = NULL;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static int cmd_put(struct cli *c)
{
	if (need_args(c, 1, 2) < 0)
		return EXIT_USAGE;
	int64_t part = -1;
	if (c->argc > 2 && parse_i64(c->argv[2], -1, INT32_MAX, &part) < 0)
		return usage_error("bad partition '%s'", c->argv[2]);
	size_t len;
	char *body = read_all(c->file, &len);
	if (!body) {
		fprintf(stderr, "pulsemq: put: cannot read %s: %s\n", c->file ? c->file : "stdin",
		        strerror(errno));
		return EXIT_USAGE;
	}
	struct pulsemq_put_result res;
	struct pulsemq_error err;
	int rc = pulsemq_put(c->conn, c->argv[1], (int32_t)part, body, len, c->flag, &res, &err);
	free(body);
	if (rc != 0)
		return fail(c, "put", rc, &err);
	if (c->json)
		printf("{\"status\": 200, \"msgid\": %" PRId64 ", \"partition\": %" PRId32
		       ", \"offset\": %" PRId64 ", \"length\": %zu}\n",
		       res.msgid, res.partition, res.offset, len);
	else
		printf("stored %zu bytes: msgid %" PRId64 " partition %" PRId32 " offset %" PRId64 "\n",
		       len, res.msgid, res.partition, res.offset);
	return 0;
}

static void print_message(const struct cli *c, const struct pulsemq_message *m, bool bad)
{
	if (c->json) {
		printf("{\"offset\": %" PRId64 ", \"msgid\": %" PRId64 ", \"flag\": %" PRId32
		       ", \"length\": %zu, \"checksum_ok\": %s, \"next_offset\": %" PRId64
		       ", \"payload\": ",
		       m->offset, m->msgid, m->flag, m->len, bad ? "false" : "true",
		       m->offset + (int64_t)m->size);
		json_string(stdout, m->payload, m->len);
		printf("}\n");
	} else {
		printf("offset %" PRId64 " msgid %" PRId64 " flag %" PRId32 " length %zu%s\n",
		       m->offset, m->msgid, m->flag, m->len, bad ? " CHECKSUM MISMATCH" : "");
		fwrite(m->payload, 1, m->len, stdout);
		fputc('\n', stdout);
	}
}

/* Waits while keeping the connection's heartbeats going. */
static void follow_pause(struct cli *c)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= FOLLOW_WAIT_MS || interrupted)
			return;
		if (pulsemq_poll(c->conn, (int)(FOLLOW_WAIT_MS - ms)) == -ENOTCONN)
			return;
	}
}

/* A bad record ends the get: whatever a script does with the output, it
 * must not take a damaged message, or what follows it, for a good one. */
static int bad_record(const struct cli *c, int64_t offset, const char *what)
{
	char text[200];
	snprintf(text, sizeof text, "%s in the record at offset %" PRId64 "; stopping there",
	         what, offset);
	if (c->json) {
		printf("{\"status\": %d, \"error\": ", -EBADMSG);
		json_string(stdout, text, strlen(text));
		printf(", \"offset\": %" PRId64 "}\n", offset);
	}
	fflush(stdout);
	fprintf(stderr, "pulsemq: get: %s\n", text);
	return EXIT_BAD_RECORD;
}

static int cmd_get(struct cli *c)
{
	if (need_args(c, 3, 3) < 0)
		return EXIT_USAGE;
	int64_t part, offset;
	if (parse_i64(c->argv[2], 0, INT32_MAX, &part) < 0)
		return usage_error("bad partition '%s'", c->argv[2]);
	if (parse_i64(c->argv[3], INT64_MIN, INT64_MAX, &offset) < 0)
		return usage_error("bad offset '%s'", c->argv[3]);
	int32_t max_size = c->max_size;
	while (!interrupted) {
		struct pulsemq_msgset set;
		struct pulsemq_error err;
		int rc = pulsemq_get(c->conn, c->argv[1], c->group, (int32_t)part, offset, &max_size,
		                     &set, &err);
		/* Following: caught up, busy, or the broker away (the library
		 * reconnects) all mean "try again shortly". */
		bool transient = rc == 404 || rc == 503 || rc == 504 ||
		                 (rc < 0 && rc != -EMSGSIZE && rc != -EPROTO && rc != -EINVAL);
		if (c->follow && transient) {
			follow_pause(c);
			continue;
		}
		if (c->follow && rc == 301) {
			if (parse_i64(err.text, INT64_MIN, INT64_MAX, &offset) < 0)
				return fail(c, "get", rc, &err);
			continue;
		}
		if (rc != 0)
			return fail(c, "get", rc, &err);
		size_t pos = 0;
		struct pulsemq_message m;
		int r;
		while ((r = pulsemq_msgset_next(&set, &pos, &m)) == 1)
			print_message(c, &m, false);
		if (r == -EBADMSG)
			print_message(c, &m, true);
		pulsemq_msgset_free(&set);
		if (r == -EBADMSG)
			return bad_record(c, m.offset, "checksum mismatch");
		offset += (int64_t)pos;
		fflush(stdout);
		if (r == -EPROTO)
			return bad_record(c, offset, "negative length (undecodable)");
		if (!c->follow)
			break;
	}
	if (!c->json && !c->follow)
		fprintf(stderr, "next offset %" PRId64 "\n", offset);
	return 0;
}

static int cmd_offset(struct cli *c)
{
	if (need_args(c, 3, 3) < 0)
		return EXIT_USAGE;
	int64_t part, offset, result;
	if (parse_i64(c->argv[2], 0, INT32_MAX, &part) < 0)
		return usage_error("bad partition '%s'", c->argv[2]);
	if (parse_i64(c->argv[3], INT64_MIN, INT64_MAX, &offset) < 0)
		return usage_error("bad offset '%s'", c->argv[3]);
	struct pulsemq_error err;
	int rc = pulsemq_offset(c->conn, c->argv[1], c->group, (int32_t)part, offset, &result, &err);
	if (rc != 0)
		return fail(c, "offset", rc, &err);
	if (c->json)
		printf("{\"status\": 200, \"offset\": %" PRId64 "}\n", result);
	else
		printf("%" PRId64 "\n", result);
	return 0;
}

/* `key value` lines between STATS and END. */
static int cmd_stats(struct cli *c)
{
	if (need_args(c, 0, 1) < 0)
		return EXIT_USAGE;
	struct pulsemq_reply reply;
	struct pulsemq_error err;
	int rc = pulsemq_stats(c->conn, c->argc > 1 ? c->argv[1] : NULL, &reply, &err);
	if (rc != 0) {
		pulsemq_reply_free(&reply);
		return fail(c, "stats", rc, &err);
	}
	if (c->json)
		printf("{");
	bool first = true;
	char *save = NULL;
	for (char *line = strtok_r(reply.body, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (!strcmp(line, "STATS") || !strcmp(line, "END"))
			continue;
		if (!c->json) {
			puts(line);
			continue;
		}
		char *sp = strchr(line, ' ');
		const char *val = sp ? sp + 1 : "";
		size_t klen = sp ? (size_t)(sp - line) : strlen(line);
		printf("%s", first ? "" : ", ");
		first = false;
		json_string(stdout, line, klen);
		fputs(": ", stdout);
		int64_t n;
		if (parse_i64(val, INT64_MIN, INT64_MAX, &n) == 0)
			printf("%" PRId64, n);
		else
			json_string(stdout, val, strlen(val));
	}
	if (c->json)
		printf("}\n");
	pulsemq_reply_free(&reply);
	return 0;
}

/* `stats ITEM`'s lines as they are (groups, clients). */
static int print_listing(struct cli *c, const char *item)
{
	struct pulsemq_reply reply;
	struct pulsemq_error err;

	if (need_args(c, 0, 0) < 0)
		return EXIT_USAGE;
	int rc = pulsemq_stats(c->conn, item, &reply, &err);
	if (rc != 0) {
		pulsemq_reply_free(&reply);
		return fail(c, item, rc, &err);
	}
	char *save = NULL;
	for (char *line = strtok_r(reply.body, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (!strcmp(line, "STATS") || !strcmp(line, "END"))
			continue;
		if (c->json) {
			json_string(stdout, line, strlen(line));
			fputc('\n', stdout);
		} else {
			puts(line);
		}
	}
	pulsemq_reply_free(&reply);
	return 0;
}

static int cmd_groups(struct cli *c)
{
	return print_listing(c, "groups");
}

static int cmd_clients(struct cli *c)
{
	return print_listing(c, "clients");
}

struct consume_run {
	struct cli *c;
	long long seen;
};

static int consume_one(const struct pulsemq_message *m, int32_t partition, void *arg)
{
	struct consume_run *r = arg;

	if (!r->c->json)
		printf("partition %d ", (int)partition);
	print_message(r->c, m, false);
	fflush(stdout);
	r->seen++;
	return r->c->limit > 0 && r->seen >= r->c->limit;
}

/* consume -g GROUP TOPIC [-n N]: a consumer group member (libpulsemq's
 * consumer API) until interrupted or N messages, committing every second
 * and at the end. */
static int cmd_consume(struct cli *c)
{
	if (need_args(c, 1, 1) < 0)
		return EXIT_USAGE;
	if (!c->group_set)
		return usage_error("consume needs -g GROUP");
	struct pulsemq_consumer_options o;
	pulsemq_consumer_options_init(&o);
	o.group = c->group;
	o.topic = c->argv[1];
	o.conn.request_timeout_ms = c->timeout_ms;
	o.conn.reconnect = true;
	if (c->max_size > 0)
		o.max_size = c->max_size;
	struct pulsemq_consumer *k;
	char why[300];
	int rc = pulsemq_consumer_open(&k, c->host, c->port, &o, why, sizeof why);
	if (rc != 0) {
		fprintf(stderr, "pulsemq: consume: %s\n", rc < 0 ? why : "refused");
		return EXIT_USAGE;
	}
	struct consume_run run = { .c = c };
	while (!interrupted && (c->limit == 0 || run.seen < c->limit)) {
		rc = pulsemq_consumer_poll(k, FOLLOW_WAIT_MS, consume_one, &run);
		if (rc == -ENOTCONN)
			break;
	}
	pulsemq_consumer_close(k); /* commits what was printed */
	return 0;
}

static int cmd_version(struct cli *c)
{
	if (need_args(c, 0, 0) < 0)
		return EXIT_USAGE;
	char v[256];
	struct pulsemq_error err;
	int rc = pulsemq_version(c->conn, v, sizeof(v), &err);
	if (rc != 0)
		return fail(c, "version", rc, &err);
	if (c->json) {
		printf("{\"status\": 200, \"version\": ");
		json_string(stdout, v, strlen(v));
		printf("}\n");
	} else {
		puts(v);
	}
	return 0;
}

static int cmd_ping(struct cli *c)
{
	if (need_args(c, 0, 0) < 0)
		return EXIT_USAGE;
	for (int i = 0; i < c->count && !interrupted; i++) {
		struct timespec t0, t1;
		struct pulsemq_error err;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = pulsemq_version(c->conn, NULL, 0, &err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc != 0)
			return fail(c, "ping", rc, &err);
		double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
		if (c->json)
			printf("{\"status\": 200, \"seq\": %d, \"rtt_us\": %.1f}\n", i + 1, us);
		else
			printf("reply from %s:%d: seq=%d time=%.3f ms\n", c->host, c->port, i + 1, us / 1000);
		fflush(stdout);
	}
	return 0;
}

/* ---- -z: brokers from ZooKeeper -------------------------------------- */

#define CLI_ZK_TIMEOUT_MS 10000

static int discover(struct cli *c, bool for_put, struct pulsemq_route **r, size_t *n)
{
	char why[300];
	int rc = pulsemq_discover(c->zk, c->argv[1], for_put, CLI_ZK_TIMEOUT_MS, r, n, why,
	                          sizeof why);
	if (rc != 0) {
		fprintf(stderr, "pulsemq: -z %s: %s\n", c->zk, why);
		return EXIT_USAGE;
	}
	return 0;
}

/* Where a one-shot producer starts its round: really random, as a pid
 * stride (threads take pids too) can make every run of a script pick the
 * same broker. */
static size_t random_start(size_t n)
{
	unsigned r;

	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
	return r % n;
}

/* Round robin from a random start; a broker that refuses (403 offline,
 * 503 busy) or cannot be reached gives its turn to the next one. */
static int cluster_put(struct cli *c, const struct pulsemq_options *opt)
{
	struct pulsemq_route *r;
	size_t n, len;
	int rc, status = EXIT_BROKER;

	if (need_args(c, 1, 1) < 0)
		return usage_error("put with -z takes no partition: the brokers have them");
	if ((rc = discover(c, true, &r, &n)) != 0)
		return rc;
	if (n == 0) {
		fprintf(stderr, "pulsemq: put: no broker in %s takes puts for topic %s (none in "
		        "topics-pub)\n", c->zk, c->argv[1]);
		free(r);
		return EXIT_BROKER;
	}
	char *body = read_all(c->file, &len);
	if (!body) {
		free(r);
		fprintf(stderr, "pulsemq: put: cannot read %s: %s\n", c->file ? c->file : "stdin",
		        strerror(errno));
		return EXIT_USAGE;
	}
	size_t start = random_start(n);
	for (size_t i = 0; i < n; i++) {
		const struct pulsemq_route *t = &r[(start + i) % n];
		struct pulsemq_conn *conn;
		struct pulsemq_put_result res;
		struct pulsemq_error err = { 0 };
		char why[300];

		if (pulsemq_connect(&conn, t->host, t->port, opt, why, sizeof why) != 0) {
			fprintf(stderr, "pulsemq: put: broker %d: %s: trying the next\n",
			        (int)t->broker_id, why);
			status = EXIT_USAGE;
			continue;
		}
		rc = pulsemq_put(conn, c->argv[1], t->partition, body, len, c->flag, &res, &err);
		pulsemq_close(conn);
		if (rc == 0) {
			if (c->json)
				printf("{\"status\": 200, \"broker\": %d, \"msgid\": %" PRId64
				       ", \"partition\": %" PRId32 ", \"offset\": %" PRId64
				       ", \"length\": %zu}\n", (int)t->broker_id, res.msgid,
				       res.partition, res.offset, len);
			else
				printf("stored %zu bytes: broker %d partition %" PRId32 " offset %"
				       PRId64 " msgid %" PRId64 "\n", len, (int)t->broker_id,
				       res.partition, res.offset, res.msgid);
			free(body);
			free(r);
			return 0;
		}
		if (rc > 0 && rc != 403 && rc != 503) {
			free(body);
			free(r);
			return fail(c, "put", rc, &err);
		}
		fprintf(stderr, "pulsemq: put: broker %d: %d %s: trying the next\n",
		        (int)t->broker_id, rc, err.text);
		status = rc > 0 ? EXIT_BROKER : EXIT_USAGE;
	}
	free(body);
	free(r);
	fprintf(stderr, "pulsemq: put: no broker took the message\n");
	return status;
}

/* get TOPIC B-P OFFSET: the address of broker B from the registry. */
static int cluster_route_get(struct cli *c)
{
	struct pulsemq_route *r;
	size_t n;
	int b, p, rc, used = 0;

	if (need_args(c, 3, 3) < 0)
		return EXIT_USAGE;
	if (sscanf(c->argv[2], "%d-%d%n", &b, &p, &used) != 2 || c->argv[2][used])
		return usage_error("get with -z names a partition as BROKER-PARTITION, not '%s'",
		                   c->argv[2]);
	if ((rc = discover(c, false, &r, &n)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (r[i].broker_id != b || r[i].partition != p)
			continue;
		static char host[256];
		snprintf(host, sizeof host, "%s", r[i].host);
		c->host = host;
		c->port = r[i].port;
		snprintf(c->zk_part, sizeof c->zk_part, "%d", p);
		c->argv[2] = c->zk_part;
		free(r);
		return 0;
	}
	free(r);
	fprintf(stderr, "pulsemq: get: topic %s has no partition %d-%d in %s (topics-sub)\n",
	        c->argv[1], b, p, c->zk);
	return EXIT_BROKER;
}

/* An operator's tool after a transaction manager is lost: list the
 * prepared XA branches, commit or roll one back by its key. */
static int cmd_tx(struct cli *c)
{
	struct pulsemq_error err;
	if (c->argc >= 2 && !strcmp(c->argv[1], "list") && c->argc <= 3) {
		struct pulsemq_reply r;
		int rc = pulsemq_tx_recover(c->conn, c->argc == 3 ? c->argv[2] : NULL, &r, &err);
		if (rc != 0) {
			pulsemq_reply_free(&r);
			return fail(c, "tx list", rc, &err);
		}
		if (c->json)
			printf("{\"status\": 200, \"prepared\": [");
		bool first = true;
		char *save = NULL;
		for (char *k = strtok_r(r.body, "\r\n", &save); k; k = strtok_r(NULL, "\r\n", &save)) {
			if (!c->json) {
				puts(k);
				continue;
			}
			printf("%s", first ? "" : ", ");
			json_string(stdout, k, strlen(k));
			first = false;
		}
		if (c->json)
			printf("]}\n");
		pulsemq_reply_free(&r);
		return 0;
	}
	bool commit = c->argc == 3 && !strcmp(c->argv[1], "commit");
	if (!commit && !(c->argc == 3 && !strcmp(c->argv[1], "rollback")))
		return usage_error("tx takes list [QUALIFIER], commit KEY or rollback KEY");
	int rc = pulsemq_tx_finish(c->conn, c->argv[2], commit, &err);
	if (rc != 0)
		return fail(c, commit ? "tx commit" : "tx rollback", rc, &err);
	if (c->json)
		printf("{\"status\": 200}\n");
	else
		printf("%s %s\n", commit ? "committed" : "rolled back", c->argv[2]);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { .host = PULSEMQ_DEFAULT_HOST, .port = PULSEMQ_DEFAULT_PORT,
	                 .timeout_ms = 10000, .group = "pulsemq-cli", .count = 1 };
	int rc = parse_args(&c, argc, argv);
	if (rc)
		return rc;
	if (c.argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(c.argv[0], "ctl")) /* the admin socket, not TCP */
		return cli_ctl(c.argc, c.argv, c.admin_socket ? c.admin_socket :
		               CLI_CTL_DEFAULT_SOCKET, c.json, c.timeout_ms);
	static const struct {
		const char *name;
		int (*run)(struct cli *);
	} cmds[] = {
		{ "put", cmd_put }, { "get", cmd_get }, { "offset", cmd_offset },
		{ "stats", cmd_stats }, { "version", cmd_version }, { "ping", cmd_ping },
		{ "tx", cmd_tx },
		{ "consume", cmd_consume }, { "groups", cmd_groups }, { "clients", cmd_clients },
	};
	int (*run)(struct cli *) = NULL;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(c.argv[0], cmds[i].name))
			run = cmds[i].run;
	if (!run)
		return usage_error("unknown command '%s'", c.argv[0]);
	if (c.file && strcmp(c.argv[0], "put"))
		return usage_error("-f is for put, not %s", c.argv[0]);
	if (c.follow && strcmp(c.argv[0], "get"))
		return usage_error("--follow is for get, not %s", c.argv[0]);

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct pulsemq_options opt;
	pulsemq_options_init(&opt);
	opt.request_timeout_ms = c.timeout_ms;
	opt.connect_timeout_ms = c.timeout_ms < 3000 ? c.timeout_ms : 3000;
	opt.reconnect = c.follow; /* a one-shot command reports a loss instead */
	if (c.zk && !strcmp(c.argv[0], "put"))
		return cluster_put(&c, &opt);
	if (c.zk && strcmp(c.argv[0], "get"))
		return usage_error("-z is for put and get, not %s", c.argv[0]);
	if (c.zk && (rc = cluster_route_get(&c)) != 0)
		return rc;
	char why[300];
	rc = pulsemq_connect(&c.conn, c.host, c.port, &opt, why, sizeof(why));
	if (rc < 0) {
		if (c.json) {
			printf("{\"status\": %d, \"error\": ", rc);
			json_string(stdout, why, strlen(why));
			printf("}\n");
		}
		fprintf(stderr, "pulsemq: cannot connect to %s\n", why);
		return EXIT_USAGE;
	}
	rc = run(&c);
	pulsemq_close(c.conn);
	return rc;
}
