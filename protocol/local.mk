# protocol/local.mk - the codec, one convenience library linked unchanged into
# the daemon and the client tools.
noinst_LTLIBRARIES += libpmqproto.la
libpmqproto_la_SOURCES = protocol/protocol.h protocol/protocol.c
libpmqproto_la_LIBADD = $(ZLIB_LIBS)
libpmqproto_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
