#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/natlab.sh: a NAT lab in network namespaces (TESTING.md, "A NAT lab with nftables"),
# sourced by bash scripts after tests/lib/netns.sh, whose per-run prefix, temporary directory,
# process tracking and cleanup trap it uses: everything made here is deleted by wr_cleanup,
# even when the test fails.
#
#   "the internet"  namespace ${WR_PREFIX}net: a bridge "inet0" on 203.0.113.0/24 (the
#                   namespace itself is 203.0.113.1 and forwards).
#   servers         namespace ${WR_PREFIX}srv: the servers' addresses (natlab_server_addr,
#                   203.0.113.x/32), reached from the internet through a delay line, so that
#                   one server can be made "far away" (natlab_delay).  The delay line is
#                   tests/lib/delayline.py between two TUN devices, because the kernels this
#                   runs on may lack sch_netem (the CI one does).
#   router N        namespace ${WR_PREFIX}rN: WAN 203.0.113.(100+N)/24 on the bridge, LAN
#                   198.51.100.(16N+1)/28, forwarding, masquerade and filter rules in nftables.
#   host N          namespace ${WR_PREFIX}hN: 198.51.100.(16N+2)/28 on eth0, default route via
#                   its router.  N is 0..15, the sixteen /28 of 198.51.100.0/24.
#   public host N   (natlab_public N) namespace ${WR_PREFIX}hN with 203.0.113.(100+N)/24 on eth0,
#                   straight on the internet: no router, no NAT, no firewall.
#
# Lossy, slow WAN links: when NATLAB_WAN_DELAY_MS (and optionally NATLAB_WAN_LOSS_PCT) is set
# before natlab_router / natlab_public, that node's WAN link is not a veth on the bridge but a
# pair of TUN devices joined by its own delay line (tests/lib/delayline.py), which delays and
# drops what the node sends to the internet, as `netem delay MS loss PCT%` on its WAN would;
# the internet namespace routes the node's address to its TUN.  Traffic between two such nodes
# crosses both lines.
#
# NAT kinds: "easy" (`masquerade`, which keeps the source port when it is free), "hard"
# (`masquerade random,fully-random`: a new port for every destination) and "none" (routing
# only).  Options: "no-input-drop" leaves out the home-router rule that drops unsolicited
# input on WAN, "block-udp" drops every UDP datagram the host sends out.
#
# Only documentation ranges are used (TESTING.md, "Addresses").
#
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are read by the scripts that source this file)

NATLAB_INET_NET=203.0.113
NATLAB_INET_PREFIX=24
NATLAB_LAN_NET=198.51.100
NATLAB_LAN_PREFIX=28
NATLAB_LAN_MAX=15
: "${NATLAB_WAN_DELAY_MS:=}"
: "${NATLAB_WAN_LOSS_PCT:=0}"
NATLAB_INET_NS=
NATLAB_SRV_NS=
NATLAB_BRIDGE=inet0
NATLAB_DELAY_PID=

# natlab_need: skip (exit 77) unless we may create namespaces and have the tools
natlab_need()
{
	local cap tool
	if [ "$(id -u)" != 0 ]; then
		cap=$(awk '/^CapEff:/ { print $2 }' /proc/self/status 2>/dev/null)
		# CAP_NET_ADMIN is bit 12, CAP_SYS_ADMIN (mounts for `ip netns`) bit 21
		if [ -z "$cap" ] || (((0x$cap >> 12 & 1) == 0 || (0x$cap >> 21 & 1) == 0)); then
			wr_skip "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)"
		fi
	fi
	[ -c /dev/net/tun ] || wr_skip "no /dev/net/tun (for the delay line)"
	for tool in ip nft ss python3; do
		command -v "$tool" >/dev/null 2>&1 || wr_skip "$tool is not installed"
	done
}

# natlab_inet: the "internet" namespace with its bridge; sets NATLAB_INET_NS
natlab_inet()
{
	NATLAB_INET_NS="${WR_PREFIX}net"
	ns_new "$NATLAB_INET_NS"
	nsx "$NATLAB_INET_NS" ip link add name "$NATLAB_BRIDGE" type bridge
	# a fixed address: a bridge otherwise takes the lowest of its ports' addresses, so one
	# router added later (tailnet.sh adds nodes while others run) would change it under the
	# ARP caches of every host and router, and their traffic to the servers would be lost
	nsx "$NATLAB_INET_NS" ip link set "$NATLAB_BRIDGE" address 02:00:cb:00:71:01
	nsx "$NATLAB_INET_NS" ip link set "$NATLAB_BRIDGE" up
	nsx "$NATLAB_INET_NS" ip addr add "$NATLAB_INET_NET.1/$NATLAB_INET_PREFIX" dev "$NATLAB_BRIDGE"
}

# natlab_servers: the servers' namespace behind the delay line (no delay yet); sets
# NATLAB_SRV_NS
natlab_servers()
{
	local inet=$NATLAB_INET_NS
	[ -n "$inet" ] || wr_fail "natlab: natlab_inet first"
	NATLAB_SRV_NS="${WR_PREFIX}srv"
	ns_new "$NATLAB_SRV_NS"
	nsx "$inet" sysctl -q -w net.ipv4.ip_forward=1
	# the routers ask for the servers' addresses on the bridge: answer for them
	nsx "$inet" sysctl -q -w "net.ipv4.conf.$NATLAB_BRIDGE.proxy_arp=1"
	# and at once: proxy ARP answers are otherwise held back up to 0.8 s
	nsx "$inet" sysctl -q -w "net.ipv4.neigh.$NATLAB_BRIDGE.proxy_delay=0"
	nsx "$inet" ip tuntap add dev dl0 mode tun
	nsx "$NATLAB_SRV_NS" ip tuntap add dev dl1 mode tun
	nsx "$inet" ip link set dl0 up
	nsx "$NATLAB_SRV_NS" ip link set dl1 up
	nsx "$NATLAB_SRV_NS" ip route add default dev dl1
	natlab_delay 0
}

# natlab_server_addr ADDR: one more server address (203.0.113.x) in the servers' namespace
natlab_server_addr()
{
	nsx "$NATLAB_SRV_NS" ip addr add "$1/32" dev dl1
	nsx "$NATLAB_INET_NS" ip route add "$1/32" dev dl0
}

# natlab_delay MS [ADDR...]: from now on, packets from the internet to the servers ADDR (to
# every server when none is given) wait MS milliseconds, as netem would make them; 0 for none.
# The delay line restarts, so packets in flight are lost.
natlab_delay()
{
	local ms=$1 ready pid
	shift
	if [ -n "$NATLAB_DELAY_PID" ]; then
		wr_kill "$NATLAB_DELAY_PID"
		NATLAB_DELAY_PID=
	fi
	ready="$WR_TMP/delayline.$ms.$RANDOM.ready"
	python3 "$WR_LIB_DIR/delayline.py" "$NATLAB_INET_NS" dl0 "$NATLAB_SRV_NS" dl1 "$ms" \
		"$ready" "$@" >>"$WR_TMP/delayline.log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "delay line"
	WR_LOGS+=("$WR_TMP/delayline.log")
	wait_until 10 test -e "$ready" || wr_fail "the delay line did not start: $(cat "$WR_TMP/delayline.log")"
	NATLAB_DELAY_PID=$pid
}

# natlab_router_ns N / natlab_host_ns N / natlab_wan_addr N / natlab_host_addr N
natlab_router_ns()
{
	echo "${WR_PREFIX}r$1"
}

natlab_host_ns()
{
	echo "${WR_PREFIX}h$1"
}

natlab_wan_addr()
{
	echo "$NATLAB_INET_NET.$((100 + $1))"
}

natlab_lan_addr()
{
	echo "$NATLAB_LAN_NET.$((16 * $1 + 1))"
}

natlab_host_addr()
{
	echo "$NATLAB_LAN_NET.$((16 * $1 + 2))"
}

# natlab_rules KIND OPTIONS...: the router's ruleset, one rule per line (`fwd` is an nft
# keyword, so no chain is called that)
natlab_rules()
{
	local kind=$1 opt masq="" input_drop=1 block_udp=0
	shift
	for opt in "$@"; do
		case $opt in
		no-input-drop) input_drop=0 ;;
		block-udp) block_udp=1 ;;
		*) wr_fail "natlab: unknown router option '$opt'" ;;
		esac
	done
	case $kind in
	easy) masq='oifname "WAN" masquerade' ;;
	hard) masq='oifname "WAN" masquerade random,fully-random' ;;
	none) masq= ;;
	*) wr_fail "natlab: unknown NAT kind '$kind' (easy, hard, none)" ;;
	esac
	echo 'table ip nat {'
	echo '	chain postrouting {'
	echo '		type nat hook postrouting priority 100;'
	[ -n "$masq" ] && echo "		$masq"
	echo '	}'
	echo '}'
	echo 'table ip filter {'
	echo '	chain forward {'
	echo '		type filter hook forward priority 0; policy drop;'
	echo '		ct state established,related accept'
	[ "$block_udp" = 1 ] && echo '		iifname "LAN" meta l4proto udp drop'
	echo '		iifname "LAN" accept'
	echo '	}'
	echo '	chain input {'
	echo '		type filter hook input priority 0; policy accept;'
	[ "$input_drop" = 1 ] && echo '		iifname "WAN" ct state new drop'
	echo '	}'
	echo '}'
}

# _natlab_wan_link NS IFNAME N: the WAN link of node N (its router, or a public host): IFNAME
# in NS with 203.0.113.(100+N)/24, up, on the bridge or, with NATLAB_WAN_DELAY_MS, through a
# delay line of its own (see the top)
_natlab_wan_link()
{
	local ns=$1 ifname=$2 n=$3 addr ready pid log
	addr=$(natlab_wan_addr "$n")
	if [ -z "$NATLAB_WAN_DELAY_MS" ]; then
		nsx "$ns" ip link add "$ifname" type veth peer name "r${n}wan" netns "$NATLAB_INET_NS"
		nsx "$NATLAB_INET_NS" ip link set "r${n}wan" master "$NATLAB_BRIDGE" up
		nsx "$ns" ip addr add "$addr/$NATLAB_INET_PREFIX" dev "$ifname"
		nsx "$ns" ip link set "$ifname" up
		return 0
	fi
	nsx "$NATLAB_INET_NS" sysctl -q -w net.ipv4.ip_forward=1
	nsx "$ns" ip tuntap add dev "$ifname" mode tun
	nsx "$NATLAB_INET_NS" ip tuntap add dev "r${n}wan" mode tun
	nsx "$ns" ip addr add "$addr/$NATLAB_INET_PREFIX" dev "$ifname"
	nsx "$ns" ip link set "$ifname" up
	nsx "$NATLAB_INET_NS" ip link set "r${n}wan" up
	nsx "$NATLAB_INET_NS" ip route add "$addr/32" dev "r${n}wan"
	ready="$WR_TMP/wan$n.ready"
	log="$WR_TMP/wan$n-delayline.log"
	python3 "$WR_LIB_DIR/delayline.py" --loss="$NATLAB_WAN_LOSS_PCT" "$ns" "$ifname" \
		"$NATLAB_INET_NS" "r${n}wan" "$NATLAB_WAN_DELAY_MS" "$ready" >>"$log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "WAN delay line $n"
	WR_LOGS+=("$log")
	wait_until 10 test -e "$ready" || wr_fail "the WAN delay line of $n did not start: $(cat "$log")"
}

# natlab_router N KIND [OPTIONS...]: router N with its host behind it (see the top)
natlab_router()
{
	local n=$1 kind=$2 r h rules
	shift 2
	((n >= 0 && n <= NATLAB_LAN_MAX)) || wr_fail "natlab: router index $n is not 0..$NATLAB_LAN_MAX"
	[ -n "$NATLAB_INET_NS" ] || wr_fail "natlab: natlab_inet first"
	r=$(natlab_router_ns "$n")
	h=$(natlab_host_ns "$n")
	ns_new "$r"
	ns_new "$h"
	# interface names are per namespace: WAN and LAN inside the router, as in the rules
	_natlab_wan_link "$r" WAN "$n"
	nsx "$r" ip link add LAN type veth peer name eth0 netns "$h"
	nsx "$r" ip addr add "$(natlab_lan_addr "$n")/$NATLAB_LAN_PREFIX" dev LAN
	nsx "$r" ip link set LAN up
	nsx "$r" sysctl -q -w net.ipv4.ip_forward=1
	nsx "$h" ip addr add "$(natlab_host_addr "$n")/$NATLAB_LAN_PREFIX" dev eth0
	nsx "$h" ip link set eth0 up
	nsx "$h" ip route add default via "$(natlab_lan_addr "$n")"
	rules="$WR_TMP/router$n.nft"
	natlab_rules "$kind" "$@" >"$rules"
	nsx "$r" nft -f "$rules"
}

# natlab_router_root N KIND [OPTIONS...]: router N as natlab_router makes it, but the host
# behind it is the root namespace (tools/demo's "this desktop"): its end of the LAN veth is
# ${WR_PREFIX}l$N there, with 198.51.100.(16N+2)/28, and only the internet's /24 is routed
# through the router, never the machine's default route.  The veth goes with the router's
# namespace at cleanup.
natlab_router_root()
{
	local n=$1 kind=$2 r lan rules
	shift 2
	((n >= 0 && n <= NATLAB_LAN_MAX)) || wr_fail "natlab: router index $n is not 0..$NATLAB_LAN_MAX"
	[ -n "$NATLAB_INET_NS" ] || wr_fail "natlab: natlab_inet first"
	r=$(natlab_router_ns "$n")
	lan="${WR_PREFIX}l$n"
	ns_new "$r"
	_natlab_wan_link "$r" WAN "$n"
	ip link add "$lan" type veth peer name LAN netns "$r" || wr_fail "cannot create the veth $lan"
	nsx "$r" ip addr add "$(natlab_lan_addr "$n")/$NATLAB_LAN_PREFIX" dev LAN
	nsx "$r" ip link set LAN up
	nsx "$r" sysctl -q -w net.ipv4.ip_forward=1
	ip addr add "$(natlab_host_addr "$n")/$NATLAB_LAN_PREFIX" dev "$lan" ||
		wr_fail "cannot address $lan in the root namespace"
	ip link set "$lan" up || wr_fail "cannot bring up $lan"
	ip route add "$NATLAB_INET_NET.0/$NATLAB_INET_PREFIX" via "$(natlab_lan_addr "$n")" dev "$lan" ||
		wr_fail "cannot route $NATLAB_INET_NET.0/$NATLAB_INET_PREFIX through router $n"
	rules="$WR_TMP/router$n.nft"
	natlab_rules "$kind" "$@" >"$rules"
	nsx "$r" nft -f "$rules"
}

# natlab_public N: host N straight on the internet, 203.0.113.(100+N), no NAT, no firewall
# (natlab_host_ns N is its namespace; it has no router)
natlab_public()
{
	local n=$1 h
	((n >= 0 && n <= NATLAB_LAN_MAX)) || wr_fail "natlab: host index $n is not 0..$NATLAB_LAN_MAX"
	[ -n "$NATLAB_INET_NS" ] || wr_fail "natlab: natlab_inet first"
	h=$(natlab_host_ns "$n")
	ns_new "$h"
	_natlab_wan_link "$h" eth0 "$n"
	if [ -z "$NATLAB_WAN_DELAY_MS" ]; then
		nsx "$h" ip route add default via "$NATLAB_INET_NET.1"
	else
		nsx "$h" ip route add default dev eth0
	fi
}

# natlab_turnserver ADDR [PORT]: coturn as a STUN-only server on ADDR:PORT (default 3478) in the
# servers' namespace, tracked for cleanup; waits (bounded) until it listens
natlab_turnserver()
{
	local addr=$1 port=${2:-3478} log pid
	local turnserver=${TURNSERVER:-}
	[ -n "$turnserver" ] || turnserver=$(command -v turnserver) ||
		wr_skip "turnserver (coturn) is not installed"
	log="$WR_TMP/turnserver-$addr.log"
	WR_LOGS+=("$log")
	ip netns exec "$NATLAB_SRV_NS" "$turnserver" --listening-ip="$addr" \
		--listening-port="$port" --no-tls --no-dtls --stun-only --no-cli --no-rfc5780 \
		-c /dev/null --log-file=stdout --simple-log --pidfile="$WR_TMP/turnserver-$addr.pid" \
		--userdb="$WR_TMP/turnserver-$addr.db" \
		>"$log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "turnserver $addr:$port"
	if ! wait_until 10 _natlab_udp_listening "$NATLAB_SRV_NS" "$addr:$port"; then
		pid_alive "$pid" || wr_fail "turnserver on $addr:$port exited during startup"
		wr_fail "turnserver on $addr:$port does not listen after 10 s"
	fi
}

_natlab_udp_listening()
{
	ip netns exec "$1" ss -Hnlu "src $2" 2>/dev/null | grep -q .
}
