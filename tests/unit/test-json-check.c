/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests for the JSON pre-check (wr-json-check): depth and member limits counted outside
 * strings only, escapes, NUL and \u0000 refusals with the offset of the offending byte,
 * truncated input, and the type names of parsed nodes.
 */

#include "config.h"

#include <glib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "wr-json-check.h"

typedef struct {
	const char *name;
	const char *text;
	gsize len; /* 0: strlen(text) */
	guint max_depth;
	guint max_members;
	WrJsonCheckFlags flags;
	WrJsonCheckResult want;
	gsize want_offset; /* (gsize) -1: the input's length (a pass) */
	guint want_depth;
} CheckCase;

#define LEN ((gsize) -1)

static const CheckCase check_cases[] = {
	{"empty", "", 0, 0, 0, 0, WR_JSON_CHECK_OK, LEN, 0},
	{"scalar-depth-0", "42", 0, 0, 0, 0, WR_JSON_CHECK_OK, LEN, 0},
	{"object-at-0", "{}", 0, 0, 0, 0, WR_JSON_CHECK_TOO_DEEP, 0, 1},
	{"at-limit", "[[[1]]]", 0, 3, 0, 0, WR_JSON_CHECK_OK, LEN, 3},
	{"over-limit", "[[[[1]]]]", 0, 3, 0, 0, WR_JSON_CHECK_TOO_DEEP, 3, 4},
	{"mixed-over", "{\"a\":[{\"b\":[]}]}", 0, 3, 0, 0, WR_JSON_CHECK_TOO_DEEP, 11, 4},
	{"siblings-not-deeper", "[[],[],[[]]]", 0, 3, 0, 0, WR_JSON_CHECK_OK, LEN, 3},
	{"brackets-in-string", "[\"[[[[{{{{\"]", 0, 1, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"escaped-quote", "[\"\\\"[[[[\"]", 0, 1, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"escaped-backslash", "[\"\\\\\",[[]]]", 0, 2, 0, 0, WR_JSON_CHECK_TOO_DEEP, 7, 3},
	{"closers-in-string", "[\"]]]]\",[[]]]", 0, 2, 0, 0, WR_JSON_CHECK_TOO_DEEP, 9, 3},
	{"stray-closers", "]]]][[", 0, 2, 0, 0, WR_JSON_CHECK_OK, LEN, 2},
	{"truncated-open", "[[[", 0, 3, 0, 0, WR_JSON_CHECK_OK, LEN, 3},
	{"truncated-string", "[\"[[[[", 0, 1, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"truncated-escape", "[\"\\", 0, 1, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"members-at-limit", "{\"a\":1,\"b\":{\"c\":2}}", 0, 4, 3, 0, WR_JSON_CHECK_OK, LEN, 2},
	{"members-over", "{\"a\":1,\"b\":{\"c\":2}}", 0, 4, 2, 0, WR_JSON_CHECK_TOO_MANY_MEMBERS,
	 15, 2},
	{"colon-in-string", "{\"a:b:c\":1}", 0, 4, 1, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"nul-allowed", "[1]\0", 4, 1, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"nul-refused", "[1]\0", 4, 1, 0, WR_JSON_CHECK_REFUSE_NUL, WR_JSON_CHECK_NUL_BYTE, 3, 1},
	{"nul-in-string", "[\"ab\0\"]", 7, 1, 0, WR_JSON_CHECK_REFUSE_NUL, WR_JSON_CHECK_NUL_BYTE,
	 4, 1},
	{"nul-escaped", "[\"a\\\0\"]", 7, 1, 0, WR_JSON_CHECK_REFUSE_NUL, WR_JSON_CHECK_NUL_BYTE, 4,
	 1},
	{"nul-escape", "[\"ab\\u0000\"]", 0, 1, 0, WR_JSON_CHECK_REFUSE_NUL,
	 WR_JSON_CHECK_NUL_ESCAPE, 4, 1},
	{"nul-escape-allowed", "[\"ab\\u0000\"]", 0, 1, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"nul-escape-upper", "[\"\\U0000\\u0000\"]", 0, 1, 0, WR_JSON_CHECK_REFUSE_NUL,
	 WR_JSON_CHECK_NUL_ESCAPE, 8, 1},
	{"nul-escape-first", "[\"\\u0000\"]", 0, 1, 0, WR_JSON_CHECK_REFUSE_NUL,
	 WR_JSON_CHECK_NUL_ESCAPE, 2, 1},
	{"escaped-u-not-nul", "[\"\\\\u0000\",\"\\u0001\"]", 0, 1, 0, WR_JSON_CHECK_REFUSE_NUL,
	 WR_JSON_CHECK_OK, LEN, 1},
	{"nul-escape-outside-string", "[\\u0000]", 0, 1, 0, WR_JSON_CHECK_REFUSE_NUL,
	 WR_JSON_CHECK_OK, LEN, 1},
	{"nul-escape-truncated", "[\"\\u000", 0, 1, 0, WR_JSON_CHECK_REFUSE_NUL, WR_JSON_CHECK_OK,
	 LEN, 1},
	/* after \u and a hex digit, json-glib 1.6 takes up to four hex digits and swallows the
	 * first byte that is not one, even a quote (found by fuzz-json-check); after \u and
	 * anything else, nothing */
	{"u-escape-swallows-quote", "[\"}\\\"\\u~\\u0B\"}\",[0]]", 0, 1, 0, 0,
	 WR_JSON_CHECK_TOO_DEEP, 16, 2},
	{"u-escape-four-hex", "[\"\\u0041\",[1]]", 0, 1, 0, 0, WR_JSON_CHECK_TOO_DEEP, 10, 2},
	{"u-escape-truncated", "[\"\\u00", 0, 1, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"u-escape-no-hex-quote", "[\"\\u\",[1]]", 0, 1, 0, 0, WR_JSON_CHECK_TOO_DEEP, 6, 2},
	{"u-escape-three-hex-quote", "[\"\\u0B\"}\",[1]]", 0, 1, 0, 0, WR_JSON_CHECK_TOO_DEEP, 10,
	 2},
	{"u-escape-nul", "[\"\\u0\0\"]", 8, 1, 0, WR_JSON_CHECK_REFUSE_NUL, WR_JSON_CHECK_NUL_BYTE,
	 5, 1},
	/* json-glib takes 'strings': a '"' in them hides nothing */
	{"quote-in-sq-string", "['\"',[[[1]]],'\"']", 0, 3, 0, 0, WR_JSON_CHECK_TOO_DEEP, 7, 4},
	{"brackets-in-sq-string", "['[[[[', 1]", 0, 1, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"backslash-in-sq-string", "['a\\', [[1]]]", 0, 2, 0, 0, WR_JSON_CHECK_TOO_DEEP, 8, 3},
	{"sq-in-string", "[\"'\",[[1]]]", 0, 2, 0, 0, WR_JSON_CHECK_TOO_DEEP, 6, 3},
	{"comment-in-string", "[\"/*\",[[1]],\"*/\"]", 0, 2, 0, 0, WR_JSON_CHECK_TOO_DEEP, 7, 3},
	/* a comment could hide a quote, and the quote the brackets after it: refused */
	{"comment-hides-quote", "[/* \" */ [[[1]]] /* \" */]", 0, 8, 0, 0, WR_JSON_CHECK_COMMENT, 1,
	 1},
	{"line-comment", "[1 // x\n]", 0, 8, 0, 0, WR_JSON_CHECK_COMMENT, 3, 1},
	{"slash-in-string", "[\"a/b\", 'c/d']", 0, 8, 0, 0, WR_JSON_CHECK_OK, LEN, 1},
	{"first-violation-wins", "[[\0", 3, 1, 0, WR_JSON_CHECK_REFUSE_NUL, WR_JSON_CHECK_TOO_DEEP,
	 1, 2},
};

static void
test_table(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(check_cases); i++) {
		const CheckCase *c = &check_cases[i];
		gsize len = c->len != 0 ? c->len : strlen(c->text);
		WrJsonCheckLimits limits = {
			.max_depth = c->max_depth,
			.max_members = c->max_members,
			.flags = c->flags,
		};
		WrJsonCheckReport report;
		WrJsonCheckResult r;

		g_test_message("case %s", c->name);
		memset(&report, 0xA5, sizeof(report));
		r = wr_json_check(c->text, len, &limits, &report);
		g_assert_cmpint(r, ==, c->want);
		g_assert_cmpuint(report.offset, ==, c->want_offset == LEN ? len : c->want_offset);
		g_assert_cmpuint(report.depth, ==, c->want_depth);
		/* the report is optional and changes nothing */
		g_assert_cmpint(wr_json_check(c->text, len, &limits, NULL), ==, r);
		if (c->max_members == 0 && c->flags == 0)
			g_assert_cmpint(wr_json_check_depth(c->text, len, c->max_depth), ==,
					r == WR_JSON_CHECK_OK);
	}
}

static void
test_members_counted(void)
{
	const char *text = "{\"a\":{\"b\":1,\"c\":\"x:y\"},\"d\":[]}";
	WrJsonCheckLimits limits = {.max_depth = 8};
	WrJsonCheckReport report;

	g_assert_cmpint(wr_json_check(text, strlen(text), &limits, &report), ==, WR_JSON_CHECK_OK);
	g_assert_cmpuint(report.members, ==, 4);
	g_assert_cmpuint(report.depth, ==, 2);
	g_assert_cmpuint(report.offset, ==, strlen(text));
}

static void
test_null_data(void)
{
	WrJsonCheckLimits limits = {.max_depth = 0, .flags = WR_JSON_CHECK_REFUSE_NUL};

	g_assert_cmpint(wr_json_check(NULL, 0, &limits, NULL), ==, WR_JSON_CHECK_OK);
	g_assert_true(wr_json_check_depth(NULL, 0, 0));
}

/* deep input is refused at the first bracket over the limit, however long it is */
static void
test_deep(void)
{
	gsize len = 1000000;
	g_autofree char *text = g_malloc(len);
	WrJsonCheckLimits limits = {.max_depth = 64};
	WrJsonCheckReport report;

	memset(text, '[', len);
	g_assert_cmpint(wr_json_check(text, len, &limits, &report), ==, WR_JSON_CHECK_TOO_DEEP);
	g_assert_cmpuint(report.offset, ==, 64);
	g_assert_cmpuint(report.depth, ==, 65);
	g_assert_false(wr_json_check_depth(text, len, 64));
	g_assert_true(wr_json_check_depth(text, 64, 64));

	/* the same run after a '"' that json-glib reads as a 'string' */
	memcpy(text, "['\"',", 5);
	g_assert_cmpint(wr_json_check(text, len, &limits, &report), ==, WR_JSON_CHECK_TOO_DEEP);
	g_assert_cmpuint(report.offset, ==, 5 + 63);
}

static void
test_type_names(void)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{"{}", "an object"},   {"[]", "an array"},    {"null", "null"},
		{"\"x\"", "a string"}, {"true", "a boolean"}, {"-7", "an integer"},
		{"1.5", "a number"},   {"1e3", "a number"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonParser) parser = json_parser_new_immutable();
		g_autoptr(GError) error = NULL;

		g_assert_true(json_parser_load_from_data(parser, cases[i].json, -1, &error));
		g_assert_no_error(error);
		g_assert_cmpstr(wr_json_node_type_name(json_parser_get_root(parser)), ==,
				cases[i].want);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/json-check/table", test_table);
	g_test_add_func("/warren/json-check/members-counted", test_members_counted);
	g_test_add_func("/warren/json-check/null-data", test_null_data);
	g_test_add_func("/warren/json-check/deep", test_deep);
	g_test_add_func("/warren/json-check/type-names", test_type_names);
	return g_test_run();
}
