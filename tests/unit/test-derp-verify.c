/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What warren-derp reads to admit clients (server/derp/wr-derp-verify): the --verify-clients
 * allow-list (comments, blank lines, white space, duplicates, CRLF) and each way it is refused
 * with the line named; a verifier's JSON answer, allowed, denied, and each malformed form.
 */

#define G_LOG_DOMAIN "WrDerpVerifyTest"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-derp-verify.h"
#include "wr-key.h"

#define KEY_A "nodekey:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_B "nodekey:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static GHashTable *
parse(const char *text, GError **error)
{
	return wr_derp_allowlist_parse("allowed.txt", text, strlen(text), error);
}

static void
test_allowlist_good(void)
{
	static const char text[] = "# relay users\n" KEY_A "\n\n   " KEY_B "  \r\n\t# done\n" KEY_A;
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) set = parse(text, &error);
	uint8_t a[32], b[32], c[32];

	g_assert_no_error(error);
	g_assert_nonnull(set);
	g_assert_cmpuint(g_hash_table_size(set), ==, 2);
	g_assert_true(wr_key_from_text(a, WR_KEY_KIND_NODE, KEY_A));
	g_assert_true(wr_key_from_text(b, WR_KEY_KIND_NODE, KEY_B));
	memset(c, 0xaa, sizeof(c));
	c[31] = 0xab;
	g_assert_true(wr_derp_allowlist_contains(set, a));
	g_assert_true(wr_derp_allowlist_contains(set, b));
	g_assert_false(wr_derp_allowlist_contains(set, c));
}

static void
test_allowlist_empty(void)
{
	static const char *const texts[] = {"", "\n\n", "# nobody yet\n", "   \t\n"};

	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GHashTable) set = parse(texts[i], &error);

		g_assert_no_error(error);
		g_assert_cmpuint(g_hash_table_size(set), ==, 0);
	}
}

static void
test_allowlist_bad(void)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{KEY_A "\nnodekey:123\n", "allowed.txt:2: \"nodekey:123\" is not a node key"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		 "allowed.txt:1: \"aaaa"},
		{"# x\n\nmkey:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		 "allowed.txt:3: \"mkey:"},
		{"nodekey:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		 "allowed.txt:1: "},
		{KEY_A " # trailing comment\n", "allowed.txt:1: "},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GHashTable) set = parse(cases[i].text, &error);

		g_assert_null(set);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		if (!g_str_has_prefix(error->message, cases[i].message))
			g_error("case %" G_GSIZE_FORMAT ": \"%s\" does not start with \"%s\"", i,
				error->message, cases[i].message);
	}
}

static void
test_allowlist_nul(void)
{
	static const char text[] = KEY_A "\n\0" KEY_B "\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) set =
		wr_derp_allowlist_parse("allowed.txt", text, sizeof(text) - 1, &error);

	g_assert_null(set);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "NUL"));
}

static void
test_allowlist_binary_shown_safely(void)
{
	static const char text[] = "\xff\xfe not a key\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) set = parse(text, &error);

	g_assert_null(set);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_true(g_utf8_validate(error->message, -1, NULL));
}

static void
test_answer(void)
{
	static const struct {
		const char *json;
		gboolean ok;
		gboolean allow;
		const char *message;
	} cases[] = {
		{"{\"Allow\":true}", TRUE, TRUE, NULL},
		{" {\"Allow\" : false, \"Reason\": \"not in tailnet\"} ", TRUE, FALSE, NULL},
		{"{\"\\u0041llow\":true}", TRUE, TRUE, NULL},
		{"{\"Allow\":\"true\"}", FALSE, FALSE, "no boolean \"Allow\""},
		{"{\"Allow\":1}", FALSE, FALSE, "no boolean \"Allow\""},
		{"{\"Allow\":null}", FALSE, FALSE, "no boolean \"Allow\""},
		{"{\"allow\":true}", FALSE, FALSE, "no boolean \"Allow\""},
		{"{}", FALSE, FALSE, "no boolean \"Allow\""},
		{"[true]", FALSE, FALSE, "not a JSON object"},
		{"true", FALSE, FALSE, "not a JSON object"},
		{"", FALSE, FALSE, "not"},
		{"{\"Allow\":true", FALSE, FALSE, "not JSON"},
		{"<html>ok</html>", FALSE, FALSE, "not JSON"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gboolean allow = 7;
		gboolean ok = wr_derp_verify_parse_answer(cases[i].json, strlen(cases[i].json),
							  &allow, &error);

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, cases[i].json);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (ok) {
			g_assert_no_error(error);
			g_assert_cmpint(allow, ==, cases[i].allow);
		} else {
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
			g_assert_nonnull(strstr(error->message, cases[i].message));
			g_assert_cmpint(allow, ==, 7);
		}
	}
}

static void
test_answer_too_long(void)
{
	gsize len = WR_DERP_VERIFY_MAX_ANSWER + 1;
	g_autofree char *json = g_malloc(len);
	g_autoptr(GError) error = NULL;
	gboolean allow = FALSE;

	memset(json, ' ', len);
	memcpy(json, "{\"Allow\":true}", 14);
	g_assert_false(wr_derp_verify_parse_answer(json, len, &allow, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "more than"));
	g_clear_error(&error);
	g_assert_true(wr_derp_verify_parse_answer(json, len - 1, &allow, &error));
	g_assert_no_error(error);
	g_assert_true(allow);
}

int
main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/derp-verify/allowlist/good", test_allowlist_good);
	g_test_add_func("/warren/derp-verify/allowlist/empty", test_allowlist_empty);
	g_test_add_func("/warren/derp-verify/allowlist/bad", test_allowlist_bad);
	g_test_add_func("/warren/derp-verify/allowlist/nul", test_allowlist_nul);
	g_test_add_func("/warren/derp-verify/allowlist/binary", test_allowlist_binary_shown_safely);
	g_test_add_func("/warren/derp-verify/answer", test_answer);
	g_test_add_func("/warren/derp-verify/answer/too-long", test_answer_too_long);
	return g_test_run();
}
