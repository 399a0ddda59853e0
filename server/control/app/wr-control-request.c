/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Register and map request bodies (wr-control-request.h).
 */
#include "config.h"

#include <string.h>

#include "wr-addr.h"
#include "wr-control-request.h"
#include "wr-control-seal.h"
#include "wr-key.h"

static gboolean
bad_field(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
bad_field(GError **error, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *text = NULL;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, WR_CONTROL_SEAL_ERROR, WR_CONTROL_SEAL_ERROR_BAD_FIELD, text);
	return FALSE;
}

static const char *
element_string(JsonArray *arr, guint i)
{
	JsonNode *el = json_array_get_element(arr, i);

	return JSON_NODE_HOLDS_VALUE(el) && json_node_get_value_type(el) == G_TYPE_STRING
		       ? json_node_get_string(el)
		       : NULL;
}

static GStrv
take_strv(GPtrArray *arr)
{
	g_ptr_array_add(arr, NULL);
	return (GStrv) g_ptr_array_free(arr, FALSE);
}

void
wr_control_hostinfo_clear(WrHostinfo *hi)
{
	g_clear_pointer(&hi->routes, g_strfreev);
	g_clear_pointer(&hi->request_tags, g_strfreev);
	memset(hi, 0, sizeof(*hi));
}

gboolean
wr_control_hostinfo_parse(JsonObject *hostinfo, WrHostinfo *out, GError **error)
{
	g_autoptr(GPtrArray) routes = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);
	JsonArray *arr = NULL, *tag_arr = NULL;
	const char *hostname = NULL;
	gboolean exit_node = FALSE;

	memset(out, 0, sizeof(*out));
	if (hostinfo != NULL &&
	    (!wr_control_field_string(hostinfo, "hostname", FALSE, &hostname, error) ||
	     !wr_control_field_array(hostinfo, "routable_ips", FALSE, &arr, error) ||
	     !wr_control_field_array(hostinfo, "request_tags", FALSE, &tag_arr, error))) {
		g_prefix_error(error, "hostinfo: ");
		return FALSE;
	}
	if (arr != NULL && json_array_get_length(arr) > WR_CONTROL_MAX_ROUTES)
		return bad_field(error, "field hostinfo.routable_ips lists more than %d routes",
				 WR_CONTROL_MAX_ROUTES);
	for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
		const char *text = element_string(arr, i);
		WrCidr cidr;
		char buf[WR_CIDR_STRLEN];

		if (text == NULL || strchr(text, '/') == NULL || !wr_cidr_parse(&cidr, text))
			return bad_field(
				error, "field hostinfo.routable_ips[%u] must be a CIDR prefix", i);
		wr_cidr_mask(&cidr);
		wr_cidr_format(&cidr, buf);
		if (cidr.cidr == 0)
			exit_node = TRUE;
		if (!g_ptr_array_find_with_equal_func(routes, buf, g_str_equal, NULL))
			g_ptr_array_add(routes, g_strdup(buf));
	}
	if (tag_arr != NULL && json_array_get_length(tag_arr) > WR_CONTROL_MAX_REQUEST_TAGS)
		return bad_field(error, "field hostinfo.request_tags lists more than %d tags",
				 WR_CONTROL_MAX_REQUEST_TAGS);
	for (guint i = 0; tag_arr != NULL && i < json_array_get_length(tag_arr); i++) {
		const char *tag = element_string(tag_arr, i);
		gsize len = tag != NULL ? strlen(tag) : 0;

		if (tag == NULL || !g_str_has_prefix(tag, "tag:") || len < 5 ||
		    len > WR_CONTROL_MAX_TAG_LEN || !g_utf8_validate(tag, (gssize) len, NULL))
			return bad_field(error,
					 "field hostinfo.request_tags[%u] must be tag:<name>", i);
		if (!g_ptr_array_find_with_equal_func(tags, tag, g_str_equal, NULL))
			g_ptr_array_add(tags, g_strdup(tag));
	}
	out->hostname = hostname;
	out->routes = take_strv(g_steal_pointer(&routes));
	out->exit_node = exit_node;
	out->request_tags = take_strv(g_steal_pointer(&tags));
	return TRUE;
}

static gboolean
check_version(JsonObject *req, GError **error)
{
	gint64 version = 0;

	if (!wr_control_field_int(req, "version", TRUE, &version, error))
		return FALSE;
	if (version != 1)
		return bad_field(error, "field version must be 1");
	return TRUE;
}

void
wr_register_request_clear(WrRegisterRequest *r)
{
	wr_control_hostinfo_clear(&r->hi);
	memset(r, 0, sizeof(*r));
}

gboolean
wr_register_request_parse(JsonObject *req, WrRegisterRequest *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	out->auth_key = "";
	out->followup = "";
	if (!check_version(req, error) ||
	    !wr_control_field_key(req, "node_key", WR_KEY_KIND_NODE, TRUE, out->node_key, error) ||
	    !wr_control_field_key(req, "old_node_key", WR_KEY_KIND_NODE, FALSE, out->old_node_key,
				  error) ||
	    !wr_control_field_string(req, "auth_key", FALSE, &out->auth_key, error) ||
	    !wr_control_field_string(req, "followup", FALSE, &out->followup, error) ||
	    !wr_control_field_bool(req, "logout", FALSE, &out->logout, error) ||
	    !wr_control_field_int_range(req, "expiry", FALSE, 0, WR_CONTROL_MAX_EXPIRY,
					&out->expiry, error) ||
	    !wr_control_field_object(req, "hostinfo", FALSE, &out->hostinfo, error) ||
	    !wr_control_hostinfo_parse(out->hostinfo, &out->hi, error)) {
		wr_register_request_clear(out);
		return FALSE;
	}
	out->has_old = !wr_key_is_zero(out->old_node_key);
	return TRUE;
}

static gboolean
parse_endpoints(JsonObject *req, GStrv *out, GError **error)
{
	g_autoptr(GPtrArray) eps = g_ptr_array_new_with_free_func(g_free);
	JsonArray *arr = NULL;

	*out = NULL;
	if (!wr_control_field_array(req, "endpoints", FALSE, &arr, error))
		return FALSE;
	if (arr == NULL)
		return TRUE;
	if (json_array_get_length(arr) > WR_CONTROL_MAX_ENDPOINTS)
		return bad_field(error, "field endpoints lists more than %d endpoints",
				 WR_CONTROL_MAX_ENDPOINTS);
	for (guint i = 0; i < json_array_get_length(arr); i++) {
		JsonNode *el = json_array_get_element(arr, i);
		JsonObject *obj = JSON_NODE_HOLDS_OBJECT(el) ? json_node_get_object(el) : NULL;
		const char *addr = NULL, *type = NULL;
		WrEndpoint ep;
		char buf[WR_ENDPOINT_STRLEN];

		if (obj == NULL || !wr_control_field_string(obj, "addr", TRUE, &addr, NULL) ||
		    !wr_control_field_string(obj, "type", FALSE, &type, NULL))
			return bad_field(error,
					 "field endpoints[%u] must be {\"addr\":\"ip:port\","
					 "\"type\":\"local|stun|portmap\"}",
					 i);
		if (!wr_endpoint_parse(&ep, addr))
			return bad_field(error, "field endpoints[%u].addr must be ip:port", i);
		if (type != NULL && g_strcmp0(type, "local") != 0 && g_strcmp0(type, "stun") != 0 &&
		    g_strcmp0(type, "portmap") != 0)
			return bad_field(error,
					 "field endpoints[%u].type must be local, stun or portmap",
					 i);
		wr_endpoint_format(&ep, buf);
		if (!g_ptr_array_find_with_equal_func(eps, buf, g_str_equal, NULL))
			g_ptr_array_add(eps, g_strdup(buf));
	}
	*out = take_strv(g_steal_pointer(&eps));
	return TRUE;
}

void
wr_map_request_clear(WrMapRequest *r)
{
	g_clear_pointer(&r->endpoints, g_strfreev);
	wr_control_hostinfo_clear(&r->hi);
	memset(r, 0, sizeof(*r));
}

gboolean
wr_map_request_parse(JsonObject *req, WrMapRequest *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	out->derp_region = -1;
	if (!check_version(req, error) ||
	    !wr_control_field_key(req, "node_key", WR_KEY_KIND_NODE, TRUE, out->node_key, error) ||
	    !wr_control_field_key(req, "disco_key", WR_KEY_KIND_DISCO, FALSE, out->disco_key,
				  error) ||
	    !parse_endpoints(req, &out->endpoints, error) ||
	    !wr_control_field_object(req, "hostinfo", FALSE, &out->hostinfo, error) ||
	    !wr_control_hostinfo_parse(out->hostinfo, &out->hi, error) ||
	    !wr_control_field_bool(req, "stream", FALSE, &out->stream, error) ||
	    !wr_control_field_bool(req, "omit_peers", FALSE, &out->omit_peers, error) ||
	    !wr_control_field_int_range(req, "derp_region", FALSE, 0, 65535, &out->derp_region,
					error)) {
		wr_map_request_clear(out);
		return FALSE;
	}
	out->has_disco = !wr_key_is_zero(out->disco_key);
	return TRUE;
}

void
wr_flows_request_clear(WrFlowsRequest *r)
{
	g_clear_pointer(&r->flows, g_array_unref);
	memset(r, 0, sizeof(*r));
}

static gboolean
one_of(const char *text, const char *const *allowed)
{
	return g_strv_contains(allowed, text);
}

/* "ip:port" as warrend writes it: an address and a port, nothing else, at most 64 bytes */
static gboolean
flow_address(JsonObject *o, const char *name, const char **out, GError **error)
{
	WrEndpoint ep;

	if (!wr_control_field_string(o, name, TRUE, out, error))
		return FALSE;
	if (strlen(*out) > 64 || !wr_endpoint_parse(&ep, *out))
		return bad_field(error, "field %s is not ip:port", name);
	return TRUE;
}

static gboolean
parse_flow(JsonObject *o, WrFlowIn *f, GError **error)
{
	static const char *const paths[] = {"direct", "derp", "", NULL};
	static const char *const ends[] = {"idle", "fin", "rst", "evicted", "flush", NULL};
	const gint64 max = G_MAXINT64;

	memset(f, 0, sizeof(*f));
	f->peer = "";
	f->path = "";
	if (!wr_control_field_int_range(o, "start", TRUE, 0, max, &f->start_us, error) ||
	    !wr_control_field_int_range(o, "end", TRUE, 0, max, &f->end_us, error) ||
	    !wr_control_field_string(o, "proto", TRUE, &f->proto, error) ||
	    !flow_address(o, "local", &f->local, error) ||
	    !flow_address(o, "remote", &f->remote, error) ||
	    !wr_control_field_bool(o, "outbound", TRUE, &f->outbound, error) ||
	    !wr_control_field_int_range(o, "peer-id", FALSE, 0, max, &f->peer_id, error) ||
	    !wr_control_field_string(o, "peer", FALSE, &f->peer, error) ||
	    !wr_control_field_string(o, "path", FALSE, &f->path, error) ||
	    !wr_control_field_string(o, "end-reason", TRUE, &f->end_reason, error) ||
	    !wr_control_field_int_range(o, "tx-packets", TRUE, 0, max, &f->tx_packets, error) ||
	    !wr_control_field_int_range(o, "tx-bytes", TRUE, 0, max, &f->tx_bytes, error) ||
	    !wr_control_field_int_range(o, "rx-packets", TRUE, 0, max, &f->rx_packets, error) ||
	    !wr_control_field_int_range(o, "rx-bytes", TRUE, 0, max, &f->rx_bytes, error))
		return FALSE;
	if (f->end_us < f->start_us)
		return bad_field(error, "field end is before start");
	/* "tcp", "ipv6-icmp", "proto-47": short, lower case, no surprises */
	if (*f->proto == '\0' || strlen(f->proto) > 16 ||
	    strspn(f->proto, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(f->proto))
		return bad_field(error, "field proto is not a protocol name");
	if (strlen(f->peer) > 63 || !g_utf8_validate(f->peer, -1, NULL))
		return bad_field(error, "field peer is not a peer name");
	if (!one_of(f->path, paths))
		return bad_field(error, "field path must be direct, derp or empty");
	if (!one_of(f->end_reason, ends))
		return bad_field(error,
				 "field end-reason must be idle, fin, rst, evicted or flush");
	return TRUE;
}

gboolean
wr_flows_request_parse(JsonObject *req, WrFlowsRequest *out, GError **error)
{
	JsonArray *arr = NULL;

	memset(out, 0, sizeof(*out));
	if (!check_version(req, error) ||
	    !wr_control_field_key(req, "node_key", WR_KEY_KIND_NODE, TRUE, out->node_key, error) ||
	    !wr_control_field_array(req, "flows", TRUE, &arr, error)) {
		wr_flows_request_clear(out);
		return FALSE;
	}
	if (json_array_get_length(arr) > WR_CONTROL_MAX_FLOWS) {
		wr_flows_request_clear(out);
		return bad_field(error, "field flows holds more than %d records",
				 WR_CONTROL_MAX_FLOWS);
	}
	out->flows = g_array_sized_new(FALSE, FALSE, sizeof(WrFlowIn), json_array_get_length(arr));
	for (guint i = 0; i < json_array_get_length(arr); i++) {
		JsonNode *el = json_array_get_element(arr, i);
		WrFlowIn f;

		if (!JSON_NODE_HOLDS_OBJECT(el)) {
			wr_flows_request_clear(out);
			return bad_field(error, "flows[%u] is not an object", i);
		}
		if (!parse_flow(json_node_get_object(el), &f, error)) {
			g_prefix_error(error, "flows[%u]: ", i);
			wr_flows_request_clear(out);
			return FALSE;
		}
		g_array_append_val(out->flows, f);
	}
	return TRUE;
}
