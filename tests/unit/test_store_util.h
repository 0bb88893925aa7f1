/*
 * test_store_util.h - helpers shared by the store's unit tests: a private
 * temporary data directory, removed at the end. Header-only (static).
 */
#ifndef PMQ_TEST_STORE_UTIL_H
#define PMQ_TEST_STORE_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/tap.h"

/* A fresh directory under $PMQ_TEST_TMPDIR (or /tmp) into buf. */
static inline void tsu_mkdtemp(char *buf, size_t cap, const char *tag)
{
	const char *base = getenv("PMQ_TEST_TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	mkdir(base, 0755);
	snprintf(buf, cap, "%s/%s.XXXXXX", base, tag);
	if (!mkdtemp(buf))
		bail_out("mkdtemp %s: %s", buf, strerror(errno));
}

static inline void tsu_rmrf(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			char sub[PATH_MAX + 256];
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= (int)sizeof sub)
				continue;
			tsu_rmrf(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static char tsu_last_notice[1024];
static int tsu_notices;

static inline void tsu_notice(void *ctx, const char *msg)
{
	(void)ctx;
	snprintf(tsu_last_notice, sizeof tsu_last_notice, "%s", msg);
	tsu_notices++;
}

static inline struct store *tsu_open(const char *dir, int64_t segment_bytes,
                                     const struct store_io *io, char *err)
{
	struct store_options o = { .data_dir = dir, .broker_id = 7,
	                           .segment_bytes = segment_bytes, .notice = tsu_notice,
	                           .io = io };
	struct store *st = NULL;
	int rc = store_open(&st, &o, err, STORE_ERR_BYTES);
	if (rc != 0)
		return NULL;
	return st;
}

static inline off_t tsu_file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

#endif
