#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/resolved.sh: Debian's real systemd-resolved for one node of the tailnet lab
# (tests/lib/tailnet.sh), sourced after it by tests/system/tailnet.sh (scenario dns-resolved;
# docs/magicdns.md, "Testing").
#
# The systemd-resolved package is not installed: it would point this machine's /etc/resolv.conf
# at its stub, and no resolved runs here (no systemd as PID 1).  tools/bootstrap unpacks the
# package file of the installed systemd's version into RESOLVED_DIR; resolved_need skips
# (exit 77) when it is not there or is of another version (resolved links systemd's private
# libsystemd-shared, which must be the same build).
#
# resolved_start N runs, for node N:
#   - a dbus-daemon of type system in node N's network namespace, on an abstract socket (those
#     belong to the network namespace; a path under $WR_TMP, which is 0700, could not be
#     reached by resolved's user): the node's system bus, whose address warrend of node N gets
#     as DBUS_SYSTEM_BUS_ADDRESS (TAILNET_SYSTEM_BUS), and so does resolvectl_on;
#   - lib/systemd/systemd-resolved from RESOLVED_DIR in node N's network namespace and in a
#     mount namespace of its own: a tmpfs on /run/systemd (it writes its files there, not on the
#     host's) and copies of /etc/passwd and /etc/group bound over them, which add its user
#     systemd-resolve.  resolved, started as root, looks that user up and drops to it (keeping
#     CAP_NET_BIND_SERVICE for its stub on 127.0.0.53); the copies give it the uid and gid of
#     nobody, which the dbus-daemon outside that mount namespace can look up too (it drops a
#     connection from a uid it cannot find).  Its configuration is the host's (there is no
#     /etc/systemd/resolved.conf here: the compiled-in defaults) plus a drop-in in the tmpfs
#     that turns LLMNR and mDNS off, which would only add multicast traffic to the lab.
# Privileges: resolved lets root change a link's settings without asking polkit (there is
# none on this bus), and warrend calls it as root.
#
# shellcheck shell=bash disable=SC2034

: "${RESOLVED_DIR:=/var/cache/warren-tests/systemd-resolved}"
RESOLVED_BIN=
RESOLVECTL=
declare -A TAILNET_RESOLVED_PID=()

# resolved_need: skip (exit 77) unless the unpacked systemd-resolved is there and matches the
# installed systemd
resolved_need()
{
	local want have
	RESOLVED_BIN=$RESOLVED_DIR/lib/systemd/systemd-resolved
	RESOLVECTL=$RESOLVED_DIR/usr/bin/resolvectl
	if [ ! -x "$RESOLVED_BIN" ] || [ ! -x "$RESOLVECTL" ]; then
		wr_skip "no systemd-resolved unpacked in $RESOLVED_DIR (tools/bootstrap unpacks Debian's package there)"
	fi
	want=$(dpkg-query -W -f='${Version}' systemd 2>/dev/null) ||
		wr_skip "the systemd package is not installed (resolved needs its libsystemd-shared)"
	have=$(cat "$RESOLVED_DIR/.version" 2>/dev/null)
	[ "$have" = "$want" ] ||
		wr_skip "systemd-resolved in $RESOLVED_DIR is version '$have', systemd is $want (run tools/bootstrap)"
	command -v dbus-daemon >/dev/null 2>&1 || wr_skip "dbus-daemon is not installed"
	command -v unshare >/dev/null 2>&1 || wr_skip "unshare is not installed"
}

# resolved_system_bus N: the address of node N's system bus (in node N's namespace only)
resolved_system_bus()
{
	echo "unix:abstract=$WR_PREFIX-system-bus-$1"
}

# resolved_start N: node N's system bus and systemd-resolved on it; waits until resolved owns
# org.freedesktop.resolve1.  Call after tailnet_node N (its namespace and directory) and
# before warrend of node N is (re)started with TAILNET_SYSTEM_BUS[N] set.
resolved_start()
{
	local n=$1 d h pid
	d=$(tailnet_node_dir "$n")
	h=$(natlab_host_ns "$n")
	# a system bus: resolved connects as its own user, so every user may connect (a bus of type
	# session would let in only its owner's uid), and any name may be owned
	cat >"$d/system-bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$(resolved_system_bus "$n")</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOC
	WR_LOGS+=("$d/system-bus.log")
	ip netns exec "$h" dbus-daemon --config-file="$d/system-bus.conf" --nofork --nosyslog \
		>"$d/system-bus.log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "system dbus-daemon of node $n"
	wait_until 10 _resolved_bus_up "$n" "$pid" ||
		wr_fail "the system bus of node $n did not start: $(cat "$d/system-bus.log")"

	# resolved's user, as nobody's uid and gid (see the header)
	mkdir -p "$d/resolved-etc" || wr_fail "cannot make $d/resolved-etc"
	{
		grep -v '^systemd-resolve:' /etc/passwd
		echo 'systemd-resolve:x:65534:65534:systemd Resolver:/:/usr/sbin/nologin'
	} >"$d/resolved-etc/passwd" || wr_fail "cannot write $d/resolved-etc/passwd"
	cp /etc/group "$d/resolved-etc/group" || wr_fail "cannot write $d/resolved-etc/group"
	printf '[Resolve]\nLLMNR=no\nMulticastDNS=no\n' >"$d/resolved-etc/lab.conf"

	WR_LOGS+=("$d/resolved.log")
	# every exec keeps the pid: ip netns exec -> unshare -> sh -> env -> systemd-resolved
	# shellcheck disable=SC2016 # the inner shell expands its own arguments
	ip netns exec "$h" unshare --mount --propagation private sh -c '
		set -e
		mount -t tmpfs -o mode=0755 warren-lab /run/systemd
		mkdir /run/systemd/resolved.conf.d
		cp "$1/lab.conf" /run/systemd/resolved.conf.d/
		mount --bind "$1/passwd" /etc/passwd
		mount --bind "$1/group" /etc/group
		exec env DBUS_SYSTEM_BUS_ADDRESS="$2" SYSTEMD_LOG_LEVEL=debug "$3"' \
		sh "$d/resolved-etc" "$(resolved_system_bus "$n")" "$RESOLVED_BIN" \
		>"$d/resolved.log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "systemd-resolved of node $n"
	TAILNET_RESOLVED_PID[$n]=$pid
	if ! wait_until 15 _resolved_up "$n" "$pid"; then
		pid_alive "$pid" || wr_fail "systemd-resolved of node $n exited during startup"
		wr_fail "systemd-resolved of node $n is not on its bus after 15 s"
	fi
	# shellcheck disable=SC2004 # an associative array (tests/lib/tailnet.sh)
	TAILNET_SYSTEM_BUS[$n]=$(resolved_system_bus "$n")
	wr_log "node $n: systemd-resolved $(cat "$RESOLVED_DIR/.version") on $(resolved_system_bus "$n")"
}

_resolved_bus_up()
{
	pid_alive "$2" || return 1
	timeout 5 ip netns exec "$(natlab_host_ns "$1")" gdbus introspect \
		--address "$(resolved_system_bus "$1")" --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus >/dev/null 2>&1
}

_resolved_up()
{
	pid_alive "$2" || return 1
	timeout 5 ip netns exec "$(natlab_host_ns "$1")" gdbus introspect \
		--address "$(resolved_system_bus "$1")" --dest org.freedesktop.resolve1 \
		--object-path /org/freedesktop/resolve1 >/dev/null 2>&1
}

# resolvectl_on N ARGS...: the unpacked resolvectl in node N's namespace, on its system bus
# (--no-pager, no colours: its output is parsed)
resolvectl_on()
{
	local n=$1
	shift
	ip netns exec "$(natlab_host_ns "$n")" env DBUS_SYSTEM_BUS_ADDRESS="$(resolved_system_bus "$n")" \
		SYSTEMD_COLORS=0 "$RESOLVECTL" --no-pager "$@" 2>&1
}
