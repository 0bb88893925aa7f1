/* pulsemq_assign_averagely: RocketMQ's AllocateMessageQueueAveragely. */
#include <config.h>

#include "client/pulsemq.h"
#include "tests/tap.h"

/* Every partition owned exactly once, shares contiguous, sizes differing
 * by at most one, the larger ones first. */
static bool covers(int nparts, int nmembers)
{
	int owner[256];
	int next = 0, prev = 1 << 30;

	for (int i = 0; i < nparts; i++)
		owner[i] = -1;
	for (int m = 0; m < nmembers; m++) {
		int first, n = pulsemq_assign_averagely(nparts, nmembers, m, &first);
		if (n > 0 && first != next)
			return false;
		if (n > prev || (nparts >= nmembers && prev - n > 1 && prev != 1 << 30))
			return false;
		prev = n;
		for (int i = first; i < first + n; i++) {
			if (owner[i] != -1)
				return false;
			owner[i] = m;
		}
		next += n;
	}
	for (int i = 0; i < nparts; i++)
		if (owner[i] == -1)
			return false;
	return true;
}

int main(void)
{
	int first;

	is(pulsemq_assign_averagely(6, 3, 0, &first), 2, "6 over 3: 2 each");
	is(first, 0, "  member 0 from 0");
	pulsemq_assign_averagely(6, 3, 2, &first);
	is(first, 4, "  member 2 from 4");
	is(pulsemq_assign_averagely(7, 3, 0, &first), 3, "7 over 3: the first takes 3");
	is(pulsemq_assign_averagely(7, 3, 1, &first), 2, "  the second 2");
	is(first, 3, "  from 3");
	is(pulsemq_assign_averagely(2, 3, 2, &first), 0, "2 over 3: the third takes none");
	is(pulsemq_assign_averagely(2, 3, 1, &first), 1, "  the second takes one");
	is(first, 1, "  partition 1");
	is(pulsemq_assign_averagely(6, 0, 0, &first), 0, "no members: nothing");
	is(pulsemq_assign_averagely(6, 3, 3, &first), 0, "an index past the members: nothing");
	bool all = true;
	for (int p = 1; p <= 64; p++)
		for (int m = 1; m <= 20; m++)
			all = all && covers(p, m);
	ok(all, "1..64 partitions over 1..20 members: each owned once, contiguous, balanced");
	return done_testing();
}
