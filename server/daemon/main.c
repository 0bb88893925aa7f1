/*
 * main.c - pulsemqd: load the config, start, wait for a signal, stop.
 *
 * Signals: SIGTERM, SIGINT, SIGHUP and SIGUSR1 are blocked here before any thread
 * exists, so every thread inherits the mask and only this thread receives
 * them, synchronously, in sigwaitinfo(). No handler runs, so nothing
 * async-signal-unsafe can happen in one. SIGPIPE is ignored process-wide:
 * a peer that goes away is seen as EPIPE by the writer.
 *
 * Drain (protocol.md "Administration and availability"): SIGTERM with
 * shutdown_drain_ms > 0, or `admin drain MS` (whose processor raises
 * SIGUSR1 to wake this thread), makes the broker unavailable and waits here
 * until it is drained or the time is up, then stops as usual. SIGINT stops
 * at once, also during a drain; SIGTERM during a drain may only shorten it.
 *
 * Exit status: 0 clean stop; 1 start-up failed at run time (log, pidfile in
 * use, store, bind); 2 usage or configuration error; 3 recovery refused to
 * touch the data without the operator (store.h: -EUCLEAN), so that a
 * supervisor can stop restarting (the unit's RestartPreventExitStatus).
 * --scrub exits with store_service_scrub()'s status instead.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/clock.h"
#include "server/daemon/config.h"
#include "server/daemon/daemon.h"
#include "server/daemon/liveness.h"
#include "server/common/log.h"
#include "server/metrics/metrics.h"
#include "server/metrics/stats.h"
#include "server/runtime/runtime.h"
#include "server/daemon/notify.h"
#include "server/daemon/status.h"
#include "server/broker/broker.h"

#define EXIT_RUNTIME 1
#define EXIT_CONFIG 2
#define EXIT_DATA 3

/* A stop that has not finished after this long is cut short by SIGALRM
 * (default action: terminate). runtime_stop() is bounded by itself; this is
 * the backstop that keeps `systemctl stop` and the tests from hanging. */
#define SHUTDOWN_DEADLINE_S 30

/* Relative paths would change meaning after chdir("/"). */
static int absolute_paths(struct settings *cfg)
{
	char *paths[] = { cfg->data_dir, cfg->pidfile, cfg->port_file, cfg->log_file };
	size_t caps[] = { sizeof cfg->data_dir, sizeof cfg->pidfile, sizeof cfg->port_file,
	                  sizeof cfg->log_file };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		if (paths[i] == cfg->log_file && strcmp(cfg->log_file, "syslog") == 0)
			continue;
		int rc = daemon_absolute_path(paths[i], caps[i]);
		if (rc != 0) {
			fprintf(stderr, "pulsemqd: cannot make '%s' absolute: %s\n", paths[i],
			        strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* `stats config`: the settings as the table writes them. */
static const struct settings *stats_cfg;

static void config_lines(struct sbuf *out)
{
	config_format_stats(stats_cfg, out);
}

/* STATUS= for `systemctl status`: connections and ops/s (status.h). */
static void status_update(void)
{
	char line[256];

	status_line(line, sizeof line);
	notify_status(line);
}

/* WATCHDOG=1 only while the runtime makes progress (liveness.h): a wedged
 * broker whose main thread alone still runs must be restarted. */
static void watchdog_ping(void)
{
	static bool stuck;
	char why[256];

	if (liveness_check(why, sizeof why)) {
		if (stuck)
			pmq_log(PMQ_LOG_WARN, "watchdog: progress again");
		stuck = false;
		notify_watchdog();
		status_update();
		return;
	}
	if (!stuck)
		pmq_log(PMQ_LOG_WARN, "watchdog: not pinging systemd: %s", why);
	stuck = true;
	notify_status(why);
}

/* Without a systemd watchdog the main thread still wakes this often (it
 * costs nothing and keeps the loop honest). */
#define IDLE_WAKE_MS 60000

/* `admin drain` (a heartbeat worker): wake the main thread, which waits in
 * sigtimedwait with every thread's mask blocking SIGUSR1. */
static void drain_wake(void)
{
	kill(getpid(), SIGUSR1);
}

static void reopen_log(void)
{
	int rc = log_reopen();

	if (rc != 0)
		pmq_log(PMQ_LOG_ERROR, "SIGHUP: cannot reopen the log: %s", strerror(-rc));
	else
		pmq_log(PMQ_LOG_INFO, "SIGHUP: log reopened");
}

/* How often a drain looks whether it is done. */
#define DRAIN_POLL_MS 50

/* Draining: until drained, the deadline, or SIGINT. The watchdog is still
 * pinged: a drain may outlast WatchdogSec. */
static void wait_for_drain(const sigset_t *set, const struct settings *cfg)
{
	struct timespec ts = { 0, DRAIN_POLL_MS * 1000000L };
	int64_t wd_ms = notify_watchdog_interval_ms();
	uint64_t next_wd = clock_now_ms() + (uint64_t)(wd_ms > 0 ? wd_ms : 0);

	status_update();
	for (;;) {
		uint64_t now = clock_now_ms();
		if (availability_drained(now)) {
			pmq_log(PMQ_LOG_INFO, "drain: no producer left and no put for a second: "
			        "stopping");
			return;
		}
		if (now >= availability_drain_deadline_ms()) {
			pmq_log(PMQ_LOG_INFO, "drain: time is up with %llu producer sessions left: "
			        "stopping", (unsigned long long)runtime_counter_total(ST_SESS_PRODUCERS));
			return;
		}
		if (wd_ms > 0 && now >= next_wd) {
			watchdog_ping();
			next_wd = now + (uint64_t)wd_ms;
		}
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &ts);
		if (sig == SIGINT) {
			pmq_log(PMQ_LOG_INFO, "drain: SIGINT: stopping at once");
			return;
		}
		if (sig == SIGTERM)
			availability_drain(cfg->shutdown_drain_ms, "SIGTERM");
		else if (sig == SIGHUP)
			reopen_log();
	}
}

/* Waits for SIGTERM/SIGINT (or SIGUSR1: a drain began); SIGHUP reopens the log; pings the systemd
 * watchdog when it is enabled. Returns the signal. */
static int wait_for_stop(const sigset_t *set)
{
	int64_t wake_ms = notify_watchdog_interval_ms();
	bool watchdog = wake_ms > 0;
	if (!watchdog)
		wake_ms = IDLE_WAKE_MS;
	struct timespec ts = { .tv_sec = wake_ms / 1000, .tv_nsec = (wake_ms % 1000) * 1000000L };

	for (;;) {
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &ts);
		if (sig < 0) {
			if (errno == EAGAIN && watchdog)
				watchdog_ping();
			else if (errno == EAGAIN)
				status_update();
			else if (errno != EAGAIN && errno != EINTR)
				pmq_log(PMQ_LOG_ERROR, "sigtimedwait: %s", strerror(errno));
			continue;
		}
		if (sig == SIGHUP) {
			notify_reloading();
			reopen_log();
			notify_ready(NULL);
			continue;
		}
		if (sig == SIGUSR1 && availability_state() != AVAIL_DRAINING)
			continue; /* not ours: only a drain raises it */
		return sig;
	}
}

int main(int argc, char **argv)
{
	struct settings cfg;
	char err[1024];
	sigset_t set;
	bool store_started = false, runtime_started = false, metrics_started = false;
	bool registry_started = false;
	bool pidfile_written = false;
	int status = EXIT_RUNTIME, rc;

	rc = config_load(&cfg, argc, argv, err, sizeof err);
	if (rc == 1)
		return 0;
	if (rc != 0) {
		fprintf(stderr, "pulsemqd: %s\n", err);
		return EXIT_CONFIG;
	}
	if (cfg.scrub) {
		status = store_service_scrub(&cfg);
		config_free(&cfg);
		return status;
	}
	if (cfg.daemonize && absolute_paths(&cfg) != 0) {
		config_free(&cfg);
		return EXIT_RUNTIME;
	}

	const char *log_path = cfg.log_file[0] ? cfg.log_file : cfg.daemonize ? "syslog" : "";
	rc = log_open(log_path, (enum pmq_log_level)log_level_parse(cfg.log_level));
	if (rc != 0) {
		fprintf(stderr, "pulsemqd: cannot open log '%s': %s\n", log_path, strerror(-rc));
		config_free(&cfg);
		return EXIT_RUNTIME;
	}
	/* Until ready, warnings and errors also reach the terminal (or, once
	 * daemonised, the parent waiting on the handshake pipe). */
	log_copy_to_stderr(1);

	if (cfg.daemonize) {
		rc = daemon_start(); /* only the child returns */
		if (rc != 0) {
			pmq_log(PMQ_LOG_ERROR, "cannot daemonise: %s", strerror(-rc));
			goto out;
		}
	}

	/* Before any thread exists: see the top of the file. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The pidfile comes before the store: a second daemon on the same files
	 * must be refused before it recovers (truncates) segments in use. */
	if (cfg.pidfile[0]) {
		rc = pidfile_create(cfg.pidfile, err, sizeof err);
		if (rc != 0) {
			pmq_log(PMQ_LOG_ERROR, "%s", err);
			goto out;
		}
		pidfile_written = true;
	}
	rc = store_service_start(&cfg);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "cannot start the store in '%s': %s", cfg.data_dir,
		        strerror(-rc));
		if (rc == -EUCLEAN)
			status = EXIT_DATA;
		goto out;
	}
	store_started = true;
	stats_cfg = &cfg;
	stats_set_config_source(config_lines);
	rc = proc_stats_register();
	if (rc == 0)
		rc = availability_start(&cfg);
	availability_on_drain(drain_wake);
	if (rc == 0)
		rc = runtime_start(&cfg);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "cannot start serving on %s:%d: %s", cfg.listen, cfg.port,
		        strerror(-rc));
		goto out;
	}
	runtime_started = true;
	rc = registry_start(&cfg, runtime_bound_port()); /* logs its own reason */
	if (rc != 0)
		goto out;
	registry_started = true;
	rc = metrics_start(&cfg); /* logs its own reason */
	if (rc != 0)
		goto out;
	metrics_started = true;
	pmq_log(PMQ_LOG_INFO, "pulsemqd %s listening on %s:%d", PACKAGE_VERSION, cfg.listen,
	        runtime_bound_port());
	log_copy_to_stderr(0);
	notify_ready(NULL);
	daemon_ready();

	int sig = wait_for_stop(&set);
	if (sig == SIGTERM && cfg.shutdown_drain_ms > 0)
		availability_drain(cfg.shutdown_drain_ms, "SIGTERM");
	const char *why = sig == SIGUSR1 ? "admin drain" : strsignal(sig);
	if (sig != SIGINT && availability_state() == AVAIL_DRAINING) {
		uint64_t now = clock_now_ms(), end = availability_drain_deadline_ms();
		pmq_log(PMQ_LOG_INFO, "%s: draining for at most %llu ms", why,
		        (unsigned long long)(end > now ? end - now : 0));
		wait_for_drain(&set, &cfg);
	}
	alarm(SHUTDOWN_DEADLINE_S);
	pmq_log(PMQ_LOG_INFO, "%s: stopping", why);
	notify_stopping();
	status = 0;
out:
	if (metrics_started)
		metrics_stop(); /* before runtime_stop: no scrape of a runtime going away */
	if (registry_started)
		registry_stop(); /* clients leave before the sockets close */
	if (runtime_started)
		runtime_stop();
	if (store_started)
		store_service_stop();
	if (pidfile_written)
		pidfile_remove(cfg.pidfile);
	if (status == 0)
		pmq_log(PMQ_LOG_INFO, "pulsemqd stopped");
	log_close();
	config_free(&cfg);
	return status;
}
