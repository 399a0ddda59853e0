/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The admin API's request bodies, read and checked (wr-control-admin-request.h).
 */
#include "config.h"

#include <string.h>

#include "wr-addr.h"
#include "wr-control-admin-request.h"

#define HUNDRED_YEARS ((gint64) 100 * 365 * 86400)

static gboolean G_GNUC_PRINTF(2, 3) invalid(GError **error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (error != NULL)
		*error = g_error_new_valist(G_IO_ERROR, G_IO_ERROR_INVALID_DATA, fmt, ap);
	va_end(ap);
	return FALSE;
}

JsonObject *
wr_control_admin_parse_object(const char *data, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) local = NULL;
	JsonNode *root;

	if (data == NULL || len == 0) {
		invalid(error, "the request needs a JSON object body");
		return NULL;
	}
	if (len > G_MAXSSIZE || memchr(data, '\0', len) != NULL) {
		invalid(error, "the body is not JSON text");
		return NULL;
	}
	if (!json_parser_load_from_data(parser, data, (gssize) len, &local)) {
		invalid(error, "the body is not JSON: %s", local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		invalid(error, "the body must be a JSON object");
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

GStrv
wr_control_admin_strv_member(JsonObject *obj, const char *name, gboolean required, GError **error)
{
	JsonNode *n = json_object_get_member(obj, name);
	g_autoptr(GStrvBuilder) list = g_strv_builder_new();
	JsonArray *arr;

	if (n == NULL || JSON_NODE_HOLDS_NULL(n)) {
		if (required) {
			invalid(error, "field %s is missing", name);
			return NULL;
		}
		return g_new0(char *, 1);
	}
	if (!JSON_NODE_HOLDS_ARRAY(n)) {
		invalid(error, "field %s must be a list of strings", name);
		return NULL;
	}
	arr = json_node_get_array(n);
	if (json_array_get_length(arr) > WR_CONTROL_ADMIN_MAX_LIST) {
		invalid(error, "field %s lists more than %d entries", name,
			WR_CONTROL_ADMIN_MAX_LIST);
		return NULL;
	}
	for (guint i = 0; i < json_array_get_length(arr); i++) {
		JsonNode *el = json_array_get_element(arr, i);

		if (!JSON_NODE_HOLDS_VALUE(el) || json_node_get_value_type(el) != G_TYPE_STRING) {
			invalid(error, "field %s[%u] must be a string", name, i);
			return NULL;
		}
		g_strv_builder_add(list, json_node_get_string(el));
	}
	return g_strv_builder_end(list);
}

char *
wr_control_admin_node_name(const char *text, GError **error)
{
	g_autofree char *name = NULL;
	gsize len = text != NULL ? strlen(text) : 0;
	gboolean ok = len > 0 && len <= WR_CONTROL_ADMIN_NAME_MAX;

	if (ok) {
		name = g_ascii_strdown(text, -1);
		ok = name[0] != '-' && name[len - 1] != '-';
	}
	for (gsize i = 0; ok && i < len; i++)
		ok = g_ascii_islower(name[i]) || g_ascii_isdigit(name[i]) || name[i] == '-';
	if (!ok) {
		g_autofree char *shown = g_strescape(text != NULL ? text : "", NULL);

		invalid(error,
			"\"%.80s\" is not a valid node name: 1 to %d letters, digits and inner "
			"hyphens (one DNS label)",
			shown, WR_CONTROL_ADMIN_NAME_MAX);
		return NULL;
	}
	return g_steal_pointer(&name);
}

GStrv
wr_control_admin_tags(const char *const *tags, GError **error)
{
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; tags != NULL && tags[i] != NULL; i++) {
		const char *t = tags[i];
		gsize len = strlen(t);
		gboolean ok =
			g_str_has_prefix(t, "tag:") && len > 4 && len <= WR_CONTROL_ADMIN_TAG_MAX;

		for (gsize j = 4; ok && j < len; j++)
			ok = g_ascii_isalnum(t[j]) || t[j] == '-' || t[j] == '_';
		if (!ok) {
			g_autofree char *shown = g_strescape(t, NULL);

			invalid(error,
				"\"%.140s\" is not a tag: tags are tag:<name>, the name of "
				"letters, "
				"digits, - and _",
				shown);
			return NULL;
		}
		if (!g_ptr_array_find_with_equal_func(list, t, g_str_equal, NULL))
			g_ptr_array_add(list, g_strdup(t));
	}
	if (list->len > WR_CONTROL_ADMIN_MAX_TAGS) {
		invalid(error, "more than %d tags", WR_CONTROL_ADMIN_MAX_TAGS);
		return NULL;
	}
	g_ptr_array_add(list, NULL);
	return (GStrv) g_ptr_array_free(g_steal_pointer(&list), FALSE);
}

GStrv
wr_control_admin_routes(const char *const *routes, GError **error)
{
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; routes != NULL && routes[i] != NULL; i++) {
		WrCidr cidr;
		char buf[WR_CIDR_STRLEN];

		if (strchr(routes[i], '/') == NULL || !wr_cidr_parse(&cidr, routes[i])) {
			g_autofree char *shown = g_strescape(routes[i], NULL);

			invalid(error, "\"%.80s\" is not a CIDR prefix (e.g. 10.0.0.0/24, ::/0)",
				shown);
			return NULL;
		}
		wr_cidr_mask(&cidr);
		wr_cidr_format(&cidr, buf);
		if (!g_ptr_array_find_with_equal_func(list, buf, g_str_equal, NULL))
			g_ptr_array_add(list, g_strdup(buf));
	}
	g_ptr_array_add(list, NULL);
	return (GStrv) g_ptr_array_free(g_steal_pointer(&list), FALSE);
}

char *
wr_control_admin_rename_parse(const char *data, gsize len, GError **error)
{
	g_autoptr(JsonObject) obj = wr_control_admin_parse_object(data, len, error);
	JsonNode *n;

	if (obj == NULL)
		return NULL;
	n = json_object_get_member(obj, "name");
	if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_STRING) {
		invalid(error, "field name must be a string");
		return NULL;
	}
	return wr_control_admin_node_name(json_node_get_string(n), error);
}

GStrv
wr_control_admin_tags_parse(const char *data, gsize len, GError **error)
{
	g_autoptr(JsonObject) obj = wr_control_admin_parse_object(data, len, error);
	g_auto(GStrv) given = NULL;

	if (obj == NULL)
		return NULL;
	given = wr_control_admin_strv_member(obj, "tags", TRUE, error);
	if (given == NULL)
		return NULL;
	return wr_control_admin_tags((const char *const *) given, error);
}

GStrv
wr_control_admin_routes_parse(const char *data, gsize len, GError **error)
{
	g_autoptr(JsonObject) obj = wr_control_admin_parse_object(data, len, error);
	g_auto(GStrv) given = NULL;

	if (obj == NULL)
		return NULL;
	given = wr_control_admin_strv_member(obj, "approve", TRUE, error);
	if (given == NULL)
		return NULL;
	return wr_control_admin_routes((const char *const *) given, error);
}

static gboolean
member_bool(JsonObject *obj, const char *name, gboolean *out, GError **error)
{
	JsonNode *n = json_object_get_member(obj, name);

	if (n == NULL || JSON_NODE_HOLDS_NULL(n))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return invalid(error, "field %s must be true or false", name);
	*out = json_node_get_boolean(n);
	return TRUE;
}

static gboolean
member_uint(JsonObject *obj, const char *name, gint64 *out, GError **error)
{
	JsonNode *n = json_object_get_member(obj, name);

	if (n == NULL || JSON_NODE_HOLDS_NULL(n))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
	    json_node_get_int(n) < 0)
		return invalid(error, "field %s must be a non-negative whole number", name);
	*out = json_node_get_int(n);
	return TRUE;
}

void
wr_control_admin_authkey_free(WrControlAdminAuthkey *req)
{
	if (req == NULL)
		return;
	g_strfreev(req->tags);
	g_free(req->user_login);
	g_free(req);
}

WrControlAdminAuthkey *
wr_control_admin_authkey_parse(const char *data, gsize len, gint64 now, GError **error)
{
	g_autoptr(JsonObject) obj = wr_control_admin_parse_object(data, len, error);
	g_autoptr(WrControlAdminAuthkey) req = g_new0(WrControlAdminAuthkey, 1);
	g_auto(GStrv) given = NULL;
	gint64 expiry = 0, expiration = 0;
	JsonNode *user;

	if (obj == NULL || !member_bool(obj, "reusable", &req->reusable, error) ||
	    !member_bool(obj, "ephemeral", &req->ephemeral, error) ||
	    !member_uint(obj, "expiry", &expiry, error) ||
	    !member_uint(obj, "expiration", &expiration, error))
		return NULL;
	given = wr_control_admin_strv_member(obj, "tags", FALSE, error);
	if (given == NULL)
		return NULL;
	req->tags = wr_control_admin_tags((const char *const *) given, error);
	if (req->tags == NULL)
		return NULL;
	user = json_object_get_member(obj, "user");
	if (user != NULL && JSON_NODE_HOLDS_VALUE(user) &&
	    json_node_get_value_type(user) == G_TYPE_INT64 && json_node_get_int(user) > 0) {
		req->user_id = json_node_get_int(user);
	} else if (user != NULL && JSON_NODE_HOLDS_VALUE(user) &&
		   json_node_get_value_type(user) == G_TYPE_STRING &&
		   json_node_get_string(user)[0] != '\0') {
		req->user_login = g_strdup(json_node_get_string(user));
	} else if (user != NULL && !JSON_NODE_HOLDS_NULL(user)) {
		invalid(error, "field user must be a user id or a login name");
		return NULL;
	}
	if (expiry != 0 && expiration != 0) {
		invalid(error,
			"give expiry (a unix time) or expiration (seconds from now), not both");
		return NULL;
	}
	if (expiration > HUNDRED_YEARS || expiry > now + HUNDRED_YEARS) {
		invalid(error, "the expiry is over 100 years ahead");
		return NULL;
	}
	if (expiration != 0)
		expiry = now + expiration;
	if (expiry != 0 && expiry <= now) {
		invalid(error, "the expiry is in the past");
		return NULL;
	}
	if (req->user_id == 0 && req->user_login == NULL && req->tags[0] == NULL) {
		invalid(error, "an auth key needs a user or at least one tag");
		return NULL;
	}
	req->expiry = expiry;
	return g_steal_pointer(&req);
}
