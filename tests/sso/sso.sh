#!/bin/sh
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One browser sign-in scenario (tests/sso/run.mjs) against the real provider and Chromium.
# Skips (77) only when what it needs is not installed, and says what: tools/bootstrap installs
# chromium and runs `npm ci` in tests/sso.  Environment: WR_SSO_HARNESS (set by meson).
set -eu
here=$(dirname "$(readlink -f "$0")")
chromium=${WR_SSO_CHROMIUM:-/usr/bin/chromium}

if ! command -v node >/dev/null 2>&1; then
	echo "SKIP: node is not installed (tools/bootstrap)"
	exit 77
fi
if [ ! -x "$chromium" ]; then
	echo "SKIP: $chromium is not installed (tools/bootstrap installs the chromium package)"
	exit 77
fi
if [ ! -d "$here/node_modules/oidc-provider" ] || [ ! -d "$here/node_modules/playwright-core" ]; then
	echo "SKIP: tests/sso/node_modules is missing (tools/bootstrap runs npm ci there)"
	exit 77
fi
exec node "$here/run.mjs" "$@"
