/*
 * daemon.c - start the real pulsemqd for a test and talk to it (daemon.h).
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define TD_START_TIMEOUT_MS 10000 /* sanitizer builds start slowly */
#define TD_MAX_ARGS 96

uint64_t td_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void td_diag_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	if (!f)
		return;
	while (fgets(line, sizeof line, f))
		printf("# | %s%s", line, strchr(line, '\n') ? "" : "\n");
	fclose(f);
	fflush(stdout);
}

int td_read_port_file(const char *path)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || buf[n - 1] != '\n')
		return -1; /* not written whole yet */
	int port = atoi(buf);
	return port > 0 && port < 65536 ? port : -1;
}


static pid_t td_spawn(struct td_daemon *d, const char *port_file,
                      const char *const *settings)
{
	const char *bin = getenv("PULSEMQD");
	const char *argv[TD_MAX_ARGS];
	char opts[2][1100];
	int argc = 0, no = 0;

	if (!bin)
		bin = "./pulsemqd";
	argv[argc++] = bin;
	if (d->conf_path[0]) {
		argv[argc++] = "-c";
		argv[argc++] = d->conf_path;
	}
	snprintf(opts[no], sizeof opts[no], "port_file=%s", port_file);
	argv[argc++] = "-o";
	argv[argc++] = opts[no++];
	snprintf(opts[no], sizeof opts[no], "data_dir=%s", d->data_dir);
	argv[argc++] = "-o";
	argv[argc++] = opts[no++];
	argv[argc++] = "-o";
	argv[argc++] = "listen=127.0.0.1";
	argv[argc++] = "-o";
	argv[argc++] = "port=0";
	for (size_t i = 0; settings && settings[i] && argc + 3 < TD_MAX_ARGS; i++) {
		argv[argc++] = "-o";
		argv[argc++] = settings[i];
	}
	argv[argc] = NULL;

	fflush(stdout);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int log = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	int null = open("/dev/null", O_RDONLY);
	if (log >= 0) {
		dup2(log, 1);
		dup2(log, 2);
	}
	if (null >= 0)
		dup2(null, 0);
	if (d->nofile > 0) {
		struct rlimit rl = { (rlim_t)d->nofile, (rlim_t)d->nofile };
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			fprintf(stderr, "setrlimit NOFILE %ld: %s\n", d->nofile, strerror(errno));
			_exit(127);
		}
	}
	execv(bin, (char *const *)argv);
	fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
	_exit(127);
}

static int td_launch(struct td_daemon *d, const char *const *settings)
{
	char port_file[600];
	snprintf(port_file, sizeof port_file, "%s/port", d->dir);
	unlink(port_file);
	d->exit_status = -1;
	d->pid = td_spawn(d, port_file, settings);
	if (d->pid < 0) {
		diag("fork: %s", strerror(errno));
		return -1;
	}
	uint64_t deadline = td_now_ms() + TD_START_TIMEOUT_MS;
	for (;;) {
		int st;
		d->port = td_read_port_file(port_file);
		if (d->port > 0)
			return 0;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			diag("pulsemqd exited during start-up (exit status %d); its log:",
			     d->exit_status);
			td_diag_file(d->log_path);
			d->pid = 0;
			return -1;
		}
		if (td_now_ms() > deadline) {
			diag("pulsemqd wrote no port file within %d ms; its log:",
			     TD_START_TIMEOUT_MS);
			td_diag_file(d->log_path);
			td_kill9(d);
			return -1;
		}
		/* Poll for the file: there is no event to wait on across exec. */
		poll(NULL, 0, 5);
	}
}

int td_start(struct td_daemon *d, const char *const *settings)
{
	return td_start_opts(d, NULL, settings);
}

static int td_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0) {
		diag("cannot write %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int td_start_opts(struct td_daemon *d, const struct td_opts *o, const char *const *settings)
{
	const char *tmp = getenv("PMQ_TEST_TMPDIR");
	memset(d, 0, sizeof *d);
	if (!tmp || !*tmp)
		tmp = "/tmp";
	mkdir(tmp, 0755);
	snprintf(d->dir, sizeof d->dir, "%s/pmqd.XXXXXX", tmp);
	if (!mkdtemp(d->dir)) {
		diag("mkdtemp %s: %s", d->dir, strerror(errno));
		return -1;
	}
	snprintf(d->data_dir, sizeof d->data_dir, "%s/data", d->dir);
	snprintf(d->log_path, sizeof d->log_path, "%s/log", d->dir);
	mkdir(d->data_dir, 0755);
	if (o && o->config_text) {
		snprintf(d->conf_path, sizeof d->conf_path, "%s/pulsemqd.conf", d->dir);
		if (td_write_file(d->conf_path, o->config_text) != 0)
			return -1;
	}
	d->nofile = o ? o->nofile : 0;
	return td_launch(d, settings);
}

int td_restart(struct td_daemon *d, const char *const *settings)
{
	return td_launch(d, settings);
}

static int td_wait_child(pid_t pid, int timeout_ms, int *status)
{
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		if (td_now_ms() > deadline)
			return -1;
		poll(NULL, 0, 2);
	}
}

int td_stop(struct td_daemon *d, int timeout_ms)
{
	int st = 0;
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	if (td_wait_child(d->pid, timeout_ms, &st) != 0) {
		diag("pulsemqd did not stop within %d ms; killing it; its log:", timeout_ms);
		td_diag_file(d->log_path);
		td_kill9(d);
		return -1;
	}
	d->pid = 0;
	if (!WIFEXITED(st)) {
		diag("pulsemqd died by signal %d; its log:", WTERMSIG(st));
		td_diag_file(d->log_path);
		return -1;
	}
	if (WEXITSTATUS(st) != 0) {
		diag("pulsemqd exited %d; its log:", WEXITSTATUS(st));
		td_diag_file(d->log_path);
	}
	return WEXITSTATUS(st);
}

int td_wait_exit(struct td_daemon *d, int timeout_ms)
{
	int st = 0;

	if (d->pid <= 0 || td_wait_child(d->pid, timeout_ms, &st) != 0)
		return -1;
	d->pid = 0;
	if (!WIFEXITED(st)) {
		diag("pulsemqd died by signal %d", WTERMSIG(st));
		return -1;
	}
	return WEXITSTATUS(st);
}

void td_kill9(struct td_daemon *d)
{
	int st;
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
}

static void td_rmtree(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	if (!dir) {
		unlink(path);
		return;
	}
	while ((e = readdir(dir))) {
		char sub[PATH_MAX];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		td_rmtree(sub);
	}
	closedir(dir);
	rmdir(path);
}

void td_cleanup(struct td_daemon *d)
{
	if (d->pid > 0)
		td_kill9(d);
	if (d->dir[0])
		td_rmtree(d->dir);
}

int td_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		diag("connect 127.0.0.1:%d: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

int td_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int td_sendf(int fd, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return -1;
	return td_send(fd, buf, (size_t)n);
}

void td_conn_init(struct td_conn *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
}

void td_conn_free(struct td_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->msg_bytes);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* Copies the decoded message's bytes so its views outlive the read buffer. */
static int td_keep_msg(struct td_conn *c, size_t used)
{
	char *copy = malloc(used ? used : 1);
	if (!copy)
		return -1;
	memcpy(copy, c->buf, used);
	ptrdiff_t shift = copy - c->buf;
	struct pmq_view *views[] = { &c->msg.topic, &c->msg.group, &c->msg.txkey,
	                             &c->msg.body, &c->msg.item, &c->msg.session_id,
	                             &c->msg.unique_qualifier, &c->msg.debug_verb,
	                             &c->msg.debug_pool };
	for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
		if (views[i]->ptr)
			views[i]->ptr += shift;
	free(c->msg_bytes);
	c->msg_bytes = copy;
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	return 0;
}

int td_conn_fill(struct td_conn *c, uint64_t deadline)
{
	if (c->cap - c->len < 65536) {
		size_t cap = c->cap ? c->cap * 2 : 131072;
		char *nb = realloc(c->buf, cap);
		if (!nb)
			return -1;
		c->buf = nb;
		c->cap = cap;
	}
	uint64_t now = td_now_ms();
	if (now >= deadline)
		return -1;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int r = poll(&pfd, 1, (int)(deadline - now));
	if (r <= 0)
		return -1;
	ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	return 1;
}

int td_read_msg(struct td_conn *c, int timeout_ms)
{
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;
	struct pmq_limits lim = { 1 << 16, 64u << 20 };
	for (;;) {
		size_t used = 0;
		struct pmq_decode_error err;
		if (c->len > 0) {
			enum pmq_decode_status s = pmq_decode_response(
				&lim, c->buf, c->len, &c->msg, &used, &err);
			if (s == PMQ_DECODE_OK)
				return td_keep_msg(c, used) == 0 ? 1 : -1;
			if (s == PMQ_DECODE_ERROR) {
				diag("undecodable response (%s): '%.*s'", err.text,
				     (int)(c->len > 80 ? 80 : c->len), c->buf);
				return -1;
			}
		}
		int r = td_conn_fill(c, deadline);
		if (r <= 0) {
			if (r < 0)
				diag("no whole response within %d ms (%zu bytes buffered)",
				     timeout_ms, c->len);
			return r == 0 && c->len == 0 ? 0 : -1;
		}
	}
}

int td_wait_closed(int fd, int timeout_ms)
{
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;
	char sink[4096];
	for (;;) {
		uint64_t now = td_now_ms();
		if (now >= deadline)
			return 0;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		ssize_t n = recv(fd, sink, sizeof sink, 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return 1;
	}
}

int td_roundtrip(struct td_conn *c, const char *req, size_t len, int timeout_ms)
{
	if (td_send(c->fd, req, len) != 0)
		return -1;
	return td_read_msg(c, timeout_ms);
}

long long td_stat(int port, const char *item, const char *key)
{
	struct td_conn c;
	long long value = -1;
	int fd = td_connect(port);
	char req[128];
	if (fd < 0)
		return -1;
	td_conn_init(&c, fd);
	int n = snprintf(req, sizeof req, "stats %s 7\r\n", item ? item : "");
	if (item == NULL || !*item)
		n = snprintf(req, sizeof req, "stats  7\r\n");
	/* The broker may heartbeat this connection before the answer comes
	 * (tests run with idle_timeout_ms of a few hundred ms, and a
	 * sanitized daemon is slow): skip its `version N`. */
	int got = td_send(c.fd, req, (size_t)n) == 0 ? td_read_msg(&c, 10000) : -1;
	for (int i = 0; got == 1 && c.msg.cmd != PMQ_CMD_RESULT && i < 8; i++)
		got = td_read_msg(&c, 10000);
	if (got == 1 && c.msg.cmd == PMQ_CMD_RESULT && c.msg.code == 200) {
		size_t klen = strlen(key);
		const char *p = c.msg.body.ptr, *end = p + c.msg.body.len;
		while (p < end) {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			if (!eol)
				break;
			if ((size_t)(eol - p) > klen && !memcmp(p, key, klen) && p[klen] == ' ')
				value = strtoll(p + klen + 1, NULL, 10);
			p = eol + 1;
		}
	}
	td_conn_free(&c);
	return value;
}
