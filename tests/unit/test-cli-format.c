/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What `warren` prints (app/cli/wr-cli-format.[ch]) from dictionaries shaped as
 * data/io.github.warrenvpn.Engine1.xml documents them, in the C locale.
 */

#include "config.h"

#include <locale.h>
#include <string.h>
#include <sys/socket.h>

#include "wr-cli-format.h"

static GVariant *
ping_reply(const gchar *path, const gchar *endpoint, guint32 region, const gchar *code,
	   gint64 latency_us)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);

	g_variant_builder_add(&b, "{sv}", "seq", g_variant_new_uint32(1));
	g_variant_builder_add(&b, "{sv}", "path", g_variant_new_string(path));
	g_variant_builder_add(&b, "{sv}", "endpoint", g_variant_new_string(endpoint));
	g_variant_builder_add(&b, "{sv}", "derp-region", g_variant_new_uint32(region));
	if (code != NULL)
		g_variant_builder_add(&b, "{sv}", "derp-region-code", g_variant_new_string(code));
	g_variant_builder_add(&b, "{sv}", "latency-us", g_variant_new_int64(latency_us));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static void
test_ping(void)
{
	static const struct {
		const gchar *path, *endpoint, *code;
		guint32 region;
		gint64 latency;
		const gchar *want;
		gboolean direct;
	} cases[] = {
		{"derp", "", "nyc", 1, 12345, "pong from laptop (100.64.0.2) via DERP(nyc) in 12ms",
		 FALSE},
		{"derp", "", NULL, 7, 20500, "pong from laptop (100.64.0.2) via DERP(7) in 21ms",
		 FALSE},
		{"direct", "203.0.113.1:41641", NULL, 0, 1200,
		 "pong from laptop (100.64.0.2) via 203.0.113.1:41641 in 1ms", TRUE},
		{"direct", "[2001:db8::1]:41641", NULL, 0, 350,
		 "pong from laptop (100.64.0.2) via [2001:db8::1]:41641 in 0.3ms", TRUE},
		{"direct", "203.0.113.1:41641", NULL, 0, -1,
		 "timeout waiting for pong from laptop (100.64.0.2)", FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GVariant) reply =
			ping_reply(cases[i].path, cases[i].endpoint, cases[i].region, cases[i].code,
				   cases[i].latency);
		g_autofree gchar *line = wr_cli_format_ping_reply("laptop", "100.64.0.2", reply);

		g_assert_cmpstr(line, ==, cases[i].want);
		g_assert_cmpint(wr_cli_ping_reply_is_direct(reply), ==, cases[i].direct);
	}
	/* a reply of another shape (a newer or broken daemon) reads as a timeout, no crash */
	{
		g_autoptr(GVariant) odd = g_variant_ref_sink(
			g_variant_new_parsed("{'latency-us': <'fast'>, 'path': <7>}"));
		g_autofree gchar *line = wr_cli_format_ping_reply("x", "y", odd);

		g_assert_cmpstr(line, ==, "timeout waiting for pong from x (y)");
	}
}

static GVariant *
peer(const gchar *id, const gchar *name, const gchar *v4, const gchar *user, const gchar *os,
     gboolean online, const gchar *path, const gchar *endpoint, guint64 tx, guint64 rx,
     gint64 last_seen, gboolean exit_option)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	const gchar *addresses[] = {v4, "fd7a:115c:a1e0::9", NULL};

	g_variant_builder_add(&b, "{sv}", "id", g_variant_new_string(id));
	g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(name));
	g_variant_builder_add(&b, "{sv}", "addresses", g_variant_new_strv(addresses, -1));
	g_variant_builder_add(&b, "{sv}", "user", g_variant_new_string(user));
	g_variant_builder_add(&b, "{sv}", "os", g_variant_new_string(os));
	g_variant_builder_add(&b, "{sv}", "online", g_variant_new_boolean(online));
	g_variant_builder_add(&b, "{sv}", "path", g_variant_new_string(path));
	g_variant_builder_add(&b, "{sv}", "endpoint", g_variant_new_string(endpoint));
	g_variant_builder_add(&b, "{sv}", "derp-region", g_variant_new_uint32(2));
	g_variant_builder_add(&b, "{sv}", "tx-bytes", g_variant_new_uint64(tx));
	g_variant_builder_add(&b, "{sv}", "rx-bytes", g_variant_new_uint64(rx));
	g_variant_builder_add(&b, "{sv}", "last-seen", g_variant_new_int64(last_seen));
	g_variant_builder_add(&b, "{sv}", "exit-node-option", g_variant_new_boolean(exit_option));
	return g_variant_builder_end(&b);
}

static void
test_status(void)
{
	const gint64 now = 1800000000;
	g_autoptr(GVariant) self =
		g_variant_ref_sink(peer("1", "laptop", "100.64.0.1", "alice@example.com", "linux",
					TRUE, "idle", "", 0, 0, 0, FALSE));
	GVariant *list[] = {
		peer("2", "phone", "100.64.0.2", "alice@example.com", "android", TRUE, "direct",
		     "203.0.113.1:41641", 1234, 3 * 1024 * 1024, now, FALSE),
		peer("3", "server", "100.64.0.3", "tag:server", "linux", FALSE, "idle", "", 0, 0,
		     now - 2 * 3600 - 5, TRUE),
		peer("4", "exit", "100.64.0.4", "bob@example.com", "", TRUE, "derp", "", 10, 0, now,
		     TRUE),
	};
	g_autoptr(GVariant) peers = g_variant_ref_sink(
		g_variant_new_array(G_VARIANT_TYPE_VARDICT, list, G_N_ELEMENTS(list)));
	const gchar *health[] = {"cannot reach the control server", NULL};
	g_autofree gchar *running = wr_cli_format_status("Running", health, self, peers, "4", now);
	g_autofree gchar *stopped = wr_cli_format_status("Stopped", NULL, self, peers, "", now);
	g_autofree gchar *logged_out =
		wr_cli_format_status("NeedsLogin", NULL, NULL, NULL, "", now);

	g_assert_cmpstr(
		running, ==,
		"100.64.0.1  laptop  alice@example.com  linux    -\n"
		"100.64.0.2  phone   alice@example.com  android  direct 203.0.113.1:41641, "
		"tx 1.2 KiB rx 3.0 MiB\n"
		"100.64.0.3  server  tag:server         linux    offline, last seen 2h ago; "
		"offers exit node\n"
		"100.64.0.4  exit    bob@example.com    -        relay 2, tx 10 B rx 0 B; exit "
		"node\n"
		"# Health: cannot reach the control server\n");
	g_assert_cmpstr(stopped, ==, "Warren is stopped: start it with “warren up”.\n");
	g_assert_cmpstr(logged_out, ==,
			"Logged out: sign in with “warren login” or “warren up”.\n");
}

static void
test_small(void)
{
	static const struct {
		guint64 bytes;
		const gchar *want;
	} sizes[] = {
		{0, "0 B"},	   {1023, "1023 B"},
		{1024, "1.0 KiB"}, {10 * 1024, "10 KiB"},
		{1536, "1.5 KiB"}, {G_GUINT64_CONSTANT(5) << 40, "5.0 TiB"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autofree gchar *text = wr_cli_format_bytes(sizes[i].bytes);

		g_assert_cmpstr(text, ==, sizes[i].want);
	}
	{
		g_autofree gchar *a = wr_cli_format_ago(0, 100);
		g_autofree gchar *b = wr_cli_format_ago(90, 100);
		g_autofree gchar *c = wr_cli_format_ago(100, 100 + 3 * 86400);

		g_assert_cmpstr(a, ==, "never");
		g_assert_cmpstr(b, ==, "just now");
		g_assert_cmpstr(c, ==, "3d ago");
	}
	{
		g_autoptr(GVariant) p = g_variant_ref_sink(peer(
			"9", "n", "100.64.0.9", "u", "linux", TRUE, "idle", "", 0, 0, 0, FALSE));
		g_autofree gchar *v4 = wr_cli_first_address(p, AF_INET);
		g_autofree gchar *v6 = wr_cli_first_address(p, AF_INET6);

		g_assert_cmpstr(v4, ==, "100.64.0.9");
		g_assert_cmpstr(v6, ==, "fd7a:115c:a1e0::9");
	}
}

static void
test_netcheck(void)
{
	g_autoptr(GVariant) report = g_variant_ref_sink(g_variant_new_parsed(
		"{'udp': <true>, 'ipv4': <true>, 'ipv6': <false>, 'global-v4': "
		"<'203.0.113.5:41641'>,"
		" 'global-v6': <''>, 'mapping-varies-by-dest-ip': <'no'>,"
		" 'preferred-derp': <uint32 2>,"
		" 'derp-latency-us': <{uint32 2: int64 12300, uint32 1: int64 45000}>}"));
	g_autofree gchar *text = wr_cli_format_netcheck(report);
	g_autofree gchar *json = wr_cli_to_json(report);

	g_assert_cmpstr(text, ==,
			"Report:\n"
			"\t* UDP: yes\n"
			"\t* IPv4: yes, 203.0.113.5:41641\n"
			"\t* IPv6: no\n"
			"\t* Mapping varies by destination IP (hard NAT): no\n"
			"\t* Nearest DERP: region 2\n"
			"\t* DERP latency:\n"
			"\t\t- region 1: 45.0ms\n"
			"\t\t- region 2: 12.3ms\n");
	g_assert_nonnull(strstr(json, "\"global-v4\" : \"203.0.113.5:41641\""));
}

/* columns as a terminal draws them: CJK two each, combining marks none */
static void
test_display_width(void)
{
	static const struct {
		const gchar *text;
		gsize want;
	} cases[] = {
		{"", 0},
		{"PEER", 4},
		{"节点", 4},	     /* two wide ideographs */
		{"状态 ok", 7},	     /* mixed */
		{"e\xcc\x81", 1},    /* e + COMBINING ACUTE ACCENT */
		{"Ger\xc3\xa4t", 5}, /* Gerät, precomposed */
		{"\xff\xfe", 2},     /* not UTF-8: a column a byte */
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpuint(wr_cli_display_width(cases[i].text), ==, cases[i].want);
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "C.UTF-8");
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/cli-format/ping", test_ping);
	g_test_add_func("/warren/cli-format/status", test_status);
	g_test_add_func("/warren/cli-format/small", test_small);
	g_test_add_func("/warren/cli-format/netcheck", test_netcheck);
	g_test_add_func("/warren/cli-format/display-width", test_display_width);

	return g_test_run();
}
