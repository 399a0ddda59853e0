#!/bin/sh
# run-fuzzer.sh FUZZER SEED_CORPUS SECONDS
# Runs a libFuzzer target over a copy of its committed seed corpus for SECONDS; fails on any
# crash, leak, timeout or sanitizer report with exit status 1 (libFuzzer's own default, 77,
# would read as "skipped" to meson) and leaves the crash-* file beside the corpus copy.
set -eu
fuzzer=$1
seeds=$2
seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
if [ -d "$seeds" ]; then
	cp -r "$seeds"/. "$work/corpus/" 2>/dev/null || true
fi
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-artifact_prefix="$work/" corpus
