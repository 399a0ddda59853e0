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
#   services  every service by its installed unit's ExecStart line, as the unit's user, in a
#             private mount namespace (so that the programs find everything where the
#             installed files say, and the machine's files are not touched) and a network
#             namespace: a system bus from the installed bus configuration (which reads the
#             installed policy) with the real polkitd reading the installed actions,
#             warren-control on /etc/warren/control.conf, warren-derp with its credentials,
#             warrend.  Root may change settings; an unprivileged user reads the status and is
#             refused a change by polkit, in words; a pre-auth key from the admin CLI's default
#             socket signs warrend in and netcheck reaches warren-derp.  Then the tray as its
#             autostart entry starts it, on Xvfb with a StatusNotifierWatcher, under zh_CN: it
#             registers its icon (an installed one), and its menu is in the installed Chinese
#             catalogue: no schema, icon or catalogue from the build tree.  Where systemd runs,
#             warrend.service (which the package started) must be active too.
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

# unit_cmd UNIT: the installed UNIT's ExecStart line, continuation lines joined, without
# systemd's prefixes (-@:+!)
unit_cmd()
{
	awk '/^ExecStart=/ { on = 1; sub(/^ExecStart=[-@:+!]*/, "") }
		on { line = line $0; if (sub(/\\$/, "", line)) { line = line " "; next } print line; exit }' \
		"$UNIT_DIR/$1" | tr -s ' \t' '  '
}

# unit_exec UNIT: the program the installed UNIT's ExecStart line runs (unit_cmd's first word)
unit_exec()
{
	unit_cmd "$1" | awk '{ print $1; exit }'
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
#
# Everything runs in a private mount namespace (unshare): tmpfs over /run/dbus, /run/warren,
# /run/warren-control and /etc/warren, and the system trust store with the test's CA added,
# so that the programs find everything where the installed files say, and the machine's own
# files are not touched.  The daemons live in a network namespace with 192.0.2.1 on its
# loopback: warren-control on 192.0.2.1:8443, warren-derp on [::]:80, :443 and :3478,
# warrend with its TUN.

SVC_NS=
SVC_ADDR=192.0.2.1
SVC_CTL_URL=https://$SVC_ADDR:8443

_svc_has_name()
{
	gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.NameHasOwner "$1" 2>/dev/null | grep -q true
}

# svc_run USER LOG NAME VAR=VALUE...: the command line of NAME's unit in the namespace, as USER
# (root: as is) with the unit's umask and, for a user, CAP_NET_BIND_SERVICE as its unit grants
# it; VAR=VALUE are what systemd would set (STATE_DIRECTORY, …)
svc_run()
{
	local user=$1 log=$2 unit=$3 cmd
	shift 3
	cmd=$(unit_cmd "$unit")
	wr_log "$unit: ExecStart=$cmd"
	WR_LOGS+=("$log")
	local as=()
	[ "$user" = root ] || as=(setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups
		--inh-caps=+net_bind_service --ambient-caps=+net_bind_service)
	# shellcheck disable=SC2016 # the unit's line is expanded by that shell, as systemd would
	ip netns exec "$SVC_NS" env "$@" "${as[@]}" sh -c 'umask 077; exec '"$cmd" >"$log" 2>&1 </dev/null &
	wr_track $! "$unit"
}

# svc_setup: the files an administrator writes (docs/packaging.md), as README.md says
svc_setup()
{
	local d=$1 t
	for t in /run/dbus /run/warren /run/warren-control /etc/warren; do
		mount -t tmpfs -o mode=0755 warren-test "$t" || wr_fail "cannot mount a tmpfs on $t"
	done
	chown warren-control:warren-control /run/warren-control && chmod 0750 /run/warren-control ||
		wr_fail "cannot prepare /run/warren-control"
	mkdir -p "$d/control-state" "$d/derp-state" "$d/derp-creds" "$d/warrend-state" &&
		chown warren-control:warren-control "$d/control-state" &&
		chown nobody:nogroup "$d/derp-state" "$d/derp-creds" &&
		chmod 0700 "$d/control-state" "$d/derp-state" "$d/derp-creds" "$d/warrend-state" &&
		chmod 0711 "$WR_TMP" "$d" || wr_fail "cannot make the state directories"
	# TLS: a CA of the test's, trusted through the system store as an administrator would
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=Warren package test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$SVC_ADDR" \
				-keyout /etc/warren/tls.key -out "$d/tls.csr" &&
			printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$SVC_ADDR" >"$d/tls.ext" &&
			openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
				-days 2 -extfile "$d/tls.ext" -out /etc/warren/tls.pem
	} >"$d/openssl.log" 2>&1 || wr_fail "openssl: $(cat "$d/openssl.log")"
	cat /etc/ssl/certs/ca-certificates.crt "$d/ca.pem" >"$d/ca-bundle.crt" &&
		mount --bind "$d/ca-bundle.crt" /etc/ssl/certs/ca-certificates.crt ||
		wr_fail "cannot add the test's CA to the system trust store (in the namespace)"
	cp /etc/warren/tls.pem "$d/derp-creds/cert.pem" && cp /etc/warren/tls.key "$d/derp-creds/key.pem" &&
		chown nobody "$d/derp-creds/"*.pem || wr_fail "cannot hand warren-derp its credentials"
	cat >/etc/warren/derp.json <<JSON
{
  "Regions": {
    "900": { "RegionID": 900, "RegionCode": "pkg", "RegionName": "package test",
      "Nodes": [ { "Name": "900a", "RegionID": 900, "HostName": "$SVC_ADDR",
        "IPv4": "$SVC_ADDR", "IPv6": "none", "DERPPort": 80, "STUNPort": 3478,
        "InsecureForTests": true } ] }
  },
  "omitDefaultRegions": true
}
JSON
	cat >/etc/warren/control.conf <<CONF
[server]
listen = $SVC_ADDR:8443
server-url = $SVC_CTL_URL
tls-cert = /etc/warren/tls.pem
tls-key = /etc/warren/tls.key
state-dir = $d/control-state
[database]
url = sqlite://$d/control-state/control.sqlite
[network]
dns-domain = tailnet.test
derp-map = derp.json
CONF
	chown root:warren-control /etc/warren/control.conf /etc/warren/tls.key /etc/warren/derp.json &&
		chmod 0640 /etc/warren/control.conf /etc/warren/tls.key /etc/warren/derp.json ||
		wr_fail "cannot set the configuration's owner and mode"
}

# svc_start: the system bus, polkitd, warren-control, warren-derp and warrend
svc_start()
{
	local d=$WR_TMP/svc
	mkdir -p "$d" || wr_fail "cannot make $d"
	svc_setup "$d"
	SVC_NS=${WR_PREFIX}svc
	ns_new "$SVC_NS"
	ip -n "$SVC_NS" addr add "$SVC_ADDR/32" dev lo || wr_fail "cannot give the namespace $SVC_ADDR"

	# the system bus from the installed configuration (which includes system.d/ and so
	# warrend's policy), and the real polkitd reading the installed actions
	WR_LOGS+=("$d/dbus.log")
	dbus-daemon --system --nofork --nopidfile >"$d/dbus.log" 2>&1 </dev/null &
	wr_track $! "system dbus-daemon"
	wait_until 10 test -S /run/dbus/system_bus_socket || wr_fail "the system bus did not start: $(cat "$d/dbus.log")"
	[ -x /usr/lib/polkit-1/polkitd ] || wr_skip "polkitd is not installed"
	WR_LOGS+=("$d/polkitd.log")
	/usr/lib/polkit-1/polkitd --no-debug >"$d/polkitd.log" 2>&1 </dev/null &
	wr_track $! "polkitd"
	wait_until 15 _svc_has_name org.freedesktop.PolicyKit1 || wr_fail "polkitd did not start: $(cat "$d/polkitd.log")"
	pkaction --action-id io.github.warrenvpn.connect >/dev/null 2>&1 ||
		wr_fail "polkitd does not know io.github.warrenvpn.connect from the installed actions"

	# each server by its unit's command line, as its unit's user (warren-derp's is dynamic:
	# nobody here), with what systemd would set
	svc_run warren-control "$d/warren-control.log" warren-control.service
	svc_run nobody "$d/warren-derp.log" warren-derp.service STATE_DIRECTORY="$d/derp-state" \
		CREDENTIALS_DIRECTORY="$d/derp-creds" WARREN_DERP_ARGS=
	wait_until 15 test -S /run/warren-control/admin.sock ||
		wr_fail "warren-control did not start: $(cat "$d/warren-control.log")"
	wait_until 15 _svc_listening t "$SVC_ADDR:8443" || wr_fail "warren-control does not listen on $SVC_ADDR:8443"
	for l in "t [::]:80" "t [::]:443" "u [::]:3478"; do
		# shellcheck disable=SC2086 # protocol and address
		wait_until 15 _svc_listening $l || wr_fail "warren-derp does not listen on $l: $(cat "$d/warren-derp.log")"
	done
	svc_run root "$d/warrend.log" warrend.service STATE_DIRECTORY="$d/warrend-state" \
		RUNTIME_DIRECTORY=/run/warren
	wait_until 15 _svc_has_name io.github.warrenvpn.Engine1 ||
		wr_fail "warrend did not take io.github.warrenvpn.Engine1 on the system bus: $(cat "$d/warrend.log")"
}

_svc_listening()
{
	ip netns exec "$SVC_NS" ss -Hnl"$1" "src $2" 2>/dev/null | grep -q .
}

# svc_cli USER ARGS...: the installed warren as USER, on the (private) system bus
svc_cli()
{
	local user=$1
	shift
	runuser -u "$user" -- env LC_ALL=C.UTF-8 warren "$@"
}

scenario_services()
{
	local out rc nobody=nobody made=() t key
	for t in gdbus unshare setpriv openssl; do
		command -v "$t" >/dev/null 2>&1 || wr_skip "$t is not installed"
	done
	if [ -z "${WR_PKG_INNER:-}" ]; then
		# the mount points the private namespace needs; /etc/warren is the package's
		[ -d /etc/warren ] || wr_fail "/etc/warren is missing: warren-server ships it"
		for t in /run/warren /run/warren-control; do
			[ -d "$t" ] || { mkdir "$t" && made+=("$t"); }
		done
		WR_PKG_INNER=1 unshare --mount --propagation private "$0" services
		rc=$?
		for t in "${made[@]}"; do
			rmdir "$t"
		done
		exit $rc
	fi
	wr_init
	if [ -d /run/systemd/system ]; then
		# systemd runs: the package enabled and started warrend.service (what follows runs
		# another warrend, in a namespace, by the unit's line)
		systemctl is-active --quiet warrend.service ||
			wr_fail "warrend.service is not active: $(systemctl status warrend.service 2>&1 | tail -n 20)"
		wr_log "warrend.service runs (started by systemd)"
	fi
	svc_start
	wr_log "the system bus, polkitd, warren-control, warren-derp and warrend started by the installed files' command lines"

	# logged out: root may change settings (polkit lets root); anyone may read the status
	# through the installed bus policy; polkit refuses others a change, and the CLI says so
	out=$(svc_cli root status 2>&1)
	rc=$?
	((rc == 4)) || wr_fail "warren status as root: exit $rc, not 4 (logged out): $out"
	out=$(svc_cli root set --exit-node-allow-lan-access 2>&1) ||
		wr_fail "warren set as root is refused: $out"
	out=$(svc_cli "$nobody" status 2>&1)
	rc=$?
	((rc == 4)) || wr_fail "warren status as $nobody: exit $rc (the bus policy?): $out"
	out=$(svc_cli "$nobody" set --exit-node-allow-lan-access=false 2>&1) &&
		wr_fail "warren set as $nobody was allowed: $out"
	case $out in
	*"not authorized"*io.github.warrenvpn.exit-node*) wr_log "$nobody: warren set: $out" ;;
	*) wr_fail "warren set as $nobody: not refused by polkit in words: $out" ;;
	esac

	# root signs the node in with a pre-auth key from the admin CLI on its default socket
	key=$(warren-control authkeys create --tags tag:desktop 2>"$WR_TMP/authkey.err") ||
		wr_fail "warren-control authkeys create: $(cat "$WR_TMP/authkey.err")"
	out=$(svc_cli root up --login-server "$SVC_CTL_URL" --auth-key "$key" --timeout 30 2>&1) ||
		wr_fail "warren up --login-server $SVC_CTL_URL: $out"
	out=$(svc_cli root status --json 2>&1)
	"$GUI_PYTHON" -c 'import json, sys; s = json.loads(sys.argv[1]); sys.exit(s.get("state") != "Running")' "$out" ||
		wr_fail "warrend is not Running after warren up: $out"
	wr_log "signed in: $(svc_cli root ip -4 2>&1)"
	# warren-derp as the map names it: its relay and its STUN answer
	out=$(svc_cli root netcheck --json 2>&1) || wr_fail "warren netcheck: $out"
	"$GUI_PYTHON" -c '
import json, sys
n = json.loads(sys.argv[1])
ok = n.get("udp") and n.get("preferred-derp") == 900
sys.exit(0 if ok else 1)' "$out" || wr_fail "warren netcheck does not reach warren-derp's STUN and relay: $out"
	wr_log "netcheck: $(printf "%s" "$out" | tr -s " \n" "  ")"

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
		LC_ALL="$lang" LANG="$lang" \
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
	# signed in: the Disconnect item, as the installed catalogue translates it
	want=$(env LC_ALL="$lang" TEXTDOMAINDIR=/usr/share/locale gettext -d warren "Disconnect")
	[ "$want" != "Disconnect" ] || wr_fail "the installed zh_CN catalogue does not translate “Disconnect”"
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
