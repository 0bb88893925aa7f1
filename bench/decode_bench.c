/*
 * decode_bench.c - how many short pipelined commands pmq_decode_request()
 * gets through per second on one core.
 *
 * Builds one buffer of mixed commands (version, get, offset, put with a small
 * body, stats), decodes it from start to end repeatedly, and prints the
 * median of 5 runs, timed in thread CPU time. Measure a normal -O2 build,
 * not --enable-debug.
 *   bench/decode_bench [COMMANDS]     (default 200000 per pass)
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/protocol.h"

#define RUNS 5
#define PASSES_PER_RUN 10

static const char *const mix[] = {
	"version 1\r\n",
	"get topic-1 group-1 0 1048576 65536 2\r\n",
	"offset topic-1 group-1 3 4096 3\r\n",
	"put topic-1 0 16 0 4\r\n0123456789abcdef",
	"stats 5\r\n",
	"put topic-2 -1 8 0 907060870 6\r\nmessage!",
	"get topic-2 group-7 2 123456789 1024 -7\r\n",
	"version 8\r\n",
};
#define MIX (sizeof(mix) / sizeof(mix[0]))

static char *build(size_t count, size_t *len)
{
	size_t cap = 0;

	for (size_t i = 0; i < count; i++)
		cap += strlen(mix[i % MIX]);
	char *buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	*len = 0;
	for (size_t i = 0; i < count; i++) {
		size_t n = strlen(mix[i % MIX]);
		memcpy(buf + *len, mix[i % MIX], n);
		*len += n;
	}
	return buf;
}

/* Decodes the whole buffer; returns how many commands, 0 on any error. */
static size_t decode_all(const char *buf, size_t len, int64_t *sink)
{
	struct pmq_msg m;
	struct pmq_decode_error err;
	size_t off = 0, used, count = 0;

	while (off < len) {
		if (pmq_decode_request(NULL, buf + off, len - off, &m, &used, &err) != PMQ_DECODE_OK)
			return 0;
		*sink += m.opaque; /* keep the work observable */
		off += used;
		count++;
	}
	return count;
}

/* CPU time of this thread: on a busy machine, wall time would measure the
 * neighbours; this measures the decoder on the core it got. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000, len;
	char *buf = build(count, &len);
	double rate[RUNS];
	int64_t sink = 0;

	if (buf == NULL || count == 0) {
		fprintf(stderr, "decode_bench: cannot build %zu commands\n", count);
		return 1;
	}
	for (int r = 0; r < RUNS; r++) {
		size_t done = 0;
		double t0 = now_s();
		for (int p = 0; p < PASSES_PER_RUN; p++)
			done += decode_all(buf, len, &sink);
		double dt = now_s() - t0;
		if (done != count * PASSES_PER_RUN) {
			fprintf(stderr, "decode_bench: decode failed\n");
			return 1;
		}
		rate[r] = (double)done / dt;
	}
	qsort(rate, RUNS, sizeof(rate[0]), cmp_double);
	printf("decode: %.0f commands/s per core (median of %d runs, CPU time; %zu commands,"
	       " %zu bytes per pass;"
	       " min %.0f max %.0f; sink %lld)\n", rate[RUNS / 2], RUNS, count, len, rate[0],
	       rate[RUNS - 1], (long long)sink);
	free(buf);
	return 0;
}
