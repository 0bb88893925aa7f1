/* futex_ec.c - futex wait/wake for the pool's event count (futex_ec.h). */
#include <config.h>

#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "pool/futex_ec.h"

void futex_ec_wait(const uint32_t *addr, uint32_t expected, unsigned timeout_ms)
{
	/* Plain FUTEX_WAIT takes a relative timeout. */
	struct timespec rel = { (time_t)(timeout_ms / 1000u),
	                        (long)(timeout_ms % 1000u) * 1000000L };

	syscall(SYS_futex, addr, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected,
	        &rel, NULL, 0);
}

void futex_ec_wake(const uint32_t *addr, int n)
{
	syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
}
