/*
 * registry_zk.c - ZooKeeper nodes one at a time (registry.h), through
 * Debian's packaged C client (libzookeeper-mt, synchronous calls). Only the
 * registry thread calls in here.
 *
 * The client's own log lines (every reconnect attempt is an ERROR line to
 * stderr by default) go to our log at debug level only: the registry says
 * once per change what happened (registry.c).
 */
#include <config.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zookeeper/zookeeper.h>

#include "server/broker/registry.h"
#include "server/common/log.h"

struct registry_zk {
	zhandle_t *zh;
	void (*watch)(void *ctx);
	void *ctx;
	_Atomic int state; /* enum registry_zk_state, from the client's thread */
};

static void zk_log(const char *message)
{
	pmq_log(PMQ_LOG_DEBUG, "zookeeper client: %s", message);
}

/* The client's thread: session events only (we set no node watches). */
static void on_event(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct registry_zk *z = ctx;
	enum registry_zk_state s = RZ_CONNECTING;
	(void)zh;
	(void)path;

	if (type != ZOO_SESSION_EVENT)
		return;
	if (state == ZOO_CONNECTED_STATE)
		s = RZ_CONNECTED;
	else if (state == ZOO_EXPIRED_SESSION_STATE)
		s = RZ_EXPIRED;
	else if (state == ZOO_AUTH_FAILED_STATE)
		s = RZ_AUTH_FAILED;
	atomic_store(&z->state, (int)s);
	z->watch(z->ctx);
}

struct registry_zk *registry_zk_open(const char *connect, int32_t timeout_ms,
                                     void (*watch)(void *ctx), void *ctx)
{
	struct registry_zk *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->watch = watch;
	z->ctx = ctx;
	atomic_store(&z->state, RZ_CONNECTING);
	zoo_set_debug_level(log_enabled(PMQ_LOG_DEBUG) ? ZOO_LOG_LEVEL_INFO : ZOO_LOG_LEVEL_WARN);
	z->zh = zookeeper_init2(connect, on_event, timeout_ms, NULL, z, 0, zk_log);
	if (!z->zh) {
		free(z);
		return NULL;
	}
	return z;
}

void registry_zk_close(struct registry_zk *z)
{
	if (!z)
		return;
	zookeeper_close(z->zh);
	free(z);
}

enum registry_zk_state registry_zk_state(struct registry_zk *z)
{
	return (enum registry_zk_state)atomic_load(&z->state);
}

int64_t registry_zk_session(struct registry_zk *z)
{
	const clientid_t *id = zoo_client_id(z->zh);
	return id ? id->client_id : 0;
}

/* A ZooKeeper answer as ours: connection trouble is "later", the rest a
 * refusal worth a line. */
static int zk_rc(int rc, const char *what, const char *path)
{
	if (rc == ZOK)
		return 0;
	if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED ||
	    rc == ZINVALIDSTATE || rc == ZCLOSING || rc == ZSESSIONMOVED)
		return -EAGAIN;
	pmq_log(PMQ_LOG_WARN, "registry: %s %s: %s", what, path, zerror(rc));
	return -EIO;
}

/* Every missing ancestor of path, persistent and empty. */
static int make_parents(struct registry_zk *z, const char *path)
{
	char p[REGISTRY_PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof p)
		return -EIO;
	memcpy(p, path, n + 1);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		int rc = zoo_create(z->zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
		                    NULL, 0);
		*s = '/';
		if (rc != ZOK && rc != ZNODEEXISTS)
			return zk_rc(rc, "create", p);
	}
	return 0;
}

static int create_node(struct registry_zk *z, const char *path, const char *data, int mode)
{
	int rc = zoo_create(z->zh, path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, mode,
	                    NULL, 0);

	if (rc == ZNONODE) {
		int prc = make_parents(z, path);
		if (prc != 0)
			return prc;
		rc = zoo_create(z->zh, path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, mode,
		                NULL, 0);
	}
	return rc;
}

/* The node's data and stat; ZNONODE when it went away meanwhile. */
static int read_node(struct registry_zk *z, const char *path, char *buf, int *len,
                     struct Stat *st)
{
	return zoo_get(z->zh, path, 0, buf, len, st);
}

int registry_zk_put(struct registry_zk *z, const char *path, const char *data,
                    bool ephemeral)
{
	int mode = ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT;

	for (int attempt = 0; attempt < 3; attempt++) {
		char buf[REGISTRY_DATA_MAX];
		int len = (int)sizeof buf - 1;
		struct Stat st;
		int rc = create_node(z, path, data, mode);

		if (rc != ZNODEEXISTS)
			return zk_rc(rc, "create", path);
		rc = read_node(z, path, buf, &len, &st);
		if (rc == ZNONODE)
			continue;
		if (rc != ZOK)
			return zk_rc(rc, "read", path);
		if (ephemeral && st.ephemeralOwner != registry_zk_session(z)) {
			/* A previous run's, whose session has not expired yet:
			 * this broker holds the master node, so it is ours. */
			rc = zoo_delete(z->zh, path, st.version);
			if (rc != ZOK && rc != ZNONODE && rc != ZBADVERSION)
				return zk_rc(rc, "delete", path);
			continue;
		}
		if (len >= 0 && (size_t)len == strlen(data) && memcmp(buf, data, (size_t)len) == 0)
			return 0;
		rc = zoo_set(z->zh, path, data, (int)strlen(data), -1);
		return zk_rc(rc, "set", path);
	}
	return -EAGAIN; /* someone else keeps changing it: next round */
}

int registry_zk_remove(struct registry_zk *z, const char *path)
{
	int rc = zoo_delete(z->zh, path, -1);

	return rc == ZNONODE ? 0 : zk_rc(rc, "delete", path);
}

int registry_zk_claim(struct registry_zk *z, const char *path, const char *data,
                      char *other, size_t cap)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		char buf[REGISTRY_DATA_MAX];
		int len = (int)sizeof buf - 1;
		struct Stat st;
		int rc = create_node(z, path, data, ZOO_EPHEMERAL);

		if (rc != ZNODEEXISTS)
			return zk_rc(rc, "create", path);
		rc = read_node(z, path, buf, &len, &st);
		if (rc == ZNONODE)
			continue; /* its session just ended: try again */
		if (rc != ZOK)
			return zk_rc(rc, "read", path);
		if (st.ephemeralOwner == registry_zk_session(z))
			return 0;
		if (len < 0)
			len = 0;
		buf[len] = '\0';
		snprintf(other, cap, "%s", buf);
		return -EEXIST;
	}
	return -EAGAIN;
}
