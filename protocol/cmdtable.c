/* cmdtable.c - the command table (from the X-macro in protocol.h), its
 * parser rows, word lookup, and transaction type names. */
#include <config.h>

#include <string.h>

#include "protocol/codec.h"

const struct pmq_limits pmq_limits_default = {
	PMQ_MAX_LINE_BYTES_DEFAULT,
	PMQ_MAX_BODY_BYTES_DEFAULT,
};

static const struct pmq_cmd_info cmd_infos[PMQ_CMD_COUNT] = {
#define PMQ_X_INFO(id, word, route, body) [PMQ_CMD_##id] = { word, route, body },
	PMQ_COMMANDS(PMQ_X_INFO)
#undef PMQ_X_INFO
};

/* Where each body command carries its length: put/sync token 3,
 * result and heartbeat token 2, value token 1. */
static const struct codec_cmd cmd_parsers[PMQ_CMD_COUNT] = {
	[PMQ_CMD_PUT] = { codec_parse_put, 3 },
	[PMQ_CMD_GET] = { codec_parse_get, CODEC_NO_INDEX },
	[PMQ_CMD_OFFSET] = { codec_parse_offset, CODEC_NO_INDEX },
	[PMQ_CMD_VERSION] = { codec_parse_version, CODEC_NO_INDEX },
	[PMQ_CMD_STATS] = { codec_parse_stats, CODEC_NO_INDEX },
	[PMQ_CMD_QUIT] = { codec_parse_quit, CODEC_NO_INDEX },
	[PMQ_CMD_TRANSACTION] = { codec_parse_transaction, CODEC_NO_INDEX },
	[PMQ_CMD_SYNC] = { codec_parse_sync, 3 },
	[PMQ_CMD_DEBUG] = { codec_parse_debug, CODEC_NO_INDEX },
	[PMQ_CMD_RESULT] = { codec_parse_result, 2 },
	[PMQ_CMD_VALUE] = { codec_parse_value, 1 },
	[PMQ_CMD_ADMIN] = { codec_parse_admin, CODEC_NO_INDEX },
	[PMQ_CMD_HEARTBEAT] = { codec_parse_heartbeat, 2 },
	[PMQ_CMD_MEMBERS] = { codec_parse_members, CODEC_NO_INDEX },
	[PMQ_CMD_COMMIT] = { codec_parse_commit, CODEC_NO_INDEX },
	[PMQ_CMD_COMMITTED] = { codec_parse_committed, CODEC_NO_INDEX },
	[PMQ_CMD_NOTIFY] = { codec_parse_notify, CODEC_NO_INDEX },
};

static bool cmd_in_range(enum pmq_cmd cmd)
{
	return cmd > PMQ_CMD_NONE && cmd < PMQ_CMD_COUNT;
}

const struct pmq_cmd_info *pmq_cmd_info(enum pmq_cmd cmd)
{
	return cmd_in_range(cmd) ? &cmd_infos[cmd] : NULL;
}

const char *pmq_cmd_name(enum pmq_cmd cmd)
{
	return cmd_in_range(cmd) ? cmd_infos[cmd].word : "?";
}

const struct codec_cmd *codec_cmd(enum pmq_cmd cmd)
{
	return cmd_in_range(cmd) ? &cmd_parsers[cmd] : NULL;
}

static bool view_is(struct pmq_view v, const char *word)
{
	size_t n = strlen(word);
	return v.len == n && memcmp(v.ptr, word, n) == 0;
}

/* Word lengths, so the lookup compares bytes only where lengths match. */
static const unsigned char cmd_lens[PMQ_CMD_COUNT] = {
#define PMQ_X_LEN(id, word, route, body) [PMQ_CMD_##id] = sizeof(word) - 1,
	PMQ_COMMANDS(PMQ_X_LEN)
#undef PMQ_X_LEN
};

enum pmq_cmd codec_lookup(struct pmq_view word, bool *compat)
{
	*compat = false;
	for (int c = PMQ_CMD_NONE + 1; c < PMQ_CMD_COUNT; c++)
		if (word.len == cmd_lens[c] && memcmp(word.ptr, cmd_infos[c].word, word.len) == 0)
			return (enum pmq_cmd)c;
	/* MetaQ dispatches these two on their first letter alone. */
	*compat = word.len > 0 && (word.ptr[0] == 'v' || word.ptr[0] == 'q');
	if (!*compat)
		return PMQ_CMD_NONE;
	return word.ptr[0] == 'v' ? PMQ_CMD_VERSION : PMQ_CMD_QUIT;
}

static const char *const tx_names[] = {
	[PMQ_TX_NONE] = "NONE",
	[PMQ_TX_BEGIN] = "BEGIN",
	[PMQ_TX_PREPARE] = "PREPARE",
	[PMQ_TX_COMMIT_ONE_PHASE] = "COMMIT_ONE_PHASE",
	[PMQ_TX_COMMIT_TWO_PHASE] = "COMMIT_TWO_PHASE",
	[PMQ_TX_ROLLBACK] = "ROLLBACK",
	[PMQ_TX_RECOVER] = "RECOVER",
	[PMQ_TX_FORGET] = "FORGET",
	[PMQ_TX_END] = "END",
};
#define TX_NAMES_COUNT (sizeof(tx_names) / sizeof(tx_names[0]))

const char *pmq_tx_type_name(enum pmq_tx_type t)
{
	return (size_t)t < TX_NAMES_COUNT ? tx_names[t] : "?";
}

enum pmq_tx_type codec_tx_type_parse(struct pmq_view v)
{
	for (size_t t = PMQ_TX_BEGIN; t < TX_NAMES_COUNT; t++)
		if (view_is(v, tx_names[t]))
			return (enum pmq_tx_type)t;
	return PMQ_TX_NONE;
}
