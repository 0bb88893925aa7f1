#!/usr/bin/env bash
# quickstart.sh - from a fresh Debian 12 checkout to a running broker or a
# green test suite, in one command.
#
#   ./quickstart.sh run    install what is missing, build, start pulsemqd in the
#                          foreground on 127.0.0.1:8123 with data in ./var
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

case "${1:-}" in
run)   shift; run_daemon "$@" ;;
test)  run_tests ;;
build) build_tree ;;
*)
	echo "usage: $0 run|test|build" >&2
	exit 2
	;;
esac
