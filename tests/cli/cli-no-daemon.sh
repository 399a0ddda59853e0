#!/bin/sh
# The warren CLI without a daemon, on a real private bus (dbus-daemon --session): the exit codes
# scripts rely on (docs/cli.md) and help that needs no daemon, and with WARREN_LOCALEDIR (the
# build tree's po/) the same errors in Chinese and German.  With warrend, the CLI is tested in
# the system suite.
# Usage: WARREN_CLI=path/to/warren [WARREN_LOCALEDIR=build/po] tests/cli/cli-no-daemon.sh
set -u

cli=${WARREN_CLI:?WARREN_CLI must name the warren binary}
command -v dbus-daemon >/dev/null 2>&1 || { echo "dbus-daemon missing: skipped"; exit 77; }

dir=$(mktemp -d)
trap 'kill "$bus_pid" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
dbus-daemon --session --nofork --print-address=3 --print-pid=4 3>"$dir/address" 4>"$dir/pid" &
bus_pid=$!
i=0
while [ ! -s "$dir/address" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
address=$(head -n1 "$dir/address")
[ -n "$address" ] || { echo "FAIL: dbus-daemon gave no address"; exit 1; }

failed=0
# expect CODE PATTERN COMMAND...: exit status CODE, and PATTERN (grep -E) in stdout+stderr
expect() {
	want=$1
	pattern=$2
	shift 2
	out=$("$@" 2>&1)
	got=$?
	if [ "$got" -ne "$want" ] || ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
		echo "FAIL: $* -> exit $got (want $want), output:"
		printf '%s\n' "$out" | sed 's/^/    /'
		failed=1
	else
		echo "ok: $* -> $got"
	fi
}

export LC_ALL=C.UTF-8
# English unless a check asks for a language
unset LANGUAGE
expect 2 'Usage: warren' "$cli"
expect 0 'Usage: warren' "$cli" --help
expect 2 'unknown command' "$cli" frobnicate
expect 0 '^[0-9]+\.[0-9]+\.[0-9]+$' "$cli" version
expect 0 '"version"' "$cli" version --json
expect 2 'too many arguments' "$cli" version extra
expect 0 'PEER' "$cli" ping --help
expect 0 'DURATION\|TIME' "$cli" log --help
expect 3 'warrend is not running' "$cli" --bus "$address" status
expect 3 'warrend is not running' "$cli" --bus "$address" up --auth-key k
expect 3 'warrend is not running' env WARREN_BUS_ADDRESS="$address" "$cli" ip
expect 3 'cannot connect to the bus' "$cli" --bus "unix:path=$dir/nothing-here" status

# translated: gettext reads LANGUAGE under any locale but C/POSIX, so C.UTF-8 will do and no
# system locale has to be generated
if [ -n "${WARREN_LOCALEDIR:-}" ]; then
	expect 3 '^warren: warrend 未在运行（此总线上没有进程拥有 io\.github\.warrenvpn\.Engine1）$' \
		env LANGUAGE=zh_CN LANG=C.UTF-8 "$cli" --bus "$address" status
	expect 3 '无法连接到总线' env LANGUAGE=zh_CN "$cli" --bus "unix:path=$dir/nothing-here" status
	expect 2 '^用法：warren \[--bus 地址\] 命令 \[选项\]$' env LANGUAGE=zh_CN "$cli"
	expect 2 '未知命令“frobnicate”' env LANGUAGE=zh_CN "$cli" frobnicate
	expect 3 'warrend läuft nicht' env LANGUAGE=de "$cli" --bus "$address" status
	expect 3 "warrend n’est pas lancé" env LANGUAGE=fr "$cli" --bus "$address" status
	# machine output is not translated
	expect 0 '"version"' env LANGUAGE=zh_CN "$cli" version --json
else
	echo "WARREN_LOCALEDIR unset: translated runs skipped"
fi
exit $failed
