#!/bin/sh
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# with-postgres.sh COMMAND [ARG...]: runs COMMAND with a real PostgreSQL 15 of its own, started
# as the postgres user on a Unix socket in a temporary directory (no TCP), and tells it where
# through WARREN_TEST_PG_DIR (libpq: host=$WARREN_TEST_PG_DIR user=postgres).  The server is
# stopped and the directory removed however COMMAND ends.  Exits 77 (skipped) without root or
# PostgreSQL, as tests/unit/test-store.c does.
set -eu

bindir=/usr/lib/postgresql/15/bin
if [ "$(id -u)" -ne 0 ]; then
	echo "# SKIP PostgreSQL runs as the postgres user: needs root"
	exit 77
fi
if [ ! -x "$bindir/initdb" ] || ! id postgres >/dev/null 2>&1 || ! command -v runuser >/dev/null; then
	echo "# SKIP PostgreSQL 15, its user or runuser is not installed"
	exit 77
fi

dir=$(mktemp -d /tmp/wr-pg-XXXXXX)
cleanup() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chown postgres: "$dir"
chmod 0700 "$dir"
(cd / && runuser -u postgres -- "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
	--no-sync >"$dir/initdb.log" 2>&1) || { cat "$dir/initdb.log" >&2; exit 1; }
(cd / && runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" \
	-o "-k $dir -c listen_addresses='' -c fsync=off" -w start >/dev/null) ||
	{ cat "$dir/log" >&2; exit 1; }
# the test (root) reaches the socket through the directory
chmod 0711 "$dir"
WARREN_TEST_PG_DIR=$dir "$@"
