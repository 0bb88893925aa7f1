/*
 * test_config.c - the settings table through config_load(): defaults, the
 * command line, ranges, sizes, bools, the error messages word for word, and
 * INI files with [system] and [topic=NAME] sections.
 */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/daemon/config.h"
#include "tests/tap.h"

#define MAXARGS 32

static struct settings cfg;
static char err[1024];

/* `stats config` into a fixed buffer (at most cap bytes), for strstr. */
static size_t format_stats(const struct settings *c, char *buf, size_t cap)
{
	struct sbuf b = { 0 };
	config_format_stats(c, &b);
	size_t n = b.len < cap ? b.len : cap;
	memcpy(buf, b.p, n);
	sbuf_free(&b);
	return n;
}

/* config_load over a NULL-terminated list of arguments (after argv[0]).
 * stdout and stderr are silenced: -h, -V and usage errors print there, and
 * stdout is the TAP stream. */
static int load_v(const char *const *args)
{
	char *argv[MAXARGS + 2];
	int argc = 0, rc, out, errfd, null;

	argv[argc++] = (char *)"pulsemqd";
	for (size_t i = 0; args && args[i] && argc < MAXARGS; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	err[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	out = dup(1);
	errfd = dup(2);
	null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	rc = config_load(&cfg, argc, argv, err, sizeof err);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(errfd, 2);
	close(out);
	close(errfd);
	close(null);
	return rc;
}

#define LOAD(...) load_v((const char *const[]){ __VA_ARGS__, NULL })

/* One -o setting: returns config_load's result, the message in err. */
static int set1(const char *kv)
{
	int rc = LOAD("-o", kv);
	if (rc == 0)
		config_free(&cfg);
	return rc;
}

static char tmpdir[512];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		bail_out("cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static void test_defaults(void)
{
	is(LOAD("-p", "8123"), 0, "no settings: loads");
	is(LOAD((const char *)NULL), 0, "an empty command line loads the defaults");
	is_str(cfg.listen, "127.0.0.1", "listen default");
	is(cfg.port, 8123, "port default");
	is_str(cfg.port_file, "", "port_file default: none");
	is_str(cfg.data_dir, "/var/lib/pulsemq", "data_dir default");
	is(cfg.io_threads, 0, "io_threads default: online CPUs");
	is(cfg.max_connections, 10000, "max_connections default");
	is(cfg.get_threads, 4, "get_threads default");
	is(cfg.put_threads, 4, "put_threads default");
	is(cfg.heartbeat_threads, 1, "heartbeat_threads default");
	is(cfg.get_queue_size, 1024, "get_queue_size default");
	is(cfg.heartbeat_queue_size, 4096, "heartbeat_queue_size default");
	is(cfg.request_timeout_ms, 5000, "request_timeout_ms default");
	is(cfg.idle_timeout_ms, 15000, "idle_timeout_ms default");
	is(cfg.heartbeat_timeout_ms, 5000, "heartbeat_timeout_ms default");
	is(cfg.max_missed_heartbeats, 3, "max_missed_heartbeats default");
	is(cfg.session_timeout_ms, 300000, "session_timeout_ms default");
	is(cfg.tick_ms, 100, "tick_ms default");
	is(cfg.wheel_slots, 512, "wheel_slots default");
	is(cfg.max_line_bytes, 1024, "max_line_bytes default");
	is(cfg.max_body_bytes, 1048576, "max_body_bytes default");
	is(cfg.max_output_bytes, 8 << 20, "max_output_bytes default 8 MiB");
	is(cfg.write_timeout_ms, 10000, "write_timeout_ms default");
	ok(!cfg.enable_debug_commands, "enable_debug_commands default no");
	is(cfg.broker_id, 0, "broker_id default");
	ok(cfg.auto_create_topics, "auto_create_topics default yes");
	is(cfg.num_partitions, 1, "num_partitions default");
	is(cfg.segment_bytes, 1ll << 30, "segment_bytes default 1 GiB");
	is(cfg.flush_mode, PMQ_FLUSH_SYNC, "flush_mode default sync");
	is(cfg.flush_threshold, 1000, "flush_threshold default");
	is(cfg.flush_interval_ms, 1000, "flush_interval_ms default");
	is(cfg.max_transfer_bytes, 2 << 20, "max_transfer_bytes default 2 MiB");
	is(cfg.retention_hours, 168, "retention_hours default");
	ok(!cfg.update_consumer_offsets, "update_consumer_offsets default no");
	is_str(cfg.log_level, "info", "log_level default");
	is_str(cfg.log_file, "", "log_file default: none");
	is_str(cfg.pidfile, "", "pidfile default: none");
	ok(!cfg.daemonize, "daemonize default no");
	is(cfg.ntopics, 0, "no topic sections");
	config_free(&cfg);
}

static void test_options(void)
{
	is(LOAD("-l", "0.0.0.0", "-p", "9000", "-D", "/tmp/x", "-t", "3", "-d", "-P", "/run/p.pid",
	        "-v"), 0, "short options load");
	is_str(cfg.listen, "0.0.0.0", "-l sets listen");
	is(cfg.port, 9000, "-p sets port");
	is_str(cfg.data_dir, "/tmp/x", "-D sets data_dir");
	is(cfg.io_threads, 3, "-t sets io_threads");
	ok(cfg.daemonize, "-d sets daemonize");
	is_str(cfg.pidfile, "/run/p.pid", "-P sets pidfile");
	is_str(cfg.log_level, "debug", "-v raises log_level to debug");
	config_free(&cfg);

	is(LOAD("--port=9001", "--option", "get_threads=8", "--data-dir", "/d"), 0,
	   "long options load");
	is(cfg.port, 9001, "--port");
	is(cfg.get_threads, 8, "--option KEY=VALUE");
	is_str(cfg.data_dir, "/d", "--data-dir");
	config_free(&cfg);

	is(LOAD("-o", "get_threads=8", "-o", "max_body_bytes=1500K", "-o", "flush_mode=async",
	        "-o", "port_file=/tmp/pf", "-o", "log_level=warn", "-o", "port=0"), 0,
	   "-o settings load");
	is(cfg.get_threads, 8, "-o get_threads=8");
	is(cfg.max_body_bytes, 1500 << 10, "-o max_body_bytes=1500K");
	is(cfg.flush_mode, PMQ_FLUSH_ASYNC, "-o flush_mode=async");
	is_str(cfg.port_file, "/tmp/pf", "-o port_file");
	is_str(cfg.log_level, "warn", "-o log_level=warn");
	is(cfg.port, 0, "port 0 means any free port");
	config_free(&cfg);

	is(LOAD("-o", "port=1", "-o", "port=2"), 0, "a repeated key loads");
	is(cfg.port, 2, "the last -o wins");
	config_free(&cfg);

	is(LOAD("-o", "get_threads"), -1, "-o without '=' is refused");
	is_str(err, "-o expects KEY=VALUE, got 'get_threads'", "-o without '=': message");
	is(LOAD("-x"), -1, "an unknown option is refused");
	is_str(err, "unknown option '-x'", "unknown option: message");
	is(LOAD("--frobnicate"), -1, "an unknown long option is refused");
	is(LOAD("-p"), -1, "a missing argument is refused");
	is_str(err, "missing argument for option '-p'", "missing argument: message");
	is(LOAD("stray"), -1, "a stray argument is refused");
	is_str(err, "unexpected argument 'stray'", "stray argument: message");
	is(LOAD("-h"), 1, "-h: exit 0 without running");
	is(LOAD("-V"), 1, "-V: exit 0 without running");
}

static void test_ranges(void)
{
	is(set1("get_threads=0"), -1, "get_threads=0 is out of range");
	is_str(err, "invalid value '0' for 'get_threads': expected an integer from 1 to 1024",
	       "out-of-range message names the key and the range");
	is(set1("port=65536"), -1, "port=65536 is out of range");
	is_str(err, "invalid value '65536' for 'port': expected an integer from 0 to 65535",
	       "port range message");
	is(set1("port=-1"), -1, "a negative port is refused");
	is(set1("port=12ab"), -1, "trailing garbage is refused");
	is(set1("port="), -1, "an empty number is refused");
	is(set1("port= 80"), -1, "a leading space is refused");
	is(set1("port=65535"), 0, "port=65535 is the top of the range");
	is(set1("io_threads=257"), -1, "io_threads=257 is out of range");
	is(set1("broker_id=1024"), -1, "broker_id=1024 is out of range");
	is(set1("broker_id=1023"), 0, "broker_id=1023 is in range");
	is(set1("tick_ms=1"), 0, "tick_ms=1 is allowed");
	is(set1("tick_ms=0"), -1, "tick_ms=0 is not");
	is(set1("idle_timeout_ms=10"), 0, "idle_timeout_ms=10 is allowed");
	is(set1("heartbeat_timeout_ms=10"), 0, "heartbeat_timeout_ms=10 is allowed");
	is(set1("request_timeout_ms=1"), 0, "request_timeout_ms=1 is allowed");
	is(set1("session_timeout_ms=10"), 0, "session_timeout_ms=10 is allowed");
	is(set1("flush_threshold=0"), 0, "flush_threshold=0 (every message) is allowed");
	is(set1("flush_mode=always"), -1, "an unknown enum value is refused");
	is_str(err, "invalid value 'always' for 'flush_mode': expected one of sync, async",
	       "enum message lists the choices");
	is(set1("log_level=trace"), -1, "an unknown log level is refused");
	is_str(err, "invalid value 'trace' for 'log_level': expected one of error, warn, info, debug",
	       "log_level message lists the levels");
	is(set1("listen="), -1, "an empty listen address is refused");
	is(set1("port_file="), 0, "an empty port_file (none) is allowed");

	char big[1200];
	memset(big, 'a', sizeof big);
	memcpy(big, "listen=", 7);
	big[sizeof big - 1] = '\0';
	is(set1(big), -1, "an over-long string is refused");
	ok(strstr(err, "expected a non-empty string of at most 255 bytes") != NULL,
	   "over-long string: the message gives the limit");
	ok(strstr(err, "aaa...' for 'listen'") != NULL, "over-long string: echoed in part");
}

static void test_sizes(void)
{
	is(LOAD("-o", "max_body_bytes=64K", "-o", "segment_bytes=1g", "-o",
	        "max_output_bytes=3m", "-o", "max_transfer_bytes=70000"), 0, "sizes with suffixes load");
	is(cfg.max_body_bytes, 64 << 10, "64K");
	is(cfg.segment_bytes, 1ll << 30, "1g (either case)");
	is(cfg.max_output_bytes, 3 << 20, "3m");
	is(cfg.max_transfer_bytes, 70000, "a plain number is bytes");
	config_free(&cfg);
	is(LOAD("-o", "max_body_bytes=64K", "-o", "max_transfer_bytes=65555"), -1,
	   "max_transfer_bytes under max_body_bytes + 20: refused");
	is_str(err, "max_transfer_bytes (65555) must be at least max_body_bytes (65536) + 20, "
	       "the record header: a get could never return a message of max_body_bytes; "
	       "raise max_transfer_bytes to 65556 or lower max_body_bytes", "  the message");
	is(LOAD("-o", "max_body_bytes=64K", "-o", "max_transfer_bytes=65556"), 0,
	   "max_transfer_bytes = max_body_bytes + 20: loads");
	config_free(&cfg);
	is(set1("max_body_bytes=2G"), -1, "2G is above max_body_bytes' range");
	is_str(err, "invalid value '2G' for 'max_body_bytes': expected a size in bytes from 1 to 1G "
	       "(suffixes K, M, G allowed)", "size message shows the range with suffixes");
	is(set1("max_body_bytes=1T"), -1, "an unknown suffix is refused");
	is(set1("max_body_bytes=1KB"), -1, "text after the suffix is refused");
	is(set1("segment_bytes=99999999999999999999G"), -1, "an overflowing size is refused");
	is(set1("segment_bytes=9999999999G"), -1, "a size overflowing after the suffix is refused");
	is(set1("get_threads=1K"), -1, "counts take no suffix");
}

static void test_bools(void)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "OFF" };
	char kv[64];
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		snprintf(kv, sizeof kv, "enable_debug_commands=%s", yes[i]);
		is(LOAD("-o", kv), 0, "bool '%s' loads", yes[i]);
		ok(cfg.enable_debug_commands, "'%s' is true", yes[i]);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		snprintf(kv, sizeof kv, "auto_create_topics=%s", no[i]);
		is(LOAD("-o", kv), 0, "bool '%s' loads", no[i]);
		ok(!cfg.auto_create_topics, "'%s' is false", no[i]);
		config_free(&cfg);
	}
	is(set1("daemonize=maybe"), -1, "'maybe' is not a bool");
	is_str(err, "invalid value 'maybe' for 'daemonize': expected yes, no, true, false, on, off, "
	       "1 or 0", "bool message lists the spellings");
}

static void test_unknown(void)
{
	is(set1("io_thread=4"), -1, "an unknown key is refused");
	is_str(err, "unknown key 'io_thread' (did you mean 'io_threads'?)", "did-you-mean, exactly");
	is(set1("get_theads=4"), -1, "a typo is refused");
	is_str(err, "unknown key 'get_theads' (did you mean 'get_threads'?)", "a dropped letter");
	is(set1("pidfiel=x"), -1, "a transposition is refused");
	is_str(err, "unknown key 'pidfiel' (did you mean 'pidfile'?)", "a transposition");
	is(set1("LISTEN=x"), -1, "keys are case-sensitive");
	is_str(err, "unknown key 'LISTEN' (did you mean 'listen'?)", "case differences suggest");
	is(set1("zzzzzzzzzzzzzz=1"), -1, "a key far from all is refused");
	is_str(err, "unknown key 'zzzzzzzzzzzzzz' (pulsemqd -h lists them)",
	       "no suggestion when nothing is near");
}

#define X10 "xxxxxxxxxx"
#define LONG_LINE "; " X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10

static void test_file(void)
{
	char path[600], text[2048], want[1024];
	snprintf(path, sizeof path, "%s/good.ini", tmpdir);
	write_file(path,
	           "\xEF\xBB\xBF[topic=bom]\n"
	           "num_partitions = 2\n"
	           "; pulsemqd test config\n"
	           "# both comment styles\n"
	           "[system]\n"
	           "port = 9100\n"
	           "get_threads=7\n"
	           "segment_bytes = 64M\n"
	           "flush_mode = async\n"
	           "enable_debug_commands = on ; inline comment\n"
	           "log_file =\n"
	           "\n"
	           "[topic=foo]\n"
	           "num_partitions = 3\n"
	           "accept_put = no\n"
	           "\n"
	           "[topic=bar-baz.1]\n"
	           "retention_hours = 24\n"
	           "segment_bytes = 1M\n"
	           "[topic=a_very_long_topic_name_beyond_fifty_bytes_of_section_buffer]\n"
	           "flush_threshold = 10\n"
	           "[system]\n"
	           "put_threads = 5\n");
	is(LOAD("-c", path), 0, "a good file loads");
	const struct settings_topic *t;
	is(cfg.port, 9100, "[system] port");
	is(cfg.get_threads, 7, "[system] get_threads without spaces");
	is(cfg.segment_bytes, 64 << 20, "[system] segment_bytes with suffix");
	is(cfg.flush_mode, PMQ_FLUSH_ASYNC, "[system] flush_mode");
	ok(cfg.enable_debug_commands, "[system] bool with an inline comment");
	is(cfg.put_threads, 5, "a second [system] section");
	is(cfg.ntopics, 4, "four topic sections");
	t = settings_find_topic(&cfg, "bom", 3);
	ok(t && t->num_partitions == 2, "a section on the first line, after a byte order mark");
	t = settings_find_topic(&cfg, "foo", 3);
	ok(t != NULL, "topic foo found");
	if (t) {
		is(t->num_partitions, 3, "foo num_partitions");
		ok(!t->accept_put, "foo accept_put no");
		is(t->segment_bytes, -1, "foo segment_bytes: the system one");
		is(t->retention_hours, -1, "foo retention_hours: the system one");
		is(t->flush_threshold, -1, "foo flush_threshold: the system one");
	} else {
		for (int i = 0; i < 4; i++)
			ok(0, "foo fields");
	}
	t = settings_find_topic(&cfg, "bar-baz.1", 9);
	ok(t && t->retention_hours == 24 && t->segment_bytes == 1 << 20 && t->accept_put &&
	   t->num_partitions == -1, "topic bar-baz.1: its keys, the rest unset");
	const char *longname = "a_very_long_topic_name_beyond_fifty_bytes_of_section_buffer";
	t = settings_find_topic(&cfg, longname, strlen(longname));
	ok(t && t->flush_threshold == 10, "a topic name longer than inih's section buffer");
	ok(settings_find_topic(&cfg, "fo", 2) == NULL, "config_topic matches whole names only");
	ok(settings_find_topic(&cfg, "nope", 4) == NULL, "an undeclared topic is NULL");

	size_t n = format_stats(&cfg, text, sizeof text - 1);
	text[n] = '\0';
	ok(strstr(text, "port 9100\r\n") != NULL, "stats config: port");
	ok(strstr(text, "flush_mode async\r\n") != NULL, "stats config: enum by name");
	ok(strstr(text, "enable_debug_commands yes\r\n") != NULL, "stats config: bool as yes");
	ok(strstr(text, "segment_bytes 67108864\r\n") != NULL, "stats config: sizes in bytes");
	ok(strstr(text, "topic.foo.num_partitions 3\r\n") != NULL, "stats config: topic override");
	ok(strstr(text, "topic.foo.accept_put no\r\n") != NULL, "stats config: topic bool");
	ok(strstr(text, "topic.foo.segment_bytes") == NULL, "stats config: unset overrides left out");
	config_free(&cfg);

	/* Precedence: defaults < file < command line, whatever the order. */
	is(LOAD("-p", "9200", "-c", path, "-o", "get_threads=9"), 0, "file and options load");
	is(cfg.port, 9200, "the command line beats the file");
	is(cfg.get_threads, 9, "-o beats the file");
	is(cfg.put_threads, 5, "the file beats the defaults");
	config_free(&cfg);

	struct { const char *text, *msg; int line; const char *what; } bad[] = {
		{ "[system]\nport = 1\nget_thread = 2\n",
		  "unknown key 'get_thread' (did you mean 'get_threads'?)", 3, "unknown key" },
		{ "[system]\nget_threads = 0\n",
		  "invalid value '0' for 'get_threads': expected an integer from 1 to 1024", 2,
		  "bad value" },
		{ "port = 1\n[sytem]\n",
		  "unknown section '[sytem]': expected [system] or [topic=NAME]", 2, "unknown section" },
		{ "[system]\n\nthis is not a setting\n",
		  "syntax error: expected KEY = VALUE, [system] or [topic=NAME]", 3, "syntax error" },
		{ "[topic=foo]\nnum_partition = 2\n",
		  "unknown key 'num_partition' (did you mean 'num_partitions'?)", 2,
		  "unknown topic key" },
		{ "[topic=foo]\nnum_partitions = 0\n",
		  "invalid value '0' for 'num_partitions': expected an integer from 1 to 1024", 2,
		  "bad topic value" },
		{ "\n\n\n[topic=../etc]\n",
		  "invalid topic name '../etc': expected 1 to 250 of A-Z a-z 0-9 _ - . "
		  "(not starting with '.')", 4, "bad topic name" },
		{ "[system\n", "syntax error: '[' without ']'", 1, "unclosed section" },
		{ "[system]\nport = 1\n  [topic=foo]\n",
		  "syntax error: a section header must start the line", 3, "indented section" },
		{ "[system]\nport = 1\n" LONG_LINE "\n",
		  "line too long (at most 198 bytes)", 3, "a line too long" },
		{ "[system]\nbad line\nio_thread = 1\n",
		  "syntax error: expected KEY = VALUE, [system] or [topic=NAME]", 2,
		  "the first error wins" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(path, sizeof path, "%s/bad%zu.ini", tmpdir, i);
		write_file(path, bad[i].text);
		snprintf(want, sizeof want, "%s:%d: %s", path, bad[i].line, bad[i].msg);
		is(LOAD("-c", path), -1, "file with %s is refused", bad[i].what);
		is_str(err, want, "file with %s: FILE:LINE: message", bad[i].what);
	}

	snprintf(path, sizeof path, "%s/missing.ini", tmpdir);
	is(LOAD("-c", path), -1, "a missing file is refused");
	snprintf(want, sizeof want, "cannot read config file '%s': No such file or directory", path);
	is_str(err, want, "missing file: message");
}

/* The table feeds both --help and `stats config`: every key of one is in
 * the other. */
static void test_help_lists_every_key(void)
{
	char path[600], text[8192], *help = NULL;
	size_t hlen = 0;
	int missing = 0;

	snprintf(path, sizeof path, "%s/help.txt", tmpdir);
	fflush(stdout);
	int out = dup(1), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	char *argv[] = { (char *)"pulsemqd", (char *)"-h", NULL };
	int rc = config_load(&cfg, 2, argv, err, sizeof err);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	close(fd);
	is(rc, 1, "-h returns 1");
	FILE *f = fopen(path, "r");
	if (f) {
		help = calloc(1, 65536);
		hlen = fread(help, 1, 65535, f);
		fclose(f);
	}
	ok(help && hlen > 1000, "-h printed the key listing");
	ok(help && strstr(help, "usage: pulsemqd"), "-h starts with the usage");

	is(LOAD((const char *)NULL), 0, "defaults load");
	size_t n = format_stats(&cfg, text, sizeof text - 1);
	text[n] = '\0';
	int keys = 0;
	for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
		char key[64], pat[80];
		if (sscanf(line, "%63s", key) != 1)
			continue;
		keys++;
		snprintf(pat, sizeof pat, "  %s = ", key);
		if (!help || !strstr(help, pat)) {
			diag("key %s is not in -h", key);
			missing++;
		}
	}
	ok(keys >= 38, "stats config lists every key (%d)", keys);
	is(missing, 0, "-h lists every key with its default");
	config_free(&cfg);

	free(help);
}

/* --dump-config-table: the table for documentation tools, 5 fields a line. */
static void test_dump_table(void)
{
	char path[600], line[1024];
	int sys = 0, topic = 0, bad = 0;
	bool seen = false;

	snprintf(path, sizeof path, "%s/table.txt", tmpdir);
	fflush(stdout);
	int out = dup(1), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	char *argv[] = { (char *)"pulsemqd", (char *)"--dump-config-table", NULL };
	int rc = config_load(&cfg, 2, argv, err, sizeof err);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	close(fd);
	is(rc, 1, "--dump-config-table: exit 0 without running");
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f)) {
		int tabs = 0;
		for (char *p = line; *p; p++)
			tabs += *p == '\t';
		bad += tabs != 4;
		sys += strncmp(line, "system\t", 7) == 0;
		topic += strncmp(line, "topic\t", 6) == 0;
		seen |= strcmp(line, "system\tget_threads\t4\tan integer from 1 to 1024\t"
		                     "worker threads of the get pool (get, offset)\n") == 0;
	}
	if (f)
		fclose(f);
	is(bad, 0, "every line has five tab-separated fields");
	ok(sys >= 39 && topic == 5, "every system key (%d) and topic key (%d)", sys, topic);
	ok(seen, "a row reads SECTION NAME DEFAULT EXPECTED HELP");
}

/* --print-config writes a file that loads back to the same settings. */
static void test_print_config(void)
{
	char good[600], printed[600], a[8192], b[8192];
	size_t na = 0, nb = 0;

	snprintf(good, sizeof good, "%s/good.ini", tmpdir);
	snprintf(printed, sizeof printed, "%s/printed.ini", tmpdir);
	is(LOAD("-c", good, "-o", "max_body_bytes=1000K", "-o", "log_file=/tmp/x y.log"), 0,
	   "settings to print load");
	na = format_stats(&cfg, a, sizeof a);
	config_free(&cfg);

	fflush(stdout);
	int out = dup(1), fd = open(printed, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	char *argv[] = { (char *)"pulsemqd", (char *)"-c", good, (char *)"-o",
	                 (char *)"max_body_bytes=1000K", (char *)"-o", (char *)"log_file=/tmp/x y.log",
	                 (char *)"--print-config", NULL };
	int rc = config_load(&cfg, 8, argv, err, sizeof err);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	close(fd);
	is(rc, 1, "--print-config: exit 0 without running");

	is(LOAD("-c", printed), 0, "the printed file loads");
	if (*err)
		diag("%s", err);
	nb = format_stats(&cfg, b, sizeof b);
	config_free(&cfg);
	is_mem(b, nb, a, na, "the printed file gives the same settings");
}

int main(void)
{
	const char *base = getenv("PMQ_TEST_TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_config.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		bail_out("mkdtemp %s failed", tmpdir);

	test_defaults();
	test_options();
	test_ranges();
	test_sizes();
	test_bools();
	test_unknown();
	test_file();
	test_help_lists_every_key();
	test_print_config();
	test_dump_table();

	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
