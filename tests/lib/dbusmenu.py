#!/usr/bin/python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/dbusmenu.py: reads and clicks the menu that a StatusNotifierItem exports with
# com.canonical.dbusmenu, as a panel would, for the GUI tests (tests/lib/gui.sh).
#
#   dbusmenu.py BUS ITEM_PATH dump             the layout as JSON (below)
#   dbusmenu.py BUS ITEM_PATH items LABEL...   the visible items of that submenu, one a line:
#                                              label TAB enabled (1, 0) TAB toggle-state (1,
#                                              0, -1) TAB toggle-type ("radio", "checkmark", "")
#   dbusmenu.py BUS ITEM_PATH click LABEL...   AboutToShow on each submenu on the way, then
#                                              Event "clicked" on the item; LABELs are the
#                                              path of labels from the top ("Exit node" "n0")
#
# BUS: the item's unique or well-known name; ITEM_PATH: the StatusNotifierItem's object path
# (its Menu property names the menu).  A LABEL matches an item whose label, with mnemonics
# removed, is LABEL or starts with "LABEL — " (a device line "n1 — direct").
# JSON of an item: {"id", "label" (mnemonics removed), "raw-label", "type", "enabled",
# "visible", "toggle-type", "toggle-state", "children"} with dbusmenu's defaults filled in.

import json
import sys

from gi.repository import Gio, GLib


def unmnemonic(label):
    out, i = [], 0
    while i < len(label):
        if label[i] == "_":
            if i + 1 < len(label) and label[i + 1] == "_":
                out.append("_")
                i += 2
                continue
            i += 1
            continue
        out.append(label[i])
        i += 1
    return "".join(out)


def item_json(node):
    ident, props, children = node
    raw = props.get("label", "")
    return {
        "id": ident,
        "label": unmnemonic(raw),
        "raw-label": raw,
        "type": props.get("type", "standard"),
        "enabled": props.get("enabled", True),
        "visible": props.get("visible", True),
        "toggle-type": props.get("toggle-type", ""),
        "toggle-state": props.get("toggle-state", -1),
        "children": [item_json(c) for c in children],
    }


def matches(item, label):
    return item["label"] == label or item["label"].startswith(label + " — ")


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    bus_name, item_path, command = sys.argv[1:4]
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    menu_path = bus.call_sync(bus_name, item_path, "org.freedesktop.DBus.Properties", "Get",
                              GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", "Menu")),
                              GLib.VariantType("(v)"), Gio.DBusCallFlags.NONE, 5000,
                              None).unpack()[0]

    def call(method, params, reply):
        return bus.call_sync(bus_name, menu_path, "com.canonical.dbusmenu", method, params,
                             GLib.VariantType(reply) if reply else None,
                             Gio.DBusCallFlags.NONE, 5000, None)

    def layout():
        return item_json(call("GetLayout", GLib.Variant("(iias)", (0, -1, [])),
                              "(u(ia{sv}av))").unpack()[1])

    if command == "dump":
        print(json.dumps(layout(), ensure_ascii=False, indent=1))
        return 0
    if command in ("click", "items"):
        node = layout()
        for label in sys.argv[4:]:
            call("AboutToShow", GLib.Variant("(i)", (node["id"],)), "(b)")
            found = [c for c in node["children"] if c["visible"] and matches(c, label)]
            if not found:
                print("no visible item '%s' under '%s'; there are: %s" % (
                    label, node["label"],
                    ", ".join(repr(c["label"]) for c in node["children"] if c["label"])),
                    file=sys.stderr)
                return 1
            node = found[0]
        if command == "items":
            for c in node["children"]:
                if c["visible"] and c["type"] != "separator":
                    print("%s\t%d\t%d\t%s" % (c["label"], c["enabled"], c["toggle-state"],
                                              c["toggle-type"]))
            return 0
        if not node["enabled"]:
            print("item '%s' is disabled" % node["label"], file=sys.stderr)
            return 1
        call("Event", GLib.Variant("(isvu)", (node["id"], "clicked", GLib.Variant("i", 0), 0)),
             None)
        return 0
    print("unknown command " + command, file=sys.stderr)
    return 2


sys.exit(main())
