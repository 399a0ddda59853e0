#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# warren-tray's notifications (docs/tray-notifications.md) against a real tailnet
# (tests/lib/tailnet.sh) on a headless desktop (tests/lib/gui.sh); issue 8's "a peer brought
# down and up produces offline/online notifications, read back from the notification server,
# and coalescing holds under a flapping peer".  The tray runs against node 1; node 0 is the
# peer that goes away.  The tray's settings go through the keyfile GSettings backend in a
# private XDG_CONFIG_HOME, written with `gsettings set` as a user's change would be
# (coalesce-seconds small, so that a scenario takes seconds).  What the tray sends is read
# twice: every org.freedesktop.Notifications.Notify call on the session bus (dbus-monitor), and
# what dunst, the real notification server, shows and keeps in its history.  One scenario per
# run:
#
#   online-offline  nothing at the tray's start (the existing map is no news); n0's warrend
#                   stopped: no notification before the window has passed, then exactly one,
#                   "Device offline" / "n0 went offline"; started again: "Device online" /
#                   "n0 came online"; dunst shows both
#   flapping        n0's warrend stopped and started three times within the window, ending up:
#                   no notification at all; then stopped, started and stopped again, ending
#                   down: exactly one "n0 went offline", a window after the last stop
#   exit-node       n0 offers itself as an exit node and n1 uses it: n0 stopped: "Exit node
#                   unavailable" naming n0; back: "Exit node available", replacing it
#   connection      n1's own warrend (the tray's) stopped for longer than the window:
#                   "Connection lost" / "The Warren service stopped."; started again:
#                   "Connection restored"; a restart quicker than the window: nothing
#   new-device      n2 joins the tailnet while the tray runs: "New device" / "n2 joined your
#                   network"; nothing for the peers there at the start
#   account         the tray starts while n1 is signed out: nothing; `warren up --auth-key`:
#                   "Signed in" naming the user Self names; `warren logout`: "Sign-in needed",
#                   replacing it
#
# As root: WARREN_TRAY=… WARREND=… WARREN_CLI=… WARREN_CONTROL=… WARREN_DERP=… \
#   tests/gui/notify.sh SCENARIO
# Exits 77 without root, the binaries or the desktop's tools; WR_KEEP_TMP=1 keeps the logs.

# the scenario functions are called by name ("scenario_$1")
# shellcheck disable=SC2317

set -u

# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
. "$(dirname "$(readlink -f "$0")")/../lib/netns.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/natlab.sh
. "$(dirname "$(readlink -f "$0")")/../lib/natlab.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/tailnet.sh
. "$(dirname "$(readlink -f "$0")")/../lib/tailnet.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/gui.sh
. "$(dirname "$(readlink -f "$0")")/../lib/gui.sh"

# the coalescing window of each scenario, seconds
WINDOW=${NOTIFY_WINDOW:-5}

scenario=${1:-}
case $scenario in
online-offline | flapping | exit-node | connection | new-device | account) ;;
*)
	echo "usage: notify.sh online-offline|flapping|exit-node|connection|new-device|account" >&2
	exit 2
	;;
esac

tailnet_need
gui_need
command -v dbus-monitor >/dev/null 2>&1 || wr_skip "dbus-monitor is not installed"
command -v gsettings >/dev/null 2>&1 || wr_skip "gsettings is not installed"
wr_init
WR_PAIRING=notify-$scenario

# ---- helpers ----

# settings_env: the environment the tray and gsettings share (the keyfile backend)
settings_env()
{
	echo GSETTINGS_BACKEND=keyfile XDG_CONFIG_HOME="$GUI_DIR/config" \
		GSETTINGS_SCHEMA_DIR="$GUI_BUILD_DIR/data"
}

# tray_set KEY VALUE: change one of the tray's settings as a user would
tray_set()
{
	# shellcheck disable=SC2046 # settings_env is a list of words without spaces
	env $(settings_env) gsettings set io.github.warrenvpn.Tray "$1" "$2" ||
		wr_fail "gsettings set $1 $2 failed"
}

# notify_monitor_start: records every Notify call on the session bus from now on
notify_monitor_start()
{
	NOTIFY_WIRE=$GUI_DIR/notify-wire.log
	WR_LOGS+=("$NOTIFY_WIRE")
	dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" \
		"type='signal',interface='org.freedesktop.Notifications',member='NotificationClosed'" \
		>"$NOTIFY_WIRE" 2>&1 </dev/null &
	wr_track $! "dbus-monitor"
	wait_until 5 grep -q "member=NameAcquired\|^signal" "$NOTIFY_WIRE" || sleep 0.5
}

# notify_calls: the Notify calls so far, one a line: "SUMMARY|BODY|REPLACES_ID"
notify_calls()
{
	awk '
	/member=Notify/ { n = 0; s = 0; inside = 1; next }
	inside && /^ *string "/ {
		s++
		v = $0; sub(/^ *string "/, "", v); sub(/"$/, "", v)
		if (s == 3) summary = v
		if (s == 4) { body = v; print summary "|" body "|" replaces; inside = 0 }
		next
	}
	inside && /^ *uint32 / { replaces = $2 }
	' "$NOTIFY_WIRE"
}

notify_count()
{
	notify_calls | grep -c . || true
}

_notify_count_is()
{
	[ "$(notify_count)" -ge "$1" ]
}

# dunst_seen: what dunst shows and keeps, one "SUMMARY|BODY" a line (close-all moves what is
# shown into the history)
dunst_seen()
{
	dunstctl close-all
	gui_notifications | "$GUI_PYTHON" -c '
import json, sys
history = json.load(sys.stdin)["data"][0]
for n in reversed(history):
    print(n["summary"]["data"] + "|" + n["body"]["data"])
'
}

# expect_calls LABEL EXPECTED: the Notify calls so far are exactly EXPECTED (lines of
# "SUMMARY|BODY"; the replaced id is left out)
expect_calls()
{
	local got
	got=$(notify_calls | cut -d'|' -f1,2)
	[ "$got" = "$2" ] || wr_fail "$1: the tray sent '${got//$'\n'/ / }', expected '${2//$'\n'/ / }'"
	wr_log "$1: ${got:-nothing}"
}

# expect_replaced LABEL: the second Notify call replaced the first (the same GNotification id
# reuses the server's notification while it is shown), unless the server had closed the first
# by then (dunst's timeout): GLib then has nothing to replace
expect_replaced()
{
	local replaces closed_before
	replaces=$(notify_calls | sed -n 2p | cut -d'|' -f3)
	closed_before=$(awk '/member=NotificationClosed/ { c++ } /member=Notify$/ { n++; if (n == 2) { print c + 0; exit } }' "$NOTIFY_WIRE")
	if [ "$replaces" != 0 ]; then
		wr_log "$1: replaces notification $replaces"
	elif [ "${closed_before:-0}" -gt 0 ]; then
		wr_log "$1: a new notification (the server had closed the first)"
	else
		wr_fail "$1: the second notification did not replace the first, still shown: $(notify_calls)"
	fi
}

# tray_heard KIND: how many PeerEvents KIND ("online", "offline") about n0 the tray has
# logged (its notifier's debug line for each)
tray_heard()
{
	local n
	n=$(grep -c "WrTrayNotify-DEBUG: .*: peer n0 $1\$" "$GUI_DIR/tray.log" 2>/dev/null)
	echo "${n:-0}"
}

_tray_heard_more()
{
	(($(tray_heard "$1") > $2))
}

# a tailnet of two: n1 (the tray's node) and n0 (the peer)
two_nodes()
{
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_up 0
	tailnet_up 1
	tailnet_wait_peer 1 0
}

# desktop_and_tray: dunst, a watcher, the monitor, and the tray on n1 with a short window
desktop_and_tray()
{
	# shellcheck disable=SC2119 # the whole desktop: no option
	gui_start
	mkdir -p "$GUI_DIR/config"
	tray_set coalesce-seconds "$WINDOW"
	# the lab's nodes are tagged (no user's own devices): n0 counts as another's device
	tray_set notify-other-devices true
	notify_monitor_start
	# shellcheck disable=SC2046
	GUI_TRAY_DEBUG="WrTrayNotify WrTrayModel" gui_tray_start 1 $(settings_env)
	# what the tray reads at its start is no news
	sleep 2
	expect_calls "at the start" ""
}

# stop_n0, start_n0: n0's warrend stopped (started), and the tray told of it by n1's warrend
stop_n0()
{
	local before
	before=$(tray_heard offline)
	tailnet_warrend_stop 0
	wait_until 15 _tray_heard_more offline "$before" ||
		wr_fail "the tray heard of no offline n0 15 s after its warrend stopped"
}

start_n0()
{
	local before
	before=$(tray_heard online)
	tailnet_warrend_start 0
	wait_until 15 _tray_heard_more online "$before" ||
		wr_fail "the tray heard of no online n0 15 s after its warrend started"
}

# engine_user N: the user of node N's Self ("" when none)
engine_user()
{
	gdbus call --address "$(tailnet_bus "$1")" --dest io.github.warrenvpn.Engine1 \
		--object-path /io/github/warrenvpn/Engine1 \
		--method org.freedesktop.DBus.Properties.Get io.github.warrenvpn.Engine1 Self 2>/dev/null |
		sed -n "s/.*'user': <'\([^']*\)'>.*/\1/p"
}

# ---- scenarios ----

scenario_online_offline()
{
	local t0
	two_nodes
	desktop_and_tray

	t0=$(date +%s.%N)
	stop_n0
	wr_log "the tray heard of n0 offline after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
	# not before the window has passed (the peer may still come back)
	sleep $((WINDOW - 2))
	expect_calls "n0 down for $((WINDOW - 2)) s" ""
	wait_until $((WINDOW + 10)) _notify_count_is 1 || wr_fail "no notification $((WINDOW + 10)) s after n0 went down"
	expect_calls "n0 down" "Device offline|n0 went offline"

	start_n0
	wait_until $((WINDOW + 10)) _notify_count_is 2 || wr_fail "no notification $((WINDOW + 10)) s after n0 came back"
	sleep 1
	expect_calls "n0 up again" "Device offline|n0 went offline
Device online|n0 came online"

	# a click on the one on top (dunst's default action, as a person's click) opens the Devices
	# window through the notification's default action app.devices
	[ "$(dunstctl count displayed)" -ge 1 ] || wr_fail "dunst displays no notification to click"
	dunstctl action 0 || wr_fail "dunstctl action 0 failed"
	wait_until 10 _gui_find_window "Warren Devices" ||
		wr_fail "clicking the notification did not open the Devices window"
	wr_log "a click on the notification opened the Devices window"

	# the notification server got them and shows them
	dunst_seen >"$GUI_DIR/dunst-seen"
	[ "$(cat "$GUI_DIR/dunst-seen")" = "Device offline|n0 went offline
Device online|n0 came online" ] || wr_fail "dunst has '$(tr '\n' '/' <"$GUI_DIR/dunst-seen")'"
	wr_log "dunst: $(tr '\n' '/' <"$GUI_DIR/dunst-seen")"
	grep -E 'CRITICAL|WARNING' "$GUI_DIR/tray.log" && wr_fail "the tray logged warnings"
	gui_tray_stop
}

scenario_flapping()
{
	local i t_last
	WINDOW=${NOTIFY_WINDOW:-10}
	two_nodes
	desktop_and_tray

	# down and up three times, ending up: no notification
	for i in 1 2 3; do
		stop_n0
		start_n0
	done
	wr_log "n0 flapped three times"
	sleep $((WINDOW + 3))
	expect_calls "three flaps, ending up" ""

	# down, up, down: one offline notification, a window after the last change
	stop_n0
	start_n0
	# (the tray cannot hear of the stop before it happens)
	t_last=$(date +%s.%N)
	stop_n0
	wait_until $((WINDOW + 10)) _notify_count_is 1 || wr_fail "no notification $((WINDOW + 10)) s after n0 stayed down"
	awk -v a="$t_last" -v b="$(date +%s.%N)" -v w="$WINDOW" 'BEGIN { exit !(b - a >= w) }' ||
		wr_fail "the offline notification came under $WINDOW s after n0's last stop"
	# and nothing after it (nothing is pending)
	sleep 3
	expect_calls "flaps ending down" "Device offline|n0 went offline"
	dunst_seen >"$GUI_DIR/dunst-seen"
	[ "$(cat "$GUI_DIR/dunst-seen")" = "Device offline|n0 went offline" ] ||
		wr_fail "dunst shows '$(tr '\n' '/' <"$GUI_DIR/dunst-seen")', expected one offline notification"
	wr_log "dunst: $(tr '\n' '/' <"$GUI_DIR/dunst-seen")"
	grep -E 'CRITICAL|WARNING' "$GUI_DIR/tray.log" && wr_fail "the tray logged warnings"
	gui_tray_stop
}

scenario_exit_node()
{
	local out
	two_nodes
	out=$(tailnet_cli 0 set --advertise-exit-node 2>&1) || wr_fail "advertise-exit-node on n0: $out"
	sleep 1
	tailnet_approve 0 0.0.0.0/0 ::/0
	tailnet_wait_exit_option 1 0
	out=$(tailnet_cli 1 set --exit-node n0 2>&1) || wr_fail "exit node n0 on n1: $out"
	desktop_and_tray
	# only the exit node's notifications
	tray_set notify-other-devices false

	stop_n0
	wait_until $((WINDOW + 10)) _notify_count_is 1 || wr_fail "no notification $((WINDOW + 10)) s after the exit node went down"
	sleep 1
	expect_calls "exit node down" "Exit node unavailable|n0 went offline. Choose another exit node or turn it off."
	start_n0
	wait_until $((WINDOW + 10)) _notify_count_is 2 || wr_fail "no notification $((WINDOW + 10)) s after the exit node came back"
	sleep 1
	expect_calls "exit node back" "Exit node unavailable|n0 went offline. Choose another exit node or turn it off.
Exit node available|Internet traffic goes through n0 again."
	expect_replaced "available after unavailable"
	grep -E 'CRITICAL|WARNING' "$GUI_DIR/tray.log" && wr_fail "the tray logged warnings"
	gui_tray_stop
}

scenario_connection()
{
	# room for a restart under load
	WINDOW=${NOTIFY_WINDOW:-10}
	two_nodes
	desktop_and_tray
	# a restart within the window
	tailnet_warrend_stop 1
	tailnet_warrend_start 1
	wait_until 15 tailnet_running 1 || wr_fail "n1 is not running again after its restart"
	sleep $((WINDOW + 2))
	expect_calls "a quick restart of n1's warrend" ""
	tailnet_warrend_stop 1
	wait_until $((WINDOW + 10)) _notify_count_is 1 || wr_fail "no notification $((WINDOW + 10)) s after n1's warrend stopped"
	expect_calls "n1's warrend stopped" "Connection lost|The Warren service stopped."
	tailnet_warrend_start 1
	wait_until 20 _notify_count_is 2 || wr_fail "no notification 20 s after n1's warrend started again"
	sleep 1
	expect_calls "n1's warrend back" "Connection lost|The Warren service stopped.
Connection restored|Connected to your network again."
	grep -E 'CRITICAL|WARNING' "$GUI_DIR/tray.log" && wr_fail "the tray logged warnings"
	gui_tray_stop
}

scenario_new_device()
{
	two_nodes
	desktop_and_tray
	tailnet_node 2 easy
	tailnet_up 2
	wait_until $((WINDOW + 15)) _notify_count_is 1 || wr_fail "no notification $((WINDOW + 15)) s after n2 joined"
	sleep 2
	expect_calls "n2 joined" "New device|n2 joined your network"
	grep -E 'CRITICAL|WARNING' "$GUI_DIR/tray.log" && wr_fail "the tray logged warnings"
	gui_tray_stop
}

scenario_account()
{
	local user out
	tailnet_node 1 easy
	desktop_and_tray
	tailnet_up 1
	wait_until 15 _notify_count_is 1 || wr_fail "no notification 15 s after n1 signed in"
	sleep 1
	user=$(engine_user 1)
	if [ -n "$user" ]; then
		expect_calls "signed in" "Signed in|Signed in as $user"
	else
		expect_calls "signed in (Self names no user)" "Signed in|You are signed in to your network."
	fi
	out=$(tailnet_cli 1 logout 2>&1) || wr_fail "warren logout on n1: $out"
	wait_until 15 _notify_count_is 2 || wr_fail "no notification 15 s after n1 signed out"
	sleep 1
	expect_calls "signed out" "$(notify_calls | head -n 1 | cut -d'|' -f1,2)
Sign-in needed|Sign in again to reconnect to your network."
	expect_replaced "sign-in needed after signed in"
	grep -E 'CRITICAL|WARNING' "$GUI_DIR/tray.log" && wr_fail "the tray logged warnings"
	gui_tray_stop
}

tailnet_servers
"scenario_${scenario//-/_}"
tailnet_stop_all
echo "PASS: notify $scenario"
exit 0
