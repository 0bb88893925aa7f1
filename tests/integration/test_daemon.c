/*
 * test_daemon.c - pulsemqd as a process: -d with its handshake, the pidfile,
 * signals, exit statuses and what reaches stderr, against the real binary.
 *
 * The test makes itself a child subreaper (Linux), so a daemon that the -d
 * parent leaves behind is re-parented to us and its exit status can be
 * collected with waitpid() like any child's.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

/* Deadlines only guard against hangs: sanitizer builds start slowly. */
#define START_MS 20000
#define STOP_MS 20000
#define MAX_ARGS 40

static char dir[512];
static const char *bin;

static void path_in(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

/* Starts bin with args (NULL-terminated, after argv[0]) in cwd (NULL: ours),
 * stdout and stderr to files in dir. */
static pid_t spawn(const char *const *args, const char *cwd, const char *tag)
{
	const char *argv[MAX_ARGS];
	char out[600], err[600];
	int argc = 0;

	argv[argc++] = bin;
	for (size_t i = 0; args[i] && argc < MAX_ARGS - 1; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	snprintf(out, sizeof out, "%s/%s.out", dir, tag);
	snprintf(err, sizeof err, "%s/%s.err", dir, tag);
	fflush(stdout);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int n = open("/dev/null", O_RDONLY);
	if (o < 0 || e < 0 || n < 0 || dup2(n, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		_exit(126);
	close(o);
	close(e);
	close(n);
	if (cwd && chdir(cwd) != 0)
		_exit(126);
	execv(bin, (char *const *)argv);
	_exit(127);
}

/* The exit status, 128 + signal for a signal, -1 on timeout (then killed). */
static int wait_exit(pid_t pid, int timeout_ms)
{
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return -1;
		if (td_now_ms() > deadline) {
			diag("pid %ld did not exit within %d ms; killing it", (long)pid, timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		poll(NULL, 0, 5); /* no event to wait on for a child's exit */
	}
}

/* Runs to completion: the exit status. */
static int run(const char *const *args, const char *tag)
{
	pid_t pid = spawn(args, NULL, tag);
	return pid < 0 ? -1 : wait_exit(pid, START_MS);
}

/* The whole file as a string ("" when missing); static buffer. */
static const char *slurp(const char *name)
{
	static char buf[8192];
	char path[600];
	path_in(path, sizeof path, name);
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return buf;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static long read_number(const char *name)
{
	const char *s = slurp(name);
	return *s ? strtol(s, NULL, 10) : -1;
}

static bool exists(const char *name)
{
	char path[600];
	path_in(path, sizeof path, name);
	return access(path, F_OK) == 0;
}

/* Common settings of a daemon in dir; extra ones after. */
#define DAEMON_ARGS(pidfile, portfile, logname) \
	"-o", "listen=127.0.0.1", "-p", "0", "-D", data_dir, "-P", pidfile, \
	"-o", portfile, "-o", logname

static char data_dir[600], pidfile[600], port_opt[640], log_opt[640];

static void test_version_help_and_config_errors(void)
{
	is(run((const char *const[]){ "-V", NULL }, "version"), 0, "-V exits 0");
	char want[64];
	snprintf(want, sizeof want, "pulsemqd %s\n", PACKAGE_VERSION);
	is_str(slurp("version.out"), want, "-V prints 'pulsemqd VERSION'");

	is(run((const char *const[]){ "-h", NULL }, "help"), 0, "-h exits 0");
	ok(strstr(slurp("help.out"), "usage: pulsemqd") &&
	   strstr(slurp("help.out"), "  io_threads = 0"), "-h prints usage and the key table");

	is(run((const char *const[]){ "-o", "io_thread=4", NULL }, "badkey"), 2,
	   "an unknown key exits 2");
	ok(strstr(slurp("badkey.err"), "unknown key 'io_thread' (did you mean 'io_threads'?)") != NULL,
	   "an unknown key: the exact message on stderr");
	is(run((const char *const[]){ "-d", "-o", "io_thread=4", NULL }, "badkey_d"), 2,
	   "an unknown key exits 2 with -d too");
	ok(strstr(slurp("badkey_d.err"), "unknown key 'io_thread' (did you mean 'io_threads'?)") != NULL,
	   "an unknown key with -d: the message on stderr");
	is(run((const char *const[]){ "-o", "get_threads=0", NULL }, "badval"), 2,
	   "a value out of range exits 2");
	ok(strstr(slurp("badval.err"), "expected an integer from 1 to 1024") != NULL,
	   "a value out of range: the range on stderr");
	is(run((const char *const[]){ "-o", "max_body_bytes=1M", "-o", "max_transfer_bytes=1M",
	                              NULL }, "badtransfer"), 2,
	   "max_transfer_bytes below max_body_bytes + 20 exits 2");
	ok(strstr(slurp("badtransfer.err"), "max_transfer_bytes (1048576) must be at least "
	          "max_body_bytes (1048576) + 20") != NULL,
	   "... with a message naming both settings");
	is(run((const char *const[]){ "-x", NULL }, "badopt"), 2, "an unknown option exits 2");
	ok(strstr(slurp("badopt.err"), "usage: pulsemqd") != NULL, "an unknown option: usage on stderr");

	char ini[600], cfile[640];
	path_in(ini, sizeof ini, "bad.ini");
	FILE *f = fopen(ini, "w");
	if (f) {
		fputs("[system]\nport = 0\nio_thread = 2\n", f);
		fclose(f);
	}
	is(run((const char *const[]){ "-c", ini, NULL }, "badini"), 2, "a bad config file exits 2");
	snprintf(cfile, sizeof cfile, "%s:3: unknown key 'io_thread'", ini);
	ok(strstr(slurp("badini.err"), cfile) != NULL, "a bad config file: FILE:LINE on stderr");
}

static void test_daemonize(void)
{
	const char *const args[] = { DAEMON_ARGS(pidfile, port_opt, log_opt), "-d", NULL };
	pid_t parent = spawn(args, NULL, "d1");
	int st = wait_exit(parent, START_MS);
	is(st, 0, "-d: the parent exits 0 once the daemon is ready");
	if (st != 0)
		diag("stderr: %s", slurp("d1.err"));
	/* No waiting from here on: the handshake promises all of it is done. */
	ok(exists("port"), "-d: port_file exists when the parent returns");
	long pid = read_number("pid");
	ok(pid > 0 && pid != (long)parent, "-d: the pidfile names the daemon, not the parent");
	ok(pid > 0 && kill((pid_t)pid, 0) == 0, "-d: the pidfile names a live process");
	ok(pid > 0 && getsid((pid_t)pid) == (pid_t)pid, "-d: the daemon leads its own session");
	long port = read_number("port");
	int fd = port > 0 ? td_connect((int)port) : -1;
	ok(fd >= 0, "-d: the daemon accepts connections on port %ld", port);
	if (fd >= 0)
		close(fd);
	is_str(slurp("d1.err"), "", "-d: nothing on stderr after a good start");

	/* A second daemon with the same pidfile is refused, in either mode. */
	char port2[640];
	snprintf(port2, sizeof port2, "port_file=%s/port2", dir);
	const char *const second[] = { DAEMON_ARGS(pidfile, port2, log_opt), "-d", NULL };
	is(run(second, "d2"), 1, "a second -d start with a live pidfile exits 1");
	char want[128];
	snprintf(want, sizeof want, "names running process %ld", pid);
	ok(strstr(slurp("d2.err"), want) != NULL, "the refusal reaches the terminal");
	const char *const second_fg[] = { DAEMON_ARGS(pidfile, port2, log_opt), NULL };
	is(run(second_fg, "d3"), 1, "a second foreground start with a live pidfile exits 1");
	ok(strstr(slurp("d3.err"), want) != NULL, "the refusal is on stderr");
	ok(!exists("port2"), "the refused daemon never listened");
	is(read_number("pid"), pid, "the refused daemon left the pidfile alone");

	/* SIGTERM: exit 0, pidfile removed. We are the subreaper: it is our child. */
	if (pid > 0)
		kill((pid_t)pid, SIGTERM);
	is(pid > 0 ? wait_exit((pid_t)pid, STOP_MS) : -1, 0, "SIGTERM: the daemon exits 0");
	ok(!exists("pid"), "SIGTERM: the pidfile is removed");
}

static void test_stale_pidfile_and_relative_paths(void)
{
	/* A pid that surely is not running: a child we have reaped. */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	FILE *f = fopen(pidfile, "w");
	if (f) {
		fprintf(f, "%ld\n", (long)dead);
		fclose(f);
	}
	/* Relative paths, resolved against the directory pulsemqd started in
	 * although the daemon works from "/". */
	const char *const args[] = { "-o", "listen=127.0.0.1", "-p", "0", "-D", "data", "-P", "pid",
	                             "-o", "port_file=port", "-o", "log_file=log", "-d", NULL };
	pid_t parent = spawn(args, dir, "stale");
	is(wait_exit(parent, START_MS), 0, "a stale pidfile does not stop a start");
	long pid = read_number("pid");
	ok(pid > 0 && pid != (long)dead, "the stale pidfile was replaced by the daemon's pid");
	ok(exists("port"), "a relative port_file lands in the start directory");
	ok(strstr(slurp("log"), "listening on 127.0.0.1:") != NULL,
	   "a relative log_file lands there too and says where it listens");

	/* SIGHUP reopens the log by name: move it away, signal, see a new one. */
	char log[600], rotated[600];
	path_in(log, sizeof log, "log");
	path_in(rotated, sizeof rotated, "log.1");
	rename(log, rotated);
	if (pid > 0)
		kill((pid_t)pid, SIGHUP);
	uint64_t deadline = td_now_ms() + START_MS;
	while (!strstr(slurp("log"), "log reopened") && td_now_ms() < deadline)
		poll(NULL, 0, 10); /* the new file is the event; nothing to block on */
	ok(strstr(slurp("log"), "log reopened") != NULL, "SIGHUP: the log is reopened by name");

	if (pid > 0)
		kill((pid_t)pid, SIGINT);
	is(pid > 0 ? wait_exit((pid_t)pid, STOP_MS) : -1, 0, "SIGINT: the daemon exits 0");
	ok(!exists("pid"), "SIGINT: the pidfile is removed");
	ok(strstr(slurp("log"), "pulsemqd stopped") != NULL, "the log says it stopped");
	unlink(log);
	unlink(rotated);
}

/* A listening socket on 127.0.0.1 that pulsemqd cannot bind over. */
static int occupy_port(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_bind_failure(void)
{
	int port = 0, fd = occupy_port(&port);
	char port_arg[16];
	ok(fd >= 0, "a port is occupied for the test");
	snprintf(port_arg, sizeof port_arg, "%d", port);

	const char *const fg[] = { "-o", "listen=127.0.0.1", "-p", port_arg, "-D", data_dir,
	                           "-P", pidfile, "-o", log_opt, NULL };
	int st = run(fg, "bind_fg");
	ok(st > 0 && st < 128, "a bind failure exits non-zero (%d)", st);
	ok(strstr(slurp("bind_fg.err"), "Address already in use") != NULL,
	   "a bind failure reaches stderr");
	ok(!exists("pid"), "a failed start leaves no pidfile");

	const char *const bg[] = { "-o", "listen=127.0.0.1", "-p", port_arg, "-D", data_dir,
	                           "-P", pidfile, "-o", log_opt, "-d", NULL };
	st = run(bg, "bind_d");
	ok(st > 0 && st < 128, "a bind failure with -d: the parent exits non-zero (%d)", st);
	ok(strstr(slurp("bind_d.err"), "Address already in use") != NULL,
	   "a bind failure with -d reaches the terminal through the handshake");
	ok(!exists("pid"), "a failed -d start leaves no pidfile");
	if (fd >= 0)
		close(fd);
}

/* With a systemd watchdog (WATCHDOG_USEC, no NOTIFY_SOCKET: sd_notify is a
 * no-op) the main thread wakes every 50 ms to check liveness and ping; it
 * must still serve and stop cleanly. */
static void test_watchdog_loop(void)
{
	char port3[640];
	snprintf(port3, sizeof port3, "port_file=%s/port3", dir);
	const char *const args[] = { DAEMON_ARGS(pidfile, port3, log_opt), NULL };
	setenv("WATCHDOG_USEC", "100000", 1);
	pid_t pid = spawn(args, NULL, "watchdog");
	unsetenv("WATCHDOG_USEC");
	uint64_t deadline = td_now_ms() + START_MS;
	while (!exists("port3") && td_now_ms() < deadline && waitpid(pid, NULL, WNOHANG) == 0)
		poll(NULL, 0, 5); /* the port file is the event */
	ok(exists("port3"), "watchdog enabled: the daemon starts");
	/* Ten watchdog periods: a duration under test, not a synchronisation. */
	poll(NULL, 0, 500);
	ok(kill(pid, 0) == 0 && waitpid(pid, NULL, WNOHANG) == 0,
	   "watchdog enabled: still running after ten wake-ups");
	long port = read_number("port3");
	int fd = port > 0 ? td_connect((int)port) : -1;
	ok(fd >= 0, "watchdog enabled: still accepting");
	if (fd >= 0)
		close(fd);
	kill(pid, SIGTERM);
	is(wait_exit(pid, STOP_MS), 0, "watchdog enabled: SIGTERM still ends it with 0");
}

/* The harness's own way: foreground, SIGTERM, exit status 0. */
static void test_foreground_stop(void)
{
	struct td_daemon d;
	ok(td_start(&d, NULL) == 0, "td_start: a foreground daemon starts");
	is(td_stop(&d, STOP_MS), 0, "td_stop: SIGTERM ends it with exit status 0");
	td_cleanup(&d);
}

int main(void)
{
	const char *tmp = getenv("PMQ_TEST_TMPDIR");
	bin = getenv("PULSEMQD");
	if (!bin)
		bail_out("PULSEMQD is not set (run through make check)");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		bail_out("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	snprintf(dir, sizeof dir, "%s/test_daemon.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		bail_out("mkdtemp %s: %s", dir, strerror(errno));
	path_in(data_dir, sizeof data_dir, "data");
	path_in(pidfile, sizeof pidfile, "pid");
	snprintf(port_opt, sizeof port_opt, "port_file=%s/port", dir);
	snprintf(log_opt, sizeof log_opt, "log_file=%s/daemon.log", dir);
	mkdir(data_dir, 0755);

	test_version_help_and_config_errors();
	test_daemonize();
	test_stale_pidfile_and_relative_paths();
	test_bind_failure();
	test_watchdog_loop();
	test_foreground_stop();

	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
