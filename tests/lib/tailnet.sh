#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/tailnet.sh: a whole tailnet in the NAT lab, real binaries only (issue 6, "What must
# be shown"), sourced by bash scripts after tests/lib/netns.sh and tests/lib/natlab.sh.  Used by
# tests/system/tailnet.sh (suite `system`) and tests/bench/tailnet (suite `bench`).
#
#   servers' namespace  warren-control on 203.0.113.2 (SQLite, TLS with a throwaway CA made
#                       here by openssl, pre-auth keys from its admin CLI, a DERP map of one
#                       region), warren-derp on 203.0.113.3 (DERP over plain http on
#                       TAILNET_DERP_PORT, marked InsecureForTests in the map; STUN on 3478)
#   node N              `tailnet_node N KIND`: natlab router N of KIND (easy, hard) with its
#                       host, or KIND public (the host straight on the internet); in the host's
#                       namespace a private dbus-daemon and warrend with its own state dir
#                       ($WR_TMP/nodeN/), hostname "nN", tag tag:nN and an auth key of its own
#                       (TAILNET_KEY_USER=LOGIN: no tag, the node is that user's)
#
# Everything is made under netns.sh's per-run prefix and $WR_TMP and removed by its cleanup
# trap, also on failure; every daemon's log is in $WR_TMP and its tail is printed by wr_fail.
#
# The environment names the binaries (the meson tests set them): WARREND, WARREN_CLI,
# WARREN_CONTROL, WARREN_DERP.  tailnet_need skips (exit 77) without them or root.
#
# warrend is told to trust the lab's CA with --ca-file when it has that option.  An older
# warrend without it is run in a private mount namespace with the CA bind-mounted over the
# system trust store, so that the same lab works with both (the machine is not changed).
#
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are read by the scripts that source this file)

TAILNET_CTL_ADDR=$NATLAB_INET_NET.2
TAILNET_DERP_ADDR=$NATLAB_INET_NET.3
TAILNET_DERP_PORT=3340
TAILNET_STUN_PORT=3478
TAILNET_REGION=900
TAILNET_CTL_URL=https://$TAILNET_CTL_ADDR
TAILNET_CTL_DIR=
TAILNET_CTL_CONF=
TAILNET_CTL_PID=
TAILNET_CA=
# the system trust store GnuTLS reads on Debian (only for a warrend without --ca-file)
TAILNET_SYSTEM_CA_FILE=/etc/ssl/certs/ca-certificates.crt
declare -A TAILNET_KIND=()
declare -A TAILNET_WARREND_PID=()
declare -A TAILNET_IP=()
# knobs for tools/demo (set before the call that reads them):
#   TAILNET_NAME[N]         node N's hostname instead of nN (tailnet_node)
#   TAILNET_SERVER_URL      control's server-url, the base of its sign-in links, instead of
#                           TAILNET_CTL_URL (tailnet_servers)
#   TAILNET_CTL_EXTRA_CONF  text appended to control's configuration, e.g. an [oidc] group
#   TAILNET_BUS_USER        a user besides root who may connect to the nodes' buses (a tray
#                           run as the desktop user); the node directories become traversable
#   TAILNET_ROOT_TUN        the TUN name of a node of kind "root" (default wrdemo0)
declare -A TAILNET_NAME=()
: "${TAILNET_SERVER_URL:=}"
: "${TAILNET_CTL_EXTRA_CONF:=}"
: "${TAILNET_BUS_USER:=}"
: "${TAILNET_ROOT_TUN:=wrdemo0}"
# the node whose host is the root namespace (kind "root"), if any
TAILNET_ROOT_NODE=
TAILNET_NODES=()
TAILNET_WARREND_OPTS=()
# warrend's system bus: none.  A node's warrend would otherwise tell the machine's
# systemd-resolved (if one runs) about an interface index of its own namespace (MagicDNS,
# docs/magicdns.md); without a bus it says so in Health instead.  (A warrend without --ca-file
# is older than MagicDNS and needs none of this.)
TAILNET_NO_SYSTEM_BUS=unix:path=/nonexistent/warren-lab-no-system-bus
# a node's own system bus instead, set by resolved_start (tests/lib/resolved.sh)
declare -A TAILNET_SYSTEM_BUS=()
# warrend's debug messages in its log: Warren's own domains, not GIO's connection chatter,
# which would fill the tails printed on a failure (TAILNET_DEBUG=all for everything)
: "${TAILNET_DEBUG:=warrend WrPath WrDisco WrDerpClient WrDerpDial WrControlConn WrNetcheckClient WrNetcheck WrDevice WrPeer WrFilter WrNetcfg WrNetmap WrMapDelta WrState WrPrefs WrEngine}"

# tailnet_need: skip (exit 77) unless root, the lab's tools and the binaries are there
tailnet_need()
{
	local var tool
	natlab_need
	for var in WARREND WARREN_CLI WARREN_CONTROL WARREN_DERP; do
		[ -n "${!var:-}" ] || wr_skip "$var is unset (the meson test sets it)"
		[ -x "${!var}" ] || wr_skip "$var=${!var} is not an executable"
	done
	for tool in openssl dbus-daemon ping conntrack; do
		command -v "$tool" >/dev/null 2>&1 || wr_skip "$tool is not installed"
	done
}

# _tailnet_warrend_has OPTION: warrend's --help lists OPTION
_tailnet_warrend_has()
{
	"$WARREND" --help 2>&1 | grep -q -- "$1"
}

# tailnet_tls: a throwaway CA and a certificate for the control server's address, in $WR_TMP/tls
tailnet_tls()
{
	local d="$WR_TMP/tls" log="$WR_TMP/tls/openssl.log"
	if ! mkdir -p "$d" || ! chmod 0700 "$d"; then
		wr_fail "cannot make $d"
	fi
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=Warren tailnet lab CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-subj "/CN=$TAILNET_CTL_ADDR" -keyout "$d/control.key" -out "$d/control.csr" &&
			printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$TAILNET_CTL_ADDR" \
				>"$d/control.ext" &&
			openssl x509 -req -in "$d/control.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
				-CAcreateserial -days 2 -extfile "$d/control.ext" -out "$d/control.pem"
	} >"$log" 2>&1 || wr_fail "openssl could not make the lab's certificates: $(cat "$log")"
	chmod 0600 "$d/ca.key" "$d/control.key"
	TAILNET_CA="$d/ca.pem"
}

# tailnet_derp_map: the DERP map's JSON (one region, warren-derp in the servers' namespace)
tailnet_derp_map()
{
	cat <<JSON
{
  "Regions": {
    "$TAILNET_REGION": { "RegionID": $TAILNET_REGION, "RegionCode": "lab", "RegionName": "NAT lab",
      "Nodes": [ { "Name": "${TAILNET_REGION}a", "RegionID": $TAILNET_REGION,
        "HostName": "$TAILNET_DERP_ADDR", "IPv4": "$TAILNET_DERP_ADDR", "IPv6": "none",
        "DERPPort": $TAILNET_DERP_PORT, "STUNPort": $TAILNET_STUN_PORT,
        "InsecureForTests": true } ] }
  },
  "omitDefaultRegions": true
}
JSON
}

# _tailnet_listening NS PROTO ADDR:PORT: something listens there (ss -l)
_tailnet_listening()
{
	ip netns exec "$1" ss -Hnl"$2" "src $3" 2>/dev/null | grep -q .
}

# tailnet_derp: warren-derp in the servers' namespace, waits until it listens
tailnet_derp()
{
	local log="$WR_TMP/warren-derp.log" pid
	natlab_server_addr "$TAILNET_DERP_ADDR"
	WR_LOGS+=("$log")
	ip netns exec "$NATLAB_SRV_NS" "$WARREN_DERP" --key-file "$WR_TMP/derp.key" \
		--http-listen "$TAILNET_DERP_ADDR:$TAILNET_DERP_PORT" \
		--stun-listen "$TAILNET_DERP_ADDR:$TAILNET_STUN_PORT" >"$log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "warren-derp"
	if ! wait_until 10 _tailnet_listening "$NATLAB_SRV_NS" t "$TAILNET_DERP_ADDR:$TAILNET_DERP_PORT"; then
		pid_alive "$pid" || wr_fail "warren-derp exited during startup"
		wr_fail "warren-derp does not listen on $TAILNET_DERP_ADDR:$TAILNET_DERP_PORT after 10 s"
	fi
	wait_until 10 _tailnet_listening "$NATLAB_SRV_NS" u "$TAILNET_DERP_ADDR:$TAILNET_STUN_PORT" ||
		wr_fail "warren-derp does not answer STUN on $TAILNET_DERP_ADDR:$TAILNET_STUN_PORT"
}

# tailnet_control_config: warren-control's configuration file (TLS, SQLite, the DERP map)
tailnet_control_config()
{
	TAILNET_CTL_DIR="$WR_TMP/control"
	TAILNET_CTL_CONF="$TAILNET_CTL_DIR/control.conf"
	if ! mkdir -p "$TAILNET_CTL_DIR" || ! chmod 0700 "$TAILNET_CTL_DIR"; then
		wr_fail "cannot make $TAILNET_CTL_DIR"
	fi
	tailnet_derp_map >"$TAILNET_CTL_DIR/derp.json"
	cat >"$TAILNET_CTL_CONF" <<CONF
[server]
listen = $TAILNET_CTL_ADDR:443
server-url = ${TAILNET_SERVER_URL:-$TAILNET_CTL_URL}
tls-cert = $WR_TMP/tls/control.pem
tls-key = $WR_TMP/tls/control.key
state-dir = $TAILNET_CTL_DIR
admin-socket = $TAILNET_CTL_DIR/admin.sock
[database]
url = sqlite://$TAILNET_CTL_DIR/control.sqlite
[network]
dns-domain = tailnet.test
derp-map = derp.json
[limits]
register-burst = 1000
$TAILNET_CTL_EXTRA_CONF
CONF
}

# tailnet_control_start: (re)start warren-control in the servers' namespace on the same
# configuration and database; waits until it serves
tailnet_control_start()
{
	local log="$WR_TMP/warren-control.log" pid
	WR_LOGS+=("$log")
	printf '# ---- warren-control started at %s\n' "$(date -u +%T)" >>"$log"
	ip netns exec "$NATLAB_SRV_NS" env G_MESSAGES_DEBUG=all "$WARREN_CONTROL" serve \
		--config "$TAILNET_CTL_CONF" >>"$log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "warren-control"
	TAILNET_CTL_PID=$pid
	if ! wait_until 15 _tailnet_control_up "$pid"; then
		pid_alive "$pid" || wr_fail "warren-control exited during startup"
		wr_fail "warren-control does not serve on $TAILNET_CTL_ADDR:443 after 15 s"
	fi
}

_tailnet_control_up()
{
	pid_alive "$1" && _tailnet_listening "$NATLAB_SRV_NS" t "$TAILNET_CTL_ADDR:443" &&
		[ -S "$TAILNET_CTL_DIR/admin.sock" ]
}

# tailnet_control_kill: SIGKILL warren-control (a crash, not a clean stop)
tailnet_control_kill()
{
	[ -n "$TAILNET_CTL_PID" ] || return 0
	kill -KILL "$TAILNET_CTL_PID" 2>/dev/null
	wait_until 5 _wr_not_alive "$TAILNET_CTL_PID" || wr_fail "warren-control survived SIGKILL"
	# reap it here, so that bash does not report the kill later
	wait "$TAILNET_CTL_PID" 2>/dev/null
	TAILNET_CTL_PID=
}

# tailnet_admin ARGS...: warren-control's admin CLI against the lab's server; fails the test
# when it fails
tailnet_admin()
{
	local out
	out=$("$WARREN_CONTROL" --config "$TAILNET_CTL_CONF" "$@" 2>"$WR_TMP/admin.err") ||
		wr_fail "warren-control $*: $(cat "$WR_TMP/admin.err")"
	printf '%s\n' "$out"
}

# tailnet_servers: the internet, the servers' namespace, TLS, DERP, control
tailnet_servers()
{
	natlab_inet
	natlab_servers
	tailnet_tls
	tailnet_derp
	natlab_server_addr "$TAILNET_CTL_ADDR"
	tailnet_control_config
	tailnet_control_start
	if _tailnet_warrend_has --ca-file; then
		TAILNET_WARREND_OPTS+=(--ca-file "$TAILNET_CA")
	else
		[ -f "$TAILNET_SYSTEM_CA_FILE" ] || wr_skip "warrend has no --ca-file and there is no $TAILNET_SYSTEM_CA_FILE"
		command -v unshare >/dev/null 2>&1 || wr_skip "warrend has no --ca-file and unshare is missing"
		wr_log "warrend has no --ca-file: it gets the lab's CA as its system trust store"
	fi
	_tailnet_warrend_has --tun && TAILNET_WARREND_OPTS+=(--tun warren0)
	_tailnet_warrend_has --port= && TAILNET_WARREND_OPTS+=(--port 41641)
	wr_log "servers up: control $TAILNET_CTL_URL, DERP http://$TAILNET_DERP_ADDR:$TAILNET_DERP_PORT"
}

# tailnet_node_dir N / tailnet_bus N: node N's directory and its bus address
tailnet_node_dir()
{
	echo "$WR_TMP/node$1"
}

tailnet_bus()
{
	echo "unix:path=$(tailnet_node_dir "$1")/bus"
}

# tailnet_node N KIND: node N (KIND easy, hard or public) with its router, bus, auth key and
# warrend, which is not signed in yet (tailnet_up).  KIND root: the host is the root
# namespace behind an easy NAT router (natlab_router_root), and its warrend is this machine's
# (real TUN TAILNET_ROOT_TUN, routes, the system bus for systemd-resolved; any free port).
tailnet_node()
{
	local n=$1 kind=$2 d key allow_user=
	case $kind in
	easy | hard) natlab_router "$n" "$kind" ;;
	public) natlab_public "$n" ;;
	root)
		[ -z "$TAILNET_ROOT_NODE" ] || wr_fail "tailnet: node $TAILNET_ROOT_NODE is the root node already"
		_tailnet_warrend_has --ca-file || wr_fail "tailnet: a root node needs a warrend with --ca-file"
		natlab_router_root "$n" easy
		TAILNET_ROOT_NODE=$n
		;;
	*) wr_fail "tailnet: unknown node kind '$kind' (easy, hard, public, root)" ;;
	esac
	TAILNET_KIND[$n]=$kind
	TAILNET_NODES+=("$n")
	d=$(tailnet_node_dir "$n")
	if ! mkdir -p "$d/state" || ! chmod 0700 "$d" "$d/state"; then
		wr_fail "cannot make $d"
	fi
	if [ -n "$TAILNET_BUS_USER" ]; then
		# the user reaches the bus socket, and nothing else: the state stays 0700
		chmod 0711 "$WR_TMP" "$d" || wr_fail "cannot open $d to $TAILNET_BUS_USER"
		allow_user="<allow user=\"$TAILNET_BUS_USER\"/>"
	fi
	wr_bus_daemon "$d/bus.conf" "$d/bus" "$allow_user"
	# a name of its own: every namespace shares the machine's hostname
	printf '[prefs]\nhostname=%s\n' "${TAILNET_NAME[$n]:-n$n}" >"$d/state/prefs.conf"
	chmod 0600 "$d/state/prefs.conf"
	# a key of its own, so that the packet filter can name the node by its tag; with
	# TAILNET_KEY_USER (a login that has signed in), the node is that person's instead
	if [ -n "${TAILNET_KEY_USER:-}" ]; then
		key=$(tailnet_admin authkeys create --reusable --user "$TAILNET_KEY_USER")
	else
		key=$(tailnet_admin authkeys create --reusable --tags "tag:n$n")
	fi || wr_fail "no auth key for node $n"
	(umask 077 && printf '%s\n' "$key" >"$d/authkey") || wr_fail "cannot write node $n's auth key"
	tailnet_warrend_start "$n"
}

# tailnet_warrend_start N: (re)start warrend on node N, on its state dir; waits for its bus name
tailnet_warrend_start()
{
	local n=$1 d h log pid
	d=$(tailnet_node_dir "$n")
	h=$(natlab_host_ns "$n")
	log="$d/warrend.log"
	WR_LOGS+=("$log")
	printf '# ---- warrend started at %s\n' "$(date -u +%T)" >>"$log"
	if [ "$n" = "$TAILNET_ROOT_NODE" ]; then
		# this machine's own: the system bus as it is (resolved), a TUN and port of its own
		env G_MESSAGES_DEBUG="$TAILNET_DEBUG" "$WARREND" --state-dir "$d/state" \
			--bus "$(tailnet_bus "$n")" --control-url "$TAILNET_CTL_URL" \
			"${TAILNET_WARREND_OPTS[@]}" --tun "$TAILNET_ROOT_TUN" --port 0 \
			>>"$log" 2>&1 </dev/null &
	elif _tailnet_warrend_has --ca-file; then
		ip netns exec "$h" env G_MESSAGES_DEBUG="$TAILNET_DEBUG" \
			DBUS_SYSTEM_BUS_ADDRESS="${TAILNET_SYSTEM_BUS[$n]:-$TAILNET_NO_SYSTEM_BUS}" "$WARREND" --state-dir "$d/state" \
			--bus "$(tailnet_bus "$n")" --control-url "$TAILNET_CTL_URL" \
			"${TAILNET_WARREND_OPTS[@]}" >>"$log" 2>&1 </dev/null &
	else
		# every exec keeps the pid: ip netns exec -> unshare -> sh -> warrend
		# shellcheck disable=SC2016 # the inner shell expands its own arguments
		ip netns exec "$h" unshare --mount --propagation private sh -c \
			'mount --bind "$1" "$2" && debug=$3 && shift 3 && exec env G_MESSAGES_DEBUG="$debug" "$@"' \
			sh "$TAILNET_CA" "$TAILNET_SYSTEM_CA_FILE" "$TAILNET_DEBUG" "$WARREND" --state-dir "$d/state" \
			--bus "$(tailnet_bus "$n")" --control-url "$TAILNET_CTL_URL" \
			"${TAILNET_WARREND_OPTS[@]}" >>"$log" 2>&1 </dev/null &
	fi
	pid=$!
	wr_track "$pid" "warrend of node $n"
	TAILNET_WARREND_PID[$n]=$pid
	if ! wait_until 15 _tailnet_warrend_up "$n" "$pid"; then
		pid_alive "$pid" || wr_fail "warrend of node $n exited during startup"
		wr_fail "warrend of node $n is not on its bus after 15 s"
	fi
}

_tailnet_warrend_up()
{
	pid_alive "$2" || return 1
	timeout 5 gdbus introspect --address "$(tailnet_bus "$1")" --dest io.github.warrenvpn.Engine1 \
		--object-path /io/github/warrenvpn/Engine1 >/dev/null 2>&1
}

# tailnet_warrend_stop N: SIGTERM warrend of node N (a clean stop) and wait for it
tailnet_warrend_stop()
{
	wr_kill "${TAILNET_WARREND_PID[$1]}"
	pid_alive "${TAILNET_WARREND_PID[$1]}" && wr_fail "warrend of node $1 does not stop"
	TAILNET_WARREND_PID[$1]=
}

# tailnet_cli N ARGS...: the warren CLI against node N's warrend (exit status passed through)
tailnet_cli()
{
	local n=$1
	shift
	if [ "$n" = "$TAILNET_ROOT_NODE" ]; then
		"$WARREN_CLI" --bus "$(tailnet_bus "$n")" "$@"
		return
	fi
	ip netns exec "$(natlab_host_ns "$n")" "$WARREN_CLI" --bus "$(tailnet_bus "$n")" "$@"
}

# tailnet_up N: `warren up --auth-key` on node N; waits for Running and its tailnet address
tailnet_up()
{
	local n=$1 d out
	d=$(tailnet_node_dir "$n")
	out=$(tailnet_cli "$n" up --auth-key "file:$d/authkey" --timeout 30 2>&1) ||
		wr_fail "warren up on node $n: $out"
	TAILNET_IP[$n]=$(tailnet_cli "$n" ip -4 2>&1) || wr_fail "warren ip -4 on node $n: ${TAILNET_IP[$n]}"
	TAILNET_IP[$n]=${TAILNET_IP[$n]%%/*}
	[[ ${TAILNET_IP[$n]} =~ ^100\.[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
		wr_fail "node $n: warren ip -4 printed '${TAILNET_IP[$n]}'"
}

# tailnet_running N: `warren status` on node N says running (exit 0)
tailnet_running()
{
	tailnet_cli "$1" status >/dev/null 2>&1
}

# tailnet_ip N: node N's tailnet IPv4 (after tailnet_up)
tailnet_ip()
{
	echo "${TAILNET_IP[$1]}"
}

# tailnet_status_field N PEER_IP FIELD: FIELD of the peer with PEER_IP in node N's
# `warren status --json` ("" when the peer is not there)
tailnet_status_field()
{
	tailnet_cli "$1" status --json 2>/dev/null | python3 -c '
import json, sys
ip, field = sys.argv[1], sys.argv[2]
try:
    status = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for peer in status.get("peers", []):
    if any(a.split("/")[0] == ip for a in peer.get("addresses", [])):
        print(peer.get(field, ""))
        break
' "$2" "$3"
}

# tailnet_peer_count N: how many peers node N's status lists
tailnet_peer_count()
{
	tailnet_cli "$1" status --json 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("peers", [])))' 2>/dev/null ||
		echo 0
}

_tailnet_sees()
{
	[ -n "$(tailnet_status_field "$1" "$2" name)" ]
}

# tailnet_wait_peer N M [SECONDS]: wait (default 15 s) until node M is in node N's status
tailnet_wait_peer()
{
	wait_until "${3:-15}" _tailnet_sees "$1" "$(tailnet_ip "$2")" ||
		wr_fail "node $1 does not list node $2 ($(tailnet_ip "$2")) after ${3:-15} s: $(tailnet_cli "$1" status 2>&1)"
}

# tailnet_path N M: node M's path in node N's status: idle, derp or direct
tailnet_path()
{
	tailnet_status_field "$1" "$(tailnet_ip "$2")" path
}

_tailnet_path_is()
{
	[ "$(tailnet_path "$1" "$2")" = "$3" ]
}

# tailnet_first_reply_ms N M [SECONDS]: pings from node N's namespace to node M's tailnet
# address every 100 ms until the first reply (at most SECONDS, default 10); prints the
# milliseconds from the call to that reply, or returns 1 with nothing printed
tailnet_first_reply_ms()
{
	local t0 t1
	t0=$(now_ms)
	ip netns exec "$(natlab_host_ns "$1")" ping -n -q -c 1 -i 0.1 -w "${3:-10}" \
		"$(tailnet_ip "$2")" >/dev/null 2>&1 || return 1
	t1=$(now_ms)
	echo $((t1 - t0))
}

# tailnet_direct_ms N M [SECONDS] [T0_MS]: waits (at most SECONDS, default 5) for node N's
# status to show node M on a direct path, with pings every 200 ms meanwhile (traffic is what
# starts discovery); prints the milliseconds since T0_MS (default: the call), or returns 1
tailnet_direct_ms()
{
	local n=$1 m=$2 secs=${3:-5} t0=${4:-} pid rc whole
	[ -n "$t0" ] || t0=$(now_ms)
	# ping's deadline is whole seconds; SECONDS may have a fraction
	whole=$(awk -v s="$secs" 'BEGIN { w = int(s); if (w < s) w++; print w + 1 }')
	# not through tailnet_host_exec: $! must be ping itself (ip netns exec execs it)
	local netns_exec=()
	[ "$n" = "$TAILNET_ROOT_NODE" ] || netns_exec=(ip netns exec "$(natlab_host_ns "$n")")
	"${netns_exec[@]}" ping -n -q -i 0.2 -w "$whole" "$(tailnet_ip "$m")" >/dev/null 2>&1 &
	pid=$!
	wr_track "$pid" "ping $n -> $m"
	wait_until "$secs" _tailnet_path_is "$n" "$m" direct
	rc=$?
	wr_kill "$pid"
	((rc == 0)) || return 1
	echo $(($(now_ms) - t0))
}

# tailnet_cli_ping N M: `warren ping` from node N to node M; its output is left in
# TAILNET_PING_OUT; fails the test when no answer came at all
tailnet_cli_ping()
{
	TAILNET_PING_OUT=$(tailnet_cli "$1" ping -c 5 "$(tailnet_ip "$2")" 2>&1) ||
		wr_fail "warren ping $(tailnet_ip "$2") from node $1: $TAILNET_PING_OUT"
}

# tailnet_expect_cli_direct N M: `warren ping` from N to M says the answer came on a direct
# path ("via IP:PORT"), not DERP
tailnet_expect_cli_direct()
{
	tailnet_cli_ping "$1" "$2"
	grep -Eq "^pong from .* via [0-9.]+:[0-9]+ in [0-9]" <<<"$TAILNET_PING_OUT" ||
		wr_fail "warren ping from node $1 to node $2 does not say direct: $TAILNET_PING_OUT"
}

# tailnet_expect_cli_derp N M: `warren ping` from N to M is answered only via DERP
tailnet_expect_cli_derp()
{
	tailnet_cli_ping "$1" "$2"
	grep -Eq "^pong from .* via DERP\(" <<<"$TAILNET_PING_OUT" ||
		wr_fail "warren ping from node $1 to node $2 has no answer via DERP: $TAILNET_PING_OUT"
	! grep -Eq " via [0-9.]+:[0-9]+ in " <<<"$TAILNET_PING_OUT" ||
		wr_fail "warren ping from node $1 to node $2 went direct: $TAILNET_PING_OUT"
}

# tailnet_lost_pings N M COUNT: COUNT pings 100 ms apart from node N to node M, each waiting
# up to 1 s; prints how many were lost
tailnet_lost_pings()
{
	local out got
	out=$(ip netns exec "$(natlab_host_ns "$1")" ping -n -q -c "$3" -i 0.1 -W 1 \
		"$(tailnet_ip "$2")" 2>&1)
	got=$(sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' <<<"$out" | head -n 1)
	echo $(($3 - ${got:-0}))
}

# tailnet_warrend_alive: fail unless every node's warrend still runs
tailnet_warrend_alive()
{
	local n
	for n in "${TAILNET_NODES[@]}"; do
		[ -z "${TAILNET_WARREND_PID[$n]}" ] || pid_alive "${TAILNET_WARREND_PID[$n]}" ||
			wr_fail "warrend of node $n (pid ${TAILNET_WARREND_PID[$n]}) died"
	done
}

# tailnet_block_direct N ADDR / tailnet_unblock_direct N: on router N, drop every UDP datagram
# to or from ADDR (the other side's public address), so that the direct path dies while DERP
# (TCP to the servers) keeps working; and lift that again
tailnet_block_direct()
{
	local r
	r=$(natlab_router_ns "$1")
	ip netns exec "$r" nft -f - <<NFT || wr_fail "cannot add the blocking rule on router $1"
table ip tailnet_block {
	chain forward {
		type filter hook forward priority -10; policy accept;
		ip daddr $2 meta l4proto udp drop
		ip saddr $2 meta l4proto udp drop
	}
}
NFT
}

tailnet_unblock_direct()
{
	ip netns exec "$(natlab_router_ns "$1")" nft delete table ip tailnet_block ||
		wr_fail "cannot remove the blocking rule on router $1"
}

# tailnet_public_addr N: the address node N has on the internet (its router's WAN, or its own)
tailnet_public_addr()
{
	natlab_wan_addr "$1"
}

# tailnet_table_add PAIR FIRST_MS DIRECT_MS: one row of the timing table
# tailnet_table_print: the table, for the suite's log
tailnet_table_add()
{
	printf '%-28s %10s %10s\n' "$1" "$2" "$3" >>"$WR_TMP/timings"
}

tailnet_table_print()
{
	[ -f "$WR_TMP/timings" ] || return 0
	printf '%-28s %10s %10s\n' "pair" "first_ms" "direct_ms"
	cat "$WR_TMP/timings"
}

# tailnet_percentile P VALUES...: the P-th percentile (nearest rank) of whole numbers, "-" if none
tailnet_percentile()
{
	local p=$1
	shift
	(($# > 0)) || {
		echo -
		return 0
	}
	printf '%s\n' "$@" | sort -n | awk -v p="$p" '{ v[NR] = $1 }
		END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}

# tailnet_stop_all: stop every warrend before the cleanup ends the buses under them
tailnet_stop_all()
{
	local n
	for n in "${TAILNET_NODES[@]}"; do
		[ -n "${TAILNET_WARREND_PID[$n]}" ] && tailnet_warrend_stop "$n"
	done
	return 0
}

# ---- exit nodes and subnet routers (issue 7, docs/exit-nodes.md) ----

# tailnet_node_id N: node N's id in control's registry
tailnet_node_id()
{
	tailnet_admin --json nodes list | python3 -c '
import json, sys
for node in json.load(sys.stdin)["nodes"]:
    if node["name"] == sys.argv[1]:
        print(node["id"])
        break
' "${TAILNET_NAME[$1]:-n$1}"
}

# tailnet_approve N ROUTE...: the admin approves routes node N advertises
tailnet_approve()
{
	local n=$1 id
	shift
	id=$(tailnet_node_id "$n")
	[ -n "$id" ] || wr_fail "control has no node n$n"
	tailnet_admin routes approve "$id" "$@" >/dev/null
}

# tailnet_exit_lab: the exit node lab (tests/system/tailnet.sh exit, tests/gui/tray.sh menu):
# nodes 0 and 1 behind easy NATs, node 2 public, and an internet host 5 without warrend
# (INET_NS, INET_ADDR) counting whose public address its packets come from (from_n0..from_n2)
tailnet_exit_lab()
{
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_node 2 public
	natlab_public 5
	INET_NS=$(natlab_host_ns 5)
	INET_ADDR=$(natlab_wan_addr 5)
	tailnet_counters "$INET_NS" input \
		from_n0 "ip saddr $(natlab_wan_addr 0)" \
		from_n1 "ip saddr $(natlab_wan_addr 1)" \
		from_n2 "ip saddr $(natlab_wan_addr 2)"
}

# tailnet_counters NS HOOK NAME MATCH [NAME MATCH...]: a table "lab_count" in NS with one
# named counter per MATCH (nft words, e.g. "ip saddr 203.0.113.100"), counted in a chain on
# HOOK (input, forward, ...) at filter priority; replaces an earlier one
tailnet_counters()
{
	local ns=$1 hook=$2 script
	shift 2
	script="table inet lab_count
delete table inet lab_count
table inet lab_count {"
	local args=("$@") i
	for ((i = 0; i < ${#args[@]}; i += 2)); do
		script+="
	counter ${args[i]} {}"
	done
	script+="
	chain count {
		type filter hook $hook priority filter; policy accept;"
	for ((i = 0; i < ${#args[@]}; i += 2)); do
		script+="
		${args[i + 1]} counter name ${args[i]}"
	done
	script+="
	}
}"
	ip netns exec "$ns" nft -f - <<<"$script" || wr_fail "cannot add the counters in $ns"
}

# tailnet_count NS NAME: the packets counter NAME of tailnet_counters has seen
tailnet_count()
{
	ip netns exec "$1" nft list counter inet lab_count "$2" 2>/dev/null |
		sed -n 's/.*packets \([0-9][0-9]*\).*/\1/p' | head -n 1
}

_tailnet_count_above()
{
	local c
	c=$(tailnet_count "$1" "$2")
	((${c:-0} > $3))
}

# tailnet_exit_option N M: node N's status says node M is an approved exit node
_tailnet_exit_option()
{
	[ "$(tailnet_status_field "$1" "$(tailnet_ip "$2")" exit-node-option)" = True ]
}

tailnet_wait_exit_option()
{
	wait_until "${3:-15}" _tailnet_exit_option "$1" "$2" ||
		wr_fail "node $1 does not see node $2 as an exit node after ${3:-15} s"
}

# tailnet_health_has N TEXT: a Health line of node N's `warren status` contains TEXT
tailnet_health_has()
{
	tailnet_cli "$1" status 2>/dev/null | grep '^# Health:' | grep -qF -- "$2"
}

# tailnet_pings_from N ADDR COUNT: COUNT pings 100 ms apart from node N's namespace to ADDR,
# each waiting up to 1 s; prints how many were answered
tailnet_pings_from()
{
	local out
	out=$(tailnet_host_exec "$1" ping -n -q -c "$3" -i 0.1 -W 1 "$2" 2>&1)
	sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' <<<"$out" | head -n 1
}

_tailnet_reaches()
{
	tailnet_host_exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1
}

# tailnet_wait_reaches N ADDR [SECONDS] / tailnet_never_reaches N ADDR [SECONDS]: node N's
# namespace gets a ping answer from ADDR within SECONDS (default 10) / none for SECONDS
# (default 3)
tailnet_wait_reaches()
{
	wait_until "${3:-10}" _tailnet_reaches "$1" "$2"
}

tailnet_never_reaches()
{
	local got
	got=$(tailnet_pings_from "$1" "$2" "$((${3:-3} * 10))")
	[ "${got:-0}" = 0 ]
}

# ---- for tools/demo ----

_tailnet_advertises_exit()
{
	tailnet_admin --json routes list | python3 -c '
import json, sys
for r in json.load(sys.stdin)["routes"]:
    if r["node"] == sys.argv[1] and r["route"] == "0.0.0.0/0":
        sys.exit(0)
sys.exit(1)' "${TAILNET_NAME[$1]:-n$1}"
}

# tailnet_offer_exit N: node N advertises itself as an exit node and the admin approves it
tailnet_offer_exit()
{
	local out
	out=$(tailnet_cli "$1" set --advertise-exit-node 2>&1) || wr_fail "set --advertise-exit-node on node $1: $out"
	wait_until 10 _tailnet_advertises_exit "$1" || wr_fail "control does not list node $1's 0.0.0.0/0"
	tailnet_approve "$1" 0.0.0.0/0 ::/0
}

# tailnet_online N M: True or False, node M's online state in node N's status
tailnet_online()
{
	tailnet_status_field "$1" "$(tailnet_ip "$2")" online
}

_tailnet_online_is()
{
	[ "$(tailnet_online "$1" "$2")" = "$3" ]
}

# tailnet_wait_online N M True|False [SECONDS]: wait (default 30 s) until node N sees node M so
tailnet_wait_online()
{
	wait_until "${4:-30}" _tailnet_online_is "$1" "$2" "$3"
}

# tailnet_host_exec N CMD...: CMD in node N's host namespace (the root namespace for a node of
# kind root)
tailnet_host_exec()
{
	local n=$1
	shift
	if [ "$n" = "$TAILNET_ROOT_NODE" ]; then
		"$@"
		return
	fi
	ip netns exec "$(natlab_host_ns "$n")" "$@"
}
