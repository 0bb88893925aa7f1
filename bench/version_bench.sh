#!/bin/sh
# version_bench.sh - `version` round trips per second: pulsemqd vs memcached.
#
#   bench/version_bench.sh [BUILD_DIR]     (default: the current directory)
#
# Starts pulsemqd (port 0, its own temp dir) and memcached (-t 2, a free
# loopback port), runs bench/rtt_bench against each at 1 connection x 1 in
# flight, 50 x 1 and 50 x 32, three runs of SECONDS (default 2) each, and
# prints the median of each with the ratio pulsemq / memcached. Only
# loopback traffic; both servers are stopped at the end.
set -eu

build=${1:-.}
secs=${SECONDS_PER_RUN:-2}
pulsemqd=$build/pulsemqd
rtt=$build/bench/rtt_bench
memcached=${MEMCACHED:-/usr/bin/memcached}
[ -x "$pulsemqd" ] || { echo "no $pulsemqd (build first)" >&2; exit 1; }
[ -x "$rtt" ] || { echo "no $rtt (make bench/rtt_bench)" >&2; exit 1; }
[ -x "$memcached" ] || { echo "no memcached at $memcached" >&2; exit 1; }

tmp=$(mktemp -d)
pmq_pid= mc_pid=
cleanup() {
	[ -n "$pmq_pid" ] && kill "$pmq_pid" 2>/dev/null && wait "$pmq_pid" 2>/dev/null || true
	[ -n "$mc_pid" ] && kill "$mc_pid" 2>/dev/null && wait "$mc_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# heartbeat_queue_size above 50 x 32 so the deepest load is not answered 503.
"$pulsemqd" -o port=0 -o listen=127.0.0.1 -o port_file="$tmp/port" \
	-o data_dir="$tmp/data" -o heartbeat_queue_size=4096 -o log_level=warn \
	>"$tmp/pulsemqd.log" 2>&1 &
pmq_pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1)); [ $i -gt 200 ] && { cat "$tmp/pulsemqd.log" >&2; exit 1; }
	sleep 0.05
done
pmq_port=$(cat "$tmp/port")

# A free port for memcached: ask the kernel through python, else a guess.
mc_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 21311)
"$memcached" -l 127.0.0.1 -p "$mc_port" -U 0 -t 2 -u nobody >"$tmp/memcached.log" 2>&1 &
mc_pid=$!
i=0
until "$rtt" -m memcached -c 1 -d 1 -t 0.05 "$mc_port" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "memcached did not start" >&2; exit 1; }
	sleep 0.05
done

median3() { sort -n | sed -n 2p; }

run() { # mode port conns depth -> median ops/s
	for r in 1 2 3; do
		"$rtt" -m "$1" -c "$3" -d "$4" -t "$secs" "$2" | awk '{ print $2 }'
	done | median3
}

printf '%-22s %14s %14s %8s\n' "load" "pulsemq/s" "memcached/s" "ratio"
for load in "1 1" "50 1" "50 32"; do
	set -- $load
	p=$(run pmq "$pmq_port" "$1" "$2")
	m=$(run memcached "$mc_port" "$1" "$2")
	ratio=$(awk -v p="$p" -v m="$m" 'BEGIN { printf "%.2f", (m > 0 ? p / m : 0) }')
	printf '%-22s %14s %14s %8s\n' "$1 conn x $2 in flight" "$p" "$m" "$ratio"
done
busy=$("$rtt" -m pmq -c 50 -d 32 -t 0.5 "$pmq_port" | awk '{ print $6 }')
echo "(pulsemq answers other than 200 in a 0.5 s run at 50 x 32: $busy)"
