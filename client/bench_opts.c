/*
 * bench_opts.c - pulsemq-bench's command line.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/bench.h"

static void usage(FILE *f)
{
	fputs("usage: pulsemq-bench [options]\n"
	      "  -h HOST          target host (127.0.0.1)\n"
	      "  -p PORT          target port (8123)\n"
	      "  -z ZK[/ROOT]     the brokers of a cluster from ZooKeeper instead: each\n"
	      "                   connection on one partition of --topic, round the\n"
	      "                   partitions of topics-pub (topics-sub with no puts)\n"
	      "  -c N             connections (1)\n"
	      "  -T N             threads, one epoll loop each (1)\n"
	      "  -P N             requests in flight per connection (1)\n"
	      "  -d SECONDS       measured duration (10, unless -n)\n"
	      "  -n N             total requests instead of a duration\n"
	      "  --rate R         open loop: R requests/s in total; latency counts from\n"
	      "                   each request's scheduled time (no coordinated omission)\n"
	      "  --mix P:G:V      put:get:version weights (0:0:1)\n"
	      "  -s BYTES         put message size (100)\n"
	      "  --topic NAME     topic (bench)\n"
	      "  --group NAME     consumer group for get and --consumers (bench)\n"
	      "  --consumers N    N members of --group consume --topic beside the producers:\n"
	      "                   end-to-end latency (put sent -> delivered), delivered/s,\n"
	      "                   rebalances (puts only unless --mix; -s 28 or more)\n"
	      "  --partitions N   partitions 0..N-1 used round-robin (1)\n"
	      "  --warmup SECONDS run first, not measured (0)\n"
	      "  --timeout MS     request timeout (5000)\n"
	      "  --heartbeat MS   client heartbeat interval (10000, 0 = off)\n"
	      "  --raw 'LINE\\r\\n' raw mode: send these bytes, count one \\r\\n line per\n"
	      "                   request (memcached `version\\r\\n`, redis `PING\\r\\n`)\n"
	      "  --verify         put, then read everything back and report missing,\n"
	      "                   duplicated and corrupted messages\n"
	      "  --json           report as JSON on stdout\n"
	      "  -q, --quiet      no progress line\n"
	      "  --help           this text\n",
	      f);
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "pulsemq-bench: bad %s '%s' (see --help)\n", what, arg);
	return 2;
}

static int num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* \r \n \t \\ \xHH, the rest as is. */
static char *unescape(const char *s, size_t *len)
{
	char *out = malloc(strlen(s) + 1);
	size_t n = 0;
	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			out[n++] = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'r': out[n++] = '\r'; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case '\\': out[n++] = '\\'; break;
		case 'x':
			if (p[1] && p[2]) {
				char hex[3] = { p[1], p[2], 0 };
				out[n++] = (char)strtol(hex, NULL, 16);
				p += 2;
				break;
			}
			out[n++] = '\\';
			out[n++] = *p;
			break;
		default:
			out[n++] = '\\';
			out[n++] = *p;
			break;
		}
	}
	*len = n;
	return out;
}

enum { O_RATE = 256, O_MIX, O_TOPIC, O_GROUP, O_PARTS, O_WARMUP, O_JSON, O_RAW,
       O_VERIFY, O_TIMEOUT, O_HEARTBEAT, O_CONSUMERS, O_HELP };

/* -z: the topic's partitions and their brokers, once, before the run. */
static int discover_routes(struct bench_opts *o)
{
	char why[300];
	bool puts = o->mix[0] > 0;

	if (o->raw || o->verify) {
		fputs("pulsemq-bench: -z is for --mix runs, not --raw or --verify\n", stderr);
		return 2;
	}
	if (pulsemq_discover(o->zk, o->topic, puts, 10000, &o->routes, &o->nroutes, why,
	                     sizeof why) != 0) {
		fprintf(stderr, "pulsemq-bench: -z %s: %s\n", o->zk, why);
		return 2;
	}
	if (o->nroutes == 0) {
		fprintf(stderr, "pulsemq-bench: -z %s: no broker has topic %s in %s\n", o->zk,
		        o->topic, puts ? "topics-pub" : "topics-sub");
		return 2;
	}
	o->partitions = 1;
	for (size_t i = 0; i < o->nroutes; i++)
		if (o->routes[i].partition + 1 > o->partitions)
			o->partitions = o->routes[i].partition + 1; /* sizes the get cursors */
	if (!o->quiet)
		fprintf(stderr, "pulsemq-bench: %zu partitions on the cluster at %s\n", o->nroutes,
		        o->zk);
	return 0;
}

int bench_parse(struct bench_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "rate", required_argument, NULL, O_RATE },
		{ "mix", required_argument, NULL, O_MIX },
		{ "topic", required_argument, NULL, O_TOPIC },
		{ "group", required_argument, NULL, O_GROUP },
		{ "consumers", required_argument, NULL, O_CONSUMERS },
		{ "partitions", required_argument, NULL, O_PARTS },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "json", no_argument, NULL, O_JSON },
		{ "raw", required_argument, NULL, O_RAW },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "heartbeat", required_argument, NULL, O_HEARTBEAT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct bench_opts){
		.host = PULSEMQ_DEFAULT_HOST, .port = PULSEMQ_DEFAULT_PORT,
		.conns = 1, .threads = 1, .pipeline = 1, .mix = { 0, 0, 1 },
		.msg_size = 100, .topic = "bench", .group = "bench", .partitions = 1,
		.timeout_ms = 5000, .heartbeat_ms = 10000,
	};
	bool mix_given = false, dur_given = false;
	double v;
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h:p:z:c:T:P:d:n:s:q", longs, NULL)) != -1) {
		switch (ch) {
		case 'h': o->host = optarg; break;
		case 'z': o->zk = optarg; break;
		case 'p':
			if (num(optarg, 1, 65535, &v) < 0) return bad("port", optarg);
			o->port = (int)v;
			break;
		case 'c':
			if (num(optarg, 1, 100000, &v) < 0) return bad("connection count", optarg);
			o->conns = (int)v;
			break;
		case 'T':
			if (num(optarg, 1, 1024, &v) < 0) return bad("thread count", optarg);
			o->threads = (int)v;
			break;
		case 'P':
			if (num(optarg, 1, 1 << 20, &v) < 0) return bad("pipeline depth", optarg);
			o->pipeline = (int)v;
			break;
		case 'd':
			if (num(optarg, 0.001, 1e7, &v) < 0) return bad("duration", optarg);
			o->duration_s = v;
			dur_given = true;
			break;
		case 'n':
			if (num(optarg, 1, 1e15, &v) < 0) return bad("request count", optarg);
			o->total = (uint64_t)v;
			break;
		case 's':
			if (num(optarg, 0, 64 << 20, &v) < 0) return bad("message size", optarg);
			o->msg_size = (size_t)v;
			break;
		case 'q': o->quiet = true; break;
		case O_RATE:
			if (num(optarg, 0.001, 1e9, &v) < 0) return bad("rate", optarg);
			o->rate = v;
			break;
		case O_MIX: {
			unsigned a, b, c;
			char extra;
			if (sscanf(optarg, "%u:%u:%u%c", &a, &b, &c, &extra) != 3 || a + b + c == 0 ||
			    a + b + c > 1000000)
				return bad("mix", optarg);
			o->mix[0] = a;
			o->mix[1] = b;
			o->mix[2] = c;
			mix_given = true;
			break;
		}
		case O_TOPIC: o->topic = optarg; break;
		case O_GROUP: o->group = optarg; break;
		case O_CONSUMERS:
			if (num(optarg, 1, BENCH_MAX_CONSUMERS, &v) < 0) return bad("consumer count", optarg);
			o->consumers = (int)v;
			break;
		case O_PARTS:
			if (num(optarg, 1, 1 << 20, &v) < 0) return bad("partition count", optarg);
			o->partitions = (int)v;
			break;
		case O_WARMUP:
			if (num(optarg, 0, 1e6, &v) < 0) return bad("warmup", optarg);
			o->warmup_s = v;
			break;
		case O_JSON: o->json = true; break;
		case O_RAW:
			free(o->raw);
			o->raw = unescape(optarg, &o->raw_len);
			if (!o->raw || o->raw_len == 0) return bad("raw request", optarg);
			break;
		case O_VERIFY: o->verify = true; break;
		case O_TIMEOUT:
			if (num(optarg, 1, 3600000, &v) < 0) return bad("timeout", optarg);
			o->timeout_ms = (int)v;
			break;
		case O_HEARTBEAT:
			if (num(optarg, 0, 3600000, &v) < 0) return bad("heartbeat interval", optarg);
			o->heartbeat_ms = (int)v;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "pulsemq-bench: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "pulsemq-bench: unknown option '%s' (see --help)\n",
			        argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pulsemq-bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->total && dur_given) {
		fputs("pulsemq-bench: give -d or -n, not both\n", stderr);
		return 2;
	}
	if (!o->total && !dur_given)
		o->duration_s = 10;
	if (o->threads > o->conns)
		o->threads = o->conns;
	if (o->raw && (o->verify || mix_given)) {
		fputs("pulsemq-bench: --raw sends only its own bytes: no --mix or --verify\n", stderr);
		return 2;
	}
	if (o->verify) {
		if (!mix_given) {
			o->mix[0] = 1;
			o->mix[1] = o->mix[2] = 0;
		}
		if (o->mix[0] == 0) {
			fputs("pulsemq-bench: --verify needs puts in the mix\n", stderr);
			return 2;
		}
		if (o->msg_size < BENCH_HEADER) {
			fprintf(stderr, "pulsemq-bench: --verify needs -s %d or more\n", BENCH_HEADER);
			return 2;
		}
	}
	if (o->consumers) {
		if (o->raw || o->zk) {
			fputs("pulsemq-bench: --consumers needs one pulsemq broker: no --raw or -z\n", stderr);
			return 2;
		}
		if (!mix_given) {
			o->mix[0] = 1;
			o->mix[1] = o->mix[2] = 0;
		}
		if (o->mix[0] == 0) {
			fputs("pulsemq-bench: --consumers needs puts in the mix\n", stderr);
			return 2;
		}
		if (o->msg_size < BENCH_STAMPED) {
			fprintf(stderr, "pulsemq-bench: --consumers needs -s %d or more\n", BENCH_STAMPED);
			return 2;
		}
	}
	return o->zk ? discover_routes(o) : 0;
}
