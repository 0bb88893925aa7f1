/*
 * test_store_topics.c - [topic=NAME] sections against the real daemon:
 * with auto_create_topics = no only configured topics take puts, each with
 * its own num_partitions and segment_bytes, and accept_put = no answers 403.
 *
 * td_start() passes settings as -o KEY=VALUE only, and sections need a
 * config file (-c), so this test launches the daemon itself, the same way.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define T_MS 10000

static const char config_text[] =
	"[system]\n"
	"auto_create_topics = no\n"
	"num_partitions = 1\n"
	"segment_bytes = 1M\n"
	"\n"
	"[topic=orders]\n"
	"num_partitions = 3\n"
	"segment_bytes = 100\n"
	"\n"
	"[topic=frozen]\n"
	"accept_put = no\n";

static int launch(struct td_daemon *d)
{
	const char *tmp = getenv("PMQ_TEST_TMPDIR");
	const char *bin = getenv("PULSEMQD");
	char cfg[700], port_file[700], o_port_file[720], o_data[720];
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "%s/topics.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->data_dir, sizeof d->data_dir, "%s/data", d->dir);
	snprintf(d->log_path, sizeof d->log_path, "%s/log", d->dir);
	snprintf(cfg, sizeof cfg, "%s/pulsemqd.conf", d->dir);
	snprintf(port_file, sizeof port_file, "%s/port", d->dir);
	snprintf(o_port_file, sizeof o_port_file, "port_file=%s", port_file);
	snprintf(o_data, sizeof o_data, "data_dir=%s", d->data_dir);
	FILE *f = fopen(cfg, "w");
	if (!f || fputs(config_text, f) < 0 || fclose(f) != 0)
		return -1;
	fflush(stdout);
	d->pid = fork();
	if (d->pid == 0) {
		int log = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		execl(bin ? bin : "./pulsemqd", "pulsemqd", "-c", cfg, "-o", o_port_file, "-o",
		      o_data, "-o", "listen=127.0.0.1", "-o", "port=0", (char *)NULL);
		_exit(127);
	}
	uint64_t deadline = td_now_ms() + T_MS;
	while ((d->port = td_read_port_file(port_file)) <= 0) {
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid || td_now_ms() > deadline) {
			diag("pulsemqd did not start; see %s", d->log_path);
			return -1;
		}
		poll(NULL, 0, 5); /* no event to wait on across exec */
	}
	return 0;
}

static int put(struct td_conn *c, const char *topic, int part, const char *payload)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "put %s %d %zu 0 1\r\n%s", topic, part, strlen(payload),
	                 payload);
	if (td_roundtrip(c, buf, (size_t)n, T_MS) != 1 || c->msg.cmd != PMQ_CMD_RESULT)
		return -1;
	return c->msg.code;
}

static bool body_has(const struct td_conn *c, const char *s)
{
	char b[512];
	size_t n = c->msg.body.len < sizeof b - 1 ? c->msg.body.len : sizeof b - 1;
	memcpy(b, c->msg.body.ptr, n);
	b[n] = '\0';
	return strstr(b, s) != NULL;
}

static bool exists(const char *dir, const char *name)
{
	char path[1024];
	struct stat sb;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &sb) == 0;
}

int main(void)
{
	struct td_daemon d;
	struct td_conn c;

	if (launch(&d) != 0)
		bail_out("cannot start pulsemqd with a config file");
	td_conn_init(&c, td_connect(d.port));

	is(put(&c, "orders", 2, "x"), 200, "configured topic, partition 2 of 3: 200");
	is(put(&c, "orders", 3, "x"), 500, "partition 3 of 3: 500");
	ok(body_has(&c, "The partition 3 is not valid for topic orders"), "MetaQ's wording");
	is(put(&c, "other", 0, "x"), 500, "an unconfigured topic with auto_create_topics=no: 500");
	ok(body_has(&c, "not accepted"), "saying it is not accepted");
	is(put(&c, "frozen", 0, "x"), 403, "accept_put = no: 403");

	/* segment_bytes = 100 for orders: 60-byte records, one per segment */
	const char *msg40 = "0123456789012345678901234567890123456789";
	bool all = true;
	for (int i = 0; i < 3; i++)
		all = put(&c, "orders", 0, msg40) == 200 && all;
	ok(all, "three 60-byte records into orders-0");
	char dir[700];
	snprintf(dir, sizeof dir, "%s/orders-0", d.data_dir);
	ok(exists(dir, "00000000000000000000.meta") && exists(dir, "00000000000000000060.meta") &&
	   exists(dir, "00000000000000000120.meta"), "the topic's segment_bytes rolls every record");
	is(put(&c, "orders", -1, "y"), 200, "partition -1 on a configured topic");
	td_conn_free(&c);
	is(td_stop(&d, T_MS), 0, "clean stop");
	td_cleanup(&d);
	return done_testing();
}
