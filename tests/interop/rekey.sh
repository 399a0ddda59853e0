#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interop (c): rekeying under traffic.  warren-wg divides every protocol timer by
# WARREN_WG_TIMER_SCALE (here WR_TIMER_SCALE, default 12: REKEY_AFTER_TIME 120 s -> 10 s,
# REJECT_AFTER_TIME 180 s -> 15 s).  A ping runs every 0.2 s from a warren-wg side, because only
# a sender rekeys; the latest-handshake time must change at least twice on both sides, and at
# most one echo may go unanswered.  A makes the first handshake in every pairing, so with
# warren-wg on B it starts as the responder and must renew the session itself before its
# keypair expires.  wireguard-go keeps its own 120 s timers; a pairing without warren-wg
# (the smoke run) needs 250 s and runs only with WR_SLOW=1.
# Environment: WARREN_WG, WIREGUARD_GO, WR_PAIRINGS, WR_TIMER_SCALE, WR_SLOW.

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
# shellcheck disable=SC2317 # (the scenario functions are called through run_scenario)
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"

scale=${WR_TIMER_SCALE:-12}
export WARREN_WG_TIMER_SCALE=$scale

# scaled TOKEN PATH: this side's timers are divided by the scale
scaled()
{
	[ "$1" = warren ] && ! impl_is_wggo "$2"
}

scenario()
{
	local impl_a=$1 impl_b=$2 tok_a=$3 tok_b=$4 period from to pingpid out
	local ha hb last_a=0 last_b=0 changes_a=-1 changes_b=-1 deadline
	period=$(((120 + scale - 1) / scale))
	if scaled "$tok_a" "$impl_a"; then
		from=A
	elif scaled "$tok_b" "$impl_b"; then
		from=B
	elif [ "${WR_SLOW:-0}" = 1 ]; then
		from=A
		period=120
	else
		wr_log "neither side runs warren-wg, so rekeying takes 250 s (set WR_SLOW=1)"
		return 77
	fi
	pair_up "$impl_a" "$impl_b"
	ping_until "$NS_A" "$WR_TUN_B" 10 || wr_fail "no ping answered A -> B within 10 s"
	wait_until 5 has_handshake "$NS_A" "$IF_A" || wr_fail "A reports no handshake"
	wait_until 5 has_handshake "$NS_B" "$IF_B" || wr_fail "B reports no handshake"

	if [ "$from" = A ]; then
		to=$WR_TUN_B
		from=$NS_A
	else
		to=$WR_TUN_A
		from=$NS_B
	fi
	out="$WR_TMP/rekey-ping.out"
	ip netns exec "$from" ping -n -i 0.2 "$to" >"$out" 2>&1 &
	pingpid=$!
	wr_track "$pingpid" ping
	wr_log "ping from $from to $to; waiting up to $((4 * period + 10)) s for two rekeys on each side"

	# two changes need up to REJECT_AFTER_TIME (1.5 periods, warren-wg as responder) plus one
	# more period, plus scheduling slack
	deadline=$(($(now_ms) + (4 * period + 10) * 1000))
	while (($(now_ms) < deadline)); do
		ha=$(wg_latest_handshake "$NS_A" "$IF_A") || wr_fail "wg show $IF_A failed"
		hb=$(wg_latest_handshake "$NS_B" "$IF_B") || wr_fail "wg show $IF_B failed"
		if [ "$ha" != "$last_a" ]; then
			changes_a=$((changes_a + 1))
			last_a=$ha
			wr_log "A: latest handshake $ha (change $changes_a)"
		fi
		if [ "$hb" != "$last_b" ]; then
			changes_b=$((changes_b + 1))
			last_b=$hb
			wr_log "B: latest handshake $hb (change $changes_b)"
		fi
		((changes_a >= 2 && changes_b >= 2)) && break
		pid_alive "$pingpid" || wr_fail "ping exited: $(tail -n 3 "$out")"
		sleep 0.5
	done
	kill -INT "$pingpid"
	wait_until 5 _wr_not_alive "$pingpid" || wr_fail "ping did not stop"
	daemons_alive
	((changes_a >= 2)) || wr_fail "A's latest handshake changed $changes_a times in $((4 * period + 10)) s, expected 2"
	((changes_b >= 2)) || wr_fail "B's latest handshake changed $changes_b times in $((4 * period + 10)) s, expected 2"

	# lost = transmitted - received, not counting one echo still in flight when ping stopped
	local sent got lastseq lost
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
	got=$(sed -n 's/.*transmitted, \([0-9]*\) received.*/\1/p' "$out")
	lastseq=$(sed -n 's/.*icmp_seq=\([0-9]*\) .*time=.*/\1/p' "$out" | tail -n 1)
	if [ -z "$sent" ] || [ -z "$got" ]; then
		wr_fail "cannot parse ping output: $(tail -n 3 "$out")"
	fi
	lost=$((sent - got))
	[ "${lastseq:-0}" != "$sent" ] && ((lost > 0)) && lost=$((lost - 1))
	wr_log "ping: $sent sent, $got answered, $lost lost (excluding one in flight at the end)"
	((lost <= 1)) || wr_fail "$lost echoes lost across the rekeys, at most 1 allowed: $(grep -v 'bytes from' "$out" | tail -n 5)"
	return 0
}

run_scenario rekey scenario
