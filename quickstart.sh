#!/usr/bin/env bash
# quickstart.sh - from a fresh Debian 12 checkout to a running broker or a
# green test suite, in one command.
#
#   ./quickstart.sh run    install what is missing, build, start pulsemqd in the
#                          foreground on 127.0.0.1:8123 with data in ./var
#   ./quickstart.sh cluster  install what is missing, build, start a private
#                          ZooKeeper (127.0.0.1:2181) and three brokers (ids
#                          0, 1, 2 on 8123-8125) with data in ./var/cluster,
#                          print the commands to try; Ctrl-C stops them all
#   ./quickstart.sh test   install what is missing, build, run every test
#   ./quickstart.sh build  install what is missing and build only
#
# The build lives in ./build (out of tree), so sanitizer builds can sit
# beside it. autogen.sh and configure run only when their output is missing;
# make itself decides what to rebuild.
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
build="$top/build"
jobs=$(nproc 2>/dev/null || echo 2)

# Every Debian package the build and the test suite use (zookeeper and a
# JRE: the registry tests run a real ZooKeeper server). .ci/run adds what
# only CI needs (clang for TSan and the fuzzers).
build_deps=(gcc make autoconf automake libtool pkgconf
            libck-dev libinih-dev zlib1g-dev libsystemd-dev
            libmicrohttpd-dev libzookeeper-mt-dev
            zookeeper default-jre-headless)

say() { printf 'quickstart: %s\n' "$*" >&2; }

missing_packages() {
	local pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			printf '%s\n' "$pkg"
	done
}

# Installs the given packages when any is missing: as root with apt-get, and
# otherwise prints the exact command to run and stops.
ensure_packages() {
	local missing
	missing=$(missing_packages "$@" | tr '\n' ' ')
	[ -z "${missing// /}" ] && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		say "missing packages: $missing (this script knows Debian's apt-get only)"
		exit 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		say "missing packages: $missing"
		say "run:  sudo apt-get update && sudo apt-get install -y $missing"
		exit 1
	fi
	say "installing: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

build_tree() {
	ensure_packages "${build_deps[@]}"
	if [ ! -x "$top/configure" ]; then
		say "generating configure (autogen.sh)"
		"$top/autogen.sh"
	fi
	mkdir -p "$build"
	if [ ! -f "$build/Makefile" ]; then
		say "configuring in build/"
		(cd "$build" && "$top/configure" -q)
	fi
	say "building"
	make -C "$build" -j"$jobs" -s
}

run_tests() {
	build_tree
	say "running the test suite"
	if ! make -C "$build" -j"$jobs" check; then
		say "tests failed; the failing logs follow"
		cat "$build/test-suite.log" >&2 || true
		exit 1
	fi
}

run_daemon() {
	build_tree
	mkdir -p "$top/var"
	say "starting pulsemqd on 127.0.0.1:8123 with data in ./var (Ctrl-C stops it)"
	exec "$build/pulsemqd" -l 127.0.0.1 -p 8123 -D "$top/var" "$@"
}

# ---- quickstart.sh cluster -------------------------------------------------
# A private ZooKeeper and three brokers on loopback, all children of this
# script, stopped by their PIDs on Ctrl-C. $QUICKSTART_ZK_PORT (2181) and
# $QUICKSTART_PORT (8123: brokers on 8123, 8124, 8125) move the ports;
# $QUICKSTART_DIR (./var/cluster) the data; $PULSEMQD and $PULSEMQ_CLI, when
# both set, are the binaries to use instead of building (the test does so).
cluster_brokers=3
cluster_start_s=90 # a JVM on a loaded 2-core machine
cluster_pids=()

cluster_stop() {
	local pid i
	trap - INT TERM EXIT
	# Brokers first, ZooKeeper last: a broker closes its session (its
	# ephemeral nodes go with it) before the server stops.
	for ((i = ${#cluster_pids[@]} - 1; i >= 0; i--)); do
		pid=${cluster_pids[i]}
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	cluster_pids=()
	say "cluster stopped"
}

# "ruok" answered "imok" on the ZooKeeper port.
zk_ruok() (
	answer=""
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf ruok >&3
	read -r -t 2 -n 4 answer <&3 || true
	[ "$answer" = imok ]
) 2>/dev/null

# Waits up to cluster_start_s for "$@" to succeed while $pid lives.
cluster_wait() {
	local pid=$1 what=$2 log=$3 end=$((SECONDS + cluster_start_s))
	shift 3
	until "$@"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			say "$what exited during start-up; the end of $log:"
			tail -n 20 "$log" >&2 || true
			exit 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			say "$what not ready after ${cluster_start_s}s; see $log"
			exit 1
		fi
		sleep 0.2
	done
}

run_cluster() {
	local dir=${QUICKSTART_DIR:-$top/var/cluster}
	local zk_port=${QUICKSTART_ZK_PORT:-2181} base=${QUICKSTART_PORT:-8123}
	local jar=${PMQ_ZK_CLASSPATH:-/usr/share/java/zookeeper.jar}
	local pulsemqd=${PULSEMQD:-} cli=${PULSEMQ_CLI:-} b pid zk port

	if [ -n "$pulsemqd" ] && [ -n "$cli" ]; then
		ensure_packages zookeeper default-jre-headless
	else
		build_tree
		pulsemqd=$build/pulsemqd
		cli=$build/pulsemq
	fi
	if zk_ruok "$zk_port"; then
		say "something already answers ZooKeeper's ruok on 127.0.0.1:$zk_port;"
		say "stop it or set QUICKSTART_ZK_PORT"
		exit 1
	fi
	mkdir -p "$dir/zk"
	cat >"$dir/zoo.cfg" <<-EOT
		tickTime=500
		dataDir=$dir/zk
		clientPort=$zk_port
		clientPortAddress=127.0.0.1
		admin.enableServer=false
		4lw.commands.whitelist=ruok,stat
	EOT
	# Topic orders is configured, so every broker registers it at start.
	printf '[system]\nnum_partitions = 2\n[topic=orders]\nnum_partitions = 2\n' \
		>"$dir/pulsemq.conf"
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap cluster_stop EXIT
	say "starting ZooKeeper on 127.0.0.1:$zk_port (log $dir/zk.log)"
	java -Xmx256m -cp "$jar" org.apache.zookeeper.server.ZooKeeperServerMain \
		"$dir/zoo.cfg" >"$dir/zk.log" 2>&1 &
	cluster_pids+=($!)
	echo "$!" >"$dir/zk.pid"
	cluster_wait "$!" ZooKeeper "$dir/zk.log" zk_ruok "$zk_port"
	zk=127.0.0.1:$zk_port
	for ((b = 0; b < cluster_brokers; b++)); do
		port=0
		if [ "$base" -ne 0 ]; then port=$((base + b)); fi
		mkdir -p "$dir/data$b"
		rm -f "$dir/port$b"
		"$pulsemqd" -c "$dir/pulsemq.conf" -l 127.0.0.1 -p "$port" -D "$dir/data$b" \
			-o port_file="$dir/port$b" -o broker_id="$b" -o zk_connect="$zk" \
			-o zk_session_timeout_ms=5000 \
			-o admin_socket="$dir/admin$b.sock" >"$dir/broker$b.log" 2>&1 &
		pid=$!
		cluster_pids+=("$pid")
		echo "$pid" >"$dir/broker$b.pid"
	done
	for ((b = 0; b < cluster_brokers; b++)); do
		pid=${cluster_pids[b + 1]}
		cluster_wait "$pid" "broker $b" "$dir/broker$b.log" \
			cluster_registered "$cli" "$dir/admin$b.sock"
	done
	cluster_banner "$cli" "$zk" "$dir"
	if [ -n "${QUICKSTART_SECONDS:-}" ]; then
		sleep "$QUICKSTART_SECONDS" &
		wait $! || true
		exit 0
	fi
	# Any child ending (a drained broker) ends the wait; go on waiting
	# until Ctrl-C, which the INT trap turns into cluster_stop.
	while :; do
		wait -n || true
		sleep 1
	done
}

# The broker answers on its admin socket and its registry is connected.
cluster_registered() {
	"$1" -S "$2" ctl status 2>/dev/null | grep -q '^registry connected$'
}

cluster_banner() {
	local cli=$1 zk=$2 dir=$3 b ports=""
	for ((b = 0; b < cluster_brokers; b++)); do
		ports+=" $(cat "$dir/port$b")"
	done
	cat <<-EOT
		quickstart: cluster ready: ZooKeeper $zk, brokers 0 1 2 on ports$ports
		(2 partitions per topic), data and logs in $dir. Ctrl-C stops everything.

		Produce and consume through discovery (in another terminal):
		  echo hello | $cli -z $zk put orders
		  $cli -z $zk get orders 0-0 0        # BROKER-PARTITION OFFSET
		  $cli -z $zk get orders 1-1 0
		Take broker 1 offline, and back:
		  $cli -S $dir/admin1.sock ctl offline
		  $cli -S $dir/admin1.sock ctl status
		  $cli -S $dir/admin1.sock ctl online
		Stop broker 2 once drained (up to 10 s):
		  $cli -S $dir/admin2.sock ctl drain 10
		Look at the registry:
		  /usr/share/zookeeper/bin/zkCli.sh -server $zk ls -R /meta/brokers
	EOT
}

case "${1:-}" in
run)   shift; run_daemon "$@" ;;
test)  run_tests ;;
cluster) run_cluster ;;
build) build_tree ;;
*)
	echo "usage: $0 run|cluster|test|build" >&2
	exit 2
	;;
esac
