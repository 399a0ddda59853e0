#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# WrPortmap against a real NAT-PMP/PCP server: Debian's miniupnpd (the nftables build) on a
# NAT lab router (tests/lib/natlab.sh), and wr-portmap-probe on the host behind it.
#
#   PCP        the probe finds the router through the default route, gets a PCP mapping on the
#              router's WAN address; a datagram from the internet to that address and port
#              arrives at the probe's socket; after the client is freed the mapping is gone
#              from miniupnpd's chain and the datagram no longer arrives
#   NAT-PMP    the router drops PCP (version 2) datagrams on port 5351: the same through
#              NAT-PMP
#   restart    a short lifetime, then miniupnpd restarts (its epoch starts again at 0, its
#              mappings are gone): the client sees the epoch go backwards, maps again, and the
#              datagram arrives again
#   link change  SIGHUP (wr_portmap_note_link_change): a new probe, the same mapping kept
#   no server  a router without miniupnpd: "none" within the 3 s budget
#
# The lab's internet is 198.20.0.0/24 here, not 203.0.113.0/24: miniupnpd 2.3.1 refuses to
# map anything when its WAN address is reserved, and it counts every documentation range
# (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) as reserved ("Reserved / private IP address
# ... Port forwarding is impossible"), with no option to say otherwise; ext_ip= and STUN are
# checked the same way.  198.20.0.0/24 is outside its list; the namespaces have no route to
# anywhere, so nothing leaves them.  The LAN side keeps 198.51.100.0/26.
#
# As root: WR_PORTMAP_PROBE=_build/dev/tests/system/wr-portmap-probe \
#   tests/system/portmap-natlab.sh
# Exits 77 without root, nft, miniupnpd or the probe; WR_KEEP_TMP=1 keeps the logs.

# SC2317: the helpers run through wait_until look unreachable to shellcheck
# shellcheck disable=SC2317
set -u

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/natlab.sh
. "$(dirname "$(readlink -f "$0")")/../lib/natlab.sh"

NATLAB_INET_NET=198.20.0
PORT=41641
: "${MINIUPNPD:=/usr/sbin/miniupnpd}"

natlab_need
[ -n "${WR_PORTMAP_PROBE:-}" ] || wr_skip "WR_PORTMAP_PROBE is unset (the meson test sets it)"
[ -x "$WR_PORTMAP_PROBE" ] || wr_skip "WR_PORTMAP_PROBE=$WR_PORTMAP_PROBE is not an executable"
[ -x "$MINIUPNPD" ] || wr_skip "miniupnpd is not installed (Debian: miniupnpd-nftables)"
wr_init

R0=$(natlab_router_ns 0)
H0=$(natlab_host_ns 0)
H1=$(natlab_host_ns 1)
WAN0=$(natlab_wan_addr 0)
MINIUPNPD_PID=
PROBE_PID=
OUT=

# the nftables structure miniupnpd 2.3.1 fills (its nft_init.sh, with our names): a filter
# chain it adds accept rules to, and NAT chains for its DNAT and SNAT rules, all in one inet
# table; the lab's own forward chain lets through what miniupnpd's DNAT rewrote
miniupnpd_tables()
{
	cat >"$WR_TMP/miniupnpd.nft" <<'NFT'
table inet miniupnpd {
	chain forward {
		type filter hook forward priority 0; policy accept;
		jump miniupnpd
	}
	chain miniupnpd {
	}
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		jump postrouting_miniupnpd
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
}
NFT
	nsx "$R0" nft -f "$WR_TMP/miniupnpd.nft"
	nsx "$R0" nft insert rule ip filter forward ct status dnat accept
	cat >"$WR_TMP/miniupnpd.conf" <<CONF
ext_ifname=WAN
listening_ip=LAN
enable_natpmp=yes
enable_upnp=no
secure_mode=yes
min_lifetime=2
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 $NATLAB_LAN_NET.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
}

_udp_listening()
{
	ip netns exec "$1" ss -Hnlu "sport = :$2" 2>/dev/null | grep -q .
}

miniupnpd_start()
{
	local log="$WR_TMP/miniupnpd.log"
	WR_LOGS+=("$log")
	echo "---- start" >>"$log"
	ip netns exec "$R0" "$MINIUPNPD" -f "$WR_TMP/miniupnpd.conf" -d -4 \
		-P "$WR_TMP/miniupnpd.pid" >>"$log" 2>&1 </dev/null &
	MINIUPNPD_PID=$!
	wr_track "$MINIUPNPD_PID" miniupnpd
	wait_until 10 _udp_listening "$R0" 5351 || wr_fail "miniupnpd does not listen on 5351"
}

miniupnpd_stop()
{
	wr_kill "$MINIUPNPD_PID"
	MINIUPNPD_PID=
}

# probe_start HOST NAME ARGS...: wr-portmap-probe in the background; its lines go to $OUT
probe_start()
{
	local ns=$1 name=$2
	shift 2
	OUT="$WR_TMP/$name.out"
	: >"$OUT"
	WR_LOGS+=("$OUT" "$WR_TMP/$name.err")
	G_MESSAGES_DEBUG=WrPortmap ip netns exec "$ns" "$WR_PORTMAP_PROBE" --port "$PORT" "$@" \
		>"$OUT" 2>"$WR_TMP/$name.err" </dev/null &
	PROBE_PID=$!
	wr_track "$PROBE_PID" "probe $name"
}

probe_stop()
{
	wr_kill "$PROBE_PID"
	PROBE_PID=
}

has_line()
{
	grep -q -- "$2" "$1"
}

# send_from_internet TEXT: one datagram from the internet namespace to WAN0:PORT
send_from_internet()
{
	ip netns exec "$NATLAB_INET_NS" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))' "$WAN0" "$1" "$2"
}

# arrives EXT_PORT TEXT: a datagram sent to WAN0:EXT_PORT reaches the probe within 3 s
arrives()
{
	send_from_internet "$1" "$2"
	wait_until 3 has_line "$OUT" "^recv $NATLAB_INET_NET.1:[0-9]* $2\$"
}

dnat_rules()
{
	ip netns exec "$R0" nft list chain inet miniupnpd prerouting_miniupnpd 2>/dev/null |
		grep -c dnat
}

no_dnat()
{
	[ "$(dnat_rules)" = 0 ]
}

# mapping_works NAME PROTOCOL: the probe maps PORT by PROTOCOL on WAN0, a datagram gets
# through, and after SIGUSR1 (free) the rule is gone and a datagram does not
mapping_works()
{
	local name=$1 proto=$2 line kind ext got ext_port
	wait_until 8 has_line "$OUT" '^\(mapped\|none\)' || wr_fail "$name: no report after 8 s"
	line=$(grep -m1 '^\(mapped\|none\)' "$OUT")
	read -r kind ext got _ <<<"$line"
	[ "$kind" = mapped ] || wr_fail "$name: $line"
	[ "$got" = "$proto" ] || wr_fail "$name: mapped by $got, expected $proto"
	[ "${ext%:*}" = "$WAN0" ] || wr_fail "$name: external address $ext is not the WAN address $WAN0"
	ext_port=${ext##*:}
	wr_log "$name: $line"
	[ "$(dnat_rules)" -ge 1 ] || wr_fail "$name: no DNAT rule in miniupnpd's chain"
	arrives "$ext_port" "through-$name" || wr_fail "$name: a datagram to $ext did not arrive"
	wr_log "ok $name: a datagram to $ext arrived at the host's socket"

	kill -USR1 "$PROBE_PID"
	wait_until 3 has_line "$OUT" '^freed' || wr_fail "$name: the probe did not free the client"
	wait_until 3 no_dnat || wr_fail "$name: the mapping is still in miniupnpd's chain after free"
	send_from_internet "$ext_port" "after-free-$name"
	sleep 1.5
	! has_line "$OUT" "after-free-$name" || wr_fail "$name: a datagram arrived after the client was freed"
	wr_log "ok $name: freed, the rule is gone and a datagram to $ext no longer arrives"
	probe_stop
}

natlab_inet
natlab_router 0 easy
natlab_router 1 easy
miniupnpd_tables
miniupnpd_start

# PCP, with the gateway read from the host's main routing table
probe_start "$H0" pcp
mapping_works pcp pcp

# NAT-PMP: the router drops PCP (first payload byte 2) to 5351
nsx "$R0" nft add table ip nopcp
nsx "$R0" nft add chain ip nopcp input '{ type filter hook input priority -10; }'
nsx "$R0" nft add rule ip nopcp input udp dport 5351 @th,64,8 2 drop
probe_start "$H0" natpmp
mapping_works natpmp nat-pmp
nsx "$R0" nft delete table ip nopcp

# a router restart: a 4 s lifetime is renewed every 2 s; miniupnpd restarts between two
# renewals with empty chains, so the next answer carries an epoch that went back to 0 and
# only the client's new request can bring the mapping back
probe_start "$H0" restart --lifetime 4
wait_until 8 has_line "$OUT" '^mapped' || wr_fail "restart: no mapping: $(cat "$OUT")"
ext_port=$(grep -m1 '^mapped' "$OUT" | cut -d' ' -f2)
ext_port=${ext_port##*:}
sleep 2.5
miniupnpd_stop
# miniupnpd leaves its rules when it stops; a router that restarts starts without them (the
# Debian scripts flush the chains, nft_flush.sh)
for chain in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
	nsx "$R0" nft flush chain inet miniupnpd "$chain"
done
miniupnpd_start
wait_until 8 has_line "$OUT" "went backwards" ||
	wr_fail "restart: the client did not see the epoch go backwards"
wait_until 5 test "$(dnat_rules)" -ge 1 || wr_fail "restart: no mapping after the restart"
arrives "$ext_port" "after-restart" || wr_fail "restart: a datagram did not arrive after the restart"
grep -q '^none' "$OUT" && wr_fail "restart: the mapping was reported lost: $(cat "$OUT")"
wr_log "ok restart: the epoch went backwards, mapped again, a datagram arrives"

# a link change: the client probes again (another ANNOUNCE, 24 bytes, reaches miniupnpd) and
# keeps its mapping without reporting a loss
announces=$(grep -c 'PCP request received.* 24bytes' "$WR_TMP/miniupnpd.log")
kill -HUP "$PROBE_PID"
wait_until 3 test "$(grep -c 'PCP request received.* 24bytes' "$WR_TMP/miniupnpd.log")" -gt "$announces" ||
	wr_fail "link change: no new probe reached miniupnpd"
sleep 1
grep -q '^none' "$OUT" && wr_fail "link change: the mapping was reported lost: $(cat "$OUT")"
[ "$(grep -c '^mapped' "$OUT")" = 1 ] || wr_fail "link change: the same mapping was reported again"
arrives "$ext_port" "after-link-change" || wr_fail "link change: a datagram did not arrive"
wr_log "ok link change: probed again, the mapping stays"
probe_stop

# no server: router 1 runs no miniupnpd
t0=$(now_ms)
probe_start "$H1" none --once --timeout 10
wait "$PROBE_PID" || wr_fail "none: the probe failed: $(cat "$WR_TMP/none.err")"
t1=$(now_ms)
line=$(grep -m1 '^\(none\|mapped\)' "$OUT")
[ "$line" = "none no PCP or NAT-PMP answer from $(natlab_lan_addr 1)" ] ||
	wr_fail "none: the probe said '$line'"
((t1 - t0 >= 2900 && t1 - t0 < 4500)) || wr_fail "none: the answer took $((t1 - t0)) ms, not 3..4.5 s"
wr_log "ok no server: '$line' after $((t1 - t0)) ms"

echo "PASS: port mapping against miniupnpd (PCP, NAT-PMP, router restart, no server)"
exit 0
