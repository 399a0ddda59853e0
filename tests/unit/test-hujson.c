/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * HuJSON (wr-hujson): a table of inputs and the standard JSON each becomes (same length, same
 * offsets), a table of refusals with their line:col, and locating values by path.
 */

#define G_LOG_DOMAIN "WrHujsonTest"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-hujson.h"

static void
test_standardize(void)
{
	static const struct {
		const gchar *in;
		const gchar *out;
	} cases[] = {
		{"{}", "{}"},
		{"// c\n{}", "    \n{}"},
		{"{\"a\": 1, // one\n}", "{\"a\": 1        \n}"},
		{"[1, 2,]", "[1, 2 ]"},
		{"[1, 2, /* x\n */ ]", "[1, 2      \n    ]"},
		{"{\"a\":[1,],}", "{\"a\":[1 ] }"},
		{"\"// not a comment\"", "\"// not a comment\""},
		{"\"a,\\\"]\"", "\"a,\\\"]\""},
		{"[\"\\ud83d\\ude00\"]", "[\"\\ud83d\\ude00\"]"},
		{"[\"x\",\n]", "[\"x\" \n]"},
		/* "é" is two bytes that become two spaces */
		{"/*é*/[]", "      []"},
		/* not trailing: left for json-glib to refuse */
		{"[,]", "[,]"},
		{"[1,,]", "[1,,]"},
		{"{,}", "{,}"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *out = NULL;
		gsize len = strlen(cases[i].in);

		{
			/* escaped: meson reads the TAP stream as UTF-8 text */
			g_autofree gchar *shown = g_strescape(cases[i].in, NULL);

			g_test_message("case %" G_GSIZE_FORMAT ": %s", i, shown);
		}
		out = wr_hujson_standardize(cases[i].in, len, &error);
		g_assert_no_error(error);
		g_assert_nonnull(out);
		g_assert_cmpuint(strlen(out), ==, len);
		g_assert_cmpstr(out, ==, cases[i].out);
	}
}

static void
test_parse(void)
{
	static const gchar text[] = "// the policy\n"
				    "{\n"
				    "  \"groups\": {\"group:a\": [\"x@y\",],}, /* trailing */\n"
				    "  \"list\": [1, 2, 3,],\n"
				    "}\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(JsonNode) blank = NULL;
	g_autofree gchar *standard = NULL;
	g_autofree gchar *json = NULL;

	g_assert_true(wr_hujson_parse(text, strlen(text), &root, &standard, &error));
	g_assert_no_error(error);
	json = json_to_string(root, FALSE);
	g_assert_cmpstr(json, ==, "{\"groups\":{\"group:a\":[\"x@y\"]},\"list\":[1,2,3]}");
	g_assert_cmpuint(strlen(standard), ==, strlen(text));

	g_assert_true(wr_hujson_parse(" // only a comment\n /* and another */ ", 38, &blank, NULL,
				      &error));
	g_assert_no_error(error);
	g_assert_null(blank);
}

static void
test_refused(void)
{
	static const struct {
		const gchar *in;
		gssize len; /* -1: strlen */
		const gchar *message;
	} cases[] = {
		{"{\n  /* open", -1, "2:3: unterminated comment"},
		{"{\"a\": \"open}", -1, "1:7: unterminated string"},
		{"[\"a\n\"]", -1, "1:2: unterminated string"},
		{"[1] / 2", -1, "1:5: '/' that starts no comment"},
		{"[\"\\u0000\"]", -1, "1:3: \\u0000 escape in a string"},
		{"[\"a\"]\0", 6, "1:6: NUL byte"},
		{"[\"\xff\"]", -1, "1:3: invalid UTF-8"},
		{"[\"a\\]\"]", -1, "1:4: bad escape in a string"},
		{"[\"\\u12g4\"]", -1, "1:3: bad \\u escape in a string"},
		{"[\"a\tb\"]", -1, "1:4: control character in a string"},
		{"{'s': 1}", -1, "1:2: unexpected character '''"},
		{"[1, -2.5e3, 1e999]", -1, "1:13: number out of range"},
		{"{\"a\": -1e400}", -1, "1:7: number out of range"},
		{"[\"\\udc00\"]", -1, "1:3: unpaired surrogate in a string"},
		{"[\"\\ud800x\"]", -1, "1:3: unpaired surrogate in a string"},
		{"[\"\\ud800\\u0041\"]", -1, "1:3: unpaired surrogate in a string"},
		{"[\"\\ud800\\u00g1\"]", -1, "1:9: bad \\u escape in a string"},
		{"[1]\n\xc3\xa9", -1, "2:1: unexpected character"},
		{"{\"a\": 1,\n  \"b\": x}", -1,
		 "2:8: Parse error: unexpected identifier `x', "
		 "expected value"},
		{"[,]", -1, "1:2: Parse error: unexpected character `,', expected character `]'"},
		{"{\"a\":1,,}", -1,
		 "1:7: Parse error: unexpected character `,', expected string constant"},
		{"{\"a\":1}}", -1,
		 "1:8: Parse error: unexpected character `}', expected end of file"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) root = NULL;
		gsize len = cases[i].len < 0 ? strlen(cases[i].in) : (gsize) cases[i].len;

		{
			/* escaped: meson reads the TAP stream as UTF-8 text */
			g_autofree gchar *shown = g_strescape(cases[i].in, NULL);

			g_test_message("case %" G_GSIZE_FORMAT ": %s", i, shown);
		}
		g_assert_false(wr_hujson_parse(cases[i].in, len, &root, NULL, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpstr(error->message, ==, cases[i].message);
		g_assert_null(root);
	}
}

static void
test_limits(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) deep = g_string_new(NULL);
	g_autofree gchar *big = g_malloc0(WR_HUJSON_MAX_SIZE + 1);
	g_autofree gchar *out = NULL;
	g_autofree gchar *out_big = NULL;

	for (guint i = 0; i < WR_HUJSON_MAX_DEPTH; i++)
		g_string_append_c(deep, '[');
	for (guint i = 0; i < WR_HUJSON_MAX_DEPTH; i++)
		g_string_append_c(deep, ']');
	out = wr_hujson_standardize(deep->str, deep->len, &error);
	g_assert_no_error(error);
	g_assert_nonnull(out);

	g_string_prepend_c(deep, '[');
	g_string_append_c(deep, ']');
	g_assert_null(wr_hujson_standardize(deep->str, deep->len, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_cmpstr(error->message, ==, "1:33: nested more than 32 deep");
	g_clear_error(&error);

	memset(big, ' ', WR_HUJSON_MAX_SIZE + 1);
	out_big = wr_hujson_standardize(big, WR_HUJSON_MAX_SIZE + 1, &error);
	g_assert_null(out_big);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_locate(void)
{
	static const gchar text[] = "{\n"
				    "  \"acls\": [\n"
				    "    {\"src\": [\"a\", \"b\"], /* c */ \"dst\": [\"x:1\"]},\n"
				    "    {\"src\": [\"é\", \"z\"],},\n"
				    "  ],\n"
				    "  \"k\\u0065y\": 1, \"key\": 2,\n"
				    "}";
	static const struct {
		WrHujsonStep steps[4];
		guint n_steps;
		bool found;
		guint line;
		guint col;
	} cases[] = {
		{{{NULL, 0}}, 0, true, 1, 1},
		{{{"acls", 0}}, 1, true, 2, 11},
		{{{"acls", 0}, {NULL, 0}, {"src", 0}, {NULL, 1}}, 4, true, 3, 19},
		{{{"acls", 0}, {NULL, 0}, {"dst", 0}, {NULL, 0}}, 4, true, 3, 41},
		{{{"acls", 0}, {NULL, 1}, {"src", 0}, {NULL, 1}}, 4, true, 4, 19},
		{{{"acls", 0}, {NULL, 2}}, 2, false, 0, 0},
		{{{"nope", 0}}, 1, false, 0, 0},
		{{{"acls", 0}, {"src", 0}}, 2, false, 0, 0},
		/* a repeated key (one spelled with an escape): the last one, as json-glib keeps */
		{{{"key", 0}}, 1, true, 6, 25},
	};
	g_autofree gchar *standard = wr_hujson_standardize(text, strlen(text), NULL);

	g_assert_nonnull(standard);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gsize offset = G_MAXSIZE;
		guint line = 0;
		guint col = 0;
		bool found;

		g_test_message("case %" G_GSIZE_FORMAT, i);
		found = wr_hujson_locate(standard, strlen(text), cases[i].steps, cases[i].n_steps,
					 &offset);
		g_assert_cmpint(found, ==, cases[i].found);
		if (!found) {
			g_assert_cmpuint(offset, ==, G_MAXSIZE);
			continue;
		}
		wr_hujson_line_col(text, strlen(text), offset, &line, &col);
		g_assert_cmpuint(line, ==, cases[i].line);
		g_assert_cmpuint(col, ==, cases[i].col);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/hujson/standardize", test_standardize);
	g_test_add_func("/warren/hujson/parse", test_parse);
	g_test_add_func("/warren/hujson/refused", test_refused);
	g_test_add_func("/warren/hujson/limits", test_limits);
	g_test_add_func("/warren/hujson/locate", test_locate);

	return g_test_run();
}
