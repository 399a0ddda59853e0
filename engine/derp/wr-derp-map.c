/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrDerpMap"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "wr-derp-map.h"
#include "wr-json-check.h"

/* JSON member names (§6); "omitDefaultRegions" really starts with a lower-case o */
#define M_HOME_PARAMS	       "HomeParams"
#define M_REGION_SCORE	       "RegionScore"
#define M_REGIONS	       "Regions"
#define M_OMIT_DEFAULT_REGIONS "omitDefaultRegions"
#define M_REGION_ID	       "RegionID"
#define M_REGION_CODE	       "RegionCode"
#define M_REGION_NAME	       "RegionName"
#define M_LATITUDE	       "Latitude"
#define M_LONGITUDE	       "Longitude"
#define M_AVOID		       "Avoid"
#define M_NO_MEASURE_NO_HOME   "NoMeasureNoHome"
#define M_NODES		       "Nodes"
#define M_NAME		       "Name"
#define M_HOST_NAME	       "HostName"
#define M_CERT_NAME	       "CertName"
#define M_IPV4		       "IPv4"
#define M_IPV6		       "IPv6"
#define M_STUN_PORT	       "STUNPort"
#define M_STUN_ONLY	       "STUNOnly"
#define M_DERP_PORT	       "DERPPort"
#define M_CAN_PORT80	       "CanPort80"
#define M_INSECURE_FOR_TESTS   "InsecureForTests"
#define M_STUN_TEST_IP	       "STUNTestIP"

#define PORT_MAX      65535
#define LATITUDE_MAX  90.0
#define LONGITUDE_MAX 180.0
/* "9007199254740991" */
#define REGION_ID_MAX_DIGITS 16

static gboolean
fail(GError **error, const gchar *path, const gchar *format, ...) G_GNUC_PRINTF(3, 4);

static gboolean
fail(GError **error, const gchar *path, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", path, msg);
	return FALSE;
}

/* "parent.name", or "name" at the top level (parent "") */
static gchar *
join(const gchar *parent, const gchar *name)
{
	if (parent[0] == '\0')
		return g_strdup(name);
	return g_strdup_printf("%s.%s", parent, name);
}

static void
node_clear(WrDerpNode *node)
{
	g_free(node->name);
	g_free(node->host_name);
	g_free(node->cert_name);
	g_free(node->ipv4);
	g_free(node->ipv6);
	g_free(node->stun_test_ip);
	memset(node, 0, sizeof(*node));
}

static void
region_clear(WrDerpRegion *region)
{
	for (guint i = 0; i < region->n_nodes; i++)
		node_clear(&region->nodes[i]);
	g_free(region->nodes);
	g_free(region->region_code);
	g_free(region->region_name);
	memset(region, 0, sizeof(*region));
}

void
wr_derp_map_free(WrDerpMap *map)
{
	if (map == NULL)
		return;
	for (guint i = 0; i < map->n_regions; i++)
		region_clear(&map->regions[i]);
	g_free(map->regions);
	g_free(map->scores);
	g_free(map);
}

/* the bytes json-glib must never see: NULs (strings would be cut short), \u0000 escapes (the
 * same, once decoded), nesting deeper than WR_DERP_MAP_MAX_DEPTH (its parser recurses) */
static gboolean
prescan(const gchar *data, gsize len, GError **error)
{
	const WrJsonCheckLimits limits = {
		.max_depth = WR_DERP_MAP_MAX_DEPTH,
		.flags = WR_JSON_CHECK_REFUSE_NUL,
	};
	WrJsonCheckReport report;

	if (len > WR_DERP_MAP_MAX_JSON_SIZE)
		return fail(error, "DERP map",
			    "%" G_GSIZE_FORMAT " bytes, more than the %u allowed", len,
			    (guint) WR_DERP_MAP_MAX_JSON_SIZE);
	switch (wr_json_check(data, len, &limits, &report)) {
	case WR_JSON_CHECK_OK:
		break;
	case WR_JSON_CHECK_NUL_BYTE:
		return fail(error, "DERP map", "NUL byte at offset %" G_GSIZE_FORMAT,
			    report.offset);
	case WR_JSON_CHECK_NUL_ESCAPE:
		return fail(error, "DERP map", "\\u0000 escape at offset %" G_GSIZE_FORMAT,
			    report.offset);
	case WR_JSON_CHECK_COMMENT:
		return fail(
			error, "DERP map",
			"'/' outside strings (comments are not JSON) at offset %" G_GSIZE_FORMAT,
			report.offset);
	default:
		return fail(error, "DERP map",
			    "nested more than %u deep at offset %" G_GSIZE_FORMAT,
			    (guint) WR_DERP_MAP_MAX_DEPTH, report.offset);
	}
	return TRUE;
}

/* Go's rule: the last member whose name matches, exactly or case-insensitively; NULL when none
 * or when it is null (a null leaves the field alone) */
static JsonNode *
member(JsonObject *obj, const gchar *name)
{
	JsonNode *found = NULL;
	g_autoptr(GList) names = json_object_get_members(obj);

	for (GList *l = names; l != NULL; l = l->next) {
		if (g_ascii_strcasecmp(l->data, name) == 0)
			found = json_object_get_member(obj, l->data);
	}
	if (found != NULL && JSON_NODE_HOLDS_NULL(found))
		return NULL;
	return found;
}

static const gchar *
node_type_name(JsonNode *node)
{
	/* Go's decoder says "fractional number" where the shared name says "number" */
	if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_DOUBLE)
		return "a fractional number";
	return wr_json_node_type_name(node);
}

static gboolean
is_value(JsonNode *node, GType type)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

/* a string of at most WR_DERP_MAP_MAX_STRING bytes without control characters; absent gives "" */
static gboolean
get_string(JsonObject *obj, const gchar *name, const gchar *parent, gboolean required, gchar **out,
	   GError **error)
{
	JsonNode *node = member(obj, name);
	g_autofree gchar *path = join(parent, name);
	const gchar *s;
	gsize len;

	if (node == NULL) {
		if (required)
			return fail(error, path, "missing");
		*out = g_strdup("");
		return TRUE;
	}
	if (!is_value(node, G_TYPE_STRING))
		return fail(error, path, "%s, not a string", node_type_name(node));
	s = json_node_get_string(node);
	len = strlen(s);
	if (len > WR_DERP_MAP_MAX_STRING)
		return fail(error, path, "%" G_GSIZE_FORMAT " bytes, more than the %u allowed", len,
			    (guint) WR_DERP_MAP_MAX_STRING);
	if (!g_utf8_validate(s, (gssize) len, NULL))
		return fail(error, path, "not UTF-8");
	for (gsize i = 0; i < len; i++) {
		if ((guchar) s[i] < 0x20 || s[i] == 0x7f)
			return fail(error, path, "control character at byte %" G_GSIZE_FORMAT, i);
	}
	if (required && len == 0)
		return fail(error, path, "empty");
	*out = g_strdup(s);
	return TRUE;
}

/* absent gives FALSE */
static gboolean
get_bool(JsonObject *obj, const gchar *name, const gchar *parent, bool *out, GError **error)
{
	JsonNode *node = member(obj, name);

	if (node == NULL) {
		*out = false;
		return TRUE;
	}
	if (!is_value(node, G_TYPE_BOOLEAN)) {
		g_autofree gchar *path = join(parent, name);

		return fail(error, path, "%s, not a boolean", node_type_name(node));
	}
	*out = json_node_get_boolean(node);
	return TRUE;
}

/* a JSON integer (Go refuses 1.0 and 1e3 for an int field); absent gives 0 with *out_present
 * FALSE */
static gboolean
get_int(JsonObject *obj, const gchar *name, const gchar *parent, gint64 *out, gboolean *out_present,
	GError **error)
{
	JsonNode *node = member(obj, name);

	*out_present = node != NULL;
	if (node == NULL) {
		*out = 0;
		return TRUE;
	}
	if (!is_value(node, G_TYPE_INT64)) {
		g_autofree gchar *path = join(parent, name);

		return fail(error, path, "%s, not an integer", node_type_name(node));
	}
	*out = json_node_get_int(node);
	return TRUE;
}

static gboolean
number_value(JsonNode *node, const gchar *path, double *out, GError **error)
{
	double v;

	if (is_value(node, G_TYPE_INT64))
		v = (double) json_node_get_int(node);
	else if (is_value(node, G_TYPE_DOUBLE))
		v = json_node_get_double(node);
	else
		return fail(error, path, "%s, not a number", node_type_name(node));
	if (!isfinite(v))
		return fail(error, path, "not a finite number");
	*out = v;
	return TRUE;
}

/* a number within [-limit, limit]; absent gives 0 */
static gboolean
get_coordinate(JsonObject *obj, const gchar *name, const gchar *parent, double limit, double *out,
	       GError **error)
{
	JsonNode *node = member(obj, name);
	g_autofree gchar *path = join(parent, name);
	double v;

	if (node == NULL) {
		*out = 0;
		return TRUE;
	}
	if (!number_value(node, path, &v, error))
		return FALSE;
	if (v < -limit || v > limit)
		return fail(error, path, "%g is outside [-%g, %g]", v, limit, limit);
	*out = v;
	return TRUE;
}

/* a region ID as a map key: a plain decimal from 1 to 2^53-1, no sign, no leading zero */
static gboolean
parse_region_key(const gchar *key, guint64 *out)
{
	guint64 v = 0;
	gsize len = strlen(key);

	if (len == 0 || len > REGION_ID_MAX_DIGITS || key[0] == '0')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isdigit(key[i]))
			return FALSE;
		v = v * 10 + (guint64) (key[i] - '0');
	}
	if (v > WR_DERP_REGION_ID_MAX)
		return FALSE;
	*out = v;
	return TRUE;
}

static gboolean
is_ip_literal(const gchar *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

/* a DNS name or an IP literal: what goes into TLS SNI and the Host header */
static gboolean
is_host_name(const gchar *s)
{
	if (is_ip_literal(s))
		return TRUE;
	for (const gchar *p = s; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean
parse_node(JsonNode *json, const gchar *path, guint64 region_id, WrDerpNode *node, GError **error)
{
	JsonObject *obj;
	gint64 v;
	gboolean present;

	if (!JSON_NODE_HOLDS_OBJECT(json))
		return fail(error, path, "%s, not an object", node_type_name(json));
	obj = json_node_get_object(json);

	if (!get_string(obj, M_NAME, path, TRUE, &node->name, error))
		return FALSE;
	if (!get_int(obj, M_REGION_ID, path, &v, &present, error))
		return FALSE;
	if (present && (v < 0 || (guint64) v != region_id)) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_REGION_ID);

		return fail(error, p,
			    "%" G_GINT64_FORMAT " differs from the region's %" G_GUINT64_FORMAT, v,
			    region_id);
	}
	node->region_id = region_id;
	if (!get_string(obj, M_HOST_NAME, path, TRUE, &node->host_name, error))
		return FALSE;
	if (!is_host_name(node->host_name)) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_HOST_NAME);

		return fail(error, p, "\"%s\" is not a host name", node->host_name);
	}
	if (!get_string(obj, M_CERT_NAME, path, FALSE, &node->cert_name, error))
		return FALSE;
	/* anything is allowed here: a non-IP string turns the family off (§6) */
	if (!get_string(obj, M_IPV4, path, FALSE, &node->ipv4, error))
		return FALSE;
	if (!get_string(obj, M_IPV6, path, FALSE, &node->ipv6, error))
		return FALSE;

	if (!get_int(obj, M_STUN_PORT, path, &v, &present, error))
		return FALSE;
	/* any negative number turns STUN off (§5.6); -1 is what servers write */
	if (v > PORT_MAX || v < G_MININT32) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_STUN_PORT);

		return fail(error, p, "%" G_GINT64_FORMAT " is not a port", v);
	}
	node->stun_port = (gint) v;
	if (!get_bool(obj, M_STUN_ONLY, path, &node->stun_only, error))
		return FALSE;
	if (!get_int(obj, M_DERP_PORT, path, &v, &present, error))
		return FALSE;
	if (v < 0 || v > PORT_MAX) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_DERP_PORT);

		return fail(error, p, "%" G_GINT64_FORMAT " is not a port", v);
	}
	node->derp_port = (gint) v;
	if (!get_bool(obj, M_CAN_PORT80, path, &node->can_port80, error))
		return FALSE;
	if (!get_bool(obj, M_INSECURE_FOR_TESTS, path, &node->insecure_for_tests, error))
		return FALSE;
	if (!get_string(obj, M_STUN_TEST_IP, path, FALSE, &node->stun_test_ip, error))
		return FALSE;
	if (node->stun_test_ip[0] != '\0' && !is_ip_literal(node->stun_test_ip)) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_STUN_TEST_IP);

		return fail(error, p, "\"%s\" is not an IP address", node->stun_test_ip);
	}
	return TRUE;
}

static gboolean
parse_region(JsonNode *json, const gchar *key, WrDerpRegion *region, GHashTable *node_names,
	     GError **error)
{
	g_autofree gchar *path = g_strdup_printf("%s.\"%s\"", M_REGIONS, key);
	JsonObject *obj;
	JsonNode *nodes;
	JsonArray *array;
	gint64 v;
	gboolean present;
	guint n;

	if (!JSON_NODE_HOLDS_OBJECT(json))
		return fail(error, path, "%s, not an object", node_type_name(json));
	obj = json_node_get_object(json);

	if (!get_int(obj, M_REGION_ID, path, &v, &present, error))
		return FALSE;
	if (!present) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_REGION_ID);

		return fail(error, p, "missing");
	}
	if (v < 0 || (guint64) v != region->region_id) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_REGION_ID);

		return fail(error, p, "%" G_GINT64_FORMAT " differs from its key", v);
	}
	if (!get_string(obj, M_REGION_CODE, path, FALSE, &region->region_code, error))
		return FALSE;
	if (!get_string(obj, M_REGION_NAME, path, FALSE, &region->region_name, error))
		return FALSE;
	if (!get_coordinate(obj, M_LATITUDE, path, LATITUDE_MAX, &region->latitude, error))
		return FALSE;
	if (!get_coordinate(obj, M_LONGITUDE, path, LONGITUDE_MAX, &region->longitude, error))
		return FALSE;
	if (!get_bool(obj, M_AVOID, path, &region->avoid, error))
		return FALSE;
	if (!get_bool(obj, M_NO_MEASURE_NO_HOME, path, &region->no_measure_no_home, error))
		return FALSE;

	nodes = member(obj, M_NODES);
	if (nodes == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(nodes)) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_NODES);

		return fail(error, p, "%s, not an array", node_type_name(nodes));
	}
	array = json_node_get_array(nodes);
	n = json_array_get_length(array);
	if (n > WR_DERP_MAP_MAX_NODES_PER_REGION) {
		g_autofree gchar *p = g_strdup_printf("%s.%s", path, M_NODES);

		return fail(error, p, "%u nodes, more than the %u allowed", n,
			    (guint) WR_DERP_MAP_MAX_NODES_PER_REGION);
	}
	region->nodes = g_new0(WrDerpNode, n);
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *p = g_strdup_printf("%s.%s[%u]", path, M_NODES, i);
		WrDerpNode *node = &region->nodes[i];

		/* counted first, so that a half-parsed node is freed with the region */
		region->n_nodes++;
		if (!parse_node(json_array_get_element(array, i), p, region->region_id, node,
				error))
			return FALSE;
		if (!g_hash_table_add(node_names, node->name)) {
			g_autofree gchar *pn = g_strdup_printf("%s.%s", p, M_NAME);

			return fail(error, pn, "\"%s\" is used by another node", node->name);
		}
	}
	return TRUE;
}

static gint
region_cmp(gconstpointer a, gconstpointer b)
{
	guint64 x = ((const WrDerpRegion *) a)->region_id;
	guint64 y = ((const WrDerpRegion *) b)->region_id;

	return x < y ? -1 : x > y;
}

static gint
score_cmp(gconstpointer a, gconstpointer b)
{
	guint64 x = ((const WrDerpRegionScore *) a)->region_id;
	guint64 y = ((const WrDerpRegionScore *) b)->region_id;

	return x < y ? -1 : x > y;
}

static gboolean
parse_regions(JsonObject *root, WrDerpMap *map, GError **error)
{
	JsonNode *regions = member(root, M_REGIONS);
	JsonObject *obj;
	g_autoptr(GList) keys = NULL;
	g_autoptr(GHashTable) node_names = NULL;
	guint n;

	if (regions == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(regions))
		return fail(error, M_REGIONS, "%s, not an object", node_type_name(regions));
	obj = json_node_get_object(regions);
	n = json_object_get_size(obj);
	if (n > WR_DERP_MAP_MAX_REGIONS)
		return fail(error, M_REGIONS, "%u regions, more than the %u allowed", n,
			    (guint) WR_DERP_MAP_MAX_REGIONS);
	map->regions = g_new0(WrDerpRegion, n);
	node_names = g_hash_table_new(g_str_hash, g_str_equal);
	keys = json_object_get_members(obj);
	for (GList *l = keys; l != NULL; l = l->next) {
		const gchar *key = l->data;
		WrDerpRegion *region = &map->regions[map->n_regions];

		if (!parse_region_key(key, &region->region_id))
			return fail(error, M_REGIONS,
				    "key \"%s\" is not a region ID (a decimal from 1 to "
				    "%" G_GUINT64_FORMAT ")",
				    key, WR_DERP_REGION_ID_MAX);
		map->n_regions++;
		if (!parse_region(json_object_get_member(obj, key), key, region, node_names, error))
			return FALSE;
	}
	if (map->n_regions > 1)
		qsort(map->regions, map->n_regions, sizeof(*map->regions), region_cmp);
	return TRUE;
}

static gboolean
parse_home_params(JsonObject *root, WrDerpMap *map, GError **error)
{
	JsonNode *home = member(root, M_HOME_PARAMS);
	JsonNode *scores;
	JsonObject *obj;
	g_autoptr(GList) keys = NULL;
	guint n;

	if (home == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(home))
		return fail(error, M_HOME_PARAMS, "%s, not an object", node_type_name(home));
	map->has_home_params = true;
	scores = member(json_node_get_object(home), M_REGION_SCORE);
	if (scores == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(scores))
		return fail(error, M_HOME_PARAMS "." M_REGION_SCORE, "%s, not an object",
			    node_type_name(scores));
	obj = json_node_get_object(scores);
	n = json_object_get_size(obj);
	if (n > WR_DERP_MAP_MAX_REGIONS)
		return fail(error, M_HOME_PARAMS "." M_REGION_SCORE,
			    "%u scores, more than the %u allowed", n,
			    (guint) WR_DERP_MAP_MAX_REGIONS);
	map->scores = g_new0(WrDerpRegionScore, n);
	keys = json_object_get_members(obj);
	for (GList *l = keys; l != NULL; l = l->next) {
		const gchar *key = l->data;
		WrDerpRegionScore *score = &map->scores[map->n_scores];
		g_autofree gchar *path =
			g_strdup_printf("%s.%s.\"%s\"", M_HOME_PARAMS, M_REGION_SCORE, key);

		if (!parse_region_key(key, &score->region_id))
			return fail(error, M_HOME_PARAMS "." M_REGION_SCORE,
				    "key \"%s\" is not a region ID (a decimal from 1 to "
				    "%" G_GUINT64_FORMAT ")",
				    key, WR_DERP_REGION_ID_MAX);
		if (!number_value(json_object_get_member(obj, key), path, &score->score, error))
			return FALSE;
		map->n_scores++;
	}
	if (map->n_scores > 1)
		qsort(map->scores, map->n_scores, sizeof(*map->scores), score_cmp);
	return TRUE;
}

WrDerpMap *
wr_derp_map_new_from_data(const gchar *data, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(WrDerpMap) map = NULL;
	g_autoptr(GError) error_local = NULL;
	JsonNode *root;
	JsonObject *obj;

	g_return_val_if_fail(data != NULL || len == 0, NULL);

	if (!prescan(data, len, error))
		return NULL;
	if (len == 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "DERP map: empty document");
		return NULL;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, data, (gssize) len, &error_local)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "DERP map: %s",
			    error_local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "DERP map: %s, not an object",
			    root == NULL ? "nothing" : node_type_name(root));
		return NULL;
	}
	obj = json_node_get_object(root);
	map = g_new0(WrDerpMap, 1);
	if (!parse_home_params(obj, map, error))
		return NULL;
	if (!parse_regions(obj, map, error))
		return NULL;
	if (!get_bool(obj, M_OMIT_DEFAULT_REGIONS, "", &map->omit_default_regions, error))
		return NULL;
	return g_steal_pointer(&map);
}

WrDerpMap *
wr_derp_map_new_from_file(const gchar *path, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;
	GStatBuf st;
	WrDerpMap *map;

	g_return_val_if_fail(path != NULL, NULL);

	/* refuse a huge file before reading it; the length is checked again after */
	if (g_stat(path, &st) == 0 && st.st_size > WR_DERP_MAP_MAX_JSON_SIZE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: %" G_GINT64_FORMAT " bytes, more than the %u allowed", path,
			    (gint64) st.st_size, (guint) WR_DERP_MAP_MAX_JSON_SIZE);
		return NULL;
	}
	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	map = wr_derp_map_new_from_data(data, len, error);
	if (map == NULL)
		g_prefix_error(error, "%s: ", path);
	return map;
}

/* writing */

static void
add_int(JsonBuilder *b, const gchar *name, gint64 v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, v);
}

static void
add_string(JsonBuilder *b, const gchar *name, const gchar *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v);
}

static void
add_bool(JsonBuilder *b, const gchar *name, bool v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, v);
}

static void
add_double(JsonBuilder *b, const gchar *name, double v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_double_value(b, v);
}

/* Go's omitempty: zero values are left out, except for the fields that are always written */
static void
build_node(JsonBuilder *b, const WrDerpNode *node)
{
	json_builder_begin_object(b);
	add_string(b, M_NAME, node->name);
	add_int(b, M_REGION_ID, (gint64) node->region_id);
	add_string(b, M_HOST_NAME, node->host_name);
	if (node->cert_name[0] != '\0')
		add_string(b, M_CERT_NAME, node->cert_name);
	if (node->ipv4[0] != '\0')
		add_string(b, M_IPV4, node->ipv4);
	if (node->ipv6[0] != '\0')
		add_string(b, M_IPV6, node->ipv6);
	if (node->stun_port != 0)
		add_int(b, M_STUN_PORT, node->stun_port);
	if (node->stun_only)
		add_bool(b, M_STUN_ONLY, true);
	if (node->derp_port != 0)
		add_int(b, M_DERP_PORT, node->derp_port);
	if (node->insecure_for_tests)
		add_bool(b, M_INSECURE_FOR_TESTS, true);
	if (node->stun_test_ip[0] != '\0')
		add_string(b, M_STUN_TEST_IP, node->stun_test_ip);
	if (node->can_port80)
		add_bool(b, M_CAN_PORT80, true);
	json_builder_end_object(b);
}

static void
build_region(JsonBuilder *b, const WrDerpRegion *region)
{
	json_builder_begin_object(b);
	add_int(b, M_REGION_ID, (gint64) region->region_id);
	add_string(b, M_REGION_CODE, region->region_code);
	add_string(b, M_REGION_NAME, region->region_name);
	if (region->latitude != 0)
		add_double(b, M_LATITUDE, region->latitude);
	if (region->longitude != 0)
		add_double(b, M_LONGITUDE, region->longitude);
	if (region->avoid)
		add_bool(b, M_AVOID, true);
	if (region->no_measure_no_home)
		add_bool(b, M_NO_MEASURE_NO_HOME, true);
	json_builder_set_member_name(b, M_NODES);
	json_builder_begin_array(b);
	for (guint i = 0; i < region->n_nodes; i++)
		build_node(b, &region->nodes[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
}

/*
 * json-glib (1.6, Debian 12) writes a double whose shortest form has an exponent but no point
 * as "1e+30.0", which no JSON parser, json-glib included, reads back.  Outside strings, drop
 * the ".0" after an exponent.  Returns the new length; @json stays NUL-terminated.
 */
static gsize
fix_exponents(gchar *json, gsize len)
{
	gsize out = 0;
	bool in_string = false;
	bool in_exponent = false;

	for (gsize i = 0; i < len; i++) {
		gchar c = json[i];

		if (in_string) {
			if (c == '\\' && i + 1 < len) {
				json[out++] = c;
				c = json[++i];
			} else if (c == '"') {
				in_string = false;
			}
		} else if (c == '"') {
			in_string = true;
			in_exponent = false;
		} else if (c == 'e' || c == 'E') {
			in_exponent = true;
		} else if (in_exponent && c == '.') {
			/* skip the point and the zeros after it */
			while (i + 1 < len && json[i + 1] == '0')
				i++;
			continue;
		} else if (!g_ascii_isdigit(c) && c != '+' && c != '-') {
			in_exponent = false;
		}
		json[out++] = c;
	}
	json[out] = '\0';
	return out;
}

gchar *
wr_derp_map_to_json(const WrDerpMap *map, bool pretty, gsize *out_len)
{
	gchar *json;
	gsize len;
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	g_return_val_if_fail(map != NULL, NULL);

	json_builder_begin_object(b);
	if (map->has_home_params) {
		json_builder_set_member_name(b, M_HOME_PARAMS);
		json_builder_begin_object(b);
		if (map->n_scores > 0) {
			json_builder_set_member_name(b, M_REGION_SCORE);
			json_builder_begin_object(b);
			for (guint i = 0; i < map->n_scores; i++) {
				gchar key[G_ASCII_DTOSTR_BUF_SIZE];

				g_snprintf(key, sizeof(key), "%" G_GUINT64_FORMAT,
					   map->scores[i].region_id);
				add_double(b, key, map->scores[i].score);
			}
			json_builder_end_object(b);
		}
		json_builder_end_object(b);
	}
	json_builder_set_member_name(b, M_REGIONS);
	json_builder_begin_object(b);
	for (guint i = 0; i < map->n_regions; i++) {
		gchar key[G_ASCII_DTOSTR_BUF_SIZE];

		g_snprintf(key, sizeof(key), "%" G_GUINT64_FORMAT, map->regions[i].region_id);
		json_builder_set_member_name(b, key);
		build_region(b, &map->regions[i]);
	}
	json_builder_end_object(b);
	if (map->omit_default_regions)
		add_bool(b, M_OMIT_DEFAULT_REGIONS, true);
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, pretty);
	json = json_generator_to_data(gen, &len);
	len = fix_exponents(json, len);
	if (out_len != NULL)
		*out_len = len;
	return json;
}

/* copying and comparing */

static void
node_copy(WrDerpNode *dst, const WrDerpNode *src)
{
	*dst = *src;
	dst->name = g_strdup(src->name);
	dst->host_name = g_strdup(src->host_name);
	dst->cert_name = g_strdup(src->cert_name);
	dst->ipv4 = g_strdup(src->ipv4);
	dst->ipv6 = g_strdup(src->ipv6);
	dst->stun_test_ip = g_strdup(src->stun_test_ip);
}

WrDerpMap *
wr_derp_map_copy(const WrDerpMap *map)
{
	WrDerpMap *copy;

	g_return_val_if_fail(map != NULL, NULL);

	copy = g_new0(WrDerpMap, 1);
	*copy = *map;
	copy->regions = g_new0(WrDerpRegion, map->n_regions);
	for (guint i = 0; i < map->n_regions; i++) {
		const WrDerpRegion *src = &map->regions[i];
		WrDerpRegion *dst = &copy->regions[i];

		*dst = *src;
		dst->region_code = g_strdup(src->region_code);
		dst->region_name = g_strdup(src->region_name);
		dst->nodes = g_new0(WrDerpNode, src->n_nodes);
		for (guint j = 0; j < src->n_nodes; j++)
			node_copy(&dst->nodes[j], &src->nodes[j]);
	}
	copy->scores = g_memdup2(map->scores, sizeof(*map->scores) * map->n_scores);
	return copy;
}

static bool
node_equal(const WrDerpNode *a, const WrDerpNode *b)
{
	return g_strcmp0(a->name, b->name) == 0 && a->region_id == b->region_id &&
	       g_strcmp0(a->host_name, b->host_name) == 0 &&
	       g_strcmp0(a->cert_name, b->cert_name) == 0 && g_strcmp0(a->ipv4, b->ipv4) == 0 &&
	       g_strcmp0(a->ipv6, b->ipv6) == 0 && a->stun_port == b->stun_port &&
	       a->stun_only == b->stun_only && a->derp_port == b->derp_port &&
	       a->can_port80 == b->can_port80 && a->insecure_for_tests == b->insecure_for_tests &&
	       g_strcmp0(a->stun_test_ip, b->stun_test_ip) == 0;
}

static bool
region_equal(const WrDerpRegion *a, const WrDerpRegion *b)
{
	if (a->region_id != b->region_id || g_strcmp0(a->region_code, b->region_code) != 0 ||
	    g_strcmp0(a->region_name, b->region_name) != 0 || a->latitude != b->latitude ||
	    a->longitude != b->longitude || a->avoid != b->avoid ||
	    a->no_measure_no_home != b->no_measure_no_home || a->n_nodes != b->n_nodes)
		return false;
	for (guint i = 0; i < a->n_nodes; i++) {
		if (!node_equal(&a->nodes[i], &b->nodes[i]))
			return false;
	}
	return true;
}

bool
wr_derp_map_equal(const WrDerpMap *a, const WrDerpMap *b)
{
	g_return_val_if_fail(a != NULL && b != NULL, false);

	if (a->n_regions != b->n_regions || a->has_home_params != b->has_home_params ||
	    a->n_scores != b->n_scores || a->omit_default_regions != b->omit_default_regions)
		return false;
	for (guint i = 0; i < a->n_regions; i++) {
		if (!region_equal(&a->regions[i], &b->regions[i]))
			return false;
	}
	for (guint i = 0; i < a->n_scores; i++) {
		if (a->scores[i].region_id != b->scores[i].region_id ||
		    a->scores[i].score != b->scores[i].score)
			return false;
	}
	return true;
}

/* lookups */

const WrDerpRegion *
wr_derp_map_get_region(const WrDerpMap *map, guint64 region_id)
{
	WrDerpRegion key = {.region_id = region_id};

	g_return_val_if_fail(map != NULL, NULL);
	if (map->n_regions == 0)
		return NULL;
	return bsearch(&key, map->regions, map->n_regions, sizeof(*map->regions), region_cmp);
}

const WrDerpNode *
wr_derp_map_find_node(const WrDerpMap *map, const gchar *name)
{
	g_return_val_if_fail(map != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);

	for (guint i = 0; i < map->n_regions; i++) {
		for (guint j = 0; j < map->regions[i].n_nodes; j++) {
			if (g_strcmp0(map->regions[i].nodes[j].name, name) == 0)
				return &map->regions[i].nodes[j];
		}
	}
	return NULL;
}

double
wr_derp_map_region_score(const WrDerpMap *map, guint64 region_id)
{
	WrDerpRegionScore key = {.region_id = region_id};
	const WrDerpRegionScore *s;

	g_return_val_if_fail(map != NULL, 1.0);
	if (map->n_scores == 0)
		return 1.0;
	s = bsearch(&key, map->scores, map->n_scores, sizeof(*map->scores), score_cmp);
	/* scores <= 0 are ignored (§6) */
	return s != NULL && s->score > 0 ? s->score : 1.0;
}

guint16
wr_derp_node_stun_port(const WrDerpNode *node)
{
	g_return_val_if_fail(node != NULL, 0);
	if (node->stun_port < 0)
		return 0;
	return node->stun_port == 0 ? WR_DERP_DEFAULT_STUN_PORT : (guint16) node->stun_port;
}

guint16
wr_derp_node_derp_port(const WrDerpNode *node)
{
	g_return_val_if_fail(node != NULL, 0);
	return node->derp_port == 0 ? WR_DERP_DEFAULT_DERP_PORT : (guint16) node->derp_port;
}

/* an IP literal of exactly that family into ep (port 0) */
static bool
literal_of_family(const gchar *s, int family, WrEndpoint *ep)
{
	WrEndpoint tmp = {0};

	if (family == AF_INET) {
		if (inet_pton(AF_INET, s, &tmp.in4.sin_addr) != 1)
			return false;
		tmp.in4.sin_family = AF_INET;
	} else if (family == AF_INET6) {
		if (inet_pton(AF_INET6, s, &tmp.in6.sin6_addr) != 1)
			return false;
		tmp.in6.sin6_family = AF_INET6;
	} else {
		return false;
	}
	if (ep != NULL)
		*ep = tmp;
	return true;
}

WrDerpAddrKind
wr_derp_node_addr(const WrDerpNode *node, int family, WrEndpoint *out_addr)
{
	const gchar *field;

	g_return_val_if_fail(node != NULL, WR_DERP_ADDR_DISABLED);

	if (family == AF_INET)
		field = node->ipv4;
	else if (family == AF_INET6)
		field = node->ipv6;
	else
		return WR_DERP_ADDR_DISABLED;
	if (field[0] == '\0')
		return WR_DERP_ADDR_DNS;
	/* "none", a non-IP string or a literal of the other family: off */
	return literal_of_family(field, family, out_addr) ? WR_DERP_ADDR_LITERAL
							  : WR_DERP_ADDR_DISABLED;
}

static void
set_port(WrEndpoint *ep, int family, guint16 port)
{
	if (family == AF_INET)
		ep->in4.sin_port = htons(port);
	else
		ep->in6.sin6_port = htons(port);
}

WrDerpAddrKind
wr_derp_node_stun_target(const WrDerpNode *node, int family, WrEndpoint *out_target)
{
	guint16 port;
	WrEndpoint ep = {0};
	WrDerpAddrKind kind;

	g_return_val_if_fail(node != NULL, WR_DERP_ADDR_DISABLED);

	port = wr_derp_node_stun_port(node);
	if (port == 0 || (family != AF_INET && family != AF_INET6))
		return WR_DERP_ADDR_DISABLED;
	if (node->stun_test_ip[0] != '\0') {
		if (!literal_of_family(node->stun_test_ip, family, &ep))
			return WR_DERP_ADDR_DISABLED;
		kind = WR_DERP_ADDR_LITERAL;
	} else {
		kind = wr_derp_node_addr(node, family, &ep);
		if (kind == WR_DERP_ADDR_DISABLED)
			return kind;
		if (kind == WR_DERP_ADDR_DNS)
			ep.sa.sa_family = (sa_family_t) family;
	}
	set_port(&ep, family, port);
	if (out_target != NULL)
		*out_target = ep;
	return kind;
}

bool
wr_derp_node_can_stun(const WrDerpNode *node, int family)
{
	return wr_derp_node_stun_target(node, family, NULL) != WR_DERP_ADDR_DISABLED;
}
