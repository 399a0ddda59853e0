#!/bin/sh
# run-fuzzer.sh FUZZER SEED_CORPUS SECONDS
# Runs a libFuzzer target over a copy of its committed seed corpus for SECONDS.  Any crash, leak,
# timeout or sanitizer report fails with exit status 1 (libFuzzer's own default, 77, would read
# as "skipped" to meson); the input that did it is kept and its path printed (libFuzzer also
# prints it in base64).  A clean run leaves nothing behind.
set -eu
fuzzer=$1
seeds=$2
seconds=$3
work=$(mktemp -d)
mkdir -p "$work/corpus"
if [ -d "$seeds" ]; then
	cp -r "$seeds"/. "$work/corpus/" 2>/dev/null || true
fi
cd "$work"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$work/" corpus || status=$?
cd /
if [ "$status" -ne 0 ]; then
	echo "run-fuzzer: $(basename "$fuzzer") failed (status $status); kept $work:" >&2
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$f" ] && echo "  $f" >&2
	done
	exit 1
fi
rm -rf "$work"
