#!/bin/sh
# ab_rtt.sh - two pulsemqd builds side by side, interleaved run by run.
#
#   bench/ab_rtt.sh OLD_PULSEMQD NEW_PULSEMQD CONNS DEPTH RUNS [RTT_BENCH]
#
# On a noisy machine a change is only visible when the old and the new
# daemon are measured in turns, in the same minutes. Starts both (port 0,
# temp dirs, heartbeat_queue_size=4096), runs rtt_bench against each in
# turn RUNS times (2 s each), prints "old new" per run and the medians.
set -eu

old=$1 new=$2 conns=$3 depth=$4 runs=$5
rtt=${6:-$(dirname "$2")/bench/rtt_bench}
tmp=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

start() { # BIN NAME: starts it, waits for its port file
	mkdir -p "$tmp/$2"
	"$1" -o port=0 -o listen=127.0.0.1 -o port_file="$tmp/$2/port" \
		-o data_dir="$tmp/$2/data" -o heartbeat_queue_size=4096 -o log_level=warn \
		>"$tmp/$2/log" 2>&1 &
	pids="$pids $!"
	i=0
	while [ ! -s "$tmp/$2/port" ]; do
		i=$((i + 1)); [ $i -gt 200 ] && { cat "$tmp/$2/log" >&2; exit 1; }
		sleep 0.05
	done
}

start "$old" old
start "$new" new
r=0
while [ $r -lt "$runs" ]; do
	o=$("$rtt" -c "$conns" -d "$depth" -t 2 "$(cat "$tmp/old/port")" | awk '{print $2}')
	n=$("$rtt" -c "$conns" -d "$depth" -t 2 "$(cat "$tmp/new/port")" | awk '{print $2}')
	echo "$o $n" | tee -a "$tmp/runs"
	r=$((r + 1))
done
mid=$(( (runs + 1) / 2 ))
echo "median old $(cut -d' ' -f1 "$tmp/runs" | sort -n | sed -n "${mid}p")" \
     "new $(cut -d' ' -f2 "$tmp/runs" | sort -n | sed -n "${mid}p")"
