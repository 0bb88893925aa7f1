#!/bin/bash
# test_quickstart_cluster.sh - `quickstart.sh cluster` with the built
# binaries ($PULSEMQD, $PULSEMQ_CLI): ZooKeeper and three brokers come up,
# the printed commands work (put and get through discovery, a broker taken
# offline takes no put), and SIGTERM stops every process it started (the
# same exit path as Ctrl-C's SIGINT: a background script here ignores
# SIGINT, as bash makes it). TAP output.
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=${PMQ_TEST_TMPDIR:-/tmp}
dir=$(mktemp -d "$tmp/qs.XXXXXX") || exit 1
cli=${PULSEMQ_CLI:?}
: "${PULSEMQD:?}"
ready_s=240 # a JVM and three brokers on a loaded 2-core machine
stop_s=60
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
bail() {
	echo "Bail out! $1"
	sed 's/^/# /' "$dir/out" "$dir"/c/*.log 2>/dev/null | tail -n 40
	[ -n "${qs:-}" ] && kill -TERM "$qs" 2>/dev/null && wait "$qs"
	exit 1
}

# A ZooKeeper port below the ephemeral range the other tests draw from, a
# fresh one for each try: start fails only if another program holds it.
start() {
	local try
	for try in 1 2 3; do
		zk_port=$((20000 + (RANDOM % 10000)))
		rm -rf "$dir/c"
		: >"$dir/out"
		QUICKSTART_DIR="$dir/c" QUICKSTART_ZK_PORT=$zk_port QUICKSTART_PORT=0 \
			"$top/quickstart.sh" cluster >"$dir/out" 2>&1 &
		qs=$!
		local end=$((SECONDS + ready_s))
		while [ "$SECONDS" -lt "$end" ]; do
			grep -q '^quickstart: cluster ready' "$dir/out" && return 0
			kill -0 "$qs" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$qs" 2>/dev/null; then
			bail "quickstart.sh cluster not ready after ${ready_s}s"
		fi
		wait "$qs"
		echo "# try $try on ZooKeeper port $zk_port failed:"
		sed 's/^/#   /' "$dir/out"
		grep -q 'usage:' "$dir/out" && break
	done
	qs=
	bail "quickstart.sh cluster did not start"
}

start
zk=127.0.0.1:$zk_port
c=$dir/c
check "banner prints the put command" grep -qF -- "-z $zk put orders" "$dir/out"
check "banner prints the offline command" grep -qF -- "-S $c/admin1.sock ctl offline" "$dir/out"

# The brokers answer "registry connected" before their first reconcile
# (200 ms) has put topics-pub in place: wait for the first put to be taken.
end=$((SECONDS + 30))
until echo warm | "$cli" -z "$zk" put orders >/dev/null 2>"$dir/err"; do
	[ "$SECONDS" -lt "$end" ] || { sed 's/^/# /' "$dir/err"; break; }
	sleep 0.2
done

# Every put through discovery is stored and read back where it says.
puts_ok=true
for i in 1 2 3 4 5 6; do
	line=$(echo "hello$i" | "$cli" -z "$zk" put orders 2>"$dir/err") ||
		{ puts_ok=false; sed 's/^/# /' "$dir/err"; continue; }
	read -r b p o <<<"$(sed -n 's/.* broker \([0-9]*\) partition \([0-9]*\) offset \([0-9]*\) .*/\1 \2 \3/p' <<<"$line")"
	if [ -z "$o" ] || ! "$cli" -z "$zk" get orders "$b-$p" "$o" 2>/dev/null | grep -qx "hello$i"; then
		puts_ok=false
		echo "# put $i: $line; not read back at $b-$p $o"
	fi
done
check "six puts through discovery stored and read back" $puts_ok

check "broker 1 goes offline" test "$("$cli" -S "$c/admin1.sock" ctl offline)" = "state unavailable"
off_ok=true
for i in 1 2 3 4 5 6; do
	# A put that picks broker 1 is refused (403) and goes to the next.
	line=$(echo "off$i" | "$cli" -z "$zk" put orders 2>"$dir/err")
	case $line in
	stored*" broker 1 "*) off_ok=false; echo "# offline broker took: $line" ;;
	stored*) ;;
	*) off_ok=false; sed 's/^/# put failed: /' "$dir/err" ;;
	esac
done
check "puts avoid the offline broker" $off_ok
check "broker 1 back online" test "$("$cli" -S "$c/admin1.sock" ctl online)" = "state available"

pids="$(cat "$c/zk.pid" "$c"/broker*.pid)"
check "four processes recorded" test "$(echo $pids | wc -w)" -eq 4
kill -TERM "$qs"
end=$((SECONDS + stop_s))
while kill -0 "$qs" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.2; done
check "quickstart.sh exits on SIGTERM" gone "$qs"
wait "$qs" 2>/dev/null
alive=
for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
check "ZooKeeper and the brokers stopped${alive:+ (alive:$alive)}" test -z "$alive"
check "it says so" grep -q '^quickstart: cluster stopped' "$dir/out"

echo "1..$n"
[ "$failed" -eq 0 ] && rm -rf "$dir"
exit "$failed"
