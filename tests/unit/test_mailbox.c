/* The mailbox: FIFO, capacity, notify-only-a-sleeper, and no lost wake-ups
 * with several producers and a consumer sleeping in epoll_wait. */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include <ck_pr.h>

#include "actors/clock.h"
#include "actors/mailbox.h"
#include "tests/tap.h"

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void test_basics(void)
{
	struct mailbox *mb;
	int vals[10];
	unsigned n = 0;

	is(mailbox_create(&mb, 0), -EINVAL, "capacity 0 refused");
	ok(mb == NULL, "no mailbox on error");
	is(mailbox_create(&mb, 5), 0, "create capacity 5");
	ok(mailbox_fd(mb) >= 0, "has an eventfd");
	ok(mailbox_take(mb) == NULL, "empty mailbox takes NULL");
	ok(!mailbox_post(mb, NULL), "NULL is not a message");

	while (n < 10 && mailbox_post(mb, &vals[n]))
		n++;
	ok(n >= 5 && n < 10, "at least capacity fit, and it fills (%u)", n);
	is(mailbox_depth(mb), n, "depth counts waiting messages");
	ok(!fd_readable(mailbox_fd(mb)), "a busy owner is not woken");
	ok(!mailbox_prepare_sleep(mb), "prepare_sleep refuses when messages wait");
	mailbox_woke(mb);
	bool fifo = true;
	for (unsigned i = 0; i < n; i++)
		fifo &= mailbox_take(mb) == &vals[i];
	ok(fifo, "messages come out in order");
	ok(mailbox_take(mb) == NULL, "then it is empty");
	is(mailbox_depth(mb), 0, "depth 0");

	ok(mailbox_prepare_sleep(mb), "prepare_sleep when empty");
	ok(!fd_readable(mailbox_fd(mb)), "nothing to read yet");
	ok(mailbox_post(mb, &vals[0]), "post to a sleeper");
	ok(fd_readable(mailbox_fd(mb)), "the sleeper's eventfd is readable");
	ok(mailbox_post(mb, &vals[1]), "second post");
	mailbox_woke(mb);
	ok(!fd_readable(mailbox_fd(mb)), "woke drained the eventfd");
	ok(mailbox_take(mb) == &vals[0] && mailbox_take(mb) == &vals[1],
	   "both messages taken");
	ok(mailbox_post(mb, &vals[2]), "post to an awake owner");
	ok(!fd_readable(mailbox_fd(mb)), "no eventfd write when awake");
	ok(mailbox_take(mb) == &vals[2], "taken");
	mailbox_destroy(mb);
	mailbox_destroy(NULL);
}

/* ---- stress: producers against one sleeping consumer ---------------- */

#define PRODUCERS 4
#define PER_PRODUCER 25000
#define BURST 64
#define SLEEP_TIMEOUT_MS 5000   /* only a lost wake-up can hit this */
#define STRESS_DEADLINE_MS 60000

struct msg {
	unsigned producer;
	unsigned seq;
	unsigned taken;         /* written by the consumer only */
	unsigned payload;       /* written by the producer before posting */
};

static struct mailbox *smb;
static struct msg *msgs;
static unsigned full_retries;

static void *producer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		struct msg *m = &msgs[id * PER_PRODUCER + i];

		m->producer = id;
		m->seq = i;
		m->payload = id * 1000003u + i;
		while (!mailbox_post(smb, m)) {
			ck_pr_inc_uint(&full_retries);
			sched_yield();
		}
		/* Pause between bursts so the consumer goes to sleep often. */
		if (i % BURST == BURST - 1) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

struct consumer_result {
	unsigned received, bad, out_of_order, timeouts, sleeps;
};

static void *consumer(void *arg)
{
	struct consumer_result *r = arg;
	unsigned next[PRODUCERS] = { 0 };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t end = clock_now_ms() + STRESS_DEADLINE_MS;

	epoll_ctl(ep, EPOLL_CTL_ADD, mailbox_fd(smb), &ev);
	while (r->received < PRODUCERS * PER_PRODUCER && clock_now_ms() < end) {
		struct msg *m;

		if (mailbox_prepare_sleep(smb)) {
			r->sleeps++;
			if (epoll_wait(ep, &ev, 1, SLEEP_TIMEOUT_MS) == 0 &&
			    mailbox_depth(smb) > 0)
				r->timeouts++; /* slept through a message */
		}
		mailbox_woke(smb);
		while ((m = mailbox_take(smb))) {
			r->received++;
			if (m->producer >= PRODUCERS || m->taken++ ||
			    m->payload != m->producer * 1000003u + m->seq)
				r->bad++;
			else if (m->seq != next[m->producer]++)
				r->out_of_order++;
		}
	}
	close(ep);
	return NULL;
}

static void test_stress(void)
{
	pthread_t prod[PRODUCERS], cons;
	struct consumer_result r = { 0 };
	uint64_t t0 = clock_now_ms();

	msgs = calloc(PRODUCERS * PER_PRODUCER, sizeof(*msgs));
	if (!msgs || mailbox_create(&smb, 256) != 0)
		bail_out("setup failed");
	pthread_create(&cons, NULL, consumer, &r);
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_create(&prod[i], NULL, producer, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	pthread_join(cons, NULL);

	is(r.received, PRODUCERS * PER_PRODUCER, "every message received");
	is(r.bad, 0, "each exactly once and intact");
	is(r.out_of_order, 0, "per-producer order kept");
	is(r.timeouts, 0, "no lost wake-up (no %d ms sleep with mail waiting)",
	   SLEEP_TIMEOUT_MS);
	ok(r.sleeps > 0, "the consumer really slept (%u times)", r.sleeps);
	is(mailbox_depth(smb), 0, "mailbox empty at the end");
	diag("stress: %u msgs in %llu ms, %u sleeps, %u full retries",
	     r.received, (unsigned long long)(clock_now_ms() - t0), r.sleeps,
	     full_retries);
	mailbox_destroy(smb);
	free(msgs);
}

int main(void)
{
	test_basics();
	test_stress();
	return done_testing();
}
