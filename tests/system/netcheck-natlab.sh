#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# netcheck in the NAT lab (tests/lib/natlab.sh): two coturn STUN servers on two addresses of
# the lab's internet are the DERP regions 901 and 902 of a generated map, and
# wr-netcheck-probe runs one report from hosts behind different routers:
#
#   easy NAT (masquerade)               UDP, MappingVariesByDestIP false, GlobalV4 = the
#                                       router's WAN address with the host's own port
#   hard NAT (random,fully-random)      UDP, MappingVariesByDestIP true, GlobalV4 on the WAN
#   a router that drops outbound UDP    no UDP (the report ends at the 3 s STUN limit)
#   easy NAT, one region 40 ms away     PreferredDERP is the other one, both ways round
#
# The servers sit behind the lab's delay line (tests/lib/delayline.py), which stands in for
# `tc ... netem delay` on kernels without sch_netem.
#
# As root: WR_NETCHECK_PROBE=_build/dev/tests/system/wr-netcheck-probe \
#   tests/system/netcheck-natlab.sh
# Exits 77 without root, nft, python3, /dev/net/tun, turnserver or the probe; WR_KEEP_TMP=1 keeps the logs.

set -u

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/natlab.sh
. "$(dirname "$(readlink -f "$0")")/../lib/natlab.sh"

STUN1=$NATLAB_INET_NET.10
STUN2=$NATLAB_INET_NET.20
DELAY_MS=40

natlab_need
[ -n "${WR_NETCHECK_PROBE:-}" ] || wr_skip "WR_NETCHECK_PROBE is unset (the meson test sets it)"
[ -x "$WR_NETCHECK_PROBE" ] || wr_skip "WR_NETCHECK_PROBE=$WR_NETCHECK_PROBE is not an executable"
command -v python3 >/dev/null 2>&1 || wr_skip "python3 is not installed"
if [ -z "${TURNSERVER:-}" ] && ! command -v turnserver >/dev/null 2>&1; then
	wr_skip "turnserver (coturn) is not installed"
fi
wr_init

# field FILE NAME: a top-level field of a report, as JSON text (true, false, null, "x", 12)
field()
{
	python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' \
		"$1" "$2"
}

# latency FILE REGION: the region's overall latency in µs, 0 when none
latency()
{
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["RegionLatencyUs"].get(sys.argv[2], 0))' \
		"$1" "$2"
}

# expect FILE NAME VALUE: fail unless the field is VALUE (JSON text)
expect()
{
	local got
	got=$(field "$1" "$2") || wr_fail "$(basename "$1"): no field $2"
	[ "$got" = "$3" ] || wr_fail "$(basename "$1"): $2 is $got, expected $3 ($(cat "$1"))"
}

# probe N NAME: one report from host N into $WR_TMP/NAME.json, whose path is left in $out (not
# a subshell, so that a failure ends the test)
probe()
{
	local err="$WR_TMP/$2.err"
	out="$WR_TMP/$2.json"
	ip netns exec "$(natlab_host_ns "$1")" "$WR_NETCHECK_PROBE" --derp-map "$WR_TMP/derpmap.json" \
		>"$out" 2>"$err" || wr_fail "wr-netcheck-probe on host $1 failed: $(cat "$err")"
	wr_log "$2: $(cat "$out")"
}

natlab_inet
natlab_servers
natlab_server_addr "$STUN1"
natlab_server_addr "$STUN2"
natlab_turnserver "$STUN1"
natlab_turnserver "$STUN2"
cat >"$WR_TMP/derpmap.json" <<JSON
{
  "Regions": {
    "901": { "RegionID": 901, "RegionCode": "one", "RegionName": "STUN one",
      "Nodes": [ { "Name": "901a", "RegionID": 901, "HostName": "stun1.natlab.test",
        "IPv4": "$STUN1", "IPv6": "none", "STUNPort": 3478, "STUNOnly": true } ] },
    "902": { "RegionID": 902, "RegionCode": "two", "RegionName": "STUN two",
      "Nodes": [ { "Name": "902a", "RegionID": 902, "HostName": "stun2.natlab.test",
        "IPv4": "$STUN2", "IPv6": "none", "STUNPort": 3478, "STUNOnly": true } ] }
  },
  "omitDefaultRegions": true
}
JSON

natlab_router 0 easy
natlab_router 1 hard
natlab_router 2 easy block-udp

# easy NAT: one mapping for every destination, on the WAN address, with the host's own port
probe 0 easy
expect "$out" UDP true
expect "$out" IPv4 true
expect "$out" MappingVariesByDestIP false
local_port=$(field "$out" LocalV4 | tr -d '"')
local_port=${local_port##*:}
expect "$out" GlobalV4 "\"$(natlab_wan_addr 0):$local_port\""
# every reply saw that one mapping (a set may get more than one reply)
counters=$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["GlobalV4Counters"]))' "$out")
[ "$counters" = "$(natlab_wan_addr 0):$local_port" ] || wr_fail "easy: mapped addresses seen: $counters"
((0 < $(latency "$out" 901) && 0 < $(latency "$out" 902))) || wr_fail "easy: a region has no latency"
wr_log "ok easy NAT: GlobalV4 $(natlab_wan_addr 0):$local_port, mapping does not vary"

# hard NAT: another port for each server
probe 1 hard
expect "$out" UDP true
expect "$out" MappingVariesByDestIP true
global=$(field "$out" GlobalV4 | tr -d '"')
[ "${global%:*}" = "$(natlab_wan_addr 1)" ] || wr_fail "hard: GlobalV4 $global is not on $(natlab_wan_addr 1)"
wr_log "ok hard NAT: GlobalV4 $global, mapping varies by destination"

# UDP blocked by the router: the sends succeed, nothing comes back
t0=$(now_ms)
probe 2 blocked
t1=$(now_ms)
expect "$out" UDP false
expect "$out" IPv4 false
expect "$out" IPv4CanSend true
expect "$out" MappingVariesByDestIP null
expect "$out" GlobalV4 '""'
expect "$out" PreferredDERP 0
((t1 - t0 >= 3000 && t1 - t0 < 5000)) || wr_fail "blocked: the report took $((t1 - t0)) ms, not 3..5 s"
wr_log "ok UDP blocked: no UDP after $((t1 - t0)) ms"

# one region far away: the other one is home, whichever it is
for far in 902 901; do
	if [ "$far" = 902 ]; then
		natlab_delay "$DELAY_MS" "$STUN2"
		near=901
	else
		natlab_delay "$DELAY_MS" "$STUN1"
		near=902
	fi
	probe 0 "delay$far"
	expect "$out" UDP true
	expect "$out" PreferredDERP "$near"
	l_far=$(latency "$out" "$far")
	l_near=$(latency "$out" "$near")
	((l_far >= DELAY_MS * 1000)) || wr_fail "delay: region $far answered in $l_far us, under ${DELAY_MS} ms"
	((l_near < DELAY_MS * 1000)) || wr_fail "delay: region $near answered in $l_near us, not under ${DELAY_MS} ms"
	wr_log "ok $far delayed: $far ${l_far} us, $near ${l_near} us, home $near"
done
natlab_delay 0

echo "PASS: netcheck in the NAT lab (easy, hard, UDP blocked, preferred region by latency)"
exit 0
