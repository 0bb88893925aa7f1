/*
 * clients_list.c - `stats clients`, `stats groups`, the figures and the
 * per-group /metrics series from the registration tables.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/clock.h"
#include "server/broker/broker.h"
#include "server/broker/clients_priv.h"
#include "server/common/log.h"
#include "server/runtime/runtime.h"

/* ---- listings ------------------------------------------------------------------- */

static int session_cmp(const void *a, const void *b)
{
	const struct cl_session *x = *(struct cl_session *const *)a;
	const struct cl_session *y = *(struct cl_session *const *)b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	return (x->h.io != y->h.io) ? (x->h.io < y->h.io ? -1 : 1) :
	       (x->h.slot != y->h.slot) ? (x->h.slot < y->h.slot ? -1 : 1) : 0;
}

static int group_cmp(const void *a, const void *b)
{
	const struct cl_group *x = *(struct cl_group *const *)a;
	const struct cl_group *y = *(struct cl_group *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : x->kind - y->kind;
}

/* Every node of t, in an array to sort; NULL (b->failed set) on ENOMEM. */
void **cl_hash_list(const struct cl_hash *t, struct sbuf *b)
{
	void **v = malloc((t->n ? t->n : 1) * sizeof(*v));
	size_t k = 0;

	if (!v) {
		b->failed = true;
		return NULL;
	}
	for (size_t i = 0; i < t->nb; i++)
		for (struct cl_hnode *n = t->b[i]; n; n = n->next)
			v[k++] = n;
	return v;
}

static void kind_list(struct sbuf *b, const struct cl_session *s, int kind)
{
	bool any = false;

	for (unsigned i = 0; i < s->nm; i++)
		if (s->m[i]->g->kind == kind) {
			sbuf_printf(b, "%s%s", any ? "," : "", s->m[i]->g->name);
			any = true;
		}
	if (!any)
		sbuf_append(b, "-", 1);
}

void broker_clients_render(struct sbuf *b)
{
	struct cl_out o = { 0 };
	unsigned room = (unsigned)cls.cfg->stats_max_lines;

	uint64_t now = cl_lock(&o);
	void **v = cl_hash_list(&cls.sessions, b);
	size_t n = cls.sessions.n;
	if (v) {
		qsort(v, n, sizeof(*v), session_cmp);
		for (size_t i = 0; i < n && i < room; i++) {
			const struct cl_session *s = v[i];
			sbuf_printf(b, "%s session=%u.%u.%u peer=%s producer=", s->id,
			            (unsigned)s->h.io, (unsigned)s->h.slot, (unsigned)s->h.gen,
			            s->peer[0] ? s->peer : "-");
			kind_list(b, s, CL_PRODUCER);
			sbuf_append(b, " consumer=", 10);
			kind_list(b, s, CL_CONSUMER);
			sbuf_printf(b, " last_heartbeat_ms_ago=%" PRIu64 "\r\n", now - s->last_hb_ms);
		}
		if (n > room)
			sbuf_printf(b, "more %zu\r\n", n - room);
	}
	cl_unlock(&o);
	free(v);
}

static void topic_list(struct sbuf *b, const struct cl_group *g)
{
	if (g->ntopics == 0)
		sbuf_append(b, "-", 1);
	for (size_t i = 0; i < g->ntopics; i++) {
		if (i)
			sbuf_append(b, ",", 1);
		sbuf_append(b, g->topics[i].name, g->topics[i].len);
	}
}

void broker_groups_render(struct sbuf *b)
{
	struct cl_out o = { 0 };
	unsigned room = (unsigned)cls.cfg->stats_max_lines;
	uint64_t more = 0;

	cl_lock(&o);
	void **v = cl_hash_list(&cls.groups, b);
	size_t n = cls.groups.n;
	if (v) {
		qsort(v, n, sizeof(*v), group_cmp);
		for (size_t i = 0; i < n; i++) {
			const struct cl_group *g = v[i];
			if (room == 0) {
				more++;
				continue;
			}
			room--;
			sbuf_printf(b, "%s kind=%s members=%zu generation=%" PRIu64 " topics=",
			            g->name, g->kind == CL_PRODUCER ? "producer" : "consumer",
			            g->ncids, g->generation);
			topic_list(b, g);
			sbuf_append(b, "\r\n", 2);
		}
	}
	cl_unlock(&o);
	free(v);
	/* after the clients' lock: offsets.c takes it under its own */
	offsets_render(b, &room, &more);
	if (more)
		sbuf_printf(b, "more %" PRIu64 "\r\n", more);
}

void broker_groups_each(void (*fn)(const char *group, size_t members, void *ctx), void *ctx)
{
	unsigned room = (unsigned)cls.cfg->stats_max_lines;

	pthread_mutex_lock(&cls.lock);
	for (size_t i = 0; i < cls.groups.nb; i++)
		for (struct cl_hnode *n = cls.groups.b[i]; n && room; n = n->next) {
			const struct cl_group *g = (const struct cl_group *)n;
			if (g->kind != CL_CONSUMER)
				continue;
			fn(g->name, g->ncids, ctx);
			room--;
		}
	pthread_mutex_unlock(&cls.lock);
}

bool clients_group_has_members(const char *group, size_t len)
{
	pthread_mutex_lock(&cls.lock);
	bool has = cl_group_find(CL_CONSUMER, group, len) != NULL;
	pthread_mutex_unlock(&cls.lock);
	return has;
}

void clients_figures(uint64_t v[SF_COUNT])
{
	pthread_mutex_lock(&cls.lock);
	v[SF_REG_CLIENTS] = cls.client_ids.n;
	pthread_mutex_unlock(&cls.lock);
	v[SF_REG_SESSIONS] = atomic_load(&cls.nsessions);
	v[SF_REG_PRODUCER_GROUPS] = atomic_load(&cls.ngroups[CL_PRODUCER]);
	v[SF_REG_CONSUMER_GROUPS] = atomic_load(&cls.ngroups[CL_CONSUMER]);
	v[SF_REG_REGISTRATIONS] = atomic_load(&cls.registrations);
	v[SF_REG_REFRESHES] = atomic_load(&cls.refreshes);
	v[SF_REG_REFUSED] = atomic_load(&cls.refused);
	v[SF_REG_EXPIRED] = atomic_load(&cls.expired);
	v[SF_REG_NOTIFIES] = atomic_load(&cls.notifies);
}
