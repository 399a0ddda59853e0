/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "wr-cli-flows.h"
#include "wr-cli-format.h"

static gboolean
bad_since(const gchar *text, GError **error)
{
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    /* TRANSLATORS: %s is what the user gave to warren log --since */
		    _("--since: “%s” is neither a duration (30m, 2h, 1d) nor a time "
		      "(2026-12-05T07:00:00, 2026-12-05)"),
		    text);
	return FALSE;
}

/* "1h30m" and the like: FALSE when text is not one */
/* a century is plenty: longer is a typo */
#define MAX_DURATION_S (G_GINT64_CONSTANT(100) * 366 * 86400)

static gboolean
parse_duration(const gchar *text, gint64 *out_us)
{
	const gchar *p = text;
	gint64 total = 0;

	if (*p == '\0')
		return FALSE;
	while (*p != '\0') {
		gint64 n = 0, unit;

		if (!g_ascii_isdigit(*p))
			return FALSE;
		for (; g_ascii_isdigit(*p); p++) {
			if (n > MAX_DURATION_S)
				return FALSE;
			n = n * 10 + (*p - '0');
		}
		switch (*p) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default:
			return FALSE;
		}
		p++;
		total += n * unit;
		if (total > MAX_DURATION_S)
			return FALSE;
	}
	*out_us = total * G_USEC_PER_SEC;
	return TRUE;
}

gboolean
wr_cli_flows_parse_since(const gchar *text, gint64 now_us, GTimeZone *tz, gint64 *out_us,
			 GError **error)
{
	g_autoptr(GDateTime) dt = NULL;
	g_autofree gchar *iso = NULL;
	gint64 duration;

	if (text == NULL)
		return bad_since("", error);
	if (parse_duration(text, &duration)) {
		*out_us = MAX(now_us - duration, 0);
		return TRUE;
	}
	/* a date alone means its midnight; a space may stand for the T */
	if (strlen(text) == 10)
		iso = g_strconcat(text, "T00:00:00", NULL);
	else
		iso = g_strdelimit(g_strdup(text), " ", 'T');
	dt = g_date_time_new_from_iso8601(iso, tz);
	if (dt == NULL)
		return bad_since(text, error);
	if (g_date_time_to_unix(dt) < 0) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    _("--since: “%s” is before 1970"), text);
		return FALSE;
	}
	*out_us = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
	return TRUE;
}

static const gchar *
str_of(GVariant *dict, const gchar *key)
{
	const gchar *value = NULL;

	if (!g_variant_lookup(dict, key, "&s", &value))
		return "";
	return value;
}

static gint64
i64_of(GVariant *dict, const gchar *key)
{
	gint64 value = 0;

	(void) g_variant_lookup(dict, key, "x", &value);
	return value;
}

static guint64
u64_of(GVariant *dict, const gchar *key)
{
	guint64 value = 0;

	(void) g_variant_lookup(dict, key, "t", &value);
	return value;
}

static gchar *
format_duration(gint64 us)
{
	if (us < G_GINT64_CONSTANT(10) * G_USEC_PER_SEC)
		return g_strdup_printf("%.1fs", (double) us / G_USEC_PER_SEC);
	if (us < G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC)
		return g_strdup_printf("%" G_GINT64_FORMAT "m%02" G_GINT64_FORMAT "s",
				       us / G_USEC_PER_SEC / 60, us / G_USEC_PER_SEC % 60);
	return g_strdup_printf("%" G_GINT64_FORMAT "h%02" G_GINT64_FORMAT "m",
			       us / G_USEC_PER_SEC / 3600, us / G_USEC_PER_SEC / 60 % 60);
}

enum {
	COL_END,
	COL_DURATION,
	COL_PROTO,
	COL_LOCAL,
	COL_DIR,
	COL_REMOTE,
	COL_PEER,
	COL_PATH,
	COL_SENT,
	COL_RECEIVED,
	N_COLS,
};

gchar *
wr_cli_flows_format(GVariant *flows, GTimeZone *tz)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
	gsize width[N_COLS] = {0};
	GString *out = g_string_new(NULL);
	gsize n = g_variant_n_children(flows);

	if (n == 0) {
		g_string_append(out, _("No flows recorded.\n"));
		return g_string_free(out, FALSE);
	}
	{
		gchar **head = g_new0(gchar *, N_COLS + 1);

		head[COL_END] = g_strdup(_("END"));
		head[COL_DURATION] = g_strdup(_("TIME"));
		head[COL_PROTO] = g_strdup(_("PROTO"));
		head[COL_LOCAL] = g_strdup(_("LOCAL"));
		head[COL_DIR] = g_strdup("");
		head[COL_REMOTE] = g_strdup(_("REMOTE"));
		head[COL_PEER] = g_strdup(_("PEER"));
		head[COL_PATH] = g_strdup(_("PATH"));
		head[COL_SENT] = g_strdup(_("SENT"));
		head[COL_RECEIVED] = g_strdup(_("RECEIVED"));
		g_ptr_array_add(rows, head);
	}
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) f = g_variant_get_child_value(flows, i);
		gchar **row = g_new0(gchar *, N_COLS + 1);
		gint64 start = i64_of(f, "start"), end = i64_of(f, "end");
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(end / G_USEC_PER_SEC);
		g_autoptr(GDateTime) local = dt != NULL ? g_date_time_to_timezone(dt, tz) : NULL;
		g_autofree gchar *sent = wr_cli_format_bytes(u64_of(f, "tx-bytes"));
		g_autofree gchar *received = wr_cli_format_bytes(u64_of(f, "rx-bytes"));
		gboolean outbound = FALSE;

		(void) g_variant_lookup(f, "outbound", "b", &outbound);
		row[COL_END] = local != NULL ? g_date_time_format(local, "%F %T") : g_strdup("?");
		row[COL_DURATION] = format_duration(MAX(end - start, 0));
		row[COL_PROTO] = g_strdup(str_of(f, "proto"));
		row[COL_LOCAL] = g_strdup(str_of(f, "local"));
		/* who opened it */
		row[COL_DIR] = g_strdup(outbound ? "->" : "<-");
		row[COL_REMOTE] = g_strdup(str_of(f, "remote"));
		row[COL_PEER] = g_strdup(*str_of(f, "peer") != '\0' ? str_of(f, "peer") : "-");
		row[COL_PATH] = g_strdup(*str_of(f, "path") != '\0' ? str_of(f, "path") : "-");
		row[COL_SENT] =
			g_strdup_printf("%s/%" G_GUINT64_FORMAT, sent, u64_of(f, "tx-packets"));
		row[COL_RECEIVED] =
			g_strdup_printf("%s/%" G_GUINT64_FORMAT, received, u64_of(f, "rx-packets"));
		g_ptr_array_add(rows, row);
	}
	for (guint r = 0; r < rows->len; r++) {
		gchar **row = rows->pdata[r];

		for (guint c = 0; c < N_COLS; c++)
			width[c] = MAX(width[c], wr_cli_display_width(row[c]));
	}
	for (guint r = 0; r < rows->len; r++) {
		gchar **row = rows->pdata[r];
		GString *line = g_string_new(NULL);

		for (guint c = 0; c < N_COLS; c++) {
			gsize pad = width[c] - wr_cli_display_width(row[c]);

			if (c > 0)
				g_string_append(line, "  ");
			/* numbers to the right */
			if (c == COL_SENT || c == COL_RECEIVED)
				g_string_append_printf(line, "%*s%s", (int) pad, "", row[c]);
			else
				g_string_append_printf(line, "%s%*s", row[c], (int) pad, "");
		}
		while (line->len > 0 && line->str[line->len - 1] == ' ')
			g_string_truncate(line, line->len - 1);
		g_string_append_printf(out, "%s\n", line->str);
		g_string_free(line, TRUE);
	}
	return g_string_free(out, FALSE);
}
