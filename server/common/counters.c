/*
 * counters.c - the names of the close reasons (counters.h).
 */
#include <config.h>

#include "server/common/counters.h"

static const char *const reason_names[] = {
#define PMQ_X(id, name) name,
	PMQ_CLOSE_REASONS(PMQ_X)
#undef PMQ_X
};

const char *close_reason_name(enum close_reason r)
{
	return (unsigned)r < CLOSE_REASON_COUNT ? reason_names[r] : "?";
}
