/*
 * liveness.c - progress checks for the systemd watchdog (liveness.h).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "server/broker/broker.h"
#include "server/daemon/liveness.h"
#include "server/runtime/runtime.h"

/* Puts that waited for a group commit at the previous check and still do,
 * with none finished in between: the fsync (or the flusher) hangs. */
static bool commit_stuck(void)
{
	static struct {
		bool valid, waiting;
		uint64_t finished;
	} prev;
	bool waiting;
	uint64_t finished;

	store_service_commit_progress(&waiting, &finished);
	bool stuck = prev.valid && prev.waiting && waiting && finished == prev.finished;
	prev.valid = true;
	prev.waiting = waiting;
	prev.finished = finished;
	return stuck;
}

bool liveness_check(char *why, size_t cap)
{
	unsigned stuck = runtime_progress_check(why, cap);

	if (commit_stuck() && stuck++ == 0 && cap)
		snprintf(why, cap, "group commit stuck: puts wait for an fsync that has not "
		         "finished since the last check");
	if (stuck > 1 && cap) {
		size_t n = strlen(why);
		snprintf(why + n, cap - n, " (and %u more stuck)", stuck - 1);
	}
	return stuck == 0;
}
