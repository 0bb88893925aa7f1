/*
 * broker.h - the broker wing: what the commands mean. The processors, the
 * store service, group commit and retention. What the daemon and metrics
 * may call.
 *
 * The broker uses store/, protocol/ and the runtime's request/reply
 * interface (server/runtime/request.h) plus its hooks (runtime.h); the
 * runtime never calls into the broker except through those.
 *
 * Files of this wing:
 *   store_service.c  start, stop, stats figures, retention (this header)
 *   proc_store.c     the put, get, offset, transaction processors
 *   proc_version.c   version, on the heartbeat pool
 *   flush.c          the flush thread and group commit hand-over
 *   availability.c   available / unavailable / draining, `admin` (this
 *                    header; the put path's check in availability.h)
 *   registry.c, registry_zk.c  the broker in ZooKeeper, on a thread of its
 *                    own (this header; their parts in registry.h)
 *   clients.c        registration through heartbeats, groups, notify,
 *                    `members`, `stats clients|groups` (clients.h)
 *   offsets.c        committed offsets: commit, committed, their log
 *   (all three share store_service.h, private to the wing)
 *
 * main() calls store_service_start() after the config is loaded and before
 * the listeners open (recovery happens here: a failure stops start-up), and
 * store_service_stop() after the pools have drained. Start registers the
 * processors through processor_register(), retention as a periodic hook on
 * the put pool, and the `debug sleep flush` target.
 */
#ifndef PMQ_BROKER_H
#define PMQ_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "server/common/counters.h"
#include "server/common/sbuf.h"
#include "server/common/settings.h"

/* 0, or -errno with the reason already logged. */
int store_service_start(const struct settings *cfg);
/* pulsemqd --scrub: verifies cfg->data_dir without opening the store (no
 * recovery runs), printing each finding and a summary on stdout, errors on
 * stderr. Returns the exit status: 0 every record valid, 1 bad records
 * found or the scrub could not run. */
int store_service_scrub(const struct settings *cfg);
/* Flushes, answers what waits for a flush, and closes the store. */
void store_service_stop(void);
/* For `stats` and /metrics: the store's figures, indexed as the table in
 * server/common/counters.h declares them (enum store_figure). 0, or
 * -ENOENT before the store has started. Any thread. */
int store_service_figures(uint64_t v[SF_COUNT]);

/* One topic as `stats topics` shows it, summed over its partitions. */
struct broker_topic_stats {
	const char *name;         /* valid during the callback only */
	int32_t partitions;
	uint64_t bytes;           /* log bytes readable now (first start to end) */
	uint64_t messages;        /* appended since the daemon started */
	int64_t last_append_ms;   /* wall clock (ms since 1970) of the latest, 0 if none */
};
/* Calls fn for every topic the store holds, in byte order of the names.
 * Read-only; any thread. 0, or -ENOMEM (fn then was not called). */
int store_service_topics(void (*fn)(const struct broker_topic_stats *t, void *ctx),
                         void *ctx);

/* For the watchdog (liveness.h), any thread: whether puts wait for a group
 * commit now, and how many group commits have finished so far. */
void store_service_commit_progress(bool *waiting, uint64_t *finished);
/* `debug sleep flush MS`: the next group commit stops for ms before its
 * fsync, as a hung disk would. */
void store_service_debug_stall(int32_t ms);

/* ---- availability (availability.c; protocol.md "Administration and
 * availability") ---------------------------------------------------------- */

enum availability { AVAIL_AVAILABLE, AVAIL_UNAVAILABLE, AVAIL_DRAINING };
/* "available", "unavailable", "draining". */
const char *availability_name(enum availability a);
/* Any thread. */
enum availability availability_state(void);
/* Before runtime_start(): the start state (start_available) and the
 * `admin` processor. 0 or -errno. */
int availability_start(const struct settings *cfg);
/* available <-> unavailable; -EPERM once draining (a drain is final). */
int availability_set(enum availability to, const char *why);
/* Unavailable for good, and the daemon should exit when drained or ms from
 * now, whichever comes first (a later drain only shortens it). */
void availability_drain(int32_t ms, const char *why);
uint64_t availability_drain_deadline_ms(void);
/* Draining and done: no put accepted for a second, no producer session
 * left. now_ms on clock_now_ms()'s clock. */
bool availability_drained(uint64_t now_ms);
/* fn runs (on a pool worker; must not block) after `admin drain` switched
 * the state: it wakes the main thread, which waits for the drain. */
void availability_on_drain(void (*fn)(void));
/* `admin status`'s registry line: fn returns "connected", ... ("off"
 * without it). */
void availability_registry_source(const char *(*fn)(void));

/* ---- registry in ZooKeeper (registry.c; protocol.md "Registry in
 * ZooKeeper (MetaQ's layout)") ---------------------------------------------- */

enum registry_state { REGISTRY_OFF, REGISTRY_CONNECTING, REGISTRY_CONNECTED };
/* After runtime_start() (the address has the bound port): with zk_connect
 * set, starts the registry thread and waits (a few seconds at most) for
 * its master node. -EEXIST when another live broker holds this broker_id
 * (logged with its address): the start must fail. -EINVAL for settings
 * that cannot be registered. A ZooKeeper that does not answer is no
 * error: the broker serves and registers once it does. */
int registry_start(const struct settings *cfg, int bound_port);
/* Closes the session: the ephemeral nodes are gone when it returns. */
void registry_stop(void);
/* Any thread. */
enum registry_state registry_state(void);
const char *registry_state_name(void); /* "off", "connecting", "connected" */
/* `stats clients` and `stats groups` (protocol.md), capped at
 * stats_max_lines then `more N`. Any thread (the heartbeat pool). */
void broker_clients_render(struct sbuf *b);
void broker_groups_render(struct sbuf *b);

/* For /metrics, at most stats_max_lines calls each, under the tables'
 * locks (fn must only format): every consumer group with its member
 * count, and every committed (group, topic, partition) with the log end
 * (-1 when the partition is gone) and the lag in bytes. */
void broker_groups_each(void (*fn)(const char *group, size_t members, void *ctx), void *ctx);
void broker_lag_each(void (*fn)(const char *group, const char *topic, int32_t partition,
                                int64_t committed, int64_t end, int64_t lag, void *ctx),
                     void *ctx);

#endif
