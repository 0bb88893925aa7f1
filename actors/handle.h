/*
 * handle.h - how other threads name a session: never by pointer.
 *
 * A handle is the owning IO thread, a slot in that thread's session table and
 * the slot's generation when the session was opened. A slot's generation
 * changes whenever a session there closes, so a message carrying an old
 * handle is recognised and dropped by the owner.
 */
#ifndef PMQ_HANDLE_H
#define PMQ_HANDLE_H

#include <stdint.h>
#include <stdbool.h>

struct handle {
	uint16_t io;    /* index of the owning IO thread */
	uint32_t slot;  /* index in its session table */
	uint32_t gen;   /* slot generation at open; 0 is never a live session */
};

static inline bool handle_equal(struct handle a, struct handle b)
{
	return a.io == b.io && a.slot == b.slot && a.gen == b.gen;
}

#endif
