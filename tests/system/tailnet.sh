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
#   dns-resolved
#               MagicDNS with Debian's real systemd-resolved (tests/lib/resolved.sh; unpacked by
#               tools/bootstrap, not installed) on node 0's own system bus, in its namespace and a
#               private mount namespace: resolvectl lists for warren0 the servers 100.100.100.100
#               and fd7a:115c:a1e0::53, the search domain tailnet.test and no default route;
#               `resolvectl query` of a peer's name, of its bare name (the search domain) and of
#               its address, and dig on resolved's stub 127.0.0.53, answer through resolved and
#               warrend's server; Health has no DNS problem; `warren down` reverts the link
#               (resolvectl lists neither server nor domain) and the name no longer resolves
#   keyrot      node 0 rotates its node key every KEYROT_INTERVAL s (issue 7) while node 1 sends
#               it a paced TCP stream (tests/lib/tcp-stream.py) through the tunnel: at least
#               two rotations during it, every byte arrives in order, no TCP reset through
#               either tunnel while data flows, the longest gap in the received bytes at most
#               1 s; node 0's key on disk and in Self is new, control logged the rotations, node
#               1 handshook with node 0 after the last one; then, right after one more rotation
#               and node 0's warrend stopped, WireGuard (wireguard-go + wg) on node 0's address
#               and port with the private key that rotation replaced gets no handshake from node
#               1, while with the current key right before and right after it does (so that the
#               test can fail)
#   keyrot-retry
#               control killed before node 0's rotation is due: the attempts fail and are
#               retried, node.key stays, the tunnel carries on (no ping lost), and Health says
#               so only from the third attempt on; control back: the rotation completes (the
#               key saved for it is used) and Health is clear again
#   keyrot-restart
#               warrend stopped in the middle of a rotation, in the two states a crash can leave:
#               a new key saved and not sent (the start sends it: control logs one rotation), and
#               sent but not saved as node.key (the start finds that control holds it, uses it,
#               and control logs no other); each time node 0 runs and answers again
#   keyexpiry   control grants node keys for KEYEXPIRY_LIFETIME s; node 0 does not rotate: its
#               Health warns of the expiry within the hour, then at expiry it states NeedsLogin,
#               its tunnel is gone and no ping passes; `warren up --auth-key` brings it back to
#               Running with a new node key, and pings pass again
#   flows       flow logs (docs/flow-logs.md), every warrend with a 64 KiB ring: a TCP transfer
#               of 1 MB n0 -> n1 appears in `warren log --json` on both nodes with the same
#               packets and bytes each way, the peer's name, path direct, and bytes that are
#               exactly the payload plus 52 bytes of IPv4+TCP headers a packet (+8 for the SYN
#               options) when nothing was retransmitted; control has collect-flows on, and
#               `warren-control audit flows` lists the transfer under each node with the same
#               counts; then 1200 short connections: each
#               ring file stays 64 KiB + its header, 0600, holds as many records as fit, the
#               newest, and the transfer's record is gone
#   exit        (issue 7) n0 (easy NAT) and n2 (public) offer themselves as exit nodes, approved
#               by the admin; client n1 (easy NAT) picks n0: an internet host (h5, no warrend)
#               sees n1's pings from n0's public address, never from n1's; a bad `warren set`
#               changes nothing; n1's LAN (its router) answers only with allow-LAN; under an
#               iperf3 transfer n1 switches to n2 and to none (the source address follows, the
#               node stays Running and online in control; a second iperf3 inside the tailnet,
#               n1 -> n0's tailnet address, runs through the switches without an error, while the
#               one to the internet host is reset by it: its source address changed); n0's warrend stopped while chosen:
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
# shellcheck source-path=SCRIPTDIR source=../lib/resolved.sh
. "$(dirname "$(readlink -f "$0")")/../lib/resolved.sh"

# the issue's bars
FIRST_MS_MAX=1000
DIRECT_MS_MAX=5000
FALLBACK_LOSS_MAX=20 # pings 100 ms apart: 2 s

scenario=${1:-}
case $scenario in
setup | basic | fallback | nat-change | control | filter | restart | netem | dns | dns-resolved | keyrot | keyrot-retry | keyrot-restart | keyexpiry | flows | exit | subnet) ;;
*)
	echo "usage: tailnet.sh setup|basic|fallback|nat-change|control|filter|restart|netem|dns|dns-resolved|keyrot|keyrot-retry|keyrot-restart|keyexpiry|flows|exit|subnet" >&2
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
	local lan out iperf_pid iperf_rc tailnet_iperf_pid monitor_pid h0
	# the internet host: no warrend, counters of where its pings come from
	tailnet_exit_lab
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
	# and one inside the tailnet, n1 -> n0's tailnet address, which no switch may disturb
	ip netns exec "$h0" iperf3 -s -1 -p 5202 -B "$(tailnet_ip 0)" \
		>"$WR_TMP/iperf3-tailnet-server.log" 2>&1 </dev/null &
	wr_track $! "iperf3 server on n0's tailnet address"
	WR_LOGS+=("$WR_TMP/iperf3-tailnet-server.log")
	wait_until 5 _tailnet_listening "$h0" t "$(tailnet_ip 0):5202" ||
		wr_fail "iperf3 does not listen on n0's tailnet address"
	ip netns exec "$(natlab_host_ns 1)" iperf3 -c "$(tailnet_ip 0)" -p 5202 -t 10 -i 1 \
		>"$WR_TMP/iperf3-tailnet-client.log" 2>&1 </dev/null &
	tailnet_iperf_pid=$!
	wr_track "$tailnet_iperf_pid" "iperf3 client inside the tailnet"
	WR_LOGS+=("$WR_TMP/iperf3-tailnet-client.log")
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
	# through an exit node, the internet host sees the exit's address: a switch changes the
	# connection's source, so the host's TCP resets it (nothing a client could do about it)
	wr_log "iperf3 to the internet host under the switches: exit $iperf_rc; $(grep -E 'sender|receiver|error' "$WR_TMP/iperf3-client.log" | tr '\n' ' ')"
	wait "$tailnet_iperf_pid" ||
		wr_fail "the transfer inside the tailnet did not survive the exit-node switches: $(grep -E 'sender|receiver|error' "$WR_TMP/iperf3-tailnet-client.log" | tr '\n' ' ')"
	wr_log "iperf3 inside the tailnet under the switches: $(grep -E 'sender|receiver' "$WR_TMP/iperf3-tailnet-client.log" | tr '\n' ' ')"

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

# _resolved_link_has N WORD...: resolvectl lists every WORD for node N's warren0 (dns, domain)
_resolved_link_has()
{
	local n=$1 what=$2 out w
	shift 2
	out=$(resolvectl_on "$n" "$what" warren0) || return 1
	for w in "$@"; do
		grep -qwF -- "$w" <<<"${out#*:}" || return 1
	done
}

# _resolved_answer_has OUT WORD: `resolvectl query`'s output OUT has WORD on a line that ends
# in "-- link: warren0" (its answers come in any order)
_resolved_answer_has()
{
	awk -v w="$2" '{ for (i = 1; i < NF; i++) if ($i == w && $NF == "warren0") f = 1 }
		END { exit !f }' <<<"$1"
}

scenario_dns_resolved()
{
	local ip1 ip6_1 out health
	resolved_need
	command -v dig >/dev/null 2>&1 || wr_skip "dig is not installed (bind9-dnsutils, tools/bootstrap)"
	_tailnet_warrend_has --resolv-conf || wr_skip "warrend has no --resolv-conf"
	# warrend's upstream is the lab's, not whatever this machine's /etc/resolv.conf names
	dns_upstream
	TAILNET_WARREND_OPTS+=(--resolv-conf "$WR_TMP/resolv.conf")
	tailnet_node 0 easy
	tailnet_node 1 easy
	# node 0's warrend again, now with a system bus on which resolved runs
	resolved_start 0
	tailnet_warrend_stop 0
	tailnet_warrend_start 0
	up 0 1
	tailnet_wait_peer 0 1
	ip1=$(tailnet_ip 1)
	ip6_1=$(tailnet_cli 1 ip -6) || wr_fail "warren ip -6 on node 1: $ip6_1"
	ip6_1=${ip6_1%%/*}
	[ -n "$ip6_1" ] || wr_fail "node 1 has no tailnet IPv6 address"

	# what warrend told resolved about warren0, as resolved itself lists it
	wait_until 10 _resolved_link_has 0 dns 100.100.100.100 fd7a:115c:a1e0::53 ||
		wr_fail "resolved does not list MagicDNS's servers for warren0: $(resolvectl_on 0 dns warren0)"
	wr_log "resolvectl dns: $(resolvectl_on 0 dns warren0)"
	# the search domain (no "~": also a routing domain) and the reverse zones, routing only
	_resolved_link_has 0 domain tailnet.test "~64.100.in-addr.arpa" "~0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa" ||
		wr_fail "resolved's domains for warren0: $(resolvectl_on 0 domain warren0)"
	wr_log "resolvectl domain: $(resolvectl_on 0 domain warren0 | tr -s ' \n' ' ' | cut -c 1-100)..."
	out=$(resolvectl_on 0 default-route warren0)
	[ "${out##*: }" = no ] || wr_fail "resolved's default route for warren0: '$out', expected no"

	# names through resolved, which asks warrend's server on warren0
	out=$(resolvectl_on 0 query --cache=no n1.tailnet.test) ||
		wr_fail "resolvectl query n1.tailnet.test: $out"
	if ! _resolved_answer_has "$out" "$ip1" || ! _resolved_answer_has "$out" "$ip6_1"; then
		wr_fail "resolvectl query n1.tailnet.test: '$out', expected $ip1 and $ip6_1 on warren0"
	fi
	wr_log "resolvectl query n1.tailnet.test: $(head -n 2 <<<"$out" | tr -s ' \n' ' ')"
	# the bare name, with the search domain
	out=$(resolvectl_on 0 query --cache=no n1) || wr_fail "resolvectl query n1: $out"
	if ! _resolved_answer_has "$out" "$ip1" || ! grep -qF "(n1.tailnet.test)" <<<"$out"; then
		wr_fail "resolvectl query n1: '$out', expected $ip1 as n1.tailnet.test"
	fi
	# the address, through the reverse zone's routing domain
	out=$(resolvectl_on 0 query --cache=no "$ip1") || wr_fail "resolvectl query $ip1: $out"
	_resolved_answer_has "$out" n1.tailnet.test ||
		wr_fail "resolvectl query $ip1: '$out', expected n1.tailnet.test"
	# what most programs use: resolved's stub
	dns_expect 0 "$ip1" @127.0.0.53 n1.tailnet.test A
	out=$(dns_status 0 @127.0.0.53 nobody.tailnet.test A)
	[ "$out" = NXDOMAIN ] || wr_fail "nobody.tailnet.test through the stub: '$out', not NXDOMAIN"

	# the system's resolver is configured: no DNS problem in Health
	health=$(tailnet_cli 0 status --json | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin).get("health", [])))') ||
		wr_fail "warren status --json on node 0: $health"
	! grep -q 'MagicDNS' <<<"$health" || wr_fail "node 0's Health still has a DNS problem: '$health'"
	grep -q 'MagicDNS: systemd-resolved sends names in tailnet.test' "$(tailnet_node_dir 0)/warrend.log" ||
		wr_fail "warrend of node 0 does not log that resolved was configured"

	# an exit node in use: every name comes to MagicDNS (routing domain "~." and the default
	# route), so that none leaves by the LAN's resolver; none again: only the tailnet's names
	out=$(tailnet_cli 1 set --advertise-exit-node 2>&1) || wr_fail "set --advertise-exit-node on n1: $out"
	wait_until 10 _exit_advertised 1 || wr_fail "control does not list n1's 0.0.0.0/0"
	tailnet_approve 1 0.0.0.0/0 ::/0
	tailnet_wait_exit_option 0 1
	out=$(tailnet_cli 0 set --exit-node n1 2>&1) || wr_fail "set --exit-node n1 on n0: $out"
	wait_until 10 _resolved_all_names 0 yes ||
		wr_fail "exit node n1: resolved has $(resolvectl_on 0 domain warren0); $(resolvectl_on 0 default-route warren0)"
	dns_expect 0 "$ip1" @127.0.0.53 n1.tailnet.test A
	wr_log "exit node n1: resolved sends every name to warren0 ($(resolvectl_on 0 default-route warren0))"
	out=$(tailnet_cli 0 set --exit-node "" 2>&1) || wr_fail "set --exit-node '' on n0: $out"
	wait_until 10 _resolved_all_names 0 no ||
		wr_fail "no exit node: resolved has $(resolvectl_on 0 domain warren0); $(resolvectl_on 0 default-route warren0)"
	wr_log "no exit node: only the tailnet's names go to warren0 again"

	# warren down: warren0's settings reverted (or the link gone with them)
	tailnet_cli 0 down >/dev/null 2>&1 || wr_fail "warren down on node 0 failed"
	wait_until 10 _resolved_reverted 0 || wr_fail "after warren down resolved still has: $(resolvectl_on 0 status)"
	# by warrend's RevertLink (resolved logs who asked), not only because warren0 went away
	grep -q 'revert request from client PID [0-9]* (warrend) with UID 0' "$(tailnet_node_dir 0)/resolved.log" ||
		wr_fail "resolved's log has no RevertLink from warrend"
	out=$(resolvectl_on 0 query --cache=no n1.tailnet.test) &&
		wr_fail "after warren down resolvectl query n1.tailnet.test still answers: $out"
	wr_log "after warren down: resolved has no tailnet server or domain; n1.tailnet.test: $(tail -n 1 <<<"$out")"
}

# _resolved_all_names N yes|no: resolved of node N sends every name to warren0 (the routing
# domain "~." and the default route), or neither
_resolved_all_names()
{
	local domains route w has=no
	domains=$(resolvectl_on "$1" domain warren0) || return 1
	route=$(resolvectl_on "$1" default-route warren0) || return 1
	for w in ${domains#*:}; do
		[ "$w" = "~." ] && has=yes
	done
	[ "$has" = "$2" ] && [ "${route##*: }" = "$2" ]
}

# _resolved_reverted N: resolved of node N lists neither MagicDNS's server nor its domain
_resolved_reverted()
{
	local out
	out=$(resolvectl_on "$1" status) || return 1
	! grep -qF -e 100.100.100.100 -e fd7a:115c:a1e0::53 -e tailnet.test <<<"$out"
}

# ---- issue 7: node-key rotation and expiry (docs/key-rotation.md) ----

KEYROT_INTERVAL=15
KEYROT_SECONDS=40
KEYROT_KBPS=2048
KEYROT_GAP_MS_MAX=1000
KEYEXPIRY_LIFETIME=60
TCP_STREAM="$(dirname "$(readlink -f "$0")")/../lib/tcp-stream.py"

# _self_field N FIELD: FIELD of node N's Self (`warren status --json`)
_self_field()
{
	tailnet_cli "$1" status --json 2>/dev/null | python3 -c '
import json, sys
try:
    print(json.load(sys.stdin)["self"].get(sys.argv[1], ""))
except (ValueError, KeyError):
    pass' "$2"
}

# _status_json_field N FIELD: a top-level FIELD of node N's `warren status --json` (lists one a line)
_status_json_field()
{
	tailnet_cli "$1" status --json 2>/dev/null | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin).get(sys.argv[1], "")
except ValueError:
    sys.exit(0)
print("\n".join(v) if isinstance(v, list) else v)' "$2"
}

# _rotations N: how many node.rotate events control's audit log has for node N
_rotations()
{
	tailnet_admin --json audit --limit 100000 | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin)["events"]
          if e["action"] == "node.rotate" and e["target"].endswith(":n" + sys.argv[1])))' "$1"
}

# _rst_count_start N / _rst_count N: count TCP segments with RST that node N's tunnel interface
# sends or receives (an nftables counter in its namespace; warrend's own TCP to control and DERP
# does not go through the tunnel and is not counted)
_rst_count_start()
{
	ip netns exec "$(natlab_host_ns "$1")" nft -f - <<NFT || wr_fail "cannot add the RST counter on node $1"
table inet keyrot_rst {
	counter rst {}
	chain in {
		type filter hook input priority -10; policy accept;
		iifname "warren0" tcp flags & rst == rst counter name rst
	}
	chain out {
		type filter hook output priority -10; policy accept;
		oifname "warren0" tcp flags & rst == rst counter name rst
	}
}
NFT
}

_rst_count()
{
	ip netns exec "$(natlab_host_ns "$1")" nft list counter inet keyrot_rst rst |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# _wg_key FILE|TEXT: a key as wg writes it (base64): from a "privkey:<hex>" file, or from
# "nodekey:<hex>" text
_wg_key()
{
	python3 -c '
import base64, os, sys
t = sys.argv[1]
if os.path.exists(t):
    t = open(t).read()
print(base64.b64encode(bytes.fromhex(t.strip().split(":", 1)[1])).decode())' "$1"
}

_key_changed()
{
	! cmp -s "$1" "$2"
}

# _wg_rx NS IF: bytes the probe received from its one peer; _wg_rx_over NS IF N: more than N
_wg_rx()
{
	ip netns exec "$1" wg show "$2" transfer 2>/dev/null | awk '{ print $2; exit }'
}

_wg_rx_over()
{
	local rx
	rx=$(_wg_rx "$1" "$2")
	[ -n "$rx" ] && ((rx > $3))
}

scenario_keyrot()
{
	local opts=("${TAILNET_WARREND_OPTS[@]}") d0 h0 old_key new_key rot0 rot1 rst report
	local gap end bytes t_last hs ifname wgpid sock peer1 rx n eof_at rst_all tool
	for tool in wireguard-go wg nft; do
		command -v "$tool" >/dev/null 2>&1 || wr_skip "$tool is not installed (tools/bootstrap)"
	done
	# only node 0 rotates, every KEYROT_INTERVAL seconds
	TAILNET_WARREND_OPTS+=(--key-rotation-interval "$KEYROT_INTERVAL")
	tailnet_node 0 public
	TAILNET_WARREND_OPTS=("${opts[@]}")
	tailnet_node 1 public
	up 0 1
	pair_first 1 0 "n1->n0"
	pair_direct 1 0 "n1->n0"
	tailnet_table_add "n1(public)->n0(public)" "$FIRST" "$DIRECT"
	d0=$(tailnet_node_dir 0)
	h0=$(natlab_host_ns 0)
	# the key node 0 had before this transfer (it may have rotated once already)
	cp "$d0/state/node.key" "$WR_TMP/old-node.key" || wr_fail "keyrot: node 0 has no node.key"
	old_key=$(_self_field 0 node-key)
	[ -n "$old_key" ] || wr_fail "keyrot: node 0's Self has no node-key"
	rot0=$(_rotations 0)
	_rst_count_start 0
	_rst_count_start 1
	for n in 0 1; do
		ip netns exec "$(natlab_host_ns "$n")" python3 "$TCP_STREAM" watch-rst warren0 \
			"$WR_TMP/rst.$n" >/dev/null 2>&1 </dev/null &
		wr_track "$!" "RST watcher of node $n"
	done

	report="$WR_TMP/stream.json"
	ip netns exec "$h0" python3 "$TCP_STREAM" serve "$(tailnet_ip 0)" 5201 "$report" \
		>"$WR_TMP/stream-serve.log" 2>&1 </dev/null &
	wr_track "$!" "tcp-stream receiver"
	wait_until 5 grep -q listening "$WR_TMP/stream-serve.log" ||
		wr_fail "keyrot: the stream receiver does not listen: $(cat "$WR_TMP/stream-serve.log")"
	wr_log "keyrot: a ${KEYROT_SECONDS} s stream at $KEYROT_KBPS KiB/s n1 -> n0, n0 rotating every $KEYROT_INTERVAL s"
	ip netns exec "$(natlab_host_ns 1)" python3 "$TCP_STREAM" send "$(tailnet_ip 0)" 5201 \
		"$KEYROT_SECONDS" "$KEYROT_KBPS" >"$WR_TMP/stream-send.log" 2>&1 </dev/null ||
		wr_fail "keyrot: the stream broke: $(cat "$WR_TMP/stream-send.log")"
	wait_until 10 test -s "$report" || wr_fail "keyrot: the receiver wrote no report"
	read -r bytes gap end eof_at < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["bytes"], r["max_gap_ms"], r["end"].replace(" ", "_"), r["eof_at"])' "$report")
	rot1=$(_rotations 0)
	# resets while data flowed; one the kernels exchange after both ends have everything (a
	# late ACK or window update to a socket closed at once) is not one an application sees
	sleep 0.5
	rst_all=$(($(_rst_count 0) + $(_rst_count 1)))
	rst=$(cat "$WR_TMP"/rst.0 "$WR_TMP"/rst.1 | awk -v t="$eof_at" '$1 < t' | wc -l)
	[ "$(cat "$WR_TMP"/rst.0 "$WR_TMP"/rst.1 | wc -l)" = "$rst_all" ] ||
		wr_fail "keyrot: nftables counted $rst_all RST segments, the watchers saw: $(cat "$WR_TMP"/rst.*)"
	((rst_all > rst)) && wr_log "keyrot: $((rst_all - rst)) RST segments after the transfer was complete (the close): $(cat "$WR_TMP"/rst.*)"
	wr_log "keyrot: $(cat "$WR_TMP/stream-send.log"); received $bytes bytes, end $end, longest gap $gap ms; $((rot1 - rot0)) rotations; $rst TCP resets"
	tailnet_table_add "stream: longest gap (ms)" "$gap" "-"
	tailnet_table_add "stream: rotations" "$((rot1 - rot0))" "-"
	[ "$end" = fin ] || wr_fail "keyrot: the stream ended with '$end'"
	((rst == 0)) || wr_fail "keyrot: $rst RST segments through the tunnels during the stream: $(cat "$WR_TMP"/rst.*)"
	((rot1 - rot0 >= 2)) || wr_fail "keyrot: $((rot1 - rot0)) rotations of node 0 during the stream, expected at least 2"
	((gap <= KEYROT_GAP_MS_MAX)) || wr_fail "keyrot: the stream stalled $gap ms, over $KEYROT_GAP_MS_MAX ms"

	new_key=$(_self_field 0 node-key)
	if [ -z "$new_key" ] || [ "$new_key" = "$old_key" ]; then
		wr_fail "keyrot: node 0's node key is still $old_key"
	fi
	cmp -s "$d0/state/node.key" "$WR_TMP/old-node.key" && wr_fail "keyrot: node 0's node.key did not change"
	[ -e "$d0/state/node-next.key" ] && wr_log "keyrot: (a rotation is under way)"
	[ "$(stat -c %a "$d0/state/node.key")" = 600 ] || wr_fail "keyrot: node.key is mode $(stat -c %a "$d0/state/node.key")"
	# node 1 handshook with node 0 since the last rotation began: only the new key answers
	t_last=$(tailnet_admin --json audit --limit 100000 | python3 -c '
import json, sys
ts = [e["time"] for e in json.load(sys.stdin)["events"]
      if e["action"] == "node.rotate" and e["target"].endswith(":n0")]
print(max(ts) if ts else 0)')
	ping_all "$(natlab_host_ns 1)" "$(tailnet_ip 0)" 5
	hs=$(tailnet_status_field 1 "$(tailnet_ip 0)" last-handshake)
	wr_log "keyrot: node 0's key $old_key -> $new_key; last rotation at $t_last, node 1's last handshake with node 0 at $((hs / 1000000))"
	((hs / 1000000 >= t_last)) ||
		wr_fail "keyrot: node 1's last handshake with node 0 ($((hs / 1000000))) is older than the last rotation ($t_last)"

	# the key just replaced, on node 0's own address and port, must get no session from node 1.
	# Node 1 sends its answers where its path to node 0 points; once warrend 0 is gone that
	# path falls back to DERP within seconds, so the probe runs at once after the stop
	wait_until 5 test ! -e "$d0/state/node-next.key" || wr_fail "keyrot: a rotation does not end"
	cp "$d0/state/node.key" "$WR_TMP/prev-node.key"
	wait_until $((KEYROT_INTERVAL + 10)) _key_changed "$d0/state/node.key" "$WR_TMP/prev-node.key" ||
		wr_fail "keyrot: node 0 did not rotate within $((KEYROT_INTERVAL + 10)) s"
	wait_until 5 test ! -e "$d0/state/node-next.key" || wr_fail "keyrot: a rotation does not end"
	ping_all "$(natlab_host_ns 1)" "$(tailnet_ip 0)" 3
	cp "$d0/state/node.key" "$WR_TMP/new-node.key"
	_wg_key "$WR_TMP/prev-node.key" >"$WR_TMP/old.wgkey"
	_wg_key "$WR_TMP/new-node.key" >"$WR_TMP/new.wgkey"
	chmod 0600 "$WR_TMP/old.wgkey" "$WR_TMP/new.wgkey"
	peer1=$(_wg_key "$(_self_field 1 node-key)")
	ifname="wgk$((RANDOM % 10000))"
	sock="/var/run/wireguard/$ifname.sock"
	WR_SOCKS+=("$sock")
	ip netns exec "$h0" wireguard-go -f "$ifname" >"$WR_TMP/wireguard-go.log" 2>&1 </dev/null &
	wgpid=$!
	wr_track "$wgpid" "wireguard-go probe"
	wait_until 10 test -S "$sock" || wr_fail "keyrot: wireguard-go did not start: $(cat "$WR_TMP/wireguard-go.log")"
	tailnet_warrend_stop 0
	# new key, old key, new key again: the two answered handshakes bracket the refused one, so
	# node 1's answers did reach the probe at that time (its path to node 0 was still direct)
	nsx "$h0" wg set "$ifname" private-key "$WR_TMP/new.wgkey" listen-port 41641 \
		peer "$peer1" endpoint "$(tailnet_public_addr 1):41641" allowed-ips "$(tailnet_ip 1)/32"
	nsx "$h0" ip addr add "$(tailnet_ip 0)/32" dev "$ifname"
	nsx "$h0" ip link set "$ifname" up
	nsx "$h0" ip route add "$(tailnet_ip 1)/32" dev "$ifname"
	ip netns exec "$h0" ping -n -q -c 2 -i 0.2 -W 1 "$(tailnet_ip 1)" >/dev/null 2>&1
	wait_until 2 _wg_rx_over "$h0" "$ifname" 0 ||
		wr_fail "keyrot: the probe with node 0's current key got no handshake from node 1: it proves nothing"
	rx=$(_wg_rx "$h0" "$ifname")
	nsx "$h0" wg set "$ifname" private-key "$WR_TMP/old.wgkey"
	# a ping makes WireGuard send an initiation at once; an answer takes a millisecond here
	ip netns exec "$h0" ping -n -q -c 4 -i 0.25 -W 1 "$(tailnet_ip 1)" >/dev/null 2>&1
	_wg_rx_over "$h0" "$ifname" "$rx" &&
		wr_fail "keyrot: node 1 answered the probe with the key the last rotation replaced"
	nsx "$h0" wg set "$ifname" private-key "$WR_TMP/new.wgkey"
	ip netns exec "$h0" ping -n -q -c 2 -i 0.2 -W 1 "$(tailnet_ip 1)" >/dev/null 2>&1
	wait_until 2 _wg_rx_over "$h0" "$ifname" "$rx" ||
		wr_fail "keyrot: the probe with the current key got no handshake the second time: it proves nothing"
	wr_log "keyrot: WireGuard on node 0's address and port: current key answered, the key the last rotation replaced not (1 s, 4 pings), current key answered again"
	wr_kill "$wgpid"
}

_no_rotate_problem()
{
	! _health_has 0 "could not be rotated"
}

scenario_keyrot_retry()
{
	local opts=("${TAILNET_WARREND_OPTS[@]}") d0 k0 lost rot0
	TAILNET_WARREND_OPTS+=(--key-rotation-interval 20)
	tailnet_node 0 public
	TAILNET_WARREND_OPTS=("${opts[@]}")
	tailnet_node 1 public
	up 0 1
	pair_first 1 0 "n1->n0"
	d0=$(tailnet_node_dir 0)
	k0=$(cat "$d0/state/node.key")
	rot0=$(_rotations 0)
	tailnet_control_kill
	wr_log "keyrot-retry: control killed"
	wait_until 30 test -e "$d0/state/node-next.key" ||
		wr_fail "keyrot-retry: node 0 attempted no rotation within 30 s"
	sleep 1
	_no_rotate_problem || wr_fail "keyrot-retry: Health reports the first failed attempt: $(_status_json_field 0 health)"
	lost=$(tailnet_lost_pings 1 0 20)
	((lost == 0)) || wr_fail "keyrot-retry: $lost of 20 pings n1 -> n0 lost while rotations fail"
	wait_until 60 _health_has 0 "could not be rotated (3 attempts)" ||
		wr_fail "keyrot-retry: Health does not report three failed attempts: $(_status_json_field 0 health)"
	[ "$(cat "$d0/state/node.key")" = "$k0" ] || wr_fail "keyrot-retry: node.key changed without control"
	[ -e "$d0/state/node-next.key" ] || wr_fail "keyrot-retry: the new key was not kept for the retry"
	lost=$(tailnet_lost_pings 1 0 20)
	((lost == 0)) || wr_fail "keyrot-retry: $lost of 20 pings n1 -> n0 lost after three failed rotations"
	wr_log "keyrot-retry: Health: $(_status_json_field 0 health | grep rotated); node.key unchanged, 40 of 40 pings answered"
	tailnet_control_start
	wr_log "keyrot-retry: control back"
	wait_until 90 _no_rotate_problem ||
		wr_fail "keyrot-retry: Health still reports the failure 90 s after control came back"
	wait_until 10 test ! -e "$d0/state/node-next.key" || wr_fail "keyrot-retry: the rotation does not end"
	[ "$(cat "$d0/state/node.key")" != "$k0" ] || wr_fail "keyrot-retry: node.key did not change"
	(($(_rotations 0) > rot0)) || wr_fail "keyrot-retry: control logged no rotation"
	ping_all "$(natlab_host_ns 1)" "$(tailnet_ip 0)" 5
	wr_log "keyrot-retry: rotated once control answered; Health clear; pings answered"
}

# keyrot-restart: warrend stopped in the middle of a rotation, in both states a crash can leave
# (docs/key-rotation.md): node-next.key saved but control not told, and control told but
# node-next.key not yet renamed over node.key; each start finishes the rotation
scenario_keyrot_restart()
{
	local d0 k1 k2 rot0
	tailnet_node 0 public
	tailnet_node 1 public
	up 0 1
	pair_first 1 0 "n1->n0"
	d0=$(tailnet_node_dir 0)
	k1=$(cat "$d0/state/node.key")
	rot0=$(_rotations 0)

	# 1. a new key saved, control not told
	tailnet_warrend_stop 0
	k2=$(python3 -c 'import os; print("privkey:" + os.urandom(32).hex())')
	(umask 077 && printf '%s\n' "$k2" >"$d0/state/node-next.key") || wr_fail "cannot write node-next.key"
	tailnet_warrend_start 0
	wait_until 15 test ! -e "$d0/state/node-next.key" ||
		wr_fail "keyrot-restart: node-next.key still there 15 s after the start"
	[ "$(cat "$d0/state/node.key")" = "$k2" ] || wr_fail "keyrot-restart: node.key is not the saved new key"
	[ "$(_rotations 0)" = $((rot0 + 1)) ] ||
		wr_fail "keyrot-restart: control logged $(($(_rotations 0) - rot0)) rotations, not 1"
	wait_until 15 tailnet_running 0 || wr_fail "keyrot-restart: node 0 not running: $(tailnet_cli 0 status 2>&1)"
	FIRST=$(tailnet_first_reply_ms 1 0 10) || wr_fail "keyrot-restart: no reply n1 -> n0 after the first restart"
	wr_log "keyrot-restart: saved, not sent: the start sent it; control rotated, n1 -> n0 answered after $FIRST ms"
	tailnet_table_add "n1->n0 key saved, not sent" "$FIRST" "-"

	# 2. control holds the new key (k2), node.key is still the old one (k1)
	tailnet_warrend_stop 0
	mv "$d0/state/node.key" "$d0/state/node-next.key" || wr_fail "cannot move node.key"
	(umask 077 && printf '%s\n' "$k1" >"$d0/state/node.key") || wr_fail "cannot write node.key"
	tailnet_warrend_start 0
	wait_until 15 test ! -e "$d0/state/node-next.key" ||
		wr_fail "keyrot-restart: node-next.key still there 15 s after the second start"
	[ "$(cat "$d0/state/node.key")" = "$k2" ] ||
		wr_fail "keyrot-restart: node.key is not the key control holds"
	[ "$(_rotations 0)" = $((rot0 + 1)) ] ||
		wr_fail "keyrot-restart: control logged another rotation; it had the key already"
	wait_until 15 tailnet_running 0 || wr_fail "keyrot-restart: node 0 not running: $(tailnet_cli 0 status 2>&1)"
	FIRST=$(tailnet_first_reply_ms 1 0 10) || wr_fail "keyrot-restart: no reply n1 -> n0 after the second restart"
	wr_log "keyrot-restart: sent, not saved: the start found control's key and used it; n1 -> n0 answered after $FIRST ms"
	tailnet_table_add "n1->n0 key sent, not saved" "$FIRST" "-"
}

_state_is()
{
	[ "$(_status_json_field "$1" state)" = "$2" ]
}

_health_has()
{
	_status_json_field "$1" health | grep -- "$2" >/dev/null
}

scenario_keyexpiry()
{
	local opts=("${TAILNET_WARREND_OPTS[@]}") h0 lost key_before
	# every node key lives KEYEXPIRY_LIFETIME seconds
	sed -i "/^\[network\]/a node-key-expiry = ${KEYEXPIRY_LIFETIME}s" "$TAILNET_CTL_CONF"
	tailnet_control_kill
	tailnet_control_start
	# node 0 does not rotate (a rotation would renew the key)
	TAILNET_WARREND_OPTS+=(--key-rotation-interval 0)
	tailnet_node 0 public
	TAILNET_WARREND_OPTS=("${opts[@]}")
	tailnet_node 1 public
	up 0 1
	h0=$(natlab_host_ns 0)
	pair_first 1 0 "n1->n0"
	wait_until 10 _health_has 0 "expires in less than 1 hour" ||
		wr_fail "keyexpiry: node 0's Health does not warn: $(_status_json_field 0 health)"
	wr_log "keyexpiry: node 0's Health: $(_status_json_field 0 health | grep expires)"
	key_before=$(_self_field 0 node-key)

	wait_until $((KEYEXPIRY_LIFETIME + 10)) _state_is 0 NeedsLogin ||
		wr_fail "keyexpiry: node 0 is $(_status_json_field 0 state) $((KEYEXPIRY_LIFETIME + 10)) s after sign-in"
	wr_log "keyexpiry: node 0 states NeedsLogin; Health: $(_status_json_field 0 health | grep expired)"
	_health_has 0 "expired" || wr_fail "keyexpiry: node 0's Health does not say the key expired"
	# the data plane is down: no tunnel interface, nothing passes either way
	ip -n "$h0" link show warren0 >/dev/null 2>&1 && wr_fail "keyexpiry: node 0 still has its tunnel"
	lost=$(tailnet_lost_pings 1 0 5)
	((lost == 5)) || wr_fail "keyexpiry: $((5 - lost)) of 5 pings n1 -> n0 answered after expiry"
	lost=$(tailnet_lost_pings 0 1 5)
	((lost == 5)) || wr_fail "keyexpiry: $((5 - lost)) of 5 pings n0 -> n1 answered after expiry"
	wr_log "keyexpiry: no tunnel on node 0, 0 of 5 pings either way"

	tailnet_up 0
	wait_until 10 tailnet_running 0 || wr_fail "keyexpiry: node 0 not running after the sign-in"
	[ "$(_self_field 0 node-key)" != "$key_before" ] || wr_fail "keyexpiry: the sign-in kept the expired key"
	T0=$(now_ms)
	FIRST=$(tailnet_first_reply_ms 1 0 10) || wr_fail "keyexpiry: no reply n1 -> n0 within 10 s of the sign-in"
	ping_all "$h0" "$(tailnet_ip 1)" 5
	wr_log "keyexpiry: signed in again: Running, new node key, n1 -> n0 answered after $FIRST ms"
	tailnet_table_add "n1->n0 after sign-in" "$FIRST" "-"
}

# flow_record N PORT: node N's newest flow log record (JSON) of a TCP connection with PORT on
# either side, or nothing
flow_record()
{
	tailnet_cli "$1" log --json 2>/dev/null | python3 -c '
import json, sys
port = ":" + sys.argv[1]
recs = [r for r in json.load(sys.stdin) if r["proto"] == "tcp" and
        (r["remote"].endswith(port) or r["local"].endswith(port))]
if recs:
    print(json.dumps(recs[-1]))' "$2"
}

_flow_recorded()
{
	[ -n "$(flow_record "$1" "$2")" ]
}

# retrans NS: the TCP segments NS retransmitted so far (its own /proc/net/snmp)
retrans()
{
	# shellcheck disable=SC2016 # awk's own fields
	ip netns exec "$1" awk '$1 == "Tcp:" && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
		$1 == "Tcp:" { print $c["RetransSegs"] }' /proc/net/snmp
}

# flow_count N PORT: how many records node N's flow log holds, and how many of them are TCP
# connections to PORT, "ALL MATCHING NEWEST_IS_MATCHING"
flow_count()
{
	tailnet_cli "$1" log --json 2>/dev/null | python3 -c '
import json, sys
recs = json.load(sys.stdin)
port = ":" + sys.argv[1]
m = [r["remote"].endswith(port) or r["local"].endswith(port) for r in recs]
print(len(recs), sum(m), int(bool(m) and m[-1]))' "$2"
}

_control_has_flow()
{
	tailnet_admin --json audit flows --node "$1" | python3 -c '
import json, sys
port = ":" + sys.argv[1]
sys.exit(0 if any(f["remote"].endswith(port) or f["local"].endswith(port)
                  for f in json.load(sys.stdin)["flows"]) else 1)' "$2"
}

FLOW_RING=65536
FLOW_HEADER=32

scenario_flows()
{
	local bytes=1000000 r0 r1 rt0 rt1 ns0 ns1 ring n c0 c1 last stable out rc
	TAILNET_WARREND_OPTS+=(--flow-log-size 64K)
	# the map tells the nodes to send their records too
	sed -i 's/^\[network\]$/[network]\ncollect-flows = true/' "$TAILNET_CTL_CONF" ||
		wr_fail "flows: cannot turn collect-flows on"
	tailnet_control_kill
	tailnet_control_start
	tailnet_node 0 easy
	tailnet_node 1 public
	up 0 1
	pair_first 0 1 "n0->n1"
	pair_direct 0 1 "n0->n1"
	ns0=$(natlab_host_ns 0)
	ns1=$(natlab_host_ns 1)

	rt0=$(retrans "$ns0")
	rt1=$(retrans "$ns1")
	xfer "$ns0" "$ns1" "$(tailnet_ip 1)" "$bytes"
	rt0=$(($(retrans "$ns0") - rt0))
	rt1=$(($(retrans "$ns1") - rt1))
	# FIN both ways, the linger (2 s), the next collect (1 s)
	wait_until 10 _flow_recorded 0 5555 || wr_fail "flows: the transfer is not in node 0's log after 10 s: $(tailnet_cli 0 log 2>&1)"
	wait_until 10 _flow_recorded 1 5555 || wr_fail "flows: the transfer is not in node 1's log after 10 s: $(tailnet_cli 1 log 2>&1)"
	r0=$(flow_record 0 5555)
	r1=$(flow_record 1 5555)
	wr_log "flows: node 0: $r0"
	wr_log "flows: node 1: $r1"
	out=$(python3 -c '
import json, sys
r0, r1 = json.loads(sys.argv[1]), json.loads(sys.argv[2])
n, ip0, ip1 = int(sys.argv[3]), sys.argv[4], sys.argv[5]
rt = int(sys.argv[6]) + int(sys.argv[7])
err = []
def want(what, got, exp):
    if got != exp:
        err.append("%s is %r, expected %r" % (what, got, exp))
want("node 0 peer", r0["peer"], "n1")
want("node 1 peer", r1["peer"], "n0")
want("node 0 outbound", r0["outbound"], True)
want("node 1 outbound", r1["outbound"], False)
want("node 0 path", r0["path"], "direct")
want("node 1 path", r1["path"], "direct")
want("node 0 end-reason", r0["end-reason"], "fin")
want("node 0 remote", r0["remote"], ip1 + ":5555")
want("node 1 local", r1["local"], ip1 + ":5555")
want("node 1 remote", r1["remote"], r0["local"])
# the same packets, counted on both sides of the tunnel
want("node 1 rx-bytes (node 0 tx-bytes)", r1["rx-bytes"], r0["tx-bytes"])
want("node 1 rx-packets (node 0 tx-packets)", r1["rx-packets"], r0["tx-packets"])
want("node 1 tx-bytes (node 0 rx-bytes)", r1["tx-bytes"], r0["rx-bytes"])
want("node 1 tx-packets (node 0 rx-packets)", r1["tx-packets"], r0["rx-packets"])
p, q = r0["tx-packets"], r0["rx-packets"]
if rt == 0:
    # IPv4 20 + TCP 20 + timestamps 12 a packet; the SYN and SYN-ACK carry 8 more (MSS, SACK
    # permitted, window scale instead of two NOPs)
    want("node 0 tx-bytes (payload + 52 a packet + 8)", r0["tx-bytes"], n + 52 * p + 8)
    want("node 0 rx-bytes (52 an ACK + 8)", r0["rx-bytes"], 52 * q + 8)
else:
    # retransmissions count again: at least the payload plus 40 header bytes a packet
    if r0["tx-bytes"] < n + 40 * p or r0["tx-bytes"] > n + 120 * p + n:
        err.append("node 0 tx-bytes %d is no payload of %d in %d packets" % (r0["tx-bytes"], n, p))
if r0["end"] < r0["start"]:
    err.append("node 0 ends before it starts")
if err:
    sys.exit("; ".join(err))
print("%d packets, %d bytes out (payload %d + %d of headers), %d packets, %d bytes back; %d retransmitted" % (
    p, r0["tx-bytes"], n, r0["tx-bytes"] - n, q, r0["rx-bytes"], rt))
' "$r0" "$r1" "$bytes" "$(tailnet_ip 0)" "$(tailnet_ip 1)" "$rt0" "$rt1") || wr_fail "flows: $out"
	wr_log "flows: transfer: $out"
	for n in 0 1; do
		wait_until 10 _control_has_flow "n$n" 5555 ||
			wr_fail "flows: control has no record of node $n's transfer after 10 s: $(tailnet_admin audit flows 2>&1)"
	done
	out=$(tailnet_admin --json audit flows | python3 -c '
import json, sys
flows = json.load(sys.stdin)["flows"]
r0, r1 = json.loads(sys.argv[1]), json.loads(sys.argv[2])
err = []
for node, mine in (("n0", r0), ("n1", r1)):
    got = [f for f in flows if f["node"] == node and (f["remote"] == mine["remote"])]
    if len(got) != 1:
        err.append("%s: %d records of the transfer at control" % (node, len(got)))
        continue
    f = got[0]
    for ours, theirs in (("start", "start"), ("end", "end"), ("local", "local"), ("peer", "peer"),
                         ("path", "path"), ("tx-bytes", "tx_bytes"), ("tx-packets", "tx_packets"),
                         ("rx-bytes", "rx_bytes"), ("rx-packets", "rx_packets"),
                         ("end-reason", "end_reason"), ("outbound", "outbound")):
        if f[theirs] != mine[ours]:
            err.append("%s: %s is %r at control, %r on the node" % (node, theirs, f[theirs], mine[ours]))
if err:
    sys.exit("; ".join(err))
print("both records at control, as the nodes have them")' "$r0" "$r1") || wr_fail "flows: $out"
	wr_log "flows: warren-control audit flows: $out"
	tailnet_cli 0 log | grep -q "n1" || wr_fail "flows: warren log on node 0 does not name n1: $(tailnet_cli 0 log 2>&1)"
	out=$(tailnet_cli 0 log --since yesterday 2>&1)
	rc=$?
	if [ "$rc" != 2 ] || [[ $out != *"--since"* ]]; then
		wr_fail "flows: warren log --since yesterday: exit $rc, '$out'"
	fi

	# many short flows: the rings keep their size and the newest records
	n=1200
	ip netns exec "$ns1" python3 "$WR_LIB_DIR/shortconn.py" serve "$(tailnet_ip 1)" 6000 \
		"$WR_TMP/short.ready" "$n" >"$WR_TMP/short.serve" 2>&1 &
	wr_track $! "short connection server"
	wait_until 10 test -e "$WR_TMP/short.ready" || wr_fail "flows: the short connection server did not start"
	out=$(ip netns exec "$ns0" python3 "$WR_LIB_DIR/shortconn.py" dial "$(tailnet_ip 1)" 6000 "$n" 2>&1)
	[ "$out" = "$n" ] || wr_fail "flows: $n short connections: $out"
	# until both logs stop changing (the last flows linger 2 s)
	last=''
	stable=0
	while ((stable < 4)); do
		sleep 1
		c0="$(flow_count 0 6000) $(flow_count 1 6000)"
		if [ "$c0" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
		last=$c0
	done
	for n in 0 1; do
		ring="$(tailnet_node_dir "$n")/state/flows.ring"
		c1=$(stat -c '%s %a' "$ring")
		[ "$c1" = "$((FLOW_RING + FLOW_HEADER)) 600" ] || wr_fail "flows: node $n's ring is '$c1' (size, mode), not '$((FLOW_RING + FLOW_HEADER)) 600'"
		read -r c0 c1 last <<<"$(flow_count "$n" 6000)"
		# records of peer "n0"/"n1" are 119 bytes: 550 fit, one may be cut by the wrap
		((c0 >= (FLOW_RING - 2 * 180) / 119 && c0 <= FLOW_RING / 117)) ||
			wr_fail "flows: node $n's ring holds $c0 records; 64 KiB holds about 550"
		((c1 >= c0 - 5)) || wr_fail "flows: node $n's ring: only $c1 of $c0 records are the short connections"
		[ -z "$(flow_record "$n" 5555)" ] || wr_fail "flows: node $n still has the transfer's record after $c0 newer ones"
		wr_log "flows: node $n: ring $((FLOW_RING + FLOW_HEADER)) bytes, 0600, $c0 records, $c1 of them short connections, the transfer pushed out"
	done
	tailnet_table_add "n0(easy)->n1(public)" "$FIRST" "$DIRECT"
}

# before the servers: skip at once when resolved is not unpacked
[ "$scenario" = dns-resolved ] && resolved_need
tailnet_servers
"scenario_${scenario//-/_}"
tailnet_warrend_alive
tailnet_stop_all
tailnet_table_print
echo "PASS: tailnet $scenario"
exit 0
