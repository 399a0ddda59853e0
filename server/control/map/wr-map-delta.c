/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Map deltas: see wr-map-delta.h.
 */

#define G_LOG_DOMAIN "WrMapDelta"

#include "config.h"

#include <string.h>

#include "wr-map-delta.h"

G_DEFINE_QUARK(wr - map - delta - error - quark, wr_map_delta_error)

/* ---- nodes ---- */

static GStrv
strv_empty(void)
{
	return g_new0(char *, 1);
}

WrMapNode *
wr_map_node_new(gint64 id)
{
	WrMapNode *node = g_new0(WrMapNode, 1);

	node->id = id;
	node->name = g_strdup("");
	node->dns_name = g_strdup("");
	node->node_key = g_strdup("");
	node->disco_key = g_strdup("");
	node->addresses = strv_empty();
	node->allowed_ips = strv_empty();
	node->endpoints = strv_empty();
	node->primary_routes = strv_empty();
	node->tags = strv_empty();
	return node;
}

static GStrv
strv_dup(GStrv v)
{
	return v != NULL ? g_strdupv(v) : strv_empty();
}

WrMapNode *
wr_map_node_copy(const WrMapNode *node)
{
	WrMapNode *copy = g_new0(WrMapNode, 1);

	*copy = *node;
	copy->name = g_strdup(node->name != NULL ? node->name : "");
	copy->dns_name = g_strdup(node->dns_name != NULL ? node->dns_name : "");
	copy->node_key = g_strdup(node->node_key != NULL ? node->node_key : "");
	copy->disco_key = g_strdup(node->disco_key != NULL ? node->disco_key : "");
	copy->addresses = strv_dup(node->addresses);
	copy->allowed_ips = strv_dup(node->allowed_ips);
	copy->endpoints = strv_dup(node->endpoints);
	copy->hostinfo = node->hostinfo != NULL ? json_node_copy(node->hostinfo) : NULL;
	copy->primary_routes = strv_dup(node->primary_routes);
	copy->tags = strv_dup(node->tags);
	return copy;
}

void
wr_map_node_free(WrMapNode *node)
{
	if (node == NULL)
		return;
	g_free(node->name);
	g_free(node->dns_name);
	g_free(node->node_key);
	g_free(node->disco_key);
	g_strfreev(node->addresses);
	g_strfreev(node->allowed_ips);
	g_strfreev(node->endpoints);
	if (node->hostinfo != NULL)
		json_node_unref(node->hostinfo);
	g_strfreev(node->primary_routes);
	g_strfreev(node->tags);
	g_free(node);
}

static gboolean
str_eq(const char *a, const char *b)
{
	return g_strcmp0(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static gboolean
strv_eq(GStrv a, GStrv b)
{
	guint na = a != NULL ? g_strv_length(a) : 0;
	guint nb = b != NULL ? g_strv_length(b) : 0;

	if (na != nb)
		return FALSE;
	for (guint i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]) != 0)
			return FALSE;
	}
	return TRUE;
}

static gboolean
hostinfo_is_empty(JsonNode *h)
{
	return h == NULL ||
	       (JSON_NODE_HOLDS_OBJECT(h) && json_object_get_size(json_node_get_object(h)) == 0);
}

static gboolean
hostinfo_eq(JsonNode *a, JsonNode *b)
{
	if (hostinfo_is_empty(a) || hostinfo_is_empty(b))
		return hostinfo_is_empty(a) && hostinfo_is_empty(b);
	return json_node_equal(a, b);
}

/* the fields a peers_patch entry may carry */
static gboolean
patchable_equal(const WrMapNode *a, const WrMapNode *b)
{
	return strv_eq(a->endpoints, b->endpoints) && a->derp_region == b->derp_region &&
	       !a->online == !b->online && a->last_seen == b->last_seen &&
	       str_eq(a->node_key, b->node_key) && str_eq(a->disco_key, b->disco_key);
}

/* every other field */
static gboolean
fixed_equal(const WrMapNode *a, const WrMapNode *b)
{
	return a->id == b->id && str_eq(a->name, b->name) && str_eq(a->dns_name, b->dns_name) &&
	       a->user_id == b->user_id && strv_eq(a->addresses, b->addresses) &&
	       strv_eq(a->allowed_ips, b->allowed_ips) && hostinfo_eq(a->hostinfo, b->hostinfo) &&
	       a->key_expiry == b->key_expiry && !a->exit_node_option == !b->exit_node_option &&
	       strv_eq(a->primary_routes, b->primary_routes) && strv_eq(a->tags, b->tags);
}

gboolean
wr_map_node_equal(const WrMapNode *a, const WrMapNode *b)
{
	return fixed_equal(a, b) && patchable_equal(a, b);
}

static void
add_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, value != NULL ? value : "");
}

static void
add_strv(JsonBuilder *b, const char *name, GStrv v)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (guint i = 0; v != NULL && v[i] != NULL; i++)
		json_builder_add_string_value(b, v[i]);
	json_builder_end_array(b);
}

static void
add_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

static void
add_bool(JsonBuilder *b, const char *name, gboolean value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, value ? TRUE : FALSE);
}

static void
node_build(JsonBuilder *b, const WrMapNode *node)
{
	json_builder_begin_object(b);
	add_int(b, "id", node->id);
	add_string(b, "name", node->name);
	add_string(b, "dns_name", node->dns_name);
	add_int(b, "user_id", node->user_id);
	add_string(b, "node_key", node->node_key);
	add_string(b, "disco_key", node->disco_key);
	add_strv(b, "addresses", node->addresses);
	add_strv(b, "allowed_ips", node->allowed_ips);
	add_strv(b, "endpoints", node->endpoints);
	add_int(b, "derp_region", node->derp_region);
	json_builder_set_member_name(b, "hostinfo");
	if (hostinfo_is_empty(node->hostinfo)) {
		json_builder_begin_object(b);
		json_builder_end_object(b);
	} else {
		json_builder_add_value(b, json_node_copy(node->hostinfo));
	}
	add_bool(b, "online", node->online);
	add_int(b, "last_seen", node->last_seen);
	add_int(b, "key_expiry", node->key_expiry);
	add_bool(b, "exit_node_option", node->exit_node_option);
	add_strv(b, "primary_routes", node->primary_routes);
	add_strv(b, "tags", node->tags);
	json_builder_end_object(b);
}

JsonNode *
wr_map_node_to_json(const WrMapNode *node)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	node_build(b, node);
	return json_builder_get_root(b);
}

/* readers: a missing member leaves *out alone, a mistyped one is an error */

static gboolean
invalid(GError **error, const char *name, const char *what)
{
	g_set_error(error, WR_MAP_DELTA_ERROR, WR_MAP_DELTA_ERROR_INVALID, "\"%s\" is not %s", name,
		    what);
	return FALSE;
}

static gboolean
read_int(JsonObject *o, const char *name, gint64 *out, GError **error)
{
	JsonNode *m = json_object_get_member(o, name);

	if (m == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_INT64)
		return invalid(error, name, "an integer");
	*out = json_node_get_int(m);
	return TRUE;
}

static gboolean
read_region(JsonObject *o, const char *name, gint *out, GError **error)
{
	gint64 v = *out;

	if (!read_int(o, name, &v, error))
		return FALSE;
	if (v < G_MININT || v > G_MAXINT)
		return invalid(error, name, "a region id");
	*out = (gint) v;
	return TRUE;
}

static gboolean
read_bool(JsonObject *o, const char *name, gboolean *out, GError **error)
{
	JsonNode *m = json_object_get_member(o, name);

	if (m == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_BOOLEAN)
		return invalid(error, name, "a boolean");
	*out = json_node_get_boolean(m);
	return TRUE;
}

static gboolean
read_string(JsonObject *o, const char *name, char **out, GError **error)
{
	JsonNode *m = json_object_get_member(o, name);

	if (m == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_STRING)
		return invalid(error, name, "a string");
	g_free(*out);
	*out = g_strdup(json_node_get_string(m));
	return TRUE;
}

static gboolean
read_strv(JsonObject *o, const char *name, GStrv *out, GError **error)
{
	JsonNode *m = json_object_get_member(o, name);
	JsonArray *a;
	GStrv v;
	guint n;

	if (m == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(m))
		return invalid(error, name, "an array of strings");
	a = json_node_get_array(m);
	n = json_array_get_length(a);
	for (guint i = 0; i < n; i++) {
		JsonNode *e = json_array_get_element(a, i);

		if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING)
			return invalid(error, name, "an array of strings");
	}
	v = g_new0(char *, n + 1);
	for (guint i = 0; i < n; i++)
		v[i] = g_strdup(json_array_get_string_element(a, i));
	g_strfreev(*out);
	*out = v;
	return TRUE;
}

static gboolean
read_id(JsonNode *json, gint64 *id, GError **error)
{
	JsonObject *o;
	JsonNode *m;

	if (json == NULL || !JSON_NODE_HOLDS_OBJECT(json))
		return invalid(error, "node", "an object");
	o = json_node_get_object(json);
	m = json_object_get_member(o, "id");
	if (m == NULL)
		return invalid(error, "id", "present");
	return read_int(o, "id", id, error);
}

/* the members a peers_patch entry may carry */
static gboolean
read_patchable(JsonObject *o, WrMapNode *node, GError **error)
{
	return read_strv(o, "endpoints", &node->endpoints, error) &&
	       read_region(o, "derp_region", &node->derp_region, error) &&
	       read_bool(o, "online", &node->online, error) &&
	       read_int(o, "last_seen", &node->last_seen, error) &&
	       read_string(o, "node_key", &node->node_key, error) &&
	       read_string(o, "disco_key", &node->disco_key, error);
}

WrMapNode *
wr_map_node_from_json(JsonNode *json, GError **error)
{
	g_autoptr(WrMapNode) node = NULL;
	JsonObject *o;
	JsonNode *h;
	gint64 id = 0;

	if (!read_id(json, &id, error))
		return NULL;
	node = wr_map_node_new(id);
	o = json_node_get_object(json);
	if (!read_string(o, "name", &node->name, error) ||
	    !read_string(o, "dns_name", &node->dns_name, error) ||
	    !read_int(o, "user_id", &node->user_id, error) ||
	    !read_strv(o, "addresses", &node->addresses, error) ||
	    !read_strv(o, "allowed_ips", &node->allowed_ips, error) ||
	    !read_patchable(o, node, error) ||
	    !read_int(o, "key_expiry", &node->key_expiry, error) ||
	    !read_bool(o, "exit_node_option", &node->exit_node_option, error) ||
	    !read_strv(o, "primary_routes", &node->primary_routes, error) ||
	    !read_strv(o, "tags", &node->tags, error))
		return NULL;
	h = json_object_get_member(o, "hostinfo");
	if (h != NULL) {
		if (!JSON_NODE_HOLDS_OBJECT(h)) {
			invalid(error, "hostinfo", "an object");
			return NULL;
		}
		node->hostinfo = json_node_copy(h);
	}
	return g_steal_pointer(&node);
}

/* ---- views ---- */

WrMapView *
wr_map_view_new(void)
{
	WrMapView *view = g_new0(WrMapView, 1);

	view->peers = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
					    (GDestroyNotify) wr_map_node_free);
	return view;
}

WrMapView *
wr_map_view_copy(const WrMapView *view)
{
	WrMapView *copy = wr_map_view_new();
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, view->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		wr_map_view_put(copy, wr_map_node_copy(value));
	copy->packet_filter = g_strdup(view->packet_filter);
	copy->derp_map = g_strdup(view->derp_map);
	copy->dns = g_strdup(view->dns);
	return copy;
}

void
wr_map_view_free(WrMapView *view)
{
	if (view == NULL)
		return;
	g_hash_table_unref(view->peers);
	g_free(view->packet_filter);
	g_free(view->derp_map);
	g_free(view->dns);
	g_free(view);
}

void
wr_map_view_put(WrMapView *view, WrMapNode *node)
{
	/* replace, not insert: the key points into the node, so it must change with it */
	g_hash_table_replace(view->peers, &node->id, node);
}

gboolean
wr_map_view_remove(WrMapView *view, gint64 id)
{
	return g_hash_table_remove(view->peers, &id);
}

const WrMapNode *
wr_map_view_lookup(const WrMapView *view, gint64 id)
{
	return g_hash_table_lookup(view->peers, &id);
}

/* text as JSON; text that does not parse stays a JSON string */
static JsonNode *
text_to_json(const char *text)
{
	JsonNode *node = json_from_string(text, NULL);

	if (node == NULL) {
		node = json_node_new(JSON_NODE_VALUE);
		json_node_set_string(node, text);
	}
	return node;
}

static gboolean
text_json_eq(const char *a, const char *b)
{
	g_autoptr(JsonNode) ja = NULL;
	g_autoptr(JsonNode) jb = NULL;

	if (a == NULL || b == NULL)
		return a == b;
	if (strcmp(a, b) == 0)
		return TRUE;
	ja = text_to_json(a);
	jb = text_to_json(b);
	return json_node_equal(ja, jb);
}

gboolean
wr_map_view_equal(const WrMapView *a, const WrMapView *b)
{
	GHashTableIter it;
	gpointer value;

	if (g_hash_table_size(a->peers) != g_hash_table_size(b->peers))
		return FALSE;
	g_hash_table_iter_init(&it, a->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const WrMapNode *na = value;
		const WrMapNode *nb = wr_map_view_lookup(b, na->id);

		if (nb == NULL || !wr_map_node_equal(na, nb))
			return FALSE;
	}
	return text_json_eq(a->packet_filter, b->packet_filter) &&
	       text_json_eq(a->derp_map, b->derp_map) && text_json_eq(a->dns, b->dns);
}

/* ---- compute ---- */

static gint
cmp_id(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *) a;
	gint64 y = *(const gint64 *) b;

	return x < y ? -1 : x > y;
}

static void
add_patch(JsonBuilder *b, const WrMapNode *o, const WrMapNode *n)
{
	json_builder_begin_object(b);
	add_int(b, "id", n->id);
	if (!strv_eq(o->endpoints, n->endpoints))
		add_strv(b, "endpoints", n->endpoints);
	if (o->derp_region != n->derp_region)
		add_int(b, "derp_region", n->derp_region);
	if (!o->online != !n->online)
		add_bool(b, "online", n->online);
	if (o->last_seen != n->last_seen)
		add_int(b, "last_seen", n->last_seen);
	if (!str_eq(o->node_key, n->node_key))
		add_string(b, "node_key", n->node_key);
	if (!str_eq(o->disco_key, n->disco_key))
		add_string(b, "disco_key", n->disco_key);
	json_builder_end_object(b);
}

static gboolean
add_text(JsonBuilder *b, const char *name, const char *old, const char *new)
{
	if (new == NULL || g_strcmp0(old, new) == 0)
		return FALSE;
	json_builder_set_member_name(b, name);
	json_builder_add_value(b, text_to_json(new));
	return TRUE;
}

gboolean
wr_map_delta_compute(const WrMapView *old, const WrMapView *new, JsonNode **out)
{
	g_autoptr(GArray) changed = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) patched = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) removed = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(JsonBuilder) b = json_builder_new();
	gboolean any = FALSE;
	GHashTableIter it;
	gpointer value;

	g_return_val_if_fail(old != NULL && new != NULL &&out != NULL, FALSE);
	*out = NULL;

	g_hash_table_iter_init(&it, new->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const WrMapNode *n = value;
		const WrMapNode *o = wr_map_view_lookup(old, n->id);

		if (o == NULL || !fixed_equal(o, n))
			g_array_append_val(changed, n->id);
		else if (!patchable_equal(o, n))
			g_array_append_val(patched, n->id);
	}
	g_hash_table_iter_init(&it, old->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const WrMapNode *o = value;

		if (wr_map_view_lookup(new, o->id) == NULL)
			g_array_append_val(removed, o->id);
	}
	g_array_sort(changed, cmp_id);
	g_array_sort(patched, cmp_id);
	g_array_sort(removed, cmp_id);

	json_builder_begin_object(b);
	if (changed->len > 0) {
		json_builder_set_member_name(b, "peers_changed");
		json_builder_begin_array(b);
		for (guint i = 0; i < changed->len; i++)
			node_build(b, wr_map_view_lookup(new, g_array_index(changed, gint64, i)));
		json_builder_end_array(b);
		any = TRUE;
	}
	if (removed->len > 0) {
		json_builder_set_member_name(b, "peers_removed");
		json_builder_begin_array(b);
		for (guint i = 0; i < removed->len; i++)
			json_builder_add_int_value(b, g_array_index(removed, gint64, i));
		json_builder_end_array(b);
		any = TRUE;
	}
	if (patched->len > 0) {
		json_builder_set_member_name(b, "peers_patch");
		json_builder_begin_array(b);
		for (guint i = 0; i < patched->len; i++) {
			gint64 id = g_array_index(patched, gint64, i);

			add_patch(b, wr_map_view_lookup(old, id), wr_map_view_lookup(new, id));
		}
		json_builder_end_array(b);
		any = TRUE;
	}
	any |= add_text(b, "packet_filter", old->packet_filter, new->packet_filter);
	any |= add_text(b, "derp_map", old->derp_map, new->derp_map);
	any |= add_text(b, "dns", old->dns, new->dns);
	json_builder_end_object(b);
	if (!any)
		return FALSE;
	*out = json_builder_get_root(b);
	return TRUE;
}

/* ---- apply ---- */

/* *out = NULL when the member is absent */
static gboolean
member_array(JsonObject *o, const char *name, JsonArray **out, GError **error)
{
	JsonNode *m = json_object_get_member(o, name);

	*out = NULL;
	if (m == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(m))
		return invalid(error, name, "an array");
	*out = json_node_get_array(m);
	return TRUE;
}

static gboolean
apply_removed(WrMapView *view, JsonObject *o, GError **error)
{
	JsonArray *a;

	if (!member_array(o, "peers_removed", &a, error))
		return FALSE;
	if (a == NULL)
		return TRUE;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);

		if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_INT64)
			return invalid(error, "peers_removed", "an array of ids");
		wr_map_view_remove(view, json_node_get_int(e));
	}
	return TRUE;
}

static gboolean
apply_changed(WrMapView *view, JsonObject *o, GError **error)
{
	JsonArray *a;

	if (!member_array(o, "peers_changed", &a, error))
		return FALSE;
	if (a == NULL)
		return TRUE;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		WrMapNode *node = wr_map_node_from_json(json_array_get_element(a, i), error);

		if (node == NULL)
			return FALSE;
		wr_map_view_put(view, node);
	}
	return TRUE;
}

static gboolean
apply_patch(WrMapView *view, JsonObject *o, GError **error)
{
	JsonArray *a;

	if (!member_array(o, "peers_patch", &a, error))
		return FALSE;
	if (a == NULL)
		return TRUE;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);
		g_autoptr(WrMapNode) node = NULL;
		const WrMapNode *cur;
		gint64 id = 0;

		if (!read_id(e, &id, error))
			return FALSE;
		cur = wr_map_view_lookup(view, id);
		if (cur == NULL) {
			g_set_error(error, WR_MAP_DELTA_ERROR, WR_MAP_DELTA_ERROR_UNKNOWN,
				    "patch for unknown peer %" G_GINT64_FORMAT, id);
			return FALSE;
		}
		node = wr_map_node_copy(cur);
		if (!read_patchable(json_node_get_object(e), node, error))
			return FALSE;
		wr_map_view_put(view, g_steal_pointer(&node));
	}
	return TRUE;
}

static void
apply_text(JsonObject *o, const char *name, char **text)
{
	JsonNode *m = json_object_get_member(o, name);

	if (m == NULL)
		return;
	g_free(*text);
	*text = json_to_string(m, FALSE);
}

gboolean
wr_map_view_apply(WrMapView *view, JsonNode *delta, GError **error)
{
	JsonObject *o;

	g_return_val_if_fail(view != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (delta == NULL || !JSON_NODE_HOLDS_OBJECT(delta))
		return invalid(error, "delta", "an object");
	o = json_node_get_object(delta);
	if (!apply_removed(view, o, error) || !apply_changed(view, o, error) ||
	    !apply_patch(view, o, error))
		return FALSE;
	apply_text(o, "packet_filter", &view->packet_filter);
	apply_text(o, "derp_map", &view->derp_map);
	apply_text(o, "dns", &view->dns);
	return TRUE;
}
