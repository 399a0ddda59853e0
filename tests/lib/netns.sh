#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/netns.sh: helpers for the namespace tests (tests/interop, tests/bench), sourced by
# bash scripts.  Two namespaces A and B joined by a veth pair (198.51.100.1/24, .2/24), one
# userspace WireGuard daemon in each (wireguard-go or warren-wg, both started as
# `IMPL -f IFNAME`), configured with wg(8) only; tunnel addresses 100.64.0.1 and 100.64.0.2
# (and fd7a:115c:a1e0::1, ::2).
#
# Every name carries a per-run prefix, so two runs never collide, and everything this file
# creates is undone by wr_cleanup, which wr_init registers on EXIT, INT and TERM: processes are
# ended by pid, namespaces and UAPI sockets are deleted even when the test fails.  Waits poll
# with a deadline (wait_until) rather than sleep.  WR_KEEP_TMP=1 keeps the logs and keys.
#
# Exit codes follow meson: 0 pass, 1 fail, 77 skip.
#
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are read by the scripts that source this file)

WR_UAPI_DIR=/var/run/wireguard
WR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${WIREGUARD_GO:=/usr/bin/wireguard-go}"

# addresses, all in documentation ranges (TESTING.md, "Addresses")
WR_UNDER_A=198.51.100.1
WR_UNDER_B=198.51.100.2
WR_UNDER_ROAM=198.51.100.3
WR_TUN_A=100.64.0.1
WR_TUN_B=100.64.0.2
WR_TUN6_A=fd7a:115c:a1e0::1
WR_TUN6_B=fd7a:115c:a1e0::2
WR_PORT_A=51820
WR_PORT_B=51821

# EPOCHREALTIME prints the locale's radix character
export LC_NUMERIC=C

WR_PIDS=()
declare -A WR_PID_START=()
declare -A WR_PID_NAME=()
WR_NETNS=()
WR_SOCKS=()
WR_LOGS=()
WR_CLEANED=0
WR_TMP=
WR_PREFIX=
WR_SETUP_SEQ=0
WR_PAIRING=

wr_log()
{
	printf '# %s\n' "$*"
}

# wr_dump_logs: the tail of every daemon log of this run, for a failure report
# (warrend's first: a report may be cut short, and theirs say most; empty logs are left out)
wr_dump_logs()
{
	local f
	for f in "${WR_LOGS[@]}"; do
		[[ $f == */warrend.log ]] || continue
		[ -s "$f" ] || continue
		printf '# ---- last 40 lines of %s ----\n' "${f#"$WR_TMP"/}"
		tail -n 40 "$f" | sed 's/^/#   /'
	done
	for f in "${WR_LOGS[@]}"; do
		[[ $f != */warrend.log ]] || continue
		[ -s "$f" ] || continue
		printf '# ---- last 40 lines of %s ----\n' "${f#"$WR_TMP"/}"
		tail -n 40 "$f" | sed 's/^/#   /'
	done
}

# wr_fail MESSAGE: report a failed check with the daemons' logs, exit 1 (cleanup runs on EXIT)
wr_fail()
{
	printf 'FAIL%s: %s\n' "${WR_PAIRING:+ [$WR_PAIRING]}" "$*"
	wr_dump_logs
	exit 1
}

# wr_skip MESSAGE: exit 77, meson's "skipped"
wr_skip()
{
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# need_root: skip unless we may create namespaces, links and TUN devices and have the tools
need_root()
{
	local cap
	if [ "$(id -u)" != 0 ]; then
		cap=$(awk '/^CapEff:/ { print $2 }' /proc/self/status 2>/dev/null)
		# CAP_NET_ADMIN is bit 12, CAP_SYS_ADMIN (mounts for `ip netns`) bit 21
		if [ -z "$cap" ] || (((0x$cap >> 12 & 1) == 0 || (0x$cap >> 21 & 1) == 0)); then
			wr_skip "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)"
		fi
	fi
	[ -c /dev/net/tun ] || wr_skip "no /dev/net/tun"
	local tool
	for tool in ip wg ping python3; do
		command -v "$tool" >/dev/null 2>&1 || wr_skip "$tool is not installed"
	done
}

# wr_init: per-run prefix (<= 9 characters, so that prefix + 6 stays within IFNAMSIZ 15),
# temporary directory, cleanup traps.  Call once, after need_root.
wr_init()
{
	local r
	r=$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
	WR_PREFIX=$(printf 'w%04x%s' $(($$ & 0xffff)) "$r")
	WR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/warren-netns.$WR_PREFIX.XXXXXX") ||
		wr_fail "cannot create a temporary directory"
	trap wr_cleanup EXIT
	trap 'wr_cleanup; trap - INT; kill -INT $$' INT
	trap 'wr_cleanup; exit 143' TERM
	# a probe namespace: skip, not fail, where namespaces cannot be made at all
	if ! ip netns add "${WR_PREFIX}p" 2>"$WR_TMP/probe.err"; then
		wr_skip "cannot create a network namespace: $(cat "$WR_TMP/probe.err")"
	fi
	ip netns del "${WR_PREFIX}p"
}

# pid_alive PID: true while PID runs (a zombie counts as dead)
pid_alive()
{
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# pid_starttime PID: field 22 of /proc/PID/stat, to tell our process from a later reuse of its pid
pid_starttime()
{
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# wr_track PID NAME: remember a background process so that wr_cleanup ends it
wr_track()
{
	WR_PIDS+=("$1")
	WR_PID_START[$1]=$(pid_starttime "$1")
	WR_PID_NAME[$1]=$2
}

# wr_kill PID: SIGTERM, up to 5 s grace, then SIGKILL; only if PID is still the process we started
wr_kill()
{
	local pid=$1 i
	pid_alive "$pid" || return 0
	[ "$(pid_starttime "$pid")" = "${WR_PID_START[$pid]:-}" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	wr_log "pid $pid (${WR_PID_NAME[$pid]:-?}) ignored SIGTERM, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
}

# wr_teardown: end every process and delete every namespace and socket made so far; the run
# may go on and set up again (the bench does, once per pairing)
wr_teardown()
{
	local pid ns sock
	for pid in "${WR_PIDS[@]}"; do
		wr_kill "$pid"
	done
	# anything else still running inside our namespaces was started by us too
	for ns in "${WR_NETNS[@]}"; do
		[ -e "/var/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for ns in "${WR_NETNS[@]}"; do
		[ -e "/var/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	for sock in "${WR_SOCKS[@]}"; do
		rm -f "$sock"
	done
	WR_PIDS=()
	WR_NETNS=()
	WR_SOCKS=()
}

wr_cleanup()
{
	[ "$WR_CLEANED" = 1 ] && return 0
	WR_CLEANED=1
	wr_teardown
	if [ -n "$WR_TMP" ] && [ -d "$WR_TMP" ]; then
		if [ -n "${WR_KEEP_TMP:-}" ]; then
			wr_log "kept $WR_TMP"
		else
			rm -rf "$WR_TMP"
		fi
	fi
}

# wait_until SECONDS CMD [ARG...]: run CMD every 0.1 s until it succeeds (return 0) or SECONDS
# (may be fractional) have passed (return 1)
wait_until()
{
	local limit_us deadline now
	limit_us=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000000 }')
	shift
	now=${EPOCHREALTIME/./}
	deadline=$((now + limit_us))
	while :; do
		"$@" && return 0
		now=${EPOCHREALTIME/./}
		((now >= deadline)) && return 1
		sleep 0.1
	done
}

# wr_bus_daemon CONF SOCKET [POLICY_LINE]: a private dbus-daemon (type session, any peer may own
# and call anything) listening on the unix socket path SOCKET, its configuration written to CONF
# and its log to CONF.log; POLICY_LINE (e.g. '<allow user="alice"/>') lets more users in.
# Tracked for the cleanup; returns once the socket exists.
wr_bus_daemon()
{
	local conf=$1 socket=$2 extra=${3:-}
	cat >"$conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    $extra
  </policy>
</busconfig>
EOC
	WR_LOGS+=("$conf.log")
	dbus-daemon --config-file="$conf" --nofork >"$conf.log" 2>&1 </dev/null &
	wr_track $! "dbus-daemon on $socket"
	WR_SOCKS+=("$socket")
	wait_until 10 test -S "$socket" || wr_fail "the dbus-daemon on $socket did not start: $(cat "$conf.log")"
}

# now_ms: monotonic enough wall-clock milliseconds for measuring waits
now_ms()
{
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# nsx NS CMD...: run CMD inside NS; fail the test when it fails
nsx()
{
	local ns=$1
	shift
	ip netns exec "$ns" "$@" || wr_fail "command failed in $ns: $*"
}

# ns_new NAME: create a namespace with lo up and remember it for cleanup
ns_new()
{
	ip netns add "$1" || wr_fail "cannot create namespace $1"
	WR_NETNS+=("$1")
	ip -n "$1" link set lo up || wr_fail "cannot bring up lo in $1"
}

# netns_pair: fresh namespaces NS_A and NS_B joined by veth VETH_A/VETH_B with WR_UNDER_A/B.
# Names get a new sequence number every call, so a setup never meets a namespace whose
# asynchronous deletion is still under way.
netns_pair()
{
	WR_SETUP_SEQ=$((WR_SETUP_SEQ + 1))
	local p="$WR_PREFIX$WR_SETUP_SEQ"
	NS_A="${p}A"
	NS_B="${p}B"
	VETH_A="${p}va"
	VETH_B="${p}vb"
	IF_A="${p}wa"
	IF_B="${p}wb"
	ns_new "$NS_A"
	ns_new "$NS_B"
	ip -n "$NS_A" link add "$VETH_A" type veth peer name "$VETH_B" netns "$NS_B" ||
		wr_fail "cannot create veth pair"
	nsx "$NS_A" ip addr add "$WR_UNDER_A/24" dev "$VETH_A"
	nsx "$NS_B" ip addr add "$WR_UNDER_B/24" dev "$VETH_B"
	nsx "$NS_A" ip link set "$VETH_A" up
	nsx "$NS_B" ip link set "$VETH_B" up
}

# start_wg NS IFNAME IMPL: run `IMPL -f IFNAME` in NS in the background, log to
# $WR_TMP/IFNAME.log, wait (bounded) for its UAPI socket; the pid is left in WR_LAST_PID.
# WG_PROCESS_FOREGROUND=1 silences wireguard-go's "kernel has first class support" banner;
# LOG_LEVEL (WR_LOG_LEVEL, default verbose) is wireguard-go's log level.  Every other
# variable of the environment, e.g. WARREN_WG_TIMER_SCALE, is inherited.
start_wg()
{
	local ns=$1 ifname=$2 impl=$3
	local log="$WR_TMP/$ifname.log" sock="$WR_UAPI_DIR/$ifname.sock" pid
	[ -x "$impl" ] || wr_fail "$impl is not executable"
	[ -e "$sock" ] && wr_fail "$sock already exists: name collision"
	WR_LOGS+=("$log")
	WR_SOCKS+=("$sock")
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL="${WR_LOG_LEVEL:-verbose}" \
		"$impl" -f "$ifname" >"$log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "$(basename "$impl") $ifname"
	WR_LAST_PID=$pid
	if ! wait_until 10 _wr_uapi_ready "$pid" "$sock" "$ns" "$ifname"; then
		pid_alive "$pid" || wr_fail "$(basename "$impl") -f $ifname exited during startup"
		wr_fail "$(basename "$impl") -f $ifname: no UAPI socket $sock and TUN after 10 s"
	fi
}

_wr_uapi_ready()
{
	pid_alive "$1" || return 1
	[ -S "$2" ] && ip -n "$3" link show "$4" >/dev/null 2>&1
}

# wg_keys VAR NAME: writes a private key to $WR_TMP/NAME.key and its public key to VAR
wg_keys()
{
	local pub
	(umask 077 && wg genkey >"$WR_TMP/$2.key") || wr_fail "wg genkey failed"
	pub=$(wg pubkey <"$WR_TMP/$2.key") || wr_fail "wg pubkey failed"
	printf -v "$1" '%s' "$pub"
}

# wg_psk NAME: writes a preshared key to $WR_TMP/NAME.psk
wg_psk()
{
	(umask 077 && wg genpsk >"$WR_TMP/$1.psk") || wr_fail "wg genpsk failed"
}

# tun_up NS IFNAME ADDR ADDR6 PEER PEER6: addresses, MTU 1420, up, routes to the peer's
# tunnel addresses
tun_up()
{
	local ns=$1 ifname=$2
	nsx "$ns" ip addr add "$3/32" dev "$ifname"
	nsx "$ns" ip addr add "$4/128" dev "$ifname" nodad
	nsx "$ns" ip link set "$ifname" up mtu 1420
	nsx "$ns" ip route add "$5/32" dev "$ifname"
	nsx "$ns" ip route add "$6/128" dev "$ifname"
}

# pair_up IMPL_A IMPL_B: netns_pair, a daemon on each side, keys, peers, addresses, routes.
# Knobs (environment or shell variables):
#   WR_PSK=1            both sides share a preshared key ($WR_TMP/pair.psk)
#   WR_B_ENDPOINT=0     B gets no endpoint for A, so only A can initiate and B must learn A's
#                       address from the handshake (default 1: both know each other)
#   WR_WRONG_PUB_ON=A|B that side is given a random public key instead of its peer's
# Sets NS_A NS_B IF_A IF_B VETH_A VETH_B PID_A PID_B PUB_A PUB_B LOG_A LOG_B WRONG_PUB.
pair_up()
{
	local impl_a=$1 impl_b=$2 psk_a=() psk_b=() ep_b=() peer_for_a peer_for_b
	netns_pair
	start_wg "$NS_A" "$IF_A" "$impl_a"
	PID_A=$WR_LAST_PID
	LOG_A="$WR_TMP/$IF_A.log"
	start_wg "$NS_B" "$IF_B" "$impl_b"
	PID_B=$WR_LAST_PID
	LOG_B="$WR_TMP/$IF_B.log"
	wg_keys PUB_A "$IF_A"
	wg_keys PUB_B "$IF_B"
	peer_for_a=$PUB_B
	peer_for_b=$PUB_A
	WRONG_PUB=$(wg genkey | wg pubkey) || wr_fail "wg genkey failed"
	case "${WR_WRONG_PUB_ON:-}" in
	A) peer_for_a=$WRONG_PUB ;;
	B) peer_for_b=$WRONG_PUB ;;
	esac
	if [ "${WR_PSK:-0}" = 1 ]; then
		wg_psk pair
		psk_a=(preshared-key "$WR_TMP/pair.psk")
		psk_b=(preshared-key "$WR_TMP/pair.psk")
	fi
	if [ "${WR_B_ENDPOINT:-1}" = 1 ]; then
		ep_b=(endpoint "$WR_UNDER_A:$WR_PORT_A")
	fi
	nsx "$NS_A" wg set "$IF_A" private-key "$WR_TMP/$IF_A.key" listen-port "$WR_PORT_A" \
		peer "$peer_for_a" "${psk_a[@]}" endpoint "$WR_UNDER_B:$WR_PORT_B" \
		allowed-ips "$WR_TUN_B/32,$WR_TUN6_B/128"
	nsx "$NS_B" wg set "$IF_B" private-key "$WR_TMP/$IF_B.key" listen-port "$WR_PORT_B" \
		peer "$peer_for_b" "${psk_b[@]}" "${ep_b[@]}" \
		allowed-ips "$WR_TUN_A/32,$WR_TUN6_A/128"
	tun_up "$NS_A" "$IF_A" "$WR_TUN_A" "$WR_TUN6_A" "$WR_TUN_B" "$WR_TUN6_B"
	tun_up "$NS_B" "$IF_B" "$WR_TUN_B" "$WR_TUN6_B" "$WR_TUN_A" "$WR_TUN6_A"
}

# daemons_alive: fail unless both daemons of the pair still run
daemons_alive()
{
	pid_alive "$PID_A" || wr_fail "daemon A (pid $PID_A, $IF_A) died"
	pid_alive "$PID_B" || wr_fail "daemon B (pid $PID_B, $IF_B) died"
}

# proc_status_kb PID FIELD: a "FIELD: N kB" value of /proc/PID/status (VmRSS, VmHWM)
proc_status_kb()
{
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

proc_rss_kb()
{
	proc_status_kb "$1" VmRSS
}

proc_hwm_kb()
{
	proc_status_kb "$1" VmHWM
}

# kb_to_mib KB: one decimal
kb_to_mib()
{
	awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'
}

# wg_latest_handshake NS IFNAME [PUBKEY]: seconds since the epoch of the last handshake with
# PUBKEY (default: the first peer), 0 for none; empty when wg show fails
wg_latest_handshake()
{
	local out
	out=$(ip netns exec "$1" wg show "$2" latest-handshakes 2>/dev/null) || return 1
	awk -v k="${3:-}" 'k == "" || $1 == k { print $2; exit }' <<<"$out"
}

# wg_endpoint NS IFNAME [PUBKEY]: the peer's endpoint as wg show prints it, "(none)" if unset
wg_endpoint()
{
	local out
	out=$(ip netns exec "$1" wg show "$2" endpoints 2>/dev/null) || return 1
	awk -v k="${3:-}" 'k == "" || $1 == k { print $2; exit }' <<<"$out"
}

# has_handshake NS IFNAME: true once a handshake with the first peer has completed
has_handshake()
{
	local t
	t=$(wg_latest_handshake "$1" "$2")
	[ -n "$t" ] && [ "$t" != 0 ]
}

# ping_ok NS ADDR [ARGS...]: one echo answered within 1 s
ping_ok()
{
	local ns=$1 addr=$2
	shift 2
	ip netns exec "$ns" ping -n -q -c 1 -W 1 "$@" "$addr" >/dev/null 2>&1
}

# ping_until NS ADDR SECONDS [ARGS...]: poll with single pings until one is answered
ping_until()
{
	local ns=$1 addr=$2 secs=$3
	shift 3
	wait_until "$secs" ping_ok "$ns" "$addr" "$@"
}

# ping_count NS ADDR COUNT [ARGS...]: COUNT pings 0.05 s apart; prints the number answered
ping_count()
{
	local ns=$1 addr=$2 count=$3 out
	shift 3
	out=$(ip netns exec "$ns" ping -n -q -c "$count" -i 0.05 -W 1 "$@" "$addr" 2>&1)
	sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' <<<"$out" | head -n 1
}

# ping_all NS ADDR COUNT [ARGS...]: fail unless all COUNT pings are answered
ping_all()
{
	local ns=$1 addr=$2 count=$3 got
	shift 3
	got=$(ping_count "$ns" "$addr" "$count" "$@")
	[ "${got:-0}" = "$count" ] ||
		wr_fail "ping${*:+ $*} $addr from $ns: ${got:-0} of $count answered"
}

# xfer NS_FROM NS_TO TO_ADDR BYTES: a TCP transfer of BYTES random bytes checked by SHA-256
# (tests/lib/xfer.py); fails the test on any mismatch
xfer()
{
	local from=$1 to=$2 addr=$3 bytes=$4 port=5555 rpid sent got
	local out="$WR_TMP/xfer.$from.$to.$bytes"
	rm -f "$out.recv" "$out.ready"
	ip netns exec "$to" python3 "$WR_LIB_DIR/xfer.py" recv "$addr" "$port" "$out.ready" \
		>"$out.recv" 2>&1 &
	rpid=$!
	wr_track "$rpid" "xfer receiver"
	wait_until 10 test -e "$out.ready" || wr_fail "xfer receiver in $to did not start: $(cat "$out.recv")"
	sent=$(ip netns exec "$from" python3 "$WR_LIB_DIR/xfer.py" send "$addr" "$port" "$bytes" 2>&1) ||
		wr_fail "TCP transfer $from -> $to failed: $sent"
	wait_until 30 _wr_not_alive "$rpid" || wr_fail "xfer receiver in $to did not finish"
	got=$(cat "$out.recv")
	if [ -z "$sent" ] || [ "$sent" != "$got" ]; then
		wr_fail "TCP transfer $from -> $to: sent '$sent', received '$got'"
	fi
	wr_log "TCP $from -> $to: $bytes bytes, sha256 ok"
}

_wr_not_alive()
{
	! pid_alive "$1"
}

# uapi NS IFNAME REQUEST: send REQUEST (with \n escapes) on the UAPI socket, print the answer
uapi()
{
	python3 "$WR_LIB_DIR/uapi.py" "$WR_UAPI_DIR/$2.sock" "$3"
}

# wg_transfer NS IFNAME: "RX TX" byte counters of the first peer
wg_transfer()
{
	ip netns exec "$1" wg show "$2" transfer 2>/dev/null | awk '{ print $2, $3; exit }'
}

# check_traffic: the standard proof that a pair's tunnel carries traffic both ways: pings over
# IPv4 and IPv6, full-MTU pings with DF, pings fragmented inside the tunnel, and a
# SHA-256-checked TCP transfer each way (WR_XFER_BYTES, default 32 MiB); the transfer counters
# must account for it.
check_traffic()
{
	local bytes=${WR_XFER_BYTES:-33554432} rx tx
	ping_all "$NS_A" "$WR_TUN_B" 20
	ping_all "$NS_B" "$WR_TUN_A" 20
	ping_all "$NS_A" "$WR_TUN6_B" 5
	ping_all "$NS_B" "$WR_TUN6_A" 5
	# 1392 + 8 ICMP + 20 IPv4 = 1420, the tunnel MTU
	ping_all "$NS_A" "$WR_TUN_B" 5 -s 1392 -M "do"
	ping_all "$NS_B" "$WR_TUN_A" 5 -s 1392 -M "do"
	ping_all "$NS_A" "$WR_TUN_B" 5 -s 4000
	ping_all "$NS_B" "$WR_TUN_A" 5 -s 4000
	wr_log "pings ok both ways (IPv4, IPv6, 1420-byte DF, fragmented)"
	xfer "$NS_A" "$NS_B" "$WR_TUN_B" "$bytes"
	xfer "$NS_B" "$NS_A" "$WR_TUN_A" "$bytes"
	xfer "$NS_A" "$NS_B" "$WR_TUN6_B" $((bytes / 8))
	read -r rx tx <<<"$(wg_transfer "$NS_A" "$IF_A")"
	((${rx:-0} > bytes && ${tx:-0} > bytes)) ||
		wr_fail "A's transfer counters rx=${rx:-?} tx=${tx:-?} do not account for 2 x $bytes bytes"
	read -r rx tx <<<"$(wg_transfer "$NS_B" "$IF_B")"
	((${rx:-0} > bytes && ${tx:-0} > bytes)) ||
		wr_fail "B's transfer counters rx=${rx:-?} tx=${tx:-?} do not account for 2 x $bytes bytes"
	daemons_alive
}

# impl_is_wggo PATH: PATH is (a link to) wireguard-go, as in a dry run with WARREN_WG pointing
# at wireguard-go
impl_is_wggo()
{
	[ "$(readlink -f "$1")" = "$(readlink -f "$WIREGUARD_GO")" ]
}

# impl_path TOKEN: "warren" -> $WARREN_WG, "wggo" -> $WIREGUARD_GO
impl_path()
{
	case "$1" in
	warren) echo "${WARREN_WG:-}" ;;
	wggo) echo "$WIREGUARD_GO" ;;
	*) return 1 ;;
	esac
}

# wr_pairings: the A:B pairings a scenario runs, one per line.  With WARREN_WG: warren-wg on
# side A and on side B against wireguard-go, and warren-wg against itself.  Without it, a
# harness smoke run with wireguard-go on both sides.  WR_PAIRINGS overrides both.
wr_pairings()
{
	if [ -n "${WR_PAIRINGS:-}" ]; then
		tr ' ' '\n' <<<"$WR_PAIRINGS"
	elif [ -n "${WARREN_WG:-}" ]; then
		printf '%s\n' warren:wggo wggo:warren warren:warren
	else
		echo wggo:wggo
	fi
}

# wr_check_impls: skip when an implementation the pairings need is missing
wr_check_impls()
{
	if [ -n "${WARREN_WG:-}" ] && [ ! -x "$WARREN_WG" ]; then
		wr_skip "WARREN_WG=$WARREN_WG is not an executable"
	fi
	if [ -z "${WARREN_WG:-}" ] && [ -z "${WR_PAIRINGS:-}" ]; then
		wr_log "WARREN_WG is unset: harness smoke run with wireguard-go on both sides"
	fi
	if wr_pairings | grep -q wggo && [ ! -x "$WIREGUARD_GO" ]; then
		wr_skip "WIREGUARD_GO=$WIREGUARD_GO is not an executable"
	fi
	if wr_pairings | grep -q warren && [ -z "${WARREN_WG:-}" ]; then
		wr_skip "WR_PAIRINGS names warren but WARREN_WG is unset"
	fi
	if wr_pairings | grep -Evq '^(warren|wggo):(warren|wggo)$'; then
		wr_fail "WR_PAIRINGS='$WR_PAIRINGS': expected words like warren:wggo"
	fi
}

# run_scenario NAME FUNCTION: FUNCTION IMPL_A IMPL_B TOKEN_A TOKEN_B once per pairing, each in
# fresh namespaces.  FUNCTION returns 0 (passed) or 77 (this pairing does not apply); a failed
# check exits 1 through wr_fail.  Exits 0 when at least one pairing passed, else 77.
run_scenario()
{
	local name=$1 fn=$2 p a b rc passed=0 skipped=0
	need_root
	wr_check_impls
	wr_init
	for p in $(wr_pairings); do
		a=${p%%:*}
		b=${p#*:}
		WR_PAIRING="$name: A=$a B=$b"
		wr_log "== $WR_PAIRING"
		"$fn" "$(impl_path "$a")" "$(impl_path "$b")" "$a" "$b"
		rc=$?
		wr_teardown
		WR_LOGS=()
		case $rc in
		0)
			passed=$((passed + 1))
			wr_log "ok $WR_PAIRING"
			;;
		77)
			skipped=$((skipped + 1))
			wr_log "skipped $WR_PAIRING"
			;;
		*) wr_fail "scenario function returned $rc" ;;
		esac
	done
	WR_PAIRING=
	((passed > 0)) || wr_skip "$name: no pairing applies"
	echo "PASS: $name ($passed pairings passed, $skipped skipped)"
	exit 0
}
