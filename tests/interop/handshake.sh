#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interop (a): handshake without a preshared key, then pings and SHA-256-checked TCP transfers
# both ways.  B is given no endpoint for A, so A must initiate and B must learn A's address from
# the handshake; run with warren-wg on side A and on side B, each implementation initiates once.
# Environment: WARREN_WG, WIREGUARD_GO, WR_PAIRINGS (tests/lib/netns.sh).

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
# shellcheck disable=SC2317 # (the scenario functions are called through run_scenario)
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"

scenario()
{
	local ep
	WR_B_ENDPOINT=0 pair_up "$1" "$2"
	has_handshake "$NS_A" "$IF_A" && wr_fail "A reports a handshake before any traffic"
	ep=$(wg_endpoint "$NS_B" "$IF_B")
	[ "$ep" = "(none)" ] || wr_fail "B shows endpoint '$ep' before any handshake, expected (none)"

	ping_until "$NS_A" "$WR_TUN_B" 10 || wr_fail "no ping answered A -> B within 10 s"
	wait_until 5 has_handshake "$NS_A" "$IF_A" || wr_fail "A (initiator) reports no handshake"
	wait_until 5 has_handshake "$NS_B" "$IF_B" || wr_fail "B (responder) reports no handshake"
	ep=$(wg_endpoint "$NS_A" "$IF_A")
	[ "$ep" = "$WR_UNDER_B:$WR_PORT_B" ] || wr_fail "A shows endpoint '$ep', expected $WR_UNDER_B:$WR_PORT_B"
	ep=$(wg_endpoint "$NS_B" "$IF_B")
	[ "$ep" = "$WR_UNDER_A:$WR_PORT_A" ] ||
		wr_fail "B did not learn A's endpoint from the handshake: '$ep', expected $WR_UNDER_A:$WR_PORT_A"
	wr_log "handshake ok, initiated by A; B learned $ep"
	check_traffic
}

run_scenario handshake scenario
