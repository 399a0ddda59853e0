/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-prefs: defaults, round trips through the file text, and a table of refused files, each
 * with the exact "FILE:LINE: [group] key: message" it must give.
 */

#define G_LOG_DOMAIN "WrTestPrefs"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-prefs.h"

#define ORIGIN "prefs.conf"

static WrPrefs *
parse(const char *text, GError **error)
{
	return wr_prefs_parse(text, strlen(text), ORIGIN, error);
}

static void
test_prefs_defaults(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPrefs) empty = parse("", &error);
	g_autoptr(WrPrefs) group_only = NULL;
	g_autoptr(WrPrefs) defaults = wr_prefs_new();

	g_assert_no_error(error);
	g_assert_nonnull(empty);
	g_assert_cmpstr(empty->control_url, ==, "");
	g_assert_false(empty->want_running);
	g_assert_cmpstr(empty->exit_node, ==, "");
	g_assert_false(empty->exit_node_allow_lan);
	g_assert_nonnull(empty->advertise_routes);
	g_assert_cmpuint(g_strv_length(empty->advertise_routes), ==, 0);
	g_assert_false(empty->advertise_exit_node);
	g_assert_false(empty->accept_routes);
	g_assert_cmpstr(empty->hostname, ==, "");
	g_assert_true(wr_prefs_equal(empty, defaults));

	group_only = parse("# comment\n\n[prefs]\n", &error);
	g_assert_no_error(error);
	g_assert_true(wr_prefs_equal(group_only, defaults));
}

static void
test_prefs_round_trip(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPrefs) prefs = wr_prefs_new();
	g_autoptr(WrPrefs) back = NULL;
	g_autoptr(WrPrefs) defaults = wr_prefs_new();
	g_autoptr(WrPrefs) defaults_back = NULL;
	g_autofree char *data = NULL;
	g_autofree char *defaults_data = NULL;
	const char *const routes[] = {"192.0.2.0/24", "2001:db8::/32", NULL};
	gsize len = 0;

	g_free(prefs->control_url);
	prefs->control_url = g_strdup("https://ctl.example.com:8443/warren");
	prefs->want_running = TRUE;
	g_free(prefs->exit_node);
	prefs->exit_node = g_strdup("n7Gh3k;#=\\x");
	prefs->exit_node_allow_lan = TRUE;
	g_strfreev(prefs->advertise_routes);
	prefs->advertise_routes = g_strdupv((char **) routes);
	prefs->advertise_exit_node = TRUE;
	prefs->accept_routes = TRUE;
	g_free(prefs->hostname);
	prefs->hostname = g_strdup("laptop-2");

	data = wr_prefs_to_data(prefs, &len);
	g_assert_cmpuint(len, ==, strlen(data));
	back = wr_prefs_parse(data, len, ORIGIN, &error);
	g_assert_no_error(error);
	g_assert_nonnull(back);
	g_assert_true(wr_prefs_equal(back, prefs));
	g_assert_cmpstr(back->exit_node, ==, "n7Gh3k;#=\\x");
	g_assert_cmpstr(back->advertise_routes[1], ==, "2001:db8::/32");

	/* and the defaults, written out in full */
	defaults_data = wr_prefs_to_data(defaults, &len);
	g_assert_nonnull(strstr(defaults_data, "want-running=false"));
	defaults_back = wr_prefs_parse(defaults_data, len, ORIGIN, &error);
	g_assert_no_error(error);
	g_assert_true(wr_prefs_equal(defaults_back, defaults));
	g_assert_false(wr_prefs_equal(defaults_back, prefs));
}

static void
test_prefs_values(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPrefs) prefs = parse("  [prefs]  \r\n"
					 "control-url = https://ctl.example.com/\r\n"
					 "  want-running=true\n"
					 "advertise-routes = 2001:db8:0:0::/48 ; 192.0.2.0/24;"
					 "198.51.100.7/32\n"
					 "hostname = \\sdesk\n",
					 &error);
	g_autofree char *url = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(prefs);
	/* the trailing '/' goes: paths are appended to the URL */
	g_assert_cmpstr(prefs->control_url, ==, "https://ctl.example.com");
	g_assert_true(prefs->want_running);
	g_assert_cmpuint(g_strv_length(prefs->advertise_routes), ==, 3);
	g_assert_cmpstr(prefs->advertise_routes[0], ==, "2001:db8::/48");
	g_assert_cmpstr(prefs->advertise_routes[1], ==, "192.0.2.0/24");
	/* a host route keeps its length (so that it passes the check again: fuzz-prefs) */
	g_assert_cmpstr(prefs->advertise_routes[2], ==, "198.51.100.7/32");
	g_assert_true(wr_prefs_check_route(prefs->advertise_routes[2], NULL, NULL));
	g_assert_cmpstr(prefs->hostname, ==, "desk");

	g_assert_true(wr_prefs_check_control_url("http://192.0.2.1:8080/a//", &url, &error));
	g_assert_cmpstr(url, ==, "http://192.0.2.1:8080/a");
	g_assert_true(wr_prefs_check_hostname("a", &error));
	g_assert_true(wr_prefs_check_exit_node("", &error));
	g_assert_no_error(error);
}

/* refused files: the whole message, so that the line and the key are checked */
static const struct {
	const char *text;
	WrPrefsError code;
	const char *message;
} bad[] = {
	{"[prefs]\nfoo = 1\n", WR_PREFS_ERROR_UNKNOWN, ORIGIN ":2: [prefs] foo: unknown key"},
	{"[other]\n", WR_PREFS_ERROR_UNKNOWN, ORIGIN ":1: [other]: unknown group (known: prefs)"},
	{"want-running = true\n", WR_PREFS_ERROR_SYNTAX,
	 ORIGIN ":1: a key before the [prefs] header"},
	{"[prefs]\nwant-running = yes\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] want-running: must be true or false"},
	{"[prefs]\n\n\naccept-routes = 1\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":4: [prefs] accept-routes: must be true or false"},
	{"[prefs]\ncontrol-url = ftp://ctl.example.com\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] control-url: must be an http:// or https:// URL"},
	{"[prefs]\ncontrol-url = https://ctl.example.com/?a=b\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] control-url: no query (?) or fragment (#) in the URL"},
	{"[prefs]\ncontrol-url = https://alice:pw@ctl.example.com\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] control-url: no user name or password in the URL"},
	{"[prefs]\ncontrol-url = ctl.example.com\n", WR_PREFS_ERROR_INVALID, NULL},
	{"[prefs]\ncontrol-url = https://ctl.example.com/\\sx\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] control-url: a URL holds no spaces, control or non-ASCII characters"},
	{"[prefs]\nexit-node = a b\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] exit-node: a peer id is printable ASCII without spaces"},
	{"[prefs]\n\nhostname = -desk\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":3: [prefs] hostname: a host name neither starts nor ends with '-'"},
	{"[prefs]\nhostname = desk.example.com\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] hostname: a host name has only letters, digits and '-'"},
	{"[prefs]\nhostname = a\\q\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] hostname: a bad escape sequence"},
	{"[prefs]\nhostname = desk\\\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] hostname: a bad escape sequence"},
	{"[prefs]\nadvertise-routes = 192.0.2.0/24\\\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] advertise-routes: a bad escape sequence"},
	{"[prefs]\nadvertise-routes = 192.0.2.1/24\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] advertise-routes: “192.0.2.1/24” is not a prefix with no host bits "
		"set (ADDRESS/LENGTH)"},
	{"[prefs]\nadvertise-routes = 192.0.2.1\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] advertise-routes: “192.0.2.1” is not a prefix (ADDRESS/LENGTH)"},
	{"[prefs]\nadvertise-routes = ::/0\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] advertise-routes: “::/0” is a default route: offer an exit node "
		"instead (advertise-exit-node)"},
	{"[prefs]\nadvertise-routes = 192.0.2.0/24;192.0.2.0/24\n", WR_PREFS_ERROR_INVALID,
	 ORIGIN ":2: [prefs] advertise-routes: 192.0.2.0/24 is listed twice"},
	{"[prefs]\nhostname = a\nhostname = b\n", WR_PREFS_ERROR_CONFLICT,
	 ORIGIN ":3: [prefs] hostname: set twice (first on line 2)"},
	{"[prefs]\n[prefs]\n", WR_PREFS_ERROR_CONFLICT,
	 ORIGIN ":2: [prefs]: a second header (first on line 1)"},
	{"[prefs]\njunk\n", WR_PREFS_ERROR_SYNTAX,
	 ORIGIN ":2: not a “[group]”, a “key = value” or a “# comment”"},
	{"[prefs]\n = x\n", WR_PREFS_ERROR_SYNTAX, ORIGIN ":2: [prefs]: a value without a key"},
	{"[prefs] x\n", WR_PREFS_ERROR_SYNTAX, ORIGIN ":1: text after a group header"},
	{"[prefs\n", WR_PREFS_ERROR_SYNTAX, ORIGIN ":1: a group header must be “[name]”"},
	/* truncated in the middle of a key, and in the middle of a header */
	{"[prefs]\nwant-runn", WR_PREFS_ERROR_SYNTAX,
	 ORIGIN ":2: not a “[group]”, a “key = value” or a “# comment”"},
	{"[pre", WR_PREFS_ERROR_SYNTAX, ORIGIN ":1: a group header must be “[name]”"},
	{"[prefs]\nhostname[de] = x\n", WR_PREFS_ERROR_UNKNOWN,
	 ORIGIN ":2: [prefs] hostname[de]: unknown key"},
	{"[prefs]\n\n\xff\xfe\n", WR_PREFS_ERROR_SYNTAX, ORIGIN ":3: not valid UTF-8"},
	/* a '\r' ends a line only before a '\n' (found by fuzz-prefs) */
	{"   [prefs]  \r", WR_PREFS_ERROR_SYNTAX, ORIGIN ":1: text after a group header"},
};

static void
test_prefs_refused(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrPrefs) prefs = parse(bad[i].text, &error);
		/* escaped: TAP output must be valid UTF-8 */
		g_autofree gchar *shown = g_strescape(bad[i].text, NULL);

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, shown);
		g_assert_null(prefs);
		g_assert_error(error, WR_PREFS_ERROR, (gint) bad[i].code);
		if (bad[i].message != NULL)
			g_assert_cmpstr(error->message, ==, bad[i].message);
		else
			g_assert_true(g_str_has_prefix(error->message, ORIGIN ":2: [prefs] "));
	}
}

static void
test_prefs_nul_and_size(void)
{
	static const char with_nul[] = "[prefs]\nhostname = a\0b\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPrefs) prefs = NULL;
	g_autofree char *big = NULL;
	gsize big_len = WR_PREFS_MAX_SIZE + 1;

	prefs = wr_prefs_parse(with_nul, sizeof(with_nul) - 1, ORIGIN, &error);
	g_assert_null(prefs);
	g_assert_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_SYNTAX);
	g_assert_cmpstr(error->message, ==, ORIGIN ":2: a NUL byte");
	g_clear_error(&error);

	/* a valid file, but one byte too long: refused for its size alone */
	big = g_malloc(big_len);
	memset(big, '#', big_len);
	memcpy(big, "[prefs]\n", 8);
	big[8] = '#';
	prefs = wr_prefs_parse(big, big_len, ORIGIN, &error);
	g_assert_null(prefs);
	g_assert_error(error, WR_PREFS_ERROR, WR_PREFS_ERROR_TOO_LARGE);
	g_assert_cmpstr(error->message, ==, ORIGIN ":0: 65537 bytes, over the limit of 65536");
	g_clear_error(&error);
	prefs = wr_prefs_parse(big, big_len - 1, ORIGIN, &error);
	g_assert_no_error(error);
	g_assert_nonnull(prefs);
}

static void
test_prefs_routes_limit(void)
{
	g_autoptr(GString) text = g_string_new("[prefs]\nadvertise-routes = ");
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPrefs) prefs = NULL;

	for (guint i = 0; i <= WR_PREFS_MAX_ROUTES; i++)
		g_string_append_printf(text, "10.%u.%u.0/24;", i / 256, i % 256);
	prefs = parse(text->str, &error);
	g_assert_null(prefs);
	g_assert_cmpstr(error->message, ==,
			ORIGIN ":2: [prefs] advertise-routes: more than 256 routes");
}

/* the SetPrefs dictionary: applied to a copy, or refused whole naming the key */
static void
test_prefs_dict(void)
{
	static const struct {
		const char *text; /* a{sv} in GVariant text form */
		int code;	  /* -1: accepted */
		const char *message;
	} cases[] = {
		{"@a{sv} {}", -1, NULL},
		{"{'hostname': <'laptop'>, 'accept-routes': <true>}", -1, NULL},
		{"{'advertise-routes': <['192.0.2.0/24', '2001:db8::/48']>, "
		 "'advertise-exit-node': <true>, 'exit-node-allow-lan': <true>}",
		 -1, NULL},
		{"{'no-such': <true>}", WR_PREFS_ERROR_UNKNOWN, "unknown key \"no-such\""},
		{"{'hostname': <'ok'>, 'bogus\\n': <1>}", WR_PREFS_ERROR_UNKNOWN,
		 "unknown key \"bogus\\n\""},
		{"{'accept-routes': <'yes'>}", WR_PREFS_ERROR_INVALID,
		 "accept-routes: must be of type b, not s"},
		{"{'hostname': <'-bad'>}", WR_PREFS_ERROR_INVALID, "hostname: "},
		{"{'advertise-routes': <['192.0.2.1/24']>}", WR_PREFS_ERROR_INVALID,
		 "advertise-routes[0]: "},
		{"{'advertise-routes': <['0.0.0.0/0']>}", WR_PREFS_ERROR_INVALID,
		 "advertise-routes[0]: "},
		{"{'advertise-routes': <['192.0.2.0/24', '192.0.2.0/24']>}",
		 WR_PREFS_ERROR_CONFLICT, "advertise-routes[1]: 192.0.2.0/24 given twice"},
		{"{'hostname': <'a'>, 'hostname': <'b'>}", WR_PREFS_ERROR_CONFLICT,
		 "hostname: given twice"},
	};
	g_autoptr(WrPrefs) base = wr_prefs_new();

	g_free(base->hostname);
	base->hostname = g_strdup("before");
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GVariant) dict =
			g_variant_parse(G_VARIANT_TYPE_VARDICT, cases[i].text, NULL, NULL, &error);
		g_autoptr(WrPrefs) got = NULL;

		g_assert_no_error(error);
		got = wr_prefs_apply_dict(base, dict, &error);
		g_test_message("%s -> %s", cases[i].text, error != NULL ? error->message : "ok");
		if (cases[i].code < 0) {
			g_assert_no_error(error);
			g_assert_nonnull(got);
			continue;
		}
		g_assert_null(got);
		g_assert_error(error, WR_PREFS_ERROR, cases[i].code);
		g_assert_true(g_str_has_prefix(error->message, cases[i].message));
	}
	g_assert_cmpstr(base->hostname, ==, "before");

	/* values land where they belong, absent keys stay */
	{
		g_autoptr(GVariant) dict = g_variant_parse(
			G_VARIANT_TYPE_VARDICT,
			"{'hostname': <'laptop'>, 'advertise-routes': <['192.0.2.0/24', "
			"'2001:DB8::/48']>, 'exit-node-allow-lan': <true>}",
			NULL, NULL, NULL);
		g_autoptr(WrPrefs) got = wr_prefs_apply_dict(base, dict, NULL);
		g_autofree char *text = NULL;
		g_autoptr(WrPrefs) back = NULL;

		g_assert_nonnull(got);
		g_assert_cmpstr(got->hostname, ==, "laptop");
		g_assert_true(got->exit_node_allow_lan);
		g_assert_false(got->accept_routes);
		g_assert_cmpuint(g_strv_length(got->advertise_routes), ==, 2);
		g_assert_cmpstr(got->advertise_routes[1], ==, "2001:db8::/48");
		text = wr_prefs_to_data(got, NULL);
		back = wr_prefs_parse(text, strlen(text), "x", NULL);
		g_assert_true(wr_prefs_equal(got, back));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/prefs/defaults", test_prefs_defaults);
	g_test_add_func("/warren/prefs/round-trip", test_prefs_round_trip);
	g_test_add_func("/warren/prefs/values", test_prefs_values);
	g_test_add_func("/warren/prefs/refused", test_prefs_refused);
	g_test_add_func("/warren/prefs/nul-and-size", test_prefs_nul_and_size);
	g_test_add_func("/warren/prefs/routes-limit", test_prefs_routes_limit);
	g_test_add_func("/warren/prefs/dict", test_prefs_dict);
	return g_test_run();
}
