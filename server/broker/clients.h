/*
 * clients.h - private to the broker wing: client registration (clients.c)
 * and committed offsets (offsets.c). doc/registration.md says what they
 * promise; protocol.md "Client registration, groups and offsets" the wire.
 */
#ifndef PMQ_BROKER_CLIENTS_H
#define PMQ_BROKER_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/common/counters.h"
#include "server/common/sbuf.h"
#include "server/common/settings.h"

/* clients.c: the tables, the heartbeat and members processors, the close
 * hook and the expiry/notify tick (heartbeat pool). 0 or -errno. */
int clients_start(const struct settings *cfg);
void clients_stop(void);
/* Whether consumer group `group` has a member now (any thread). */
bool clients_group_has_members(const char *group, size_t len);
/* Fills the clients' rows of the store figures. */
void clients_figures(uint64_t v[SF_COUNT]);

/* offsets.c: the commit and committed processors and their log under
 * data_dir. Started after the store (it checks offsets against it). */
int offsets_start(const struct settings *cfg);
void offsets_stop(void);
void offsets_figures(uint64_t v[SF_COUNT]);
/* `stats groups` committed lines, at most *room of them (counted down);
 * lines past it are counted into *more. */
void offsets_render(struct sbuf *b, unsigned *room, uint64_t *more);

#endif
