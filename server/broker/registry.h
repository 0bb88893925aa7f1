/*
 * registry.h - private to the broker wing: the ZooKeeper registry's parts.
 *
 *   registry.c     the registry thread: session, desired nodes, reconcile
 *                  (its public face is in broker.h)
 *   registry_zk.c  one node at a time, through the ZooKeeper C client
 *
 * Only the registry thread calls registry_zk.c: every call may block for
 * as long as ZooKeeper takes to answer (or the client to notice it is gone),
 * which is why no IO thread or pool worker ever does.
 */
#ifndef PMQ_REGISTRY_H
#define PMQ_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGISTRY_PATH_MAX 1024
#define REGISTRY_DATA_MAX 512

/* The ZooKeeper handle, opaque to registry.c. */
struct registry_zk;

/* Starts a session (connecting in the background; watch(ctx) runs on the
 * client's thread on every session event). NULL when the client refuses
 * (a malformed connect string). */
struct registry_zk *registry_zk_open(const char *connect, int32_t timeout_ms,
                                     void (*watch)(void *ctx), void *ctx);
/* Ends the session: ZooKeeper deletes its ephemeral nodes at once. */
void registry_zk_close(struct registry_zk *z);

enum registry_zk_state { RZ_CONNECTING, RZ_CONNECTED, RZ_EXPIRED, RZ_AUTH_FAILED };
enum registry_zk_state registry_zk_state(struct registry_zk *z);
/* The session id, for logs; 0 before the first connection. */
int64_t registry_zk_session(struct registry_zk *z);

/*
 * The node at path holds data and is ours: created (with its missing
 * parents, persistent) when absent; its data set when it differs; an
 * ephemeral one of another session (a previous run of this broker)
 * replaced. 0, or -EAGAIN (ZooKeeper unreachable now: try again later), or
 * -EIO (refused; the reason is logged).
 */
int registry_zk_put(struct registry_zk *z, const char *path, const char *data,
                    bool ephemeral);
/* The node at path is absent (deleted when present). 0, -EAGAIN, -EIO. */
int registry_zk_remove(struct registry_zk *z, const char *path);
/*
 * ids/B/master: created ephemeral with data, or found ours. -EEXIST when
 * another session holds it: its data (the other broker's address) in
 * other. 0, -EAGAIN, -EIO otherwise.
 */
int registry_zk_claim(struct registry_zk *z, const char *path, const char *data,
                      char *other, size_t cap);

#endif
