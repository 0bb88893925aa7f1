/*
 * availability.c - the availability switch (protocol.md "Administration
 * and availability"): available, unavailable (Motan's switcher: puts
 * answered 403, everything else served, so consumers drain what is there),
 * draining (unavailable, then the daemon exits), and the admin command that
 * drives it.
 *
 * The state is one atomic: the put path reads it once per put, the admin
 * processor (heartbeat pool) and the main thread (SIGTERM) write it. A
 * drain is final: once draining, online and offline are refused, since the
 * daemon is already on its way out.
 */
#include <config.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "actors/clock.h"
#include "server/broker/availability.h"
#include "server/broker/broker.h"
#include "server/common/log.h"
#include "server/runtime/runtime.h"

/* Drained = no put accepted for this long (its group commit has long
 * answered it) and no producer session left. */
#define DRAIN_QUIET_MS 1000
/* An admin answer: a few short lines. */
#define ADMIN_ANSWER_BYTES 256

static _Atomic int state = AVAIL_AVAILABLE;
static atomic_uint_fast64_t last_put_ms;     /* monotonic; an accepted put */
static atomic_uint_fast64_t drain_started_ms, drain_deadline_ms;
static void (*drain_hook)(void);
static const char *(*registry_hook)(void);

static const char *const names[] = {
	[AVAIL_AVAILABLE] = "available",
	[AVAIL_UNAVAILABLE] = "unavailable",
	[AVAIL_DRAINING] = "draining",
};

const char *availability_name(enum availability a)
{
	return (unsigned)a <= AVAIL_DRAINING ? names[a] : "?";
}

enum availability availability_state(void)
{
	return (enum availability)atomic_load(&state);
}

static void state_log(enum availability from, enum availability to, const char *why)
{
	if (from != to)
		pmq_log(PMQ_LOG_INFO, "availability: %s -> %s (%s)", availability_name(from),
		        availability_name(to), why);
}

int availability_set(enum availability to, const char *why)
{
	int from = atomic_load(&state);

	do {
		if (from == AVAIL_DRAINING && to != AVAIL_DRAINING)
			return -EPERM;
	} while (!atomic_compare_exchange_weak(&state, &from, (int)to));
	state_log((enum availability)from, to, why);
	return 0;
}

void availability_drain(int32_t ms, const char *why)
{
	uint64_t now = clock_now_ms();
	int from = atomic_exchange(&state, AVAIL_DRAINING);

	/* A second drain (SIGTERM after `ctl drain`) may only shorten it. */
	if (from != AVAIL_DRAINING || now + (uint64_t)ms < atomic_load(&drain_deadline_ms))
		atomic_store(&drain_deadline_ms, now + (uint64_t)ms);
	if (from != AVAIL_DRAINING)
		atomic_store(&drain_started_ms, now);
	state_log((enum availability)from, AVAIL_DRAINING, why);
}

uint64_t availability_drain_deadline_ms(void)
{
	return atomic_load(&drain_deadline_ms);
}

bool availability_drained(uint64_t now_ms)
{
	uint64_t quiet_since = atomic_load(&last_put_ms);
	uint64_t started = atomic_load(&drain_started_ms);

	if (started > quiet_since)
		quiet_since = started; /* a put accepted just before the switch */
	return now_ms >= quiet_since + DRAIN_QUIET_MS &&
	       runtime_counter_total(ST_SESS_PRODUCERS) == 0;
}

void availability_on_drain(void (*fn)(void))
{
	drain_hook = fn;
}

void availability_registry_source(const char *(*fn)(void))
{
	registry_hook = fn;
}

bool availability_put_refused(struct request *req)
{
	if (atomic_load_explicit(&state, memory_order_acquire) == AVAIL_AVAILABLE) {
		atomic_store_explicit(&last_put_ms, clock_now_ms(), memory_order_release);
		return false;
	}
	request_reply_resultf(req, 403, "broker unavailable: it is offline and takes no new "
	                      "messages");
	return true;
}

static void answer_state(struct request *req, bool full)
{
	char body[ADMIN_ANSWER_BYTES];
	int n = snprintf(body, sizeof body, "state %s\n", availability_name(availability_state()));

	if (full)
		n += snprintf(body + n, sizeof body - (size_t)n,
		              "producers %llu\nconsumers %llu\nregistry %s\n",
		              (unsigned long long)runtime_counter_total(ST_SESS_PRODUCERS),
		              (unsigned long long)runtime_counter_total(ST_SESS_CONSUMERS),
		              registry_hook ? registry_hook() : "off");
	request_reply_result(req, 200, body, (size_t)n);
}

static bool verb_is(const struct pmq_msg *m, const char *w)
{
	return m->admin_verb.len == strlen(w) && memcmp(m->admin_verb.ptr, w, m->admin_verb.len) == 0;
}

/* The runtime lets only admin_socket sessions reach this (dispatch.c). */
static void proc_admin(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	(void)ctx;

	if (verb_is(m, "status")) {
		answer_state(req, true);
		return;
	}
	if (verb_is(m, "drain")) {
		availability_drain(m->admin_ms, "admin drain");
		if (drain_hook)
			drain_hook();
		answer_state(req, false);
		return;
	}
	bool on = verb_is(m, "online");
	if (availability_set(on ? AVAIL_AVAILABLE : AVAIL_UNAVAILABLE,
	                     on ? "admin online" : "admin offline") != 0) {
		request_reply_resultf(req, 403, "broker draining: it is stopping and cannot go "
		                      "%s", on ? "online" : "offline");
		return;
	}
	answer_state(req, false);
}

int availability_start(const struct settings *cfg)
{
	atomic_store(&state, cfg->start_available ? AVAIL_AVAILABLE : AVAIL_UNAVAILABLE);
	atomic_store(&drain_deadline_ms, 0);
	atomic_store(&drain_started_ms, 0);
	if (!cfg->start_available)
		pmq_log(PMQ_LOG_INFO, "availability: starting unavailable (start_available = "
		        "no): puts are answered 403 until `pulsemq ctl online`");
	return processor_register(PMQ_CMD_ADMIN, proc_admin, NULL);
}
