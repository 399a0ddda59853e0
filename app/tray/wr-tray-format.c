/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrTrayFormat"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "wr-tray-format.h"

#define MINUTE_S 60
#define HOUR_S	 (60 * MINUTE_S)
#define DAY_S	 (24 * HOUR_S)
/* relative times up to this age, then the date */
#define RELATIVE_MAX_S (30 * DAY_S)
/* Unix microseconds GDateTime can show (year 9999) */
#define TIME_US_MAX G_GINT64_CONSTANT(253402300799000000)

gchar *
wr_tray_format_bytes(guint64 bytes)
{
	return g_format_size(bytes);
}

gchar *
wr_tray_format_last_seen(gint64 last_seen_s, gboolean online, gint64 now_s)
{
	gint64 age;

	if (online)
		return g_strdup(_("Online"));
	if (last_seen_s <= 0)
		return g_strdup(_("Never"));
	age = now_s - last_seen_s;
	if (age < MINUTE_S)
		return g_strdup(_("Just now"));
	if (age < HOUR_S) {
		gint n = (gint) (age / MINUTE_S);
		return g_strdup_printf(ngettext("%d minute ago", "%d minutes ago", n), n);
	}
	if (age < DAY_S) {
		gint n = (gint) (age / HOUR_S);
		return g_strdup_printf(ngettext("%d hour ago", "%d hours ago", n), n);
	}
	if (age < RELATIVE_MAX_S) {
		gint n = (gint) (age / DAY_S);
		return g_strdup_printf(ngettext("%d day ago", "%d days ago", n), n);
	}
	{
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(last_seen_s);
		if (dt == NULL)
			return g_strdup(_("Long ago"));
		return g_date_time_format(dt, "%Y-%m-%d");
	}
}

gchar *
wr_tray_format_path(const gchar *path)
{
	if (path == NULL || path[0] == '\0')
		return g_strdup("—");
	if (g_str_equal(path, "direct"))
		return g_strdup(_("Direct"));
	if (g_str_equal(path, "derp"))
		/* TRANSLATORS: the peer is reached through a relay server (DERP is its protocol) */
		return g_strdup(_("Relay (DERP)"));
	if (g_str_equal(path, "idle"))
		/* TRANSLATORS: no traffic with the peer at the moment */
		return g_strdup(_("Idle"));
	return g_strdup(path);
}

gchar *
wr_tray_format_end_reason(const gchar *reason)
{
	if (reason == NULL || reason[0] == '\0')
		return g_strdup("—");
	if (g_str_equal(reason, "fin"))
		/* TRANSLATORS: how a connection ended: both sides closed it */
		return g_strdup(_("Closed"));
	if (g_str_equal(reason, "rst"))
		return g_strdup(_("Reset"));
	if (g_str_equal(reason, "idle"))
		return g_strdup(_("Idle timeout"));
	if (g_str_equal(reason, "evicted"))
		/* TRANSLATORS: the flow log dropped it early: too many connections at once */
		return g_strdup(_("Too many at once"));
	if (g_str_equal(reason, "flush"))
		return g_strdup(_("Tunnel stopped"));
	return g_strdup(reason);
}

gchar *
wr_tray_format_time_us(gint64 time_us)
{
	g_autoptr(GDateTime) dt = NULL;

	if (time_us <= 0 || time_us > TIME_US_MAX)
		return g_strdup("—");
	dt = g_date_time_new_from_unix_local(time_us / G_USEC_PER_SEC);
	if (dt == NULL)
		return g_strdup("—");
	return g_date_time_format(dt, "%Y-%m-%d %H:%M:%S");
}

gchar *
wr_tray_format_ping_reply(GVariant *reply)
{
	guint32 seq = 0;
	gint64 latency_us = 0;
	const gchar *path = "";
	const gchar *endpoint = "";
	const gchar *region = "";
	g_autofree gchar *via = NULL;

	if (reply == NULL || !g_variant_is_of_type(reply, G_VARIANT_TYPE_VARDICT) ||
	    !g_variant_lookup(reply, "seq", "u", &seq) ||
	    !g_variant_lookup(reply, "latency-us", "x", &latency_us))
		/* TRANSLATORS: a ping reply the tray could not read */
		return g_strdup(_("?: no answer"));
	if (latency_us < 0)
		/* TRANSLATORS: %u is the ping's number (1, 2, ...) */
		return g_strdup_printf(_("%u: timed out"), seq);
	(void) g_variant_lookup(reply, "path", "&s", &path);
	(void) g_variant_lookup(reply, "endpoint", "&s", &endpoint);
	(void) g_variant_lookup(reply, "derp-region-code", "&s", &region);
	if (g_str_equal(path, "direct"))
		/* TRANSLATORS: %s is an address and port, e.g. 203.0.113.1:41641 */
		via = g_strdup_printf(_("direct %s"), endpoint);
	else if (g_str_equal(path, "derp") && region[0] != '\0')
		/* TRANSLATORS: %s is a relay region's short code, e.g. nyc */
		via = g_strdup_printf(_("relay DERP(%s)"), region);
	else if (g_str_equal(path, "derp"))
		via = g_strdup(_("relay DERP"));
	else
		via = g_strdup(path);
	/* TRANSLATORS: ping number, the path, the round trip in milliseconds */
	return g_strdup_printf(_("%u: %s, %.2f ms"), seq, via, (gdouble) latency_us / 1000.0);
}

static gboolean
contains_casefold(const gchar *haystack, const gchar *needle_folded)
{
	g_autofree gchar *folded = NULL;

	if (haystack == NULL)
		return FALSE;
	folded = g_utf8_casefold(haystack, -1);
	return strstr(folded, needle_folded) != NULL;
}

gboolean
wr_tray_peer_matches(const gchar *needle, const gchar *name, const gchar *user,
		     const gchar *const *addresses)
{
	g_autofree gchar *trimmed = NULL;
	g_autofree gchar *folded = NULL;

	if (needle == NULL)
		return TRUE;
	trimmed = g_strstrip(g_strdup(needle));
	if (trimmed[0] == '\0')
		return TRUE;
	folded = g_utf8_casefold(trimmed, -1);
	if (contains_casefold(name, folded) || contains_casefold(user, folded))
		return TRUE;
	for (gsize i = 0; addresses != NULL && addresses[i] != NULL; i++) {
		if (contains_casefold(addresses[i], folded))
			return TRUE;
	}
	return FALSE;
}
