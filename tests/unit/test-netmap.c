/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * wr-netmap: MapResponse parsing (every field, refusals naming the field, limits) and the state
 * a sequence of deltas builds, with what each one reports as changed.
 */

#define G_LOG_DOMAIN "WrNetmapTest"

#include "config.h"

#include <string.h>

#include "wr-crypto.h"
#include "wr-key.h"
#include "wr-netmap.h"

/* "nodekey:" / "discokey:" and 32 bytes of b */
static char *
key_text(WrKeyKind kind, guint8 b)
{
	uint8_t k[WR_CRYPTO_KEY_LEN];

	memset(k, b, sizeof(k));
	return wr_key_to_text(kind, k);
}

/* a Node object; endpoints is a JSON array text */
static char *
node_json(gint64 id, const char *name, gboolean online, const char *endpoints)
{
	g_autofree char *nk = key_text(WR_KEY_KIND_NODE, (guint8) id);
	g_autofree char *dk = key_text(WR_KEY_KIND_DISCO, (guint8) (id + 100));

	return g_strdup_printf(
		"{\"id\":%" G_GINT64_FORMAT ",\"name\":\"%s\",\"dns_name\":\"%s.tailnet.test\","
		"\"user_id\":7,\"node_key\":\"%s\",\"disco_key\":\"%s\","
		"\"addresses\":[\"100.64.0.%" G_GINT64_FORMAT
		"/32\",\"fd7a:115c:a1e0::6440:%" G_GINT64_FORMAT "/128\"],"
		"\"allowed_ips\":[\"100.64.0.%" G_GINT64_FORMAT "/32\",\"192.0.2.0/24\"],"
		"\"endpoints\":%s,\"derp_region\":1,\"hostinfo\":{\"os\":\"linux\",\"hostname\":\"%"
		"s\","
		"\"extra\":[1,2]},\"online\":%s,\"last_seen\":1700000000,\"key_expiry\":1800000000,"
		"\"exit_node_option\":false,\"primary_routes\":[\"192.0.2.0/"
		"24\"],\"tags\":[\"tag:a\"],"
		"\"unknown\":{\"x\":1}}",
		id, name, name, nk, dk, id, id, id, endpoints, name, online ? "true" : "false");
}

static const char derp_map[] =
	"{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"lo\",\"RegionName\":\"Loopback\","
	"\"Nodes\":[{\"Name\":\"1a\",\"RegionID\":1,\"HostName\":\"derp.test\",\"IPv4\":"
	"\"192.0.2.1\",\"DERPPort\":3340}]}}}";

static char *
full_json(const char *peers)
{
	g_autofree char *self = node_json(1, "self", TRUE, "[\"192.0.2.10:41641\"]");

	return g_strdup_printf(
		"{\"node\":%s,\"peers\":[%s],\"derp_map\":%s,"
		"\"packet_filter\":[{\"src\":[\"*\"],\"dst\":[{\"net\":\"*\",\"ports\":[0,65535]}]}"
		"],"
		"\"dns\":{\"magic_dns\":true,\"domain\":\"tailnet.test\",\"nameservers\":"
		"[\"192.0.2.53\"]},\"user_profiles\":[{\"id\":7,\"login_name\":\"a@example.com\","
		"\"display_name\":\"A\"}],\"collect_flows\":true,\"control_time\":1700000001}",
		self, peers, derp_map);
}

static WrNetmapResponse *
parse_ok(const char *json)
{
	g_autoptr(GError) error = NULL;
	WrNetmapResponse *r = wr_netmap_response_parse(json, strlen(json), &error);

	if (r == NULL)
		g_test_message("parsing %s", json);
	g_assert_no_error(error);
	g_assert_nonnull(r);
	return r;
}

static WrNetmap *
state_with_full(void)
{
	g_autofree char *p2 = node_json(2, "two", TRUE, "[\"198.51.100.2:41641\"]");
	g_autofree char *p3 = node_json(3, "three", FALSE, "[]");
	g_autofree char *peers = g_strdup_printf("%s,%s", p2, p3);
	g_autofree char *full = full_json(peers);
	g_autoptr(WrNetmapResponse) r = parse_ok(full);
	g_autoptr(GError) error = NULL;
	g_autoptr(WrNetmapChanges) c = NULL;
	WrNetmap *nm = wr_netmap_new();

	c = wr_netmap_apply(nm, r, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(c->added->len, ==, 2);
	g_assert_true(c->self_changed && c->filter_changed && c->derp_map_changed &&
		      c->dns_changed);
	return nm;
}

static void
test_full(void)
{
	g_autofree char *p2 =
		node_json(2, "two", TRUE, "[\"198.51.100.2:41641\",\"[2001:db8::2]:9\"]");
	g_autofree char *full = full_json(p2);
	g_autoptr(WrNetmapResponse) r = parse_ok(full);
	const WrNetmapNode *n;
	char text[WR_CIDR_STRLEN];
	char ep[WR_ENDPOINT_STRLEN];
	uint8_t want[WR_CRYPTO_KEY_LEN];

	g_assert_true(r->full);
	g_assert_nonnull(r->self);
	g_assert_cmpint(r->self->id, ==, 1);
	g_assert_cmpuint(r->peers->len, ==, 1);
	n = g_ptr_array_index(r->peers, 0);
	g_assert_cmpint(n->id, ==, 2);
	g_assert_cmpstr(n->name, ==, "two");
	g_assert_cmpstr(n->dns_name, ==, "two.tailnet.test");
	g_assert_cmpint(n->user_id, ==, 7);
	memset(want, 2, sizeof(want));
	g_assert_cmpmem(n->node_key, sizeof(n->node_key), want, sizeof(want));
	memset(want, 102, sizeof(want));
	g_assert_true(n->has_disco_key);
	g_assert_cmpmem(n->disco_key, sizeof(n->disco_key), want, sizeof(want));
	g_assert_cmpuint(n->addresses->len, ==, 2);
	wr_cidr_format(&g_array_index(n->addresses, WrCidr, 0), text);
	g_assert_cmpstr(text, ==, "100.64.0.2/32");
	wr_cidr_format(&g_array_index(n->addresses, WrCidr, 1), text);
	g_assert_cmpstr(text, ==, "fd7a:115c:a1e0::6440:2/128");
	g_assert_cmpuint(n->allowed_ips->len, ==, 2);
	wr_cidr_format(&g_array_index(n->allowed_ips, WrCidr, 1), text);
	g_assert_cmpstr(text, ==, "192.0.2.0/24");
	g_assert_cmpuint(n->endpoints->len, ==, 2);
	wr_endpoint_format(&g_array_index(n->endpoints, WrEndpoint, 1), ep);
	g_assert_cmpstr(ep, ==, "[2001:db8::2]:9");
	g_assert_cmpint(n->derp_region, ==, 1);
	g_assert_true(n->online);
	g_assert_cmpint(n->last_seen, ==, 1700000000);
	g_assert_cmpint(n->key_expiry, ==, 1800000000);
	g_assert_false(n->exit_node_option);
	g_assert_cmpuint(n->primary_routes->len, ==, 1);
	g_assert_cmpstr(n->tags[0], ==, "tag:a");
	g_assert_null(n->tags[1]);
	g_assert_cmpstr(n->os, ==, "linux");
	g_assert_cmpstr(n->hostname, ==, "two");
	g_assert_nonnull(r->derp_map);
	g_assert_nonnull(wr_derp_map_get_region(r->derp_map, 1));
	g_assert_true(JSON_NODE_HOLDS_ARRAY(r->packet_filter));
	g_assert_cmpuint(json_array_get_length(json_node_get_array(r->packet_filter)), ==, 1);
	g_assert_true(r->dns->magic_dns);
	g_assert_cmpstr(r->dns->domain, ==, "tailnet.test");
	g_assert_cmpstr(r->dns->nameservers[0], ==, "192.0.2.53");
	g_assert_cmpuint(r->user_profiles->len, ==, 1);
	g_assert_true(r->has_collect_flows && r->collect_flows);
	g_assert_cmpint(r->control_time, ==, 1700000001);
	g_assert_false(r->keep_alive);

	{
		g_autoptr(WrNetmap) nm = wr_netmap_new();
		g_autoptr(WrNetmapChanges) c = NULL;
		g_autoptr(GError) error = NULL;
		const WrNetmapUser *u;

		g_assert_false(wr_netmap_has_state(nm));
		c = wr_netmap_apply(nm, r, &error);
		g_assert_no_error(error);
		g_assert_true(wr_netmap_has_state(nm));
		g_assert_cmpint(wr_netmap_get_self(nm)->id, ==, 1);
		g_assert_cmpuint(wr_netmap_get_n_peers(nm), ==, 1);
		g_assert_true(wr_netmap_node_equal(wr_netmap_lookup_peer(nm, 2), n));
		u = wr_netmap_lookup_user(nm, 7);
		g_assert_nonnull(u);
		g_assert_cmpstr(u->login_name, ==, "a@example.com");
		g_assert_true(wr_netmap_get_collect_flows(nm));
		g_assert_cmpint(wr_netmap_get_control_time(nm), ==, 1700000001);
		g_assert_nonnull(wr_netmap_get_derp_map(nm));
		g_assert_nonnull(wr_netmap_get_dns(nm));
		g_assert_nonnull(wr_netmap_get_packet_filter(nm));
	}
}

/* a sequence of deltas, each applied to the state the previous ones left */
typedef struct {
	const char *name;
	const char *delta; /* %N2, %N4 ... are replaced by node 2's, 4's ... whole JSON */
	const char *added, *removed, *changed, *online, *offline; /* "2,4" */
	gboolean self, filter, derp, dns;
	const char *peers; /* ids held afterwards */
	const char *error; /* or the refusal, and nothing changes */
} DeltaCase;

static const DeltaCase delta_cases[] = {
	{"keep-alive", "{\"keep_alive\":true}", .peers = "2,3"},
	{"add", "{\"peers_changed\":[%N4]}", .added = "4", .peers = "2,3,4"},
	{"endpoint patch", "{\"peers_patch\":[{\"id\":2,\"endpoints\":[\"203.0.113.2:1\"]}]}",
	 .changed = "2", .peers = "2,3,4"},
	{"online patch",
	 "{\"peers_patch\":[{\"id\":3,\"online\":true},{\"id\":2,\"online\":false}]}",
	 .changed = "2,3", .online = "3", .offline = "2", .peers = "2,3,4"},
	{"no-op patch", "{\"peers_patch\":[{\"id\":3,\"online\":true}]}", .peers = "2,3,4"},
	{"remove", "{\"peers_removed\":[4]}", .removed = "4", .peers = "2,3"},
	{"remove then patch refused",
	 "{\"peers_removed\":[3],\"peers_patch\":[{\"id\":3,\"online\":false}]}", .peers = "2,3",
	 .error = "peers_patch[0]: no peer 3"},
	{"unknown removal refused", "{\"peers_removed\":[99]}", .peers = "2,3",
	 .error = "peers_removed[0]: no peer 99"},
	{"self in peers_changed refused", "{\"peers_changed\":[%N1]}", .peers = "2,3",
	 .error = "peers_changed[0].id: 1 is the node itself"},
	{"remove and re-add is a change", "{\"peers_removed\":[2],\"peers_changed\":[%N2]}",
	 .changed = "2", .online = "2", .peers = "2,3"},
	{"add and patch in one",
	 "{\"peers_changed\":[%N5],\"peers_patch\":[{\"id\":5,\"derp_region\":9}]}", .added = "5",
	 .peers = "2,3,5"},
	{"key rotation patch",
	 "{\"peers_patch\":[{\"id\":5,\"node_key\":\"nodekey:"
	 "0505050505050505050505050505050505050505050505050505050505050506\",\"disco_key\":\"\"}]}",
	 .changed = "5", .peers = "2,3,5"},
	{"filter", "{\"packet_filter\":[]}", .filter = TRUE, .peers = "2,3,5"},
	{"same filter", "{\"packet_filter\":[]}", .peers = "2,3,5"},
	{"dns", "{\"dns\":{\"magic_dns\":false,\"domain\":\"x.test\"}}", .dns = TRUE,
	 .peers = "2,3,5"},
	{"derp map", "{\"derp_map\":{\"Regions\":{}}}", .derp = TRUE, .peers = "2,3,5"},
	{"self", "{\"node\":%N1x}", .self = TRUE, .peers = "2,3,5"},
};

static char *
expand(const char *tmpl)
{
	GString *out = g_string_new(NULL);

	for (const char *p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'N') {
			gint64 id = p[2] - '0';
			gboolean alt = p[3] == 'x';
			g_autofree char *n = node_json(id, alt ? "renamed" : "n", id == 2, "[]");

			g_string_append(out, n);
			p += alt ? 3 : 2;
		} else {
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

static char *
ids_text(GArray *ids)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < ids->len; i++)
		g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
				       g_array_index(ids, gint64, i));
	return g_string_free(s, FALSE);
}

static char *
nodes_text(GPtrArray *nodes)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < nodes->len; i++)
		g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
				       ((WrNetmapNode *) g_ptr_array_index(nodes, i))->id);
	return g_string_free(s, FALSE);
}

static void
test_deltas(void)
{
	g_autoptr(WrNetmap) nm = state_with_full();

	for (guint i = 0; i < G_N_ELEMENTS(delta_cases); i++) {
		const DeltaCase *t = &delta_cases[i];
		g_autofree char *json = expand(t->delta);
		g_autoptr(WrNetmapResponse) r = parse_ok(json);
		g_autoptr(WrNetmapChanges) c = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) peers = NULL;
		g_autofree char *held = NULL;

		g_test_message("case %u: %s", i, t->name);
		g_assert_false(r->full);
		c = wr_netmap_apply(nm, r, &error);
		if (t->error != NULL) {
			g_assert_null(c);
			g_assert_nonnull(error);
			g_assert_cmpstr(error->message, ==, t->error);
		} else {
			g_autofree char *added = NULL, *removed = NULL, *changed = NULL;
			g_autofree char *online = NULL, *offline = NULL;

			g_assert_no_error(error);
			added = ids_text(c->added);
			removed = nodes_text(c->removed);
			changed = ids_text(c->changed);
			online = ids_text(c->online);
			offline = ids_text(c->offline);
			g_assert_cmpstr(added, ==, t->added != NULL ? t->added : "");
			g_assert_cmpstr(removed, ==, t->removed != NULL ? t->removed : "");
			g_assert_cmpstr(changed, ==, t->changed != NULL ? t->changed : "");
			g_assert_cmpstr(online, ==, t->online != NULL ? t->online : "");
			g_assert_cmpstr(offline, ==, t->offline != NULL ? t->offline : "");
			g_assert_cmpint(c->self_changed, ==, t->self);
			g_assert_cmpint(c->filter_changed, ==, t->filter);
			g_assert_cmpint(c->derp_map_changed, ==, t->derp);
			g_assert_cmpint(c->dns_changed, ==, t->dns);
		}
		peers = wr_netmap_get_peers(nm);
		held = nodes_text(peers);
		g_assert_cmpstr(held, ==, t->peers);
	}
	/* what the patches left */
	{
		const WrNetmapNode *two = wr_netmap_lookup_peer(nm, 2);
		const WrNetmapNode *five = wr_netmap_lookup_peer(nm, 5);
		char ep[WR_ENDPOINT_STRLEN];

		g_assert_true(two->online);
		g_assert_cmpuint(two->endpoints->len, ==, 0); /* re-added whole */
		g_assert_cmpint(five->derp_region, ==, 9);
		g_assert_false(five->has_disco_key);
		g_assert_cmphex(five->node_key[31], ==, 6);
		g_assert_cmpstr(wr_netmap_get_self(nm)->name, ==, "renamed");
		g_assert_cmpstr(wr_netmap_get_dns(nm)->domain, ==, "x.test");
		(void) ep;
	}
}

/* a full map after a reconnect reports only the difference */
static void
test_full_again(void)
{
	g_autoptr(WrNetmap) nm = state_with_full();
	g_autofree char *p2 = node_json(2, "two", FALSE, "[\"198.51.100.2:41641\"]");
	g_autofree char *p6 = node_json(6, "six", TRUE, "[]");
	g_autofree char *peers = g_strdup_printf("%s,%s", p6, p2);
	g_autofree char *full = full_json(peers);
	g_autoptr(WrNetmapResponse) r = parse_ok(full);
	g_autoptr(WrNetmapChanges) c = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *added = NULL, *removed = NULL, *changed = NULL, *offline = NULL;

	c = wr_netmap_apply(nm, r, &error);
	g_assert_no_error(error);
	added = ids_text(c->added);
	removed = nodes_text(c->removed);
	changed = ids_text(c->changed);
	offline = ids_text(c->offline);
	g_assert_cmpstr(added, ==, "6");
	g_assert_cmpstr(removed, ==, "3");
	g_assert_cmpstr(changed, ==, "2");
	g_assert_cmpstr(offline, ==, "2");
	g_assert_false(c->self_changed || c->filter_changed || c->derp_map_changed ||
		       c->dns_changed);
	/* the same map once more: nothing */
	g_clear_pointer(&c, wr_netmap_changes_free);
	c = wr_netmap_apply(nm, r, &error);
	g_assert_no_error(error);
	g_assert_true(wr_netmap_changes_empty(c));
}

static void
test_delta_first(void)
{
	g_autoptr(WrNetmap) nm = wr_netmap_new();
	g_autoptr(WrNetmapResponse) r = parse_ok("{\"keep_alive\":true}");
	g_autoptr(GError) error = NULL;
	WrNetmapChanges *c = wr_netmap_apply(nm, r, &error);

	g_assert_null(c);
	g_assert_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_NO_STATE);
}

typedef struct {
	const char *json; /* %N2 as in the delta table */
	const char *error;
} BadCase;

static const BadCase bad_cases[] = {
	{"{", "map response is not JSON: "},
	{"[1]", "map response is not a JSON object"},
	{"{\"peers\":[]}", "node: missing from a full map"},
	{"{\"node\":5,\"peers\":[]}", "node: not an object"},
	{"{\"peers_changed\":{}}", "peers_changed: not an array"},
	{"{\"peers_changed\":[{\"node_key\":\"x\"}]}", "peers_changed[0].id: missing"},
	{"{\"peers_changed\":[{\"id\":0}]}",
	 "peers_changed[0].id: 0 is outside [1, 9007199254740991]"},
	{"{\"peers_changed\":[{\"id\":1.5}]}", "peers_changed[0].id: not an integer"},
	{"{\"peers_changed\":[{\"id\":3,\"node_key\":\"nodekey:00\"}]}",
	 "peers_changed[0].node_key: not a node key"},
	{"{\"peers_changed\":[{\"id\":3}]}", "peers_changed[0].node_key: missing"},
	{"{\"peers_changed\":[%N2,%N2]}", "peers_changed[1].id: 2 appears twice"},
	{"{\"peers_patch\":[{\"id\":2,\"disco_key\":\"nodekey:"
	 "0000000000000000000000000000000000000000000000000000000000000000\"}]}",
	 "peers_patch[0].disco_key: not a disco key"},
	{"{\"peers_patch\":[{\"id\":2,\"endpoints\":[\"192.0.2.1\"]}]}",
	 "peers_patch[0].endpoints[0]: not an ip:port endpoint"},
	{"{\"peers_patch\":[{\"id\":2,\"endpoints\":[5]}]}",
	 "peers_patch[0].endpoints[0]: not a string"},
	{"{\"peers_patch\":[{\"id\":2,\"online\":1}]}", "peers_patch[0].online: not a boolean"},
	{"{\"peers_patch\":[{\"id\":2,\"derp_region\":-1}]}",
	 "peers_patch[0].derp_region: -1 is outside [0, 2147483647]"},
	{"{\"peers_removed\":[\"2\"]}", "peers_removed[0]: not a node id"},
	{"{\"node\":{\"id\":1,\"node_key\":\"nodekey:"
	 "0101010101010101010101010101010101010101010101010101010101010101\","
	 "\"addresses\":[\"100.64.0.300/32\"]},\"peers\":[]}",
	 "node.addresses[0]: not an IP prefix"},
	{"{\"node\":{\"id\":1,\"node_key\":\"nodekey:"
	 "0101010101010101010101010101010101010101010101010101010101010101\","
	 "\"hostinfo\":[]},\"peers\":[]}",
	 "node.hostinfo: not an object"},
	{"{\"peers_changed\":[%N2],\"peers\":[]}", "node: missing from a full map"},
	{"{\"packet_filter\":[1]}", "packet_filter[0]: not an object"},
	{"{\"packet_filter\":{}}", "packet_filter: not an array"},
	{"{\"dns\":{\"nameservers\":[\"192.0.2.0/24\"]}}", "dns.nameservers[0]: not an IP address"},
	{"{\"dns\":{\"magic_dns\":\"yes\"}}", "dns.magic_dns: not a boolean"},
	{"{\"derp_map\":{\"Regions\":{\"1\":{\"RegionID\":2}}}}", "derp_map: "},
	{"{\"user_profiles\":[{\"id\":7,\"login_name\":3}]}",
	 "user_profiles[0].login_name: not a string"},
	{"{\"control_time\":\"now\"}", "control_time: not an integer"},
	{"{\"keep_alive\":null,\"collect_flows\":[]}", "collect_flows: not a boolean"},
	{"{\"peers_changed\":[{\"id\":2,\"node_key\":\"nodekey:"
	 "0202020202020202020202020202020202020202020202020202020202020202\",\"tags\":[\"a\",1]}]}",
	 "peers_changed[0].tags[1]: not a string"},
};

static void
test_refused(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *json = expand(bad_cases[i].json);
		g_autoptr(GError) error = NULL;
		g_autoptr(WrNetmapResponse) r =
			wr_netmap_response_parse(json, strlen(json), &error);

		g_test_message("case %u: %s", i, json);
		g_assert_null(r);
		g_assert_nonnull(error);
		g_assert_true(g_error_matches(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID));
		if (!g_str_has_prefix(error->message, bad_cases[i].error))
			g_error("case %u: got \"%s\", want \"%s\"", i, error->message,
				bad_cases[i].error);
	}
}

static void
test_limits(void)
{
	g_autoptr(GString) deep = g_string_new("{\"x\":");
	g_autoptr(GString) wide = g_string_new("{");
	g_autoptr(GString) eps = g_string_new("{\"peers_patch\":[{\"id\":2,\"endpoints\":[");
	g_autoptr(GError) error = NULL;
	WrNetmapResponse *r;

	for (guint i = 0; i < WR_NETMAP_MAX_DEPTH; i++)
		g_string_append_c(deep, '[');
	r = wr_netmap_response_parse(deep->str, deep->len, &error);
	g_assert_null(r);
	g_assert_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_TOO_LARGE);
	g_assert_cmpstr(error->message, ==, "JSON nested deeper than 32 levels");
	g_clear_error(&error);

	for (guint i = 0; i <= WR_NETMAP_MAX_MEMBERS; i++)
		g_string_append_printf(wide, "%s\"a\":1", i > 0 ? "," : "");
	g_string_append_c(wide, '}');
	r = wr_netmap_response_parse(wide->str, wide->len, &error);
	g_assert_null(r);
	g_assert_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_TOO_LARGE);
	g_clear_error(&error);
	/* at the limit is fine, and a colon inside a string is not a member */
	g_string_assign(wide, "{\"b:\":\"::\"");
	for (guint i = 1; i < WR_NETMAP_MAX_MEMBERS; i++)
		g_string_append_printf(wide, ",\"a%u\":1", i);
	g_string_append_c(wide, '}');
	r = wr_netmap_response_parse(wide->str, wide->len, &error);
	g_assert_no_error(error);
	g_assert_nonnull(r);
	g_assert_false(r->full);
	wr_netmap_response_free(r);

	for (guint i = 0; i <= WR_NETMAP_MAX_ENDPOINTS; i++)
		g_string_append_printf(eps, "%s\"192.0.2.1:%u\"", i > 0 ? "," : "", i + 1);
	g_string_append(eps, "]}]}");
	r = wr_netmap_response_parse(eps->str, eps->len, &error);
	g_assert_null(r);
	g_assert_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_TOO_LARGE);
	g_assert_cmpstr(error->message, ==, "peers_patch[0].endpoints: more than 64 elements");
	g_clear_error(&error);

	r = wr_netmap_response_parse("{}\0", 3, &error);
	g_assert_null(r);
	g_assert_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_INVALID);
}

/* a refused delta leaves the state exactly as it was */
static void
test_refused_changes_nothing(void)
{
	g_autoptr(WrNetmap) nm = state_with_full();
	g_autoptr(GPtrArray) before = NULL;
	g_autoptr(GPtrArray) after = NULL;
	g_autoptr(GPtrArray) copies =
		g_ptr_array_new_with_free_func((GDestroyNotify) wr_netmap_node_free);
	g_autoptr(WrNetmapResponse) r = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *json =
		expand("{\"peers_removed\":[2],\"peers_changed\":[%N4],\"packet_filter\":[],"
		       "\"peers_patch\":[{\"id\":3,\"online\":true},{\"id\":8,\"online\":true}]}");

	before = wr_netmap_get_peers(nm);
	for (guint i = 0; i < before->len; i++)
		g_ptr_array_add(copies, wr_netmap_node_copy(g_ptr_array_index(before, i)));
	r = parse_ok(json);
	g_assert_null(wr_netmap_apply(nm, r, &error));
	g_assert_error(error, WR_NETMAP_ERROR, WR_NETMAP_ERROR_UNKNOWN);
	after = wr_netmap_get_peers(nm);
	g_assert_cmpuint(after->len, ==, copies->len);
	for (guint i = 0; i < after->len; i++)
		g_assert_true(wr_netmap_node_equal(g_ptr_array_index(after, i),
						   g_ptr_array_index(copies, i)));
	g_assert_cmpuint(
		json_array_get_length(json_node_get_array(wr_netmap_get_packet_filter(nm))), ==, 1);
}

/* the state to JSON and back is the same state, after a full map and after deltas */
static void
test_round_trip(void)
{
	g_autoptr(WrNetmap) nm = state_with_full();
	g_autoptr(WrNetmap) empty = wr_netmap_new();
	const char *deltas[] = {
		"{\"peers_changed\":[%N4],\"user_profiles\":[{\"id\":9,\"login_name\":\"b@x\","
		"\"display_name\":\"B\"}]}",
		"{\"peers_patch\":[{\"id\":2,\"endpoints\":[\"[2001:db8::9]:7\"],\"disco_key\":"
		"\"\"}]}",
		"{\"packet_filter\":[],\"dns\":{\"magic_dns\":false,\"domain\":\"d\","
		"\"nameservers\":[\"2001:db8::53\"]}}",
		"{\"peers_removed\":[3]}",
	};

	g_assert_null(wr_netmap_to_json(empty));
	for (guint i = 0; i <= G_N_ELEMENTS(deltas); i++) {
		g_autoptr(GBytes) json = wr_netmap_to_json(nm);
		g_autoptr(WrNetmapResponse) r = NULL;
		g_autoptr(WrNetmap) back = wr_netmap_new();
		g_autoptr(WrNetmapChanges) c = NULL;
		g_autoptr(GError) error = NULL;
		gsize len = 0;
		const char *text = g_bytes_get_data(json, &len);

		g_test_message("after %u deltas: %.*s", i, (int) MIN(len, 400), text);
		r = wr_netmap_response_parse(text, len, &error);
		g_assert_no_error(error);
		g_assert_true(r->full);
		c = wr_netmap_apply(back, r, &error);
		g_assert_no_error(error);
		g_assert_true(wr_netmap_equal(nm, back));
		g_assert_true(wr_netmap_equal(back, nm));
		g_assert_false(wr_netmap_equal(nm, empty));
		if (i < G_N_ELEMENTS(deltas)) {
			g_autofree char *d = expand(deltas[i]);
			g_autoptr(WrNetmapResponse) dr = parse_ok(d);
			g_autoptr(WrNetmapChanges) dc = wr_netmap_apply(nm, dr, &error);

			g_assert_no_error(error);
			g_assert_false(wr_netmap_changes_empty(dc));
			/* the saved copy is now behind */
			g_assert_false(wr_netmap_equal(nm, back));
		}
	}
	g_assert_nonnull(wr_netmap_lookup_user(nm, 9));
	g_assert_cmpstr(wr_netmap_get_dns(nm)->nameservers[0], ==, "2001:db8::53");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_true(wr_crypto_init());

	g_test_add_func("/warren/netmap/full", test_full);
	g_test_add_func("/warren/netmap/deltas", test_deltas);
	g_test_add_func("/warren/netmap/full-again", test_full_again);
	g_test_add_func("/warren/netmap/delta-first", test_delta_first);
	g_test_add_func("/warren/netmap/refused", test_refused);
	g_test_add_func("/warren/netmap/limits", test_limits);
	g_test_add_func("/warren/netmap/refused-changes-nothing", test_refused_changes_nothing);
	g_test_add_func("/warren/netmap/round-trip", test_round_trip);
	return g_test_run();
}
