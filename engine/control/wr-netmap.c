/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * MapResponse codec and the network map state (see wr-netmap.h).
 */

#define G_LOG_DOMAIN "WrNetmap"

#include "config.h"

#include <string.h>

#include "wr-key.h"
#include "wr-netmap.h"

/* written out: clang-format spaces the dashes of G_DEFINE_QUARK's name */
GQuark
wr_netmap_error_quark(void)
{
	return g_quark_from_static_string("wr-netmap-error-quark");
}

/* ---- nodes ---- */

static GArray *
cidr_array_new(void)
{
	return g_array_new(FALSE, TRUE, sizeof(WrCidr));
}

static GArray *
endpoint_array_new(void)
{
	return g_array_new(FALSE, TRUE, sizeof(WrEndpoint));
}

static WrNetmapNode *
node_new(void)
{
	WrNetmapNode *n = g_new0(WrNetmapNode, 1);

	n->name = g_strdup("");
	n->dns_name = g_strdup("");
	n->addresses = cidr_array_new();
	n->allowed_ips = cidr_array_new();
	n->endpoints = endpoint_array_new();
	n->primary_routes = cidr_array_new();
	n->tags = g_new0(char *, 1);
	n->os = g_strdup("");
	n->hostname = g_strdup("");
	return n;
}

static GArray *
array_copy(const GArray *a)
{
	GArray *c = g_array_sized_new(FALSE, TRUE, g_array_get_element_size((GArray *) a), a->len);

	g_array_append_vals(c, a->data, a->len);
	return c;
}

WrNetmapNode *
wr_netmap_node_copy(const WrNetmapNode *node)
{
	WrNetmapNode *n = g_memdup2(node, sizeof(*node));

	n->name = g_strdup(node->name);
	n->dns_name = g_strdup(node->dns_name);
	n->addresses = array_copy(node->addresses);
	n->allowed_ips = array_copy(node->allowed_ips);
	n->endpoints = array_copy(node->endpoints);
	n->primary_routes = array_copy(node->primary_routes);
	n->tags = g_strdupv(node->tags);
	n->os = g_strdup(node->os);
	n->hostname = g_strdup(node->hostname);
	return n;
}

void
wr_netmap_node_free(WrNetmapNode *node)
{
	if (node == NULL)
		return;
	g_free(node->name);
	g_free(node->dns_name);
	g_array_unref(node->addresses);
	g_array_unref(node->allowed_ips);
	g_array_unref(node->endpoints);
	g_array_unref(node->primary_routes);
	g_strfreev(node->tags);
	g_free(node->os);
	g_free(node->hostname);
	g_free(node);
}

static gboolean
cidrs_equal(const GArray *a, const GArray *b)
{
	if (a->len != b->len)
		return FALSE;
	for (guint i = 0; i < a->len; i++) {
		const WrCidr *x = &g_array_index(a, WrCidr, i);
		const WrCidr *y = &g_array_index(b, WrCidr, i);
		gsize alen = x->family == AF_INET ? 4 : 16;

		if (x->family != y->family || x->cidr != y->cidr ||
		    memcmp(x->addr, y->addr, alen) != 0)
			return FALSE;
	}
	return TRUE;
}

static gboolean
endpoints_equal(const GArray *a, const GArray *b)
{
	if (a->len != b->len)
		return FALSE;
	for (guint i = 0; i < a->len; i++)
		if (!wr_endpoint_equal(&g_array_index(a, WrEndpoint, i),
				       &g_array_index(b, WrEndpoint, i)))
			return FALSE;
	return TRUE;
}

static gboolean
strv_equal0(char *const *a, char *const *b)
{
	return g_strv_equal((const char *const *) a, (const char *const *) b);
}

gboolean
wr_netmap_node_equal(const WrNetmapNode *a, const WrNetmapNode *b)
{
	return a->id == b->id && g_str_equal(a->name, b->name) &&
	       g_str_equal(a->dns_name, b->dns_name) && a->user_id == b->user_id &&
	       memcmp(a->node_key, b->node_key, WR_CRYPTO_KEY_LEN) == 0 &&
	       a->has_disco_key == b->has_disco_key &&
	       memcmp(a->disco_key, b->disco_key, WR_CRYPTO_KEY_LEN) == 0 &&
	       cidrs_equal(a->addresses, b->addresses) &&
	       cidrs_equal(a->allowed_ips, b->allowed_ips) &&
	       endpoints_equal(a->endpoints, b->endpoints) && a->derp_region == b->derp_region &&
	       a->online == b->online && a->last_seen == b->last_seen &&
	       a->key_expiry == b->key_expiry && a->exit_node_option == b->exit_node_option &&
	       cidrs_equal(a->primary_routes, b->primary_routes) && strv_equal0(a->tags, b->tags) &&
	       g_str_equal(a->os, b->os) && g_str_equal(a->hostname, b->hostname);
}

/* ---- field readers: every error names the place, "peers[3].node_key: ..." ---- */

static gboolean G_GNUC_PRINTF(4, 5)
	fail(GError **error, const char *where, const char *name, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (where != NULL && *where != '\0')
		g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID, "%s.%s: %s", where,
			    name, msg);
	else
		g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID, "%s: %s", name, msg);
	return FALSE;
}

static gboolean
too_large(GError **error, const char *where, const char *name, guint max)
{
	if (where != NULL && *where != '\0')
		g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_TOO_LARGE,
			    "%s.%s: more than %u elements", where, name, max);
	else
		g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_TOO_LARGE,
			    "%s: more than %u elements", name, max);
	return FALSE;
}

/* the member, or NULL when absent or null */
static JsonNode *
member(JsonObject *o, const char *name)
{
	JsonNode *m = json_object_get_member(o, name);

	return m == NULL || JSON_NODE_HOLDS_NULL(m) ? NULL : m;
}

static gboolean
check_string(JsonNode *m, const char *where, const char *name, const char **out, GError **error)
{
	const char *s;

	/* (fail() is not inlined: returning FALSE here lets gcc -O3 see *out is set on TRUE) */
	if (!JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_STRING) {
		fail(error, where, name, "not a string");
		return FALSE;
	}
	s = json_node_get_string(m);
	if (strlen(s) > WR_NETMAP_MAX_STRING) {
		fail(error, where, name, "longer than %d bytes", WR_NETMAP_MAX_STRING);
		return FALSE;
	}
	*out = s;
	return TRUE;
}

static gboolean
read_string(JsonObject *o, const char *where, const char *name, char **out, GError **error)
{
	JsonNode *m = member(o, name);
	const char *s;

	if (m == NULL)
		return TRUE;
	if (!check_string(m, where, name, &s, error))
		return FALSE;
	g_free(*out);
	*out = g_strdup(s);
	return TRUE;
}

static gboolean
read_int(JsonObject *o, const char *where, const char *name, gboolean required, gint64 min,
	 gint64 max, gint64 *out, GError **error)
{
	JsonNode *m = member(o, name);
	gint64 v;

	if (m == NULL)
		return required ? fail(error, where, name, "missing") : TRUE;
	if (!JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_INT64)
		return fail(error, where, name, "not an integer");
	v = json_node_get_int(m);
	if (v < min || v > max)
		return fail(error, where, name,
			    "%" G_GINT64_FORMAT " is outside [%" G_GINT64_FORMAT
			    ", %" G_GINT64_FORMAT "]",
			    v, min, max);
	*out = v;
	return TRUE;
}

static gboolean
read_bool(JsonObject *o, const char *where, const char *name, gboolean *out, GError **error)
{
	JsonNode *m = member(o, name);

	if (m == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(m) || json_node_get_value_type(m) != G_TYPE_BOOLEAN)
		return fail(error, where, name, "not a boolean");
	*out = json_node_get_boolean(m);
	return TRUE;
}

/* a key in text form; "" (when allow_empty) means none: *out_has = FALSE */
static gboolean
read_key(JsonObject *o, const char *where, const char *name, WrKeyKind kind, gboolean allow_empty,
	 gboolean *out_has, uint8_t out[WR_CRYPTO_KEY_LEN], GError **error)
{
	JsonNode *m = member(o, name);
	uint8_t key[WR_CRYPTO_KEY_LEN];
	const char *s;

	if (m == NULL)
		return allow_empty ? TRUE : fail(error, where, name, "missing");
	if (!check_string(m, where, name, &s, error))
		return FALSE;
	if (*s == '\0' && allow_empty) {
		memset(out, 0, WR_CRYPTO_KEY_LEN);
		if (out_has != NULL)
			*out_has = FALSE;
		return TRUE;
	}
	if (!wr_key_from_text(key, kind, s))
		return fail(error, where, name, "not a %s key",
			    kind == WR_KEY_KIND_NODE ? "node" : "disco");
	memcpy(out, key, WR_CRYPTO_KEY_LEN);
	if (out_has != NULL)
		*out_has = TRUE;
	return TRUE;
}

/* an array member of at most max elements, or NULL (absent) */
static gboolean
read_array(JsonObject *o, const char *where, const char *name, guint max, JsonArray **out,
	   GError **error)
{
	JsonNode *m = member(o, name);

	*out = NULL;
	if (m == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(m))
		return fail(error, where, name, "not an array");
	if (json_array_get_length(json_node_get_array(m)) > max)
		return too_large(error, where, name, max);
	*out = json_node_get_array(m);
	return TRUE;
}

static gboolean
read_cidrs(JsonObject *o, const char *where, const char *name, GArray *out, GError **error)
{
	JsonArray *a;

	if (!read_array(o, where, name, WR_NETMAP_MAX_ADDRESSES, &a, error))
		return FALSE;
	for (guint i = 0; a != NULL && i < json_array_get_length(a); i++) {
		g_autofree char *elem = g_strdup_printf("%s[%u]", name, i);
		const char *s;
		WrCidr c;

		if (!check_string(json_array_get_element(a, i), where, elem, &s, error))
			return FALSE;
		if (!wr_cidr_parse(&c, s))
			return fail(error, where, elem, "not an IP prefix");
		g_array_append_val(out, c);
	}
	return TRUE;
}

static gboolean
read_endpoints(JsonObject *o, const char *where, const char *name, GArray *out, GError **error)
{
	JsonArray *a;

	if (!read_array(o, where, name, WR_NETMAP_MAX_ENDPOINTS, &a, error))
		return FALSE;
	for (guint i = 0; a != NULL && i < json_array_get_length(a); i++) {
		g_autofree char *elem = g_strdup_printf("%s[%u]", name, i);
		const char *s;
		WrEndpoint ep;

		if (!check_string(json_array_get_element(a, i), where, elem, &s, error))
			return FALSE;
		if (!wr_endpoint_parse(&ep, s))
			return fail(error, where, elem, "not an ip:port endpoint");
		g_array_append_val(out, ep);
	}
	return TRUE;
}

static gboolean
read_strings(JsonObject *o, const char *where, const char *name, guint max, GStrv *out,
	     GError **error)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	JsonArray *a;

	if (!read_array(o, where, name, max, &a, error))
		return FALSE;
	if (a == NULL)
		return TRUE;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		g_autofree char *elem = g_strdup_printf("%s[%u]", name, i);
		const char *s;

		if (!check_string(json_array_get_element(a, i), where, elem, &s, error))
			return FALSE;
		g_strv_builder_add(b, s);
	}
	g_strfreev(*out);
	*out = g_strv_builder_end(b);
	return TRUE;
}

static gboolean
read_object(JsonNode *m, const char *where, JsonObject **out, GError **error)
{
	if (!JSON_NODE_HOLDS_OBJECT(m)) {
		g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID, "%s: not an object",
			    where);
		return FALSE;
	}
	*out = json_node_get_object(m);
	return TRUE;
}

#define NODE_ID_MAX ((G_GINT64_CONSTANT(1) << 53) - 1)
#define TIME_MAX    G_GINT64_CONSTANT(253402300799) /* 9999-12-31 */

static WrNetmapNode *
node_parse(JsonNode *json, const char *where, GError **error)
{
	g_autoptr(WrNetmapNode) n = node_new();
	gint64 region = 0;
	JsonObject *o;
	JsonNode *hi;

	if (!read_object(json, where, &o, error))
		return NULL;
	if (!read_int(o, where, "id", TRUE, 1, NODE_ID_MAX, &n->id, error) ||
	    !read_string(o, where, "name", &n->name, error) ||
	    !read_string(o, where, "dns_name", &n->dns_name, error) ||
	    !read_int(o, where, "user_id", FALSE, 0, NODE_ID_MAX, &n->user_id, error) ||
	    !read_key(o, where, "node_key", WR_KEY_KIND_NODE, FALSE, NULL, n->node_key, error) ||
	    !read_key(o, where, "disco_key", WR_KEY_KIND_DISCO, TRUE, &n->has_disco_key,
		      n->disco_key, error) ||
	    !read_cidrs(o, where, "addresses", n->addresses, error) ||
	    !read_cidrs(o, where, "allowed_ips", n->allowed_ips, error) ||
	    !read_endpoints(o, where, "endpoints", n->endpoints, error) ||
	    !read_int(o, where, "derp_region", FALSE, 0, G_MAXINT, &region, error) ||
	    !read_bool(o, where, "online", &n->online, error) ||
	    !read_int(o, where, "last_seen", FALSE, 0, TIME_MAX, &n->last_seen, error) ||
	    !read_int(o, where, "key_expiry", FALSE, 0, TIME_MAX, &n->key_expiry, error) ||
	    !read_bool(o, where, "exit_node_option", &n->exit_node_option, error) ||
	    !read_cidrs(o, where, "primary_routes", n->primary_routes, error) ||
	    !read_strings(o, where, "tags", WR_NETMAP_MAX_TAGS, &n->tags, error))
		return NULL;
	n->derp_region = (gint) region;
	hi = member(o, "hostinfo");
	if (hi != NULL) {
		g_autofree char *hw = g_strdup_printf("%s.hostinfo", where);
		JsonObject *h;

		if (!read_object(hi, hw, &h, error) || !read_string(h, hw, "os", &n->os, error) ||
		    !read_string(h, hw, "hostname", &n->hostname, error))
			return NULL;
	}
	return g_steal_pointer(&n);
}

static void
patch_clear(gpointer p)
{
	WrNetmapPatch *patch = p;

	g_clear_pointer(&patch->endpoints, g_array_unref);
}

static gboolean
patch_parse(JsonNode *json, const char *where, WrNetmapPatch *p, GError **error)
{
	gint64 region = 0;
	JsonObject *o;

	if (!read_object(json, where, &o, error) ||
	    !read_int(o, where, "id", TRUE, 1, NODE_ID_MAX, &p->id, error))
		return FALSE;
	if (member(o, "endpoints") != NULL) {
		p->endpoints = endpoint_array_new();
		p->has_endpoints = TRUE;
		if (!read_endpoints(o, where, "endpoints", p->endpoints, error))
			return FALSE;
	}
	p->has_derp_region = member(o, "derp_region") != NULL;
	if (!read_int(o, where, "derp_region", FALSE, 0, G_MAXINT, &region, error))
		return FALSE;
	p->derp_region = (gint) region;
	p->has_online = member(o, "online") != NULL;
	p->has_last_seen = member(o, "last_seen") != NULL;
	p->has_node_key = member(o, "node_key") != NULL;
	p->has_disco_key = member(o, "disco_key") != NULL;
	/* a disco key patched to "" leaves the peer without one */
	return read_bool(o, where, "online", &p->online, error) &&
	       read_int(o, where, "last_seen", FALSE, 0, TIME_MAX, &p->last_seen, error) &&
	       (!p->has_node_key || read_key(o, where, "node_key", WR_KEY_KIND_NODE, FALSE, NULL,
					     p->node_key, error)) &&
	       read_key(o, where, "disco_key", WR_KEY_KIND_DISCO, TRUE, NULL, p->disco_key, error);
}

static void
user_free(gpointer p)
{
	WrNetmapUser *u = p;

	if (u == NULL)
		return;
	g_free(u->login_name);
	g_free(u->display_name);
	g_free(u);
}

static WrNetmapUser *
user_copy(const WrNetmapUser *u)
{
	WrNetmapUser *c = g_new0(WrNetmapUser, 1);

	c->id = u->id;
	c->login_name = g_strdup(u->login_name);
	c->display_name = g_strdup(u->display_name);
	return c;
}

static void
dns_free(WrNetmapDns *dns)
{
	if (dns == NULL)
		return;
	g_free(dns->domain);
	g_strfreev(dns->nameservers);
	g_free(dns);
}

static WrNetmapDns *
dns_copy(const WrNetmapDns *dns)
{
	WrNetmapDns *c = g_new0(WrNetmapDns, 1);

	c->magic_dns = dns->magic_dns;
	c->domain = g_strdup(dns->domain);
	c->nameservers = g_strdupv(dns->nameservers);
	return c;
}

static gboolean
dns_equal(const WrNetmapDns *a, const WrNetmapDns *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->magic_dns == b->magic_dns && g_str_equal(a->domain, b->domain) &&
	       strv_equal0(a->nameservers, b->nameservers);
}

static WrNetmapDns *
dns_parse(JsonNode *json, GError **error)
{
	WrNetmapDns *dns = g_new0(WrNetmapDns, 1);
	JsonObject *o;

	dns->domain = g_strdup("");
	dns->nameservers = g_new0(char *, 1);
	if (!read_object(json, "dns", &o, error) ||
	    !read_bool(o, "dns", "magic_dns", &dns->magic_dns, error) ||
	    !read_string(o, "dns", "domain", &dns->domain, error) ||
	    !read_strings(o, "dns", "nameservers", WR_NETMAP_MAX_NAMESERVERS, &dns->nameservers,
			  error)) {
		dns_free(dns);
		return NULL;
	}
	for (guint i = 0; dns->nameservers[i] != NULL; i++) {
		WrCidr c;

		/* an address, not a prefix */
		if (strchr(dns->nameservers[i], '/') != NULL ||
		    !wr_cidr_parse(&c, dns->nameservers[i])) {
			g_autofree char *elem = g_strdup_printf("nameservers[%u]", i);

			dns_free(dns);
			(void) fail(error, "dns", elem, "not an IP address");
			return NULL;
		}
	}
	return dns;
}

/* ---- responses ---- */

void
wr_netmap_response_free(WrNetmapResponse *resp)
{
	if (resp == NULL)
		return;
	wr_netmap_node_free(resp->self);
	g_clear_pointer(&resp->peers, g_ptr_array_unref);
	g_clear_pointer(&resp->peers_removed, g_array_unref);
	g_clear_pointer(&resp->peers_patch, g_array_unref);
	wr_derp_map_free(resp->derp_map);
	g_clear_pointer(&resp->packet_filter, json_node_unref);
	dns_free(resp->dns);
	g_clear_pointer(&resp->user_profiles, g_ptr_array_unref);
	g_free(resp);
}

/*
 * Depth and members per object, before json-glib sees the text: it recurses once per level and
 * finds duplicate members by a linear search.  Strings are skipped with their escapes.
 */
static gboolean
check_shape(const char *json, gsize len, GError **error)
{
	guint members[WR_NETMAP_MAX_DEPTH + 1];
	gboolean is_object[WR_NETMAP_MAX_DEPTH + 1];
	gboolean in_string = FALSE;
	guint depth = 0;

	for (gsize i = 0; i < len; i++) {
		char c = json[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = FALSE;
			continue;
		}
		if (c == '"') {
			in_string = TRUE;
		} else if (c == '{' || c == '[') {
			if (depth == WR_NETMAP_MAX_DEPTH) {
				g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_TOO_LARGE,
					    "JSON nested deeper than %d levels",
					    WR_NETMAP_MAX_DEPTH);
				return FALSE;
			}
			depth++;
			members[depth] = 0;
			is_object[depth] = c == '{';
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		} else if (c == ':' && depth > 0 && is_object[depth]) {
			if (++members[depth] > WR_NETMAP_MAX_MEMBERS) {
				g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_TOO_LARGE,
					    "a JSON object has more than %d members",
					    WR_NETMAP_MAX_MEMBERS);
				return FALSE;
			}
		}
	}
	return TRUE;
}

static gboolean
parse_peers(JsonObject *o, const char *name, WrNetmapResponse *r, GError **error)
{
	g_autoptr(GHashTable) ids = g_hash_table_new(g_int64_hash, g_int64_equal);
	JsonArray *a;

	if (!read_array(o, NULL, name, WR_NETMAP_MAX_PEERS, &a, error))
		return FALSE;
	if (a == NULL)
		return TRUE;
	r->peers = g_ptr_array_new_with_free_func((GDestroyNotify) wr_netmap_node_free);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		g_autofree char *where = g_strdup_printf("%s[%u]", name, i);
		WrNetmapNode *n = node_parse(json_array_get_element(a, i), where, error);

		if (n == NULL)
			return FALSE;
		g_ptr_array_add(r->peers, n);
		if (!g_hash_table_add(ids, &n->id)) {
			g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "%s.id: %" G_GINT64_FORMAT " appears twice", where, n->id);
			return FALSE;
		}
		if (r->self != NULL && n->id == r->self->id) {
			g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "%s.id: %" G_GINT64_FORMAT " is the node itself", where, n->id);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
parse_delta_lists(JsonObject *o, WrNetmapResponse *r, GError **error)
{
	JsonArray *a;

	if (!read_array(o, NULL, "peers_removed", WR_NETMAP_MAX_PEERS, &a, error))
		return FALSE;
	if (a != NULL) {
		r->peers_removed = g_array_new(FALSE, FALSE, sizeof(gint64));
		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonNode *e = json_array_get_element(a, i);
			gint64 id;

			if (!JSON_NODE_HOLDS_VALUE(e) ||
			    json_node_get_value_type(e) != G_TYPE_INT64 ||
			    (id = json_node_get_int(e)) < 1 || id > NODE_ID_MAX) {
				g_autofree char *elem = g_strdup_printf("peers_removed[%u]", i);

				return fail(error, NULL, elem, "not a node id");
			}
			g_array_append_val(r->peers_removed, id);
		}
	}
	if (!read_array(o, NULL, "peers_patch", WR_NETMAP_MAX_PEERS, &a, error))
		return FALSE;
	if (a != NULL) {
		r->peers_patch = g_array_sized_new(FALSE, TRUE, sizeof(WrNetmapPatch),
						   json_array_get_length(a));
		g_array_set_clear_func(r->peers_patch, patch_clear);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			g_autofree char *where = g_strdup_printf("peers_patch[%u]", i);
			WrNetmapPatch p = {0};

			g_array_append_val(r->peers_patch, p);
			if (!patch_parse(json_array_get_element(a, i), where,
					 &g_array_index(r->peers_patch, WrNetmapPatch, i), error))
				return FALSE;
		}
	}
	return TRUE;
}

static gboolean
parse_profiles(JsonObject *o, WrNetmapResponse *r, GError **error)
{
	JsonArray *a;

	if (!read_array(o, NULL, "user_profiles", WR_NETMAP_MAX_USER_PROFILES, &a, error))
		return FALSE;
	if (a == NULL)
		return TRUE;
	r->user_profiles = g_ptr_array_new_with_free_func(user_free);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		g_autofree char *where = g_strdup_printf("user_profiles[%u]", i);
		WrNetmapUser *u = g_new0(WrNetmapUser, 1);
		JsonObject *uo;

		u->login_name = g_strdup("");
		u->display_name = g_strdup("");
		g_ptr_array_add(r->user_profiles, u);
		if (!read_object(json_array_get_element(a, i), where, &uo, error) ||
		    !read_int(uo, where, "id", TRUE, 1, NODE_ID_MAX, &u->id, error) ||
		    !read_string(uo, where, "login_name", &u->login_name, error) ||
		    !read_string(uo, where, "display_name", &u->display_name, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
parse_filter(JsonObject *o, WrNetmapResponse *r, GError **error)
{
	JsonArray *a;

	if (!read_array(o, NULL, "packet_filter", WR_NETMAP_MAX_FILTER_RULES, &a, error))
		return FALSE;
	if (a == NULL)
		return TRUE;
	/* its rules are engine/filter's to read; here only their shape */
	for (guint i = 0; i < json_array_get_length(a); i++)
		if (!JSON_NODE_HOLDS_OBJECT(json_array_get_element(a, i))) {
			g_autofree char *elem = g_strdup_printf("packet_filter[%u]", i);

			return fail(error, NULL, elem, "not an object");
		}
	r->packet_filter = json_node_copy(member(o, "packet_filter"));
	return TRUE;
}

static gboolean
parse_derp_map(JsonObject *o, WrNetmapResponse *r, GError **error)
{
	JsonNode *m = member(o, "derp_map");
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;
	gsize len = 0;

	if (m == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(m))
		return fail(error, NULL, "derp_map", "not an object");
	{
		g_autoptr(JsonGenerator) gen = json_generator_new();

		json_generator_set_root(gen, m);
		text = json_generator_to_data(gen, &len);
	}
	r->derp_map = wr_derp_map_new_from_data(text, len, &local);
	if (r->derp_map == NULL)
		return fail(error, NULL, "derp_map", "%s", local->message);
	return TRUE;
}

WrNetmapResponse *
wr_netmap_response_parse(const char *json, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(WrNetmapResponse) r = g_new0(WrNetmapResponse, 1);
	g_autoptr(GError) local = NULL;
	JsonNode *root, *m;
	JsonObject *o;

	if (len > WR_NETMAP_MAX_TEXT) {
		g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_TOO_LARGE,
			    "map response of %" G_GSIZE_FORMAT " bytes is over the limit of %d",
			    len, WR_NETMAP_MAX_TEXT);
		return NULL;
	}
	if (memchr(json, '\0', len) != NULL) {
		g_set_error_literal(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "map response contains a NUL byte");
		return NULL;
	}
	if (!check_shape(json, len, error))
		return NULL;
	if (!json_parser_load_from_data(parser, json, (gssize) len, &local)) {
		g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
			    "map response is not JSON: %s", local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "map response is not a JSON object");
		return NULL;
	}
	o = json_node_get_object(root);
	r->full = member(o, "peers") != NULL;
	m = member(o, "node");
	if (m != NULL && (r->self = node_parse(m, "node", error)) == NULL)
		return NULL;
	if (r->full && r->self == NULL) {
		g_set_error_literal(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "node: missing from a full map");
		return NULL;
	}
	if (!parse_peers(o, r->full ? "peers" : "peers_changed", r, error))
		return NULL;
	if (r->full && member(o, "peers_changed") != NULL) {
		g_set_error_literal(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "peers_changed: not allowed beside peers");
		return NULL;
	}
	if (!parse_delta_lists(o, r, error) || !parse_profiles(o, r, error) ||
	    !parse_filter(o, r, error) || !parse_derp_map(o, r, error))
		return NULL;
	if (r->full && (r->peers_removed != NULL || r->peers_patch != NULL)) {
		g_set_error_literal(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "peers_removed and peers_patch are not allowed in a full map");
		return NULL;
	}
	m = member(o, "dns");
	if (m != NULL && (r->dns = dns_parse(m, error)) == NULL)
		return NULL;
	r->has_collect_flows = member(o, "collect_flows") != NULL;
	if (!read_bool(o, NULL, "collect_flows", &r->collect_flows, error) ||
	    !read_int(o, NULL, "control_time", FALSE, 0, TIME_MAX, &r->control_time, error) ||
	    !read_bool(o, NULL, "keep_alive", &r->keep_alive, error))
		return NULL;
	return g_steal_pointer(&r);
}

/* ---- changes ---- */

static WrNetmapChanges *
changes_new(void)
{
	WrNetmapChanges *c = g_new0(WrNetmapChanges, 1);

	c->added = g_array_new(FALSE, FALSE, sizeof(gint64));
	c->removed = g_ptr_array_new_with_free_func((GDestroyNotify) wr_netmap_node_free);
	c->changed = g_array_new(FALSE, FALSE, sizeof(gint64));
	c->online = g_array_new(FALSE, FALSE, sizeof(gint64));
	c->offline = g_array_new(FALSE, FALSE, sizeof(gint64));
	return c;
}

void
wr_netmap_changes_free(WrNetmapChanges *c)
{
	if (c == NULL)
		return;
	g_array_unref(c->added);
	g_ptr_array_unref(c->removed);
	g_array_unref(c->changed);
	g_array_unref(c->online);
	g_array_unref(c->offline);
	g_free(c);
}

gboolean
wr_netmap_changes_empty(const WrNetmapChanges *c)
{
	return c->added->len == 0 && c->removed->len == 0 && c->changed->len == 0 &&
	       c->online->len == 0 && c->offline->len == 0 && !c->self_changed &&
	       !c->filter_changed && !c->derp_map_changed && !c->dns_changed;
}

static gint
cmp_id(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

	return x < y ? -1 : x > y;
}

static gint
cmp_node_ptr(gconstpointer a, gconstpointer b)
{
	const WrNetmapNode *x = *(const WrNetmapNode *const *) a;
	const WrNetmapNode *y = *(const WrNetmapNode *const *) b;

	return cmp_id(&x->id, &y->id);
}

static void
changes_sort(WrNetmapChanges *c)
{
	g_array_sort(c->added, cmp_id);
	g_ptr_array_sort(c->removed, cmp_node_ptr);
	g_array_sort(c->changed, cmp_id);
	g_array_sort(c->online, cmp_id);
	g_array_sort(c->offline, cmp_id);
}

/* ---- the state ---- */

struct _WrNetmap {
	WrNetmapNode *self;
	GHashTable *peers; /* &node->id -> owned WrNetmapNode */
	WrDerpMap *derp_map;
	JsonNode *packet_filter;
	WrNetmapDns *dns;
	GHashTable *users; /* &user->id -> owned WrNetmapUser */
	gboolean collect_flows;
	gint64 control_time;
};

static GHashTable *
peer_table_new(void)
{
	return g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
				     (GDestroyNotify) wr_netmap_node_free);
}

WrNetmap *
wr_netmap_new(void)
{
	WrNetmap *self = g_new0(WrNetmap, 1);

	self->peers = peer_table_new();
	self->users = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, user_free);
	return self;
}

void
wr_netmap_free(WrNetmap *self)
{
	if (self == NULL)
		return;
	wr_netmap_node_free(self->self);
	g_hash_table_unref(self->peers);
	wr_derp_map_free(self->derp_map);
	g_clear_pointer(&self->packet_filter, json_node_unref);
	dns_free(self->dns);
	g_hash_table_unref(self->users);
	g_free(self);
}

/* reports the difference between a peer's old and new state (either may be NULL) */
static void
note_peer(WrNetmapChanges *c, const WrNetmapNode *old, const WrNetmapNode *cur)
{
	if (old == NULL) {
		g_array_append_val(c->added, cur->id);
		return;
	}
	if (cur == NULL) {
		g_ptr_array_add(c->removed, wr_netmap_node_copy(old));
		return;
	}
	if (wr_netmap_node_equal(old, cur))
		return;
	g_array_append_val(c->changed, cur->id);
	if (!old->online && cur->online)
		g_array_append_val(c->online, cur->id);
	else if (old->online && !cur->online)
		g_array_append_val(c->offline, cur->id);
}

static void
apply_patch(WrNetmapNode *n, const WrNetmapPatch *p)
{
	if (p->has_endpoints) {
		g_array_unref(n->endpoints);
		n->endpoints = array_copy(p->endpoints);
	}
	if (p->has_derp_region)
		n->derp_region = p->derp_region;
	if (p->has_online)
		n->online = p->online;
	if (p->has_last_seen)
		n->last_seen = p->last_seen;
	if (p->has_node_key)
		memcpy(n->node_key, p->node_key, WR_CRYPTO_KEY_LEN);
	if (p->has_disco_key) {
		memcpy(n->disco_key, p->disco_key, WR_CRYPTO_KEY_LEN);
		n->has_disco_key = !wr_key_is_zero(p->disco_key);
	}
}

static gboolean
filter_equal(JsonNode *a, JsonNode *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return json_node_equal(a, b);
}

static void
apply_common(WrNetmap *self, const WrNetmapResponse *r, WrNetmapChanges *c)
{
	if (r->self != NULL) {
		c->self_changed = self->self == NULL || !wr_netmap_node_equal(self->self, r->self);
		wr_netmap_node_free(self->self);
		self->self = wr_netmap_node_copy(r->self);
	}
	if (r->packet_filter != NULL) {
		c->filter_changed = !filter_equal(self->packet_filter, r->packet_filter);
		g_clear_pointer(&self->packet_filter, json_node_unref);
		self->packet_filter = json_node_copy(r->packet_filter);
	}
	if (r->derp_map != NULL) {
		c->derp_map_changed =
			self->derp_map == NULL || !wr_derp_map_equal(self->derp_map, r->derp_map);
		wr_derp_map_free(self->derp_map);
		self->derp_map = wr_derp_map_copy(r->derp_map);
	}
	if (r->dns != NULL) {
		c->dns_changed = !dns_equal(self->dns, r->dns);
		dns_free(self->dns);
		self->dns = dns_copy(r->dns);
	}
	for (guint i = 0; r->user_profiles != NULL && i < r->user_profiles->len; i++) {
		WrNetmapUser *u = user_copy(g_ptr_array_index(r->user_profiles, i));

		g_hash_table_replace(self->users, &u->id, u);
	}
	if (r->has_collect_flows)
		self->collect_flows = r->collect_flows;
	if (r->control_time != 0)
		self->control_time = r->control_time;
}

static WrNetmapChanges *
apply_full(WrNetmap *self, const WrNetmapResponse *r)
{
	WrNetmapChanges *c = changes_new();
	GHashTable *peers = peer_table_new();
	GHashTableIter iter;
	gpointer value;

	for (guint i = 0; i < r->peers->len; i++) {
		WrNetmapNode *n = wr_netmap_node_copy(g_ptr_array_index(r->peers, i));

		note_peer(c, g_hash_table_lookup(self->peers, &n->id), n);
		g_hash_table_replace(peers, &n->id, n);
	}
	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		WrNetmapNode *old = value;

		if (!g_hash_table_contains(peers, &old->id))
			note_peer(c, old, NULL);
	}
	g_hash_table_unref(self->peers);
	self->peers = peers;
	/* a full map says everything: what it leaves out is gone */
	if (r->packet_filter == NULL && self->packet_filter != NULL) {
		c->filter_changed = TRUE;
		g_clear_pointer(&self->packet_filter, json_node_unref);
	}
	if (r->dns == NULL && self->dns != NULL) {
		c->dns_changed = TRUE;
		g_clear_pointer(&self->dns, dns_free);
	}
	if (r->derp_map == NULL && self->derp_map != NULL) {
		c->derp_map_changed = TRUE;
		g_clear_pointer(&self->derp_map, wr_derp_map_free);
	}
	g_hash_table_remove_all(self->users);
	apply_common(self, r, c);
	return c;
}

/* can the delta apply?  Every patch and removal must name a peer that will be there */
static gboolean
delta_check(WrNetmap *self, const WrNetmapResponse *r, GError **error)
{
	g_autoptr(GHashTable) present = g_hash_table_new(g_int64_hash, g_int64_equal);
	GHashTableIter iter;
	gpointer key;

	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		g_hash_table_add(present, key);
	for (guint i = 0; r->peers_removed != NULL && i < r->peers_removed->len; i++) {
		gint64 *id = &g_array_index(r->peers_removed, gint64, i);

		if (!g_hash_table_remove(present, id)) {
			g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_UNKNOWN,
				    "peers_removed[%u]: no peer %" G_GINT64_FORMAT, i, *id);
			return FALSE;
		}
	}
	for (guint i = 0; r->peers != NULL && i < r->peers->len; i++) {
		WrNetmapNode *n = g_ptr_array_index(r->peers, i);

		if (self->self != NULL && n->id == self->self->id) {
			g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID,
				    "peers_changed[%u].id: %" G_GINT64_FORMAT " is the node itself",
				    i, n->id);
			return FALSE;
		}
		g_hash_table_add(present, &n->id);
	}
	for (guint i = 0; r->peers_patch != NULL && i < r->peers_patch->len; i++) {
		WrNetmapPatch *p = &g_array_index(r->peers_patch, WrNetmapPatch, i);

		if (!g_hash_table_contains(present, &p->id)) {
			g_set_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_UNKNOWN,
				    "peers_patch[%u]: no peer %" G_GINT64_FORMAT, i, p->id);
			return FALSE;
		}
	}
	return TRUE;
}

static WrNetmapChanges *
apply_delta(WrNetmap *self, const WrNetmapResponse *r, GError **error)
{
	WrNetmapChanges *c;
	/* the previous state of every peer this delta touches, to compare at the end */
	g_autoptr(GHashTable) before = peer_table_new();
	g_autoptr(GHashTable) touched = g_hash_table_new(g_int64_hash, g_int64_equal);
	GHashTableIter iter;
	gpointer value;

	if (!delta_check(self, r, error))
		return NULL;
	c = changes_new();
	for (guint i = 0; r->peers_removed != NULL && i < r->peers_removed->len; i++) {
		gint64 id = g_array_index(r->peers_removed, gint64, i);
		gpointer old;

		/* no stolen key: it is the node's own id, so GLib keeps the table as a set (key ==
		 * value) and a stolen key would leave the stolen value NULL (GLib 2.74) */
		if (g_hash_table_steal_extended(self->peers, &id, NULL, &old))
			g_hash_table_replace(before, &((WrNetmapNode *) old)->id, old);
	}
	for (guint i = 0; r->peers != NULL && i < r->peers->len; i++) {
		WrNetmapNode *n = wr_netmap_node_copy(g_ptr_array_index(r->peers, i));
		gpointer old;

		if (!g_hash_table_contains(before, &n->id) &&
		    g_hash_table_steal_extended(self->peers, &n->id, NULL, &old))
			g_hash_table_replace(before, &((WrNetmapNode *) old)->id, old);
		g_hash_table_replace(self->peers, &n->id, n);
		g_hash_table_add(touched, &n->id);
	}
	for (guint i = 0; r->peers_patch != NULL && i < r->peers_patch->len; i++) {
		const WrNetmapPatch *p = &g_array_index(r->peers_patch, WrNetmapPatch, i);
		WrNetmapNode *n = g_hash_table_lookup(self->peers, &p->id);

		if (!g_hash_table_contains(before, &p->id) &&
		    !g_hash_table_contains(touched, &p->id)) {
			WrNetmapNode *copy = wr_netmap_node_copy(n);

			g_hash_table_replace(before, &copy->id, copy);
		}
		apply_patch(n, p);
		g_hash_table_add(touched, &n->id);
	}
	/* removed ones that came back in peers_changed are changes; the rest are gone */
	g_hash_table_iter_init(&iter, before);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		WrNetmapNode *old = value;

		note_peer(c, old, g_hash_table_lookup(self->peers, &old->id));
	}
	g_hash_table_iter_init(&iter, touched);
	while (g_hash_table_iter_next(&iter, &value, NULL))
		if (!g_hash_table_contains(before, value))
			note_peer(c, NULL, g_hash_table_lookup(self->peers, value));
	apply_common(self, r, c);
	return c;
}

WrNetmapChanges *
wr_netmap_apply(WrNetmap *self, const WrNetmapResponse *resp, GError **error)
{
	WrNetmapChanges *c;

	if (resp->full) {
		c = apply_full(self, resp);
	} else {
		if (self->self == NULL) {
			g_set_error_literal(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_NO_STATE,
					    "a map delta before any full map");
			return NULL;
		}
		c = apply_delta(self, resp, error);
		if (c == NULL)
			return NULL;
	}
	changes_sort(c);
	return c;
}

gboolean
wr_netmap_has_state(const WrNetmap *self)
{
	return self->self != NULL;
}

const WrNetmapNode *
wr_netmap_get_self(const WrNetmap *self)
{
	return self->self;
}

guint
wr_netmap_get_n_peers(const WrNetmap *self)
{
	return g_hash_table_size(self->peers);
}

const WrNetmapNode *
wr_netmap_lookup_peer(const WrNetmap *self, gint64 id)
{
	return g_hash_table_lookup(self->peers, &id);
}

GPtrArray *
wr_netmap_get_peers(const WrNetmap *self)
{
	GPtrArray *out = g_ptr_array_sized_new(g_hash_table_size(self->peers));
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(out, value);
	g_ptr_array_sort(out, cmp_node_ptr);
	return out;
}

const WrDerpMap *
wr_netmap_get_derp_map(const WrNetmap *self)
{
	return self->derp_map;
}

JsonNode *
wr_netmap_get_packet_filter(const WrNetmap *self)
{
	return self->packet_filter;
}

const WrNetmapDns *
wr_netmap_get_dns(const WrNetmap *self)
{
	return self->dns;
}

const WrNetmapUser *
wr_netmap_lookup_user(const WrNetmap *self, gint64 id)
{
	return g_hash_table_lookup(self->users, &id);
}

gboolean
wr_netmap_get_collect_flows(const WrNetmap *self)
{
	return self->collect_flows;
}

gint64
wr_netmap_get_control_time(const WrNetmap *self)
{
	return self->control_time;
}

/* ---- back to JSON ---- */

static void
add_cidrs(JsonBuilder *b, const char *name, const GArray *cidrs)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (guint i = 0; i < cidrs->len; i++) {
		char text[WR_CIDR_STRLEN];

		wr_cidr_format(&g_array_index(cidrs, WrCidr, i), text);
		json_builder_add_string_value(b, text);
	}
	json_builder_end_array(b);
}

static void
add_node(JsonBuilder *b, const WrNetmapNode *n)
{
	g_autofree char *nk = wr_key_to_text(WR_KEY_KIND_NODE, n->node_key);
	g_autofree char *dk =
		n->has_disco_key ? wr_key_to_text(WR_KEY_KIND_DISCO, n->disco_key) : g_strdup("");

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_int_value(b, n->id);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, n->name);
	json_builder_set_member_name(b, "dns_name");
	json_builder_add_string_value(b, n->dns_name);
	json_builder_set_member_name(b, "user_id");
	json_builder_add_int_value(b, n->user_id);
	json_builder_set_member_name(b, "node_key");
	json_builder_add_string_value(b, nk);
	json_builder_set_member_name(b, "disco_key");
	json_builder_add_string_value(b, dk);
	add_cidrs(b, "addresses", n->addresses);
	add_cidrs(b, "allowed_ips", n->allowed_ips);
	json_builder_set_member_name(b, "endpoints");
	json_builder_begin_array(b);
	for (guint i = 0; i < n->endpoints->len; i++) {
		char text[WR_ENDPOINT_STRLEN];

		wr_endpoint_format(&g_array_index(n->endpoints, WrEndpoint, i), text);
		json_builder_add_string_value(b, text);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "derp_region");
	json_builder_add_int_value(b, n->derp_region);
	json_builder_set_member_name(b, "hostinfo");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "os");
	json_builder_add_string_value(b, n->os);
	json_builder_set_member_name(b, "hostname");
	json_builder_add_string_value(b, n->hostname);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "online");
	json_builder_add_boolean_value(b, n->online);
	json_builder_set_member_name(b, "last_seen");
	json_builder_add_int_value(b, n->last_seen);
	json_builder_set_member_name(b, "key_expiry");
	json_builder_add_int_value(b, n->key_expiry);
	json_builder_set_member_name(b, "exit_node_option");
	json_builder_add_boolean_value(b, n->exit_node_option);
	add_cidrs(b, "primary_routes", n->primary_routes);
	json_builder_set_member_name(b, "tags");
	json_builder_begin_array(b);
	for (guint i = 0; n->tags[i] != NULL; i++)
		json_builder_add_string_value(b, n->tags[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
}

static gint
cmp_user_ptr(gconstpointer a, gconstpointer b)
{
	const WrNetmapUser *x = *(const WrNetmapUser *const *) a;
	const WrNetmapUser *y = *(const WrNetmapUser *const *) b;

	return cmp_id(&x->id, &y->id);
}

GBytes *
wr_netmap_to_json(const WrNetmap *self)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GPtrArray) peers = NULL;
	g_autoptr(GPtrArray) users = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;
	char *text;
	gsize len = 0;

	if (self->self == NULL)
		return NULL;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "node");
	add_node(b, self->self);
	json_builder_set_member_name(b, "peers");
	json_builder_begin_array(b);
	peers = wr_netmap_get_peers(self);
	for (guint i = 0; i < peers->len; i++)
		add_node(b, g_ptr_array_index(peers, i));
	json_builder_end_array(b);
	if (self->derp_map != NULL) {
		g_autofree char *derp = wr_derp_map_to_json(self->derp_map, false, NULL);
		g_autoptr(JsonParser) parser = json_parser_new();

		/* our own output of a map that parsed: it parses */
		if (json_parser_load_from_data(parser, derp, -1, NULL)) {
			json_builder_set_member_name(b, "derp_map");
			json_builder_add_value(b, json_node_copy(json_parser_get_root(parser)));
		}
	}
	if (self->packet_filter != NULL) {
		json_builder_set_member_name(b, "packet_filter");
		json_builder_add_value(b, json_node_copy(self->packet_filter));
	}
	if (self->dns != NULL) {
		json_builder_set_member_name(b, "dns");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "magic_dns");
		json_builder_add_boolean_value(b, self->dns->magic_dns);
		json_builder_set_member_name(b, "domain");
		json_builder_add_string_value(b, self->dns->domain);
		json_builder_set_member_name(b, "nameservers");
		json_builder_begin_array(b);
		for (guint i = 0; self->dns->nameservers[i] != NULL; i++)
			json_builder_add_string_value(b, self->dns->nameservers[i]);
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_set_member_name(b, "user_profiles");
	json_builder_begin_array(b);
	g_hash_table_iter_init(&iter, self->users);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(users, value);
	g_ptr_array_sort(users, cmp_user_ptr);
	for (guint i = 0; i < users->len; i++) {
		const WrNetmapUser *u = g_ptr_array_index(users, i);

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "id");
		json_builder_add_int_value(b, u->id);
		json_builder_set_member_name(b, "login_name");
		json_builder_add_string_value(b, u->login_name);
		json_builder_set_member_name(b, "display_name");
		json_builder_add_string_value(b, u->display_name);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "collect_flows");
	json_builder_add_boolean_value(b, self->collect_flows);
	json_builder_set_member_name(b, "control_time");
	json_builder_add_int_value(b, self->control_time);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, &len);
	return g_bytes_new_take(text, len);
}

gboolean
wr_netmap_equal(const WrNetmap *a, const WrNetmap *b)
{
	GHashTableIter iter;
	gpointer value;

	if ((a->self == NULL) != (b->self == NULL) ||
	    (a->self != NULL && !wr_netmap_node_equal(a->self, b->self)) ||
	    g_hash_table_size(a->peers) != g_hash_table_size(b->peers) ||
	    g_hash_table_size(a->users) != g_hash_table_size(b->users) ||
	    !filter_equal(a->packet_filter, b->packet_filter) || !dns_equal(a->dns, b->dns) ||
	    (a->derp_map == NULL) != (b->derp_map == NULL) ||
	    (a->derp_map != NULL && !wr_derp_map_equal(a->derp_map, b->derp_map)) ||
	    a->collect_flows != b->collect_flows || a->control_time != b->control_time)
		return FALSE;
	g_hash_table_iter_init(&iter, a->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		const WrNetmapNode *n = value;
		const WrNetmapNode *m = g_hash_table_lookup(b->peers, &n->id);

		if (m == NULL || !wr_netmap_node_equal(n, m))
			return FALSE;
	}
	g_hash_table_iter_init(&iter, a->users);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		const WrNetmapUser *u = value;
		const WrNetmapUser *v = g_hash_table_lookup(b->users, &u->id);

		if (v == NULL || !g_str_equal(u->login_name, v->login_name) ||
		    !g_str_equal(u->display_name, v->display_name))
			return FALSE;
	}
	return TRUE;
}
