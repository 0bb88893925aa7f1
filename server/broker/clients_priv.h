/*
 * clients_priv.h - private to clients*.c: the registration tables
 * (clients_table.c), the heartbeat and members processors and the tick
 * (clients.c), the listings (clients_list.c). doc/registration.md says
 * what they promise.
 *
 * Tables: sessions by handle, groups by (kind, name), both hashed; a
 * group keeps its member client ids sorted (binary search) with a count of
 * sessions each, and the union of its members' topics with a count each.
 * Everything is under cls.lock, never held across a push, a close or a
 * reply: what is decided under it is collected in a struct cl_out and done
 * by cl_unlock().
 */
#ifndef PMQ_BROKER_CLIENTS_PRIV_H
#define PMQ_BROKER_CLIENTS_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actors/wheel.h"
#include "server/broker/clients.h"
#include "server/runtime/request.h"

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

struct cl_state {
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
	pthread_cond_t wheel_cv; /* the wheel thread sleeps on it while the wheel is empty */
	pthread_t wheel_thread;
	bool stopping, started;
};

/* The daemon's one registration table (clients_table.c). */
extern struct cl_state cls;

struct cl_idref {
	struct cl_hnode hn;
	unsigned sessions;
	size_t len;
	char id[];
};

/* ---- clients_table.c: the tables; every call under cls.lock ---------- */

struct cl_session *cl_session_find(struct handle h);
struct cl_session *cl_session_new(struct handle h, struct pmq_view id, const char *peer);
/* Leaves every group (notifying them into o) and frees s. */
void cl_session_drop(struct cl_session *s, struct cl_out *o, uint64_t now);
/* A heartbeat was accepted: re-arms the session's expiry. */
void cl_session_touch(struct cl_session *s, uint64_t now);
struct cl_group *cl_group_find(int kind, const char *name, size_t len);
/* Created at generation 1, empty; NULL on ENOMEM. */
struct cl_group *cl_group_new(int kind, struct pmq_view name);
void cl_group_free(struct cl_group *g);
/* Room for one more member and ntopics more topics, so that joining
 * cannot fail. 0 or -ENOMEM. */
int cl_group_reserve(struct cl_group *g, unsigned ntopics);
void cl_member_link(struct cl_member *m);
void cl_member_unlink(struct cl_member *m);
/* Counts a topic list into (delta +1) or out of (-1) g's topic union. */
void cl_topics_ref(struct cl_group *g, const char *list, size_t len, int delta);
/* After a change touched g: frees it when empty, else bumps its
 * generation (and notifies) when its members or topics changed. */
void cl_group_settle(struct cl_group *g, struct cl_out *o, uint64_t now);
/* Takes cls.lock and applies the closes the IO threads queued; returns
 * now. cl_unlock releases it, then sends o's pushes and closes. */
uint64_t cl_lock(struct cl_out *o);
void cl_unlock(struct cl_out *o);
/* wheel_schedule(), waking the wheel thread when the wheel was empty. */
void cl_wheel_arm(struct wheel_entry *e, uint64_t deadline_ms);
/* The runtime's close hook (IO thread, never waits). */
void cl_on_close(struct handle h, void *ctx);
/* Under the lock: the closes queued by cl_on_close. */
void cl_drain_closed(struct cl_out *o, uint64_t now);

/* ---- clients.c ---------------------------------------------------------- */

/* `[GROUP ]GENERATION MEMBER,MEMBER` (members in byte order). */
void cl_group_line(struct sbuf *b, const struct cl_group *g, bool with_name);

/* ---- clients_list.c ------------------------------------------------------ */

/* Every node of t in an array (to sort); NULL with b->failed on ENOMEM. */
void **cl_hash_list(const struct cl_hash *t, struct sbuf *b);

#endif
