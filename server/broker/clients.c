/*
 * clients.c - client registration through heartbeats (doc/registration.md):
 * `heartbeat` and `members` on the heartbeat pool, the thread that advances
 * the expiry and notify wheel, start and stop. The tables are clients_table.c's; the listings clients_list.c's.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/clock.h"
#include "server/broker/broker.h"
#include "server/broker/clients_priv.h"
#include "server/common/log.h"
#include "server/runtime/runtime.h"

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
	cl_topics_ref(g, m->topics, m->tlen, +1);
	cl_topics_ref(g, old->topics, old->tlen, -1);
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
		struct cl_group *g = old[i] ? old[i]->g : cl_group_find(kind, l->group.ptr, l->group.len);
		if (!g && !(g = cl_group_new(kind, l->group)))
			goto fail;
		nm[i] = NULL;
		if (cl_group_reserve(g, l->ntopics))
			goto fail_group;
		nm[i] = malloc(sizeof(*nm[i]) + l->topics.len);
		if (!nm[i])
			goto fail_group;
		*nm[i] = (struct cl_member){ .s = s, .g = g, .tlen = l->topics.len };
		memcpy(nm[i]->topics, l->topics.ptr, l->topics.len);
		continue;
fail_group:
		if (g->nmembers == 0)
			cl_group_free(g);
		goto fail;
	}
	/* phase 2: leave what the registration no longer names */
	for (unsigned k = 0; k < s->nm; k++)
		if (!in_set(old, p->n, s->m[k])) {
			touched[ntouched++] = s->m[k]->g;
			cl_member_unlink(s->m[k]);
			free(s->m[k]);
		}
	for (i = 0; i < p->n; i++) {
		if (nm[i] == old[i])
			continue;
		if (old[i])
			member_replace(old[i], nm[i]);
		else
			cl_member_link(nm[i]);
		touched[ntouched++] = nm[i]->g;
	}
	memcpy(s->m, nm, p->n * sizeof(*nm));
	s->nm = p->n;
	for (unsigned k = 0; k < ntouched; k++)
		cl_group_settle(touched[k], o, now);
	return 0;
fail:
	while (i-- > 0)
		if (nm[i] != old[i]) {
			struct cl_group *g = nm[i]->g;
			free(nm[i]);
			if (g->nmembers == 0)
				cl_group_free(g);
		}
	return -ENOMEM;
}

/* `GROUP GENERATION MEMBER,MEMBER` (members in byte order). */
void cl_group_line(struct sbuf *b, const struct cl_group *g, bool with_name)
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

/* Reused per heartbeat worker: a refresh allocates nothing once warm.
 * Freed when its worker exits (the key's destructor). */
static __thread struct sbuf answer;
static __thread bool answer_keyed;
static pthread_key_t answer_key;
static pthread_once_t answer_once = PTHREAD_ONCE_INIT;

static void answer_free(void *p)
{
	sbuf_free(p);
}

static void answer_key_make(void)
{
	if (pthread_key_create(&answer_key, answer_free) != 0)
		pmq_log(PMQ_LOG_WARN, "clients: no thread key: heartbeat answer buffers are "
		        "not freed at exit");
}

static void answer_groups(const struct cl_session *s)
{
	if (!answer_keyed) {
		pthread_once(&answer_once, answer_key_make);
		pthread_setspecific(answer_key, &answer);
		answer_keyed = true;
	}
	answer.len = 0;
	answer.failed = false;
	for (unsigned i = 0; i < s->nm; i++)
		if (s->m[i]->g->kind == CL_CONSUMER) {
			cl_group_line(&answer, s->m[i]->g, true);
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
	struct cl_session *s = cl_session_find(request_session(req));

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
		cl_session_touch(s, now);
		atomic_fetch_add(&cls.refreshes, 1);
		answer_groups(s);
		return 200;
	}
	bool created = !s;
	if (created && !(s = cl_session_new(request_session(req), m->client_id,
	                                  request_peer(req)))) {
		snprintf(err, cap, "registration not applied: out of memory");
		return 500;
	}
	if (!reg_unchanged(s, plan) && reg_apply(s, plan, o, now)) {
		if (created)
			cl_session_drop(s, o, now);
		snprintf(err, cap, "registration not applied: out of memory");
		return 500;
	}
	cl_session_touch(s, now);
	atomic_fetch_add(&cls.registrations, 1);
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
		atomic_fetch_add(&cls.refused, 1);
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
	struct cl_group *g = cl_group_find(CL_CONSUMER, m->group.ptr, m->group.len);
	if (!g)
		g = cl_group_find(CL_PRODUCER, m->group.ptr, m->group.len);
	if (g)
		cl_group_line(&b, g, false);
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

/* The wheel's own thread: ticks every CL_TICK_MS while the wheel holds an
 * entry (a registered session, a pending notify), sleeps while it is
 * empty. Not a pool task: it never waits behind heartbeats, and it leaves
 * the heartbeat pool's figures to requests. Pushes and closes go out
 * after the lock, like answers from the flush thread, and stop being
 * delivered once the runtime stops. */
static void *wheel_main(void *arg)
{
	struct timespec at;

	(void)arg;
	pthread_mutex_lock(&cls.lock);
	while (!cls.stopping) {
		if (wheel_count(cls.wheel) == 0) {
			pthread_cond_wait(&cls.wheel_cv, &cls.lock);
		} else {
			clock_gettime(CLOCK_MONOTONIC, &at);
			at.tv_nsec += CL_TICK_MS * 1000000L;
			if (at.tv_nsec >= 1000000000L) {
				at.tv_sec++;
				at.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&cls.wheel_cv, &cls.lock, &at);
		}
		if (cls.stopping)
			break;
		struct cl_out o = { 0 };
		uint64_t now = clock_now_ms();
		cl_drain_closed(&o, now);
		cls.tick_out = &o; /* fired entries add their pushes and closes here */
		wheel_advance(cls.wheel, now);
		cls.tick_out = NULL;
		cl_unlock(&o);
		pthread_mutex_lock(&cls.lock);
	}
	pthread_mutex_unlock(&cls.lock);
	return NULL;
}

static int wheel_thread_start(void)
{
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);

	if (rc == 0)
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&cls.wheel_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc == 0)
		rc = pthread_create(&cls.wheel_thread, NULL, wheel_main, NULL);
	return -rc;
}

static void wheel_thread_stop(void)
{
	pthread_mutex_lock(&cls.lock);
	cls.stopping = true;
	pthread_cond_signal(&cls.wheel_cv);
	pthread_mutex_unlock(&cls.lock);
	pthread_join(cls.wheel_thread, NULL);
	pthread_cond_destroy(&cls.wheel_cv);
}

/* ---- life ------------------------------------------------------------------------ */

int clients_start(const struct settings *cfg)
{
	int rc;

	cls.cfg = cfg;
	rc = wheel_create(&cls.wheel, CL_WHEEL_SLOTS, CL_TICK_MS, clock_now_ms());
	if (rc == 0)
		rc = processor_register(PMQ_CMD_HEARTBEAT, proc_heartbeat, NULL);
	if (rc == 0)
		rc = processor_register(PMQ_CMD_MEMBERS, proc_members, NULL);
	if (rc == 0)
		rc = runtime_on_close(cl_on_close, NULL);
	if (rc == 0)
		rc = wheel_thread_start();
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "clients: cannot start: %s", strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	cls.started = true;
	return 0;
}

/* After the pools and IO threads stopped: nothing runs here any more. */
void clients_stop(void)
{
	struct cl_out o = { 0 };

	if (!cls.started)
		return;
	wheel_thread_stop();
	cl_drain_closed(&o, clock_now_ms());
	for (size_t i = 0; i < cls.sessions.nb; i++)
		while (cls.sessions.b[i]) {
			struct cl_session *s = (struct cl_session *)cls.sessions.b[i];
			cl_session_drop(s, &o, 0);
		}
	free(o.push);
	free(o.close);
	for (size_t i = 0; i < cls.client_ids.nb; i++)
		for (struct cl_hnode *n = cls.client_ids.b[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	free(cls.sessions.b);
	free(cls.groups.b);
	free(cls.client_ids.b);
	memset(&cls.sessions, 0, sizeof cls.sessions);
	memset(&cls.groups, 0, sizeof cls.groups);
	memset(&cls.client_ids, 0, sizeof cls.client_ids);
	wheel_destroy(cls.wheel);
	cls.wheel = NULL;
	cls.started = false;
}
