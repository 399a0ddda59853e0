/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * engine/netcfg/wr-firewall: the script generator as a table (config in, exact nft text or the
 * error out), and the applier against the real kernel through libnftables, in a network
 * namespace of its own (a subprocess that unshares one; skipped without the privilege).
 */

#define G_LOG_DOMAIN "WrFirewallTest"

#include "config.h"

#include <glib.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "wr-firewall.h"

#define HEAD                                                             \
	"table inet warren\n"                                            \
	"delete table inet warren\n"                                     \
	"table inet warren {\n"                                          \
	"\tchain prerouting {\n"                                         \
	"\t\ttype filter hook prerouting priority raw; policy accept;\n" \
	"\t\tiifname \"lo\" accept\n"                                    \
	"\t\tiifname \"wr0\" accept\n"                                   \
	"\t\tip saddr 100.64.0.0/10 drop\n"                              \
	"\t\tip6 saddr fd7a:115c:a1e0::/48 drop\n"                       \
	"\t}\n"                                                          \
	"\tchain forward {\n"                                            \
	"\t\ttype filter hook forward priority filter; policy accept;\n" \
	"\t\tiifname \"wr0\" jump from_tun\n"                            \
	"\t}\n"                                                          \
	"\tchain from_tun {\n"                                           \
	"\t\tip daddr 100.64.0.0/10 drop\n"                              \
	"\t\tip6 daddr fd7a:115c:a1e0::/48 drop\n"
#define TAIL                                                              \
	"\t}\n"                                                           \
	"\tchain postrouting {\n"                                         \
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n" \
	"\t\tiifname \"wr0\" oifname != \"wr0\" masquerade\n"             \
	"\t}\n"                                                           \
	"}\n"

typedef struct {
	const char *name;
	const char *tun;
	const char *routes; /* space separated */
	gboolean exit_node;
	const char *tailnet;	/* space separated */
	const char *expected;	/* the script, or NULL for an error */
	const char *error_part; /* a part of the error message */
} ScriptCase;

static const ScriptCase script_cases[] = {
	{"nothing-approved", "wr0", "", FALSE, "100.64.0.0/10 fd7a:115c:a1e0::/48",
	 HEAD "\t\tdrop\n" TAIL, NULL},
	{"subnet-router", "wr0", "192.0.2.0/24 2001:db8:1::/48", FALSE,
	 "100.64.0.0/10 fd7a:115c:a1e0::/48",
	 HEAD "\t\tip daddr 192.0.2.0/24 accept\n\t\tip6 daddr 2001:db8:1::/48 accept\n"
	      "\t\tdrop\n" TAIL,
	 NULL},
	{"exit-node", "wr0", "", TRUE, "100.64.0.0/10 fd7a:115c:a1e0::/48",
	 HEAD "\t\taccept\n" TAIL, NULL},
	{"exit-and-routes", "wr0", "198.51.100.0/24", TRUE, "100.64.0.0/10 fd7a:115c:a1e0::/48",
	 HEAD "\t\tip daddr 198.51.100.0/24 accept\n\t\taccept\n" TAIL, NULL},
	{"quote-in-name", "wr\"0", "", FALSE, "100.64.0.0/10", NULL, "interface name"},
	{"space-in-name", "wr 0", "", FALSE, "100.64.0.0/10", NULL, "interface name"},
	{"empty-name", "", "", FALSE, "100.64.0.0/10", NULL, "interface name"},
	{"long-name", "abcdefghijklmnop", "", FALSE, "100.64.0.0/10", NULL, "interface name"},
	{"no-tailnet", "wr0", "", FALSE, "", NULL, "0 tailnet ranges"},
	{"host-bits", "wr0", "192.0.2.1/24", FALSE, "100.64.0.0/10", NULL,
	 "route 192.0.2.1/24: host bits"},
	{"default-route", "wr0", "0.0.0.0/0", FALSE, "100.64.0.0/10", NULL,
	 "route 0.0.0.0/0: a default route"},
	{"inside-tailnet", "wr0", "100.100.0.0/16", FALSE, "100.64.0.0/10", NULL,
	 "route 100.100.0.0/16: overlaps the tailnet"},
	{"holds-tailnet", "wr0", "100.0.0.0/8", FALSE, "100.64.0.0/10", NULL,
	 "route 100.0.0.0/8: overlaps the tailnet"},
	{"tailnet-host-bits", "wr0", "", FALSE, "100.64.0.1/10", NULL, "tailnet range"},
};

static GArray *
cidrs(const char *text)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_auto(GStrv) words = g_strsplit(text, " ", -1);

	for (guint i = 0; words[i] != NULL; i++) {
		WrCidr c;

		if (*words[i] == '\0')
			continue;
		g_assert_true(wr_cidr_parse(&c, words[i]));
		g_array_append_val(out, c);
	}
	return out;
}

static void
test_script(gconstpointer data)
{
	const ScriptCase *tc = data;
	g_autoptr(GArray) routes = cidrs(tc->routes);
	g_autoptr(GArray) tailnet = cidrs(tc->tailnet);
	WrFirewallConfig config = {tc->tun, routes, tc->exit_node, tailnet};
	g_autoptr(GError) error = NULL;
	g_autofree char *script = wr_firewall_script(&config, &error);

	if (tc->expected != NULL) {
		g_assert_no_error(error);
		g_assert_cmpstr(script, ==, tc->expected);
	} else {
		g_assert_null(script);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, tc->error_part));
	}
}

static void
test_too_many_routes(void)
{
	g_autoptr(GArray) routes = g_array_new(FALSE, TRUE, sizeof(WrCidr));
	g_autoptr(GArray) tailnet = cidrs("100.64.0.0/10");
	WrFirewallConfig config = {"wr0", routes, FALSE, tailnet};
	g_autoptr(GError) error = NULL;
	g_autofree char *script = NULL;

	for (guint i = 0; i <= WR_FIREWALL_MAX_ROUTES; i++) {
		WrCidr c = {.family = AF_INET, .cidr = 32, .addr = {10, 0, i >> 8, i & 0xff}};

		g_array_append_val(routes, c);
	}
	script = wr_firewall_script(&config, &error);
	g_assert_null(script);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* the real kernel: in a network namespace of a subprocess, so nothing here is touched */
static void
test_kernel(void)
{
	if (!g_test_subprocess()) {
		if (geteuid() != 0) {
			g_test_skip("a network namespace needs root");
			return;
		}
		g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
		g_test_trap_assert_passed();
		return;
	}
	g_assert_cmpint(unshare(CLONE_NEWNET), ==, 0);
	{
		g_autoptr(GArray) routes = cidrs("192.0.2.0/24");
		g_autoptr(GArray) tailnet = cidrs("100.64.0.0/10 fd7a:115c:a1e0::/48");
		WrFirewallConfig config = {"wr0", routes, FALSE, tailnet};
		g_autoptr(GError) error = NULL;
		g_autofree char *script = wr_firewall_script(&config, &error);
		g_autofree char *out = NULL;
		int status = -1;

		g_assert_no_error(error);
		/* twice: the second replaces the first (no "File exists") */
		g_assert_true(wr_firewall_apply(script, &error));
		g_assert_no_error(error);
		config.exit_node = TRUE;
		g_free(script);
		script = wr_firewall_script(&config, &error);
		g_assert_true(wr_firewall_apply(script, &error));
		g_assert_no_error(error);

		/* what the kernel holds, read back with the nft tool when it is there */
		if (g_spawn_command_line_sync("nft list table inet warren", &out, NULL, &status,
					      NULL) &&
		    g_spawn_check_wait_status(status, NULL)) {
			g_assert_nonnull(strstr(out, "ip daddr 192.0.2.0/24 accept"));
			g_assert_nonnull(strstr(out, "ip saddr 100.64.0.0/10 drop"));
			g_assert_nonnull(strstr(out, "masquerade"));
			/* exactly one table: the replace did not duplicate chains */
			g_assert_null(strstr(strstr(out, "chain forward") + 1, "chain forward"));
		}

		/* a script nft refuses: the error says so, the old table stays */
		g_assert_false(
			wr_firewall_apply("table inet warren { chain x { bogus } }\n", &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
		g_assert_nonnull(strstr(error->message, "nftables"));
		g_clear_error(&error);
		g_assert_true(wr_firewall_apply(script, &error));

		g_assert_true(wr_firewall_remove(&error));
		g_assert_no_error(error);
		/* and again, when there is none */
		g_assert_true(wr_firewall_remove(&error));
		g_assert_no_error(error);
		g_clear_pointer(&out, g_free);
		if (g_spawn_command_line_sync("nft list tables", &out, NULL, &status, NULL))
			g_assert_null(strstr(out, "warren"));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(script_cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/warren/firewall/script/%s", script_cases[i].name);

		g_test_add_data_func(path, &script_cases[i], test_script);
	}
	g_test_add_func("/warren/firewall/too-many-routes", test_too_many_routes);
	g_test_add_func("/warren/firewall/kernel", test_kernel);
	return g_test_run();
}
