/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for HuJSON (wr-hujson): arbitrary bytes as a HuJSON text.  Besides the
 * sanitizers it checks the contracts: a refusal always comes with G_IO_ERROR_INVALID_DATA and a
 * message that starts with `line:col: `; an accepted text standardizes to the same length with
 * every newline in place, standardizing again changes nothing, the parsed value written back
 * as JSON parses to an equal value and the same text (unless it holds a fractional number, which
 * json-glib 1.6 may write unreadably), and every member of a root object is found by
 * wr_hujson_locate.
 *
 * Input: the HuJSON text, as is.
 */

#define G_LOG_DOMAIN "WrFuzzHujson"

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-hujson.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_error(const GError *error)
{
	guint line = 0;
	guint col = 0;

	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_cmpint(sscanf(error->message, "%u:%u: ", &line, &col), ==, 2);
	g_assert_cmpuint(line, >=, 1);
	g_assert_cmpuint(col, >=, 1);
}

/* whether the tree holds a fractional number (nesting is bounded by WR_HUJSON_MAX_DEPTH) */
static bool
has_double(JsonNode *node)
{
	if (JSON_NODE_HOLDS_OBJECT(node)) {
		g_autoptr(GList) values = json_object_get_values(json_node_get_object(node));

		for (GList *l = values; l != NULL; l = l->next) {
			if (has_double(l->data))
				return true;
		}
		return false;
	}
	if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);

		for (guint i = 0; i < json_array_get_length(array); i++) {
			if (has_double(json_array_get_element(array, i)))
				return true;
		}
		return false;
	}
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_DOUBLE;
}

static void
check_root(const gchar *standard, gsize len, JsonNode *root)
{
	/* json-glib 1.6 writes 2e41 as "2e+41.0", which it cannot read: no round trip for
	 * fractional numbers (the policy has none) */
	if (!has_double(root)) {
		g_autofree gchar *json = json_to_string(root, FALSE);
		g_autoptr(JsonNode) again = json_from_string(json, NULL);
		g_autofree gchar *json2 = NULL;

		g_assert_nonnull(again);
		g_assert_true(json_node_equal(root, again));
		json2 = json_to_string(again, FALSE);
		g_assert_cmpstr(json, ==, json2);
	}

	if (JSON_NODE_HOLDS_OBJECT(root)) {
		g_autoptr(GList) names = json_object_get_members(json_node_get_object(root));

		for (GList *l = names; l != NULL; l = l->next) {
			WrHujsonStep step = {.key = l->data, .index = 0};
			gsize offset = G_MAXSIZE;

			g_assert_true(wr_hujson_locate(standard, len, &step, 1, &offset));
			g_assert_cmpuint(offset, <, len);
		}
	} else if (JSON_NODE_HOLDS_ARRAY(root)) {
		guint n = json_array_get_length(json_node_get_array(root));
		WrHujsonStep step = {.key = NULL, .index = n};
		gsize offset = 0;

		g_assert_false(wr_hujson_locate(standard, len, &step, 1, &offset));
		if (n > 0) {
			step.index = n - 1;
			g_assert_true(wr_hujson_locate(standard, len, &step, 1, &offset));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const gchar *text = (const gchar *) data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error_parse = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *standard = wr_hujson_standardize(text, size, &error);
	g_autofree gchar *twice = NULL;
	g_autofree gchar *parsed_standard = NULL;
	gboolean ok;

	if (standard == NULL) {
		check_error(error);
		g_assert_false(wr_hujson_parse(text, size, &root, NULL, &error_parse));
		g_assert_cmpstr(error_parse->message, ==, error->message);
		return 0;
	}
	g_assert_no_error(error);
	g_assert_cmpuint(strlen(standard), ==, size);
	for (gsize i = 0; i < size; i++)
		g_assert_cmpint(standard[i] == '\n', ==, text[i] == '\n');
	twice = wr_hujson_standardize(standard, size, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(twice, ==, standard);

	ok = wr_hujson_parse(text, size, &root, &parsed_standard, &error_parse);
	if (!ok) {
		check_error(error_parse);
		g_assert_null(root);
		return 0;
	}
	g_assert_no_error(error_parse);
	g_assert_cmpstr(parsed_standard, ==, standard);
	if (root != NULL)
		check_root(standard, size, root);
	return 0;
}
