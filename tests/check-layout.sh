#!/bin/sh
# check-layout.sh - the arrows of doc/layout.md, read from the includes.
#
# Every folder may include only the folders its row allows; a header of
# another wing is allowed only where the row names it. A new arrow that
# points up (the runtime including the broker, the store including the
# runtime, ...) fails here with the file and the line. TAP output.
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1

# folder | what its files may include (prefixes of quoted include paths)
rules='
protocol/|protocol/
actors/|actors/ protocol/
pool/|pool/ actors/
store/|store/
server/common/|server/common/ protocol/
server/runtime/|server/runtime/ server/common/ protocol/ actors/ pool/
server/broker/|server/broker/ server/common/ store/ protocol/ actors/clock.h actors/wheel.h server/runtime/request.h server/runtime/runtime.h
server/metrics/|server/metrics/ server/common/ server/runtime/runtime.h server/runtime/request.h server/broker/broker.h protocol/ actors/clock.h pool/pool.h pool/hist.h
server/daemon/|server/ store/ protocol/ actors/ pool/
client/|client/ protocol/
'

n=0
fail=0
for_each_rule() {
	echo "$rules" | while IFS='|' read -r dir allowed; do
		[ -n "$dir" ] && printf '%s|%s\n' "$dir" "$allowed"
	done
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for_each_rule > "$tmp"
while IFS='|' read -r dir allowed; do
	n=$((n + 1))
	bad=$(grep -rnE '^#include "' "$dir" --include='*.c' --include='*.h' |
		while IFS= read -r line; do
			inc=$(printf '%s\n' "$line" | sed -E 's/.*#include "([^"]+)".*/\1/')
			ok=0
			for a in $allowed; do
				case "$inc" in
				"$a"*) ok=1 ;;
				esac
			done
			[ $ok -eq 1 ] || printf '%s\n' "$line"
		done)
	if [ -z "$bad" ]; then
		echo "ok $n - $dir includes only: $allowed"
	else
		echo "not ok $n - $dir includes what its row does not allow"
		printf '%s\n' "$bad" | sed 's/^/# /'
		fail=1
	fi
done < "$tmp"

# The runtime names no store function and no broker processor.
n=$((n + 1))
bad=$(grep -rnE '\b(store_|proc_store|proc_version|flush_)[a-z_]*\(' server/runtime || true)
if [ -z "$bad" ]; then
	echo "ok $n - server/runtime calls no store or broker function"
else
	echo "not ok $n - server/runtime calls the store or the broker directly"
	printf '%s\n' "$bad" | sed 's/^/# /'
	fail=1
fi

# Every .c file in server/ has a header of its own or is listed in its
# wing's header.
n=$((n + 1))
bad=
for c in server/*/*.c; do
	h=${c%.c}.h
	wing=$(dirname "$c")
	base=$(basename "$c")
	[ -f "$h" ] && continue
	grep -q "$base" "$wing"/*.h 2>/dev/null && continue
	bad="$bad $c"
done
if [ -z "$bad" ]; then
	echo "ok $n - every server/ .c file has its header or is listed in its wing's"
else
	echo "not ok $n - without a header:$bad"
	fail=1
fi
echo "1..$n"
exit $fail
