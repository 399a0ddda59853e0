#!/usr/bin/python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/sni-watcher.py: a minimal org.kde.StatusNotifierWatcher on the session bus, for
# the GUI tests (tests/lib/gui.sh): what a desktop's panel provides, without a panel.  Items
# register with their object path only (libayatana-appindicator does), so the sender's bus name
# is taken from the message; an item is dropped when its owner leaves the bus.
#
#   sni-watcher.py [--no-host] [--refuse-first]
#
# --no-host: IsStatusNotifierHostRegistered is false (a watcher without a panel that shows
# icons), so the tray must show its status window.
# --refuse-first: the first RegisterStatusNotifierItem gets an error (prints "refused BUS/PATH"),
# which leaves an indicator unregistered as libayatana-appindicator's start-up race does
# (app/tray/wr-tray-indicator.c): the tray must make its indicator again.
# Prints "registered BUS/PATH" lines on stdout as items come and go.

import sys

from gi.repository import Gio, GLib

XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""
IFACE = "org.kde.StatusNotifierWatcher"
PATH = "/StatusNotifierWatcher"

host = "--no-host" not in sys.argv[1:]
refuse = "--refuse-first" in sys.argv[1:]
items = {}  # "BUS/PATH" -> watch id
loop = GLib.MainLoop()
conn = None


def emit(signal, params):
    conn.emit_signal(None, PATH, IFACE, signal, params)


def changed():
    conn.emit_signal(None, PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                     GLib.Variant("(sa{sv}as)", (IFACE, {
                         "RegisteredStatusNotifierItems": GLib.Variant("as", list(items))}, [])))


def vanished(_conn, name):
    for key in [k for k in items if k.split("/", 1)[0] == name]:
        Gio.bus_unwatch_name(items.pop(key))
        print("unregistered", key, flush=True)
        emit("StatusNotifierItemUnregistered", GLib.Variant("(s)", (key,)))
        changed()


def method_call(_conn, sender, _path, _iface, method, params, invocation):
    arg = params.unpack()[0]
    if method == "RegisterStatusNotifierItem":
        # a path (ayatana) or a bus name (others)
        key = sender + arg if arg.startswith("/") else arg + "/StatusNotifierItem"
        owner = key.split("/", 1)[0]
        global refuse
        if refuse:
            refuse = False
            print("refused", key, flush=True)
            invocation.return_dbus_error("org.freedesktop.DBus.Error.Failed",
                                         "refused for the test (--refuse-first)")
            return
        if key not in items:
            items[key] = Gio.bus_watch_name_on_connection(
                conn, owner, Gio.BusNameWatcherFlags.NONE, None, vanished)
            print("registered", key, flush=True)
            emit("StatusNotifierItemRegistered", GLib.Variant("(s)", (key,)))
            changed()
        invocation.return_value(None)
    elif method == "RegisterStatusNotifierHost":
        invocation.return_value(None)
    else:
        invocation.return_dbus_error("org.freedesktop.DBus.Error.UnknownMethod", method)


def get_property(_conn, _sender, _path, _iface, name):
    if name == "RegisteredStatusNotifierItems":
        return GLib.Variant("as", list(items))
    if name == "IsStatusNotifierHostRegistered":
        return GLib.Variant("b", host)
    if name == "ProtocolVersion":
        return GLib.Variant("i", 0)
    return None


def bus_acquired(c, _name):
    global conn
    conn = c
    info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]
    c.register_object(PATH, info, method_call, get_property, None)


def name_lost(_conn, _name):
    print("cannot own", IFACE, file=sys.stderr, flush=True)
    loop.quit()


Gio.bus_own_name(Gio.BusType.SESSION, IFACE, Gio.BusNameOwnerFlags.NONE, bus_acquired,
                 None, name_lost)
loop.run()
sys.exit(1)
