#!/bin/sh
# run-fuzzer.sh FUZZER SEED_CORPUS SECONDS
# Runs a libFuzzer target over a copy of its committed seed corpus for SECONDS; fails on any
# crash, leak or sanitizer report (libFuzzer exits non-zero and leaves a crash-* file).
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
	-artifact_prefix="$work/" corpus
