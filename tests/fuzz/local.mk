# tests/fuzz/local.mk - libFuzzer targets for the codec (configure with
# CC=clang --enable-fuzz). The codec sources are compiled into each target
# with the fuzzer's instrumentation; the targets get their own CFLAGS and
# LDFLAGS so the project's AM_* flags (other sanitizers) never mix in.
# tests/fuzz/run.sh DIR SECONDS runs both on a copy of the seed corpus.
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/corpus tests/fuzz/fuzz_common.h

if ENABLE_FUZZ
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -g -O1
noinst_PROGRAMS += tests/fuzz/fuzz_request tests/fuzz/fuzz_response

tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c $(PROTO_SOURCES)
tests_fuzz_fuzz_request_CFLAGS = $(WARN_CFLAGS) $(ZLIB_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_request_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_request_LDADD = $(ZLIB_LIBS)

tests_fuzz_fuzz_response_SOURCES = tests/fuzz/fuzz_response.c $(PROTO_SOURCES)
tests_fuzz_fuzz_response_CFLAGS = $(WARN_CFLAGS) $(ZLIB_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_response_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_response_LDADD = $(ZLIB_LIBS)
endif
