#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interop (b): the same as handshake.sh with a preshared key.  First the two sides hold different
# preshared keys, and no handshake may complete (so the key is really used); then B gets the
# right key, A's peer is re-added (dropping its handshake retry state), and the tunnel must work.
# Environment: WARREN_WG, WIREGUARD_GO, WR_PAIRINGS (tests/lib/netns.sh).

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
# shellcheck disable=SC2317 # (the scenario functions are called through run_scenario)
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"

no_handshake_for()
{
	local secs=$1 deadline
	deadline=$(($(now_ms) + secs * 1000))
	while (($(now_ms) < deadline)); do
		ping_ok "$NS_A" "$WR_TUN_B" && wr_fail "ping A -> B answered with mismatched preshared keys"
		has_handshake "$NS_A" "$IF_A" && wr_fail "A completed a handshake with mismatched preshared keys"
		has_handshake "$NS_B" "$IF_B" && wr_fail "B completed a handshake with mismatched preshared keys"
	done
}

scenario()
{
	local want got
	WR_PSK=1 pair_up "$1" "$2"
	want=$(cat "$WR_TMP/pair.psk")

	wg_psk other
	nsx "$NS_B" wg set "$IF_B" peer "$PUB_A" preshared-key "$WR_TMP/other.psk"
	no_handshake_for 3
	daemons_alive
	wr_log "no handshake with mismatched preshared keys"

	nsx "$NS_B" wg set "$IF_B" peer "$PUB_A" preshared-key "$WR_TMP/pair.psk"
	nsx "$NS_A" wg set "$IF_A" peer "$PUB_B" remove
	nsx "$NS_A" wg set "$IF_A" peer "$PUB_B" preshared-key "$WR_TMP/pair.psk" \
		endpoint "$WR_UNDER_B:$WR_PORT_B" allowed-ips "$WR_TUN_B/32,$WR_TUN6_B/128"
	for side in A B; do
		local ns="NS_$side" ifname="IF_$side"
		got=$(ip netns exec "${!ns}" wg show "${!ifname}" preshared-keys | awk '{ print $2; exit }')
		[ "$got" = "$want" ] || wr_fail "$side shows preshared key '$got', expected '$want'"
	done

	ping_until "$NS_A" "$WR_TUN_B" 10 || wr_fail "no ping answered A -> B within 10 s with the same preshared key"
	wait_until 5 has_handshake "$NS_A" "$IF_A" || wr_fail "A reports no handshake"
	wait_until 5 has_handshake "$NS_B" "$IF_B" || wr_fail "B reports no handshake"
	wr_log "handshake ok with a preshared key"
	check_traffic
}

run_scenario psk scenario
