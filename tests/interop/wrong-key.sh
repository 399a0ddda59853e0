#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interop (e): A is configured with a random public key instead of B's.  For 6 s of pings both
# ways (A's initiations fail B's mac1 check, B's initiations name a static key A does not know)
# no handshake may complete and no ping may be answered; both daemons must stay alive and keep
# answering wg show.  Then A gets B's real key and the tunnel must come up, which shows the
# failure came from the key.  Run with warren-wg on side A and on side B, so each implementation
# is once the side holding the wrong key.
# Environment: WARREN_WG, WIREGUARD_GO, WR_PAIRINGS (tests/lib/netns.sh).

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
# shellcheck disable=SC2317 # (the scenario functions are called through run_scenario)
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"

scenario()
{
	local deadline rounds=0
	WR_WRONG_PUB_ON=A pair_up "$1" "$2"
	deadline=$(($(now_ms) + 6000))
	while (($(now_ms) < deadline)); do
		ping_ok "$NS_A" "$WR_TUN_B" && wr_fail "ping A -> B answered although A has a wrong key for B"
		ping_ok "$NS_B" "$WR_TUN_A" && wr_fail "ping B -> A answered although A has a wrong key for B"
		rounds=$((rounds + 1))
	done
	for side in A B; do
		local ns="NS_$side" ifname="IF_$side" t
		t=$(wg_latest_handshake "${!ns}" "${!ifname}") || wr_fail "wg show ${!ifname} latest-handshakes failed on $side"
		[ "$t" = 0 ] || wr_fail "$side reports a handshake ($t) with a wrong key"
		ip netns exec "${!ns}" wg show "${!ifname}" >/dev/null || wr_fail "wg show ${!ifname} failed on $side"
	done
	daemons_alive
	wr_log "no handshake in 6 s ($rounds ping rounds each way), daemons alive, wg show answers"

	nsx "$NS_A" wg set "$IF_A" peer "$WRONG_PUB" remove
	nsx "$NS_A" wg set "$IF_A" peer "$PUB_B" endpoint "$WR_UNDER_B:$WR_PORT_B" \
		allowed-ips "$WR_TUN_B/32,$WR_TUN6_B/128"
	ping_until "$NS_A" "$WR_TUN_B" 10 || wr_fail "with the right key, no ping answered A -> B within 10 s"
	ping_all "$NS_B" "$WR_TUN_A" 5
	wait_until 5 has_handshake "$NS_A" "$IF_A" || wr_fail "A reports no handshake with the right key"
	wait_until 5 has_handshake "$NS_B" "$IF_B" || wr_fail "B reports no handshake with the right key"
	wr_log "with the right key the tunnel comes up"
	return 0
}

run_scenario wrong-key scenario
