#!/usr/bin/env bash
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/package/installed.sh SCENARIO — Warren as its Debian packages install it, tested
# through the installed files only (suite `package`; docs/packaging.md).  tools/test builds
# the packages of this tree (tools/build-debs), installs them, runs this suite and removes
# them again.  Skips (77) unless warren and warren-server of this tree's version
# (debian/changelog) are installed, and without root.
#
#   files     every installed file is valid where its users read it: each program runs and
#             has a man page that renders without a warning; the desktop entries, AppStream
#             metadata, GSettings schema (compiled by dpkg's trigger), D-Bus policy and
#             activation file, polkit actions and systemd units pass their validators and
#             name programs, icons and units that are installed; the icons are the tree's;
#             the service user exists; the translations are installed and the installed CLI
#             speaks Chinese.
#   services  warrend started by its unit: where systemd runs, by systemd (the package
#             enabled and started it); elsewhere by the unit's own ExecStart line, in a
#             network namespace, on a system bus run from the installed bus configuration
#             (/usr/share/dbus-1/system.conf, which reads the installed policy), with the
#             real polkitd reading the installed actions.  Root may connect; an unprivileged
#             user reads the status and is refused a change by polkit, in words.  Then the
#             tray as its autostart entry starts it, on Xvfb with a StatusNotifierWatcher,
#             under zh_CN: it registers its icon (an installed one), and its menu is in the
#             installed Chinese catalogue: no schema, icon or catalogue from the build tree.
#   lintian   the .deb files in $WR_DEB_DIR (tools/test sets it) pass lintian with no error
#             and no warning
#   demo      tools/demo's smoke test (the tailnet in a box: sign-in in Chromium, direct and
#             relayed pings, an exit node, a node down and up) with the installed programs,
#             each found where the installed unit's ExecStart line names it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib/netns.sh
. "$top/tests/lib/netns.sh"

scenario=${1:-}
case $scenario in
files | services | lintian | demo) ;;
*)
	echo "usage: installed.sh files|services|lintian|demo" >&2
	exit 2
	;;
esac

[ "$(id -u)" = 0 ] || wr_skip "not root"
command -v dpkg-query >/dev/null 2>&1 || wr_skip "not a Debian system (no dpkg-query)"
version=$(cd "$top" && dpkg-parsechangelog -S Version 2>/dev/null) ||
	wr_skip "dpkg-parsechangelog is missing (dpkg-dev)"
for pkg in warren warren-server; do
	have=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$pkg" 2>/dev/null)
	[ "$have" = "installed $version" ] ||
		wr_skip "$pkg $version is not installed (${have:-not installed}; tools/test builds and installs it)"
done

UNIT_DIR=/lib/systemd/system
GUI_PYTHON=/usr/bin/python3
failures=0

# problem TEXT: one more thing wrong (the files scenario reports them all, then fails)
problem()
{
	echo "not ok: $*"
	failures=$((failures + 1))
}

ok()
{
	echo "ok: $*"
}

# unit_exec UNIT: the program the installed UNIT's ExecStart line runs
unit_exec()
{
	sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$UNIT_DIR/$1" | head -n 1
}

# ---------------------------------------------------------------------------------------------
# files

# the programs and the section of their man pages
declare -A MAN_SECTION=([warren]=1 [warren-tray]=1 [warrend]=8 [warren-wg]=8
	[warren-control]=8 [warren-derp]=8)

check_programs()
{
	local path name page err out
	while read -r path; do
		name=$(basename "$path")
		[ -x "$path" ] || problem "$path is not executable"
		[ -n "${MAN_SECTION[$name]:-}" ] || {
			problem "$path is installed but this test does not know it (add it to MAN_SECTION)"
			continue
		}
		if ! "$path" --help >/dev/null 2>&1; then
			problem "$path --help fails: $("$path" --help 2>&1 | head -n 3)"
		fi
		case $name in
		warren) out="warren $("$path" version 2>&1)" ;;
		warren-tray) out="$name $version" ;; # a GtkApplication: no options of its own
		*) out=$("$path" --version 2>&1) ;;
		esac
		[ "$out" = "$name $version" ] || problem "$name's version is '$out', not '$name $version'"
		page=$(man -w "${MAN_SECTION[$name]}" "$name" 2>/dev/null)
		if [ "$page" != "/usr/share/man/man${MAN_SECTION[$name]}/$name.${MAN_SECTION[$name]}.gz" ]; then
			problem "man ${MAN_SECTION[$name]} $name finds '${page:-nothing}', not the installed page"
			continue
		fi
		err=$(zcat "$page" | groff -man -Tutf8 -ww -z 2>&1)
		[ -z "$err" ] || problem "$page: groff warns: $err"
	done < <(dpkg -L warren warren-server | grep -E '^/usr/s?bin/.')
	for name in "${!MAN_SECTION[@]}"; do
		command -v "$name" >/dev/null 2>&1 || problem "$name is not installed"
	done
	ok "programs: each runs --help and has its man page, rendered without a warning"
}

# icon_installed NAME: NAME is an icon of the installed hicolor theme
icon_installed()
{
	compgen -G "/usr/share/icons/hicolor/*/*/$1.*" >/dev/null
}

check_desktop()
{
	local f exe icon id
	for f in /usr/share/applications/io.github.warrenvpn.Tray.desktop \
		/etc/xdg/autostart/io.github.warrenvpn.Tray.desktop; do
		[ -f "$f" ] || {
			problem "$f is not installed"
			continue
		}
		desktop-file-validate "$f" >"$WR_TMP/dfv" 2>&1 || problem "$f: $(cat "$WR_TMP/dfv")"
		exe=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$f")
		[ "$(command -v "$exe")" = /usr/bin/warren-tray ] ||
			problem "$f: Exec=$exe is not the installed warren-tray"
		icon=$(sed -n 's/^Icon=//p' "$f")
		icon_installed "$icon" || problem "$f: Icon=$icon is not an installed icon"
	done
	f=/usr/share/metainfo/io.github.warrenvpn.Tray.metainfo.xml
	appstreamcli validate --no-net "$f" >"$WR_TMP/as" 2>&1 || problem "$f: $(cat "$WR_TMP/as")"
	id=$(sed -n 's|.*<launchable type="desktop-id">\(.*\)</launchable>.*|\1|p' "$f")
	[ -f "/usr/share/applications/$id" ] || problem "$f: launchable $id is not installed"
	# the tree's icons, every one, as they are in the tree
	while read -r icon; do
		cmp -s "$top/icons/hicolor/$icon" "/usr/share/icons/hicolor/$icon" ||
			problem "icon $icon is not installed as it is in icons/hicolor"
	done < <(cd "$top/icons/hicolor" && find . -type f -name '*.svg' | sed 's|^\./||')
	ok "desktop entries, AppStream metadata and icons"
}

check_gsettings()
{
	local s=io.github.warrenvpn.Tray
	mkdir -p "$WR_TMP/schemas"
	cp "/usr/share/glib-2.0/schemas/$s.gschema.xml" "$WR_TMP/schemas/" || problem "$s.gschema.xml is not installed"
	glib-compile-schemas --strict --dry-run "$WR_TMP/schemas" >"$WR_TMP/gcs" 2>&1 ||
		problem "$s.gschema.xml: $(cat "$WR_TMP/gcs")"
	# dpkg's trigger compiled it with the others: what the tray finds at run time
	env -u GSETTINGS_SCHEMA_DIR gsettings list-schemas | grep -qx "$s" ||
		problem "$s is not in the system's compiled schemas (libglib2.0-0's trigger)"
	env -u GSETTINGS_SCHEMA_DIR GSETTINGS_BACKEND=memory gsettings get "$s" coalesce-seconds >/dev/null 2>&1 ||
		problem "gsettings cannot read $s coalesce-seconds"
	ok "GSettings schema valid (--strict) and compiled into the system's schemas"
}

check_dbus_polkit()
{
	local conf=/usr/share/dbus-1/system.d/io.github.warrenvpn.Engine1.conf
	local act=/usr/share/dbus-1/system-services/io.github.warrenvpn.Engine1.service
	local iface=/usr/share/dbus-1/interfaces/io.github.warrenvpn.Engine1.xml
	local pol=/usr/share/polkit-1/actions/io.github.warrenvpn.policy
	local dtd unit
	# well-formed, and read by dbus-daemon itself (Debian's busconfig.dtd is older than the
	# attributes every policy uses: dbus-daemon is the validator that counts)
	xmllint --noout "$conf" >"$WR_TMP/x" 2>&1 || problem "$conf: $(cat "$WR_TMP/x")"
	"$top/data/check-bus-conf.sh" "$conf" >"$WR_TMP/x" 2>&1 || problem "$conf: $(cat "$WR_TMP/x")"
	dtd=/usr/share/xml/dbus-1/introspect.dtd
	xmllint --noout $([ -f "$dtd" ] && echo --dtdvalid "$dtd") "$iface" >"$WR_TMP/x" 2>&1 ||
		problem "$iface: $(cat "$WR_TMP/x")"
	dtd=/usr/share/polkit-1/policyconfig-1.dtd
	xmllint --noout $([ -f "$dtd" ] && echo --dtdvalid "$dtd") "$pol" >"$WR_TMP/x" 2>&1 ||
		problem "$pol: $(cat "$WR_TMP/x")"
	grep -qx 'Name=io.github.warrenvpn.Engine1' "$act" || problem "$act: not for io.github.warrenvpn.Engine1"
	unit=$(sed -n 's/^SystemdService=//p' "$act")
	[ -f "$UNIT_DIR/$unit" ] || problem "$act: SystemdService=$unit is not an installed unit"
	grep -qx 'BusName=io.github.warrenvpn.Engine1' "$UNIT_DIR/$unit" ||
		problem "$UNIT_DIR/$unit does not take the bus name it is activated for"
	ok "D-Bus policy, activation file, interface and polkit actions"
}

check_units()
{
	local unit exe
	for unit in warrend.service warren-control.service warren-derp.service; do
		[ -f "$UNIT_DIR/$unit" ] || {
			problem "$UNIT_DIR/$unit is not installed"
			continue
		}
		exe=$(unit_exec "$unit")
		[ -x "$exe" ] || problem "$unit: ExecStart names $exe, which is not installed"
		"$top/data/check-unit.sh" "$UNIT_DIR/$unit" >"$WR_TMP/u" 2>&1
		case $? in
		0 | 77) ;;
		*) problem "$unit: $(cat "$WR_TMP/u")" ;;
		esac
	done
	# the server's user, made by the package from its sysusers.d file
	getent passwd warren-control >/dev/null || problem "the user warren-control was not created"
	getent group warren-control >/dev/null || problem "the group warren-control was not created"
	ok "systemd units (systemd-analyze verify) and the service user"
}

check_translations()
{
	local lang out expected
	while read -r lang; do
		[ -f "/usr/share/locale/$lang/LC_MESSAGES/warren.mo" ] ||
			problem "the $lang catalogue is not installed"
	done < <(grep -v '^#' "$top/po/LINGUAS" | tr ' ' '\n' | grep .)
	# the installed CLI, in Chinese, from the installed catalogue (no WARREN_LOCALEDIR): its
	# error for an unknown command, as gettext(1) reads the installed catalogue
	lang=zh_CN.UTF-8
	locale -a 2>/dev/null | grep -qix 'zh_CN.utf8' || localedef -i zh_CN -f UTF-8 "$lang" 2>/dev/null ||
		lang=C.UTF-8
	# shellcheck disable=SC2059 # the catalogue's format string, as the CLI uses it
	expected="warren: $(printf "$(env LC_ALL="$lang" LANGUAGE=zh_CN TEXTDOMAINDIR=/usr/share/locale \
		gettext -d warren 'unknown command “%s”')" frobnicate)"
	out=$(env -u WARREN_LOCALEDIR LC_ALL="$lang" LANGUAGE=zh_CN warren frobnicate 2>&1 | head -n 1)
	case $expected in
	*[一-龥]*) ;;
	*) problem "the installed zh_CN catalogue does not translate “unknown command”: $expected" ;;
	esac
	[ "$out" = "$expected" ] || problem "the installed warren under zh_CN says '$out', not '$expected'"
	ok "translations installed; the CLI speaks Chinese: $out"
}

scenario_files()
{
	local out
	wr_init
	out=$(dpkg --verify warren warren-server 2>&1)
	[ -z "$out" ] || problem "dpkg --verify: $out"
	check_programs
	check_desktop
	check_gsettings
	check_dbus_polkit
	check_units
	check_translations
	((failures == 0)) || wr_fail "$failures problems with the installed files"
}

# ---------------------------------------------------------------------------------------------
# services

SVC_BUS=
SVC_NS=

_svc_has_name()
{
	env DBUS_SYSTEM_BUS_ADDRESS="$SVC_BUS" gdbus call --system --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus --method org.freedesktop.DBus.NameHasOwner "$1" \
		2>/dev/null | grep -q true
}

# svc_start_private: the system bus, polkitd and warrend as the installed files start them,
# where systemd does not run
svc_start_private()
{
	local d=$WR_TMP/system exe cmd
	# the bus socket is reached by every user, as /run/dbus is
	mkdir -p "$d/state" "$d/run" && chmod 0711 "$WR_TMP" && chmod 0755 "$d" &&
		chmod 0700 "$d/state" || wr_fail "cannot make $d"
	SVC_BUS=unix:path=$d/system_bus_socket
	# the installed system bus configuration (it includes system.d/, with warrend's policy);
	# only the address is this run's
	WR_LOGS+=("$d/dbus.log")
	dbus-daemon --config-file=/usr/share/dbus-1/system.conf --address="$SVC_BUS" --nofork \
		--nopidfile >"$d/dbus.log" 2>&1 </dev/null &
	wr_track $! "system dbus-daemon"
	WR_SOCKS+=("$d/system_bus_socket")
	wait_until 10 test -S "$d/system_bus_socket" || wr_fail "the system bus did not start: $(cat "$d/dbus.log")"
	[ -x /usr/lib/polkit-1/polkitd ] || wr_skip "polkitd is not installed"
	WR_LOGS+=("$d/polkitd.log")
	DBUS_SYSTEM_BUS_ADDRESS=$SVC_BUS /usr/lib/polkit-1/polkitd --no-debug >"$d/polkitd.log" 2>&1 </dev/null &
	wr_track $! "polkitd"
	wait_until 15 _svc_has_name org.freedesktop.PolicyKit1 || wr_fail "polkitd did not start: $(cat "$d/polkitd.log")"
	DBUS_SYSTEM_BUS_ADDRESS=$SVC_BUS pkaction --action-id io.github.warrenvpn.connect >/dev/null 2>&1 ||
		wr_fail "polkitd does not know io.github.warrenvpn.connect from the installed actions"

	# warrend by its unit's command line, as systemd would run it: ${STATE_DIRECTORY} and
	# ${RUNTIME_DIRECTORY} set, in a network namespace of its own (it makes a TUN, routes and
	# firewall rules)
	exe=$(unit_exec warrend.service)
	cmd=$(sed -n 's/^ExecStart=[-@:+!]*//p' "$UNIT_DIR/warrend.service" | head -n 1)
	[ -x "$exe" ] || wr_fail "warrend.service runs $exe, which is not installed"
	SVC_NS=${WR_PREFIX}svc
	ns_new "$SVC_NS"
	wr_log "warrend.service: ExecStart=$cmd"
	WR_LOGS+=("$d/warrend.log")
	# shellcheck disable=SC2086 # the unit's line, split into words as systemd splits it here
	ip netns exec "$SVC_NS" env STATE_DIRECTORY="$d/state" RUNTIME_DIRECTORY="$d/run" \
		DBUS_SYSTEM_BUS_ADDRESS="$SVC_BUS" sh -c "exec $cmd" >"$d/warrend.log" 2>&1 </dev/null &
	wr_track $! "warrend"
	wait_until 15 _svc_has_name io.github.warrenvpn.Engine1 ||
		wr_fail "warrend did not take io.github.warrenvpn.Engine1 on the system bus: $(cat "$d/warrend.log")"
}

# svc_cli USER ARGS...: the installed warren as USER, on the system bus of the run
svc_cli()
{
	local user=$1
	shift
	runuser -u "$user" -- env DBUS_SYSTEM_BUS_ADDRESS="$SVC_BUS" LC_ALL=C.UTF-8 warren "$@"
}

scenario_services()
{
	local out rc nobody=nobody
	command -v gdbus >/dev/null 2>&1 || wr_skip "gdbus is not installed"
	wr_init
	if [ -d /run/systemd/system ]; then
		# systemd runs: the package enabled and started warrend.service
		systemctl start warrend.service || wr_fail "systemctl start warrend.service failed"
		SVC_BUS=unix:path=/run/dbus/system_bus_socket
		wait_until 15 _svc_has_name io.github.warrenvpn.Engine1 ||
			wr_fail "warrend.service is not on the system bus: $(systemctl status warrend.service 2>&1 | tail -n 20)"
		wr_log "warrend started by systemd"
	else
		svc_start_private
		wr_log "systemd does not run here: the system bus, polkitd and warrend started by the installed files' command lines"
	fi

	# root asks; polkit lets root change things (the error is warrend's, not polkit's)
	out=$(svc_cli root status 2>&1)
	rc=$?
	((rc == 4)) || wr_fail "warren status as root: exit $rc, not 4 (logged out): $out"
	wr_log "root: warren status: $out"
	out=$(svc_cli root set --exit-node-allow-lan-access 2>&1) ||
		wr_fail "warren set as root is refused: $out"
	# anyone may read the status through the installed bus policy ...
	out=$(svc_cli "$nobody" status 2>&1)
	rc=$?
	((rc == 4)) || wr_fail "warren status as $nobody: exit $rc (the bus policy?): $out"
	# ... and polkit refuses them a change, which the CLI says
	out=$(svc_cli "$nobody" set --exit-node-allow-lan-access=false 2>&1) &&
		wr_fail "warren set as $nobody was allowed: $out"
	case $out in
	*"not authorized"*io.github.warrenvpn.exit-node*) wr_log "$nobody: warren set: $out" ;;
	*) wr_fail "warren set as $nobody: not refused by polkit in words: $out" ;;
	esac

	svc_tray
}

# svc_tray: the installed tray, as its autostart entry starts it, under zh_CN
svc_tray()
{
	local exe lang=zh_CN.UTF-8 icon items want
	# shellcheck source=tests/lib/gui.sh
	. "$top/tests/lib/gui.sh"
	for tool in Xvfb dunst dunstctl xdotool import; do
		command -v "$tool" >/dev/null 2>&1 || wr_skip "$tool is not installed (the tray's part)"
	done
	locale -a 2>/dev/null | grep -qix 'zh_CN.utf8' || localedef -i zh_CN -f UTF-8 "$lang" 2>/dev/null ||
		wr_skip "no zh_CN.UTF-8 locale and localedef cannot make it"
	exe=$(sed -n 's/^Exec=//p' /etc/xdg/autostart/io.github.warrenvpn.Tray.desktop)
	gui_start
	WR_LOGS+=("$GUI_DIR/tray.log")
	# nothing from the build tree: no GSETTINGS_SCHEMA_DIR, WARREN_LOCALEDIR, WARREN_ICON_DIR
	# shellcheck disable=SC2086 # the entry's Exec line, split into words
	env -u GSETTINGS_SCHEMA_DIR -u WARREN_LOCALEDIR -u WARREN_ICON_DIR -u WARREN_BUS_ADDRESS \
		DBUS_SYSTEM_BUS_ADDRESS="$SVC_BUS" LC_ALL="$lang" LANG="$lang" \
		$exe >"$GUI_DIR/tray.log" 2>&1 </dev/null &
	GUI_TRAY_PID=$!
	wr_track "$GUI_TRAY_PID" "warren-tray"
	wait_until 20 _gui_tray_registered ||
		wr_fail "the installed warren-tray did not register its icon: $(tail -n 20 "$GUI_DIR/tray.log")"
	icon=$(gdbus call --session --dest "$GUI_TRAY_BUS" --object-path "$GUI_ITEM_PATH" \
		--method org.freedesktop.DBus.Properties.Get org.kde.StatusNotifierItem IconName |
		sed -n "s/^(<'\(.*\)'>,)$/\1/p")
	icon_installed "$icon" || wr_fail "the tray shows the icon '$icon', which is not installed"
	wr_log "the tray registered with the icon $icon (installed)"
	# the sign-in item, as the installed catalogue translates it
	want=$(env LC_ALL="$lang" TEXTDOMAINDIR=/usr/share/locale gettext -d warren "Sign in…")
	[ "$want" != "Sign in…" ] || wr_fail "the installed zh_CN catalogue does not translate “Sign in…”"
	wait_until 10 _svc_menu_has "$want" || {
		items=$(gui_menu_items | cut -f1 | tr '\n' '|')
		wr_fail "the tray's menu has no '$want' (installed zh_CN): $items"
	}
	wr_log "the tray's menu, in the installed Chinese: $(gui_menu_items | cut -f1 | tr '\n' '|')"
	gui_tray_stop
}

_svc_menu_has()
{
	gui_menu_items | cut -f1 | grep -qxF "$1"
}

# ---------------------------------------------------------------------------------------------
# lintian

scenario_lintian()
{
	local arch debs=() out rc
	command -v lintian >/dev/null 2>&1 || wr_skip "lintian is not installed"
	[ -n "${WR_DEB_DIR:-}" ] || wr_skip "WR_DEB_DIR is unset (tools/test sets it to the packages it built)"
	arch=$(dpkg --print-architecture)
	for pkg in warren warren-server; do
		debs+=("$WR_DEB_DIR/${pkg}_${version}_$arch.deb")
		[ -f "${debs[-1]}" ] || wr_fail "${debs[-1]} is missing"
	done
	# lintian warns when it runs as root, which CI is: that line is no finding
	out=$(lintian --fail-on error,warning --tag-display-limit 0 --info "${debs[@]}" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v 'running with root privileges is not recommended'
	((rc == 0)) || wr_fail "lintian found errors or warnings in the packages"
	ok "lintian: no error, no warning"
}

# ---------------------------------------------------------------------------------------------
# demo

scenario_demo()
{
	local cli
	cli=$(command -v warren) || wr_fail "warren is not installed"
	[ "$cli" = /usr/bin/warren ] || wr_fail "warren is $cli, not the installed /usr/bin/warren"
	WARREND=$(unit_exec warrend.service)
	WARREN_CONTROL=$(unit_exec warren-control.service)
	WARREN_DERP=$(unit_exec warren-derp.service)
	WARREN_CLI=$cli
	export WARREND WARREN_CONTROL WARREN_DERP WARREN_CLI
	echo "# the installed programs: $WARREND $WARREN_CLI $WARREN_CONTROL $WARREN_DERP"
	exec "$top/tools/demo" --no-gui --isolated --smoke
}

"scenario_$scenario"
