#!/usr/bin/env bash
# dist/ci-package.sh - proves the packaging end to end on Debian 12, as root.
#
#   bash dist/ci-package.sh
#
#  1. installs the packaging tools (dpkg-dev, debhelper, lintian, rpm, curl,
#     logrotate) and the build dependencies named in debian/control;
#  2. `make dist` in build-pkg-ci/ (out of tree), unpacks the tarball into a
#     temporary directory and runs `dpkg-buildpackage -us -uc -b` there, so
#     the developer's tree is never written to (only build-pkg-ci/, which
#     holds the tarball, the .debs, the .rpms and the logs);
#  3. lintian on the .debs: any error fails, warnings are printed;
#  4. installs the .debs with apt, checks the pulsemq user, the data
#     directory (pulsemq, 0750), the conffile and the unit;
#  5. `systemd-analyze verify` on the installed unit;
#  6. runs the installed daemon as systemd would (its ExecStart, as the
#     pulsemq user; systemd is not PID 1 here) on a free port, round-trips a
#     message with the installed `pulsemq` CLI, scrapes /metrics, rotates
#     the log with the installed logrotate rules (SIGHUP, reopen), stops it
#     with SIGTERM and expects exit status 0;
#  7. removes the package (data and conffile stay), then purges it (both go);
#  8. `rpmbuild -tb --nodeps` on the same tarball (the spec's %check runs
#     `make check`).
#
# Test suite runs: dh_auto_test and the spec's %check each run `make check`.
# PMQ_PKG_TESTS=yes runs both, =no skips both (DEB_BUILD_OPTIONS=nocheck,
# rpmbuild --without check), =rpm (the default under CI=true, where .ci/run
# has already run the suite three times) skips the Debian run and keeps the
# RPM %check, so the spec's %check is still proven. Default outside CI: yes.
#
# Idempotent: a pulsemq package left installed by an earlier run is purged
# first; build-pkg-ci/ is recreated. Exit status 0 only if every step passed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build-pkg-ci"
tests=${PMQ_PKG_TESTS:-$([ "${CI:-}" = true ] && echo rpm || echo yes)}
jobs=$(nproc 2>/dev/null || echo 2)
tmp=$(mktemp -d /tmp/pulsemq-pkg.XXXXXX)
daemon_pid=
declare -a timings=()

say() { printf '\n=== ci-package: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
die() { printf '=== ci-package: FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -KILL "$daemon_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Runs one step and records how long it took.
timed() {
	local name=$1 t0=$SECONDS
	shift
	say "$name"
	"$@"
	timings+=("$(printf '%-28s %4d s' "$name" $((SECONDS - t0)))")
}

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and a system user)"

# --- 1. tools ----------------------------------------------------------------
install_tools() {
	export DEBIAN_FRONTEND=noninteractive
	local want=(dpkg-dev debhelper lintian rpm curl logrotate adduser
	            autoconf automake libtool pkgconf make gcc) missing=() p
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	# The Build-Depends of debian/control, read from the source tree.
	apt-get build-dep -y -qq "$top" >/dev/null
}

# --- 2. tarball and .debs -------------------------------------------------------
make_tarball() {
	rm -rf "$out"
	mkdir -p "$out/build"
	[ -x "$top/configure" ] || "$top/autogen.sh"
	(cd "$out/build" && "$top/configure" -q && make -s dist >/dev/null)
	tarball=$(ls "$out"/build/pulsemq-*.tar.gz)
	version=$(basename "$tarball" .tar.gz)
	version=${version#pulsemq-}
	cp "$tarball" "$out/"
	tarball="$out/$(basename "$tarball")"
	echo "tarball: $tarball"
}

build_debs() {
	local opts=${DEB_BUILD_OPTIONS:-}
	[ "$tests" = yes ] || opts="$opts nocheck"
	mkdir -p "$tmp/deb"
	tar -xzf "$tarball" -C "$tmp/deb"
	# The .orig tarball is not needed for a binary-only build, but keeps
	# dpkg-source quiet about the 3.0 (quilt) format.
	cp "$tarball" "$tmp/deb/pulsemq_${version}.orig.tar.gz"
	(cd "$tmp/deb/pulsemq-$version" &&
		DEB_BUILD_OPTIONS="$opts parallel=$jobs" dpkg-buildpackage -us -uc -b \
			>"$out/dpkg-buildpackage.log" 2>&1) ||
		{ tail -n 60 "$out/dpkg-buildpackage.log"; die "dpkg-buildpackage (log: $out/dpkg-buildpackage.log)"; }
	grep -E '^(# )?(TOTAL|PASS|FAIL|ERROR):' "$out/dpkg-buildpackage.log" | tail -n 6 || true
	mv "$tmp"/deb/*.deb "$tmp"/deb/*.changes "$tmp"/deb/*.buildinfo "$out/"
	ls -l "$out"/*.deb
}

# --- 3. lintian ----------------------------------------------------------------
run_lintian() {
	local rc=0
	lintian --fail-on error --display-level '>=warning' "$out"/*.deb \
		>"$out/lintian.log" 2>&1 || rc=$?
	cat "$out/lintian.log"
	[ $rc -eq 0 ] || die "lintian found errors"
}

# --- 4. install -------------------------------------------------------------------
purge_installed() {
	if dpkg-query -W -f='${Status}' pulsemq 2>/dev/null | grep -q 'installed\|config-files'; then
		dpkg --purge pulsemq libpulsemq-dev libpulsemq0 >/dev/null 2>&1
	fi
	# What an earlier run or a hand-started daemon left behind (a root-owned
	# lock file in the data directory stops the pulsemq user's daemon):
	# this check installs as a newcomer would, on a machine without them.
	rm -rf /var/lib/pulsemq /var/log/pulsemq /etc/pulsemq /run/pulsemq
}

install_debs() {
	purge_installed
	# The daemon's package alone, as a newcomer installs it.
	apt-get install -y -qq "$out"/pulsemq_*.deb >/dev/null ||
		die "apt install pulsemq_*.deb alone failed"
	pulsemq --help >/dev/null 2>&1 || die "the installed pulsemq CLI does not run"
	apt-get install -y -qq "$out"/libpulsemq0_*.deb "$out"/libpulsemq-dev_*.deb >/dev/null
	getent passwd pulsemq >/dev/null || die "no pulsemq user"
	[ "$(stat -c '%U:%G %a' /var/lib/pulsemq)" = "pulsemq:pulsemq 750" ] ||
		die "/var/lib/pulsemq is $(stat -c '%U:%G %a' /var/lib/pulsemq)"
	dpkg-query -W -f='${Conffiles}\n' pulsemq | grep -q /etc/pulsemq/pulsemqd.conf ||
		die "/etc/pulsemq/pulsemqd.conf is not a conffile"
	grep -q '^#max_connections = ' /etc/pulsemq/pulsemqd.conf ||
		die "the conffile does not list max_connections with its default"
	[ -x /usr/sbin/pulsemqd ] && [ -x /usr/bin/pulsemq ] || die "binaries missing"
	[ -f /usr/include/pulsemq.h ] && pkg-config --exists libpulsemq ||
		die "libpulsemq-dev: header or pkg-config file missing"
	# The systemd enablement is in place (dh_installsystemd), even though
	# systemd is not running here to start it.
	[ -L /etc/systemd/system/multi-user.target.wants/pulsemqd.service ] ||
		die "pulsemqd.service is not enabled"
	man -w pulsemqd >/dev/null && man -w pulsemq.conf >/dev/null ||
		die "man pages missing"
}

# --- 5. unit ------------------------------------------------------------------------
verify_unit() {
	local unit=/lib/systemd/system/pulsemqd.service log="$out/systemd-analyze.log"
	systemd-analyze verify "$unit" >"$log" 2>&1 || { cat "$log"; die "systemd-analyze verify"; }
	# verify exits 0 on some warnings; any output about our unit is a finding.
	if grep -i pulsemqd "$log"; then
		die "systemd-analyze verify reported the lines above"
	fi
	echo "systemd-analyze verify $unit: clean"
	systemd-analyze security --offline=yes "$unit" 2>/dev/null | tail -n 1 || true
}

# --- 6. run ----------------------------------------------------------------------
free_port() {
	local p
	for p in $(seq "$1" $(($1 + 50))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

# Waits up to $2 seconds for the command in $1 to succeed.
wait_for() {
	local deadline=$((SECONDS + $2))
	until eval "$1"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

run_daemon() {
	local exec_start run=/run/pulsemq port mport status
	# The unit's own command line, plus what a test run needs on top.
	exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/pulsemqd.service)
	[ "$exec_start" = "/usr/sbin/pulsemqd -c /etc/pulsemq/pulsemqd.conf" ] ||
		die "unexpected ExecStart: $exec_start"
	install -d -o pulsemq -g pulsemq -m 0750 "$run" # RuntimeDirectory=pulsemq
	rm -f "$run/port"
	mport=$(free_port 19123) || die "no free port for metrics"
	# shellcheck disable=SC2086
	setpriv --reuid=pulsemq --regid=pulsemq --init-groups -- $exec_start \
		-o port=0 -o port_file="$run/port" -o pidfile="$run/pulsemqd.pid" \
		-o log_file=/var/log/pulsemq/pulsemqd.log \
		-o metrics_listen="127.0.0.1:$mport" &
	daemon_pid=$!
	wait_for "[ -s $run/port ]" 30 || { cat /var/log/pulsemq/pulsemqd.log; die "pulsemqd did not start"; }
	port=$(cat "$run/port")
	echo "pulsemqd (pid $daemon_pid) on port $port, metrics on $mport"

	# A message round trip with the installed CLI.
	pulsemq -h 127.0.0.1 -p "$port" version
	cli_roundtrip "$port"

	# Prometheus scrape.
	curl -fsS "http://127.0.0.1:$mport/metrics" >"$out/metrics.txt" || die "scraping /metrics"
	grep -E '^pulsemq_connections_accepted_total [0-9]+' "$out/metrics.txt" ||
		{ cat "$out/metrics.txt"; die "/metrics lacks pulsemq_connections_accepted_total"; }
	grep -E '^pulsemq_pool_queue_depth\{pool="put"\} [0-9]+' "$out/metrics.txt" ||
		{ cat "$out/metrics.txt"; die "/metrics lacks the put pool's queue depth"; }
	grep -E '^pulsemq_command_duration_seconds_count\{command="put"\} [1-9]' "$out/metrics.txt" ||
		{ cat "$out/metrics.txt"; die "/metrics lacks the put latency histogram"; }
	grep -E '^pulsemq_sessions\{state="open"\} [0-9]+' "$out/metrics.txt" ||
		{ cat "$out/metrics.txt"; die "/metrics lacks sessions by state"; }
	grep -E '^pulsemq_available 1$' "$out/metrics.txt" ||
		{ cat "$out/metrics.txt"; die "/metrics lacks pulsemq_available 1"; }
	echo "/metrics: $(grep -c '^pulsemq_' "$out/metrics.txt") samples"

	# The shipped config's admin socket: 0600, owned by pulsemq; `pulsemq
	# ctl` (default path) works as root and as the pulsemq user.
	[ "$(stat -c '%U %a' "$run/admin.sock")" = "pulsemq 600" ] ||
		die "admin socket is $(stat -c '%U %a' "$run/admin.sock" 2>&1)"
	pulsemq ctl status | grep -qx 'state available' || die "pulsemq ctl status as root"
	setpriv --reuid=pulsemq --regid=pulsemq --init-groups -- pulsemq ctl status |
		grep -qx 'state available' || die "pulsemq ctl status as the pulsemq user"
	echo "pulsemq ctl status: available (root and pulsemq)"

	# logrotate renames the log and sends SIGHUP (pidfile branch: systemd is
	# not running); the daemon must reopen the log under its name.
	logrotate -f /etc/logrotate.d/pulsemq
	[ -f /var/log/pulsemq/pulsemqd.log.1 ] || die "logrotate did not rotate"
	wait_for "grep -q 'log reopened' /var/log/pulsemq/pulsemqd.log 2>/dev/null" 10 ||
		die "pulsemqd did not reopen its log after SIGHUP"
	echo "log rotated and reopened"

	kill -TERM "$daemon_pid"
	status=0
	wait "$daemon_pid" || status=$?
	daemon_pid=
	[ "$status" -eq 0 ] || { tail -n 20 /var/log/pulsemq/pulsemqd.log; die "pulsemqd exited $status after SIGTERM"; }
	echo "SIGTERM: exit status 0"
}

# put then get of one message through the installed CLI.
cli_roundtrip() {
	local port=$1 body="hello from ci-package $$"
	printf '%s' "$body" | pulsemq -h 127.0.0.1 -p "$port" put ci-package 0 >"$out/put.txt" ||
		die "pulsemq put"
	pulsemq -h 127.0.0.1 -p "$port" get ci-package 0 0 >"$out/get.txt" || die "pulsemq get"
	grep -qF "$body" "$out/get.txt" || { cat "$out/get.txt"; die "get did not return the message put"; }
	echo "CLI round trip: put + get of one message"
}

# --- 7. purge ------------------------------------------------------------------------
purge_debs() {
	# remove keeps data, logs and configuration; purge removes them.
	apt-get remove -y -qq pulsemq libpulsemq-dev libpulsemq0 >/dev/null
	[ -d /var/lib/pulsemq ] && [ -f /etc/pulsemq/pulsemqd.conf ] ||
		die "remove (not purge) deleted the data directory or the conffile"
	# dpkg, not apt: apt no longer knows packages removed without conffiles.
	dpkg --purge pulsemq libpulsemq-dev libpulsemq0 >/dev/null 2>&1
	[ ! -e /var/lib/pulsemq ] || die "purge left /var/lib/pulsemq"
	[ ! -e /etc/pulsemq/pulsemqd.conf ] || die "purge left the conffile"
	echo "purged: /var/lib/pulsemq and /etc/pulsemq removed"
}

# --- 8. rpm ------------------------------------------------------------------------
build_rpm() {
	local with=()
	[ "$tests" = no ] && with=(--without check)
	rpmbuild -tb --nodeps "${with[@]}" --define "_topdir $tmp/rpm" \
		--define "_smp_mflags -j$jobs" "$tarball" >"$out/rpmbuild.log" 2>&1 ||
		{ tail -n 60 "$out/rpmbuild.log"; die "rpmbuild (log: $out/rpmbuild.log)"; }
	find "$tmp/rpm/RPMS" -name '*.rpm' -exec mv {} "$out/" \;
	ls -l "$out"/*.rpm
	rpm -qlp "$out"/pulsemq-"$version"-*.x86_64.rpm 2>/dev/null | grep -E 'pulsemqd|\.service' || true
}

t_all=$SECONDS
timed "tools and build deps" install_tools
timed "make dist" make_tarball
timed "dpkg-buildpackage (tests: $([ "$tests" = yes ] && echo yes || echo no))" build_debs
timed "lintian" run_lintian
timed "install" install_debs
timed "systemd-analyze verify" verify_unit
timed "run installed daemon" run_daemon
timed "purge" purge_debs
timed "rpmbuild (%check: $([ "$tests" = no ] && echo no || echo yes))" build_rpm

say "summary"
printf '  %s\n' "${timings[@]}"
printf '  %-28s %4d s\n' "total" $((SECONDS - t_all))
echo "=== ci-package: all steps passed; artifacts in $out"
