/*
 * registry.c - the broker in ZooKeeper, in MetaQ's layout (protocol.md
 * "Registry in ZooKeeper"), on a thread of its own.
 *
 * The thread keeps ZooKeeper in step with the broker by reconciling, every
 * REGISTRY_POLL_MS and on every session event: it computes the nodes the
 * broker should have now (its address, its master node, and per topic
 * topics-sub, topics and - only while available - topics-pub) and creates,
 * updates or deletes what differs from what it has registered in this
 * session. So a new topic, a switch to offline, a reconnection or a new
 * session after an expiry all take the same path, and nothing of the
 * broker's other threads waits for ZooKeeper: they never call in here
 * (the put path does not even know the registry exists; topics are read
 * from the store, availability from availability.c).
 *
 * ZooKeeper unreachable: the broker serves on; the client library retries
 * the connection, the session's ephemeral nodes live until it expires, and
 * the registry says so once per change of state (log, `stats registry`,
 * pulsemq_registry_connected). An expired session is closed and a new one
 * opened at once, which re-creates every node.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/clock.h"
#include "protocol/protocol.h"
#include "server/broker/broker.h"
#include "server/broker/registry.h"
#include "server/common/log.h"

#define REGISTRY_POLL_MS 200          /* new topics, availability: seen this fast */
#define REGISTRY_START_WAIT_MS 5000   /* start-up waits this long for the master node */
#define REGISTRY_BACKOFF_MIN_MS 200   /* after a refusal or a failed open */
#define REGISTRY_BACKOFF_MAX_MS 10000
#define REGISTRY_ADDR_MAX 320
#define REGISTRY_BASE_MAX 300          /* zk_root (< 256) + /brokers */

struct reg_topic {
	char name[PMQ_TOPIC_MAX_BYTES + 1];
	int32_t parts;
	bool pub;
};

struct topic_set {
	struct reg_topic *v;
	size_t len, cap;
	bool failed;
};

static struct {
	const struct settings *cfg;
	char addr[REGISTRY_ADDR_MAX];     /* meta://HOST:PORT */
	char base[REGISTRY_BASE_MAX];     /* ROOT/brokers */
	pthread_t tid;
	bool running;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, kicked;
	bool start_done;                  /* the first claim's outcome is known */
	int start_rc;
	char start_other[REGISTRY_DATA_MAX];

	_Atomic int state;                /* enum registry_state */
	/* The registry thread's own: */
	struct registry_zk *z;
	bool master, ids_done;            /* registered in this session */
	struct topic_set have;            /* topics registered in this session */
	uint64_t backoff_ms, next_try_ms;
	char conflict[REGISTRY_DATA_MAX]; /* last master holder logged */
} reg = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

enum registry_state registry_state(void)
{
	return (enum registry_state)atomic_load(&reg.state);
}

const char *registry_state_name(void)
{
	static const char *const names[] = { "off", "connecting", "connected" };
	return names[registry_state()];
}

/* Once per change: the log line, the stats word. */
static void set_state(enum registry_state s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_state(enum registry_state s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (atomic_exchange(&reg.state, (int)s) == (int)s)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pmq_log(s == REGISTRY_CONNECTED ? PMQ_LOG_INFO : PMQ_LOG_WARN, "registry: %s", line);
}

/* The client's thread, on a session event: look now. */
static void kick(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&reg.mu);
	reg.kicked = true;
	pthread_cond_signal(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
}

static void backoff(uint64_t now)
{
	reg.backoff_ms = reg.backoff_ms ? reg.backoff_ms * 2 : REGISTRY_BACKOFF_MIN_MS;
	if (reg.backoff_ms > REGISTRY_BACKOFF_MAX_MS)
		reg.backoff_ms = REGISTRY_BACKOFF_MAX_MS;
	reg.next_try_ms = now + reg.backoff_ms;
}

/* A new session, or one that came back: verify every node again. */
static void forget(void)
{
	reg.master = false;
	reg.ids_done = false;
	reg.have.len = 0;
}

static void start_outcome(int rc, const char *other)
{
	pthread_mutex_lock(&reg.mu);
	if (!reg.start_done) {
		reg.start_done = true;
		reg.start_rc = rc;
		snprintf(reg.start_other, sizeof reg.start_other, "%s", other ? other : "");
		pthread_cond_broadcast(&reg.cv);
	}
	pthread_mutex_unlock(&reg.mu);
}

/* ---- what the broker should have now ------------------------------------ */

static struct reg_topic *set_find(struct topic_set *s, const char *name)
{
	for (size_t i = 0; i < s->len; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

static struct reg_topic *set_add(struct topic_set *s, const char *name, size_t len)
{
	if (len > PMQ_TOPIC_MAX_BYTES)
		return NULL;
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct reg_topic *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			s->failed = true;
			return NULL;
		}
		s->v = v;
		s->cap = cap;
	}
	struct reg_topic *t = &s->v[s->len++];
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->parts = 0;
	t->pub = false;
	return t;
}

/* numParts: what the topic is configured with (it may not all exist yet). */
static void want_topic(struct topic_set *s, const char *name, int32_t existing)
{
	const struct settings *cfg = reg.cfg;
	const struct settings_topic *tc = settings_find_topic(cfg, name, strlen(name));
	struct reg_topic *t = set_find(s, name);

	if (!t && !(t = set_add(s, name, strlen(name))))
		return;
	int32_t n = tc && tc->num_partitions > 0 ? tc->num_partitions : cfg->num_partitions;
	t->parts = existing > n ? existing : n;
	t->pub = availability_state() == AVAIL_AVAILABLE && (!tc || tc->accept_put);
}

static void store_topic(const struct broker_topic_stats *t, void *ctx)
{
	want_topic(ctx, t->name, t->partitions);
}

static int desired(struct topic_set *want)
{
	want->len = 0;
	want->failed = false;
	for (size_t i = 0; i < reg.cfg->ntopics; i++)
		want_topic(want, reg.cfg->topics[i].name, 0);
	if (store_service_topics(store_topic, want) != 0 || want->failed)
		return -ENOMEM;
	return 0;
}

/* ---- into ZooKeeper --------------------------------------------------------- */

static void topic_path(char *buf, size_t cap, const char *kind, const char *topic)
{
	snprintf(buf, cap, "%s/%s/%s/%d-m", reg.base, kind, topic, (int)reg.cfg->broker_id);
}

static int put_topic(const struct reg_topic *t, bool parts_changed)
{
	char path[REGISTRY_PATH_MAX], json[REGISTRY_DATA_MAX], parts[16];
	int rc = 0;

	snprintf(json, sizeof json, "{\"numParts\":%d,\"broker\":\"%d-m\"}", (int)t->parts,
	         (int)reg.cfg->broker_id);
	if (parts_changed) {
		snprintf(parts, sizeof parts, "%d", (int)t->parts);
		topic_path(path, sizeof path, "topics-sub", t->name);
		rc = registry_zk_put(reg.z, path, json, true);
		topic_path(path, sizeof path, "topics", t->name);
		if (rc == 0)
			rc = registry_zk_put(reg.z, path, parts, true);
	}
	topic_path(path, sizeof path, "topics-pub", t->name);
	if (rc == 0)
		rc = t->pub ? registry_zk_put(reg.z, path, json, true)
		            : registry_zk_remove(reg.z, path);
	return rc;
}

static int claim_master(void)
{
	char path[REGISTRY_PATH_MAX], other[REGISTRY_DATA_MAX] = "";
	int rc;

	snprintf(path, sizeof path, "%s/ids/%d/master", reg.base, (int)reg.cfg->broker_id);
	rc = registry_zk_claim(reg.z, path, reg.addr, other, sizeof other);
	if (rc == 0) {
		reg.master = true;
		reg.conflict[0] = '\0';
		start_outcome(0, NULL);
		return 0;
	}
	if (rc != -EEXIST)
		return rc;
	if (!strcmp(other, reg.addr)) {
		/* Our own address: a previous run of this broker, killed,
		 * whose session ZooKeeper has not expired yet. Wait for it. */
		if (strcmp(reg.conflict, other))
			pmq_log(PMQ_LOG_WARN, "registry: %s holds the address of this broker (a "
			        "previous run): waiting for its session to expire", path);
		start_outcome(0, NULL);
	} else {
		if (strcmp(reg.conflict, other))
			pmq_log(PMQ_LOG_ERROR, "registry: broker_id %d is held by another live "
			        "broker at %s (%s): not registering", (int)reg.cfg->broker_id,
			        other, path);
		start_outcome(-EEXIST, other);
	}
	snprintf(reg.conflict, sizeof reg.conflict, "%s", other);
	return -EEXIST;
}

static int reconcile(struct topic_set *want)
{
	char path[REGISTRY_PATH_MAX];
	int rc;

	if (!reg.master && (rc = claim_master()) != 0)
		return rc;
	if (!reg.ids_done) {
		snprintf(path, sizeof path, "%s/ids/%d", reg.base, (int)reg.cfg->broker_id);
		if ((rc = registry_zk_put(reg.z, path, reg.addr, false)) != 0)
			return rc;
		reg.ids_done = true;
	}
	if ((rc = desired(want)) != 0)
		return rc;
	for (size_t i = 0; i < want->len; i++) {
		const struct reg_topic *w = &want->v[i];
		struct reg_topic *h = set_find(&reg.have, w->name);
		if (h && h->parts == w->parts && h->pub == w->pub)
			continue;
		if ((rc = put_topic(w, !h || h->parts != w->parts)) != 0)
			return rc;
		if (!h && !(h = set_add(&reg.have, w->name, strlen(w->name))))
			return -ENOMEM;
		*h = *w;
	}
	return 0;
}

/* One look: the session's state, then the nodes. */
static void step(struct topic_set *want, uint64_t now)
{
	const char *zc = reg.cfg->zk_connect;

	if (now < reg.next_try_ms)
		return;
	if (!reg.z) {
		reg.z = registry_zk_open(zc, reg.cfg->zk_session_timeout_ms, kick, NULL);
		if (!reg.z) {
			set_state(REGISTRY_CONNECTING, "cannot start a ZooKeeper session for '%s': "
			          "retrying", zc);
			backoff(now);
		}
		return;
	}
	switch (registry_zk_state(reg.z)) {
	case RZ_EXPIRED:
	case RZ_AUTH_FAILED: {
		bool expired = registry_zk_state(reg.z) == RZ_EXPIRED;
		registry_zk_close(reg.z);
		reg.z = NULL;
		forget();
		atomic_store(&reg.state, REGISTRY_CONNECTING);
		pmq_log(PMQ_LOG_WARN, "registry: ZooKeeper session %s: %s", expired ? "expired" :
		        "refused (authentication)", "starting a new one and registering again");
		if (!expired)
			backoff(now);
		else
			kick(NULL);
		return;
	}
	case RZ_CONNECTING:
		set_state(REGISTRY_CONNECTING, "ZooKeeper %s unreachable: serving on, retrying "
		          "(nodes stay while the session lives)", zc);
		return;
	case RZ_CONNECTED:
		break;
	}
	if (registry_state() != REGISTRY_CONNECTED) {
		forget(); /* back after a loss: verify everything */
		set_state(REGISTRY_CONNECTED, "connected to ZooKeeper %s (session 0x%llx) as "
		          "broker %d at %s", zc, (unsigned long long)registry_zk_session(reg.z),
		          (int)reg.cfg->broker_id, reg.addr);
	}
	int rc = reconcile(want);
	if (rc == 0)
		reg.backoff_ms = 0;
	else if (rc != -EAGAIN)
		backoff(now);
}

static void *registry_main(void *arg)
{
	struct topic_set want = { 0 };
	(void)arg;

	for (;;) {
		pthread_mutex_lock(&reg.mu);
		if (!reg.stop && !reg.kicked) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += REGISTRY_POLL_MS * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&reg.cv, &reg.mu, &ts);
		}
		bool stop = reg.stop;
		reg.kicked = false;
		pthread_mutex_unlock(&reg.mu);
		if (stop)
			break;
		step(&want, clock_now_ms());
	}
	/* Closing the session deletes the ephemeral nodes at once. */
	registry_zk_close(reg.z);
	reg.z = NULL;
	free(want.v);
	free(reg.have.v);
	reg.have = (struct topic_set){ 0 };
	return NULL;
}

/* ---- start, stop ------------------------------------------------------------ */

static bool wildcard(const char *host)
{
	return !host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "*");
}

static int make_address(const struct settings *cfg, int port)
{
	if (cfg->advertise[0]) {
		snprintf(reg.addr, sizeof reg.addr, "meta://%s", cfg->advertise);
		return 0;
	}
	if (wildcard(cfg->listen)) {
		pmq_log(PMQ_LOG_ERROR, "registry: listen = %s is every address: set advertise = "
		        "HOST:PORT, the address clients should use", cfg->listen);
		return -EINVAL;
	}
	bool v6 = strchr(cfg->listen, ':') != NULL;
	snprintf(reg.addr, sizeof reg.addr, "meta://%s%s%s:%d", v6 ? "[" : "", cfg->listen,
	         v6 ? "]" : "", port);
	return 0;
}

static int check_root(const char *root)
{
	size_t n = strlen(root);

	if (n < 2 || root[0] != '/' || root[n - 1] == '/' || strstr(root, "//")) {
		pmq_log(PMQ_LOG_ERROR, "registry: zk_root '%s' must be an absolute ZooKeeper path "
		        "such as /meta (no trailing '/')", root);
		return -EINVAL;
	}
	return 0;
}

/* The first claim of the master node, or the start-up bound. */
static int wait_start(const struct settings *cfg)
{
	int32_t wait_ms = cfg->zk_session_timeout_ms < REGISTRY_START_WAIT_MS ?
	                  cfg->zk_session_timeout_ms : REGISTRY_START_WAIT_MS;
	uint64_t end = clock_now_ms() + (uint64_t)wait_ms;
	int rc = 0;

	pthread_mutex_lock(&reg.mu);
	while (!reg.start_done && clock_now_ms() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&reg.cv, &reg.mu, &ts);
	}
	if (reg.start_done && reg.start_rc == -EEXIST) {
		pmq_log(PMQ_LOG_ERROR, "another broker with broker_id %d is alive at %s: "
		        "refusing to start (give this one another broker_id)",
		        (int)cfg->broker_id, reg.start_other);
		rc = -EEXIST;
	} else if (!reg.start_done) {
		pmq_log(PMQ_LOG_WARN, "registry: ZooKeeper %s did not answer within %d ms: "
		        "serving, and registering once it does", cfg->zk_connect, (int)wait_ms);
	}
	pthread_mutex_unlock(&reg.mu);
	return rc;
}

int registry_start(const struct settings *cfg, int bound_port)
{
	int rc;

	atomic_store(&reg.state, REGISTRY_OFF);
	if (!cfg->zk_connect[0])
		return 0;
	reg.cfg = cfg;
	if ((rc = check_root(cfg->zk_root)) != 0 || (rc = make_address(cfg, bound_port)) != 0)
		return rc;
	snprintf(reg.base, sizeof reg.base, "%s/brokers", cfg->zk_root);
	reg.stop = reg.kicked = reg.start_done = false;
	reg.next_try_ms = reg.backoff_ms = 0;
	forget();
	atomic_store(&reg.state, REGISTRY_CONNECTING);
	rc = pthread_create(&reg.tid, NULL, registry_main, NULL);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "registry: cannot start its thread: %s", strerror(rc));
		atomic_store(&reg.state, REGISTRY_OFF);
		return -rc;
	}
	pthread_setname_np(reg.tid, "pmq-registry");
	reg.running = true;
	availability_registry_source(registry_state_name);
	rc = wait_start(cfg);
	if (rc != 0)
		registry_stop();
	return rc;
}

void registry_stop(void)
{
	if (!reg.running)
		return;
	pthread_mutex_lock(&reg.mu);
	reg.stop = true;
	pthread_cond_signal(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
	pthread_join(reg.tid, NULL);
	reg.running = false;
	atomic_store(&reg.state, REGISTRY_OFF);
	pmq_log(PMQ_LOG_INFO, "registry: unregistered (session closed)");
}
