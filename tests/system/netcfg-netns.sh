#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# netcfg-netns.sh: engine/netcfg against a real kernel.  In a fresh network namespace,
# wr-netcfg-probe creates a TUN with engine/tun and applies configurations to it with
# engine/netcfg; after each step the kernel's state, read with `ip -j` (netcfg-state.py), must
# be exactly what is expected:
#   1. a fresh link: MTU, up, the node's /32 and /128, routes to peers and subnets (proto 87);
#   2. the same configuration again changes nothing;
#   3. a route and an address added by hand to the TUN, and a route to another device, are
#      never touched;
#   4. a new configuration (address changed, peers and subnets added and removed) changes only
#      the difference;
#   5. a route that collides with someone else's fails with an error that names it, and the
#      rest of the configuration is applied all the same;
#   6. an invalid configuration is refused and changes nothing;
#   7. a table and metric change moves every route of ours, and only ours;
#   8. policy rules (the exit-node shape: marked traffic to main, main without its default
#      route (suppress_prefixlength 0), the rest to our table) are
#      added and changed beside a rule added by hand, which stays;
#   9. teardown removes everything of ours and nothing else; a second teardown does nothing.
#
# Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for `ip netns`), /dev/net/tun, ip and python3;
# exits 77 otherwise.  WR_NETCFG_PROBE is the probe binary (meson sets it).

set -u

# shellcheck source=tests/lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"

STATE_PY="$(cd "$(dirname "$0")" && pwd)/netcfg-state.py"

if [ "$(id -u)" != 0 ]; then
	wr_skip "needs root (network namespaces, TUN devices)"
fi
[ -c /dev/net/tun ] || wr_skip "no /dev/net/tun"
for tool in ip python3; do
	command -v "$tool" >/dev/null 2>&1 || wr_skip "$tool is not installed"
done
if [ -z "${WR_NETCFG_PROBE:-}" ] || [ ! -x "$WR_NETCFG_PROBE" ]; then
	wr_skip "WR_NETCFG_PROBE is not set to the wr-netcfg-probe binary"
fi

wr_init

NS="${WR_PREFIX}n"
TUN="${WR_PREFIX}t"
VA="${WR_PREFIX}va"
VB="${WR_PREFIX}vb"

# probe CMD: send one command to the probe, leave its one-line answer in ANSWER
probe()
{
	printf '%s\n' "$1" >&"${PROBE[1]}" || wr_fail "probe: cannot send '$1'"
	IFS= read -r -t 20 -u "${PROBE[0]}" ANSWER ||
		wr_fail "probe: no answer to '$1' ($(cat "$WR_TMP/probe.err" 2>/dev/null))"
	wr_log "probe: $1 -> $ANSWER"
}

# expect_answer CMD ANSWER
expect_answer()
{
	probe "$1"
	[ "$ANSWER" = "$2" ] || wr_fail "'$1': expected '$2', got '$ANSWER'"
}

# expect_state WHAT: the kernel's state (netcfg-state.py) must equal stdin, line for line
expect_state()
{
	local got want
	got=$(ip netns exec "$NS" python3 "$STATE_PY" "$TUN") || wr_fail "netcfg-state.py failed"
	want=$(sed -e 's/^[[:space:]]*//' -e '/^$/d' | sort)
	if [ "$got" != "$want" ]; then
		printf '# expected:\n%s\n# got:\n%s\n' "$want" "$got" | sed 's/^/#   /'
		printf '# diff (- expected, + got):\n'
		diff <(echo "$want") <(echo "$got") | sed 's/^/#   /'
		wr_fail "$1: the kernel's state is not what was expected"
	fi
	wr_log "state ok: $1"
}

# conf NAME: the configuration on stdin becomes $WR_TMP/NAME.conf
conf()
{
	cat >"$WR_TMP/$1.conf"
}

ns_new "$NS"
nsx "$NS" ip link add "$VA" type veth peer name "$VB"
nsx "$NS" ip addr add 198.51.100.1/24 dev "$VA"
nsx "$NS" ip link set "$VA" up
nsx "$NS" ip link set "$VB" up

coproc PROBE { exec ip netns exec "$NS" "$WR_NETCFG_PROBE" --name "$TUN" 2>"$WR_TMP/probe.err"; }
wr_track "$PROBE_PID" wr-netcfg-probe
PROBE_PID_SAVED=$PROBE_PID
IFS= read -r -t 20 -u "${PROBE[0]}" ANSWER ||
	wr_fail "probe did not start: $(cat "$WR_TMP/probe.err")"
[ "$ANSWER" = "ready $TUN" ] || wr_fail "probe: expected 'ready $TUN', got '$ANSWER'"

# what is not ours: the veth's own subnet is the kernel's (not listed); this one is by hand
nsx "$NS" ip route add 203.0.113.0/24 dev "$VA"
THEIRS_VETH="route 203.0.113.0/24 dev $VA table main proto boot metric 0"

expect_state "a fresh TUN" <<EOF
	link $TUN mtu 1500 down
	$THEIRS_VETH
EOF

# 1. a fresh link
conf c1 <<EOF
# the node
address 100.64.0.1/32
address fd7a:115c:a1e0::1/128
# peers
route 100.64.0.2/32
route fd7a:115c:a1e0::2/128
# subnet routes
route 192.0.2.0/24
route 2001:db8:1::/48
EOF
# mtu, up, 2 addresses, 4 routes
expect_answer "apply $WR_TMP/c1.conf" "ok 8"
expect_state "first configuration" <<EOF
	link $TUN mtu 1280 up
	address 100.64.0.1/32
	address fd7a:115c:a1e0::1/128
	route 100.64.0.2/32 dev $TUN table main proto 87 metric 0
	route 192.0.2.0/24 dev $TUN table main proto 87 metric 0
	route fd7a:115c:a1e0::2/128 dev $TUN table main proto 87 metric 1024
	route 2001:db8:1::/48 dev $TUN table main proto 87 metric 1024
	$THEIRS_VETH
EOF
# the peers are reachable through the TUN: the kernel routes to it, source the node's address
got=$(ip -n "$NS" -j route get 100.64.0.2 | python3 -c \
	'import json,sys; r=json.load(sys.stdin)[0]; print(r["dev"], r.get("prefsrc"))')
[ "$got" = "$TUN 100.64.0.1" ] || wr_fail "route get 100.64.0.2: '$got'"

# 2. idempotent
expect_answer "apply $WR_TMP/c1.conf" "ok 0"

# 3. someone else's route and address on our TUN
nsx "$NS" ip route add 198.51.100.128/25 dev "$TUN"
nsx "$NS" ip addr add 192.0.2.200/32 dev "$TUN"
THEIRS_TUN="route 198.51.100.128/25 dev $TUN table main proto boot metric 0"
expect_answer "apply $WR_TMP/c1.conf" "ok 0"

# 4. the node's address changes, a peer comes, a subnet route goes, another comes
conf c2 <<EOF
address 100.64.0.5/32
address fd7a:115c:a1e0::1/128
route 100.64.0.2/32
route 100.64.0.3/32
route fd7a:115c:a1e0::2/128
route 2001:db8:1::/48
route 203.0.113.128/25
EOF
# del route 192.0.2.0/24, del 100.64.0.1, add 100.64.0.5, add 100.64.0.3, add 203.0.113.128/25
expect_answer "apply $WR_TMP/c2.conf" "ok 5"
C2_STATE="
	link $TUN mtu 1280 up
	address 100.64.0.5/32
	address fd7a:115c:a1e0::1/128
	address 192.0.2.200/32
	route 100.64.0.2/32 dev $TUN table main proto 87 metric 0
	route 100.64.0.3/32 dev $TUN table main proto 87 metric 0
	route 203.0.113.128/25 dev $TUN table main proto 87 metric 0
	route fd7a:115c:a1e0::2/128 dev $TUN table main proto 87 metric 1024
	route 2001:db8:1::/48 dev $TUN table main proto 87 metric 1024
	$THEIRS_TUN
	$THEIRS_VETH"
expect_state "second configuration" <<<"$C2_STATE"

# 5. a route that is someone else's already (same prefix, table and metric, other device)
conf c3 <<EOF
$(cat "$WR_TMP/c2.conf")
route 203.0.113.0/24
route 192.0.2.64/26
EOF
expect_answer "apply $WR_TMP/c3.conf" "error: route 203.0.113.0/24 dev $TUN: File exists"
expect_state "a conflicting route is refused, the rest applied" <<EOF
	$C2_STATE
	route 192.0.2.64/26 dev $TUN table main proto 87 metric 0
EOF
# and the next apply of a good configuration converges
expect_answer "apply $WR_TMP/c2.conf" "ok 1"
expect_state "back to the second configuration" <<<"$C2_STATE"

# 6. an invalid configuration changes nothing
conf bad <<EOF
address 100.64.0.9/32
route 192.0.2.1/24
EOF
expect_answer "apply $WR_TMP/bad.conf" \
	"error: $WR_TMP/bad.conf: line 2: route 192.0.2.1/24: host bits are set (192.0.2.0/24?)"
conf bad-mtu <<EOF
mtu 1000
address fd7a:115c:a1e0::1/128
EOF
expect_answer "apply $WR_TMP/bad-mtu.conf" \
	"error: $WR_TMP/bad-mtu.conf: mtu 1000: IPv6 needs at least 1280"
expect_state "invalid configurations change nothing" <<<"$C2_STATE"

# 7. another table and metric: every route of ours moves, theirs stay
conf c4 <<EOF
table 100
metric 10
mtu 1420
$(cat "$WR_TMP/c2.conf")
EOF
# mtu + 5 removals + 5 additions
expect_answer "apply $WR_TMP/c4.conf" "ok 11"
expect_state "table 100, metric 10" <<EOF
	link $TUN mtu 1420 up
	address 100.64.0.5/32
	address fd7a:115c:a1e0::1/128
	address 192.0.2.200/32
	route 100.64.0.2/32 dev $TUN table 100 proto 87 metric 10
	route 100.64.0.3/32 dev $TUN table 100 proto 87 metric 10
	route 203.0.113.128/25 dev $TUN table 100 proto 87 metric 10
	route fd7a:115c:a1e0::2/128 dev $TUN table 100 proto 87 metric 10
	route 2001:db8:1::/48 dev $TUN table 100 proto 87 metric 10
	$THEIRS_TUN
	$THEIRS_VETH
EOF
expect_answer "apply $WR_TMP/c4.conf" "ok 0"

# 8. policy rules, next to one of someone else's
nsx "$NS" ip rule add pref 6000 fwmark 0x1 lookup 200
THEIRS_RULE="rule ipv4 6000 fwmark 0x1/0xffffffff lookup 200 proto unspec"
conf c5 <<EOF
$(cat "$WR_TMP/c4.conf")
rule ipv4 5210 fwmark 0x80000/0xff0000 lookup main
rule ipv6 5210 fwmark 0x80000/0xff0000 lookup main
rule ipv4 5230 lookup main suppress_prefixlength 0
rule ipv6 5230 lookup main suppress_prefixlength 0
rule ipv4 5250 unreachable
rule ipv4 5270 lookup 100
rule ipv6 5270 lookup 100
EOF
C4_STATE="
	link $TUN mtu 1420 up
	address 100.64.0.5/32
	address fd7a:115c:a1e0::1/128
	address 192.0.2.200/32
	route 100.64.0.2/32 dev $TUN table 100 proto 87 metric 10
	route 100.64.0.3/32 dev $TUN table 100 proto 87 metric 10
	route 203.0.113.128/25 dev $TUN table 100 proto 87 metric 10
	route fd7a:115c:a1e0::2/128 dev $TUN table 100 proto 87 metric 10
	route 2001:db8:1::/48 dev $TUN table 100 proto 87 metric 10
	$THEIRS_TUN
	$THEIRS_VETH
	$THEIRS_RULE"
expect_answer "apply $WR_TMP/c5.conf" "ok 7"
expect_state "policy rules" <<EOF
	$C4_STATE
	rule ipv4 5210 fwmark 0x80000/0xff0000 lookup main proto 87
	rule ipv6 5210 fwmark 0x80000/0xff0000 lookup main proto 87
	rule ipv4 5230 lookup main suppress_prefixlength 0 proto 87
	rule ipv6 5230 lookup main suppress_prefixlength 0 proto 87
	rule ipv4 5250 unreachable proto 87
	rule ipv4 5270 lookup 100 proto 87
	rule ipv6 5270 lookup 100 proto 87
EOF
expect_answer "apply $WR_TMP/c5.conf" "ok 0"
# one rule goes, one changes priority
grep -v '^rule ipv4 5250\|^rule ipv6 5270' "$WR_TMP/c5.conf" >"$WR_TMP/c6.conf"
echo "rule ipv6 5271 lookup 100" >>"$WR_TMP/c6.conf"
expect_answer "apply $WR_TMP/c6.conf" "ok 3"
expect_state "policy rules changed" <<EOF
	$C4_STATE
	rule ipv4 5210 fwmark 0x80000/0xff0000 lookup main proto 87
	rule ipv6 5210 fwmark 0x80000/0xff0000 lookup main proto 87
	rule ipv4 5230 lookup main suppress_prefixlength 0 proto 87
	rule ipv6 5230 lookup main suppress_prefixlength 0 proto 87
	rule ipv4 5270 lookup 100 proto 87
	rule ipv6 5271 lookup 100 proto 87
EOF

# 9. teardown: 6 rules, 5 routes, 2 addresses; MTU and link state stay
expect_answer "teardown" "ok 13"
expect_state "after teardown" <<EOF
	link $TUN mtu 1420 up
	address 192.0.2.200/32
	$THEIRS_TUN
	$THEIRS_VETH
	$THEIRS_RULE
EOF
expect_answer "teardown" "ok 0"

printf 'quit\n' >&"${PROBE[1]}"
wait "$PROBE_PID_SAVED"
rc=$?
[ "$rc" = 0 ] || wr_fail "probe exited with $rc: $(cat "$WR_TMP/probe.err")"
[ -s "$WR_TMP/probe.err" ] && wr_fail "probe wrote to stderr: $(cat "$WR_TMP/probe.err")"
# the TUN went with the probe
ip -n "$NS" link show "$TUN" >/dev/null 2>&1 && wr_fail "$TUN outlived the probe"
echo "PASS: netcfg-netns"
exit 0
