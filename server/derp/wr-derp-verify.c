/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "warren-derp"

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wr-derp-verify.h"
#include "wr-key.h"

GHashTable *
wr_derp_allowlist_parse(const char *name, const char *data, gsize len, GError **error)
{
	g_autoptr(GHashTable) set = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
							  (GDestroyNotify) g_bytes_unref, NULL);
	const char *p = data;
	const char *end = data + len;
	guint lineno = 0;

	if (memchr(data, '\0', len) != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: contains a NUL byte; not a text file", name);
		return NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (gsize) (end - p));
		const char *eol = nl != NULL ? nl : end;
		g_autofree char *line = g_strndup(p, (gsize) (eol - p));
		uint8_t key[32];

		lineno++;
		p = nl != NULL ? nl + 1 : end;
		g_strstrip(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (!wr_key_from_text(key, WR_KEY_KIND_NODE, line)) {
			g_autofree char *shown = g_utf8_make_valid(line, MIN(strlen(line), 80));

			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s:%u: \"%s\" is not a node key (nodekey: and 64 lowercase "
				    "hex digits)",
				    name, lineno, shown);
			return NULL;
		}
		if (g_hash_table_size(set) >= WR_DERP_ALLOWLIST_MAX_KEYS) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s:%u: more than %u keys", name, lineno,
				    WR_DERP_ALLOWLIST_MAX_KEYS);
			return NULL;
		}
		g_hash_table_add(set, g_bytes_new(key, sizeof(key)));
	}
	return g_steal_pointer(&set);
}

gboolean
wr_derp_allowlist_contains(GHashTable *set, const guint8 key[32])
{
	g_autoptr(GBytes) k = g_bytes_new_static(key, 32);

	return g_hash_table_contains(set, k);
}

gboolean
wr_derp_verify_parse_answer(const void *data, gsize len, gboolean *allow, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) local = NULL;
	JsonNode *root;
	JsonNode *member;

	if (len > WR_DERP_VERIFY_MAX_ANSWER) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the verifier's answer is %" G_GSIZE_FORMAT " bytes, more than %u", len,
			    WR_DERP_VERIFY_MAX_ANSWER);
		return FALSE;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, data, (gssize) len, &local)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the verifier's answer is not JSON: %s", local->message);
		return FALSE;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the verifier's answer is not a JSON object");
		return FALSE;
	}
	member = json_object_get_member(json_node_get_object(root), "Allow");
	if (member == NULL || !JSON_NODE_HOLDS_VALUE(member) ||
	    json_node_get_value_type(member) != G_TYPE_BOOLEAN) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the verifier's answer has no boolean \"Allow\"");
		return FALSE;
	}
	*allow = json_node_get_boolean(member);
	return TRUE;
}
