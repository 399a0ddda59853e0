/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "wr-cli-format.h"
#include "wr-dict.h"

gsize
wr_cli_display_width(const gchar *text)
{
	gsize width = 0;

	/* not UTF-8 (a name from the network): one column a byte, as the terminal may show it */
	if (!g_utf8_validate(text, -1, NULL))
		return strlen(text);
	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_iszerowidth(c))
			continue;
		width += g_unichar_iswide(c) ? 2 : 1;
	}
	return width;
}

gchar *
wr_cli_format_bytes(guint64 bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double value = (double) bytes;
	guint unit = 0;

	while (value >= 1024.0 && unit + 1 < G_N_ELEMENTS(units)) {
		value /= 1024.0;
		unit++;
	}
	if (unit == 0)
		return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
	if (value < 10.0)
		return g_strdup_printf("%.1f %s", value, units[unit]);
	return g_strdup_printf("%.0f %s", value, units[unit]);
}

gchar *
wr_cli_format_ago(gint64 unix_seconds, gint64 now)
{
	gint64 d = now - unix_seconds;

	if (unix_seconds <= 0)
		return g_strdup(_("never"));
	if (d < 60)
		return g_strdup(_("just now"));
	if (d < 3600)
		/* TRANSLATORS: minutes */
		return g_strdup_printf(_("%" PRId64 "m ago"), d / 60);
	if (d < 86400)
		/* TRANSLATORS: hours */
		return g_strdup_printf(_("%" PRId64 "h ago"), d / 3600);
	/* TRANSLATORS: days */
	return g_strdup_printf(_("%" PRId64 "d ago"), d / 86400);
}

gchar *
wr_cli_first_address(GVariant *dict, int family)
{
	g_autoptr(GVariant) list = NULL;
	GVariantIter iter;
	const gchar *text;

	if (dict == NULL)
		return NULL;
	list = g_variant_lookup_value(dict, "addresses", G_VARIANT_TYPE_STRING_ARRAY);
	if (list == NULL)
		return NULL;
	g_variant_iter_init(&iter, list);
	while (g_variant_iter_next(&iter, "&s", &text)) {
		g_autofree gchar *bare = g_strdup(text);
		gchar *slash = strchr(bare, '/');
		g_autoptr(GInetAddress) addr = NULL;

		if (slash != NULL)
			*slash = '\0';
		addr = g_inet_address_new_from_string(bare);
		if (addr == NULL)
			continue;
		if (family == 0 ||
		    (family == AF_INET &&
		     g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV4) ||
		    (family == AF_INET6 && g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV6))
			return g_steal_pointer(&bare);
	}
	return NULL;
}

static void
append_via(GString *out, GVariant *reply)
{
	if (g_strcmp0(wr_dict_str(reply, "path"), "direct") == 0) {
		g_string_append(out, wr_dict_str(reply, "endpoint"));
		return;
	}
	if (wr_dict_str(reply, "derp-region-code")[0] != '\0')
		g_string_append_printf(out, "DERP(%s)", wr_dict_str(reply, "derp-region-code"));
	else
		g_string_append_printf(out, "DERP(%u)", wr_dict_u32(reply, "derp-region"));
}

gboolean
wr_cli_ping_reply_is_direct(GVariant *reply)
{
	return wr_dict_i64(reply, "latency-us", -1) >= 0 &&
	       g_strcmp0(wr_dict_str(reply, "path"), "direct") == 0;
}

gchar *
wr_cli_format_ping_reply(const gchar *name, const gchar *address, GVariant *reply)
{
	gint64 latency = wr_dict_i64(reply, "latency-us", -1);
	g_autoptr(GString) via = g_string_new(NULL);
	g_autofree gchar *ms = NULL;

	if (latency < 0)
		return g_strdup_printf(_("timeout waiting for pong from %s (%s)"), name, address);
	append_via(via, reply);
	/* whole milliseconds, as ping does, but never "0ms" for a real answer */
	ms = latency < 1000 ? g_strdup_printf("%.1f", (double) latency / 1000.0)
			    : g_strdup_printf("%" G_GINT64_FORMAT, (latency + 500) / 1000);
	/* TRANSLATORS: "pong from laptop (100.64.0.2) via DERP(nyc) in 12ms" */
	return g_strdup_printf(_("pong from %s (%s) via %s in %sms"), name, address, via->str, ms);
}

/* one row of the status table */
typedef struct {
	gchar *cells[5];
} Row;

static void
row_clear(Row *row)
{
	for (guint i = 0; i < G_N_ELEMENTS(row->cells); i++)
		g_free(row->cells[i]);
}

static gchar *
peer_state(GVariant *peer, const gchar *exit_node, gint64 now)
{
	g_autoptr(GString) out = g_string_new(NULL);
	const gchar *path = wr_dict_str(peer, "path");
	guint64 tx = wr_dict_u64(peer, "tx-bytes"), rx = wr_dict_u64(peer, "rx-bytes");

	if (!wr_dict_bool(peer, "online", FALSE)) {
		gint64 seen = wr_dict_i64(peer, "last-seen", 0);

		if (seen > 0) {
			g_autofree gchar *ago = wr_cli_format_ago(seen, now);

			/* TRANSLATORS: "offline, last seen 2h ago" */
			g_string_append_printf(out, _("offline, last seen %s"), ago);
		} else {
			g_string_append(out, _("offline"));
		}
	} else if (g_strcmp0(path, "direct") == 0) {
		/* TRANSLATORS: a direct path to an address */
		g_string_append_printf(out, _("direct %s"), wr_dict_str(peer, "endpoint"));
	} else if (g_strcmp0(path, "derp") == 0) {
		/* TRANSLATORS: relayed through DERP region N */
		g_string_append_printf(out, _("relay %u"), wr_dict_u32(peer, "derp-region"));
	} else {
		g_string_append(out, _("idle"));
	}
	if (tx > 0 || rx > 0) {
		g_autofree gchar *t = wr_cli_format_bytes(tx);
		g_autofree gchar *r = wr_cli_format_bytes(rx);

		/* TRANSLATORS: bytes sent (tx) and received (rx) */
		g_string_append_printf(out, _(", tx %s rx %s"), t, r);
	}
	if (exit_node != NULL && exit_node[0] != '\0' &&
	    g_strcmp0(wr_dict_str(peer, "id"), exit_node) == 0)
		g_string_append(out, _("; exit node"));
	else if (wr_dict_bool(peer, "exit-node-option", FALSE))
		g_string_append(out, _("; offers exit node"));
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
row_fill(Row *row, GVariant *dict, gchar *state)
{
	const gchar *os = wr_dict_str(dict, "os");

	row->cells[0] = wr_cli_first_address(dict, AF_INET);
	if (row->cells[0] == NULL)
		row->cells[0] = wr_cli_first_address(dict, 0);
	if (row->cells[0] == NULL)
		row->cells[0] = g_strdup("-");
	row->cells[1] =
		g_strdup(wr_dict_str(dict, "name")[0] != '\0' ? wr_dict_str(dict, "name") : "-");
	row->cells[2] =
		g_strdup(wr_dict_str(dict, "user")[0] != '\0' ? wr_dict_str(dict, "user") : "-");
	row->cells[3] = g_strdup(os[0] != '\0' ? os : "-");
	row->cells[4] = state;
}

static void
append_rows(GString *out, GArray *rows)
{
	guint width[4] = {0};

	for (guint r = 0; r < rows->len; r++) {
		Row *row = &g_array_index(rows, Row, r);

		for (guint c = 0; c < G_N_ELEMENTS(width); c++)
			width[c] = MAX(width[c], (guint) wr_cli_display_width(row->cells[c]));
	}
	for (guint r = 0; r < rows->len; r++) {
		Row *row = &g_array_index(rows, Row, r);

		for (guint c = 0; c < G_N_ELEMENTS(width); c++) {
			g_string_append(out, row->cells[c]);
			for (guint pad = (guint) wr_cli_display_width(row->cells[c]);
			     pad < width[c] + 2; pad++)
				g_string_append_c(out, ' ');
		}
		g_string_append(out, row->cells[4]);
		g_string_append_c(out, '\n');
	}
}

gchar *
wr_cli_format_status(const gchar *state, const gchar *const *health, GVariant *self,
		     GVariant *peers, const gchar *exit_node, gint64 now)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GArray) rows = g_array_new(FALSE, TRUE, sizeof(Row));

	g_array_set_clear_func(rows, (GDestroyNotify) row_clear);
	if (g_strcmp0(state, "NeedsLogin") == 0)
		g_string_append(out,
				_("Logged out: sign in with “warren login” or “warren up”.\n"));
	else if (g_strcmp0(state, "NeedsMachineAuth") == 0)
		g_string_append(out, _("Waiting for an administrator to approve this machine.\n"));
	else if (g_strcmp0(state, "Stopped") == 0)
		g_string_append(out, _("Warren is stopped: start it with “warren up”.\n"));
	else if (g_strcmp0(state, "Starting") == 0)
		g_string_append(out, _("Starting…\n"));
	else if (g_strcmp0(state, "Running") != 0)
		/* TRANSLATORS: a state this CLI does not know, as warrend named it */
		g_string_append_printf(out, _("State: %s\n"), state);

	if (g_strcmp0(state, "Running") == 0 || g_strcmp0(state, "Starting") == 0) {
		if (self != NULL && g_variant_n_children(self) > 0) {
			Row row = {0};

			row_fill(&row, self, g_strdup("-"));
			g_array_append_val(rows, row);
		}
		for (gsize i = 0; peers != NULL && i < g_variant_n_children(peers); i++) {
			g_autoptr(GVariant) peer = g_variant_get_child_value(peers, i);
			Row row = {0};

			row_fill(&row, peer, peer_state(peer, exit_node, now));
			g_array_append_val(rows, row);
		}
		append_rows(out, rows);
	}
	for (guint i = 0; health != NULL && health[i] != NULL; i++)
		/* TRANSLATORS: one problem warrend reports, in its own (English) words */
		g_string_append_printf(out, _("# Health: %s\n"), health[i]);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

typedef struct {
	guint32 region;
	gint64 us;
} Latency;

static gint
cmp_latency(gconstpointer a, gconstpointer b)
{
	guint32 x = ((const Latency *) a)->region, y = ((const Latency *) b)->region;

	return x < y ? -1 : x > y;
}

gchar *
wr_cli_format_netcheck(GVariant *report)
{
	g_autoptr(GString) out = g_string_new(_("Report:\n"));
	g_autoptr(GVariant) latencies = NULL;
	const gchar *v4 = wr_dict_str(report, "global-v4"), *v6 = wr_dict_str(report, "global-v6");
	const gchar *varies = wr_dict_str(report, "mapping-varies-by-dest-ip");

	g_string_append_printf(out, _("\t* UDP: %s\n"),
			       wr_dict_bool(report, "udp", FALSE) ? _("yes") : _("no"));
	g_string_append_printf(out, _("\t* IPv4: %s%s%s\n"),
			       wr_dict_bool(report, "ipv4", FALSE) ? _("yes") : _("no"),
			       v4[0] ? ", " : "", v4);
	g_string_append_printf(out, _("\t* IPv6: %s%s%s\n"),
			       wr_dict_bool(report, "ipv6", FALSE) ? _("yes") : _("no"),
			       v6[0] ? ", " : "", v6);
	g_string_append_printf(out, _("\t* Mapping varies by destination IP (hard NAT): %s\n"),
			       g_strcmp0(varies, "yes") == 0  ? _("yes")
			       : g_strcmp0(varies, "no") == 0 ? _("no")
							      : _("unknown"));
	if (wr_dict_u32(report, "preferred-derp") != 0)
		g_string_append_printf(out, _("\t* Nearest DERP: region %u\n"),
				       wr_dict_u32(report, "preferred-derp"));
	else
		g_string_append(out, _("\t* Nearest DERP: none reachable\n"));
	latencies = report != NULL ? g_variant_lookup_value(report, "derp-latency-us",
							    G_VARIANT_TYPE("a{ux}"))
				   : NULL;
	if (latencies != NULL && g_variant_n_children(latencies) > 0) {
		g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(Latency));
		GVariantIter iter;
		Latency l;

		g_variant_iter_init(&iter, latencies);
		while (g_variant_iter_next(&iter, "{ux}", &l.region, &l.us))
			g_array_append_val(list, l);
		g_array_sort(list, cmp_latency);
		g_string_append(out, _("\t* DERP latency:\n"));
		for (guint i = 0; i < list->len; i++) {
			l = g_array_index(list, Latency, i);
			g_string_append_printf(out, _("\t\t- region %u: %.1fms\n"), l.region,
					       (double) l.us / 1000.0);
		}
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

gchar *
wr_cli_to_json(GVariant *value)
{
	g_autoptr(JsonNode) node = json_gvariant_serialize(value);
	g_autoptr(JsonGenerator) gen = json_generator_new();

	json_generator_set_root(gen, node);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, NULL);
}
