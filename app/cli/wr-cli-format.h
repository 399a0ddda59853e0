/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the warren CLI prints, from the dictionaries warrend answers with
 * (data/io.github.warrenvpn.Engine1.xml: the peer dictionary, Self, Ping replies, the Netcheck
 * report).  Pure: no D-Bus, no clock (callers pass `now`), so every line can be tested.  Text
 * is translated through gettext; JSON (--json) is not, and keeps the dictionaries' own keys.
 * A key that is missing or of another type than documented reads as empty/zero, never a crash:
 * the daemon may be newer or older than the CLI.
 */

#pragma once

#include <glib.h>

/* how many terminal columns @text takes: East Asian wide characters take two (so that the
 * Chinese column headers line up), combining and zero-width ones none */
gsize
wr_cli_display_width(const gchar *text);

/* "1.5 KiB", "12 MiB" (binary units, one decimal under 10) */
gchar *
wr_cli_format_bytes(guint64 bytes);

/* one Ping reply (a{sv}) for a peer shown as name and address:
 *   "pong from laptop (100.64.0.2) via DERP(nyc) in 12ms"
 *   "pong from laptop (100.64.0.2) via 203.0.113.1:41641 in 1ms"
 *   "timeout waiting for pong from laptop (100.64.0.2)"   (latency-us < 0) */
gchar *
wr_cli_format_ping_reply(const gchar *name, const gchar *address, GVariant *reply);
/* whether a Ping reply went direct (the CLI stops early once it did, like tailscale ping) */
gboolean
wr_cli_ping_reply_is_direct(GVariant *reply);

/* `warren status`: a header line for the engine state (and health problems), then this node
 * and every peer, one line each:
 *   100.64.0.1    laptop     alice@example.com  linux    -
 *   100.64.0.2    phone      alice@example.com  android  direct 203.0.113.1:41641, tx 1.2 KiB rx 3
 * KiB 100.64.0.3    server     tag:server         linux    offline, last seen 2h ago self and peers
 * are a{sv} and aa{sv}; exit_node is the ExitNode property (a peer id or ""). */
gchar *
wr_cli_format_status(const gchar *state, const gchar *const *health, GVariant *self,
		     GVariant *peers, const gchar *exit_node, gint64 now);

/* `warren netcheck` in words */
gchar *
wr_cli_format_netcheck(GVariant *report);

/* the first tailnet address of a dictionary with "addresses" of the given family (AF_INET,
 * AF_INET6, or 0 for any); NULL when there is none */
gchar *
wr_cli_first_address(GVariant *dict, int family);

/* a GVariant as JSON (json-glib's mapping: a{sv} as objects, as as arrays), pretty-printed */
gchar *
wr_cli_to_json(GVariant *value);

/* "2h ago", "5m ago", "just now", "3d ago"; "never" for 0 */
gchar *
wr_cli_format_ago(gint64 unix_seconds, gint64 now);
