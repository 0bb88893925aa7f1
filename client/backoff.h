/*
 * backoff.h - reconnect delays: exponential, capped, with jitter.
 *
 * Attempt n (1-based) has a base of min_ms * 2^(n-1), capped at max_ms; the
 * delay is drawn uniformly from [base/2, base] ("equal jitter"). Half the
 * base is kept so the delay still grows visibly; the random half spreads a
 * crowd of clients so a broker restart is not met by all of them in the
 * same millisecond (background.md, lesson 5). Pure: the caller owns the
 * random state.
 */
#ifndef PMQ_CLIENT_BACKOFF_H
#define PMQ_CLIENT_BACKOFF_H

#include <stdint.h>

/* xorshift64*: small and fast; state must be non-zero. */
static inline uint64_t backoff_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline int backoff_base_ms(int attempt, int min_ms, int max_ms)
{
	int64_t base = min_ms > 0 ? min_ms : 1;
	for (int i = 1; i < attempt && base < max_ms; i++)
		base *= 2;
	return base > max_ms ? max_ms : (int)base;
}

static inline int backoff_delay_ms(int attempt, int min_ms, int max_ms, uint64_t *rng)
{
	int base = backoff_base_ms(attempt, min_ms, max_ms);
	int half = base / 2;
	return half + (int)(backoff_rand(rng) % (uint64_t)(base - half + 1));
}

#endif
