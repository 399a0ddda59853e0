#!/bin/bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/gui/signin.sh: signing in through the tray with a real OpenID provider and a real
# browser (issue 8, suites `gui` and `sso`; docs/tray-signin.md).
#
#   namespace   one network namespace of this run: on its loopback the test provider
#               (tests/sso/idp.mjs, panva's oidc-provider), warren-control with OIDC against it
#               (plain http, allowed on loopback), warren-derp (the DERP map's one region)
#               and warrend with a TUN, on a private bus of its own (a unix socket in
#               $WR_TMP, reachable from the desktop side)
#   desktop     tests/lib/gui.sh: Xvfb, a private session bus, dunst (the notification
#               server), a StatusNotifierWatcher, and warren-tray on warrend's bus (laid out as
#               the tailnet lab's node 1, where gui_tray_start looks); and a "browser":
#               a .desktop file that is the XDG default handler for x-scheme-handler/http and
#               https (mimeapps.list in a temporary XDG_CONFIG_HOME, the entry in
#               XDG_DATA_HOME), whose Exec writes the URL it is given to a file
#   the user    headless Chromium (tests/gui/signin-browser.mjs) in the namespace, opening the
#               URL the tray handed to the browser and signing in at the provider
#
# Sign-ins through the tray's "Sign in…" item, clicked over dbusmenu as a panel does:
#   1. bob, whose email the provider has not verified: control refuses; the tray shows its
#      error dialog (found with xdotool, screenshot in $WR_GUI_SCREENSHOTS) with control's
#      words, and warrend stays NeedsLogin
#   2. alice: cancelled once (the dialog closes, warrend keeps waiting, and "Sign in…" again
#      reopens the same page), Open Again and Copy Link (through their mnemonics), then signed
#      in: warrend reaches Running, the dialog closes, the
#      tray's icon says connected and its menu names her, and a "Signed in" notification is
#      read back from dunst (the notifier's work, issue 8)
#
# Environment (the meson test sets them): WARREND, WARREN_CONTROL, WARREN_DERP, WARREN_TRAY,
# WR_GUI_SCREENSHOTS (default $WR_TMP/screenshots).  Skips (77) without root or what it needs
# installed (tools/bootstrap).
# shellcheck disable=SC2317,SC2119 # (the predicates are called through check and wait_until;
# gui.sh's functions take optional arguments)
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
. "$here/../lib/netns.sh"
# natlab.sh and tailnet.sh for the node layout gui.sh expects (tailnet_node_dir, tailnet_bus)
# shellcheck source-path=SCRIPTDIR source=../lib/natlab.sh
. "$here/../lib/natlab.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/tailnet.sh
. "$here/../lib/tailnet.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/gui.sh
. "$here/../lib/gui.sh"

CHROMIUM=${WR_SSO_CHROMIUM:-/usr/bin/chromium}
SSO_DIR=$here/../sso
CTL_PORT=8080
IDP_PORT=5556
DERP_PORT=3340
STUN_PORT=3478
CTL_URL=http://127.0.0.1:$CTL_PORT
ENGINE_DEST=(--dest io.github.warrenvpn.Engine1 --object-path /io/github/warrenvpn/Engine1)
# the lab's client secret: a test value, never a real one
CLIENT_SECRET=signin-lab-secret

PASSED=0
FAILED=0

check()
{
	local what=$1
	shift
	if "$@"; then
		printf 'ok - %s\n' "$what"
		PASSED=$((PASSED + 1))
	else
		printf 'not ok - %s\n' "$what"
		FAILED=$((FAILED + 1))
	fi
}

need()
{
	local tool
	need_root
	for tool in node curl convert; do
		command -v "$tool" >/dev/null 2>&1 || wr_skip "$tool is not installed (tools/bootstrap)"
	done
	[ -x "$CHROMIUM" ] || wr_skip "$CHROMIUM is not installed (tools/bootstrap)"
	if [ ! -d "$SSO_DIR/node_modules/oidc-provider" ] || [ ! -d "$SSO_DIR/node_modules/playwright-core" ]; then
		wr_skip "tests/sso/node_modules is missing (tools/bootstrap runs npm ci there)"
	fi
	for var in WARREND WARREN_CONTROL WARREN_DERP WARREN_TRAY; do
		[ -n "${!var:-}" ] || wr_skip "$var is unset (the meson test sets it)"
		[ -x "${!var}" ] || wr_skip "$var=${!var} is not an executable"
	done
	gui_need
}

# ---- the namespace: provider, control, warrend ----

start_idp()
{
	local log=$WR_TMP/idp.log
	WR_LOGS+=("$log")
	ip netns exec "$NS" env IDP_PORT=$IDP_PORT IDP_REDIRECT_URIS="$CTL_URL/oidc/callback" \
		IDP_CLIENT_ID=warren-test IDP_CLIENT_SECRET="$CLIENT_SECRET" \
		node "$SSO_DIR/idp.mjs" >"$log" 2>&1 </dev/null &
	wr_track $! "the OpenID provider"
	wait_until 20 grep -q '^IDP_READY' "$log" || wr_fail "the provider did not start"
}

start_control()
{
	local d=$WR_TMP/control log=$WR_TMP/warren-control.log
	if ! mkdir -p "$d" || ! chmod 0700 "$d"; then
		wr_fail "cannot make $d"
	fi
	(umask 077 && printf '%s' "$CLIENT_SECRET" >"$d/secret") || wr_fail "cannot write the secret"
	# the relay of start_derp: without one warrend runs too, but says so in Health
	cat >"$d/derp.json" <<EOF
{ "Regions": { "1": { "RegionID": 1, "RegionCode": "lo", "RegionName": "Loopback",
  "Nodes": [ { "Name": "1a", "RegionID": 1, "HostName": "127.0.0.1", "IPv4": "127.0.0.1",
    "IPv6": "none", "DERPPort": $DERP_PORT, "STUNPort": $STUN_PORT, "InsecureForTests": true } ] } },
  "omitDefaultRegions": true }
EOF
	# alice (hd example.com, verified) may sign in; bob's email is not verified
	cat >"$d/control.conf" <<EOF
[server]
listen = 127.0.0.1:$CTL_PORT
server-url = $CTL_URL
state-dir = $d
admin-socket = $d/admin.sock
[database]
url = sqlite://$d/control.sqlite
[network]
dns-domain = tailnet.test
derp-map = derp.json
# no MagicDNS: the namespace has no resolver for warrend to configure, and says so in Health
magic-dns = false
[oidc]
issuer = http://127.0.0.1:$IDP_PORT
client-id = warren-test
client-secret-file = secret
allowed-domains = example.com
EOF
	WR_LOGS+=("$log")
	ip netns exec "$NS" env G_MESSAGES_DEBUG= "$WARREN_CONTROL" serve --config "$d/control.conf" \
		>"$log" 2>&1 </dev/null &
	wr_track $! warren-control
	wait_until 20 ip netns exec "$NS" curl -sf -o /dev/null "$CTL_URL/healthz" ||
		wr_fail "warren-control does not serve $CTL_URL"
}

derp_listening()
{
	ip netns exec "$NS" ss -Hnlt "src 127.0.0.1:$DERP_PORT" 2>/dev/null | grep -q .
}

# warren-derp on the namespace's loopback: DERP over plain http, STUN
start_derp()
{
	local log=$WR_TMP/warren-derp.log
	WR_LOGS+=("$log")
	ip netns exec "$NS" "$WARREN_DERP" --key-file "$WR_TMP/derp.key" \
		--http-listen "127.0.0.1:$DERP_PORT" --stun-listen "127.0.0.1:$STUN_PORT" \
		>"$log" 2>&1 </dev/null &
	wr_track $! warren-derp
	wait_until 10 derp_listening || wr_fail "warren-derp does not listen on 127.0.0.1:$DERP_PORT"
}


engine_prop()
{
	gdbus call --address "$ENGINE_BUS" "${ENGINE_DEST[@]}" \
		--method org.freedesktop.DBus.Properties.Get io.github.warrenvpn.Engine1 "$1" 2>/dev/null
}

engine_up()
{
	timeout 5 gdbus introspect --address "$ENGINE_BUS" "${ENGINE_DEST[@]}" >/dev/null 2>&1
}

# warrend as the tailnet lab's node 1 ($WR_TMP/node1, its bus there), which gui.sh talks to
start_warrend()
{
	local d log
	d=$(tailnet_node_dir 1)
	log=$d/warrend.log
	if ! mkdir -p "$d/state" || ! chmod 0700 "$d" "$d/state"; then
		wr_fail "cannot make $d"
	fi
	# connected before (want-running), signed out now: signing in brings the tunnel up
	printf '[prefs]\nhostname=signin\nwant-running=true\n' >"$d/state/prefs.conf"
	chmod 0600 "$d/state/prefs.conf"
	wr_bus_daemon "$d/bus.conf" "$d/bus"
	ENGINE_BUS=$(tailnet_bus 1)
	WR_LOGS+=("$log")
	ip netns exec "$NS" env G_MESSAGES_DEBUG=warrend \
		DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/warren-signin-no-system-bus \
		"$WARREND" --state-dir "$d/state" --bus "$ENGINE_BUS" --control-url "$CTL_URL" \
		--tun "${WR_PREFIX}t" --port 0 --flow-log-size 0 >"$log" 2>&1 </dev/null &
	wr_track $! warrend
	wait_until 20 engine_up || wr_fail "warrend is not on its bus"
}

# ---- the desktop (tests/lib/gui.sh) and the test's browser ----

# the browser: a .desktop file, the XDG default handler for http and https, that records the URL
start_desktop()
{
	local xdg_data=$WR_TMP/xdg-data xdg_config=$WR_TMP/xdg-config
	gui_start
	mkdir -p "$xdg_data/applications" "$xdg_config" || wr_fail "cannot make the XDG directories"
	cat >"$WR_TMP/browser.sh" <<EOF
#!/bin/sh
printf '%s\n' "\$1" >>"$WR_TMP/browser-urls"
EOF
	chmod 0755 "$WR_TMP/browser.sh"
	cat >"$xdg_data/applications/wr-test-browser.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=Warren test browser
Exec=$WR_TMP/browser.sh %u
MimeType=x-scheme-handler/http;x-scheme-handler/https;
NoDisplay=true
EOF
	cat >"$xdg_config/mimeapps.list" <<EOF
[Default Applications]
x-scheme-handler/http=wr-test-browser.desktop
x-scheme-handler/https=wr-test-browser.desktop
EOF
}

start_tray()
{
	# BROWSER=false: no real browser starts, even if GIO ignored the handler above
	GUI_TRAY_DEBUG="WrTray WrTrayModel WrTrayMenu WrTraySignin" gui_tray_start 1 \
		XDG_DATA_HOME="$WR_TMP/xdg-data" XDG_CONFIG_HOME="$WR_TMP/xdg-config" \
		XDG_CACHE_HOME="$WR_TMP/xdg-cache" BROWSER=false
}

# "Sign in…", clicked over dbusmenu as a panel does
click_sign_in()
{
	gui_menu_click 'Sign in…' ||
		wr_fail "cannot click 'Sign in…' in: $(gui_menu_items | cut -f1 | tr '\n' '|')"
}

menu_has()
{
	gui_menu_items | cut -f1 | grep -qxF -- "$1"
}

icon_is()
{
	gdbus call --session --dest "$GUI_TRAY_BUS" --object-path "$GUI_ITEM_PATH" \
		--method org.freedesktop.DBus.Properties.Get org.kde.StatusNotifierItem IconName \
		2>/dev/null | grep -qF "<'$1'>"
}

browser_urls()
{
	[ -s "$WR_TMP/browser-urls" ] && [ "$(wc -l <"$WR_TMP/browser-urls")" -ge "$1" ]
}

# the N-th URL the tray opened in the "browser"
opened_url()
{
	sed -n "${1}p" "$WR_TMP/browser-urls"
}

is_auth_url()
{
	[ "${1#"$CTL_URL"/a/}" != "$1" ] && [ -n "${1#"$CTL_URL"/a/}" ]
}

window_named()
{
	xdotool search --onlyvisible --name "^$1\$" 2>/dev/null | head -n1
}

window_shown()
{
	[ -n "$(window_named "$1")" ]
}

window_gone()
{
	[ -z "$(window_named "$1")" ]
}

# press_keys TITLE KEY...: keys typed into the window titled TITLE (focused first: there is no
# window manager)
press_keys()
{
	local wid
	wid=$(window_named "$1")
	shift
	[ -n "$wid" ] && xdotool windowfocus "$wid" && xdotool key "$@"
}

press_escape()
{
	press_keys "$1" Escape
}

# the text on the X clipboard (CLIPBOARD, as Ctrl+V pastes it) is $1
clipboard_is()
{
	[ "$("$GUI_PYTHON" -c '
import gi
gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, Gtk
print(Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD).wait_for_text() or "")' 2>>"$WR_TMP/clipboard.err")" = "$1" ]
}

# screenshot NAME TITLE: a PNG of the window titled TITLE in $WR_GUI_SCREENSHOTS
screenshot()
{
	gui_screenshot "$2" "$WR_GUI_SCREENSHOTS/$1.png" || return 1
	wr_log "screenshot $WR_GUI_SCREENSHOTS/$1.png"
}

state_is()
{
	engine_prop State | grep -q "<'$1'>"
}

auth_url_is()
{
	engine_prop AuthURL | grep -qF "<'$1'>"
}

health_has()
{
	engine_prop Health | grep -qF -- "$1"
}

health_empty()
{
	engine_prop Health | grep -qF '@as []'
}

tray_log_has()
{
	grep -qF -- "$1" "$GUI_DIR/tray.log"
}

# dunst's history: every summary and body, one a line (gathered: dunst keeps 20)
notified()
{
	gui_notifications 2>/dev/null | "$GUI_PYTHON" -c '
import json, sys
for group in json.load(sys.stdin)["data"]:
    for n in group:
        print(n["summary"]["data"], "|", n["body"]["data"])
' >>"$WR_TMP/notifications.txt" 2>/dev/null
	grep -q "$1" "$WR_TMP/notifications.txt"
}

# ---- the run ----

need
# the run's directory under one of this test's own: something on the shared machines sweeps
# /tmp/warren-netns.* directories, and took this run's (sockets, logs) while it ran
if [ -z "${TMPDIR:-}" ]; then
	TMPDIR=/tmp/warren-gui-signin
	if ! mkdir -p "$TMPDIR" || ! chmod 0700 "$TMPDIR"; then
		wr_skip "cannot make $TMPDIR"
	fi
	export TMPDIR
fi
wr_init
: "${WR_GUI_SCREENSHOTS:=$WR_TMP/screenshots}"
mkdir -p "$WR_GUI_SCREENSHOTS" || wr_fail "cannot make $WR_GUI_SCREENSHOTS"
NS=${WR_PREFIX}s
ns_new "$NS"
start_idp
start_derp
start_control
start_warrend
check "warrend starts signed out" state_is NeedsLogin
start_desktop
start_tray
check "the tray's icon says signed out" wait_until 10 icon_is warren-signed-out-symbolic
check "the tray's menu offers 'Sign in…'" wait_until 10 menu_has 'Sign in…'

# 1. bob: control refuses, the tray says why
click_sign_in
check "the tray opens an auth URL in the XDG default browser" wait_until 20 browser_urls 1
url=$(opened_url 1)
check "the URL is control's sign-in page ($url)" is_auth_url "$url"
check "the dialog waits for the browser" wait_until 10 window_shown 'Sign in to Warren'
check "a screenshot of the waiting dialog" screenshot signin-waiting 'Sign in to Warren'
ip netns exec "$NS" node "$here/signin-browser.mjs" "$url" bob@example.net \
	"$WR_GUI_SCREENSHOTS/signin-browser-refused.png" >"$WR_TMP/browser-bob.out" 2>&1
page=$(grep '^PAGE ' "$WR_TMP/browser-bob.out")
check "control's page refuses bob (${page:-no page: $(tail -n 3 "$WR_TMP/browser-bob.out")})" \
	grep -q '"id":"wr-sign-in-failed"' <<<"$page"
check "warrend reports the refusal in Health" wait_until 20 health_has 'sign-in failed (ControlError)'
check "the tray shows its error dialog" wait_until 20 window_shown 'Sign-in Failed'
check "a screenshot of the error dialog" screenshot signin-error 'Sign-in Failed'
check "the error shown carries control's words" \
	tray_log_has 'the identity provider has not verified the email address bob@example.net'
check "warrend is still signed out" state_is NeedsLogin
press_escape 'Sign-in Failed'
check "Escape closes the error dialog" wait_until 10 window_gone 'Sign-in Failed'

# 2. alice: cancelled once, then signed in, connected, notified
click_sign_in
check "a second sign-in opens a new auth URL" wait_until 20 browser_urls 2
url=$(opened_url 2)
check "a new URL ($url)" is_auth_url "$url"
check "not the first one" [ "$url" != "$(opened_url 1)" ]
check "the dialog waits again" wait_until 10 window_shown 'Sign in to Warren'
check "the old failure left Health" wait_until 10 eval '! health_has "sign-in failed"'
# Cancel (Escape) only closes the dialog: warrend's sign-in goes on, so "Sign in…" again is
# answered Busy and reopens the same page (docs/tray-signin.md)
press_escape 'Sign in to Warren'
check "Escape cancels the waiting dialog" wait_until 10 window_gone 'Sign in to Warren'
check "warrend still waits for the browser" auth_url_is "$url"
click_sign_in
check "signing in again reopens the page of the sign-in under way" wait_until 20 browser_urls 3
check "the same URL" [ "$(opened_url 3)" = "$url" ]
check "the dialog waits again" wait_until 10 window_shown 'Sign in to Warren'
press_keys 'Sign in to Warren' alt+o
check "Open Again opens the page again" wait_until 10 browser_urls 4
check "the same page" [ "$(opened_url 4)" = "$url" ]
press_keys 'Sign in to Warren' alt+l
check "Copy Link puts the link on the clipboard" wait_until 10 clipboard_is "$url"
ip netns exec "$NS" node "$here/signin-browser.mjs" "$url" alice@example.com \
	"$WR_GUI_SCREENSHOTS/signin-browser-signed-in.png" >"$WR_TMP/browser-alice.out" 2>&1
page=$(grep '^PAGE ' "$WR_TMP/browser-alice.out")
check "control's page says alice is signed in (${page:-no page: $(tail -n 3 "$WR_TMP/browser-alice.out")})" \
	grep -q '"id":"wr-signed-in"' <<<"$page"
check "warrend is Running" wait_until 30 state_is Running
check "with nothing wrong in Health" wait_until 20 health_empty
check "the dialog closes" wait_until 10 window_gone 'Sign in to Warren'
check "the tray's icon says connected" wait_until 10 icon_is warren-connected-symbolic
check "the tray's menu names alice" wait_until 10 eval 'gui_menu_dump | grep -qF alice@example.com'
check "the tray's menu offers 'Sign in…' no more" wait_until 10 eval "! menu_has 'Sign in…'"
check "a 'Signed in' notification reaches the notification server" wait_until 15 notified 'Signed in'
check "the tray is still running" pid_alive "$GUI_TRAY_PID"
check "no warning or critical in the tray's log" eval "! grep -E 'WARNING|CRITICAL' '$GUI_DIR/tray.log'"

printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
if [ "$FAILED" -ne 0 ]; then
	wr_dump_logs
	printf '# ---- notifications ----\n'
	sed 's/^/#   /' "$WR_TMP/notifications.txt" 2>/dev/null
	exit 1
fi
exit 0
