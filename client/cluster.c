/*
 * cluster.c - pulsemq_cluster_*() (pulsemq.h): a producer over a cluster
 * found in ZooKeeper. The registry is read with pulsemq_discover(); there
 * are no watches: the routes are read again after every failure and at
 * least every PULSEMQ_CLUSTER_REFRESH_MS, which is how a broker that went
 * offline (it left topics-pub) or died (its session expired) stops being
 * chosen, and one that came back starts being chosen again.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/pulsemq.h"

#define CLUSTER_BROKERS_MAX 1024     /* broker_id's range */
#define CLUSTER_DOWN_MS 1000         /* a broker that failed is skipped this long */
#define CLUSTER_ZK_TIMEOUT_MS 10000

struct broker_conn {
	struct pulsemq_conn *conn;
	char host[256];
	int port;
	long down_until_ms;
};

struct pulsemq_cluster {
	char zk[1024];
	struct pulsemq_options opt;
	char topic[256];
	struct pulsemq_route *routes;
	size_t nroutes;
	long routes_ms;                   /* when they were read; 0: never */
	size_t next;                      /* round robin */
	struct broker_conn brokers[CLUSTER_BROKERS_MAX];
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int pulsemq_cluster_open(struct pulsemq_cluster **out, const char *zk,
                         const struct pulsemq_options *opt)
{
	struct pulsemq_cluster *cl = calloc(1, sizeof(*cl));

	*out = NULL;
	if (!cl)
		return -ENOMEM;
	if (strlen(zk) >= sizeof cl->zk) {
		free(cl);
		return -EINVAL;
	}
	strcpy(cl->zk, zk);
	if (opt)
		cl->opt = *opt;
	else
		pulsemq_options_init(&cl->opt);
	cl->opt.reconnect = false; /* a lost broker is the next partition's turn */
	*out = cl;
	return 0;
}

static void drop_conn(struct broker_conn *b, long now)
{
	pulsemq_close(b->conn);
	b->conn = NULL;
	b->down_until_ms = now + CLUSTER_DOWN_MS;
}

void pulsemq_cluster_close(struct pulsemq_cluster *cl)
{
	if (!cl)
		return;
	for (int i = 0; i < CLUSTER_BROKERS_MAX; i++)
		pulsemq_close(cl->brokers[i].conn);
	free(cl->routes);
	free(cl);
}

static int refresh(struct pulsemq_cluster *cl, const char *topic, struct pulsemq_error *err)
{
	struct pulsemq_route *r;
	size_t n;
	int rc = pulsemq_discover(cl->zk, topic, true, CLUSTER_ZK_TIMEOUT_MS, &r, &n, err->text,
	                          sizeof err->text);
	if (rc != 0) {
		err->status = rc;
		return rc;
	}
	free(cl->routes);
	cl->routes = r;
	cl->nroutes = n;
	cl->routes_ms = now_ms();
	snprintf(cl->topic, sizeof cl->topic, "%s", topic);
	return 0;
}

/* The broker's connection, opened (or its address changed) on demand. */
static struct pulsemq_conn *conn_of(struct pulsemq_cluster *cl, const struct pulsemq_route *r,
                                    long now, struct pulsemq_error *err)
{
	struct broker_conn *b;

	if (r->broker_id < 0 || r->broker_id >= CLUSTER_BROKERS_MAX)
		return NULL;
	b = &cl->brokers[r->broker_id];
	if (b->conn && (strcmp(b->host, r->host) || b->port != r->port))
		drop_conn(b, 0); /* it moved: a new run of that broker */
	if (b->conn)
		return b->conn;
	if (now < b->down_until_ms) {
		err->status = -EHOSTDOWN;
		snprintf(err->text, sizeof err->text, "broker %d failed just now", (int)r->broker_id);
		return NULL;
	}
	snprintf(b->host, sizeof b->host, "%s", r->host);
	b->port = r->port;
	int rc = pulsemq_connect(&b->conn, r->host, r->port, &cl->opt, err->text, sizeof err->text);
	if (rc != 0) {
		err->status = rc;
		b->conn = NULL;
		b->down_until_ms = now + CLUSTER_DOWN_MS;
		return NULL;
	}
	return b->conn;
}

static size_t key_slot(const char *key, size_t n)
{
	return (size_t)pulsemq_checksum(key, strlen(key)) % n;
}

int pulsemq_cluster_put(struct pulsemq_cluster *cl, const char *topic, const char *key,
                        const void *data, size_t len, int32_t flag,
                        struct pulsemq_cluster_result *res, struct pulsemq_error *err)
{
	long now = now_ms();
	int rc;

	memset(res, 0, sizeof *res);
	err->status = 0;
	err->text[0] = '\0';
	if (strcmp(cl->topic, topic) || cl->routes_ms == 0 ||
	    now - cl->routes_ms >= PULSEMQ_CLUSTER_REFRESH_MS)
		if ((rc = refresh(cl, topic, err)) != 0)
			return rc;
	for (int round = 0; round < 2; round++) {
		size_t n = cl->nroutes;
		if (n == 0) {
			err->status = -ENOENT;
			snprintf(err->text, sizeof err->text, "no broker takes puts for topic %s",
			         topic);
			return -ENOENT;
		}
		size_t start = key ? key_slot(key, n) : cl->next++ % n;
		for (size_t i = 0; i < n; i++) {
			const struct pulsemq_route *r = &cl->routes[(start + i) % n];
			struct pulsemq_conn *c = conn_of(cl, r, now, err);
			if (!c) {
				if (err->status != -EHOSTDOWN) /* a skip is no send */
					res->retries++;
				continue;
			}
			rc = pulsemq_put(c, topic, r->partition, data, len, flag, &res->put, err);
			if (rc == 0) {
				res->broker_id = r->broker_id;
				if (!key) /* the turn after the one that took it */
					cl->next = start + i + 1;
				return 0;
			}
			res->retries++;
			if (rc > 0 && rc != 403 && rc != 503)
				return rc; /* the message's own fault: no other broker helps */
			if (rc < 0)
				drop_conn(&cl->brokers[r->broker_id], now);
		}
		/* Every route failed: the registry may know better now. */
		if (round == 0 && (rc = refresh(cl, topic, err)) != 0)
			return rc;
	}
	return err->status ? err->status : -EIO;
}
