/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the JSON pre-check (wr-json-check), against json-glib.  Besides the
 * sanitizers it checks the contract the parsers rely on: whenever the check passes with a depth
 * limit of 32 and NULs refused, json-glib parses the text without crashing, and when json-glib
 * takes the text, the parsed tree is no deeper than the check counted (it can be
 * shallower: json-glib 1.6 may ignore text after the root and replaces repeated members).  A
 * refusal's offset names a byte of the input that is what the refusal says, and the check is
 * deterministic and independent of the optional report.
 *
 * Input: the JSON text, as is.
 */

#define G_LOG_DOMAIN "WrFuzzJsonCheck"

#include "config.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "wr-json-check.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DEPTH 32

/* nesting of objects and arrays in a parsed tree: a scalar is 0 (bounded by MAX_DEPTH) */
static guint
tree_depth(JsonNode *node)
{
	guint deepest = 0;

	if (JSON_NODE_HOLDS_OBJECT(node)) {
		g_autoptr(GList) values = json_object_get_values(json_node_get_object(node));

		/* not MAX(deepest, tree_depth(...)): it would recurse twice per level */
		for (GList *l = values; l != NULL; l = l->next) {
			guint d = tree_depth(l->data);

			deepest = MAX(deepest, d);
		}
		return deepest + 1;
	}
	if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);

		for (guint i = 0; i < json_array_get_length(array); i++) {
			guint d = tree_depth(json_array_get_element(array, i));

			deepest = MAX(deepest, d);
		}
		return deepest + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	const WrJsonCheckLimits limits = {.max_depth = MAX_DEPTH,
					  .flags = WR_JSON_CHECK_REFUSE_NUL};
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) error = NULL;
	WrJsonCheckReport report;
	WrJsonCheckResult r;

	if (size > G_MAXSSIZE)
		return 0;
	r = wr_json_check(text, size, &limits, &report);
	g_assert_cmpint(wr_json_check(text, size, &limits, NULL), ==, r);
	g_assert_cmpuint(report.depth, <=, MAX_DEPTH + 1);
	switch (r) {
	case WR_JSON_CHECK_OK:
		g_assert_cmpuint(report.offset, ==, size);
		g_assert_cmpuint(report.depth, <=, MAX_DEPTH);
		g_assert_null(memchr(text, '\0', size));
		g_assert_true(wr_json_check_depth(text, size, MAX_DEPTH));
		break;
	case WR_JSON_CHECK_TOO_DEEP:
		g_assert_cmpuint(report.offset, <, size);
		g_assert_true(text[report.offset] == '[' || text[report.offset] == '{');
		g_assert_cmpuint(report.depth, ==, MAX_DEPTH + 1);
		g_assert_false(wr_json_check_depth(text, size, MAX_DEPTH));
		return 0;
	case WR_JSON_CHECK_NUL_BYTE:
		g_assert_cmpuint(report.offset, <, size);
		g_assert_cmpint(text[report.offset], ==, '\0');
		return 0;
	case WR_JSON_CHECK_NUL_ESCAPE:
		g_assert_cmpuint(report.offset + 5, <, size);
		g_assert_true(g_ascii_strncasecmp(text + report.offset, "\\u0000", 6) == 0);
		return 0;
	case WR_JSON_CHECK_COMMENT:
		g_assert_cmpuint(report.offset, <, size);
		g_assert_cmpint(text[report.offset], ==, '/');
		g_assert_false(wr_json_check_depth(text, size, MAX_DEPTH));
		return 0;
	default:
		g_assert_not_reached();
	}

	/* passed: json-glib may refuse it, but must not crash or recurse without bound */
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, size > 0 ? text : "", (gssize) size, &error))
		return 0;
	if (json_parser_get_root(parser) != NULL) {
		JsonNode *root = json_parser_get_root(parser);

		/* json-glib 1.6 may ignore text after the root and replaces repeated members,
		 * where the check still counts (text with a '/' outside strings never gets here) */
		g_assert_cmpuint(tree_depth(root), <=, report.depth);
		(void) wr_json_node_type_name(root);
	}
	return 0;
}
