#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interop (f): bad configuration requests to warren-wg (side A; side B, wireguard-go, is only its
# peer).  First `wg set listen-port` onto a port that another socket holds must fail through
# wg(8).  Then malformed set requests go straight to the UAPI socket, as wg(8) never would send
# them: each must be answered with errno=22 (EINVAL) or errno=71 (EPROTO).  After each, the
# daemon must be alive and answer get=1, and `wg showconf` must be unchanged, so a request whose
# first lines are valid must not be applied in part.  At the end the tunnel must still work.
#
# The sign of the errno: wireguard-go answers errno=-22, and wg(8) reports the number negated
# (errno=-22 prints "Invalid argument", errno=22 "Unknown error -22"; both make wg fail).
# WR_UAPI_ERRNO_SIGN=any (default), positive or negative decides what is accepted.
# wireguard-go also applies the lines before a bad one, so without WARREN_WG the smoke run
# checks it leniently: a non-zero errno, the daemon alive.  WR_UAPI_STRICT=1 or 0 forces either
# mode (1 against wireguard-go shows that the strict checks fail it).
# Environment: WARREN_WG, WIREGUARD_GO, WR_UAPI_ERRNO_SIGN, WR_UAPI_STRICT.

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
# shellcheck disable=SC2317 # (the scenario functions are called through run_scenario)
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"

# only warren-wg is strict: side A runs it, side B only gives it a peer to talk to
if [ -z "${WR_PAIRINGS:-}" ]; then
	if [ -n "${WARREN_WG:-}" ]; then
		WR_PAIRINGS=warren:wggo
	else
		WR_PAIRINGS=wggo:wggo
	fi
fi

key_hex()
{
	base64 -d <<<"$1" | od -An -v -tx1 | tr -d ' \n'
}

# showconf_a VAR: wg showconf of side A into VAR
showconf_a()
{
	local out
	out=$(ip netns exec "$NS_A" wg showconf "$IF_A") || wr_fail "wg showconf $IF_A failed"
	printf -v "$1" '%s' "$out"
}

# conf_same BEFORE WHAT: fail with a diff unless wg showconf still prints BEFORE
conf_same()
{
	local after
	showconf_a after
	[ "$after" = "$1" ] && return 0
	wr_fail "$2 changed the configuration (< before, > after):
$(diff <(echo "$1") <(echo "$after") | sed 's/^/  /')"
}

# errno_ok ANSWER: the answer is exactly one acceptable errno line and the blank line
errno_ok()
{
	local re
	case "${WR_UAPI_ERRNO_SIGN:-any}" in
	positive) re='^errno=(22|71)$' ;;
	negative) re='^errno=-(22|71)$' ;;
	*) re='^errno=-?(22|71)$' ;;
	esac
	[ "$(wc -l <<<"$1")" = 1 ] && [[ $1 =~ $re ]]
}

scenario()
{
	local strict=${WR_UAPI_STRICT:-1} peer newpeer zeros before after answer name req n=0
	[ -z "${WR_UAPI_STRICT:-}" ] && impl_is_wggo "$1" && strict=0
	pair_up "$1" "$2"
	ping_until "$NS_A" "$WR_TUN_B" 10 || wr_fail "no ping answered A -> B within 10 s"
	peer=$(key_hex "$PUB_B")
	newpeer=$(key_hex "$(wg genkey | wg pubkey)")
	zeros=$(printf '%064d' 0)
	[ ${#peer} = 64 ] || wr_fail "cannot convert B's public key to hex"

	local cases=(
		"unknown device key|set=1\nno_such_key=1\n\n"
		"unknown peer key|set=1\npublic_key=$peer\nno_such_key=1\n\n"
		"line without =|set=1\nprivate_key\n\n"
		"non-hex private key|set=1\nprivate_key=$(printf 'zz%.0s' {1..32})\n\n"
		"short private key|set=1\nprivate_key=abcd\n\n"
		"long private key|set=1\nprivate_key=${zeros}00\n\n"
		"non-hex public key|set=1\npublic_key=$(printf 'xy%.0s' {1..32})\n\n"
		"listen port 70000|set=1\nlisten_port=70000\n\n"
		"listen port not a number|set=1\nlisten_port=port\n\n"
		"fwmark not a number|set=1\nfwmark=mark\n\n"
		"replace_peers=maybe|set=1\nreplace_peers=maybe\n\n"
		"endpoint without port|set=1\npublic_key=$peer\nendpoint=198.51.100.9\n\n"
		"endpoint port 65536|set=1\npublic_key=$peer\nendpoint=198.51.100.9:65536\n\n"
		"endpoint host name|set=1\npublic_key=$peer\nendpoint=host.invalid:51820\n\n"
		"endpoint unclosed bracket|set=1\npublic_key=$peer\nendpoint=[2001:db8::1:51820\n\n"
		"allowed_ip /33|set=1\npublic_key=$peer\nallowed_ip=100.64.0.9/33\n\n"
		"allowed_ip /129|set=1\npublic_key=$peer\nallowed_ip=fd7a:115c:a1e0::9/129\n\n"
		"allowed_ip bad octet|set=1\npublic_key=$peer\nallowed_ip=100.64.0.300/32\n\n"
		"allowed_ip without prefix|set=1\npublic_key=$peer\nallowed_ip=100.64.0.9\n\n"
		"protocol_version=2|set=1\npublic_key=$peer\nprotocol_version=2\n\n"
		"keepalive not a number|set=1\npublic_key=$peer\npersistent_keepalive_interval=often\n\n"
		"keepalive 65536|set=1\npublic_key=$peer\npersistent_keepalive_interval=65536\n\n"
		"valid lines, then a bad one|set=1\nlisten_port=40000\npublic_key=$peer\nreplace_allowed_ips=true\nallowed_ip=100.64.0.9/32\nallowed_ip=100.64.0.10/33\n\n"
		"new peer, then a bad line|set=1\npublic_key=$newpeer\nallowed_ip=100.64.0.11/32\nendpoint=bogus\n\n"
		"remove peer, then a bad line|set=1\npublic_key=$peer\nremove=true\npublic_key=$newpeer\nprotocol_version=9\n\n"
	)
	showconf_a before
	# a port held by another socket: the daemon's error must reach wg(8)
	if ((strict)); then
		local holder ready="$WR_TMP/holder.ready" out
		ip netns exec "$NS_A" python3 -c '
import socket, sys, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.bind(("0.0.0.0", 40001))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(("::", 40001))
open(sys.argv[1], "w").close()
time.sleep(120)
' "$ready" &
		holder=$!
		wr_track "$holder" "port holder"
		wait_until 10 test -e "$ready" || wr_fail "the port holder did not start"
		if out=$(ip netns exec "$NS_A" wg set "$IF_A" listen-port 40001 2>&1); then
			wr_fail "wg set listen-port 40001 succeeded while another socket holds the port"
		fi
		wr_log "wg set onto a port in use: $out"
		conf_same "$before" "wg set listen-port onto a busy port"
		wr_kill "$holder"
	fi

	for c in "${cases[@]}"; do
		name=${c%%|*}
		req=${c#*|}
		answer=$(uapi "$NS_A" "$IF_A" "$req")
		pid_alive "$PID_A" || wr_fail "'$name': the daemon died"
		if ((strict)); then
			errno_ok "$answer" ||
				wr_fail "'$name': answered '${answer//$'\n'/\\n}', expected errno=22 or errno=71 (sign: ${WR_UAPI_ERRNO_SIGN:-any})"
			conf_same "$before" "'$name'"
		else
			[[ $answer =~ ^errno=-?[1-9][0-9]*$ ]] ||
				wr_fail "'$name': answered '${answer//$'\n'/\\n}', expected a non-zero errno"
			wr_log "'$name': ${answer%$'\n'}"
		fi
		answer=$(uapi "$NS_A" "$IF_A" 'get=1\n\n')
		[[ $answer == *$'errno=0' ]] || wr_fail "after '$name', get=1 answered '${answer//$'\n'/\\n}'"
		n=$((n + 1))
	done
	wr_log "$n malformed requests answered with an error$( ((strict)) && echo ', configuration unchanged')"

	# the lenient run lets wireguard-go apply the valid lines, which breaks the tunnel
	if ((strict)); then
		ping_all "$NS_A" "$WR_TUN_B" 5
		ping_all "$NS_B" "$WR_TUN_A" 5
	fi
	daemons_alive
	return 0
}

run_scenario uapi-errors scenario
