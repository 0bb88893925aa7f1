#!/bin/sh
# dist/test-conffile.sh - the packaged pulsemqd.conf against the config table
# (TAP). The file is generated from `pulsemqd --dump-config-table`; this
# checks that it lists every key with its default, and that the daemon
# accepts it with every key uncommented (so no default in it is invalid).
set -u

bin=${PULSEMQD:?PULSEMQD is set by make check}
build=$(dirname "$bin")
conf="$build/dist/pulsemqd.conf"
tmp=$(mktemp -d "${PMQ_TEST_TMPDIR:-/tmp}/conffile.XXXXXX")
pid=
trap 'if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null; fi; rm -rf "$tmp"' EXIT
n=0
fails=0

ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}

echo "1..5"

[ -f "$conf" ]
ok $? "the build generated dist/pulsemqd.conf"

"$bin" --dump-config-table > "$tmp/table" 2>&1
ok $? "pulsemqd --dump-config-table exits 0"

# Every [system] key appears exactly as "#KEY = DEFAULT" (or "#KEY =").
missing=$(awk -F '\t' '$1 == "system" { print ($3 == "" ? "#" $2 " =" : "#" $2 " = " $3) }' "$tmp/table" |
	while IFS= read -r line; do grep -qxF "$line" "$conf" || echo "$line"; done)
[ -z "$missing" ]
ok $? "every key is listed with its default${missing:+ (missing: $missing)}"

# Uncomment every [system] key (the per-topic example below stays commented).
awk '/^# Per-topic overrides/ { topic = 1 }
     !topic && /^#[a-z_]+ =/ { sub(/^#/, "") } { print }' "$conf" > "$tmp/all.conf"
# (The package's admin_socket is under /run/pulsemq: kept in $tmp here.)
"$bin" -c "$tmp/all.conf" -o port=0 -o "port_file=$tmp/port" -o "data_dir=$tmp/data" \
	-o "admin_socket=$tmp/admin.sock" -o shutdown_drain_ms=0 \
	> "$tmp/log" 2>&1 &
pid=$!
# Wait for the port file (written once the daemon accepts), up to 20 s:
# generous for sanitizer builds; only a hang reaches it.
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 200 ] && kill -0 "$pid" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
[ -s "$tmp/port" ]
rc=$?
ok $rc "pulsemqd starts with every key of the file uncommented"
[ $rc -eq 0 ] || sed 's/^/# | /' "$tmp/log"

kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
pid=
ok $rc "and stops with status 0 on SIGTERM"

exit $((fails > 0))
