#!/bin/sh
# run.sh DIR SECONDS - run both codec fuzz targets for SECONDS each.
#
# DIR is a build directory configured with `CC=clang ../configure
# --enable-fuzz` (the targets are built if missing). Each target runs on a
# fresh copy of the seed corpus, so the source tree is never written.
# Exits non-zero when a target finds a crash or an invariant breaks; the
# reproducer stays in DIR/fuzz-out/ (crash-*, leak-*, timeout-*).
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
secs=$2
here=$(cd "$(dirname "$0")" && pwd)

make -C "$build" tests/fuzz/fuzz_request tests/fuzz/fuzz_response >/dev/null
out="$build/fuzz-out"
rm -rf "$out"
mkdir -p "$out"

status=0
for target in request response; do
	work="$out/corpus-$target"
	cp -R "$here/corpus/$target" "$work"
	echo "fuzz_$target: ${secs}s"
	if ! "$build/tests/fuzz/fuzz_$target" -max_total_time="$secs" -max_len=4096 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/$target-" "$work" >"$out/$target.log" 2>&1; then
		echo "fuzz_$target FAILED: see $out/$target.log" >&2
		tail -n 40 "$out/$target.log" >&2
		status=1
	fi
	grep -E '^stat::number_of_executed_units|^Done ' "$out/$target.log" || true
done
exit $status
