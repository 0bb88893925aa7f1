/*
 * runtime.c - start and stop the runtime (runtime.h).
 *
 * Start: listeners first (a bind error reaches the terminal), then pools,
 * IO thread state, the timer thread, the IO threads, and last the port
 * file, which says "connections are accepted now".
 *
 * Stop (graceful, bounded):
 *   1. every IO thread closes its listener;
 *   2. each pool stops taking work and finishes what is queued (run, or 504
 *      past its deadline); answers reach the IO threads, which keep serving
 *      (a request decoded meanwhile gets 503 "shutting down");
 *   3. every IO thread stops reading, writes what its sessions are owed
 *      (at most SHUTDOWN_FLUSH_MS), closes them (counted as shutdown) and
 *      exits;
 *   4. the timer thread stops; replies still in flight from other threads
 *      (the store) are waited for, then dropped from now on;
 *   5. everything is freed.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/clock.h"
#include "server/runtime/listen.h"
#include "server/common/log.h"
#include "server/runtime/io.h"
#include "server/runtime/rt.h"
#include "server/runtime/runtime.h"
#include "server/runtime/timer.h"


struct runtime rt;
static bool running;

static const char *const pool_names[RT_POOL_COUNT] = { "get", "put", "heartbeat" };

const char *rt_pool_name(enum rt_pool p)
{
	return (unsigned)p < RT_POOL_COUNT ? pool_names[p] : "?";
}

static int write_port_file(const char *path, int port)
{
	char tmp[1100], line[16];
	int n = snprintf(line, sizeof(line), "%d\n", port);
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	if (fwrite(line, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
		unlink(tmp);
		return -EIO;
	}
	if (rename(tmp, path) != 0) {
		int err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

static void teardown(void)
{
	atomic_store(&rt.replies_open, false);
	while (atomic_load(&rt.replies_busy) > 0) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	for (unsigned i = 0; i < rt.nio; i++)
		if (rt.io[i])
			io_join(rt.io[i]);
	timer_destroy(rt.timer);
	rt.timer = NULL;
	for (unsigned i = 0; i < rt.nio; i++)
		io_destroy(rt.io[i]);
	free(rt.io);
	rt.io = NULL;
	rt.nio = 0;
	for (int p = 0; p < RT_POOL_COUNT; p++) {
		pool_destroy(rt.pools[p]);
		rt.pools[p] = NULL;
	}
}

/* One lane per IO thread: each submits only through its own. */
static int start_pools(const struct settings *cfg, unsigned nio)
{
	const int32_t threads[] = { cfg->get_threads, cfg->put_threads, cfg->heartbeat_threads };
	const int32_t queue[] = { cfg->get_queue_size, cfg->put_queue_size,
	                          cfg->heartbeat_queue_size };

	for (int p = 0; p < RT_POOL_COUNT; p++) {
		struct pool_config pc = {
			.name = pool_names[p],
			.threads = (unsigned)threads[p],
			.queue_size = (unsigned)queue[p],
			.timeout_ns = (uint64_t)cfg->request_timeout_ms * 1000000u,
			.lanes = nio,
		};
		int rc = pool_create(&rt.pools[p], &pc);
		if (rc != 0) {
			pmq_log(PMQ_LOG_ERROR, "cannot start the %s pool: %s", pool_names[p],
			        strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* admin_socket, on IO thread 0: few connections, no need to share it. */
static int open_admin(const struct settings *cfg)
{
	char err[256];
	int fd, rc;

	if (!cfg->admin_socket[0])
		return 0;
	rc = listen_open_unix(cfg->admin_socket, &fd, err, sizeof(err));
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "%s", err);
		return rc;
	}
	rc = io_add_admin(rt.io[0], fd);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "admin_socket: epoll: %s", strerror(-rc));
		close(fd);
		unlink(cfg->admin_socket);
		return rc;
	}
	rt.admin_open = true;
	return 0;
}

static void remove_admin(void)
{
	if (rt.admin_open)
		unlink(rt.cfg->admin_socket);
	rt.admin_open = false;
}

int runtime_start(const struct settings *cfg)
{
	char err[256];
	int *fds = NULL;
	unsigned nio;
	int rc;

	if (running)
		return -EALREADY;
	memset(&rt, 0, sizeof(rt));
	rt.cfg = cfg;
	rt.limits.max_line_bytes = (size_t)cfg->max_line_bytes;
	rt.limits.max_body_bytes = (size_t)cfg->max_body_bytes;
	rt.started_ms = clock_now_ms();
	atomic_store(&rt.replies_open, true);
	atomic_store(&rt.next_session_id, 1);

	nio = cfg->io_threads > 0 ? (unsigned)cfg->io_threads
	                          : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (nio < 1)
		nio = 1;
	if (nio > RT_IO_THREADS_MAX)
		nio = RT_IO_THREADS_MAX;
	fds = calloc(nio, sizeof(*fds));
	rt.io = calloc(nio, sizeof(*rt.io));
	if (!fds || !rt.io) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = listen_open_all(cfg->listen, cfg->port, nio, fds, &rt.port, err, sizeof(err));
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "%s", err);
		goto fail;
	}
	rc = start_pools(cfg, nio);
	if (rc != 0)
		goto fail_fds;
	for (unsigned i = 0; i < nio; i++) {
		rc = io_create(&rt.io[i], i, fds[i]);
		if (rc != 0) {
			pmq_log(PMQ_LOG_ERROR, "cannot create IO thread %u: %s", i, strerror(-rc));
			rt.nio = i;
			for (unsigned j = i; j < nio; j++)
				close(fds[j]);
			goto fail;
		}
	}
	rt.nio = nio;
	rc = open_admin(cfg);
	if (rc != 0)
		goto fail;
	rc = timer_create_thread(&rt.timer);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "cannot start the timer thread: %s", strerror(-rc));
		goto fail;
	}
	for (unsigned i = 0; i < nio; i++) {
		rc = io_start(rt.io[i]);
		if (rc != 0) {
			pmq_log(PMQ_LOG_ERROR, "cannot start IO thread %u: %s", i, strerror(-rc));
			goto fail_started;
		}
	}
	free(fds);
	running = true;
	if (cfg->port_file[0]) {
		rc = write_port_file(cfg->port_file, rt.port);
		if (rc != 0) {
			pmq_log(PMQ_LOG_ERROR, "cannot write port_file '%s': %s", cfg->port_file,
			        strerror(-rc));
			runtime_stop();
			return rc;
		}
	}
	pmq_log(PMQ_LOG_INFO, "runtime: %u IO threads, pools get %d/%d put %d/%d "
	        "heartbeat %d/%d (threads/queue)", nio, cfg->get_threads,
	        cfg->get_queue_size, cfg->put_threads, cfg->put_queue_size,
	        cfg->heartbeat_threads, cfg->heartbeat_queue_size);
	return 0;

fail_started:
	for (unsigned i = 0; i < rt.nio; i++)
		if (rt.io[i])
			io_post_ctrl(rt.io[i], IOC_DRAIN);
	goto fail;
fail_fds:
	for (unsigned i = 0; i < nio; i++)
		close(fds[i]);
fail:
	free(fds);
	teardown();
	remove_admin();
	return rc;
}

int runtime_bound_port(void)
{
	return rt.port;
}

void runtime_stop(void)
{
	if (!running)
		return;
	running = false;
	for (unsigned i = 0; i < rt.nio; i++)
		io_post_ctrl(rt.io[i], IOC_STOP_ACCEPT);
	for (int p = 0; p < RT_POOL_COUNT; p++)
		pool_stop(rt.pools[p]);
	for (unsigned i = 0; i < rt.nio; i++)
		io_post_ctrl(rt.io[i], IOC_DRAIN);
	for (unsigned i = 0; i < rt.nio; i++)
		io_join(rt.io[i]);
	timer_stop(rt.timer);
	teardown();
	if (rt.cfg->port_file[0])
		unlink(rt.cfg->port_file);
	remove_admin();
	pmq_log(PMQ_LOG_INFO, "runtime stopped");
}
