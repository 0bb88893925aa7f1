/*
 * clients.c - client registration through heartbeats (doc/registration.md):
 * producer and consumer groups, members by client id, expiry on a timer
 * wheel, coalesced notify pushes, `members`, `stats clients|groups`.
 *
 * Tables: sessions by handle, groups by (kind, name), both hashed; a
 * group keeps its member client ids sorted (binary search) with a count of
 * sessions each, and the union of its members' topics with a count each.
 * A heartbeat costs O(groups in it) table operations.
 *
 * Threads: heartbeat and members run on the heartbeat pool, as does the
 * tick (runtime_every) that advances the wheel; everything is under one
 * mutex, never held across a push, a close or a reply. Pushes and closes
 * decided under it are collected (struct cl_out) and done after it.
 *
 * Closing a session: the runtime's close hook runs on the IO thread and
 * must not wait, so it pushes the handle on a lock-free stack; the tick and
 * every processor here drain it first.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/clock.h"
#include "actors/wheel.h"
#include "server/broker/broker.h"
#include "server/broker/clients.h"
#include "server/common/log.h"
#include "server/runtime/request.h"
#include "server/runtime/runtime.h"

/* The wheel advances this often: expiry and coalesced notifies are late by
 * at most this much (plus the heartbeat pool's queue). */
#define CL_TICK_MS 10
#define CL_WHEEL_SLOTS 4096
#define CL_HASH_MIN 64
#define CL_NOTIFY_BYTES (PMQ_TOPIC_MAX_BYTES + 64)
#define CL_ERR_BYTES 400

enum { CL_PRODUCER = PMQ_REG_PRODUCER, CL_CONSUMER = PMQ_REG_CONSUMER };

struct cl_hnode {
	struct cl_hnode *next;
	uint64_t hash;
};

struct cl_hash {
	struct cl_hnode **b;
	size_t nb, n;
};

struct cl_cid {
	char id[PMQ_CLIENT_ID_MAX_BYTES];
	uint8_t len;
	unsigned sessions;
};

struct cl_topic {
	char name[PMQ_TOPIC_MAX_BYTES];
	uint8_t len;
	unsigned refs;
};

struct cl_member;

struct cl_group {
	struct cl_hnode hn; /* first: the hash node */
	int kind;
	char name[PMQ_TOPIC_MAX_BYTES + 1];
	size_t nlen;
	uint64_t generation;
	struct cl_cid *cids; /* sorted by id bytes */
	size_t ncids, capcids;
	struct cl_topic *topics; /* sorted by name bytes */
	size_t ntopics, captopics;
	struct cl_member *members; /* one per session */
	unsigned nmembers;
	bool changed; /* during one registration */
	bool fresh;   /* created by this registration: generation 1 as it is */
	bool notify_pending;
	uint64_t last_notify_ms;
	struct wheel_entry notify_we;
};

struct cl_member {
	struct cl_session *s;
	struct cl_group *g;
	struct cl_member *gprev, *gnext;
	size_t tlen;
	char topics[]; /* as sent: T1,T2 */
};

struct cl_session {
	struct cl_hnode hn; /* first */
	struct handle h;
	char id[PMQ_CLIENT_ID_MAX_BYTES + 1];
	size_t idlen;
	char peer[RT_PEER_BYTES];
	struct cl_member *m[PMQ_REG_MAX_GROUPS];
	unsigned nm;
	uint64_t last_hb_ms;
	struct wheel_entry expire_we;
	int32_t notify_seq;
};

/* What to do once the lock is released. */
struct cl_push {
	struct handle h;
	uint16_t len;
	char line[CL_NOTIFY_BYTES];
};
struct cl_out {
	struct cl_push *push;
	size_t npush, cappush;
	struct handle *close;
	size_t nclose, capclose;
};

struct cl_closed {
	struct cl_closed *next;
	struct handle h;
};

static struct {
	const struct settings *cfg;
	pthread_mutex_t lock;
	struct cl_hash sessions, groups;
	struct wheel *wheel;
	size_t nclients; /* distinct client ids over all sessions */
	struct cl_hash client_ids; /* id -> count of sessions (struct cl_idref) */
	_Atomic(struct cl_closed *) closed;
	atomic_uint_fast64_t expired, notifies, registrations, refreshes, refused;
	atomic_uint_fast64_t nsessions, ngroups[2];
	struct cl_out *tick_out; /* during wheel_advance: where fired entries add work */
	bool started;
} cl = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct cl_idref {
	struct cl_hnode hn;
	unsigned sessions;
	size_t len;
	char id[];
};

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

static struct cl_session *session_find(struct handle h)
{
	uint64_t hash = hash_handle(h);

	for (struct cl_hnode *n = hash_first(&cl.sessions, hash); n; n = n->next) {
		struct cl_session *s = (struct cl_session *)n;
		if (n->hash == hash && handle_equal(s->h, h))
			return s;
	}
	return NULL;
}

static struct cl_group *group_find(int kind, const char *name, size_t len)
{
	uint64_t hash = hash_group(kind, name, len);

	for (struct cl_hnode *n = hash_first(&cl.groups, hash); n; n = n->next) {
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

	for (struct cl_hnode *n = hash_first(&cl.client_ids, hash); n; n = n->next) {
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
			atomic_fetch_add(&cl.notifies, 1);
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
	notify_send(g, cl.tick_out, clock_now_ms());
}

/* A consumer group's generation changed: notify now, or once the coalescing
 * window since the last one has passed (with the generation of then). */
static void notify_due(struct cl_group *g, struct cl_out *o, uint64_t now)
{
	uint64_t window = (uint64_t)cl.cfg->notify_coalesce_ms;

	if (g->kind != CL_CONSUMER || g->notify_pending)
		return;
	if (g->last_notify_ms == 0 || now >= g->last_notify_ms + window) {
		notify_send(g, o, now);
		return;
	}
	g->notify_pending = true;
	g->notify_we.fire = notify_fire;
	g->notify_we.arg = NULL;
	wheel_schedule(cl.wheel, &g->notify_we, g->last_notify_ms + window);
}

/* ---- groups: members and topics -------------------------------------------- */

static struct cl_group *group_new(int kind, struct pmq_view name)
{
	struct cl_group *g = calloc(1, sizeof(*g));

	if (!g || hash_reserve(&cl.groups)) {
		free(g);
		return NULL;
	}
	g->kind = kind;
	memcpy(g->name, name.ptr, name.len);
	g->nlen = name.len;
	g->generation = 1;
	g->fresh = true;
	g->hn.hash = hash_group(kind, name.ptr, name.len);
	hash_insert(&cl.groups, &g->hn);
	atomic_fetch_add(&cl.ngroups[kind], 1);
	return g;
}

static void group_free(struct cl_group *g)
{
	wheel_cancel(cl.wheel, &g->notify_we);
	hash_remove(&cl.groups, &g->hn);
	atomic_fetch_sub(&cl.ngroups[g->kind], 1);
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
static int group_reserve(struct cl_group *g, unsigned ntopics)
{
	if (grow((void **)&g->cids, &g->capcids, g->ncids + 1, sizeof(*g->cids)) ||
	    grow((void **)&g->topics, &g->captopics, g->ntopics + ntopics, sizeof(*g->topics)))
		return -ENOMEM;
	return 0;
}

static void topics_ref(struct cl_group *g, const char *list, size_t len, int delta)
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

static void member_link(struct cl_member *m)
{
	struct cl_group *g = m->g;

	m->gprev = NULL;
	m->gnext = g->members;
	if (g->members)
		g->members->gprev = m;
	g->members = m;
	g->nmembers++;
	cid_join(g, m->s);
	topics_ref(g, m->topics, m->tlen, +1);
}

static void member_unlink(struct cl_member *m)
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
	topics_ref(g, m->topics, m->tlen, -1);
}

/* After a registration, a leave or an expiry touched g. */
static void group_settle(struct cl_group *g, struct cl_out *o, uint64_t now)
{
	if (g->nmembers == 0) {
		group_free(g);
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
		if (!r || hash_reserve(&cl.client_ids)) {
			free(r);
			return; /* only the registered_clients figure is off */
		}
		memcpy(r->id, s->id, s->idlen);
		r->len = s->idlen;
		r->sessions = 1;
		r->hn.hash = hash_bytes(14695981039346656037ULL, s->id, s->idlen);
		hash_insert(&cl.client_ids, &r->hn);
	} else if (r && --r->sessions == 0) {
		hash_remove(&cl.client_ids, &r->hn);
		free(r);
	}
}

static void expire_fire(struct wheel_entry *e, void *arg);

static struct cl_session *session_new(struct handle h, struct pmq_view id, const char *peer)
{
	struct cl_session *s = calloc(1, sizeof(*s));

	if (!s || hash_reserve(&cl.sessions)) {
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
	hash_insert(&cl.sessions, &s->hn);
	idref_change(s, +1);
	atomic_fetch_add(&cl.nsessions, 1);
	return s;
}

/* Leaves every group and frees s. */
static void session_drop(struct cl_session *s, struct cl_out *o, uint64_t now)
{
	struct cl_group *touched[PMQ_REG_MAX_GROUPS];
	unsigned n = s->nm;

	wheel_cancel(cl.wheel, &s->expire_we);
	for (unsigned i = 0; i < n; i++) {
		touched[i] = s->m[i]->g;
		member_unlink(s->m[i]);
		free(s->m[i]);
	}
	for (unsigned i = 0; i < n; i++)
		group_settle(touched[i], o, now);
	hash_remove(&cl.sessions, &s->hn);
	idref_change(s, -1);
	atomic_fetch_sub(&cl.nsessions, 1);
	free(s);
}

static void expire_fire(struct wheel_entry *e, void *arg)
{
	struct cl_session *s = (struct cl_session *)((char *)e - offsetof(struct cl_session,
	                                                                  expire_we));
	struct cl_out *o = cl.tick_out;

	(void)arg;
	pmq_log(PMQ_LOG_INFO, "client %s (%s): registration expired after %d ms without a "
	        "heartbeat; closing its session", s->id, s->peer, (int)cl.cfg->client_expire_ms);
	atomic_fetch_add(&cl.expired, 1);
	out_close(o, s->h);
	session_drop(s, o, clock_now_ms());
}

static void session_touch(struct cl_session *s, uint64_t now)
{
	s->last_hb_ms = now;
	wheel_schedule(cl.wheel, &s->expire_we, now + (uint64_t)cl.cfg->client_expire_ms);
}

/* ---- the close hook ----------------------------------------------------------- */

/* IO thread: must not wait. A lock-free push; the heartbeat pool drains. */
static void on_close(struct handle h, void *ctx)
{
	struct cl_closed *c = malloc(sizeof(*c));

	(void)ctx;
	if (!c)
		return; /* the registration then lapses by expiry */
	c->h = h;
	c->next = atomic_load_explicit(&cl.closed, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&cl.closed, &c->next, c,
	                                              memory_order_release,
	                                              memory_order_relaxed))
		;
}

/* Under the lock. */
static void drain_closed(struct cl_out *o, uint64_t now)
{
	struct cl_closed *c = atomic_exchange_explicit(&cl.closed, NULL, memory_order_acquire);

	while (c) {
		struct cl_closed *next = c->next;
		struct cl_session *s = session_find(c->h);
		if (s)
			session_drop(s, o, now);
		free(c);
		c = next;
	}
}

/* Lock, drain closes; unlock with out_flush via cl_unlock(). */
static uint64_t cl_lock(struct cl_out *o)
{
	pthread_mutex_lock(&cl.lock);
	uint64_t now = clock_now_ms();
	drain_closed(o, now);
	return now;
}

static void cl_unlock(struct cl_out *o)
{
	pthread_mutex_unlock(&cl.lock);
	out_flush(o);
}

static void tick(void *ctx)
{
	struct cl_out o = { 0 };

	(void)ctx;
	uint64_t now = cl_lock(&o);
	cl.tick_out = &o; /* fired entries add their pushes and closes here */
	wheel_advance(cl.wheel, now);
	cl.tick_out = NULL;
	cl_unlock(&o);
}

/* ---- heartbeat ----------------------------------------------------------------- */

struct reg_plan {
	struct pmq_reg_line l[PMQ_REG_MAX_GROUPS];
	unsigned n;
};

static bool view_eq(struct pmq_view a, const char *b, size_t blen)
{
	return a.len == blen && memcmp(a.ptr, b, blen) == 0;
}

/* The whole body, before anything is applied: a bad line refuses all. */
static int reg_parse(struct pmq_view body, struct reg_plan *p, char *err, size_t cap)
{
	struct pmq_reg_iter it;
	int rc;

	p->n = 0;
	pmq_reg_begin(&it, body);
	struct pmq_reg_line line;

	/* the iterator refuses line 65 itself: p->l never overflows */
	while ((rc = pmq_reg_next(&it, &line, err, cap)) == 1) {
		const struct pmq_reg_line *l = &line;
		for (unsigned i = 0; i < p->n; i++)
			if (p->l[i].kind == l->kind && view_eq(p->l[i].group, l->group.ptr, l->group.len)) {
				snprintf(err, cap, "line %u: %s group %.*s repeated (line %u)", l->lineno,
				         l->kind == PMQ_REG_PRODUCER ? "producer" : "consumer",
				         (int)l->group.len, l->group.ptr, p->l[i].lineno);
				return -1;
			}
		p->l[p->n++] = line;
	}
	return rc;
}

static struct cl_member *member_of(const struct cl_session *s, int kind, struct pmq_view g)
{
	for (unsigned i = 0; i < s->nm; i++)
		if (s->m[i]->g->kind == kind && view_eq(g, s->m[i]->g->name, s->m[i]->g->nlen))
			return s->m[i];
	return NULL;
}

static bool same_topics(const struct cl_member *m, const struct pmq_reg_line *l)
{
	return m->tlen == l->topics.len && memcmp(m->topics, l->topics.ptr, m->tlen) == 0;
}

/* A full registration equal to the last one (in any order) changes nothing. */
static bool reg_unchanged(const struct cl_session *s, const struct reg_plan *p)
{
	if (s->nm != p->n)
		return false;
	for (unsigned i = 0; i < p->n; i++) {
		const struct cl_member *m = member_of(s, (int)p->l[i].kind, p->l[i].group);
		if (!m || !same_topics(m, &p->l[i]))
			return false;
	}
	return true;
}

/* The same session, another topic list: swapped in place, so its client id
 * neither leaves nor joins; topics shared by both never drop to 0. */
static void member_replace(struct cl_member *old, struct cl_member *m)
{
	struct cl_group *g = old->g;

	m->gprev = old->gprev;
	m->gnext = old->gnext;
	if (m->gprev)
		m->gprev->gnext = m;
	else
		g->members = m;
	if (m->gnext)
		m->gnext->gprev = m;
	topics_ref(g, m->topics, m->tlen, +1);
	topics_ref(g, old->topics, old->tlen, -1);
	free(old);
}

static bool in_set(struct cl_member *const *v, unsigned n, const struct cl_member *m)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == m)
			return true;
	return false;
}

/* Phase 1 (may fail, changes nothing visible): groups found or created,
 * room reserved, new members allocated. Phase 2 cannot fail. */
static int reg_apply(struct cl_session *s, const struct reg_plan *p, struct cl_out *o,
                     uint64_t now)
{
	struct cl_member *nm[PMQ_REG_MAX_GROUPS], *old[PMQ_REG_MAX_GROUPS];
	struct cl_group *touched[2 * PMQ_REG_MAX_GROUPS];
	unsigned ntouched = 0;
	unsigned i;

	for (i = 0; i < p->n; i++) {
		const struct pmq_reg_line *l = &p->l[i];
		int kind = (int)l->kind;
		old[i] = member_of(s, kind, l->group);
		if (old[i] && same_topics(old[i], l)) {
			nm[i] = old[i];
			continue;
		}
		struct cl_group *g = old[i] ? old[i]->g : group_find(kind, l->group.ptr, l->group.len);
		if (!g && !(g = group_new(kind, l->group)))
			goto fail;
		nm[i] = NULL;
		if (group_reserve(g, l->ntopics))
			goto fail_group;
		nm[i] = malloc(sizeof(*nm[i]) + l->topics.len);
		if (!nm[i])
			goto fail_group;
		*nm[i] = (struct cl_member){ .s = s, .g = g, .tlen = l->topics.len };
		memcpy(nm[i]->topics, l->topics.ptr, l->topics.len);
		continue;
fail_group:
		if (g->nmembers == 0)
			group_free(g);
		goto fail;
	}
	/* phase 2: leave what the registration no longer names */
	for (unsigned k = 0; k < s->nm; k++)
		if (!in_set(old, p->n, s->m[k])) {
			touched[ntouched++] = s->m[k]->g;
			member_unlink(s->m[k]);
			free(s->m[k]);
		}
	for (i = 0; i < p->n; i++) {
		if (nm[i] == old[i])
			continue;
		if (old[i])
			member_replace(old[i], nm[i]);
		else
			member_link(nm[i]);
		touched[ntouched++] = nm[i]->g;
	}
	memcpy(s->m, nm, p->n * sizeof(*nm));
	s->nm = p->n;
	for (unsigned k = 0; k < ntouched; k++)
		group_settle(touched[k], o, now);
	return 0;
fail:
	while (i-- > 0)
		if (nm[i] != old[i]) {
			struct cl_group *g = nm[i]->g;
			free(nm[i]);
			if (g->nmembers == 0)
				group_free(g);
		}
	return -ENOMEM;
}

/* `GROUP GENERATION MEMBER,MEMBER` (members in byte order). */
static void group_line(struct sbuf *b, const struct cl_group *g, bool with_name)
{
	if (with_name)
		sbuf_printf(b, "%s ", g->name);
	sbuf_printf(b, "%" PRIu64 " ", g->generation);
	for (size_t i = 0; i < g->ncids; i++) {
		if (i)
			sbuf_append(b, ",", 1);
		sbuf_append(b, g->cids[i].id, g->cids[i].len);
	}
}

/* Reused per heartbeat worker: a refresh allocates nothing once warm. */
static __thread struct sbuf answer;

static void answer_groups(const struct cl_session *s)
{
	answer.len = 0;
	answer.failed = false;
	for (unsigned i = 0; i < s->nm; i++)
		if (s->m[i]->g->kind == CL_CONSUMER) {
			group_line(&answer, s->m[i]->g, true);
			sbuf_append(&answer, "\n", 1);
		}
}

static bool same_id(const struct cl_session *s, struct pmq_view id)
{
	return view_eq(id, s->id, s->idlen);
}

/* Under the lock: the answer's code; err for an error, answer for 200. */
static int heartbeat_locked(struct request *req, const struct pmq_msg *m,
                            const struct reg_plan *plan, struct cl_out *o, uint64_t now,
                            char *err, size_t cap)
{
	struct cl_session *s = session_find(request_session(req));

	if (s && !same_id(s, m->client_id)) {
		snprintf(err, cap, "client id '%.*s' differs from this session's '%s' (one "
		         "client id per session)", (int)m->client_id.len, m->client_id.ptr, s->id);
		return 400;
	}
	if (m->body.len == 0) {
		if (!s) {
			snprintf(err, cap, "no registration on this connection: send a full one");
			return 404;
		}
		session_touch(s, now);
		atomic_fetch_add(&cl.refreshes, 1);
		answer_groups(s);
		return 200;
	}
	bool created = !s;
	if (created && !(s = session_new(request_session(req), m->client_id,
	                                  request_peer(req)))) {
		snprintf(err, cap, "registration not applied: out of memory");
		return 500;
	}
	if (!reg_unchanged(s, plan) && reg_apply(s, plan, o, now)) {
		if (created)
			session_drop(s, o, now);
		snprintf(err, cap, "registration not applied: out of memory");
		return 500;
	}
	session_touch(s, now);
	atomic_fetch_add(&cl.registrations, 1);
	answer_groups(s);
	return 200;
}

static void proc_heartbeat(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	struct cl_out o = { 0 };
	struct reg_plan plan;
	char err[CL_ERR_BYTES];
	int code;

	(void)ctx;
	/* parsed before the lock: nothing of a refused registration applies */
	if (m->body.len > 0 && reg_parse(m->body, &plan, err, sizeof err)) {
		atomic_fetch_add(&cl.refused, 1);
		request_reply_resultf(req, 400, "registration refused: %s", err);
		return;
	}
	uint64_t now = cl_lock(&o);
	code = heartbeat_locked(req, m, &plan, &o, now, err, sizeof err);
	if (code == 200 && answer.failed)
		code = 500;
	cl_unlock(&o);
	if (code == 200)
		request_reply_result(req, 200, answer.p, answer.len);
	else if (code == 500 && answer.failed)
		request_reply_resultf(req, 500, "heartbeat: out of memory");
	else
		request_reply_resultf(req, code, "%s", err);
}

/* ---- members ---------------------------------------------------------------------- */

static void proc_members(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	struct cl_out o = { 0 };
	struct sbuf b = { 0 };

	(void)ctx;
	cl_lock(&o);
	struct cl_group *g = group_find(CL_CONSUMER, m->group.ptr, m->group.len);
	if (!g)
		g = group_find(CL_PRODUCER, m->group.ptr, m->group.len);
	if (g)
		group_line(&b, g, false);
	cl_unlock(&o);
	if (!g)
		request_reply_resultf(req, 404, "no group %.*s (a group exists while it has "
		                      "members)", (int)m->group.len, m->group.ptr);
	else if (b.failed)
		request_reply_resultf(req, 500, "members: out of memory");
	else
		request_reply_result(req, 200, b.p, b.len);
	sbuf_free(&b);
}

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
static void **hash_list(const struct cl_hash *t, struct sbuf *b)
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
	unsigned room = (unsigned)cl.cfg->stats_max_lines;

	uint64_t now = cl_lock(&o);
	void **v = hash_list(&cl.sessions, b);
	size_t n = cl.sessions.n;
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
	unsigned room = (unsigned)cl.cfg->stats_max_lines;
	uint64_t more = 0;

	cl_lock(&o);
	void **v = hash_list(&cl.groups, b);
	size_t n = cl.groups.n;
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
	unsigned room = (unsigned)cl.cfg->stats_max_lines;

	pthread_mutex_lock(&cl.lock);
	for (size_t i = 0; i < cl.groups.nb; i++)
		for (struct cl_hnode *n = cl.groups.b[i]; n && room; n = n->next) {
			const struct cl_group *g = (const struct cl_group *)n;
			if (g->kind != CL_CONSUMER)
				continue;
			fn(g->name, g->ncids, ctx);
			room--;
		}
	pthread_mutex_unlock(&cl.lock);
}

bool clients_group_has_members(const char *group, size_t len)
{
	pthread_mutex_lock(&cl.lock);
	bool has = group_find(CL_CONSUMER, group, len) != NULL;
	pthread_mutex_unlock(&cl.lock);
	return has;
}

void clients_figures(uint64_t v[SF_COUNT])
{
	pthread_mutex_lock(&cl.lock);
	v[SF_REG_CLIENTS] = cl.client_ids.n;
	pthread_mutex_unlock(&cl.lock);
	v[SF_REG_SESSIONS] = atomic_load(&cl.nsessions);
	v[SF_REG_PRODUCER_GROUPS] = atomic_load(&cl.ngroups[CL_PRODUCER]);
	v[SF_REG_CONSUMER_GROUPS] = atomic_load(&cl.ngroups[CL_CONSUMER]);
	v[SF_REG_REGISTRATIONS] = atomic_load(&cl.registrations);
	v[SF_REG_REFRESHES] = atomic_load(&cl.refreshes);
	v[SF_REG_REFUSED] = atomic_load(&cl.refused);
	v[SF_REG_EXPIRED] = atomic_load(&cl.expired);
	v[SF_REG_NOTIFIES] = atomic_load(&cl.notifies);
}

/* ---- life ------------------------------------------------------------------------ */

int clients_start(const struct settings *cfg)
{
	int rc;

	cl.cfg = cfg;
	rc = wheel_create(&cl.wheel, CL_WHEEL_SLOTS, CL_TICK_MS, clock_now_ms());
	if (rc == 0)
		rc = processor_register(PMQ_CMD_HEARTBEAT, proc_heartbeat, NULL);
	if (rc == 0)
		rc = processor_register(PMQ_CMD_MEMBERS, proc_members, NULL);
	if (rc == 0)
		rc = runtime_on_close(on_close, NULL);
	if (rc == 0)
		rc = runtime_every(CL_TICK_MS, RT_POOL_HEARTBEAT, tick, NULL);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "clients: cannot start: %s", strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	cl.started = true;
	return 0;
}

/* After the pools and IO threads stopped: nothing runs here any more. */
void clients_stop(void)
{
	struct cl_out o = { 0 };

	if (!cl.started)
		return;
	drain_closed(&o, clock_now_ms());
	for (size_t i = 0; i < cl.sessions.nb; i++)
		while (cl.sessions.b[i]) {
			struct cl_session *s = (struct cl_session *)cl.sessions.b[i];
			session_drop(s, &o, 0);
		}
	free(o.push);
	free(o.close);
	for (size_t i = 0; i < cl.client_ids.nb; i++)
		for (struct cl_hnode *n = cl.client_ids.b[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	free(cl.sessions.b);
	free(cl.groups.b);
	free(cl.client_ids.b);
	memset(&cl.sessions, 0, sizeof cl.sessions);
	memset(&cl.groups, 0, sizeof cl.groups);
	memset(&cl.client_ids, 0, sizeof cl.client_ids);
	wheel_destroy(cl.wheel);
	cl.wheel = NULL;
	cl.started = false;
}
