/*
 * config_load.c - config_load(): the command line and the INI file, applied
 * over the defaults in that order (defaults < file < command line), through
 * config.c's table.
 *
 * The file is read with libinih through our own line reader, which counts
 * lines and recognises section headers itself: that gives every error its
 * exact line number (Debian builds inih without INI_HANDLER_LINENO) and
 * avoids inih's 50-byte section-name buffer, which would silently cut long
 * topic names.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/daemon/config.h"
#include "server/daemon/config_priv.h"
#include "store/record.h"

#define USAGE \
	"usage: pulsemqd [-c FILE] [-l ADDR] [-p PORT] [-D DATA_DIR] [-t IO_THREADS] [-d]\n" \
	"                [-P PIDFILE] [-o KEY=VALUE]... [-v] [-h] [-V] [--scrub]\n"

static void print_help(FILE *out)
{
	fputs(USAGE, out);
	fputs("\n"
	      "pulsemqd is a MetaQ-compatible message broker.\n\n"
	      "  -c, --config=FILE      read settings from FILE (INI: [system], [topic=NAME])\n"
	      "  -l, --listen=ADDR      same as -o listen=ADDR\n"
	      "  -p, --port=PORT        same as -o port=PORT\n"
	      "  -D, --data-dir=DIR     same as -o data_dir=DIR\n"
	      "  -t, --io-threads=N     same as -o io_threads=N\n"
	      "  -d, --daemonize        run in the background once listening\n"
	      "  -P, --pidfile=FILE     same as -o pidfile=FILE\n"
	      "  -o, --option=KEY=VALUE set any key below (may repeat)\n"
	      "  -v, --verbose          same as -o log_level=debug\n"
	      "  -h, --help             print this help and exit\n"
	      "  -V, --version          print the version and exit\n"
	      "      --print-config     print the settings in effect as a config file\n"
	      "                         and exit\n"
	      "      --dump-config-table  print the settings table, tab-separated, for\n"
	      "                         tools that generate documentation, and exit\n"
	      "      --scrub            verify every record of every segment in data_dir\n"
	      "                         (the broker must be stopped), print each bad one\n"
	      "                         with its file and offset, and exit: 0 all valid,\n"
	      "                         1 bad records found or the scrub could not run\n"
	      "\n"
	      "Exit status: 0 after a clean stop (SIGTERM, SIGINT); 1 when start-up\n"
	      "fails at run time (bind, store, pidfile in use); 2 for a usage or\n"
	      "configuration error; 3 when recovery found data it will not touch\n"
	      "without the operator (corruption before valid records, misaligned\n"
	      "segments: the log says which file and what to do).\n",
	      out);
	config_print_keys(out);
}

/* One -o style setting taken from the command line, applied after the file. */
struct cl_setting {
	const char *key;
	size_t klen;
	const char *value;
};

/* --- the INI file ----------------------------------------------------- */

struct ini_ctx {
	struct settings *c;
	FILE *f;
	int line;               /* of the line the reader returned last */
	bool at_line_start;
	bool in_topic;          /* false: [system] or before any section */
	size_t topic_index;     /* an index: a later realloc may move topics */
	char msg[400];          /* the first error, without file:line */
	int msg_line;
};

static void ctx_fail(struct ini_ctx *x, const char *msg)
{
	if (x->msg[0])
		return; /* keep the first */
	snprintf(x->msg, sizeof x->msg, "%s", msg);
	x->msg_line = x->line;
}

/* "[system]" or "[topic=NAME]": decided here, where the line number is
 * known. Returns false (and records why) for anything else. */
static bool ctx_section(struct ini_ctx *x, char *line)
{
	char *p = line;
	char err[300];

	if (x->line == 1 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* a UTF-8 byte order mark, which inih skips too */
	if (p[strspn(p, " \t")] == '[' && (*p == ' ' || *p == '\t')) {
		/* inih may read this as the continuation of the previous value:
		 * refuse rather than guess which section the next keys are in. */
		ctx_fail(x, "syntax error: a section header must start the line");
		return false;
	}
	if (*p != '[')
		return true;
	char *end = strchr(p, ']');
	if (!end) {
		ctx_fail(x, "syntax error: '[' without ']'");
		return false;
	}
	const char *name = p + 1;
	size_t len = (size_t)(end - name);
	x->in_topic = false;
	if (len == 6 && memcmp(name, "system", 6) == 0)
		return true;
	if (len > 6 && memcmp(name, "topic=", 6) == 0) {
		struct settings_topic *t = config_topic_get(x->c, name + 6, len - 6, err, sizeof err);
		if (!t) {
			ctx_fail(x, err);
			return false;
		}
		x->in_topic = true;
		x->topic_index = (size_t)(t - x->c->topics);
		return true;
	}
	snprintf(err, sizeof err, "unknown section '[%.*s]': expected [system] or [topic=NAME]",
	         len > 200 ? 200 : (int)len, name);
	ctx_fail(x, err);
	return false;
}

static char *ini_reader_fn(char *str, int num, void *stream)
{
	struct ini_ctx *x = stream;
	if (x->msg[0])
		return NULL; /* stop at the first error: end of input for inih */
	if (!fgets(str, num, x->f))
		return NULL;
	size_t len = strlen(str);
	bool whole = len > 0 && str[len - 1] == '\n';
	if (x->at_line_start)
		x->line++;
	if (!whole && !feof(x->f)) {
		char msg[80];
		snprintf(msg, sizeof msg, "line too long (at most %d bytes)", num - 2);
		ctx_fail(x, msg);
		return NULL;
	}
	x->at_line_start = whole;
	if (!ctx_section(x, str))
		return NULL;
	return str;
}

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	char err[400];
	int rc;

	(void)section; /* the reader tracked it, with the full name */
	if (x->msg[0])
		return 1;
	if (x->in_topic)
		rc = config_topic_set(&x->c->topics[x->topic_index], name, strlen(name), value,
		                      err, sizeof err);
	else
		rc = config_set(x->c, name, strlen(name), value, err, sizeof err);
	if (rc != 0) {
		ctx_fail(x, err);
		return 0;
	}
	return 1;
}

static int load_file(struct settings *c, const char *path, char *err, size_t errlen)
{
	struct ini_ctx x = { .c = c, .at_line_start = true };

	x.f = fopen(path, "r");
	if (!x.f) {
		snprintf(err, errlen, "cannot read config file '%s': %s", path, strerror(errno));
		return -1;
	}
	int rc = ini_parse_stream(ini_reader_fn, &x, ini_handler_fn, &x);
	bool read_error = ferror(x.f);
	fclose(x.f);
	if (x.msg[0] && (rc <= 0 || rc >= x.msg_line)) {
		snprintf(err, errlen, "%s:%d: %s", path, x.msg_line, x.msg);
		return -1;
	}
	if (rc > 0) {
		snprintf(err, errlen, "%s:%d: syntax error: expected KEY = VALUE, [system] "
		         "or [topic=NAME]", path, rc);
		return -1;
	}
	if (rc < 0 || read_error) {
		snprintf(err, errlen, "cannot read config file '%s': %s", path,
		         rc == -2 ? "out of memory" : "read error");
		return -1;
	}
	return 0;
}

/* --- settings that must agree ------------------------------------------- */

/* What no single row of the table can say. 0, or -1 with err. */
static int config_check(const struct settings *c, char *err, size_t errlen)
{
	/* A put is accepted only if one get can deliver its record: an
	 * acknowledged message that never fits a get stalls its partition for
	 * every consumer, which is data loss. */
	int64_t need = c->max_body_bytes + STORE_RECORD_HEADER;

	if (c->max_transfer_bytes < need) {
		snprintf(err, errlen, "max_transfer_bytes (%lld) must be at least max_body_bytes "
		         "(%lld) + %d, the record header: a get could never return a message of "
		         "max_body_bytes; raise max_transfer_bytes to %lld or lower "
		         "max_body_bytes", (long long)c->max_transfer_bytes,
		         (long long)c->max_body_bytes, STORE_RECORD_HEADER, (long long)need);
		return -1;
	}
	return 0;
}

/* --- the command line ---------------------------------------------------- */

enum { OPT_PRINT_CONFIG = 256, OPT_DUMP_TABLE, OPT_SCRUB }; /* long-only: beyond any char */

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "listen", required_argument, NULL, 'l' },
	{ "port", required_argument, NULL, 'p' },
	{ "data-dir", required_argument, NULL, 'D' },
	{ "io-threads", required_argument, NULL, 't' },
	{ "daemonize", no_argument, NULL, 'd' },
	{ "pidfile", required_argument, NULL, 'P' },
	{ "option", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
	{ "dump-config-table", no_argument, NULL, OPT_DUMP_TABLE },
	{ "scrub", no_argument, NULL, OPT_SCRUB },
	{ NULL, 0, NULL, 0 },
};

static void set_cl(struct cl_setting *s, const char *key, const char *value)
{
	s->key = key;
	s->klen = strlen(key);
	s->value = value;
}

/* "unknown option '-x'": the message for main to print, and the usage. */
static int usage_error(char *err, size_t errlen, const char *what, const char *arg)
{
	snprintf(err, errlen, "%s '%s'", what, arg);
	fputs(USAGE, stderr);
	return -1;
}

int config_load(struct settings *c, int argc, char **argv, char *err, size_t errlen)
{
	struct cl_setting *cl = NULL;
	const char *file = NULL;
	bool print_config = false, scrub = false;
	size_t ncl = 0;
	int rc = -1, opt;
	char optname[3] = "-?";

	if (config_defaults(c, err, errlen) != 0)
		return -1;
	/* Every option yields at most one setting. */
	cl = calloc((size_t)(argc > 0 ? argc : 1), sizeof *cl);
	if (!cl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	optind = 0; /* GNU: full reset, so tests may call us repeatedly */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:l:p:D:t:dP:o:vhV", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c': file = optarg; break;
		case 'l': set_cl(&cl[ncl++], "listen", optarg); break;
		case 'p': set_cl(&cl[ncl++], "port", optarg); break;
		case 'D': set_cl(&cl[ncl++], "data_dir", optarg); break;
		case 't': set_cl(&cl[ncl++], "io_threads", optarg); break;
		case 'd': set_cl(&cl[ncl++], "daemonize", "yes"); break;
		case 'P': set_cl(&cl[ncl++], "pidfile", optarg); break;
		case 'v': set_cl(&cl[ncl++], "log_level", "debug"); break;
		case 'o': {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				rc = usage_error(err, errlen, "-o expects KEY=VALUE, got", optarg);
				goto out;
			}
			cl[ncl].key = optarg;
			cl[ncl].klen = (size_t)(eq - optarg);
			cl[ncl].value = eq + 1;
			ncl++;
			break;
		}
		case 'h':
			print_help(stdout);
			rc = 1;
			goto out;
		case 'V':
			printf("pulsemqd %s\n", PACKAGE_VERSION);
			rc = 1;
			goto out;
		case OPT_PRINT_CONFIG:
			print_config = true;
			break;
		case OPT_DUMP_TABLE:
			config_dump_table(stdout);
			rc = 1;
			goto out;
		case OPT_SCRUB:
			scrub = true;
			break;
		case ':':
			optname[1] = (char)optopt;
			rc = usage_error(err, errlen, "missing argument for option",
			                 optopt ? optname : argv[optind - 1]);
			goto out;
		default:
			optname[1] = (char)optopt;
			rc = usage_error(err, errlen, "unknown option",
			                 optopt ? optname : argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		rc = usage_error(err, errlen, "unexpected argument", argv[optind]);
		goto out;
	}
	if (file && load_file(c, file, err, errlen) != 0)
		goto out;
	for (size_t i = 0; i < ncl; i++)
		if (config_set(c, cl[i].key, cl[i].klen, cl[i].value, err, errlen) != 0)
			goto out;
	if (config_check(c, err, errlen) != 0)
		goto out;
	if (print_config) {
		config_print_ini(c, stdout);
		rc = 1;
		goto out;
	}
	c->scrub = scrub; /* after the file: config_defaults() cleared c */
	rc = 0;
out:
	free(cl);
	if (rc != 0)
		config_free(c);
	return rc;
}
