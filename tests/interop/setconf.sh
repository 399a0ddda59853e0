#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interop (g): configuration files through wg(8).  With the interfaces still down (nothing is
# sent), a wg-quick-style file with FwMark, a preshared key, IPv4 and IPv6 allowed IPs and
# endpoints and a persistent keepalive is loaded with `wg setconf` into both implementations;
# `wg showconf` must give it back (compared as sets: peer and allowed-IP order is the daemon's
# business).  Then: showconf fed back to setconf changes nothing; setconf replaces all peers;
# addconf adds; syncconf returns to the first file.  Last, both sides are configured from
# files only and brought up: the persistent keepalive alone must complete a handshake, and
# pings must pass both ways.  (In the first file only a peer that cannot be reached has a
# keepalive, so that no handshake with B is under way before B is configured.)
# Environment: WARREN_WG, WIREGUARD_GO, WR_PAIRINGS (tests/lib/netns.sh).

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
# shellcheck disable=SC2317 # (the scenario functions are called through run_scenario)
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"

norm()
{
	python3 "$WR_LIB_DIR/wgconf.py" "$@" || wr_fail "cannot parse configuration $*"
}

# conf_is NS IFNAME WHAT FILE...: wg showconf equals the union of FILEs, as sets
conf_is()
{
	local ns=$1 ifname=$2 what=$3 shown="$WR_TMP/shown.conf"
	shift 3
	ip netns exec "$ns" wg showconf "$ifname" >"$shown" || wr_fail "wg showconf $ifname failed"
	diff <(norm "$@") <(norm "$shown") >"$WR_TMP/conf.diff" ||
		wr_fail "$what: wg showconf $ifname differs from $* (< expected, > shown):
$(sed 's/^/  /' "$WR_TMP/conf.diff")"
}

scenario()
{
	local ka kb kpsk px py pz pw pub_a pub_b f="$WR_TMP"
	netns_pair
	start_wg "$NS_A" "$IF_A" "$1"
	PID_A=$WR_LAST_PID
	start_wg "$NS_B" "$IF_B" "$2"
	PID_B=$WR_LAST_PID
	wg_keys pub_a a
	wg_keys pub_b b
	wg_psk ab
	ka=$(cat "$f/a.key")
	kb=$(cat "$f/b.key")
	kpsk=$(cat "$f/ab.psk")
	px=$(wg genkey | wg pubkey)
	py=$(wg genkey | wg pubkey)
	pz=$(wg genkey | wg pubkey)
	pw=$(wg genkey | wg pubkey)

	cat >"$f/conf1" <<-CONF
		# a wg-quick-style file, minus wg-quick's own keys (Address, DNS, ...)
		[Interface]
		PrivateKey = $ka
		ListenPort = $WR_PORT_A
		FwMark = 0x2a

		[Peer]
		PublicKey = $pub_b
		PresharedKey = $kpsk
		AllowedIPs = $WR_TUN_B/32, $WR_TUN6_B/128
		Endpoint = $WR_UNDER_B:$WR_PORT_B

		[Peer]
		PublicKey = $px
		AllowedIPs = 100.64.1.0/24, 100.64.2.0/25, fd7a:115c:a1e0:1::/64, 100.64.4.4/32
		Endpoint = 192.0.2.7:51820
		PersistentKeepalive = 25

		[Peer]
		PublicKey = $py
		AllowedIPs = 100.64.3.0/24
		Endpoint = [2001:db8::7]:51820
	CONF
	cat >"$f/conf2" <<-CONF
		[Interface]
		PrivateKey = $ka
		ListenPort = 51822
		FwMark = off

		[Peer]
		PublicKey = $pz
		AllowedIPs = 100.64.5.0/24
	CONF
	# what wg showconf prints for conf2: FwMark off is no FwMark line
	grep -v FwMark "$f/conf2" >"$f/conf2.shown"
	cat >"$f/conf3" <<-CONF
		[Peer]
		PublicKey = $pw
		AllowedIPs = 100.64.6.0/24, fd7a:115c:a1e0:6::/64
		Endpoint = 203.0.113.6:51820
		PersistentKeepalive = 10
	CONF

	nsx "$NS_A" wg setconf "$IF_A" "$f/conf1"
	conf_is "$NS_A" "$IF_A" "setconf (A)" "$f/conf1"
	nsx "$NS_B" wg setconf "$IF_B" "$f/conf1"
	conf_is "$NS_B" "$IF_B" "setconf (B)" "$f/conf1"
	wr_log "setconf/showconf round trip ok on both sides"

	ip netns exec "$NS_A" wg showconf "$IF_A" >"$f/shown1" || wr_fail "wg showconf failed"
	nsx "$NS_A" wg setconf "$IF_A" "$f/shown1"
	conf_is "$NS_A" "$IF_A" "setconf of showconf's own output" "$f/conf1"
	nsx "$NS_A" wg setconf "$IF_A" "$f/conf2"
	conf_is "$NS_A" "$IF_A" "setconf replacing every peer" "$f/conf2.shown"
	nsx "$NS_A" wg addconf "$IF_A" "$f/conf3"
	conf_is "$NS_A" "$IF_A" "addconf" "$f/conf2.shown" "$f/conf3"
	nsx "$NS_A" wg syncconf "$IF_A" "$f/conf1"
	conf_is "$NS_A" "$IF_A" "syncconf" "$f/conf1"
	wr_log "showconf -> setconf, setconf replace, addconf, syncconf ok"

	cat >"$f/real-a" <<-CONF
		[Interface]
		PrivateKey = $ka
		ListenPort = $WR_PORT_A

		[Peer]
		PublicKey = $pub_b
		PresharedKey = $kpsk
		AllowedIPs = $WR_TUN_B/32, $WR_TUN6_B/128
		Endpoint = $WR_UNDER_B:$WR_PORT_B
		PersistentKeepalive = 25
	CONF
	cat >"$f/real-b" <<-CONF
		[Interface]
		PrivateKey = $kb
		ListenPort = $WR_PORT_B

		[Peer]
		PublicKey = $pub_a
		PresharedKey = $kpsk
		AllowedIPs = $WR_TUN_A/32, $WR_TUN6_A/128
	CONF
	# B is ready before A gets its keepalive: both implementations send as soon as the
	# keepalive is configured, even before the interface is up
	nsx "$NS_B" wg setconf "$IF_B" "$f/real-b"
	conf_is "$NS_B" "$IF_B" "setconf (B, final)" "$f/real-b"
	tun_up "$NS_B" "$IF_B" "$WR_TUN_B" "$WR_TUN6_B" "$WR_TUN_A" "$WR_TUN6_A"
	nsx "$NS_A" wg setconf "$IF_A" "$f/real-a"
	conf_is "$NS_A" "$IF_A" "setconf (A, final)" "$f/real-a"
	tun_up "$NS_A" "$IF_A" "$WR_TUN_A" "$WR_TUN6_A" "$WR_TUN_B" "$WR_TUN6_B"
	wait_until 5 has_handshake "$NS_A" "$IF_A" ||
		wr_fail "no handshake within 5 s of configuring A with PersistentKeepalive = 25"
	wait_until 5 has_handshake "$NS_B" "$IF_B" || wr_fail "B reports no handshake"
	ping_all "$NS_A" "$WR_TUN_B" 5
	ping_all "$NS_B" "$WR_TUN_A" 5
	ping_all "$NS_B" "$WR_TUN6_A" 5
	daemons_alive
	wr_log "configured from files only: keepalive handshake and pings ok"
	return 0
}

run_scenario setconf scenario
