#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/gui.sh: the desktop around warren-tray for the GUI tests (suite `gui`), sourced
# by bash scripts after tests/lib/netns.sh (and usually natlab.sh and tailnet.sh, whose nodes'
# warrends the tray talks to).  Headless and private to the run (recipe:
# /work/shared/recipes/gui-tray.md):
#
#   gui_start [--no-watcher|--no-host|--refuse-first]
#       a private session bus (a dbus-daemon with a minimal configuration: nothing is started by
#       D-Bus activation behind the test), Xvfb on a free display (-displayfd), dunst (a real
#       notification server), and tests/lib/sni-watcher.py as the StatusNotifierWatcher
#       (--no-watcher: none; --no-host: one that says no host shows icons; --refuse-first: one
#       that refuses the first item's registration)
#   gui_tray_start N [VAR=VALUE...]
#       warren-tray against node N's warrend (tailnet_bus N), with the environment of the
#       issue (schemas and translations from the build tree, memory GSettings, X11, the
#       freedesktop notification backend); waits until it is on the session bus and, with a
#       watcher, registered; sets GUI_TRAY_PID and GUI_TRAY_BUS (its unique name)
#   gui_tray_stop                 SIGTERM to the tray and wait
#   gui_menu_dump                 the tray's menu as JSON (tests/lib/dbusmenu.py)
#   gui_menu_items LABEL...       the visible items of a submenu: label TAB enabled TAB
#                                 toggle-state TAB toggle-type
#   gui_menu_click LABEL...       a click as a panel sends it ("Exit node" "n0")
#   gui_notifications             dunst's history as JSON (dunstctl)
#   gui_window_id NAME            the X window id of the visible window titled NAME (polls 5 s)
#   gui_screenshot NAME FILE      a PNG of that window, once its first frame is drawn
#   gui_action NAME               activate the tray's application action app.NAME over D-Bus
#   gui_tray_rss_kb               the tray's VmRSS in KiB
#   gui_clipboard                 the text on the X clipboard (CLIPBOARD selection)
#
# Every process is tracked by netns.sh (wr_track), so its cleanup trap ends them all, also on
# failure; the bus socket and the logs are under $WR_TMP/gui (the logs join WR_LOGS).
# The environment names the binary: WARREN_TRAY (the meson test sets it); the build tree is
# found from it (GUI_BUILD_DIR overrides; GUI_LOCALEDIR overrides its po/ for the catalogues).  gui_need skips (exit 77) without it or the tools.
#
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are read by the scripts that source this file)

GUI_LIB_DIR=$(dirname "${BASH_SOURCE[0]}")
GUI_PYTHON=/usr/bin/python3
GUI_DIR=
GUI_TRAY_PID=
GUI_TRAY_BUS=
GUI_ITEM_PATH=/org/ayatana/NotificationItem/warren_tray
GUI_APP_ID=io.github.warrenvpn.Tray
GUI_WATCHER=

# gui_need: skip unless the tray binary and every tool of the desktop are there
gui_need()
{
	local tool
	[ -n "${WARREN_TRAY:-}" ] || wr_skip "WARREN_TRAY is unset (the meson test sets it)"
	[ -x "$WARREN_TRAY" ] || wr_skip "WARREN_TRAY=$WARREN_TRAY is not an executable"
	for tool in Xvfb dbus-daemon dunst dunstctl xdotool import gdbus; do
		command -v "$tool" >/dev/null 2>&1 || wr_skip "$tool is not installed"
	done
	"$GUI_PYTHON" -c 'import gi; from gi.repository import Gio' 2>/dev/null ||
		wr_skip "python3-gi is not installed"
	: "${GUI_BUILD_DIR:=$(cd "$(dirname "$WARREN_TRAY")/../.." && pwd)}"
	[ -f "$GUI_BUILD_DIR/data/gschemas.compiled" ] ||
		wr_skip "no compiled schemas in $GUI_BUILD_DIR/data (build first)"
}

_gui_bus_has()
{
	gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.NameHasOwner "$1" 2>/dev/null | grep -q true
}

# gui_start [--no-watcher|--no-host|--refuse-first]
gui_start()
{
	local mode=${1:-} pid
	GUI_DIR=$WR_TMP/gui
	mkdir -p "$GUI_DIR" || wr_fail "cannot make $GUI_DIR"
	wr_bus_daemon "$GUI_DIR/session.conf" "$GUI_DIR/session-bus"
	export DBUS_SESSION_BUS_ADDRESS="unix:path=$GUI_DIR/session-bus"

	# a free display, written to the pipe once Xvfb accepts clients
	WR_LOGS+=("$GUI_DIR/xvfb.log")
	Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$GUI_DIR/display" \
		>"$GUI_DIR/xvfb.log" 2>&1 </dev/null &
	pid=$!
	wr_track "$pid" "Xvfb"
	wait_until 10 test -s "$GUI_DIR/display" || wr_fail "Xvfb did not start: $(cat "$GUI_DIR/xvfb.log")"
	DISPLAY=":$(head -n 1 "$GUI_DIR/display")"
	export DISPLAY
	export NO_AT_BRIDGE=1 GDK_BACKEND=x11 GNOTIFICATION_BACKEND=freedesktop
	export GSETTINGS_BACKEND=memory
	unset GTK_USE_PORTAL

	# dunst with no user configuration: its defaults
	: >"$GUI_DIR/dunstrc"
	WR_LOGS+=("$GUI_DIR/dunst.log")
	dunst -config "$GUI_DIR/dunstrc" >"$GUI_DIR/dunst.log" 2>&1 </dev/null &
	wr_track $! "dunst"
	wait_until 10 _gui_bus_has org.freedesktop.Notifications ||
		wr_fail "dunst did not start: $(cat "$GUI_DIR/dunst.log")"

	case $mode in
	--no-watcher) GUI_WATCHER= ;;
	'' | --no-host | --refuse-first)
		WR_LOGS+=("$GUI_DIR/watcher.log")
		"$GUI_PYTHON" -u "$GUI_LIB_DIR/sni-watcher.py" ${mode:+"$mode"} >"$GUI_DIR/watcher.log" 2>&1 </dev/null &
		wr_track $! "StatusNotifierWatcher"
		wait_until 10 _gui_bus_has org.kde.StatusNotifierWatcher ||
			wr_fail "the StatusNotifierWatcher did not start: $(cat "$GUI_DIR/watcher.log")"
		GUI_WATCHER=${mode:-host}
		;;
	*) wr_fail "gui_start: unknown option $mode" ;;
	esac
	wr_log "desktop up: display $DISPLAY, session bus $DBUS_SESSION_BUS_ADDRESS, watcher ${GUI_WATCHER:-none}"
}

_gui_tray_registered()
{
	pid_alive "$GUI_TRAY_PID" || return 1
	GUI_TRAY_BUS=$(gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.GetNameOwner "$GUI_APP_ID" 2>/dev/null |
		sed -n "s/^('\(.*\)',)$/\1/p")
	[ -n "$GUI_TRAY_BUS" ] || return 1
	# the menu is exported (with or without a watcher)
	gdbus call --session --dest "$GUI_TRAY_BUS" --object-path "$GUI_ITEM_PATH" \
		--method org.freedesktop.DBus.Properties.Get org.kde.StatusNotifierItem Menu >/dev/null 2>&1 || return 1
	[ -z "$GUI_WATCHER" ] && return 0
	grep -q "^registered $GUI_TRAY_BUS$GUI_ITEM_PATH" "$GUI_DIR/watcher.log"
}

# gui_tray_start N [VAR=VALUE...]: the tray against node N's warrend
gui_tray_start()
{
	local n=$1
	shift
	WR_LOGS+=("$GUI_DIR/tray.log")
	env WARREN_BUS_ADDRESS="$(tailnet_bus "$n")" \
		GSETTINGS_SCHEMA_DIR="$GUI_BUILD_DIR/data" \
		WARREN_LOCALEDIR="${GUI_LOCALEDIR:-$GUI_BUILD_DIR/po}" \
		WARREN_ICON_DIR="$(cd "$GUI_LIB_DIR/../../icons" && pwd)" \
		G_MESSAGES_DEBUG="${GUI_TRAY_DEBUG:-WrTray WrTrayModel WrTrayMenu WrTrayStatus}" \
		ASAN_OPTIONS=detect_leaks=0 \
		"$@" "$WARREN_TRAY" >>"$GUI_DIR/tray.log" 2>&1 </dev/null &
	GUI_TRAY_PID=$!
	wr_track "$GUI_TRAY_PID" "warren-tray"
	if ! wait_until 20 _gui_tray_registered; then
		pid_alive "$GUI_TRAY_PID" || wr_fail "warren-tray exited during startup"
		wr_fail "warren-tray is not on the session bus (or not registered with the watcher) after 20 s"
	fi
	wr_log "warren-tray up as $GUI_TRAY_BUS (pid $GUI_TRAY_PID) against node $n"
}

gui_tray_stop()
{
	[ -n "$GUI_TRAY_PID" ] || return 0
	wr_kill "$GUI_TRAY_PID"
	GUI_TRAY_PID=
}

gui_menu_dump()
{
	"$GUI_PYTHON" "$GUI_LIB_DIR/dbusmenu.py" "$GUI_TRAY_BUS" "$GUI_ITEM_PATH" dump
}

gui_menu_items()
{
	"$GUI_PYTHON" "$GUI_LIB_DIR/dbusmenu.py" "$GUI_TRAY_BUS" "$GUI_ITEM_PATH" items "$@"
}

gui_menu_click()
{
	"$GUI_PYTHON" "$GUI_LIB_DIR/dbusmenu.py" "$GUI_TRAY_BUS" "$GUI_ITEM_PATH" click "$@"
}

gui_notifications()
{
	dunstctl history
}

_gui_find_window()
{
	GUI_WID=$(xdotool search --onlyvisible --name "^$1\$" 2>/dev/null | head -n 1)
	[ -n "$GUI_WID" ]
}

# gui_window_id NAME: prints the id of the visible window titled NAME (exactly)
gui_window_id()
{
	wait_until 5 _gui_find_window "$1" || return 1
	echo "$GUI_WID"
}

_gui_drawn()
{
	import -window "$1" "$2" 2>/dev/null || return 1
	[ "$(convert "$2" -format '%[fx:standard_deviation>0.01]' info: 2>/dev/null)" = 1 ]
}

# gui_screenshot NAME FILE
gui_screenshot()
{
	local wid
	wid=$(gui_window_id "$1") || return 1
	wait_until 5 _gui_drawn "$wid" "$2"
}

# gui_action NAME: app.NAME through org.gtk.Actions, as another instance would
gui_action()
{
	gdbus call --session --dest "$GUI_APP_ID" --object-path /io/github/warrenvpn/Tray \
		--method org.gtk.Actions.Activate "$1" '[]' '{}' >/dev/null
}

gui_tray_rss_kb()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$GUI_TRAY_PID/status"
}

gui_clipboard()
{
	"$GUI_PYTHON" -c '
import gi
gi.require_version("Gdk", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import Gdk, Gtk
text = Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD).wait_for_text()
print(text or "")' 2>/dev/null
}
