/*
 * consumer.c - a consumer group member over the blocking API
 * (pulsemq.h "consumer groups", doc/client.md).
 *
 * Rebalance: on the first registration answer, on every notify of the
 * group with a newer generation and after a reconnect, the consumer
 * commits what it owns, reads the topic's partition count (`stats
 * topics`) and the members (`members GROUP`), and computes its share.
 * Partitions it keeps keep their position; new ones start from their
 * committed offset, or 0.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/pulsemq.h"

#define CONSUMER_MAX_PARTS 1024
#define CONSUMER_WAIT_MS 100 /* a caught-up poll waits this long per round */
/* A topic that does not exist yet (no put so far) brings no notify when
 * its first put creates it: look again this often. */
#define CONSUMER_TOPIC_RECHECK_MS 200

struct kpart {
	int32_t id;
	int64_t pos, committed;
};

struct pulsemq_consumer {
	struct pulsemq_conn *c;
	char group[256], topic[256], id[PULSEMQ_CLIENT_ID_MAX + 1];
	int auto_commit_ms;
	int32_t max_size;
	bool rebalance;
	uint64_t generation;
	struct kpart parts[CONSUMER_MAX_PARTS];
	int nparts;
	uint64_t rebalances, last_commit_ms;
	uint64_t topic_recheck_ms;   /* 0, or when to look for the absent topic again */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void pulsemq_consumer_options_init(struct pulsemq_consumer_options *o)
{
	memset(o, 0, sizeof *o);
	o->auto_commit_ms = 1000;
	o->max_size = 65536;
	pulsemq_options_init(&o->conn);
}

int pulsemq_assign_averagely(int nparts, int nmembers, int index, int *first)
{
	*first = 0;
	if (nparts <= 0 || nmembers <= 0 || index < 0 || index >= nmembers)
		return 0;
	int mod = nparts % nmembers;
	int size = nparts <= nmembers ? 1 : (mod > 0 && index < mod ? nparts / nmembers + 1
	                                                         : nparts / nmembers);
	int start = mod > 0 && index < mod ? index * size : index * size + mod;
	int range = nparts - start < size ? nparts - start : size;
	*first = start;
	return range > 0 ? range : 0;
}

static void on_event(struct pulsemq_conn *c, const struct pulsemq_event *ev, void *arg)
{
	struct pulsemq_consumer *k = arg;

	(void)c;
	if (ev->type == PULSEMQ_EV_NOTIFY && !strcmp(ev->group, k->group) &&
	    ev->generation != k->generation)
		k->rebalance = true;
	else if (ev->type == PULSEMQ_EV_REGISTERED && ev->error == 200)
		k->rebalance = true; /* first registration, or again after a reconnect */
}

static int commit_one(struct pulsemq_consumer *k, struct kpart *p)
{
	char line[600];
	struct pulsemq_reply r;
	struct pulsemq_error err;

	if (p->pos == p->committed)
		return 0;
	snprintf(line, sizeof line, "commit %s %s %d %" PRId64, k->topic, k->group, (int)p->id,
	         p->pos);
	int rc = pulsemq_call(k->c, line, NULL, 0, &r, &err);
	pulsemq_reply_free(&r);
	if (rc == 0)
		p->committed = p->pos;
	return rc;
}

int pulsemq_consumer_commit(struct pulsemq_consumer *k)
{
	int first = 0;

	for (int i = 0; i < k->nparts; i++) {
		int rc = commit_one(k, &k->parts[i]);
		if (rc != 0 && first == 0)
			first = rc;
	}
	k->last_commit_ms = now_ms();
	return first;
}

/* `stats topics`: the partitions of k->topic, 0 when it does not exist. */
static int topic_partitions(struct pulsemq_consumer *k)
{
	struct pulsemq_reply r;
	struct pulsemq_error err;
	int n = 0;
	size_t tl = strlen(k->topic);

	if (pulsemq_stats(k->c, "topics", &r, &err) != 0) {
		pulsemq_reply_free(&r);
		return -1;
	}
	for (char *p = r.body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, k->topic, tl) && !strncmp(p + tl, " partitions=", 12))
			n = atoi(p + tl + 12);
	pulsemq_reply_free(&r);
	return n;
}

/* `members GROUP`: my index among the members and their count. */
static int my_index(struct pulsemq_consumer *k, int *count)
{
	char line[300];
	struct pulsemq_reply r;
	struct pulsemq_error err;
	int idx = -1;

	*count = 0;
	snprintf(line, sizeof line, "members %s", k->group);
	if (pulsemq_call(k->c, line, NULL, 0, &r, &err) != 0) {
		pulsemq_reply_free(&r);
		return -1;
	}
	char *sp = strchr(r.body, ' ');
	k->generation = strtoull(r.body, NULL, 10);
	for (char *m = sp ? sp + 1 : NULL, *save = NULL, *t = m ? strtok_r(m, ",", &save) : NULL;
	     t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, k->id))
			idx = *count;
		++*count;
	}
	pulsemq_reply_free(&r);
	return idx;
}

static int64_t committed_of(struct pulsemq_consumer *k, int32_t part)
{
	char line[600];
	struct pulsemq_reply r;
	struct pulsemq_error err;
	int64_t off = 0;

	snprintf(line, sizeof line, "committed %s %s %d", k->topic, k->group, (int)part);
	if (pulsemq_call(k->c, line, NULL, 0, &r, &err) == 0)
		off = strtoll(r.body, NULL, 10);
	pulsemq_reply_free(&r);
	return off; /* 404: none committed, from the start */
}

static void rebalance(struct pulsemq_consumer *k)
{
	struct kpart old[CONSUMER_MAX_PARTS];
	int nold = k->nparts, count, first;

	k->rebalance = false;
	pulsemq_consumer_commit(k);
	memcpy(old, k->parts, (size_t)nold * sizeof *old);
	int nparts = topic_partitions(k);
	int idx = my_index(k, &count);
	if (nparts < 0 || idx < 0) {
		k->rebalance = true; /* not seen as a member yet: again next poll */
		return;
	}
	k->topic_recheck_ms = nparts == 0 ? now_ms() + CONSUMER_TOPIC_RECHECK_MS : 0;
	int n = pulsemq_assign_averagely(nparts, count, idx, &first);
	if (n > CONSUMER_MAX_PARTS)
		n = CONSUMER_MAX_PARTS;
	for (int i = 0; i < n; i++) {
		struct kpart *p = &k->parts[i];
		p->id = first + i;
		p->pos = -1;
		for (int j = 0; j < nold; j++)
			if (old[j].id == p->id)
				*p = old[j];
		if (p->pos < 0)
			p->pos = p->committed = committed_of(k, p->id);
	}
	k->nparts = n;
	k->rebalances++;
}

int pulsemq_consumer_open(struct pulsemq_consumer **out, const char *host, int port,
                          const struct pulsemq_consumer_options *o, char *err, size_t errlen)
{
	struct pulsemq_consumer *k = calloc(1, sizeof *k);
	char body[600];
	int rc;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	if (!o->group || !o->topic || strlen(o->group) > 255 || strlen(o->topic) > 255) {
		free(k);
		return -EINVAL;
	}
	snprintf(k->group, sizeof k->group, "%s", o->group);
	snprintf(k->topic, sizeof k->topic, "%s", o->topic);
	if (o->client_id)
		snprintf(k->id, sizeof k->id, "%s", o->client_id);
	else
		pulsemq_client_id(k->id, sizeof k->id);
	k->auto_commit_ms = o->auto_commit_ms;
	k->max_size = o->max_size > 0 ? o->max_size : 65536;
	struct pulsemq_options co = o->conn;
	co.on_event = on_event;
	co.event_arg = k;
	rc = pulsemq_connect(&k->c, host, port, &co, err, errlen);
	if (rc == 0) {
		snprintf(body, sizeof body, "consumer %s %s\n", k->group, k->topic);
		rc = pulsemq_register(k->c, k->id, body);
	}
	if (rc != 0) {
		pulsemq_close(k->c);
		free(k);
		return rc;
	}
	k->last_commit_ms = now_ms();
	*out = k;
	return 0;
}

/* One get of partition p: messages delivered, or -1 when fn stopped. */
static int fetch(struct pulsemq_consumer *k, struct kpart *p, pulsemq_message_fn *fn, void *arg)
{
	struct pulsemq_msgset set = { 0 };
	struct pulsemq_error err;
	struct pulsemq_message m;
	size_t pos = 0;
	int n = 0;

	if (pulsemq_get(k->c, k->topic, k->group, p->id, p->pos, &k->max_size, &set, &err) != 0) {
		pulsemq_msgset_free(&set);
		return 0;
	}
	for (int rc; (rc = pulsemq_msgset_next(&set, &pos, &m)) != 0;) {
		if (rc == -EPROTO)
			break;
		p->pos = m.offset + (int64_t)m.size;
		if (rc == -EBADMSG)
			continue; /* a damaged record is skipped, never delivered */
		n++;
		if (fn(&m, p->id, arg)) {
			n = -n - 1;
			break;
		}
	}
	pulsemq_msgset_free(&set);
	return n;
}

int pulsemq_consumer_poll(struct pulsemq_consumer *k, int timeout_ms, pulsemq_message_fn *fn,
                          void *arg)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		int rc = pulsemq_poll(k->c, 0);
		if (rc == -ENOTCONN)
			return rc;
		if (k->topic_recheck_ms && now_ms() >= k->topic_recheck_ms)
			k->rebalance = true;
		if (k->rebalance && pulsemq_connected(k->c))
			rebalance(k);
		int delivered = 0;
		for (int i = 0; i < k->nparts; i++) {
			int n = fetch(k, &k->parts[i], fn, arg);
			if (n < 0) {
				delivered += -n - 1;
				return delivered;
			}
			delivered += n;
		}
		uint64_t now = now_ms();
		if (k->auto_commit_ms > 0 && now - k->last_commit_ms >= (uint64_t)k->auto_commit_ms)
			pulsemq_consumer_commit(k);
		if (delivered > 0 || now >= deadline)
			return delivered;
		uint64_t left = deadline - now;
		pulsemq_poll(k->c, (int)(left < CONSUMER_WAIT_MS ? left : CONSUMER_WAIT_MS));
	}
}

int pulsemq_consumer_partitions(const struct pulsemq_consumer *k, int32_t *parts, size_t cap)
{
	for (int i = 0; i < k->nparts && (size_t)i < cap; i++)
		parts[i] = k->parts[i].id;
	return k->nparts;
}

uint64_t pulsemq_consumer_rebalances(const struct pulsemq_consumer *k)
{
	return k->rebalances;
}

void pulsemq_consumer_close(struct pulsemq_consumer *k)
{
	if (!k)
		return;
	if (pulsemq_connected(k->c))
		pulsemq_consumer_commit(k);
	pulsemq_close(k->c);
	free(k);
}
