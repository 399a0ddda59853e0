#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# warren-tray against a real tailnet (tests/lib/tailnet.sh: warren-control, warren-derp, one
# warrend per node in the NAT lab) on a headless desktop (tests/lib/gui.sh: Xvfb, a private
# session bus, dunst, a StatusNotifierWatcher); issue 8's "What must be shown", the tray's
# part.  One scenario per run:
#
#   menu      n0 and n2 offer themselves as exit nodes (approved by control), the tray runs
#             against n1: the menu's "Network devices" lists exactly the peers `warren status`
#             lists, its "Exit node" None and exactly the exit nodes; a click on n0 (dbusmenu
#             Event, as a panel sends it) makes n1 route through n0 (an internet host sees n1's
#             pings from n0's address) and the radio follows; "None" restores (the pings come
#             from n1's own address again); the items keep their dbusmenu ids; a choice made
#             with the CLI moves the radio; n2 withdraws its offer and the menu drops it
#             (PeerEvent "changed"); Disconnect stops the tunnel (Stopped, the menu
#             offers Connect), Connect brings it back (Running); warrend stopped: "Warren is
#             not running", started: all read again; Sign out with control gone: a dialog
#             says so in words, then "Signed out" and "Sign in…"
#   no-host   no StatusNotifierWatcher on the bus: the status window is shown (xdotool finds
#             it) with the one-time message, and its Disconnect and Connect buttons work
#             (pointer clicks); a watcher that reports no host: the same; with a host: neither
#   zh_CN     LANG=zh_CN.UTF-8 (generated with localedef when missing): the menu is in Chinese
#             (fails while it is English: needs po/zh_CN.po)
#   rss       the tray's VmRSS after start and menu use is under 60 MB (skipped for a build
#             with AddressSanitizer, whose shadow memory is no measure of the tray's)
#   register-retry
#             the watcher refuses the icon's first registration, as libayatana-appindicator's
#             start-up race leaves it unregistered (app/tray/wr-tray-indicator.c): the tray
#             makes its indicator again, which registers, and its menu is exported whole
#
# As root: WARREN_TRAY=… WARREND=… WARREN_CLI=… WARREN_CONTROL=… WARREN_DERP=… \
#   tests/gui/tray.sh SCENARIO
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

RSS_MAX_KB=$((60 * 1024))

scenario=${1:-}
case $scenario in
menu | no-host | zh_CN | rss | register-retry) ;;
*)
	echo "usage: tray.sh menu|no-host|zh_CN|rss|register-retry" >&2
	exit 2
	;;
esac

tailnet_need
gui_need
wr_init
WR_PAIRING=tray-$scenario

# ---- helpers ----

# engine_prop N NAME: a property of node N's warrend, in gdbus's text form
engine_prop()
{
	gdbus call --address "$(tailnet_bus "$1")" --dest io.github.warrenvpn.Engine1 \
		--object-path /io/github/warrenvpn/Engine1 \
		--method org.freedesktop.DBus.Properties.Get io.github.warrenvpn.Engine1 "$2" 2>/dev/null
}

_engine_prop_is()
{
	[ "$(engine_prop "$1" "$2")" = "$3" ]
}

# status_names N [exit]: the peer names of node N's `warren status --json`, sorted, one a
# line; with "exit" only those offering themselves as exit nodes
status_names()
{
	tailnet_cli "$1" status --json | "$GUI_PYTHON" -c '
import json, sys
only_exit = len(sys.argv) > 1
for peer in sorted(json.load(sys.stdin)["peers"], key=lambda p: p["name"]):
    if not only_exit or peer.get("exit-node-option"):
        print(peer["name"])
' ${2:+exit}
}

# menu_names LABEL...: the device names of a submenu (the label up to " — "), sorted; headers
# (disabled lines), "None" and check items left out
menu_names()
{
	gui_menu_items "$@" | awk -F'\t' '$2 == 1 && $1 != "None" && $4 != "checkmark" { sub(/ — .*/, "", $1); print $1 }' | sort
}

# menu_toggle LABEL...: the toggle state of the last LABEL in its submenu
menu_toggle()
{
	local last=${*: -1}
	gui_menu_items "${@:1:$#-1}" | awk -F'\t' -v l="$last" '{ n = $1; sub(/ — .*/, "", n); sub(/ \(.*\)$/, "", n) } n == l { print $3 }'
}

_menu_toggle_is()
{
	[ "$(menu_toggle "${@:1:$#-1}")" = "${*: -1}" ]
}

# menu_ids: every item of the menu as "id path-of-labels", the device lines' path words
# ("— direct") left out, sorted: unchanged items must keep their dbusmenu ids
menu_ids()
{
	gui_menu_dump | "$GUI_PYTHON" -c '
import json, sys
def walk(item, path):
    label = item["label"].split(" — ")[0]
    here = path + [label] if label else path
    if item["id"] != 0 and item["type"] != "separator":
        print(item["id"], "/".join(here))
    for child in item["children"]:
        walk(child, here)
walk(json.load(sys.stdin), [])' | sort
}

_menu_lacks_exit()
{
	! menu_names "Exit node" | grep -qx "$1"
}

_not_exit_option()
{
	[ "$(tailnet_status_field "$1" "$(tailnet_ip "$2")" exit-node-option)" = False ]
}

_clipboard_is()
{
	[ "$(gui_clipboard)" = "$1" ]
}

_menu_names_are()
{
	[ "$(menu_names "${@:2}")" = "$1" ]
}

_menu_has()
{
	gui_menu_items | cut -f1 | grep -qxF -- "$1"
}

_menu_status_is()
{
	[ "$(gui_menu_items | head -n 1 | cut -f1)" = "$1" ]
}

# pings_seen_from N: 10 pings from node 1 to the internet host; every one answered is counted
# at the internet host from node N's public address only
pings_seen_from()
{
	local want=$1 label=$2 i c before=() now
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
				wr_fail "$label: the internet host saw $((now - before[i])) pings from n$i, expected $c"
		else
			((now == before[i])) ||
				wr_fail "$label: the internet host saw $((now - before[i])) pings from n$i"
		fi
	done
	wr_log "$label: $c of 10 pings answered, all from n$want ($(natlab_wan_addr "$want"))"
}

# a small tailnet: n1 the tray's node, n0 (and n2 with exits) its peers
small_tailnet()
{
	tailnet_node 0 easy
	tailnet_node 1 easy
	tailnet_up 0
	tailnet_up 1
}

# ---- scenarios ----

scenario_menu()
{
	local out want got user want_status ids_before ids_after
	tailnet_exit_lab
	tailnet_up 0
	tailnet_up 1
	tailnet_up 2
	out=$(tailnet_cli 0 set --advertise-exit-node 2>&1) || wr_fail "advertise-exit-node on n0: $out"
	out=$(tailnet_cli 2 set --advertise-exit-node 2>&1) || wr_fail "advertise-exit-node on n2: $out"
	sleep 1
	tailnet_approve 0 0.0.0.0/0 ::/0
	tailnet_approve 2 0.0.0.0/0 ::/0
	tailnet_wait_exit_option 1 0
	tailnet_wait_exit_option 1 2

	gui_start
	gui_tray_start 1
	# "Connected as USER"; a node signed in with a tagged key has no user of its own
	user=$(tailnet_cli 1 status --json | "$GUI_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["self"].get("user", ""))')
	want_status="Connected${user:+ as $user}"
	wait_until 10 _menu_status_is "$want_status" ||
		wr_fail "the menu's status line is not '$want_status': $(gui_menu_items | head -n 1)"
	wr_log "status line: $(gui_menu_items | head -n 1 | cut -f1)"

	want=$(status_names 1)
	got=$(menu_names "Network devices")
	if [ -z "$want" ] || [ "$want" != "$got" ]; then
		wr_fail "Network devices lists '${got//$'\n'/ }', warren status '${want//$'\n'/ }'"
	fi
	wr_log "Network devices: ${got//$'\n'/ } (as warren status)"
	gui_menu_click "Network devices" n0 || wr_fail "cannot click Network devices > n0"
	wait_until 5 _clipboard_is "$(tailnet_ip 0)" || wr_fail "a click on n0 put '$(gui_clipboard)' on the clipboard, not $(tailnet_ip 0)"
	wr_log "a click on n0 copies its address $(tailnet_ip 0)"
	want=$(status_names 1 exit)
	got=$(menu_names "Exit node")
	if [ "$want" != "$(printf 'n0\nn2')" ] || [ "$want" != "$got" ]; then
		wr_fail "Exit node lists '${got//$'\n'/ }', warren status '${want//$'\n'/ }' (want n0 n2)"
	fi
	[ "$(menu_toggle "Exit node" None)" = 1 ] || wr_fail "None is not the chosen exit node: $(gui_menu_items "Exit node")"
	wr_log "Exit node: None ${got//$'\n'/ }"

	pings_seen_from 1 "no exit node"
	ids_before=$(menu_ids)
	gui_menu_click "Exit node" n0 || wr_fail "cannot click Exit node > n0"
	wait_until 10 _engine_prop_is 1 ExitNode "(<'$(tailnet_node_id 0)'>,)" ||
		wr_fail "after the click on n0, warrend's ExitNode is $(engine_prop 1 ExitNode), not n0's id $(tailnet_node_id 0)"
	wait_until 5 _menu_toggle_is "Exit node" n0 1 || wr_fail "the n0 radio is not on: $(gui_menu_items "Exit node")"
	[ "$(menu_toggle "Exit node" None)" = 0 ] || wr_fail "None is still on: $(gui_menu_items "Exit node")"
	pings_seen_from 0 "exit node n0 chosen in the menu"

	gui_menu_click "Exit node" None || wr_fail "cannot click Exit node > None"
	wait_until 10 _engine_prop_is 1 ExitNode "(<''>,)" ||
		wr_fail "after the click on None, warrend's ExitNode is $(engine_prop 1 ExitNode)"
	wait_until 5 _menu_toggle_is "Exit node" None 1 || wr_fail "the None radio is not on: $(gui_menu_items "Exit node")"
	pings_seen_from 1 "None chosen in the menu"
	# updated in place: the same items under the same ids (a rebuild would renumber them)
	ids_after=$(menu_ids)
	[ "$ids_before" = "$ids_after" ] ||
		wr_fail "the menu's dbusmenu ids changed: $(diff <(echo "$ids_before") <(echo "$ids_after") | tr '\n' ' ')"
	wr_log "the menu kept its $(wc -l <<<"$ids_after") dbusmenu ids through the exit node changes"

	# chosen elsewhere (the CLI): the radio follows warrend
	out=$(tailnet_cli 1 set --exit-node n2 2>&1) || wr_fail "warren set --exit-node n2: $out"
	wait_until 5 _menu_toggle_is "Exit node" n2 1 || wr_fail "after warren set --exit-node n2, the menu shows $(gui_menu_items "Exit node" | tr '\n\t' '| ')"
	out=$(tailnet_cli 1 set --exit-node "" 2>&1) || wr_fail "warren set --exit-node '': $out"
	wait_until 5 _menu_toggle_is "Exit node" None 1 || wr_fail "after warren set --exit-node '', the menu shows $(gui_menu_items "Exit node" | tr '\n\t' '| ')"
	wr_log "the radio follows exit node changes made with the CLI"

	# n2 withdraws its offer: warrend's PeerEvent "changed" carries it, and the menu drops n2
	# from the exit nodes (no polling: without the event the menu would keep it)
	out=$(tailnet_cli 2 set --advertise-exit-node=false 2>&1) || wr_fail "advertise-exit-node=false on n2: $out"
	wait_until 20 _not_exit_option 1 2 || wr_fail "n1 still sees n2 as an exit node"
	wait_until 5 _menu_lacks_exit n2 ||
		wr_fail "n2 withdrew its exit node offer, the menu still lists it: $(gui_menu_items "Exit node" | tr '\n\t' '| ')"
	wr_log "n2 withdrawn: the menu no longer lists it as an exit node"

	gui_menu_click Disconnect || wr_fail "cannot click Disconnect"
	wait_until 10 _engine_prop_is 1 State "(<'Stopped'>,)" || wr_fail "after Disconnect, State is $(engine_prop 1 State)"
	wait_until 5 _menu_has Connect || wr_fail "after Disconnect, the menu offers no Connect: $(gui_menu_items | cut -f1 | tr '\n' '|')"
	tailnet_never_reaches 1 "$(tailnet_ip 0)" 2 || wr_fail "after Disconnect, n1 still reaches n0 through the tunnel"
	wr_log "Disconnect: Stopped, the menu offers Connect, n0 unreachable"
	gui_menu_click Connect || wr_fail "cannot click Connect"
	wait_until 15 _engine_prop_is 1 State "(<'Running'>,)" || wr_fail "after Connect, State is $(engine_prop 1 State)"
	wait_until 5 _menu_has Disconnect || wr_fail "after Connect, the menu offers no Disconnect"
	tailnet_wait_reaches 1 "$(tailnet_ip 0)" 10 || wr_fail "after Connect, n1 does not reach n0"
	wr_log "Connect: Running, n0 reachable again"

	# warrend goes away and comes back: the tray says so and reads everything again
	tailnet_warrend_stop 1
	wait_until 10 _menu_status_is "Warren is not running" ||
		wr_fail "with warrend stopped, the status line is '$(gui_menu_items | head -n 1 | cut -f1)'"
	[ -z "$(menu_names "Network devices")" ] || wr_fail "with warrend stopped, the menu still lists devices"
	tailnet_warrend_start 1
	wait_until 20 _menu_status_is "$want_status" ||
		wr_fail "warrend back: the status line is '$(gui_menu_items | head -n 1 | cut -f1)', not '$want_status'"
	want=$(status_names 1)
	wait_until 10 _menu_names_are "$want" "Network devices" ||
		wr_fail "warrend back: Network devices lists '$(menu_names "Network devices" | tr '\n' ' ')', warren status '${want//$'\n'/ }'"
	wr_log "warrend restarted: 'Warren is not running', then '$want_status' and the devices again"

	# a refusal is told in words: Sign out with the control server gone (warrend signs out
	# here and answers Timeout)
	tailnet_control_kill
	gui_menu_click "Sign out" || wr_fail "cannot click Sign out"
	wait_until 15 _window "Could not sign out" || wr_fail "no dialog 'Could not sign out' after a refused Logout"
	grep -q "Logout failed" "$GUI_DIR/tray.log" || wr_fail "the tray did not log the refused Logout"
	wait_until 5 _menu_status_is "Signed out" || wr_fail "after Sign out, the status line is '$(gui_menu_items | head -n 1 | cut -f1)'"
	wait_until 5 _menu_has "Sign in…" || wr_fail "after Sign out, the menu offers no 'Sign in…'"
	wr_log "Sign out without control: the dialog 'Could not sign out', then 'Signed out' and 'Sign in…'"
	grep -E 'CRITICAL|WARNING' "$GUI_DIR/tray.log" && wr_fail "the tray logged warnings"
	gui_tray_stop
}

# _window TITLE: a visible window titled TITLE exists
_window()
{
	xdotool search --onlyvisible --name "^$1\$" >/dev/null 2>&1
}

_status_window()
{
	xdotool search --onlyvisible --name '^Warren$' >/dev/null 2>&1
}

_message_window()
{
	xdotool search --onlyvisible --name '^No tray icons$' >/dev/null 2>&1
}

# status_window_buttons: Disconnect and Connect through the status window, clicked with the
# pointer (XTEST); no window manager, so both windows sit at 0,0: the message is moved aside
status_window_buttons()
{
	local win msg
	msg=$(gui_window_id "No tray icons") || wr_fail "no message window"
	xdotool windowmove "$msg" 0 400
	win=$(gui_window_id Warren) || wr_fail "no status window"
	# Connect and Disconnect share the place of the first button of the row
	sleep 0.3
	xdotool mousemove --window "$win" 60 126 click 1
	wait_until 10 _engine_prop_is 1 State "(<'Stopped'>,)" ||
		wr_fail "Disconnect in the status window: State is $(engine_prop 1 State)"
	sleep 0.3
	xdotool mousemove --window "$win" 60 126 click 1
	wait_until 15 _engine_prop_is 1 State "(<'Running'>,)" ||
		wr_fail "Connect in the status window: State is $(engine_prop 1 State)"
	wr_log "the status window's Disconnect and Connect work"
}

scenario_no_host()
{
	local mode shots=$GUI_BUILD_DIR/tests/gui/screenshots
	small_tailnet
	for mode in --no-watcher --no-host; do
		gui_start "$mode"
		gui_tray_start 1
		wait_until 10 _status_window || wr_fail "$mode: no status window 'Warren' is shown"
		wait_until 5 _message_window || wr_fail "$mode: no message 'No tray icons'"
		# kept with the other windows' screenshots (<build>/tests/gui/screenshots)
		mkdir -p "$shots" || wr_fail "cannot make $shots"
		gui_screenshot "No tray icons" "$shots/no-tray-icons$mode.png" ||
			wr_fail "$mode: no screenshot of the no-tray-icons message"
		# no window manager: both windows sit at 0,0, the message on top
		xdotool windowmove "$(gui_window_id "No tray icons")" 0 400
		sleep 0.3
		gui_screenshot "Warren" "$shots/status-window$mode.png" ||
			wr_fail "$mode: no screenshot of the status window"
		grep -q "no StatusNotifier host" "$GUI_DIR/tray.log" || wr_fail "$mode: the tray did not log the missing host"
		wr_log "$mode: status window and message shown ($(identify -format '%wx%h' "$shots/status-window$mode.png" 2>/dev/null))"
		[ "$mode" = --no-watcher ] && status_window_buttons
		gui_tray_stop
		# the next desktop is a new one
		wr_teardown_gui
	done

	# with a host: neither
	gui_start
	gui_tray_start 1
	sleep 2.5
	_status_window && wr_fail "with a host, the status window is shown"
	_message_window && wr_fail "with a host, the no-tray-icons message is shown"
	wr_log "with a host: no status window"
	gui_tray_stop
}

# ends this desktop's processes (all started after the tailnet's)
wr_teardown_gui()
{
	local pid i keep=()
	for ((i = ${#WR_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${WR_PIDS[i]}
		case ${WR_PID_NAME[$pid]:-} in
		"session dbus-daemon" | Xvfb | dunst | StatusNotifierWatcher | warren-tray) wr_kill "$pid" ;;
		esac
	done
	for pid in "${WR_PIDS[@]}"; do
		pid_alive "$pid" && keep+=("$pid")
	done
	WR_PIDS=("${keep[@]}")
	rm -rf "$GUI_DIR"
}

scenario_zh_CN()
{
	local lang=zh_CN.UTF-8 items
	if ! locale -a 2>/dev/null | grep -qix 'zh_CN.utf8'; then
		if command -v localedef >/dev/null 2>&1 &&
			localedef -i zh_CN -f UTF-8 zh_CN.UTF-8 2>"$WR_TMP/localedef.err"; then
			wr_log "generated the locale zh_CN.UTF-8"
		else
			# gettext reads LANGUAGE with any locale but C/POSIX
			wr_log "no zh_CN.UTF-8 locale ($(cat "$WR_TMP/localedef.err" 2>/dev/null)): LANGUAGE=zh_CN with C.UTF-8"
			lang=C.UTF-8
		fi
	fi
	small_tailnet
	gui_start
	gui_tray_start 1 LANG="$lang" LANGUAGE=zh_CN LC_ALL=
	sleep 1
	items=$(gui_menu_items | cut -f1)
	wr_log "menu: $(echo "$items" | tr '\n' '|')"
	for english in Quit Disconnect "Exit node" "Network devices"; do
		grep -qxF "$english" <<<"$items" && wr_fail "the menu is English under zh_CN: '$english' (needs po/zh_CN.po)"
	done
	# Chinese: CJK Unified Ideographs in the labels
	"$GUI_PYTHON" -c '
import sys
text = sys.stdin.read()
sys.exit(0 if sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") >= 4 else 1)' <<<"$items" ||
		wr_fail "the menu under zh_CN has no Chinese labels"
	gui_tray_stop
}

scenario_rss()
{
	local rss
	if ldd "$WARREN_TRAY" | grep -q libasan; then
		wr_skip "warren-tray is built with AddressSanitizer: its RSS is no measure (use a release build)"
	fi
	small_tailnet
	gui_start
	gui_tray_start 1
	sleep 1
	rss=$(gui_tray_rss_kb)
	wr_log "VmRSS after start: $rss KiB"
	((rss < RSS_MAX_KB)) || wr_fail "VmRSS after start: $rss KiB, over $RSS_MAX_KB"
	# menu use: open every submenu, copy addresses, flip the exit node
	for i in 1 2 3 4 5; do
		gui_menu_dump >/dev/null || wr_fail "GetLayout failed"
		gui_menu_items "Network devices" >/dev/null
		gui_menu_items "Exit node" >/dev/null
		gui_menu_click "Network devices" n0 || wr_fail "cannot click Network devices > n0"
	done
	gui_action devices 2>/dev/null || true
	gui_action about 2>/dev/null || true
	sleep 1
	rss=$(gui_tray_rss_kb)
	wr_log "VmRSS after menu use: $rss KiB"
	((rss < RSS_MAX_KB)) || wr_fail "VmRSS after menu use: $rss KiB, over $RSS_MAX_KB"
	gui_tray_stop
}

tailnet_servers
scenario_register_retry()
{
	local items
	small_tailnet
	gui_start --refuse-first
	# gui_tray_start waits (20 s) until the watcher lists the item
	gui_tray_start 1
	grep -q "^refused $GUI_TRAY_BUS" "$GUI_DIR/watcher.log" ||
		wr_fail "the watcher did not refuse the first registration: $(cat "$GUI_DIR/watcher.log")"
	grep -q "making it again (1 of" "$GUI_DIR/tray.log" ||
		wr_fail "the tray did not say that it made its indicator again: $(tail -n 20 "$GUI_DIR/tray.log")"
	items=$(gui_menu_items | cut -f1)
	for want in Disconnect "Network devices" "Exit node" Quit; do
		grep -qxF "$want" <<<"$items" ||
			wr_fail "the menu of the indicator made again has no '$want': $(echo "$items" | tr '\n' '|')"
	done
	wr_log "refused once, registered on the second indicator; menu: $(echo "$items" | tr '\n' '|')"
	gui_tray_stop
}

"scenario_${scenario//-/_}"
tailnet_warrend_alive
tailnet_stop_all
echo "PASS: tray $scenario"
exit 0
