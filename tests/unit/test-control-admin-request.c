/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The admin API's request bodies (wr-control-admin-request): node names, tags, routes and auth
 * key requests, accepted and refused with messages that name what is wrong.
 */

#define G_LOG_DOMAIN "WrTestControlAdminRequest"

#include "config.h"

#include <string.h>

#include "wr-control-admin-request.h"

#define NOW ((gint64) 1800000000)

/* refused with INVALID_DATA and a message containing want */
static void
assert_refused(const GError *error, const char *want)
{
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	if (strstr(error->message, want) == NULL)
		g_error("message \"%s\" does not contain \"%s\"", error->message, want);
}

static void
test_names(void)
{
	const struct {
		const char *in;
		const char *out; /* NULL = refused */
	} cases[] = {
		{"db-1", "db-1"},
		{"DB-1", "db-1"},
		{"a", "a"},
		{"0", "0"},
		{"a--b", "a--b"},
		{"", NULL},
		{"-a", NULL},
		{"a-", NULL},
		{"a_b", NULL},
		{"a.b", NULL},
		{"é", NULL},
		{"a b", NULL},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 63 */
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL}, /* 64 */
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *name = wr_control_admin_node_name(cases[i].in, &error);

		g_assert_cmpstr(name, ==, cases[i].out);
		if (cases[i].out == NULL)
			assert_refused(error, "is not a valid node name");
		else
			g_assert_no_error(error);
	}
}

static void
test_rename(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *name = NULL;
	const char *bad[][2] = {
		{"", "needs a JSON object"},
		{"[]", "must be a JSON object"},
		{"{", "not JSON"},
		{"{}", "field name"},
		{"{\"name\":3}", "field name"},
		{"{\"name\":\"x y\"}", "\"x y\" is not a valid node name"},
	};

	name = wr_control_admin_rename_parse("{\"name\":\"Web\"}", 14, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(name, ==, "web");
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;
		g_autofree char *n =
			wr_control_admin_rename_parse(bad[i][0], strlen(bad[i][0]), &e);

		g_assert_null(n);
		assert_refused(e, bad[i][1]);
	}
	/* a NUL inside is not JSON text */
	{
		g_autoptr(GError) e = NULL;
		g_autofree char *n = wr_control_admin_rename_parse("{\"name\":\"a\"}\0x", 14, &e);

		g_assert_null(n);
		assert_refused(e, "not JSON");
	}
}

static void
test_tags(void)
{
	g_autoptr(GError) error = NULL;
	const char *body = "{\"tags\":[\"tag:web\",\"tag:db_1\",\"tag:web\",\"tag:a-b\"]}";
	g_auto(GStrv) tags = wr_control_admin_tags_parse(body, strlen(body), &error);
	g_autoptr(GString) many = g_string_new("{\"tags\":[");
	const char *bad[][2] = {
		{"{}", "field tags is missing"},
		{"{\"tags\":\"tag:a\"}", "must be a list"},
		{"{\"tags\":[1]}", "tags[0] must be a string"},
		{"{\"tags\":[\"web\"]}", "\"web\" is not a tag"},
		{"{\"tags\":[\"tag:\"]}", "\"tag:\" is not a tag"},
		{"{\"tags\":[\"tag:a b\"]}", "is not a tag"},
		{"{\"tags\":[\"tag:a\",\"TAG:b\"]}", "\"TAG:b\" is not a tag"},
	};

	g_assert_no_error(error);
	g_assert_cmpuint(g_strv_length(tags), ==, 3);
	g_assert_cmpstr(tags[0], ==, "tag:web");
	g_assert_cmpstr(tags[1], ==, "tag:db_1");
	g_assert_cmpstr(tags[2], ==, "tag:a-b");
	g_clear_pointer(&tags, g_strfreev);
	tags = wr_control_admin_tags_parse("{\"tags\":[]}", 11, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_strv_length(tags), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;
		g_auto(GStrv) t = wr_control_admin_tags_parse(bad[i][0], strlen(bad[i][0]), &e);

		g_assert_null(t);
		assert_refused(e, bad[i][1]);
	}
	for (guint i = 0; i <= WR_CONTROL_ADMIN_MAX_TAGS; i++)
		g_string_append_printf(many, "%s\"tag:t%u\"", i > 0 ? "," : "", i);
	g_string_append(many, "]}");
	g_clear_pointer(&tags, g_strfreev);
	tags = wr_control_admin_tags_parse(many->str, many->len, &error);
	g_assert_null(tags);
	assert_refused(error, "more than 64 tags");
}

static void
test_routes(void)
{
	g_autoptr(GError) error = NULL;
	const char *body = "{\"approve\":[\"10.1.0.9/24\",\"10.1.0.0/24\",\"0.0.0.0/0\",\"::/"
			   "0\",\"fd00::1/64\"]}";
	g_auto(GStrv) routes = wr_control_admin_routes_parse(body, strlen(body), &error);
	const char *bad[][2] = {
		{"{\"routes\":[]}", "field approve is missing"},
		{"{\"approve\":[\"10.0.0.1\"]}", "\"10.0.0.1\" is not a CIDR"},
		{"{\"approve\":[\"10.0.0.0/33\"]}", "is not a CIDR"},
		{"{\"approve\":[\"host/24\"]}", "is not a CIDR"},
		{"{\"approve\":[null]}", "approve[0] must be a string"},
	};

	g_assert_no_error(error);
	g_assert_cmpuint(g_strv_length(routes), ==, 4);
	g_assert_cmpstr(routes[0], ==, "10.1.0.0/24");
	g_assert_cmpstr(routes[1], ==, "0.0.0.0/0");
	g_assert_cmpstr(routes[2], ==, "::/0");
	g_assert_cmpstr(routes[3], ==, "fd00::/64");
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;
		g_auto(GStrv) r = wr_control_admin_routes_parse(bad[i][0], strlen(bad[i][0]), &e);

		g_assert_null(r);
		assert_refused(e, bad[i][1]);
	}
}

static WrControlAdminAuthkey *
authkey(const char *body, GError **error)
{
	return wr_control_admin_authkey_parse(body, strlen(body), NOW, error);
}

static void
test_authkey(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrControlAdminAuthkey) k = NULL;
	const char *bad[][2] = {
		{"{}", "needs a user or at least one tag"},
		{"{\"tags\":[]}", "needs a user or at least one tag"},
		{"{\"user\":\"\"}", "field user"},
		{"{\"user\":0}", "field user"},
		{"{\"user\":true}", "field user"},
		{"{\"user\":1,\"reusable\":1}", "field reusable must be true or false"},
		{"{\"user\":1,\"ephemeral\":\"yes\"}", "field ephemeral"},
		{"{\"user\":1,\"expiry\":-5}", "field expiry must be a non-negative"},
		{"{\"user\":1,\"expiration\":1.5}", "field expiration"},
		{"{\"user\":1,\"expiry\":1800000000}", "in the past"},
		{"{\"user\":1,\"expiry\":1900000000,\"expiration\":60}", "not both"},
		{"{\"user\":1,\"expiration\":4000000000}", "over 100 years"},
		{"{\"tags\":[\"ci\"]}", "\"ci\" is not a tag"},
	};

	k = authkey(
		"{\"reusable\":true,\"ephemeral\":true,\"tags\":[\"tag:ci\"],\"expiration\":60}",
		&error);
	g_assert_no_error(error);
	g_assert_true(k->reusable);
	g_assert_true(k->ephemeral);
	g_assert_cmpstr(k->tags[0], ==, "tag:ci");
	g_assert_cmpint(k->expiry, ==, NOW + 60);
	g_assert_cmpint(k->user_id, ==, 0);
	g_assert_null(k->user_login);
	g_clear_pointer(&k, wr_control_admin_authkey_free);

	k = authkey("{\"user\":7,\"expiry\":1900000000}", &error);
	g_assert_no_error(error);
	g_assert_false(k->reusable);
	g_assert_cmpint(k->user_id, ==, 7);
	g_assert_cmpint(k->expiry, ==, 1900000000);
	g_assert_nonnull(k->tags);
	g_assert_null(k->tags[0]);
	g_clear_pointer(&k, wr_control_admin_authkey_free);

	k = authkey("{\"user\":\"alice@example.com\",\"tags\":null}", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(k->user_login, ==, "alice@example.com");
	g_assert_cmpint(k->expiry, ==, 0);
	g_clear_pointer(&k, wr_control_admin_authkey_free);

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) e = NULL;
		g_autoptr(WrControlAdminAuthkey) r = authkey(bad[i][0], &e);

		g_assert_null(r);
		assert_refused(e, bad[i][1]);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/control/admin-request/names", test_names);
	g_test_add_func("/control/admin-request/rename", test_rename);
	g_test_add_func("/control/admin-request/tags", test_tags);
	g_test_add_func("/control/admin-request/routes", test_routes);
	g_test_add_func("/control/admin-request/authkey", test_authkey);
	return g_test_run();
}
