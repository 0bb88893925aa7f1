/*
 * clients_table.c - the registration tables (clients_priv.h): hashing,
 * groups with their members and topic unions, sessions with their expiry
 * entries on the wheel, coalesced notifies, the close hook's queue.
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

struct cl_state cls = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- hashing ----------------------------------------------------------- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ULL;
	return h;
}

static uint64_t hash_handle(struct handle h)
{
	uint64_t x = ((uint64_t)h.io << 48) ^ ((uint64_t)h.slot << 20) ^ h.gen;
	return hash_bytes(14695981039346656037ULL, &x, sizeof x);
}

static uint64_t hash_group(int kind, const char *name, size_t len)
{
	return hash_bytes(14695981039346656037ULL + (uint64_t)kind, name, len);
}

static int hash_grow(struct cl_hash *t)
{
	size_t nb = t->nb ? t->nb * 2 : CL_HASH_MIN;
	struct cl_hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nb; i++)
		for (struct cl_hnode *n = t->b[i], *next; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

/* Inserting never fails once the table has room: callers grow first. */
static int hash_reserve(struct cl_hash *t)
{
	return t->n + 1 > t->nb ? hash_grow(t) : 0;
}

static void hash_insert(struct cl_hash *t, struct cl_hnode *n)
{
	struct cl_hnode **b = &t->b[n->hash & (t->nb - 1)];

	n->next = *b;
	*b = n;
	t->n++;
}

static void hash_remove(struct cl_hash *t, struct cl_hnode *n)
{
	for (struct cl_hnode **p = &t->b[n->hash & (t->nb - 1)]; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			t->n--;
			return;
		}
}

static struct cl_hnode *hash_first(const struct cl_hash *t, uint64_t hash)
{
	return t->nb ? t->b[hash & (t->nb - 1)] : NULL;
}

struct cl_session *cl_session_find(struct handle h)
{
	uint64_t hash = hash_handle(h);

	for (struct cl_hnode *n = hash_first(&cls.sessions, hash); n; n = n->next) {
		struct cl_session *s = (struct cl_session *)n;
		if (n->hash == hash && handle_equal(s->h, h))
			return s;
	}
	return NULL;
}

struct cl_group *cl_group_find(int kind, const char *name, size_t len)
{
	uint64_t hash = hash_group(kind, name, len);

	for (struct cl_hnode *n = hash_first(&cls.groups, hash); n; n = n->next) {
		struct cl_group *g = (struct cl_group *)n;
		if (n->hash == hash && g->kind == kind && g->nlen == len &&
		    memcmp(g->name, name, len) == 0)
			return g;
	}
	return NULL;
}

static struct cl_idref *idref_find(const char *id, size_t len)
{
	uint64_t hash = hash_bytes(14695981039346656037ULL, id, len);

	for (struct cl_hnode *n = hash_first(&cls.client_ids, hash); n; n = n->next) {
		struct cl_idref *r = (struct cl_idref *)n;
		if (n->hash == hash && r->len == len && memcmp(r->id, id, len) == 0)
			return r;
	}
	return NULL;
}

/* ---- deferred pushes and closes ------------------------------------------ */

static void out_push(struct cl_out *o, struct handle h, const char *line, size_t len)
{
	if (o->npush == o->cappush) {
		size_t cap = o->cappush ? o->cappush * 2 : 16;
		struct cl_push *p = realloc(o->push, cap * sizeof(*p));
		if (!p)
			return; /* a lost notify: the client's next heartbeat answer has the generation */
		o->push = p;
		o->cappush = cap;
	}
	struct cl_push *p = &o->push[o->npush++];
	p->h = h;
	p->len = (uint16_t)len;
	memcpy(p->line, line, len);
}

static void out_close(struct cl_out *o, struct handle h)
{
	if (o->nclose == o->capclose) {
		size_t cap = o->capclose ? o->capclose * 2 : 8;
		struct handle *c = realloc(o->close, cap * sizeof(*c));
		if (!c)
			return;
		o->close = c;
		o->capclose = cap;
	}
	o->close[o->nclose++] = h;
}

/* After the lock: the notifies, then the closes. */
static void out_flush(struct cl_out *o)
{
	for (size_t i = 0; i < o->npush; i++)
		if (runtime_push(o->push[i].h, o->push[i].line, o->push[i].len))
			atomic_fetch_add(&cls.notifies, 1);
	for (size_t i = 0; i < o->nclose; i++)
		runtime_close(o->close[i], CLOSE_REG_EXPIRED);
	free(o->push);
	free(o->close);
}

/* ---- notify ---------------------------------------------------------------- */

static void notify_send(struct cl_group *g, struct cl_out *o, uint64_t now)
{
	char line[CL_NOTIFY_BYTES];

	g->notify_pending = false;
	g->last_notify_ms = now;
	for (struct cl_member *m = g->members; m; m = m->gnext) {
		size_t n = pmq_encode_notify(line, sizeof line,
		                             (struct pmq_view){ g->name, g->nlen }, g->generation,
		                             m->s->notify_seq++);
		if (n <= sizeof line)
			out_push(o, m->s->h, line, n);
	}
}

static void notify_fire(struct wheel_entry *e, void *arg)
{
	struct cl_group *g = (struct cl_group *)((char *)e - offsetof(struct cl_group, notify_we));

	(void)arg;
	notify_send(g, cls.tick_out, clock_now_ms());
}

/* A consumer group's generation changed: notify now, or once the coalescing
 * window since the last one has passed (with the generation of then). */
static void notify_due(struct cl_group *g, struct cl_out *o, uint64_t now)
{
	uint64_t window = (uint64_t)cls.cfg->notify_coalesce_ms;

	if (g->kind != CL_CONSUMER || g->notify_pending)
		return;
	if (g->last_notify_ms == 0 || now >= g->last_notify_ms + window) {
		notify_send(g, o, now);
		return;
	}
	g->notify_pending = true;
	g->notify_we.fire = notify_fire;
	g->notify_we.arg = NULL;
	cl_wheel_arm(&g->notify_we, g->last_notify_ms + window);
}

/* ---- groups: members and topics -------------------------------------------- */

struct cl_group *cl_group_new(int kind, struct pmq_view name)
{
	struct cl_group *g = calloc(1, sizeof(*g));

	if (!g || hash_reserve(&cls.groups)) {
		free(g);
		return NULL;
	}
	g->kind = kind;
	memcpy(g->name, name.ptr, name.len);
	g->nlen = name.len;
	g->generation = 1;
	g->fresh = true;
	g->hn.hash = hash_group(kind, name.ptr, name.len);
	hash_insert(&cls.groups, &g->hn);
	atomic_fetch_add(&cls.ngroups[kind], 1);
	return g;
}

void cl_group_free(struct cl_group *g)
{
	wheel_cancel(cls.wheel, &g->notify_we);
	hash_remove(&cls.groups, &g->hn);
	atomic_fetch_sub(&cls.ngroups[g->kind], 1);
	free(g->cids);
	free(g->topics);
	free(g);
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

/* Index of id in g->cids, or where it would go (*found false). */
static size_t cid_search(const struct cl_group *g, const char *id, size_t len, bool *found)
{
	size_t lo = 0, hi = g->ncids;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_bytes(g->cids[mid].id, g->cids[mid].len, id, len);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static size_t topic_search(const struct cl_group *g, struct pmq_view t, bool *found)
{
	size_t lo = 0, hi = g->ntopics;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_bytes(g->topics[mid].name, g->topics[mid].len, t.ptr, t.len);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4;
	while (c < need)
		c *= 2;
	void *n = realloc(*p, c * elem);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = c;
	return 0;
}

/* Room for one more member and ntopics more topics: after this, joining
 * cannot fail (nothing is half-applied). */
int cl_group_reserve(struct cl_group *g, unsigned ntopics)
{
	if (grow((void **)&g->cids, &g->capcids, g->ncids + 1, sizeof(*g->cids)) ||
	    grow((void **)&g->topics, &g->captopics, g->ntopics + ntopics, sizeof(*g->topics)))
		return -ENOMEM;
	return 0;
}

void cl_topics_ref(struct cl_group *g, const char *list, size_t len, int delta)
{
	struct pmq_view all = { list, len };
	unsigned n = 0;
	bool found;

	if (len == 0)
		return;
	for (size_t i = 0; i < len; i++)
		n += list[i] == ',';
	for (unsigned i = 0; i <= n; i++) {
		struct pmq_view t = pmq_reg_topic(all, i);
		size_t at = topic_search(g, t, &found);
		if (delta > 0 && found) {
			g->topics[at].refs++;
		} else if (delta > 0) {
			memmove(&g->topics[at + 1], &g->topics[at],
			        (g->ntopics - at) * sizeof(*g->topics));
			memcpy(g->topics[at].name, t.ptr, t.len);
			g->topics[at].len = (uint8_t)t.len;
			g->topics[at].refs = 1;
			g->ntopics++;
			g->changed = true;
		} else if (found && --g->topics[at].refs == 0) {
			memmove(&g->topics[at], &g->topics[at + 1],
			        (g->ntopics - at - 1) * sizeof(*g->topics));
			g->ntopics--;
			g->changed = true;
		}
	}
}

static void cid_join(struct cl_group *g, const struct cl_session *s)
{
	bool found;
	size_t at = cid_search(g, s->id, s->idlen, &found);

	if (found) {
		g->cids[at].sessions++;
		return;
	}
	memmove(&g->cids[at + 1], &g->cids[at], (g->ncids - at) * sizeof(*g->cids));
	memcpy(g->cids[at].id, s->id, s->idlen);
	g->cids[at].len = (uint8_t)s->idlen;
	g->cids[at].sessions = 1;
	g->ncids++;
	g->changed = true;
}

static void cid_leave(struct cl_group *g, const struct cl_session *s)
{
	bool found;
	size_t at = cid_search(g, s->id, s->idlen, &found);

	if (!found || --g->cids[at].sessions > 0)
		return;
	memmove(&g->cids[at], &g->cids[at + 1], (g->ncids - at - 1) * sizeof(*g->cids));
	g->ncids--;
	g->changed = true;
}

void cl_member_link(struct cl_member *m)
{
	struct cl_group *g = m->g;

	m->gprev = NULL;
	m->gnext = g->members;
	if (g->members)
		g->members->gprev = m;
	g->members = m;
	g->nmembers++;
	cid_join(g, m->s);
	cl_topics_ref(g, m->topics, m->tlen, +1);
}

void cl_member_unlink(struct cl_member *m)
{
	struct cl_group *g = m->g;

	if (m->gprev)
		m->gprev->gnext = m->gnext;
	else
		g->members = m->gnext;
	if (m->gnext)
		m->gnext->gprev = m->gprev;
	g->nmembers--;
	cid_leave(g, m->s);
	cl_topics_ref(g, m->topics, m->tlen, -1);
}

/* After a registration, a leave or an expiry touched g. */
void cl_group_settle(struct cl_group *g, struct cl_out *o, uint64_t now)
{
	if (g->nmembers == 0) {
		cl_group_free(g);
		return;
	}
	if (!g->changed)
		return;
	g->changed = false;
	if (g->fresh) { /* its creation: generation 1, nobody else to tell */
		g->fresh = false;
		return;
	}
	g->generation++;
	notify_due(g, o, now);
}

/* ---- sessions --------------------------------------------------------------- */

static void idref_change(const struct cl_session *s, int delta)
{
	struct cl_idref *r = idref_find(s->id, s->idlen);

	if (delta > 0 && r) {
		r->sessions++;
	} else if (delta > 0) {
		r = calloc(1, sizeof(*r) + s->idlen);
		if (!r || hash_reserve(&cls.client_ids)) {
			free(r);
			return; /* only the registered_clients figure is off */
		}
		memcpy(r->id, s->id, s->idlen);
		r->len = s->idlen;
		r->sessions = 1;
		r->hn.hash = hash_bytes(14695981039346656037ULL, s->id, s->idlen);
		hash_insert(&cls.client_ids, &r->hn);
	} else if (r && --r->sessions == 0) {
		hash_remove(&cls.client_ids, &r->hn);
		free(r);
	}
}

static void expire_fire(struct wheel_entry *e, void *arg);

struct cl_session *cl_session_new(struct handle h, struct pmq_view id, const char *peer)
{
	struct cl_session *s = calloc(1, sizeof(*s));

	if (!s || hash_reserve(&cls.sessions)) {
		free(s);
		return NULL;
	}
	s->h = h;
	memcpy(s->id, id.ptr, id.len);
	s->idlen = id.len;
	snprintf(s->peer, sizeof s->peer, "%s", peer);
	s->hn.hash = hash_handle(h);
	s->expire_we.fire = expire_fire;
	s->expire_we.arg = NULL;
	hash_insert(&cls.sessions, &s->hn);
	idref_change(s, +1);
	atomic_fetch_add(&cls.nsessions, 1);
	return s;
}

/* Leaves every group and frees s. */
void cl_session_drop(struct cl_session *s, struct cl_out *o, uint64_t now)
{
	struct cl_group *touched[PMQ_REG_MAX_GROUPS];
	unsigned n = s->nm;

	wheel_cancel(cls.wheel, &s->expire_we);
	for (unsigned i = 0; i < n; i++) {
		touched[i] = s->m[i]->g;
		cl_member_unlink(s->m[i]);
		free(s->m[i]);
	}
	for (unsigned i = 0; i < n; i++)
		cl_group_settle(touched[i], o, now);
	hash_remove(&cls.sessions, &s->hn);
	idref_change(s, -1);
	atomic_fetch_sub(&cls.nsessions, 1);
	free(s);
}

static void expire_fire(struct wheel_entry *e, void *arg)
{
	struct cl_session *s = (struct cl_session *)((char *)e - offsetof(struct cl_session,
	                                                                  expire_we));
	struct cl_out *o = cls.tick_out;

	(void)arg;
	pmq_log(PMQ_LOG_INFO, "client %s (%s): registration expired after %d ms without a "
	        "heartbeat; closing its session", s->id, s->peer, (int)cls.cfg->client_expire_ms);
	atomic_fetch_add(&cls.expired, 1);
	out_close(o, s->h);
	cl_session_drop(s, o, clock_now_ms());
}

void cl_session_touch(struct cl_session *s, uint64_t now)
{
	s->last_hb_ms = now;
	cl_wheel_arm(&s->expire_we, now + (uint64_t)cls.cfg->client_expire_ms);
}

/* ---- the close hook ----------------------------------------------------------- */

void cl_wheel_arm(struct wheel_entry *e, uint64_t deadline_ms)
{
	bool was_empty = wheel_count(cls.wheel) == 0;

	wheel_schedule(cls.wheel, e, deadline_ms);
	if (was_empty)
		pthread_cond_signal(&cls.wheel_cv);
}

/* IO thread: must not wait. A lock-free push, drained by the wheel thread
 * (which ticks while any session is registered) and by every heartbeat.
 * With no registered session there is nothing to unregister: MetaQ
 * clients' closes queue nothing. */
void cl_on_close(struct handle h, void *ctx)
{
	struct cl_closed *c;

	(void)ctx;
	if (atomic_load_explicit(&cls.nsessions, memory_order_relaxed) == 0)
		return; /* nobody registered (one in flight lapses by expiry) */
	c = malloc(sizeof(*c));
	if (!c)
		return; /* the registration then lapses by expiry */
	c->h = h;
	c->next = atomic_load_explicit(&cls.closed, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&cls.closed, &c->next, c,
	                                              memory_order_release,
	                                              memory_order_relaxed))
		;
}

/* Under the lock. */
void cl_drain_closed(struct cl_out *o, uint64_t now)
{
	struct cl_closed *c = atomic_exchange_explicit(&cls.closed, NULL, memory_order_acquire);

	while (c) {
		struct cl_closed *next = c->next;
		struct cl_session *s = cl_session_find(c->h);
		if (s)
			cl_session_drop(s, o, now);
		free(c);
		c = next;
	}
}

/* Lock, drain closes; unlock with out_flush via cl_unlock(). */
uint64_t cl_lock(struct cl_out *o)
{
	pthread_mutex_lock(&cls.lock);
	uint64_t now = clock_now_ms();
	cl_drain_closed(o, now);
	return now;
}

void cl_unlock(struct cl_out *o)
{
	pthread_mutex_unlock(&cls.lock);
	out_flush(o);
}
