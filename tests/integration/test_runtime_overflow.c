/*
 * test_runtime_overflow.c - an answer that finds its IO thread's mailbox
 * full is never dropped: it waits on the thread's overflow list and is
 * delivered, so the session's in-flight count comes back (a closing
 * session closes, nothing waits for an answer that will not come).
 * `debug sleep mailbox MS` makes the mailbox look full to every answer.
 */
#include <config.h>

#include "tests/integration/rt_util.h"

#define PIPELINED 20

int main(void)
{
	struct td_daemon d;
	const char *settings[] = { "io_threads=1", "put_threads=1", "enable_debug_commands=yes",
	                           NULL };
	struct td_conn c;
	char req[PIPELINED * 40];
	size_t len = 0;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	td_conn_init(&c, td_connect(d.port));
	ok(td_roundtrip(&c, "debug sleep mailbox 60000 1\r\n", 29, RT_HANG_MS) == 1 &&
	   c.msg.code == 200 && c.msg.opaque == 1, "debug sleep mailbox: 200");
	ok(td_roundtrip(&c, "debug sleep put 0 2\r\n", 21, RT_HANG_MS) == 1 &&
	   c.msg.code == 200 && c.msg.opaque == 2, "a put-pool answer past a full mailbox arrives");
	ok(td_roundtrip(&c, "version 3\r\n", 11, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   c.msg.opaque == 3, "so does a heartbeat-pool answer");

	for (int i = 0; i < PIPELINED; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "debug sleep put 0 %d\r\n",
		                        100 + i);
	int seen[PIPELINED] = { 0 }, answered = 0;
	ok(td_send(c.fd, req, len) == 0, "%d pipelined", PIPELINED);
	for (int i = 0; i < PIPELINED; i++) {
		if (td_read_msg(&c, RT_HANG_MS) != 1)
			break;
		int k = c.msg.opaque - 100;
		if (c.msg.code == 200 && k >= 0 && k < PIPELINED && seen[k]++ == 0)
			answered++;
	}
	is(answered, PIPELINED, "  every one answered once");

	/* quit waits for what is in flight: the answer must come back for
	 * the session to close. */
	ok(td_send(c.fd, "debug sleep put 200 50\r\nquit\r\n", 30) == 0 &&
	   td_read_msg(&c, RT_HANG_MS) == 1 && c.msg.opaque == 50, "quit behind a request: "
	   "its answer");
	ok(td_wait_closed(c.fd, RT_HANG_MS) == 1, "  then the close: the in-flight count came back");
	td_conn_free(&c);
	is(td_stat(d.port, "", "replies_dropped"), 0, "no answer dropped");
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
	return done_testing();
}
