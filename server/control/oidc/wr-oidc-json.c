/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrOidc"

#include "config.h"

#include <math.h>
#include <string.h>

#include "wr-json-check.h"
#include "wr-oidc-error.h"
#include "wr-oidc-json.h"

/* 2^53: beyond it doubles are not whole seconds anyway */
#define SECONDS_LIMIT G_GINT64_CONSTANT(9007199254740992)

JsonObject *
wr_oidc_json_parse_object(const char *data, gsize len, const char *what, gboolean detail,
			  GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) local = NULL;
	JsonNode *root;

	if (len > G_MAXSSIZE || memchr(data, '\0', len) != NULL ||
	    !g_utf8_validate(data, (gssize) len, NULL)) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "%s is not text in UTF-8", what);
		return NULL;
	}
	if (!wr_json_check_depth(data, len, WR_OIDC_JSON_MAX_DEPTH)) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "%s nests more than %d levels deep", what, WR_OIDC_JSON_MAX_DEPTH);
		return NULL;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, data, (gssize) len, &local)) {
		if (detail)
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "%s is not JSON: %s", what, local->message);
		else
			g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
				    "%s is not JSON", what);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, WR_OIDC_ERROR, WR_OIDC_ERROR_BAD_FORMAT,
			    "%s is not a JSON object", what);
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

const char *
wr_oidc_json_get_string(JsonObject *object, const char *name)
{
	JsonNode *node = json_object_get_member(object, name);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

gboolean
wr_oidc_json_get_seconds(JsonObject *object, const char *name, gint64 *out_value)
{
	JsonNode *node = json_object_get_member(object, name);
	GType type;
	gint64 v;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
		return FALSE;
	type = json_node_get_value_type(node);
	if (type == G_TYPE_INT64) {
		v = json_node_get_int(node);
	} else if (type == G_TYPE_DOUBLE) {
		double d = json_node_get_double(node);

		if (isnan(d))
			return FALSE;
		if (d >= (double) SECONDS_LIMIT)
			v = SECONDS_LIMIT;
		else if (d <= -(double) SECONDS_LIMIT)
			v = -SECONDS_LIMIT;
		else
			v = (gint64) d;
	} else {
		return FALSE;
	}
	*out_value = CLAMP(v, -SECONDS_LIMIT, SECONDS_LIMIT);
	return TRUE;
}
