/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-tray-format: the text the tray's windows show for what warrend reports (byte counts, last
 * seen, paths, ping replies, flow records) and the Devices window's search.  Pure functions of
 * their arguments (the current time is one), no GTK, so that the unit tests pin them down; every
 * result is a newly allocated, translated string.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* a byte count in human units ("1.5 MB" with a no-break space, "12 bytes"), g_format_size */
gchar *
wr_tray_format_bytes(guint64 bytes);

/* when a peer was last seen: "Online" while online; else relative to now_s (Unix seconds):
 * "Never" (last_seen_s 0), "Just now" (under a minute, or a clock ahead), "N minutes ago",
 * "N hours ago", "N days ago" (under 30 days), then the date "YYYY-MM-DD" in local time */
gchar *
wr_tray_format_last_seen(gint64 last_seen_s, gboolean online, gint64 now_s);

/* a peer's path as the windows name it: "direct" -> "Direct", "derp" -> "Relay (DERP)",
 * "idle" -> "Idle"; "" -> "—"; anything else as it is */
gchar *
wr_tray_format_path(const gchar *path);

/* a flow's end reason ("fin", "rst", "idle", "evicted", "flush") in words */
gchar *
wr_tray_format_end_reason(const gchar *reason);

/* a Unix time in microseconds as local time "YYYY-MM-DD HH:MM:SS"; "—" for 0 or out of range */
gchar *
wr_tray_format_time_us(gint64 time_us);

/* one reply dictionary of Ping (seq, path, endpoint, derp-region-code, latency-us) as a line:
 * "1: direct 203.0.113.1:41641, 0.85 ms", "2: relay DERP(lab), 12.1 ms", "3: timed out";
 * a dictionary that lacks seq or latency-us gives "?: no answer" rather than failing */
gchar *
wr_tray_format_ping_reply(GVariant *reply);

/* the Devices window's search: whether needle (trimmed, case-insensitive, "" matches all) is
 * part of the name, the user or one of the addresses */
gboolean
wr_tray_peer_matches(const gchar *needle, const gchar *name, const gchar *user,
		     const gchar *const *addresses);

G_END_DECLS
