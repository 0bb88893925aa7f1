/*
 * discover.c - pulsemq_discover() (pulsemq.h): a topic's partitions and
 * their brokers, read once from the ZooKeeper registry pulsemqd (and
 * MetaQ's brokers) keep: topics-pub or topics-sub/T/B-m holds
 * {"numParts":N,...}, ids/B/master holds meta://HOST:PORT.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zookeeper/zookeeper.h>

#include "client/pulsemq.h"

#define DISCOVER_PATH_MAX 1024
#define DISCOVER_DATA_MAX 512
#define DISCOVER_ROOT_DEFAULT "/meta"

static int fail(char *why, size_t cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;
	if (why && cap) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* meta://HOST:PORT (HOST may be [v6]). */
static int parse_address(const char *data, struct pulsemq_route *r)
{
	const char *p = strncmp(data, "meta://", 7) == 0 ? data + 7 : data;
	const char *colon = strrchr(p, ':');
	size_t hl;

	if (!colon || colon == p)
		return -EINVAL;
	hl = (size_t)(colon - p);
	if (p[0] == '[' && hl >= 2 && p[hl - 1] == ']') {
		p++;
		hl -= 2;
	}
	if (hl >= sizeof r->host)
		return -EINVAL;
	memcpy(r->host, p, hl);
	r->host[hl] = '\0';
	r->port = atoi(colon + 1);
	return r->port > 0 && r->port < 65536 ? 0 : -EINVAL;
}

static int get_data(zhandle_t *zh, const char *path, char *buf, size_t cap)
{
	int len = (int)cap - 1;
	int rc = zoo_get(zh, path, 0, buf, &len, NULL);
	buf[rc == ZOK && len > 0 ? len : 0] = '\0';
	return rc;
}

static int cmp_route(const void *a, const void *b)
{
	const struct pulsemq_route *x = a, *y = b;
	if (x->broker_id != y->broker_id)
		return x->broker_id < y->broker_id ? -1 : 1;
	return x->partition < y->partition ? -1 : x->partition > y->partition;
}

/* One child "B-m" of the topic's node: its partitions into *v. */
static int add_broker(zhandle_t *zh, const char *root, const char *tpath, const char *child,
                      struct pulsemq_route **v, size_t *n, size_t *cap)
{
	char path[DISCOVER_PATH_MAX], data[DISCOVER_DATA_MAX];
	struct pulsemq_route r;
	char *end;
	long b = strtol(child, &end, 10);

	if (end == child || strcmp(end, "-m") != 0)
		return 0; /* a slave ("B-s"), or not ours: skip */
	int k = snprintf(path, sizeof path, "%s/%s", tpath, child);
	if (k < 0 || (size_t)k >= sizeof path || get_data(zh, path, data, sizeof data) != ZOK)
		return 0; /* gone meanwhile */
	const char *np = strstr(data, "\"numParts\":");
	int parts = np ? atoi(np + 11) : atoi(data); /* topics/T/B-m holds just N */
	snprintf(path, sizeof path, "%s/brokers/ids/%ld/master", root, b);
	if (parts <= 0 || get_data(zh, path, data, sizeof data) != ZOK)
		return 0;
	memset(&r, 0, sizeof r);
	if (parse_address(data, &r) != 0)
		return 0;
	r.broker_id = (int32_t)b;
	for (int p = 0; p < parts; p++) {
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			struct pulsemq_route *nv = realloc(*v, nc * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			*cap = nc;
		}
		r.partition = p;
		(*v)[(*n)++] = r;
	}
	return 0;
}

int pulsemq_discover(const char *zk, const char *topic, bool for_put, int timeout_ms,
                     struct pulsemq_route **out, size_t *n, char *why, size_t whylen)
{
	char hosts[1024], root[512] = DISCOVER_ROOT_DEFAULT, tpath[DISCOVER_PATH_MAX];
	const char *slash = strchr(zk, '/');
	size_t hl = slash ? (size_t)(slash - zk) : strlen(zk), cap = 0;
	struct String_vector kids = { 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if (hl == 0 || hl >= sizeof hosts)
		return fail(why, whylen, -EINVAL, "bad ZooKeeper address '%s'", zk);
	memcpy(hosts, zk, hl);
	hosts[hl] = '\0';
	if (slash && slash[1])
		snprintf(root, sizeof root, "%s", slash);
	zoo_set_debug_level((ZooLogLevel)0); /* no client chatter on stderr */
	zhandle_t *zh = zookeeper_init(hosts, NULL, timeout_ms > 1000 ? timeout_ms : 1000, NULL,
	                               NULL, 0);
	if (!zh)
		return fail(why, whylen, -EINVAL, "bad ZooKeeper address '%s'", hosts);
	long end = now_ms() + timeout_ms;
	while (zoo_state(zh) != ZOO_CONNECTED_STATE && now_ms() < end)
		poll(NULL, 0, 10);
	if (zoo_state(zh) != ZOO_CONNECTED_STATE) {
		zookeeper_close(zh);
		return fail(why, whylen, -ETIMEDOUT, "ZooKeeper %s not reachable within %d ms",
		            hosts, timeout_ms);
	}
	snprintf(tpath, sizeof tpath, "%s/brokers/%s/%s", root,
	         for_put ? "topics-pub" : "topics-sub", topic);
	rc = zoo_get_children(zh, tpath, 0, &kids);
	if (rc == ZNONODE) {
		zookeeper_close(zh);
		return 0;
	}
	if (rc != ZOK) {
		zookeeper_close(zh);
		return fail(why, whylen, -EIO, "ZooKeeper %s: %s: %s", hosts, tpath, zerror(rc));
	}
	rc = 0;
	for (int i = 0; i < kids.count && rc == 0; i++)
		rc = add_broker(zh, root, tpath, kids.data[i], out, n, &cap);
	deallocate_String_vector(&kids);
	zookeeper_close(zh);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return fail(why, whylen, rc, "out of memory");
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_route);
	return 0;
}
