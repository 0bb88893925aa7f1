/* clock.h - the one clock every deadline uses: monotonic, never wall time. */
#ifndef PMQ_CLOCK_H
#define PMQ_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_now_ms(void)
{
	return clock_now_ns() / 1000000u;
}

/* Sleeps the whole ms, resuming after signals (debug stalls use it). */
static inline void clock_sleep_ms(int32_t ms)
{
	struct timespec left = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

#endif
