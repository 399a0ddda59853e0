#!/bin/sh
# check-bus-conf.sh CONF — the D-Bus policy file as dbus-daemon itself reads it: a private bus
# whose configuration includes CONF must start (dbus-daemon refuses unknown elements and
# attributes, which xmllint alone cannot know without the DTD).  Exit 77 without dbus-daemon.
set -eu
conf=$1
if ! command -v dbus-daemon >/dev/null 2>&1; then
	echo "dbus-daemon is not installed; skipping"
	exit 77
fi
work=$(mktemp -d)
pid=""
cleanup()
{
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$work</listen>
  <policy context="default"><allow user="*"/></policy>
  <include>$(realpath "$conf")</include>
</busconfig>
EOC
if ! dbus-daemon --config-file="$work/bus.conf" --fork --print-pid=3 3>"$work/pid" \
	>"$work/out" 2>&1; then
	cat "$work/out"
	exit 1
fi
pid=$(cat "$work/pid")
if [ -s "$work/out" ]; then
	cat "$work/out"
	exit 1
fi
echo "$(basename "$conf"): loaded by dbus-daemon"
