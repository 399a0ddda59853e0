#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A tailnet in the NAT lab (tests/lib/tailnet.sh): the real warren-control, warren-derp and one
# warrend per node, each node behind its own NAT router (or straight on the internet), driven
# with the real warren CLI; issue 6's "What must be shown".  One scenario per run:
#
#   setup       control (TLS, SQLite), DERP, four nodes signed in with pre-auth keys, each
#               listing the other three by name and address, control listing them online
#   basic       easy<->easy, public<->easy, public<->hard: the first ping reply within 1 s of
#               both nodes being up (DERP), then a direct path within 5 s, and `warren ping`
#               says "via IP:PORT"; hard<->hard: first reply within 1 s, stays on DERP and
#               loses no ping over 6 s, `warren ping` says DERP
#   fallback    easy<->easy direct, then UDP between the two routers dropped on router 0: back
#               on DERP with at most 2 s of pings lost (100 ms apart), direct again once the
#               rule is removed
#   nat-change  public<->easy and public<->hard direct, then the routers' conntrack tables
#               flushed (new NAT mappings; for the hard NAT a new port) and router 0's ruleset
#               reloaded: pings come back and the paths are direct again
#   control     warren-control killed: pings between the nodes go on, no loss; control back on
#               its database: a new node appears in every map and answers pings
#   filter      a policy that allows everything but n1 -> n2: n1's pings to n2 are dropped, n2's
#               pings to n1 are answered (the replies pass), the others unaffected
#   restart     warrend of one node stopped and started: Running on its saved state, same node
#               key, no new sign-in in control's audit log, no new node; pings work again
#   netem       every WAN link through a delay line with 40 ms delay and 5% loss (the kernel may
#               lack sch_netem): easy<->easy and public<->easy still connect (within 15 s) and
#               go direct (within 30 s: lost discovery pings wait for the next round)
#               (TAILNET_NETEM_DELAY_MS, TAILNET_NETEM_LOSS_PCT change the figures)
#   dns         MagicDNS (issue 7; docs/magicdns.md): a real upstream name server (dnsmasq) in
#               the servers' namespace is the nodes' resolv.conf (warrend --resolv-conf);
#               `dig @100.100.100.100` on a node: a peer's A and AAAA, PTR both ways, a third
#               node that asked for the same hostname under control's "-2" suffix (kept across
#               its restart), NXDOMAIN
#               for an unknown tailnet name, a non-tailnet name forwarded and answered, all of
#               it over TCP too and on the IPv6 address; Health says DNS was not configured
#               where no systemd-resolved runs; upstream gone: SERVFAIL within 5 s; after
#               `warren down` nothing answers there
#   exit        (issue 7) n0 (easy NAT) and n2 (public) offer themselves as exit nodes, approved
#               by the admin; client n1 (easy NAT) picks n0: an internet host (h5, no warrend)
#               sees n1's pings from n0's public address, never from n1's; a bad `warren set`
#               changes nothing; n1's LAN (its router) answers only with allow-LAN; under an
#               iperf3 transfer n1 switches to n2 and to none (the source address follows, the
#               node stays Running and online in control); n0's warrend stopped while chosen:
#               Health says it is offline, a PeerEvent went out, n1's pings get no answer and a
#               counter on n1's router sees no packet for the internet host; n0 left no
#               firewall table and its forwarding as it found it; choosing none restores at once
#   subnet      (issue 7) n0 routes 192.0.2.0/24 (a host behind it, approved by the admin):
#               n1 reaches that host only with --accept-routes, and the host sees n0's address
#               (masquerade); a packet with a tailnet source arriving from that LAN at n0 is
#               dropped before n0's input (anti-spoof); a bad route changes nothing
#
# Each prints a table of the time to the first reply and to a direct path per pair.
# As root: WARREND=… WARREN_CLI=… WARREN_CONTROL=… WARREN_DERP=… tests/system/tailnet.sh basic
# Exits 77 without root or the binaries; WR_KEEP_TMP=1 keeps the logs.

# the scenario functions are called by name ("scenario_$1")
# shellcheck disable=SC2317

set -u

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/natlab.sh
. "$(dirname "$(readlink -f "$0")")/../lib/natlab.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/tailnet.sh
. "$(dirname "$(readlink -f "$0")")/../lib/tailnet.sh"

# the issue's bars
FIRST_MS_MAX=1000
DIRECT_MS_MAX=5000
FALLBACK_LOSS_MAX=20 # pings 100 ms apart: 2 s

scenario=${1:-}
case $scenario in
setup | basic | fallback | nat-change | control | filter | restart | netem | dns | exit | subnet) ;;
*)
	echo "usage: tailnet.sh setup|basic|fallback|nat-change|control|filter|restart|netem|dns|exit|subnet" >&2
	exit 2
	;;
esac

tailnet_need
wr_init
WR_PAIRING=$scenario

# pair_first N M LABEL: both nodes are up; the time to the first
# reply N -> M, which must be within FIRST_MS_MAX; leaves it in FIRST and T0
pair_first()
{
	local n=$1 m=$2 label=$3
	T0=$(now_ms)
	FIRST=$(tailnet_first_reply_ms "$n" "$m" 10) ||
		wr_fail "$label: no ping reply from node $m ($(tailnet_ip "$m")) within 10 s"
	wr_log "$label: first reply after $FIRST ms"
	((FIRST <= FIRST_MS_MAX)) || wr_fail "$label: first reply after $FIRST ms, over $FIRST_MS_MAX ms"
}

# pair_direct N M LABEL [LIMIT_MS]: a direct path N -> M within LIMIT_MS of T0, and `warren
# ping` says so; leaves the time in DIRECT
pair_direct()
{
	local n=$1 m=$2 label=$3 limit=${4:-$DIRECT_MS_MAX} waited
	waited=$((limit - ($(now_ms) - T0)))
	((waited > 0)) || waited=1
	DIRECT=$(tailnet_direct_ms "$n" "$m" "$(awk -v ms="$waited" 'BEGIN { printf "%.1f", ms / 1000 }')" "$T0") ||
		wr_fail "$label: node $n has no direct path to node $m within $limit ms (path: $(tailnet_path "$n" "$m"))"
	wr_log "$label: direct after $DIRECT ms ($(tailnet_status_field "$n" "$(tailnet_ip "$m")" endpoint))"
	tailnet_expect_cli_direct "$n" "$m"
	wr_log "$label: warren ping: $(head -n 1 <<<"$TAILNET_PING_OUT")"
}

# up N...: sign the nodes in
up()
{
	local n
	for n in "$@"; do
		tailnet_up "$n"
	done
}

scenario_setup()
{
	local n m json
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_node 2 public
	tailnet_node 3 hard
	up 0 1 2 3
	for n in 0 1 2 3; do
		for m in 0 1 2 3; do
			((n == m)) && continue
			tailnet_wait_peer "$n" "$m"
			[ "$(tailnet_status_field "$n" "$(tailnet_ip "$m")" name)" = "n$m" ] ||
				wr_fail "node $n names node $m '$(tailnet_status_field "$n" "$(tailnet_ip "$m")" name)', not n$m"
		done
		[ "$(tailnet_peer_count "$n")" = 3 ] || wr_fail "node $n lists $(tailnet_peer_count "$n") peers, not 3"
		tailnet_running "$n" || wr_fail "warren status on node $n: not running"
	done
	json=$(tailnet_admin --json nodes list)
	python3 -c '
import json, sys
nodes = json.loads(sys.argv[1])["nodes"]
want = {"n%d" % i for i in range(4)}
names = {n["name"] for n in nodes}
online = {n["name"] for n in nodes if n["online"]}
if names != want or online != want:
    sys.exit("control lists %s, online %s; expected %s" % (sorted(names), sorted(online), sorted(want)))
' "$json" || wr_fail "control's node list: $json"
	wr_log "four nodes signed in, every one lists the other three, control lists them online"
}

scenario_basic()
{
	local lost
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_node 2 public
	tailnet_node 3 hard
	tailnet_node 4 hard

	up 0 1
	pair_first 0 1 "easy<->easy"
	pair_direct 0 1 "easy<->easy"
	tailnet_table_add "n0(easy)->n1(easy)" "$FIRST" "$DIRECT"

	up 2
	pair_first 2 0 "public<->easy"
	pair_direct 2 0 "public<->easy"
	tailnet_table_add "n2(public)->n0(easy)" "$FIRST" "$DIRECT"

	up 3
	pair_first 2 3 "public<->hard"
	pair_direct 2 3 "public<->hard"
	tailnet_table_add "n2(public)->n3(hard)" "$FIRST" "$DIRECT"

	up 4
	pair_first 3 4 "hard<->hard"
	lost=$(tailnet_lost_pings 3 4 60)
	((lost == 0)) || wr_fail "hard<->hard: $lost of 60 pings lost (on DERP there should be no gap)"
	[ "$(tailnet_path 3 4)" = derp ] || wr_fail "hard<->hard: path is '$(tailnet_path 3 4)', not derp"
	[ "$(tailnet_path 4 3)" = derp ] || wr_fail "hard<->hard: the other way the path is '$(tailnet_path 4 3)', not derp"
	tailnet_expect_cli_derp 3 4
	wr_log "hard<->hard: on DERP, 60 of 60 pings answered; warren ping: $(head -n 1 <<<"$TAILNET_PING_OUT")"
	tailnet_table_add "n3(hard)->n4(hard)" "$FIRST" "derp"
}

scenario_fallback()
{
	local pid out got lost t_block t_derp back
	tailnet_node 0 easy
	tailnet_node 1 easy
	up 0 1
	pair_first 0 1 "easy<->easy"
	pair_direct 0 1 "easy<->easy"
	tailnet_table_add "n0(easy)->n1(easy)" "$FIRST" "$DIRECT"

	# 150 pings 100 ms apart; the direct path is cut 2 s in
	out="$WR_TMP/fallback.ping"
	ip netns exec "$(natlab_host_ns 0)" ping -n -q -c 150 -i 0.1 -W 1 "$(tailnet_ip 1)" >"$out" 2>&1 &
	pid=$!
	wr_track "$pid" "ping 0 -> 1"
	sleep 2
	t_block=$(now_ms)
	tailnet_block_direct 0 "$(tailnet_public_addr 1)"
	wait_until 10 _tailnet_path_is 0 1 derp ||
		wr_fail "fallback: the direct path was cut, node 0 still says '$(tailnet_path 0 1)' after 10 s"
	t_derp=$(now_ms)
	wr_log "fallback: status says derp $((t_derp - t_block)) ms after the cut"
	wait_until 30 _wr_not_alive "$pid" || wr_fail "fallback: ping did not finish"
	got=$(sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' "$out" | head -n 1)
	lost=$((150 - ${got:-0}))
	wr_log "fallback: $lost of 150 pings lost across the cut"
	((lost <= FALLBACK_LOSS_MAX)) ||
		wr_fail "fallback: $lost pings (100 ms apart) lost, more than $FALLBACK_LOSS_MAX: $(cat "$out")"
	tailnet_expect_cli_derp 0 1

	tailnet_unblock_direct 0
	T0=$(now_ms)
	back=$(tailnet_direct_ms 0 1 30 "$T0") ||
		wr_fail "fallback: rule removed, node 0 still says '$(tailnet_path 0 1)' after 30 s"
	wr_log "fallback: direct again $back ms after the rule was removed"
	tailnet_expect_cli_direct 0 1
	tailnet_table_add "n0->n1 cut: lost pings" "$lost" "-"
	tailnet_table_add "n0->n1 restored" "-" "$back"
}

# recover N M LABEL: after a NAT change, node N reaches node M again within 10 s and the path
# is direct again within 20 s
recover()
{
	local n=$1 m=$2 label=$3 first back
	T0=$(now_ms)
	first=$(tailnet_first_reply_ms "$n" "$m" 10) || wr_fail "$label: no reply from node $m within 10 s"
	back=$(tailnet_direct_ms "$n" "$m" 20 "$T0") ||
		wr_fail "$label: node $n still says '$(tailnet_path "$n" "$m")' to node $m after 20 s"
	wr_log "$label: first reply after $first ms, direct after $back ms"
	tailnet_table_add "$label" "$first" "$back"
}

scenario_nat_change()
{
	local n
	tailnet_node 0 easy
	tailnet_node 2 public
	tailnet_node 3 hard
	up 0 2 3
	for n in 0 3; do
		pair_first 2 "$n" "public<->${TAILNET_KIND[$n]}"
		pair_direct 2 "$n" "public<->${TAILNET_KIND[$n]}"
		tailnet_table_add "n2(public)->n$n(${TAILNET_KIND[$n]})" "$FIRST" "$DIRECT"
	done

	# every mapping of the hard NAT forgotten: its next datagram gets a new random port
	nsx "$(natlab_router_ns 3)" conntrack -F
	recover 3 2 "n3(hard) conntrack -F"
	recover 2 3 "n2->n3 after the flush"
	# router 0 "restarts": ruleset flushed and loaded again, mappings forgotten
	nsx "$(natlab_router_ns 0)" nft flush ruleset
	nsx "$(natlab_router_ns 0)" conntrack -F
	nsx "$(natlab_router_ns 0)" nft -f "$WR_TMP/router0.nft"
	recover 0 2 "n0(easy) router restart"
	recover 2 0 "n2->n0 after the restart"
	tailnet_warrend_alive
}

scenario_control()
{
	local lost n
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_node 2 public
	up 0 1 2
	pair_first 0 1 "n0->n1"
	tailnet_table_add "n0(easy)->n1(easy)" "$FIRST" "-"
	pair_first 1 2 "n1->n2"
	tailnet_table_add "n1(easy)->n2(public)" "$FIRST" "-"

	tailnet_control_kill
	wr_log "control killed"
	lost=$(tailnet_lost_pings 0 1 50)
	((lost == 0)) || wr_fail "control down: $lost of 50 pings n0 -> n1 lost"
	lost=$(tailnet_lost_pings 2 1 50)
	((lost == 0)) || wr_fail "control down: $lost of 50 pings n2 -> n1 lost"
	lost=$(tailnet_lost_pings 1 0 50)
	((lost == 0)) || wr_fail "control down: $lost of 50 pings n1 -> n0 lost"
	for n in 0 1 2; do
		tailnet_running "$n" || wr_fail "control down: node $n is not running"
	done
	wr_log "control down: 150 of 150 pings answered, every node running"

	tailnet_control_start
	wr_log "control back"
	tailnet_node 3 hard
	up 3
	for n in 0 1 2; do
		tailnet_wait_peer "$n" 3 30
	done
	T0=$(now_ms)
	FIRST=$(tailnet_first_reply_ms 0 3 10) || wr_fail "control back: no reply n0 -> n3 within 10 s"
	tailnet_table_add "n0(easy)->n3(hard) new" "$FIRST" "-"
	wr_log "control back: node 3 is in every map, n0 -> n3 answered after $FIRST ms"
}

scenario_filter()
{
	local n policy="$WR_TMP/policy.hujson" lost
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_node 2 public
	up 0 1 2
	pair_first 1 2 "n1->n2 before the policy"
	tailnet_table_add "n1(easy)->n2(public)" "$FIRST" "-"
	# everything but n1 -> n2 (rules only accept, so n1's rule lists what it may reach)
	cat >"$policy" <<'POLICY'
{
  "tagOwners": { "tag:n0": [], "tag:n1": [], "tag:n2": [] },
  "acls": [
    { "action": "accept", "src": ["tag:n0"], "dst": ["*:*"] },
    { "action": "accept", "src": ["tag:n2"], "dst": ["*:*"] },
    // n1 may reach n0, not n2
    { "action": "accept", "src": ["tag:n1"], "dst": ["tag:n0:*"] },
  ],
}
POLICY
	tailnet_admin policy set "$policy" >/dev/null
	# the new filter reaches n2 through its map stream
	wait_until 15 _tailnet_ping_fails 1 2 || wr_fail "filter: n1 -> n2 still answered 15 s after the policy"
	lost=$(tailnet_lost_pings 1 2 20)
	((lost == 20)) || wr_fail "filter: $((20 - lost)) of 20 pings n1 -> n2 answered; the policy forbids them"
	lost=$(tailnet_lost_pings 2 1 20)
	((lost == 0)) || wr_fail "filter: $lost of 20 pings n2 -> n1 lost; the replies must pass"
	for n in "0 1" "1 0" "0 2" "2 0"; do
		# shellcheck disable=SC2086 # two words on purpose
		lost=$(tailnet_lost_pings $n 10)
		((lost == 0)) || wr_fail "filter: $lost of 10 pings ${n/ / -> } lost; the policy allows them"
	done
	wr_log "filter: n1 -> n2 dropped (20 of 20), n2 -> n1 answered, n0 <-> n1, n0 <-> n2 answered"
	tailnet_warrend_alive
}

_tailnet_ping_fails()
{
	! ip netns exec "$(natlab_host_ns "$1")" ping -n -q -c 1 -W 1 "$(tailnet_ip "$2")" >/dev/null 2>&1
}

# sign_ins: control's audit events of sign-ins (node.register, node.rotate), one a line
sign_ins()
{
	tailnet_admin --json audit --limit 100000 | python3 -c '
import json, sys
for e in json.load(sys.stdin)["events"]:
    if e["action"] in ("node.register", "node.rotate"):
        print(e["id"], e["action"], e["target"])'
}

scenario_restart()
{
	local keys_before keys_after nodes_before nodes_after nodekey_before t0 first
	tailnet_node 0 easy
	tailnet_node 1 easy
	up 0 1
	pair_first 1 0 "n1->n0"
	tailnet_table_add "n1(easy)->n0(easy)" "$FIRST" "-"
	keys_before=$(sign_ins)
	[ "$(wc -l <<<"$keys_before")" = 2 ] || wr_fail "restart: control's audit has not two sign-ins: $keys_before"
	nodes_before=$(tailnet_admin --json nodes list | python3 -c 'import json, sys; print(sorted((n["id"], n["name"]) for n in json.load(sys.stdin)["nodes"]))')
	nodekey_before=$(sha256sum <"$(tailnet_node_dir 0)/state/node.key") || wr_fail "node 0 has no node.key"

	tailnet_warrend_stop 0
	wr_log "warrend of node 0 stopped"
	t0=$(now_ms)
	tailnet_warrend_start 0
	wait_until 15 tailnet_running 0 || wr_fail "restart: node 0 not running 15 s after its start: $(tailnet_cli 0 status 2>&1)"
	# the peer keeps its WireGuard session with the node that restarted and lost it: 5 s is
	# WireGuard's REKEY_TIMEOUT, the wait of a handshake nobody answered
	first=$(tailnet_first_reply_ms 1 0 5) || wr_fail "restart: no reply n1 -> n0 within 5 s of node 0 running again"
	wr_log "restart: running again, n1 -> n0 answered $(($(now_ms) - t0)) ms after the start"
	tailnet_table_add "n1->n0 after restart" "$first" "-"
	ping_all "$(natlab_host_ns 1)" "$(tailnet_ip 0)" 10
	ping_all "$(natlab_host_ns 0)" "$(tailnet_ip 1)" 10
	[ "$(tailnet_cli 0 ip -4 2>&1)" = "$(tailnet_ip 0)" ] ||
		wr_fail "restart: node 0's address is '$(tailnet_cli 0 ip -4 2>&1)', was $(tailnet_ip 0)"
	[ "$(sha256sum <"$(tailnet_node_dir 0)/state/node.key")" = "$nodekey_before" ] ||
		wr_fail "restart: node 0 has a new node key"
	keys_after=$(sign_ins)
	[ "$keys_after" = "$keys_before" ] ||
		wr_fail "restart: node 0 signed in again: control's sign-ins before [$keys_before] after [$keys_after]"
	nodes_after=$(tailnet_admin --json nodes list | python3 -c 'import json, sys; print(sorted((n["id"], n["name"]) for n in json.load(sys.stdin)["nodes"]))')
	[ "$nodes_after" = "$nodes_before" ] ||
		wr_fail "restart: control's nodes changed: before $nodes_before after $nodes_after"
	wr_log "restart: same node key, same node at control, no auth key used again"
}

scenario_netem()
{
	# the issue's figures; the variables are for looking into a failure
	NATLAB_WAN_DELAY_MS=${TAILNET_NETEM_DELAY_MS:-40}
	NATLAB_WAN_LOSS_PCT=${TAILNET_NETEM_LOSS_PCT:-5}
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_node 2 public
	up 0 1
	T0=$(now_ms)
	FIRST=$(tailnet_first_reply_ms 0 1 15) || wr_fail "netem easy<->easy: no reply within 15 s"
	pair_direct 0 1 "netem easy<->easy" 30000
	tailnet_table_add "n0(easy)->n1(easy) ${NATLAB_WAN_DELAY_MS}ms ${NATLAB_WAN_LOSS_PCT}%" "$FIRST" "$DIRECT"
	up 2
	T0=$(now_ms)
	FIRST=$(tailnet_first_reply_ms 2 0 15) || wr_fail "netem public<->easy: no reply within 15 s"
	pair_direct 2 0 "netem public<->easy" 30000
	tailnet_table_add "n2(public)->n0(easy) ${NATLAB_WAN_DELAY_MS}ms ${NATLAB_WAN_LOSS_PCT}%" "$FIRST" "$DIRECT"
}

# exit_uses N LABEL: node 1's pings to the internet host (h5) come from node N's public
# address (N=1: its own router's), and from no other candidate
exit_uses()
{
	local want=$1 label=$2 c before=() i now
	# the switch may cost a moment; then a burst that is counted whole
	tailnet_wait_reaches 1 "$INET_ADDR" 10 || wr_fail "$label: the internet host does not answer"
	for i in 0 1 2; do
		before[i]=$(tailnet_count "$INET_NS" "from_n$i")
	done
	c=$(tailnet_pings_from 1 "$INET_ADDR" 10)
	((c >= 8)) || wr_fail "$label: only ${c:-0} of 10 pings to the internet host answered"
	for i in 0 1 2; do
		now=$(tailnet_count "$INET_NS" "from_n$i")
		if ((i == want)); then
			((now - before[i] >= c)) ||
				wr_fail "$label: the internet host saw $((now - before[i])) pings from $(natlab_wan_addr "$i"), expected $c"
		else
			((now == before[i])) ||
				wr_fail "$label: the internet host saw $((now - before[i])) pings from $(natlab_wan_addr "$i") (n$i)"
		fi
	done
	wr_log "$label: $c of 10 answered, all from $(natlab_wan_addr "$want")"
}

# control_reachable LABEL: node 1 is Running and control lists it online
control_reachable()
{
	tailnet_running 1 || wr_fail "$1: node 1 is not Running: $(tailnet_cli 1 status 2>&1)"
	tailnet_admin --json nodes list | python3 -c '
import json, sys
for node in json.load(sys.stdin)["nodes"]:
    if node["name"] == "n1":
        sys.exit(0 if node["online"] else 1)
sys.exit(1)' || wr_fail "$1: control does not list node 1 online"
}

scenario_exit()
{
	local lan out iperf_pid iperf_rc monitor_pid h0
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_node 2 public
	# the internet host: no warrend, counters of where its pings come from
	natlab_public 5
	INET_NS=$(natlab_host_ns 5)
	INET_ADDR=$(natlab_wan_addr 5)
	tailnet_counters "$INET_NS" input \
		from_n0 "ip saddr $(natlab_wan_addr 0)" \
		from_n1 "ip saddr $(natlab_wan_addr 1)" \
		from_n2 "ip saddr $(natlab_wan_addr 2)"
	# the leak detector: anything node 1's router forwards to the internet host
	tailnet_counters "$(natlab_router_ns 1)" forward leak "ip daddr $INET_ADDR"
	up 0 1 2
	out=$(tailnet_cli 0 set --advertise-exit-node 2>&1) || wr_fail "set --advertise-exit-node on n0: $out"
	out=$(tailnet_cli 2 set --advertise-exit-node=true 2>&1) || wr_fail "set --advertise-exit-node on n2: $out"
	# advertised reaches control through the hostinfo; approval needs it there
	wait_until 10 _exit_advertised 0 || wr_fail "control does not list n0's 0.0.0.0/0"
	wait_until 10 _exit_advertised 2 || wr_fail "control does not list n2's 0.0.0.0/0"
	tailnet_approve 0 0.0.0.0/0 ::/0
	tailnet_approve 2 0.0.0.0/0 ::/0
	tailnet_wait_exit_option 1 0
	tailnet_wait_exit_option 1 2
	h0=$(natlab_host_ns 0)
	wait_until 10 _forwarding_is "$h0" 1 || wr_fail "n0 does not forward as an approved exit node"
	ip netns exec "$h0" nft list table inet warren >/dev/null 2>&1 || wr_fail "n0 has no table inet warren"
	exit_uses 1 "no exit node"

	# a bad value is an error and changes nothing (the exit node is looked up first)
	if out=$(tailnet_cli 1 set --accept-routes --exit-node n9 2>&1); then
		wr_fail "set --exit-node n9 (no such peer) succeeded: $out"
	fi
	wr_log "set --exit-node n9: $out"
	grep -q "^accept-routes=false$" "$(tailnet_node_dir 1)/state/prefs.conf" ||
		wr_fail "a refused set changed accept-routes"
	if out=$(tailnet_cli 1 set --exit-node n0 --accept-routes=maybe 2>&1); then
		wr_fail "set --accept-routes=maybe succeeded: $out"
	fi
	exit_uses 1 "after the refused sets"

	out=$(tailnet_cli 1 set --exit-node n0 2>&1) || wr_fail "set --exit-node n0: $out"
	exit_uses 0 "exit node n0"
	control_reachable "exit node n0"

	# allow-LAN: node 1's router's LAN address is on its LAN and nowhere else
	lan=$(natlab_lan_addr 1)
	tailnet_never_reaches 1 "$lan" 2 || wr_fail "without allow-LAN, n1 reaches its LAN ($lan) around the exit node"
	out=$(tailnet_cli 1 set --exit-node-allow-lan-access 2>&1) || wr_fail "set --exit-node-allow-lan-access: $out"
	tailnet_wait_reaches 1 "$lan" 5 || wr_fail "with allow-LAN, n1 does not reach its LAN ($lan)"
	exit_uses 0 "exit node n0 with allow-LAN"
	out=$(tailnet_cli 1 set --exit-node-allow-lan-access=false 2>&1) || wr_fail "allow-LAN off: $out"
	tailnet_never_reaches 1 "$lan" 2 || wr_fail "allow-LAN off again, n1 still reaches its LAN ($lan)"
	wr_log "allow-LAN: the LAN ($lan) answers only with it"

	# switching under a running transfer
	ip netns exec "$INET_NS" iperf3 -s -1 -B "$INET_ADDR" >"$WR_TMP/iperf3-server.log" 2>&1 </dev/null &
	wr_track $! "iperf3 server"
	WR_LOGS+=("$WR_TMP/iperf3-server.log")
	wait_until 5 _tailnet_listening "$INET_NS" t "$INET_ADDR:5201" || wr_fail "iperf3 does not listen"
	ip netns exec "$(natlab_host_ns 1)" iperf3 -c "$INET_ADDR" -t 12 -i 1 \
		>"$WR_TMP/iperf3-client.log" 2>&1 </dev/null &
	iperf_pid=$!
	wr_track "$iperf_pid" "iperf3 client"
	WR_LOGS+=("$WR_TMP/iperf3-client.log")
	sleep 3
	out=$(tailnet_cli 1 set --exit-node n2 2>&1) || wr_fail "set --exit-node n2: $out"
	exit_uses 2 "switched to n2 under iperf3"
	control_reachable "switched to n2"
	sleep 2
	out=$(tailnet_cli 1 set --exit-node "" 2>&1) || wr_fail "set --exit-node '': $out"
	exit_uses 1 "switched to none under iperf3"
	control_reachable "switched to none"
	wait "$iperf_pid"
	iperf_rc=$?
	wr_log "iperf3 under the switches: exit $iperf_rc; $(grep -E 'sender|receiver|error' "$WR_TMP/iperf3-client.log" | tr '\n' ' ')"

	# the exit node goes away while it is chosen: blocked, not leaked
	out=$(tailnet_cli 1 set --exit-node n0 2>&1) || wr_fail "set --exit-node n0 again: $out"
	exit_uses 0 "n0 again"
	timeout 60 gdbus monitor --address "$(tailnet_bus 1)" --dest io.github.warrenvpn.Engine1 \
		>"$WR_TMP/node1-monitor.log" 2>&1 </dev/null &
	monitor_pid=$!
	wr_track "$monitor_pid" "gdbus monitor of node 1"
	sleep 0.5
	tailnet_counters "$(natlab_router_ns 1)" forward leak "ip daddr $INET_ADDR"
	tailnet_warrend_stop 0
	# what n0 restores on exit: no table of its own, forwarding as the namespace had it (0)
	ip netns exec "$h0" nft list table inet warren >/dev/null 2>&1 && wr_fail "n0 left its table inet warren"
	_forwarding_is "$h0" 0 || wr_fail "n0 left IP forwarding on"
	# pings all the while: none may leave n1's LAN for the internet host
	tailnet_never_reaches 1 "$INET_ADDR" 2 || wr_fail "exit node stopped: n1's pings still answered"
	wait_until 20 tailnet_health_has 1 "exit node n0 is offline" ||
		wr_fail "n1's Health does not say the exit node is offline: $(tailnet_cli 1 status 2>&1 | grep Health)"
	tailnet_never_reaches 1 "$INET_ADDR" 2 || wr_fail "exit node offline: n1's pings answered"
	[ "$(tailnet_count "$(natlab_router_ns 1)" leak)" = 0 ] ||
		wr_fail "exit node offline: n1's router forwarded $(tailnet_count "$(natlab_router_ns 1)" leak) packets to the internet host"
	grep -q "PeerEvent ('offline'" "$WR_TMP/node1-monitor.log" ||
		wr_fail "no PeerEvent offline on n1's bus: $(tail -n 5 "$WR_TMP/node1-monitor.log")"
	control_reachable "exit node offline"
	wr_log "exit node offline: Health says so, PeerEvent offline, no packet left n1's LAN for the internet host"
	# choosing none restores traffic at once
	out=$(tailnet_cli 1 set --exit-node "" 2>&1) || wr_fail "set --exit-node '' after n0 went: $out"
	tailnet_wait_reaches 1 "$INET_ADDR" 2 || wr_fail "no exit node: the internet host does not answer within 2 s"
	tailnet_health_has 1 "exit node" && wr_fail "Health still speaks of the exit node"
	exit_uses 1 "none after the offline exit node"
	wr_kill "$monitor_pid"
}

_exit_advertised()
{
	tailnet_admin --json routes list | python3 -c '
import json, sys
for r in json.load(sys.stdin)["routes"]:
    if r["node"] == sys.argv[1] and r["route"] == "0.0.0.0/0":
        sys.exit(0)
sys.exit(1)' "n$1"
}

# _forwarding_is NS VALUE: net.ipv4.ip_forward in NS
_forwarding_is()
{
	[ "$(ip netns exec "$1" cat /proc/sys/net/ipv4/ip_forward)" = "$2" ]
}

scenario_subnet()
{
	local h0 b out c
	tailnet_node 0 easy
	tailnet_node 1 easy
	h0=$(natlab_host_ns 0)
	# a host behind node 0, on a LAN of its own: 192.0.2.0/24
	b="${WR_PREFIX}b0"
	ns_new "$b"
	nsx "$h0" ip link add sub0 type veth peer name eth0 netns "$b"
	nsx "$h0" ip addr add 192.0.2.1/24 dev sub0
	nsx "$h0" ip link set sub0 up
	nsx "$b" ip addr add 192.0.2.10/24 dev eth0
	nsx "$b" ip link set eth0 up
	nsx "$b" ip route add default via 192.0.2.1
	tailnet_counters "$b" input from_router "ip saddr 192.0.2.1 icmp type echo-request" \
		from_tailnet "ip saddr 100.64.0.0/10"
	up 0 1
	# a bad route is refused and changes nothing
	if out=$(tailnet_cli 0 set --advertise-routes 192.0.2.1/24 2>&1); then
		wr_fail "set --advertise-routes 192.0.2.1/24 (host bits) succeeded: $out"
	fi
	wr_log "set --advertise-routes 192.0.2.1/24: $out"
	grep -q "^advertise-routes=$" "$(tailnet_node_dir 0)/state/prefs.conf" ||
		wr_fail "a refused set changed advertise-routes"
	out=$(tailnet_cli 0 set --advertise-routes 192.0.2.0/24 2>&1) || wr_fail "set --advertise-routes: $out"
	wait_until 10 _route_advertised 0 192.0.2.0/24 || wr_fail "control does not list n0's 192.0.2.0/24"
	_forwarding_is "$h0" 0 || wr_fail "n0 forwards before its route is approved"
	tailnet_approve 0 192.0.2.0/24
	wait_until 10 _forwarding_is "$h0" 1 || wr_fail "n0 does not forward its approved route"

	# without --accept-routes: not reachable
	tailnet_never_reaches 1 192.0.2.10 3 || wr_fail "n1 reaches 192.0.2.10 without --accept-routes"
	out=$(tailnet_cli 1 set --accept-routes 2>&1) || wr_fail "set --accept-routes: $out"
	tailnet_wait_reaches 1 192.0.2.10 10 || wr_fail "n1 does not reach 192.0.2.10 with --accept-routes"
	c=$(tailnet_pings_from 1 192.0.2.10 10)
	((c >= 8)) || wr_fail "only ${c:-0} of 10 pings to 192.0.2.10 answered"
	[ "$(tailnet_count "$b" from_router)" -ge "$c" ] ||
		wr_fail "the host behind n0 did not see the pings from n0's 192.0.2.1 (masquerade)"
	[ "$(tailnet_count "$b" from_tailnet)" = 0 ] ||
		wr_fail "the host behind n0 saw tailnet source addresses (no masquerade)"
	wr_log "subnet: with --accept-routes $c of 10 answered, seen from 192.0.2.1"
	out=$(tailnet_cli 1 set --accept-routes=false 2>&1) || wr_fail "set --accept-routes=false: $out"
	tailnet_never_reaches 1 192.0.2.10 3 || wr_fail "n1 still reaches 192.0.2.10 after --accept-routes=false"
	wr_log "subnet: without --accept-routes, none answered"

	# anti-spoof: a tailnet source from the subnet's LAN never reaches n0
	tailnet_counters "$h0" input spoofed "iifname \"sub0\" ip saddr 100.64.0.0/10" \
		plain "iifname \"sub0\" ip saddr 192.0.2.10"
	nsx "$b" ip addr add 100.64.99.99/32 dev eth0
	ip netns exec "$b" ping -n -q -c 3 -i 0.1 -W 1 -I 100.64.99.99 192.0.2.1 >/dev/null 2>&1
	ip netns exec "$b" ping -n -q -c 3 -i 0.1 -W 1 192.0.2.1 >/dev/null 2>&1 ||
		wr_fail "the host behind n0 cannot ping n0 from its own address"
	[ "$(tailnet_count "$h0" plain)" -ge 3 ] || wr_fail "the counters in n0 do not count"
	[ "$(tailnet_count "$h0" spoofed)" = 0 ] ||
		wr_fail "anti-spoof: $(tailnet_count "$h0" spoofed) packets with a tailnet source from sub0 reached n0's input"
	wr_log "anti-spoof: 3 pings from 100.64.99.99 on the subnet's LAN dropped, 3 from 192.0.2.10 passed"
}

_route_advertised()
{
	tailnet_admin --json routes list | python3 -c '
import json, sys
for r in json.load(sys.stdin)["routes"]:
    if r["node"] == sys.argv[1] and r["route"] == sys.argv[2]:
        sys.exit(0)
sys.exit(1)' "n$1" "$2"
}

# dig_on N ARGS...: dig in node N's namespace, short answers, one try
dig_on()
{
	local n=$1
	shift
	ip netns exec "$(natlab_host_ns "$n")" dig +tries=1 +time=8 "$@" 2>&1
}

# dns_expect N WANT ARGS...: `dig +short ARGS` on node N prints exactly WANT
dns_expect()
{
	local n=$1 want=$2 got
	shift 2
	got=$(dig_on "$n" +short "$@")
	[ "$got" = "$want" ] || wr_fail "dig $* on node $n: '$got', expected '$want'"
	wr_log "dig $*: $got"
}

# dns_status N ARGS...: the status dig reports (NOERROR, NXDOMAIN, SERVFAIL, ...)
dns_status()
{
	local n=$1
	shift
	dig_on "$n" "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}

# the upstream of the dns scenario: dnsmasq answering for example.net only
DNS_UPSTREAM=$NATLAB_INET_NET.53
DNS_UPSTREAM_PID=

dns_upstream()
{
	local log="$WR_TMP/dnsmasq.log"
	command -v dnsmasq >/dev/null 2>&1 || wr_skip "dnsmasq is not installed (tools/bootstrap)"
	natlab_server_addr "$DNS_UPSTREAM"
	WR_LOGS+=("$log")
	ip netns exec "$NATLAB_SRV_NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
		--bind-interfaces --listen-address="$DNS_UPSTREAM" --port=53 --pid-file= \
		--log-queries --log-facility=- --host-record=www.example.net,192.0.2.80 \
		>"$log" 2>&1 </dev/null &
	DNS_UPSTREAM_PID=$!
	wr_track "$DNS_UPSTREAM_PID" "dnsmasq"
	wait_until 10 _tailnet_listening "$NATLAB_SRV_NS" u "$DNS_UPSTREAM:53" ||
		wr_fail "dnsmasq does not listen on $DNS_UPSTREAM:53: $(cat "$log")"
	printf 'nameserver %s\n' "$DNS_UPSTREAM" >"$WR_TMP/resolv.conf"
}

scenario_dns()
{
	local d ip1 ip6_1 ip2 rev6 health t0 ms status
	command -v dig >/dev/null 2>&1 || wr_skip "dig is not installed (bind9-dnsutils, tools/bootstrap)"
	_tailnet_warrend_has --resolv-conf || wr_skip "warrend has no --resolv-conf"
	dns_upstream
	TAILNET_WARREND_OPTS+=(--resolv-conf "$WR_TMP/resolv.conf")
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_node 2 public
	# node 2 asks for node 1's hostname: control names it n1-2, and keeps that
	tailnet_warrend_stop 2
	d=$(tailnet_node_dir 2)
	printf '[prefs]\nhostname=n1\n' >"$d/state/prefs.conf"
	tailnet_warrend_start 2
	up 0 1 2
	tailnet_wait_peer 0 1
	tailnet_wait_peer 0 2
	ip1=$(tailnet_ip 1)
	ip2=$(tailnet_ip 2)
	ip6_1=$(tailnet_cli 1 ip -6) || wr_fail "warren ip -6 on node 1: $ip6_1"
	ip6_1=${ip6_1%%/*}
	[ -n "$ip6_1" ] || wr_fail "node 1 has no tailnet IPv6 address"

	# the tailnet's names, both families, both ways
	dns_expect 0 "$ip1" @100.100.100.100 n1.tailnet.test A
	dns_expect 0 "$ip6_1" @100.100.100.100 n1.tailnet.test AAAA
	dns_expect 0 "n1.tailnet.test." @100.100.100.100 -x "$ip1"
	rev6=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer)' "$ip6_1")
	dns_expect 0 "n1.tailnet.test." @100.100.100.100 "$rev6" PTR
	dns_expect 0 "$ip2" @100.100.100.100 n1-2.tailnet.test A
	dns_expect 1 "$(tailnet_ip 0)" @100.100.100.100 N0.Tailnet.Test A
	dns_expect 0 "$(tailnet_ip 0)" @100.100.100.100 n0.tailnet.test A
	status=$(dns_status 0 @100.100.100.100 nobody.tailnet.test A)
	[ "$status" = NXDOMAIN ] || wr_fail "nobody.tailnet.test: status '$status', not NXDOMAIN"
	wr_log "dig nobody.tailnet.test: $status"

	# forwarded to the real upstream (through node 0's NAT router), over UDP and TCP
	dns_expect 0 192.0.2.80 @100.100.100.100 www.example.net A
	grep -q 'query\[A\] www.example.net' "$WR_TMP/dnsmasq.log" ||
		wr_fail "dnsmasq never saw the forwarded query"
	dns_expect 0 192.0.2.80 @100.100.100.100 +tcp www.example.net A
	dns_expect 0 "$ip1" @100.100.100.100 +tcp n1.tailnet.test A
	dns_expect 0 "n1.tailnet.test." @100.100.100.100 +tcp -x "$ip1"
	# the IPv6 twin
	dns_expect 0 "$ip1" @fd7a:115c:a1e0::53 n1.tailnet.test A
	dns_expect 0 192.0.2.80 @fd7a:115c:a1e0::53 +tcp www.example.net A

	# no system bus for warrend in the lab (tailnet.sh), so no systemd-resolved: Health says
	# so and how to use the server by hand
	health=$(tailnet_cli 0 status --json | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin).get("health", [])))')
	grep -q 'MagicDNS.*100\.100\.100\.100' <<<"$health" ||
		wr_fail "node 0's Health does not say that DNS was not configured: '$health'"
	wr_log "Health: $health"

	# the suffix is stable: node 2 signs in again after a restart and keeps n1-2
	tailnet_warrend_stop 2
	tailnet_warrend_start 2
	wait_until 15 tailnet_running 2 || wr_fail "node 2 not running 15 s after its restart"
	dns_expect 0 "$ip2" @100.100.100.100 n1-2.tailnet.test A
	dns_expect 2 "$ip1" @100.100.100.100 n1.tailnet.test A
	dns_expect 2 "$ip2" @100.100.100.100 n1-2.tailnet.test A

	# the upstream gone: SERVFAIL after the 5 s timeout, not silence
	wr_kill "$DNS_UPSTREAM_PID"
	t0=$(now_ms)
	status=$(dns_status 0 +time=12 @100.100.100.100 gone.example.net A)
	ms=$(($(now_ms) - t0))
	[ "$status" = SERVFAIL ] || wr_fail "upstream gone: status '$status', not SERVFAIL"
	# 5 s, and dig's and ip netns exec's start on a loaded machine
	((ms >= 4500 && ms < 9000)) || wr_fail "upstream gone: SERVFAIL after $ms ms, not about 5 s"
	wr_log "upstream gone: SERVFAIL after $ms ms"
	# and the tailnet's names still work
	dns_expect 0 "$ip1" @100.100.100.100 n1.tailnet.test A

	# warren down: the server and its addresses are gone with the data plane
	tailnet_cli 0 down >/dev/null 2>&1 || wr_fail "warren down on node 0 failed"
	status=$(dns_status 0 +time=2 @100.100.100.100 n1.tailnet.test A)
	[ -z "$status" ] || wr_fail "after warren down 100.100.100.100 still answers: $status"
	wr_log "after warren down: no answer on 100.100.100.100"
}

tailnet_servers
"scenario_${scenario//-/_}"
tailnet_warrend_alive
tailnet_stop_all
tailnet_table_print
echo "PASS: tailnet $scenario"
exit 0
