/*
 * idle.c - idle states from two stamps (idle.h).
 */
#include <config.h>

#include <string.h>

#include "server/runtime/idle.h"

void idle_marks_init(struct idle_marks *m)
{
	memset(m, 0, sizeof(*m));
}

void idle_evaluate(const struct idle_spec *spec, struct idle_marks *m,
                   uint64_t last_read_ms, uint64_t last_write_ms,
                   uint64_t now_ms, struct idle_result *out)
{
	uint64_t activity[IDLE_KINDS] = {
		[IDLE_READER] = last_read_ms,
		[IDLE_WRITER] = last_write_ms,
		[IDLE_ALL] = last_read_ms > last_write_ms ? last_read_ms : last_write_ms,
	};

	memset(out, 0, sizeof(*out));
	out->next_ms = UINT64_MAX;
	for (int k = 0; k < IDLE_KINDS; k++) {
		uint64_t period = spec->period_ms[k], next;

		if (period == 0)
			continue;
		if (now_ms >= activity[k] + period) {
			out->idle[k] = true;
			/* A new spell began if there was activity since the
			 * last event of this kind. */
			out->first[k] = !m->fired[k] || m->spell[k] != activity[k];
			m->fired[k] = true;
			m->spell[k] = activity[k];
			next = now_ms + period;
		} else {
			next = activity[k] + period;
		}
		if (next < out->next_ms)
			out->next_ms = next;
	}
}
