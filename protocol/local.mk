# protocol/local.mk - the codec, one convenience library linked unchanged into
# the daemon and the client tools.
noinst_LTLIBRARIES += libpmqproto.la
# PROTO_SOURCES is also compiled into the fuzz targets (tests/fuzz/local.mk)
# with coverage instrumentation.
PROTO_SOURCES = protocol/protocol.h protocol/codec.h \
	protocol/cmdtable.c protocol/tokens.c protocol/decode.c \
	protocol/parse_data.c protocol/parse_ctl.c protocol/parse_tx.c protocol/parse_reg.c \
	protocol/encode.c protocol/checksum.c protocol/topic.c
libpmqproto_la_SOURCES = $(PROTO_SOURCES)
libpmqproto_la_LIBADD = $(ZLIB_LIBS)
libpmqproto_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)

# Unit tests of the codec (TAP).
PROTO_TESTS = tests/unit/test_protocol_decode tests/unit/test_protocol_errors \
	tests/unit/test_protocol_split tests/unit/test_protocol_roundtrip \
	tests/unit/test_protocol_reg
check_PROGRAMS += $(PROTO_TESTS)
TESTS += $(PROTO_TESTS)
noinst_HEADERS += tests/unit/test_protocol_util.h
tests_unit_test_protocol_decode_SOURCES = tests/unit/test_protocol_decode.c
tests_unit_test_protocol_decode_LDADD = libpmqproto.la
tests_unit_test_protocol_errors_SOURCES = tests/unit/test_protocol_errors.c
tests_unit_test_protocol_errors_LDADD = libpmqproto.la
tests_unit_test_protocol_split_SOURCES = tests/unit/test_protocol_split.c
tests_unit_test_protocol_split_LDADD = libpmqproto.la
tests_unit_test_protocol_roundtrip_SOURCES = tests/unit/test_protocol_roundtrip.c
tests_unit_test_protocol_roundtrip_LDADD = libpmqproto.la
tests_unit_test_protocol_reg_SOURCES = tests/unit/test_protocol_reg.c
tests_unit_test_protocol_reg_LDADD = libpmqproto.la
