/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * `warren log` (wr-cli-flows): --since as durations and times, with the exact refusals, and
 * the table of GetFlows records.
 */

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-cli-flows.h"

/* 2026-12-05T08:00:00Z */
#define NOW (G_GINT64_CONSTANT(1796457600) * G_USEC_PER_SEC)
#define S   G_GINT64_CONSTANT(1000000) /* one second, 64 bits wide */

static void
test_since(void)
{
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	g_autoptr(GTimeZone) plus2 = g_time_zone_new_identifier("+02:00");
	struct {
		const char *text;
		GTimeZone *tz;
		gint64 want; /* -1: refused */
	} cases[] = {
		{"30s", utc, NOW - 30 * S},
		{"30m", utc, NOW - 30 * 60 * S},
		{"2h", utc, NOW - 2 * 3600 * S},
		{"1d", utc, NOW - 86400 * S},
		{"1h30m", utc, NOW - 5400 * S},
		{"0s", utc, NOW},
		{"2026-12-05T07:00:00Z", utc, NOW - 3600 * S},
		{"2026-12-05T07:00:00", utc, NOW - 3600 * S},
		/* in the given zone unless it names its own */
		{"2026-12-05T07:00:00", plus2, NOW - 3 * 3600 * S},
		{"2026-12-05T07:00:00+01:00", plus2, NOW - 2 * 3600 * S},
		{"2026-12-05 07:00:00", utc, NOW - 3600 * S},
		{"2026-12-05", utc, NOW - 8 * 3600 * S},
		{"", utc, -1},
		{"30", utc, -1},
		{"30x", utc, -1},
		{"-5m", utc, -1},
		{"m", utc, -1},
		{"99999999999999999d", utc, -1},
		{"yesterday", utc, -1},
		{"2026-13-05", utc, -1},
		{"1960-01-01", utc, -1},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gint64 got = 42;
		gboolean ok =
			wr_cli_flows_parse_since(cases[i].text, NOW, cases[i].tz, &got, &error);

		if (cases[i].want < 0) {
			g_assert_false(ok);
			g_assert_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
			g_assert_nonnull(strstr(error->message, "--since"));
			g_assert_cmpint(got, ==, 42);
		} else {
			g_assert_no_error(error);
			g_assert_true(ok);
			g_assert_cmpint(got, ==, cases[i].want);
		}
	}
}

static GVariant *
record(gint64 end, const char *local, const char *remote, const char *peer, gboolean outbound,
       guint64 tx, guint64 rx)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "start", g_variant_new_int64(end - 2500000));
	g_variant_builder_add(&b, "{sv}", "end", g_variant_new_int64(end));
	g_variant_builder_add(&b, "{sv}", "proto", g_variant_new_string("tcp"));
	g_variant_builder_add(&b, "{sv}", "local", g_variant_new_string(local));
	g_variant_builder_add(&b, "{sv}", "remote", g_variant_new_string(remote));
	g_variant_builder_add(&b, "{sv}", "outbound", g_variant_new_boolean(outbound));
	g_variant_builder_add(&b, "{sv}", "peer", g_variant_new_string(peer));
	g_variant_builder_add(&b, "{sv}", "path", g_variant_new_string("direct"));
	g_variant_builder_add(&b, "{sv}", "tx-bytes", g_variant_new_uint64(tx));
	g_variant_builder_add(&b, "{sv}", "tx-packets", g_variant_new_uint64(3));
	g_variant_builder_add(&b, "{sv}", "rx-bytes", g_variant_new_uint64(rx));
	g_variant_builder_add(&b, "{sv}", "rx-packets", g_variant_new_uint64(2));
	return g_variant_builder_end(&b);
}

static void
test_format(void)
{
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	GVariant *items[2];
	g_autoptr(GVariant) flows = NULL;
	g_autoptr(GVariant) none =
		g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), NULL, 0));
	g_autofree gchar *text = NULL;
	g_autofree gchar *empty = NULL;
	g_auto(GStrv) lines = NULL;

	items[0] = record(NOW, "100.64.0.1:40000", "100.64.0.2:22", "node-b", TRUE, 1536, 100);
	items[1] = record(NOW + G_USEC_PER_SEC, "[fd7a::1]:443", "[fd7a::3]:5555", "", FALSE, 10,
			  3 * 1024 * 1024);
	flows = g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE("a{sv}"), items, 2));
	text = wr_cli_flows_format(flows, utc);
	lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 4);
	g_assert_true(g_str_has_prefix(lines[0], "END"));
	g_assert_nonnull(strstr(lines[1], "2026-12-05 08:00:00  2.5s"));
	g_assert_nonnull(strstr(lines[1], "100.64.0.1:40000  ->  100.64.0.2:22"));
	g_assert_nonnull(strstr(lines[1], "node-b"));
	g_assert_nonnull(strstr(lines[1], "1.5 KiB/3"));
	g_assert_nonnull(strstr(lines[2], "<-  [fd7a::3]:5555"));
	g_assert_nonnull(strstr(lines[2], "3.0 MiB/2"));
	/* columns line up: the remote column starts at the same place on every line */
	g_assert_cmpint(strstr(lines[1], "100.64.0.2") - lines[1], ==,
			strstr(lines[2], "[fd7a::3]") - lines[2]);
	g_assert_cmpstr(lines[3], ==, "");

	empty = wr_cli_flows_format(none, utc);
	g_assert_cmpstr(empty, ==, "No flows recorded.\n");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/cli-flows/since", test_since);
	g_test_add_func("/warren/cli-flows/format", test_format);
	return g_test_run();
}
