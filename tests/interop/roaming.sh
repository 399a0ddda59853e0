#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interop (d): roaming.  After a handshake, B moves from 198.51.100.2 to 198.51.100.3 on the
# same veth (same listen port) and sends; A must switch its endpoint for B to the new address
# (wg show endpoints) and reach B again.  Run with warren-wg on side A (wireguard-go roams)
# and on side B (warren-wg roams).
#
# wireguard-go 0.0.20220316 cannot roam this way by itself: it sends with the source address it
# last used (IP_PKTINFO) and forgets it only when sendmsg fails with EINVAL, while this kernel
# (6.x) answers ENETUNREACH for a source address that is gone.  When B runs wireguard-go the test
# therefore re-sets B's endpoint for A after the move, which clears that cached source; A's side
# of the test (following the peer to its new address) is unchanged.  warren-wg gets no such
# help: like the kernel module it must notice that its source address is gone.
# Environment: WARREN_WG, WIREGUARD_GO, WR_PAIRINGS (tests/lib/netns.sh).

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
# shellcheck disable=SC2317 # (the scenario functions are called through run_scenario)
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"

endpoint_is()
{
	[ "$(wg_endpoint "$1" "$2")" = "$3" ]
}

scenario()
{
	local addrs
	pair_up "$1" "$2"
	ping_until "$NS_A" "$WR_TUN_B" 10 || wr_fail "no ping answered A -> B within 10 s"
	ping_all "$NS_B" "$WR_TUN_A" 5
	endpoint_is "$NS_A" "$IF_A" "$WR_UNDER_B:$WR_PORT_B" ||
		wr_fail "A shows endpoint '$(wg_endpoint "$NS_A" "$IF_A")' before the move, expected $WR_UNDER_B:$WR_PORT_B"

	# without promote_secondaries, deleting the primary address takes .3 with it
	nsx "$NS_B" sysctl -q -w "net.ipv4.conf.$VETH_B.promote_secondaries=1"
	nsx "$NS_B" ip addr add "$WR_UNDER_ROAM/24" dev "$VETH_B"
	nsx "$NS_B" ip addr del "$WR_UNDER_B/24" dev "$VETH_B"
	addrs=$(ip -n "$NS_B" -4 -o addr show dev "$VETH_B" | awk '{ print $4 }' | tr '\n' ' ')
	[ "$addrs" = "$WR_UNDER_ROAM/24 " ] || wr_fail "B's veth has '$addrs' after the move, expected $WR_UNDER_ROAM/24"
	wr_log "B moved to $WR_UNDER_ROAM"
	if impl_is_wggo "$2"; then
		nsx "$NS_B" wg set "$IF_B" peer "$PUB_A" endpoint "$WR_UNDER_A:$WR_PORT_A"
		wr_log "B is wireguard-go: endpoint re-set to drop its cached source address"
	fi

	ping_until "$NS_B" "$WR_TUN_A" 10 || wr_fail "after B moved to $WR_UNDER_ROAM, no ping answered B -> A within 10 s (does B still send from its removed address?)"
	wait_until 5 endpoint_is "$NS_A" "$IF_A" "$WR_UNDER_ROAM:$WR_PORT_B" ||
		wr_fail "A shows endpoint '$(wg_endpoint "$NS_A" "$IF_A")' for B after the move, expected $WR_UNDER_ROAM:$WR_PORT_B"
	ping_all "$NS_A" "$WR_TUN_B" 10
	ping_all "$NS_B" "$WR_TUN_A" 10
	xfer "$NS_A" "$NS_B" "$WR_TUN_B" 4194304
	endpoint_is "$NS_B" "$IF_B" "$WR_UNDER_A:$WR_PORT_A" ||
		wr_fail "B's endpoint for A changed to '$(wg_endpoint "$NS_B" "$IF_B")'"
	daemons_alive
	wr_log "A follows B to $WR_UNDER_ROAM:$WR_PORT_B"
	return 0
}

run_scenario roaming scenario
