/*
 * zk_util.h - a real ZooKeeper server for the registry tests, and the C
 * client to look at its nodes.
 *
 * The server is Debian's `zookeeper` package run by hand:
 * `java -cp /usr/share/java/zookeeper.jar ...ZooKeeperServerMain CONFIG`,
 * with a private config (loopback only, a free port, a temp data dir, a
 * short tick so short session timeouts are allowed), stopped by its PID.
 * $PMQ_ZK_CLASSPATH and $JAVA override the jar and the JVM. A test that
 * needs ZooKeeper and cannot start it fails (the caller bails out).
 */
#ifndef PMQ_ZK_UTIL_H
#define PMQ_ZK_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <zookeeper/zookeeper.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define ZKS_JAR "/usr/share/java/zookeeper.jar"
#define ZKS_START_MS 90000 /* a JVM on a loaded 2-core machine */
#define ZKS_STOP_MS 20000

struct zk_server {
	pid_t pid;
	int port;
	char dir[512];
	char connect[64]; /* "127.0.0.1:PORT" */
};

static inline int zks_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* "ruok" answered "imok": the server serves. */
static inline bool zks_ruok(int port)
{
	int fd = td_connect(port);
	char buf[8] = "";
	bool ok = false;

	if (fd < 0)
		return false;
	if (td_send(fd, "ruok", 4) == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 2000) > 0 && read(fd, buf, 4) == 4)
			ok = memcmp(buf, "imok", 4) == 0;
	}
	close(fd);
	return ok;
}

static inline int zks_launch(struct zk_server *z)
{
	const char *cp = getenv("PMQ_ZK_CLASSPATH");
	const char *java = getenv("JAVA");
	char cfg[600], log[600];

	if (!cp)
		cp = ZKS_JAR;
	if (!java)
		java = "java";
	if (access(cp, R_OK) != 0) {
		diag("ZooKeeper jar %s: %s (apt-get install zookeeper)", cp, strerror(errno));
		return -1;
	}
	snprintf(cfg, sizeof cfg, "%s/zoo.cfg", z->dir);
	snprintf(log, sizeof log, "%s/zk.log", z->dir);
	fflush(stdout);
	z->pid = fork();
	if (z->pid < 0)
		return -1;
	if (z->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(java, java, "-Xmx256m", "-cp", cp,
		       "org.apache.zookeeper.server.ZooKeeperServerMain", cfg, (char *)NULL);
		fprintf(stderr, "exec %s: %s (apt-get install default-jre-headless)\n", java,
		        strerror(errno));
		_exit(127);
	}
	uint64_t end = td_now_ms() + ZKS_START_MS;
	while (td_now_ms() < end) {
		int st;
		if (waitpid(z->pid, &st, WNOHANG) == z->pid) {
			diag("ZooKeeper exited during start-up; its log (%s):", log);
			z->pid = 0;
			return -1;
		}
		if (zks_ruok(z->port))
			return 0;
		poll(NULL, 0, 100);
	}
	diag("ZooKeeper did not answer ruok within %d ms", ZKS_START_MS);
	kill(z->pid, SIGKILL);
	waitpid(z->pid, NULL, 0);
	z->pid = 0;
	return -1;
}

/* A fresh server on a free loopback port, data in a temp dir. */
static inline int zks_start(struct zk_server *z)
{
	const char *base = getenv("PMQ_TEST_TMPDIR");
	char cfg[600];
	FILE *f;

	memset(z, 0, sizeof *z);
	snprintf(z->dir, sizeof z->dir, "%s/zk.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(z->dir))
		return -1;
	z->port = zks_free_port();
	snprintf(z->connect, sizeof z->connect, "127.0.0.1:%d", z->port);
	snprintf(cfg, sizeof cfg, "%s/zoo.cfg", z->dir);
	f = fopen(cfg, "w");
	if (!f)
		return -1;
	/* tickTime 250: sessions from 500 ms are allowed (2 ticks), so
	 * expiry tests take seconds, not the default 30. */
	fprintf(f, "tickTime=250\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
	        "admin.enableServer=false\n4lw.commands.whitelist=ruok,stat\n"
	        "minSessionTimeout=500\nmaxSessionTimeout=60000\n", z->dir, z->port);
	fclose(f);
	return zks_launch(z);
}

/* Stops it by its PID (SIGTERM, then SIGKILL after ZKS_STOP_MS). */
static inline void zks_stop(struct zk_server *z)
{
	if (z->pid <= 0)
		return;
	kill(z->pid, SIGTERM);
	uint64_t end = td_now_ms() + ZKS_STOP_MS;
	while (waitpid(z->pid, NULL, WNOHANG) != z->pid) {
		if (td_now_ms() > end) {
			kill(z->pid, SIGKILL);
			waitpid(z->pid, NULL, 0);
			break;
		}
		poll(NULL, 0, 20);
	}
	z->pid = 0;
}

/* Same port, same data: the sessions it knew come back with it. */
static inline int zks_restart(struct zk_server *z)
{
	return zks_launch(z);
}

static inline void zks_cleanup(struct zk_server *z)
{
	char cmd[600];
	zks_stop(z);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", z->dir);
	if (z->dir[0] && system(cmd) != 0)
		diag("could not remove %s", z->dir);
}

/* ---- the client side ------------------------------------------------------ */

static inline zhandle_t *zkc_open(const char *connect)
{
	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	zhandle_t *zh = zookeeper_init(connect, NULL, 10000, NULL, NULL, 0);
	uint64_t end = td_now_ms() + 30000;

	while (zh && zoo_state(zh) != ZOO_CONNECTED_STATE && td_now_ms() < end)
		poll(NULL, 0, 20);
	if (zh && zoo_state(zh) != ZOO_CONNECTED_STATE) {
		zookeeper_close(zh);
		zh = NULL;
	}
	return zh;
}

/* A node: ZOK with its data (NUL-terminated) and stat, or the error. */
static inline int zkc_get(zhandle_t *zh, const char *path, char *buf, size_t cap,
                          struct Stat *st)
{
	int len = (int)cap - 1;
	int rc = zoo_get(zh, path, 0, buf, &len, st);
	buf[rc == ZOK && len > 0 ? len : 0] = '\0';
	return rc;
}

/* Polls until the node exists (want true) or is gone (false); ms taken, or
 * -1 when timeout_ms passed first. */
static inline long zkc_wait(zhandle_t *zh, const char *path, bool want, int timeout_ms)
{
	uint64_t t0 = td_now_ms();
	for (;;) {
		struct Stat st;
		int rc = zoo_exists(zh, path, 0, &st);
		if ((want && rc == ZOK) || (!want && rc == ZNONODE))
			return (long)(td_now_ms() - t0);
		if (td_now_ms() - t0 > (uint64_t)timeout_ms)
			return -1;
		poll(NULL, 0, 20);
	}
}

#endif
