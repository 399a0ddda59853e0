#!/bin/sh
# warrend with real polkit: a private bus playing the system bus (DBUS_SYSTEM_BUS_ADDRESS), the
# real polkitd on it, Warren's polkit actions visible to polkitd through a bind mount in a
# private mount namespace (the machine's /usr/share/polkit-1/actions is not touched), and
# warrend without --bus, so that it asks polkit for every method.  The warren CLI and gdbus
# call it as root (polkit authorizes root) and as nobody (no session: every action needs an
# administrator, and no agent can answer, so polkit refuses).
# Usage (root): WARREND=... WARREN_CLI=... tests/integration/warrend-polkit.sh \
#   BUILD/data/io.github.warrenvpn.policy
set -u

warrend=${WARREND:?WARREND must name the warrend binary}
cli=${WARREN_CLI:?WARREN_CLI must name the warren binary}
policy=${1:?usage: warrend-polkit.sh POLICY-FILE}
policy=$(realpath "$policy")

[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
polkitd=
for p in /usr/lib/polkit-1/polkitd /usr/libexec/polkitd /usr/libexec/polkit-1/polkitd; do
	[ -x "$p" ] && polkitd=$p && break
done
[ -n "$polkitd" ] || { echo "polkitd missing: skipped"; exit 77; }
for tool in dbus-daemon gdbus unshare setpriv; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$tool missing: skipped"; exit 77; }
done

# everything else runs in a private mount namespace
if [ -z "${WR_POLKIT_INNER:-}" ]; then
	WR_POLKIT_INNER=1 exec unshare --mount --propagation private "$0" "$@"
fi

dir=$(mktemp -d)
chmod 0755 "$dir" # nobody connects to the bus socket in it
bus_pid=
polkitd_pid=
warrend_pid=
cleanup() {
	for pid in $warrend_pid $polkitd_pid $bus_pid; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	umount /usr/share/polkit-1/actions 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir "$dir/actions"
cp /usr/share/polkit-1/actions/*.policy "$dir/actions/" 2>/dev/null
cp "$policy" "$dir/actions/"
mount --bind "$dir/actions" /usr/share/polkit-1/actions || { echo "FAIL: bind mount"; exit 1; }

cat >"$dir/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOC
mkfifo "$dir/address"
dbus-daemon --config-file="$dir/bus.conf" --nofork --print-address=3 3>"$dir/address" \
	2>"$dir/bus.log" &
bus_pid=$!
read -r address <"$dir/address"
[ -n "$address" ] || { echo "FAIL: dbus-daemon gave no address"; exit 1; }
export DBUS_SYSTEM_BUS_ADDRESS="$address"
export LC_ALL=C.UTF-8

"$polkitd" --no-debug >"$dir/polkitd.log" 2>&1 &
polkitd_pid=$!
timeout 20 gdbus wait --system org.freedesktop.PolicyKit1 ||
	{ echo "FAIL: polkitd did not come up"; cat "$dir/polkitd.log"; exit 1; }

"$warrend" --no-data-plane --state-dir "$dir/state" --control-url http://127.0.0.1:9 2>"$dir/warrend.log" &
warrend_pid=$!
timeout 20 gdbus wait --system io.github.warrenvpn.Engine1 ||
	{ echo "FAIL: warrend did not come up"; cat "$dir/warrend.log"; exit 1; }

failed=0
# expect CODE PATTERN COMMAND...: exit status CODE, and PATTERN (grep -E) in stdout+stderr
expect() {
	want=$1
	pattern=$2
	shift 2
	out=$("$@" 2>&1)
	got=$?
	if [ "$got" -ne "$want" ] || ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
		echo "FAIL: $* -> exit $got (want $want), output:"
		printf '%s\n' "$out" | sed 's/^/    /'
		failed=1
	else
		echo "ok: $* -> $got"
	fi
}
nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
obj=/io/github/warrenvpn/Engine1
iface=io.github.warrenvpn.Engine1
prefs_before=$(cat "$dir/state/prefs.conf")

# reading needs no action; every change by nobody is refused by polkit and changes nothing
expect 4 'Logged out' nobody "$cli" --bus "$address" status
expect 1 'not authorized for io\.github\.warrenvpn\.disconnect' nobody "$cli" --bus "$address" down
expect 1 'not authorized for io\.github\.warrenvpn\.set-control-server' \
	nobody "$cli" --bus "$address" up --login-server http://127.0.0.1:8
expect 1 'NotAuthorized.*io\.github\.warrenvpn\.advertise-routes' \
	nobody gdbus call --system --dest "$iface" --object-path "$obj" --method "$iface.SetPrefs" \
	"{'advertise-routes': <['192.0.2.0/24']>}"
if [ "$(cat "$dir/state/prefs.conf")" != "$prefs_before" ]; then
	echo "FAIL: prefs.conf changed by refused calls"
	failed=1
fi
expect 0 'http://127\.0\.0\.1:9' gdbus call --system --dest "$iface" --object-path "$obj" \
	--method org.freedesktop.DBus.Properties.Get "$iface" ControlURL

# root is authorized: the same SetPrefs goes through and is saved
expect 0 '^\(\)$' gdbus call --system --dest "$iface" --object-path "$obj" \
	--method "$iface.SetPrefs" "{'advertise-routes': <['192.0.2.0/24']>}"
expect 0 'advertise-routes=192\.0\.2\.0/24;' cat "$dir/state/prefs.conf"
expect 0 '' "$cli" --bus "$address" down

# warrend said it asks polkit (it says so when it does not)
if grep -q 'polkit is not asked' "$dir/warrend.log"; then
	echo "FAIL: warrend did not use polkit on the system bus"
	failed=1
fi
[ $failed -eq 0 ] || { echo "warrend's log:"; sed 's/^/    /' "$dir/warrend.log"; }
exit $failed
