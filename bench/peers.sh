#!/usr/bin/env bash
# peers.sh - pulsemqd beside memcached and redis, measured by the same
# load generator in one run.
#
#   bench/peers.sh [BUILD_DIR]      (default: ./build, or $PMQ_BUILD)
#
# Starts pulsemqd, memcached and redis-server on free loopback ports,
# then runs pulsemq-bench against each: `version` for pulsemq (answered by
# its heartbeat pool), `version\r\n` for memcached and `PING\r\n` for redis
# (raw line mode). Three shapes: 1 connection x 1 in flight, 50 x 1, 50 x 32.
# Each cell is the median of 3 runs of $PEERS_SECONDS (default 3) seconds,
# after a $PEERS_WARMUP (default 1) second warmup. Prints ops/s and p99 per
# system and the ratios pulsemq / peer (ops/s: higher is better for
# pulsemq; p99: lower is better). ops/s counts status-200 answers only: a
# 503 (heartbeat pool queue full) is fast but no work; its share is shown.
#
# Every server runs with its defaults on the same machine as the bench;
# numbers are for comparison within one run, not absolute.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${PMQ_BUILD:-$top/build}}
build=$(cd "$build" && pwd)
seconds=${PEERS_SECONDS:-3}
warmup=${PEERS_WARMUP:-1}
threads=${PEERS_THREADS:-2}
memcached=${MEMCACHED:-/usr/bin/memcached}
redis=${REDIS_SERVER:-/usr/bin/redis-server}

bench=$build/pulsemq-bench
pulsemqd=$build/pulsemqd
for bin in "$bench" "$pulsemqd" "$memcached" "$redis"; do
	[ -x "$bin" ] || { echo "peers.sh: $bin is missing (build first, or install it)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pmq-peers.XXXXXX")
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A loopback port nobody accepts on right now (another process could still
# take it before our server binds: then that server fails to start and we
# say so).
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "peers.sh: no free port found" >&2
	return 1
}

# Waits until something accepts on the port (10 s).
wait_port() {
	for _ in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "peers.sh: nothing listens on port $1 ($2)" >&2
	return 1
}

# pulsemqd on port 0: it writes the port it bound.
mkdir -p "$work/data"
"$pulsemqd" -o listen=127.0.0.1 -o port=0 -o port_file="$work/port" \
	-o data_dir="$work/data" -o log_level=warn 2>"$work/pulsemqd.log" &
pids+=($!)
for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "peers.sh: pulsemqd did not start:" >&2; cat "$work/pulsemqd.log" >&2; exit 1; }
pmq_port=$(cat "$work/port")

mc_port=$(free_port)
"$memcached" -l 127.0.0.1 -p "$mc_port" -U 0 -u "$(id -un)" 2>"$work/memcached.log" &
pids+=($!)
wait_port "$mc_port" memcached

redis_port=$(free_port)
"$redis" --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
	--daemonize no --logfile "$work/redis.log" >/dev/null &
pids+=($!)
wait_port "$redis_port" redis

# One run: prints "OPS P99" from the bench's JSON total line.
one_run() {
	local port=$1 conns=$2 depth=$3
	shift 3
	local t=$threads
	[ "$conns" -lt "$t" ] && t=$conns
	"$bench" -p "$port" -c "$conns" -T "$t" -P "$depth" -d "$seconds" --warmup "$warmup" \
		-q --json "$@" >"$work/run.json" || {
		echo "peers.sh: pulsemq-bench failed against port $port" >&2
		cat "$work/run.json" >&2
		return 1
	}
	# ops/s counts only status 200 (a busy broker's 503s are fast but are
	# not work done); the share of other answers is printed beside it.
	sed -n 's/.*"total": {"requests": \([0-9]*\), "ops_per_sec": \([0-9.]*\), "status": {"200": \([0-9]*\),.*"p99": \([0-9.]*\),.*/\1 \2 \3 \4/p' \
		"$work/run.json" |
		awk '{ ok = $1 > 0 ? $3 / $1 : 0; printf "%.1f %s %.1f\n", $2 * ok, $4, 100 * (1 - ok) }'
}

# Median of 3 runs, by ops/s (its p99 travels with it).
median_run() {
	for _ in 1 2 3; do one_run "$@"; done | sort -n -k1,1 | sed -n 2p
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

printf 'peers.sh: %s s per run (+%s s warmup), median of 3, %d bench threads, %d CPUs\n' \
	"$seconds" "$warmup" "$threads" "$(nproc)"
printf '%s, memcached %s, redis %s\n\n' \
	"$("$build/pulsemq" -p "$pmq_port" version 2>/dev/null || echo '?')" \
	"$("$memcached" -V 2>/dev/null | awk '{print $2}')" \
	"$("$redis" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
printf '%-7s | %12s %9s %6s | %12s %9s %6s %6s | %12s %9s %6s %6s\n' \
	shape "pulsemq op/s" "p99 us" "!200 %" "memcached" "p99 us" "x op/s" "x p99" \
	"redis op/s" "p99 us" "x op/s" "x p99"
for shape in 1x1 50x1 50x32; do
	conns=${shape%x*}
	depth=${shape#*x}
	read -r p_ops p_p99 p_bad < <(median_run "$pmq_port" "$conns" "$depth")
	read -r m_ops m_p99 _ < <(median_run "$mc_port" "$conns" "$depth" --raw 'version\r\n')
	read -r r_ops r_p99 _ < <(median_run "$redis_port" "$conns" "$depth" --raw 'PING\r\n')
	printf '%-7s | %12.0f %9.1f %6.1f | %12.0f %9.1f %6s %6s | %12.0f %9.1f %6s %6s\n' \
		"$shape" "$p_ops" "$p_p99" "$p_bad" "$m_ops" "$m_p99" "$(ratio "$p_ops" "$m_ops")" \
		"$(ratio "$p_p99" "$m_p99")" "$r_ops" "$r_p99" "$(ratio "$p_ops" "$r_ops")" \
		"$(ratio "$p_p99" "$r_p99")"
done
echo
echo "op/s: answers with status 200 per second; !200 %: pulsemq's other answers (503 busy)"
echo "x op/s = pulsemq ops/s / peer ops/s (above 1: pulsemq faster);" \
	"x p99 = pulsemq p99 / peer p99 (below 1: pulsemq lower)"
