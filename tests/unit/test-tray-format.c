/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The text the tray's windows show for what warrend reports (app/tray/wr-tray-format), in the
 * C locale (the test environment sets LC_ALL=C.UTF-8, so no catalogue applies).
 */

#include "config.h"

#include <locale.h>

#include "wr-tray-format.h"

static void
test_bytes(void)
{
	const struct {
		guint64 bytes;
		const gchar *want;
	} cases[] = {
		{0, "0 bytes"},		  {1, "1 byte"},
		{999, "999 bytes"},	  {1000, "1.0\u00a0kB"},
		{1500000, "1.5\u00a0MB"}, {G_GUINT64_CONSTANT(3000000000), "3.0\u00a0GB"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *got = wr_tray_format_bytes(cases[i].bytes);
		g_assert_cmpstr(got, ==, cases[i].want);
	}
}

static void
test_last_seen(void)
{
	const gint64 now = 1796428800; /* 2026-12-05 00:00:00 UTC */
	const struct {
		gint64 last_seen;
		gboolean online;
		const gchar *want;
	} cases[] = {
		{now - 100, TRUE, "Online"},
		{0, FALSE, "Never"},
		{-5, FALSE, "Never"},
		{now, FALSE, "Just now"},
		{now + 3600, FALSE, "Just now"}, /* a clock ahead */
		{now - 59, FALSE, "Just now"},
		{now - 60, FALSE, "1 minute ago"},
		{now - 3599, FALSE, "59 minutes ago"},
		{now - 3600, FALSE, "1 hour ago"},
		{now - 5 * 3600 - 1, FALSE, "5 hours ago"},
		{now - 86400, FALSE, "1 day ago"},
		{now - 29 * 86400, FALSE, "29 days ago"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *got =
			wr_tray_format_last_seen(cases[i].last_seen, cases[i].online, now);
		g_assert_cmpstr(got, ==, cases[i].want);
	}
	/* older: the date in local time (TZ=UTC here) */
	{
		g_autofree gchar *got = wr_tray_format_last_seen(now - 40 * 86400, FALSE, now);
		g_assert_cmpstr(got, ==, "2026-10-26");
	}
}

static void
test_path_reason(void)
{
	const struct {
		const gchar *in, *path, *reason;
	} cases[] = {
		{"direct", "Direct", "direct"},
		{"derp", "Relay (DERP)", "derp"},
		{"idle", "Idle", "Idle timeout"},
		{"fin", "fin", "Closed"},
		{"rst", "rst", "Reset"},
		{"evicted", "evicted", "Too many at once"},
		{"flush", "flush", "Tunnel stopped"},
		{"", "—", "—"},
		{"quantum", "quantum", "quantum"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *path = wr_tray_format_path(cases[i].in);
		g_autofree gchar *reason = wr_tray_format_end_reason(cases[i].in);
		g_assert_cmpstr(path, ==, cases[i].path);
		g_assert_cmpstr(reason, ==, cases[i].reason);
	}
	{
		g_autofree gchar *path = wr_tray_format_path(NULL);
		g_assert_cmpstr(path, ==, "—");
	}
}

static void
test_time(void)
{
	g_autofree gchar *t = wr_tray_format_time_us(G_GINT64_CONSTANT(1796428800123456));
	g_autofree gchar *zero = wr_tray_format_time_us(0);
	g_autofree gchar *neg = wr_tray_format_time_us(-1);
	g_autofree gchar *huge = wr_tray_format_time_us(G_MAXINT64);

	g_assert_cmpstr(t, ==, "2026-12-05 00:00:00");
	g_assert_cmpstr(zero, ==, "—");
	g_assert_cmpstr(neg, ==, "—");
	g_assert_cmpstr(huge, ==, "—");
}

static GVariant *
reply(guint32 seq, const gchar *path, const gchar *endpoint, const gchar *region, gint64 us)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);

	g_variant_builder_add(&b, "{sv}", "seq", g_variant_new_uint32(seq));
	g_variant_builder_add(&b, "{sv}", "path", g_variant_new_string(path));
	g_variant_builder_add(&b, "{sv}", "endpoint", g_variant_new_string(endpoint));
	g_variant_builder_add(&b, "{sv}", "derp-region", g_variant_new_uint32(0));
	g_variant_builder_add(&b, "{sv}", "derp-region-code", g_variant_new_string(region));
	g_variant_builder_add(&b, "{sv}", "latency-us", g_variant_new_int64(us));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static void
test_ping_reply(void)
{
	const struct {
		guint32 seq;
		const gchar *path, *endpoint, *region;
		gint64 us;
		const gchar *want;
	} cases[] = {
		{1, "direct", "203.0.113.1:41641", "", 850, "1: direct 203.0.113.1:41641, 0.85 ms"},
		{2, "derp", "", "lab", 12100, "2: relay DERP(lab), 12.10 ms"},
		{3, "derp", "", "", 2000, "3: relay DERP, 2.00 ms"},
		{4, "direct", "", "", -1, "4: timed out"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GVariant) r = reply(cases[i].seq, cases[i].path, cases[i].endpoint,
					      cases[i].region, cases[i].us);
		g_autofree gchar *got = wr_tray_format_ping_reply(r);
		g_assert_cmpstr(got, ==, cases[i].want);
	}
	/* malformed: no seq, not a dictionary, NULL */
	{
		g_autoptr(GVariant) empty =
			g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0));
		g_autoptr(GVariant) str = g_variant_ref_sink(g_variant_new_string("x"));
		g_autofree gchar *a = wr_tray_format_ping_reply(empty);
		g_autofree gchar *b = wr_tray_format_ping_reply(str);
		g_autofree gchar *c = wr_tray_format_ping_reply(NULL);
		g_assert_cmpstr(a, ==, "?: no answer");
		g_assert_cmpstr(b, ==, "?: no answer");
		g_assert_cmpstr(c, ==, "?: no answer");
	}
}

static void
test_matches(void)
{
	const gchar *const addrs[] = {"100.64.0.2", "fd7a:115c:a1e0::2", NULL};
	const struct {
		const gchar *needle;
		gboolean want;
	} cases[] = {
		{"", TRUE},	      {"   ", TRUE},   {NULL, TRUE},	      {"laptop", TRUE},
		{"LapTop", TRUE},     {" lap ", TRUE}, {"alice@", TRUE},      {"EXAMPLE.com", TRUE},
		{"100.64.0.2", TRUE}, {"a1e0", TRUE},  {"100.64.0.3", FALSE}, {"bob", FALSE},
		{"laptop2", FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gboolean got = wr_tray_peer_matches(cases[i].needle, "alice-laptop",
						    "alice@example.com", addrs);
		if (got != cases[i].want)
			g_error("needle '%s': got %d", cases[i].needle ? cases[i].needle : "(null)",
				got);
	}
	g_assert_false(wr_tray_peer_matches("x", NULL, NULL, NULL));
	g_assert_true(wr_tray_peer_matches("straße", "STRASSE-pc", "", NULL));
}

int
main(int argc, char **argv)
{
	g_setenv("TZ", "UTC", TRUE);
	setlocale(LC_ALL, "C.UTF-8");
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/tray-format/bytes", test_bytes);
	g_test_add_func("/warren/tray-format/last-seen", test_last_seen);
	g_test_add_func("/warren/tray-format/path-reason", test_path_reason);
	g_test_add_func("/warren/tray-format/time", test_time);
	g_test_add_func("/warren/tray-format/ping-reply", test_ping_reply);
	g_test_add_func("/warren/tray-format/matches", test_matches);
	return g_test_run();
}
