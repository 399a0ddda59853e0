#!/usr/bin/python3
#
# Copyright 2026 The Warren Authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# a11y.py PID CMD TITLE [ARG]: read (and press) a window of the running app with process id PID
# through its accessibility tree (AT-SPI, python3-gi Atspi), for tests/gui/windows.sh.  The
# session's at-spi bus must be up and the app started without NO_AT_BRIDGE.
#   text TITLE        every text of the window titled TITLE (labels, entries), one a line
#   cells TITLE       the text of every table cell of that window, one a line
#   ping TITLE NAME   select the table row with a cell NAME and press the "Ping" button
#   press TITLE LABEL press (click) the button or check box LABEL
#   state TITLE LABEL print "checked" or "unchecked" for the check box LABEL
#   settext TITLE TEXT  put TEXT into the window's first text entry
# Exit status 1 with a message on stderr when the window or the item is not there.

import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

MAX_NODES = 20000


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def walk(node, depth=0):
    """every accessible under node, node first"""
    stack = [node]
    seen = 0
    while stack:
        n = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return
        yield n
        try:
            count = n.get_child_count()
        except Exception:
            continue
        for i in reversed(range(count)):
            try:
                c = n.get_child_at_index(i)
            except Exception:
                c = None
            if c is not None:
                stack.append(c)


def find_window(pid, title):
    desktop = Atspi.get_desktop(0)
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        if app is None:
            continue
        try:
            if app.get_process_id() != pid:
                continue
        except Exception:
            continue
        for j in range(app.get_child_count()):
            w = app.get_child_at_index(j)
            if w is not None and w.get_name() == title:
                return w
    die("no window titled %r in the accessible tree of pid %d" % (title, pid))


def text_of(n):
    try:
        t = n.get_text_iface()
        if t is not None:
            return t.get_text(0, t.get_character_count())
    except Exception:
        pass
    return None


def cmd_text(win):
    for n in walk(win):
        name, text = n.get_name(), text_of(n)
        for s in (name, text if text != name else None):
            if s:
                for line in s.splitlines():
                    print(line)


def cells(win):
    for n in walk(win):
        if n.get_role() == Atspi.Role.TABLE_CELL:
            yield n


def cmd_cells(win):
    for c in cells(win):
        if c.get_name():
            print(c.get_name())


PRESSABLE = (Atspi.Role.PUSH_BUTTON, Atspi.Role.CHECK_BOX, Atspi.Role.TOGGLE_BUTTON)


def find(win, roles, label):
    for n in walk(win):
        if n.get_role() in roles and n.get_name() == label:
            return n
    die("no %s %r" % ("/".join(r.value_nick for r in roles), label))


def cmd_state(win, label):
    n = find(win, (Atspi.Role.CHECK_BOX,), label)
    print("checked" if n.get_state_set().contains(Atspi.StateType.CHECKED) else "unchecked")


def cmd_settext(win, text):
    for n in walk(win):
        if n.get_role() in (Atspi.Role.ENTRY, Atspi.Role.TEXT):
            editable = n.get_editable_text_iface()
            if editable is not None and editable.set_text_contents(text):
                return
    die("no editable text entry")


def press(win, label):
    for n in walk(win):
        if n.get_role() in PRESSABLE and n.get_name() == label:
            action = n.get_action_iface()
            if action is None:
                die("the button %r has no action" % label)
            action.do_action(0)
            return
    die("no button %r" % label)


def cmd_ping(win, name):
    for n in walk(win):
        if n.get_role() != Atspi.Role.TABLE:
            continue
        table = n.get_table_iface()
        for c in cells(n):
            if c.get_name() == name:
                row = table.get_row_at_index(c.get_index_in_parent())
                if row < 0 or not table.add_row_selection(row):
                    die("cannot select the row of %r" % name)
                press(win, "Ping")
                return
    die("no row %r" % name)


def main():
    if len(sys.argv) < 4:
        die("usage: a11y.py PID text|cells|ping|press|state|settext TITLE [ARG]")
    pid, cmd, title = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    win = find_window(pid, title)
    if cmd == "text":
        cmd_text(win)
    elif cmd == "cells":
        cmd_cells(win)
    elif cmd == "ping" and len(sys.argv) == 5:
        cmd_ping(win, sys.argv[4])
    elif cmd == "press" and len(sys.argv) == 5:
        press(win, sys.argv[4])
    elif cmd == "state" and len(sys.argv) == 5:
        cmd_state(win, sys.argv[4])
    elif cmd == "settext" and len(sys.argv) == 5:
        cmd_settext(win, sys.argv[4])
    else:
        die("unknown command %r" % cmd)


main()
