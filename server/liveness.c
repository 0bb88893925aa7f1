/*
 * liveness.c - progress checks for the systemd watchdog (liveness.h).
 */
#include <config.h> /* autoconf's: "config.h" here would be server/config.h */

#include <stdio.h>

#include "server/liveness.h"
#include "server/runtime.h"

/* What each pool looked like at the previous check (main thread only). */
static struct {
	bool valid;
	unsigned queued;
	uint64_t finished;
} last[RT_POOL_COUNT];

bool liveness_check(char *why, size_t cap)
{
	bool alive = true;

	if (cap)
		why[0] = '\0';
	for (int i = 0; i < RT_POOL_COUNT; i++) {
		struct pmq_pool_stats st;

		if (!rt.pools[i])
			continue;
		pool_stats(rt.pools[i], &st);
		uint64_t finished = st.completed + st.expired;
		if (last[i].valid && last[i].queued > 0 && st.queued > 0 &&
		    finished == last[i].finished) {
			if (alive && cap)
				snprintf(why, cap, "%s pool stuck: %u queued, none finished since "
				         "the last check", rt_pool_name((enum rt_pool)i), st.queued);
			alive = false;
		}
		last[i].valid = true;
		last[i].queued = st.queued;
		last[i].finished = finished;
	}
	return alive;
}
