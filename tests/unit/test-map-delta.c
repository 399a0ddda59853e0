/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Map deltas (wr-map-delta): a table of (old, new) views and the exact delta each gives (peer
 * added, removed, endpoint-only change as a patch, rename as a whole node, key rotation, online
 * flip, filter/DERP map/DNS changes, nothing changed), node JSON round trips, refused deltas, and
 * a randomized property test: apply(old, compute(old, new)) == new, through the wire text.
 */

#define G_LOG_DOMAIN "WrMapDeltaTest"

#include "config.h"

#include <glib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "wr-map-delta.h"

static GStrv
strv1(const char *a)
{
	return g_strdupv((char *[]){(char *) a, NULL});
}

static void
set_strv(GStrv *field, GStrv value)
{
	g_strfreev(*field);
	*field = value;
}

static void
set_str(char **field, const char *value)
{
	g_free(*field);
	*field = g_strdup(value);
}

static JsonNode *
parse(const char *text)
{
	g_autoptr(GError) error = NULL;
	JsonNode *node = json_from_string(text, &error);

	g_assert_no_error(error);
	g_assert_nonnull(node);
	return node;
}

/* the fixture's node <id> */
static WrMapNode *
base_node(gint64 id)
{
	WrMapNode *n = wr_map_node_new(id);
	g_autofree char *name = g_strdup_printf("node%" G_GINT64_FORMAT, id);
	g_autofree char *dns = g_strdup_printf("node%" G_GINT64_FORMAT ".tailnet.example.", id);
	g_autofree char *nk = g_strdup_printf("nodekey:%02" G_GINT64_MODIFIER "x", id);
	g_autofree char *dk = g_strdup_printf("discokey:%02" G_GINT64_MODIFIER "x", id);
	g_autofree char *addr = g_strdup_printf("100.64.0.%" G_GINT64_FORMAT "/32", id);
	g_autofree char *ep = g_strdup_printf("192.0.2.%" G_GINT64_FORMAT ":41641", id);

	set_str(&n->name, name);
	set_str(&n->dns_name, dns);
	n->user_id = 7;
	set_str(&n->node_key, nk);
	set_str(&n->disco_key, dk);
	set_strv(&n->addresses, strv1(addr));
	set_strv(&n->allowed_ips, strv1(addr));
	set_strv(&n->endpoints, strv1(ep));
	n->derp_region = 1;
	n->hostinfo = parse("{\"os\":\"linux\"}");
	n->online = TRUE;
	n->last_seen = 1000;
	n->key_expiry = 2000;
	return n;
}

/* base_node(id) as control.md's Node text, written out independently of the library */
static char *
base_node_text(gint64 id, const char *name)
{
	return g_strdup_printf(
		"{\"id\":%" G_GINT64_FORMAT ",\"name\":\"%s\",\"dns_name\":\"node%" G_GINT64_FORMAT
		".tailnet.example.\",\"user_id\":7,\"node_key\":\"nodekey:%02" G_GINT64_MODIFIER
		"x\",\"disco_key\":\"discokey:%02" G_GINT64_MODIFIER
		"x\",\"addresses\":[\"100.64.0.%" G_GINT64_FORMAT
		"/32\"],\"allowed_ips\":[\"100.64.0.%" G_GINT64_FORMAT
		"/32\"],\"endpoints\":[\"192.0.2.%" G_GINT64_FORMAT
		":41641\"],\"derp_region\":1,\"hostinfo\":{\"os\":\"linux\"},\"online\":true,"
		"\"last_seen\":1000,\"key_expiry\":2000,\"exit_node_option\":false,"
		"\"primary_routes\":[],\"tags\":[]}",
		id, name, id, id, id, id, id, id);
}

/* peers 1 and 2, a filter, a DERP map and DNS */
static WrMapView *
base_view(void)
{
	WrMapView *v = wr_map_view_new();

	wr_map_view_put(v, base_node(1));
	wr_map_view_put(v, base_node(2));
	v->packet_filter = g_strdup("[{\"src\":[\"100.64.0.0/10\"],\"dst\":[{\"net\":\"100.64.0.1/"
				    "32\",\"ports\":[22,22]}],\"proto\":[\"tcp\"]}]");
	v->derp_map = g_strdup("{\"regions\":{\"1\":{\"nodes\":[]}}}");
	v->dns = g_strdup("{\"magic_dns\":true,\"domain\":\"tailnet.example\",\"nameservers\":[]}");
	return v;
}

/* wr_map_view_equal, checked independently through each node's JSON */
static gboolean
same_views(const WrMapView *a, const WrMapView *b)
{
	GHashTableIter it;
	gpointer value;

	if (g_hash_table_size(a->peers) != g_hash_table_size(b->peers))
		return FALSE;
	g_hash_table_iter_init(&it, a->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const WrMapNode *na = value;
		const WrMapNode *nb = wr_map_view_lookup(b, na->id);
		g_autoptr(JsonNode) ja = NULL;
		g_autoptr(JsonNode) jb = NULL;

		if (nb == NULL)
			return FALSE;
		ja = wr_map_node_to_json(na);
		jb = wr_map_node_to_json(nb);
		if (!json_node_equal(ja, jb))
			return FALSE;
	}
	for (guint i = 0; i < 3; i++) {
		const char *ta = i == 0 ? a->packet_filter : i == 1 ? a->derp_map : a->dns;
		const char *tb = i == 0 ? b->packet_filter : i == 1 ? b->derp_map : b->dns;
		g_autoptr(JsonNode) ja = NULL;
		g_autoptr(JsonNode) jb = NULL;

		if (ta == NULL || tb == NULL) {
			if (ta != tb)
				return FALSE;
			continue;
		}
		ja = parse(ta);
		jb = parse(tb);
		if (!json_node_equal(ja, jb))
			return FALSE;
	}
	return TRUE;
}

static WrMapNode *
edit(WrMapView *v, gint64 id)
{
	WrMapNode *n = (WrMapNode *) wr_map_view_lookup(v, id);

	/* g_error, not g_assert_nonnull: gcc -O3 only knows the former does not return */
	if (n == NULL)
		g_error("no peer %" G_GINT64_FORMAT " in the view", id);
	return n;
}

/* the delta is exactly expected (NULL: nothing), and applying it to old gives new */
static void
check_delta(const WrMapView *old, const WrMapView *new, const char *expected)
{
	g_autoptr(JsonNode) delta = NULL;
	g_autoptr(WrMapView) applied = wr_map_view_copy(old);
	g_autoptr(GError) error = NULL;
	gboolean changed = wr_map_delta_compute(old, new, &delta);

	if (expected == NULL) {
		g_assert_false(changed);
		g_assert_null(delta);
		g_assert_true(wr_map_view_equal(old, new));
		g_assert_true(same_views(old, new));
		return;
	}
	g_assert_true(changed);
	g_assert_nonnull(delta);
	{
		g_autoptr(JsonNode) want = parse(expected);
		g_autofree char *got = json_to_string(delta, FALSE);

		if (!json_node_equal(want, delta))
			g_error("delta %s, expected %s", got, expected);
	}
	g_assert_true(wr_map_view_apply(applied, delta, &error));
	g_assert_no_error(error);
	g_assert_true(wr_map_view_equal(applied, new));
	g_assert_true(same_views(applied, new));
	g_assert_false(wr_map_view_equal(old, new));
	g_assert_false(same_views(old, new));
}

static void
test_nothing(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();
	g_autoptr(WrMapView) empty = wr_map_view_new();
	g_autoptr(JsonNode) delta = NULL;

	check_delta(a, b, NULL);
	check_delta(empty, empty, NULL);
	g_assert_false(wr_map_delta_compute(b, a, &delta));
	g_assert_null(delta);
	/* a NULL hostinfo is the same as {} */
	json_node_unref(edit(b, 1)->hostinfo);
	edit(b, 1)->hostinfo = parse("{}");
	json_node_unref(edit(a, 1)->hostinfo);
	edit(a, 1)->hostinfo = NULL;
	check_delta(a, b, NULL);
}

static void
test_added(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();
	g_autofree char *n3 = base_node_text(3, "node3");
	g_autofree char *n4 = base_node_text(4, "node4");
	g_autofree char *want = NULL;

	wr_map_view_put(b, base_node(4));
	wr_map_view_put(b, base_node(3));
	want = g_strdup_printf("{\"peers_changed\":[%s,%s]}", n3, n4);
	check_delta(a, b, want);

	/* the order is by id, whatever the hash order */
	{
		g_autoptr(JsonNode) delta = NULL;
		JsonArray *arr;

		g_assert_true(wr_map_delta_compute(a, b, &delta));
		arr = json_object_get_array_member(json_node_get_object(delta), "peers_changed");
		g_assert_cmpuint(json_array_get_length(arr), ==, 2);
		g_assert_cmpint(
			json_object_get_int_member(json_array_get_object_element(arr, 0), "id"), ==,
			3);
	}
}

static void
test_removed(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();
	g_autoptr(JsonNode) delta = NULL;
	g_autofree char *text = NULL;

	for (gint64 id = 3; id <= 40; id++)
		wr_map_view_put(a, base_node(id));
	for (gint64 id = 2; id <= 40; id++)
		g_assert_true(wr_map_view_remove(b, id) == (id <= 2));
	for (gint64 id = 5; id <= 40; id += 5)
		wr_map_view_put(b, base_node(id));
	check_delta(a, b,
		    "{\"peers_removed\":[2,3,4,6,7,8,9,11,12,13,14,16,17,18,19,21,22,23,24,26,"
		    "27,28,29,31,32,33,34,36,37,38,39]}");
	/* the exact wire text, to pin the order */
	g_assert_true(wr_map_delta_compute(a, b, &delta));
	text = json_to_string(delta, FALSE);
	g_assert_true(g_str_has_prefix(text, "{\"peers_removed\":[2,3,4,6,7,8,9,11,"));
}

static void
test_endpoints(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();
	g_autoptr(JsonNode) delta = NULL;
	g_autofree char *text = NULL;

	set_strv(&edit(b, 2)->endpoints,
		 g_strdupv((char *[]){"198.51.100.2:41641", "192.0.2.2:41641", NULL}));
	check_delta(a, b,
		    "{\"peers_patch\":[{\"id\":2,\"endpoints\":[\"198.51.100.2:41641\","
		    "\"192.0.2.2:41641\"]}]}");
	g_assert_true(wr_map_delta_compute(a, b, &delta));
	text = json_to_string(delta, FALSE);
	g_assert_cmpstr(text, ==,
			"{\"peers_patch\":[{\"id\":2,\"endpoints\":[\"198.51.100.2:41641\","
			"\"192.0.2.2:41641\"]}]}");

	/* the order of endpoints matters; none at all is a patch too */
	set_strv(&edit(a, 2)->endpoints,
		 g_strdupv((char *[]){"192.0.2.2:41641", "198.51.100.2:41641", NULL}));
	set_strv(&edit(b, 1)->endpoints, NULL);
	check_delta(a, b,
		    "{\"peers_patch\":[{\"id\":1,\"endpoints\":[]},{\"id\":2,\"endpoints\":"
		    "[\"198.51.100.2:41641\",\"192.0.2.2:41641\"]}]}");
}

static void
test_renamed(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();
	g_autofree char *n1 = base_node_text(1, "laptop");
	g_autofree char *want = g_strdup_printf("{\"peers_changed\":[%s]}", n1);

	set_str(&edit(b, 1)->name, "laptop");
	check_delta(a, b, want);
	/* a patchable change riding along does not make it a patch */
	edit(b, 1)->derp_region = 1; /* unchanged */
	set_strv(&edit(b, 1)->endpoints, strv1("192.0.2.1:41641"));
	check_delta(a, b, want);
	edit(b, 1)->online = FALSE;
	{
		g_autoptr(JsonNode) delta = NULL;
		JsonObject *o;

		g_assert_true(wr_map_delta_compute(a, b, &delta));
		o = json_node_get_object(delta);
		g_assert_false(json_object_has_member(o, "peers_patch"));
		g_assert_false(json_object_get_boolean_member(
			json_array_get_object_element(
				json_object_get_array_member(o, "peers_changed"), 0),
			"online"));
	}
}

static void
test_other_fields(void)
{
	/* each of these is a whole-node change */
	for (guint i = 0; i < 8; i++) {
		g_autoptr(WrMapView) a = base_view();
		g_autoptr(WrMapView) b = base_view();
		g_autoptr(JsonNode) delta = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(WrMapView) applied = wr_map_view_copy(a);
		g_autoptr(JsonNode) want = NULL;
		WrMapNode *n = edit(b, 2);
		JsonObject *o;

		switch (i) {
		case 0:
			set_str(&n->dns_name, "x.tailnet.example.");
			break;
		case 1:
			n->user_id = 8;
			break;
		case 2:
			set_strv(&n->addresses, strv1("100.64.0.9/32"));
			break;
		case 3:
			set_strv(&n->allowed_ips,
				 g_strdupv((char *[]){"100.64.0.2/32", "10.0.0.0/8", NULL}));
			break;
		case 4:
			json_node_unref(n->hostinfo);
			n->hostinfo = parse("{\"os\":\"linux\",\"hostname\":\"h\"}");
			break;
		case 5:
			n->key_expiry = 3000;
			break;
		case 6:
			n->exit_node_option = TRUE;
			set_strv(&n->primary_routes, strv1("0.0.0.0/0"));
			break;
		default:
			set_strv(&n->tags, strv1("tag:server"));
			break;
		}
		g_assert_true(wr_map_delta_compute(a, b, &delta));
		o = json_node_get_object(delta);
		g_assert_cmpuint(json_object_get_size(o), ==, 1);
		want = wr_map_node_to_json(n);
		g_assert_true(json_node_equal(
			json_array_get_element(json_object_get_array_member(o, "peers_changed"), 0),
			want));
		g_assert_true(wr_map_view_apply(applied, delta, &error));
		g_assert_no_error(error);
		g_assert_true(wr_map_view_equal(applied, b));
	}
}

static void
test_keys(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();

	set_str(&edit(b, 1)->node_key, "nodekey:ff");
	check_delta(a, b, "{\"peers_patch\":[{\"id\":1,\"node_key\":\"nodekey:ff\"}]}");
	set_str(&edit(b, 2)->disco_key, "discokey:ee");
	check_delta(a, b,
		    "{\"peers_patch\":[{\"id\":1,\"node_key\":\"nodekey:ff\"},"
		    "{\"id\":2,\"disco_key\":\"discokey:ee\"}]}");
}

static void
test_online(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();

	edit(b, 2)->online = FALSE;
	edit(b, 2)->last_seen = 1500;
	check_delta(a, b, "{\"peers_patch\":[{\"id\":2,\"online\":false,\"last_seen\":1500}]}");
	edit(b, 2)->derp_region = 9;
	edit(b, 2)->online = TRUE;
	edit(b, 2)->last_seen = 1000;
	check_delta(a, b, "{\"peers_patch\":[{\"id\":2,\"derp_region\":9}]}");
	edit(b, 2)->derp_region = 1;
	edit(b, 1)->online = FALSE;
	check_delta(a, b, "{\"peers_patch\":[{\"id\":1,\"online\":false}]}");
}

static void
test_texts(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();
	g_autoptr(WrMapView) empty = wr_map_view_new();
	g_autoptr(JsonNode) delta = NULL;

	set_str(&b->packet_filter, "[]");
	check_delta(a, b, "{\"packet_filter\":[]}");
	/* sent as JSON, not as a string */
	g_assert_true(wr_map_delta_compute(a, b, &delta));
	g_assert_true(JSON_NODE_HOLDS_ARRAY(
		json_object_get_member(json_node_get_object(delta), "packet_filter")));

	set_str(&b->derp_map, "{\"regions\":{}}");
	set_str(&b->dns, "{\"magic_dns\":false}");
	check_delta(a, b,
		    "{\"packet_filter\":[],\"derp_map\":{\"regions\":{}},"
		    "\"dns\":{\"magic_dns\":false}}");

	/* from nothing: everything */
	{
		g_autofree char *n1 = base_node_text(1, "node1");
		g_autofree char *n2 = base_node_text(2, "node2");
		g_autofree char *want = g_strdup_printf(
			"{\"peers_changed\":[%s,%s],\"packet_filter\":[],\"derp_map\":"
			"{\"regions\":{}},\"dns\":{\"magic_dns\":false}}",
			n1, n2);

		check_delta(empty, b, want);
	}
	/* to nothing: only removals, texts cannot be withdrawn */
	{
		g_autoptr(JsonNode) d = NULL;
		g_autoptr(JsonNode) want = parse("{\"peers_removed\":[1,2]}");

		g_assert_true(wr_map_delta_compute(b, empty, &d));
		g_assert_true(json_node_equal(d, want));
	}
}

static void
test_mixed(void)
{
	g_autoptr(WrMapView) a = base_view();
	g_autoptr(WrMapView) b = base_view();
	g_autofree char *n3 = base_node_text(3, "node3");
	g_autofree char *want = NULL;

	wr_map_view_remove(b, 1);
	wr_map_view_put(b, base_node(3));
	edit(b, 2)->derp_region = 4;
	set_str(&b->dns, "{}");
	want = g_strdup_printf("{\"peers_changed\":[%s],\"peers_removed\":[1],\"peers_patch\":"
			       "[{\"id\":2,\"derp_region\":4}],\"dns\":{}}",
			       n3);
	check_delta(a, b, want);
}

static void
test_node_json(void)
{
	g_autoptr(WrMapNode) n = base_node(5);
	g_autoptr(JsonNode) j = wr_map_node_to_json(n);
	g_autofree char *text = json_to_string(j, FALSE);
	g_autofree char *want = base_node_text(5, "node5");
	g_autoptr(WrMapNode) back = NULL;
	g_autoptr(WrMapNode) copy = wr_map_node_copy(n);
	g_autoptr(GError) error = NULL;

	g_assert_cmpstr(text, ==, want);
	back = wr_map_node_from_json(j, &error);
	g_assert_no_error(error);
	g_assert_true(wr_map_node_equal(back, n));
	g_assert_true(wr_map_node_equal(copy, n));
	copy->last_seen++;
	g_assert_false(wr_map_node_equal(copy, n));
	copy->last_seen--;
	copy->online = !copy->online;
	g_assert_false(wr_map_node_equal(copy, n));
	copy->online = !copy->online;
	g_assert_true(wr_map_node_equal(copy, n));

	/* refused shapes */
	{
		const char *bad[] = {
			"[]",
			"{}",
			"{\"id\":\"1\"}",
			"{\"id\":1,\"name\":3}",
			"{\"id\":1,\"endpoints\":[1]}",
			"{\"id\":1,\"endpoints\":\"x\"}",
			"{\"id\":1,\"online\":1}",
			"{\"id\":1,\"hostinfo\":[]}",
			"{\"id\":1,\"derp_region\":99999999999}",
		};

		for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
			g_autoptr(JsonNode) b = parse(bad[i]);
			g_autoptr(GError) e = NULL;
			g_autoptr(WrMapNode) r = wr_map_node_from_json(b, &e);

			g_assert_null(r);
			g_assert_error(e, WR_MAP_DELTA_ERROR, WR_MAP_DELTA_ERROR_INVALID);
		}
	}
}

static void
test_apply_errors(void)
{
	struct {
		const char *delta;
		int code;
	} cases[] = {
		{"[]", WR_MAP_DELTA_ERROR_INVALID},
		{"{\"peers_patch\":[{\"id\":9,\"online\":false}]}", WR_MAP_DELTA_ERROR_UNKNOWN},
		{"{\"peers_patch\":[{\"online\":false}]}", WR_MAP_DELTA_ERROR_INVALID},
		{"{\"peers_patch\":[{\"id\":1,\"online\":\"no\"}]}", WR_MAP_DELTA_ERROR_INVALID},
		{"{\"peers_removed\":[\"1\"]}", WR_MAP_DELTA_ERROR_INVALID},
		{"{\"peers_removed\":{}}", WR_MAP_DELTA_ERROR_INVALID},
		{"{\"peers_changed\":[{\"name\":\"x\"}]}", WR_MAP_DELTA_ERROR_INVALID},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(WrMapView) v = base_view();
		g_autoptr(JsonNode) d = parse(cases[i].delta);
		g_autoptr(GError) error = NULL;

		g_assert_false(wr_map_view_apply(v, d, &error));
		g_assert_error(error, WR_MAP_DELTA_ERROR, cases[i].code);
		/* and without a GError to fill */
		g_assert_false(wr_map_view_apply(v, d, NULL));
	}
	/* keep_alive and unknown members are ignored */
	{
		g_autoptr(WrMapView) v = base_view();
		g_autoptr(WrMapView) w = base_view();
		g_autoptr(JsonNode) d = parse("{\"keep_alive\":true,\"future\":1}");
		g_autoptr(GError) error = NULL;

		g_assert_true(wr_map_view_apply(v, d, &error));
		g_assert_no_error(error);
		g_assert_true(wr_map_view_equal(v, w));
	}
}

/* ---- randomized ---- */

static const char *const pool_names[] = {"a", "b", "c"};
static const char *const pool_eps[] = {"192.0.2.1:1", "192.0.2.2:2", "[2001:db8::1]:3",
				       "198.51.100.4:4"};
static const char *const pool_keys[] = {"nodekey:01", "nodekey:02", "nodekey:03"};
static const char *const pool_disco[] = {"discokey:01", "discokey:02"};
static const char *const pool_tags[] = {"tag:a", "tag:b"};
static const char *const pool_texts[] = {"[]", "{}", "{\"a\":1}", "[{\"src\":[\"*\"]}]"};

static const char *
pick(const char *const *pool, guint n)
{
	return pool[g_test_rand_int_range(0, (gint32) n)];
}

#define PICK(pool) pick(pool, G_N_ELEMENTS(pool))

static GStrv
rand_strv(const char *const *pool, guint n)
{
	guint len = (guint) g_test_rand_int_range(0, 4);
	GStrv v = g_new0(char *, len + 1);

	for (guint i = 0; i < len; i++)
		v[i] = g_strdup(pick(pool, n));
	return v;
}

static void
mutate_patchable(WrMapNode *n)
{
	switch (g_test_rand_int_range(0, 6)) {
	case 0:
		set_strv(&n->endpoints, rand_strv(pool_eps, G_N_ELEMENTS(pool_eps)));
		break;
	case 1:
		n->derp_region = g_test_rand_int_range(0, 3);
		break;
	case 2:
		n->online = !n->online;
		break;
	case 3:
		n->last_seen = g_test_rand_int_range(0, 3);
		break;
	case 4:
		set_str(&n->node_key, PICK(pool_keys));
		break;
	default:
		set_str(&n->disco_key, PICK(pool_disco));
		break;
	}
}

static void
mutate_fixed(WrMapNode *n)
{
	switch (g_test_rand_int_range(0, 8)) {
	case 0:
		set_str(&n->name, PICK(pool_names));
		break;
	case 1:
		set_str(&n->dns_name, PICK(pool_names));
		break;
	case 2:
		n->user_id = g_test_rand_int_range(0, 3);
		break;
	case 3:
		set_strv(&n->allowed_ips, rand_strv(pool_names, G_N_ELEMENTS(pool_names)));
		break;
	case 4:
		if (n->hostinfo != NULL)
			json_node_unref(n->hostinfo);
		n->hostinfo = g_test_rand_bit() ? parse("{\"os\":\"linux\"}") : NULL;
		break;
	case 5:
		n->key_expiry = g_test_rand_int_range(0, 3);
		break;
	case 6:
		n->exit_node_option = !n->exit_node_option;
		break;
	default:
		set_strv(&n->tags, rand_strv(pool_tags, G_N_ELEMENTS(pool_tags)));
		break;
	}
}

static WrMapNode *
rand_node(gint64 id)
{
	WrMapNode *n = wr_map_node_new(id);

	for (guint i = 0; i < 6; i++) {
		mutate_patchable(n);
		mutate_fixed(n);
	}
	return n;
}

static WrMapView *
rand_view(void)
{
	WrMapView *v = wr_map_view_new();

	for (gint64 id = 1; id <= 30; id++) {
		if (g_test_rand_bit())
			wr_map_view_put(v, rand_node(id * 1000003));
	}
	if (g_test_rand_bit())
		v->packet_filter = g_strdup(PICK(pool_texts));
	if (g_test_rand_bit())
		v->derp_map = g_strdup(PICK(pool_texts));
	if (g_test_rand_bit())
		v->dns = g_strdup(PICK(pool_texts));
	return v;
}

static WrMapView *
rand_successor(const WrMapView *old)
{
	WrMapView *v = wr_map_view_copy(old);

	/* one in ten: nothing changes */
	if (g_test_rand_int_range(0, 10) == 0)
		return v;
	for (gint64 id = 1; id <= 30; id++) {
		gint64 key = id * 1000003;
		WrMapNode *n = (WrMapNode *) wr_map_view_lookup(v, key);
		gint32 r = g_test_rand_int_range(0, 100);

		if (n == NULL) {
			if (r < 15)
				wr_map_view_put(v, rand_node(key));
		} else if (r < 10) {
			wr_map_view_remove(v, key);
		} else if (r < 40) {
			mutate_patchable(n);
			if (r < 20)
				mutate_patchable(n);
		} else if (r < 55) {
			mutate_fixed(n);
			if (r < 45)
				mutate_patchable(n);
		}
	}
	if (g_test_rand_int_range(0, 4) == 0)
		set_str(&v->packet_filter, PICK(pool_texts));
	if (g_test_rand_int_range(0, 4) == 0)
		set_str(&v->derp_map, PICK(pool_texts));
	if (g_test_rand_int_range(0, 4) == 0)
		set_str(&v->dns, PICK(pool_texts));
	return v;
}

static void
assert_ascending_ids(JsonObject *o, const char *member, gboolean objects)
{
	JsonArray *a;
	gint64 prev = G_MININT64;

	if (!json_object_has_member(o, member))
		return;
	a = json_object_get_array_member(o, member);
	g_assert_cmpuint(json_array_get_length(a), >, 0);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		gint64 id = objects ? json_object_get_int_member(
					      json_array_get_object_element(a, i), "id")
				    : json_array_get_int_element(a, i);

		g_assert_cmpint(id, >, prev);
		prev = id;
	}
}

/* every patch entry carries only patchable members, and every changed peer that existed
 * before differs outside them */
static void
assert_classified(const WrMapView *old, const WrMapView *new, JsonObject *o)
{
	static const char *const patchable[] = {"id",	     "endpoints", "derp_region", "online",
						"last_seen", "node_key",  "disco_key"};

	if (json_object_has_member(o, "peers_patch")) {
		JsonArray *a = json_object_get_array_member(o, "peers_patch");

		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonObject *e = json_array_get_object_element(a, i);
			g_autoptr(GList) members = json_object_get_members(e);

			g_assert_cmpuint(g_list_length(members), >=, 2);
			for (GList *l = members; l != NULL; l = l->next)
				g_assert_true(g_strv_contains(patchable, l->data));
		}
	}
	if (json_object_has_member(o, "peers_changed")) {
		JsonArray *a = json_object_get_array_member(o, "peers_changed");

		for (guint i = 0; i < json_array_get_length(a); i++) {
			gint64 id = json_object_get_int_member(json_array_get_object_element(a, i),
							       "id");
			const WrMapNode *before = wr_map_view_lookup(old, id);
			const WrMapNode *after = wr_map_view_lookup(new, id);
			g_autoptr(WrMapNode) mixed = NULL;

			g_assert_nonnull(after);
			if (before == NULL)
				continue;
			/* before with after's patchable fields: still not after */
			mixed = wr_map_node_copy(before);
			set_strv(&mixed->endpoints, g_strdupv(after->endpoints));
			mixed->derp_region = after->derp_region;
			mixed->online = after->online;
			mixed->last_seen = after->last_seen;
			set_str(&mixed->node_key, after->node_key);
			set_str(&mixed->disco_key, after->disco_key);
			g_assert_false(wr_map_node_equal(mixed, after));
		}
	}
}

static void
test_random(void)
{
	guint n_changed = 0;

	for (guint iter = 0; iter < 2000; iter++) {
		g_autoptr(WrMapView) old = rand_view();
		g_autoptr(WrMapView) new = rand_successor(old);
		g_autoptr(WrMapView) applied = wr_map_view_copy(old);
		g_autoptr(JsonNode) delta = NULL;
		g_autoptr(JsonNode) again = NULL;
		g_autoptr(GError) error = NULL;

		if (wr_map_delta_compute(old, new, &delta)) {
			g_autofree char *wire = json_to_string(delta, FALSE);
			g_autoptr(JsonNode) received = parse(wire);
			JsonObject *o = json_node_get_object(delta);

			n_changed++;
			g_assert_cmpuint(json_object_get_size(o), >, 0);
			assert_ascending_ids(o, "peers_changed", TRUE);
			assert_ascending_ids(o, "peers_removed", FALSE);
			assert_ascending_ids(o, "peers_patch", TRUE);
			assert_classified(old, new, o);
			g_assert_true(wr_map_view_apply(applied, received, &error));
			g_assert_no_error(error);
		} else {
			g_assert_null(delta);
		}
		g_assert_true(wr_map_view_equal(applied, new));
		g_assert_true(same_views(applied, new));
		/* nothing more to send once applied */
		g_assert_false(wr_map_delta_compute(new, new, &again));
		g_assert_false(wr_map_delta_compute(applied, new, &again));
		g_assert_null(again);
	}
	/* the generator does exercise both outcomes */
	g_assert_cmpuint(n_changed, >, 1000);
	g_assert_cmpuint(n_changed, <, 1950);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/map-delta/nothing", test_nothing);
	g_test_add_func("/warren/map-delta/added", test_added);
	g_test_add_func("/warren/map-delta/removed", test_removed);
	g_test_add_func("/warren/map-delta/endpoints", test_endpoints);
	g_test_add_func("/warren/map-delta/renamed", test_renamed);
	g_test_add_func("/warren/map-delta/other-fields", test_other_fields);
	g_test_add_func("/warren/map-delta/keys", test_keys);
	g_test_add_func("/warren/map-delta/online", test_online);
	g_test_add_func("/warren/map-delta/texts", test_texts);
	g_test_add_func("/warren/map-delta/mixed", test_mixed);
	g_test_add_func("/warren/map-delta/node-json", test_node_json);
	g_test_add_func("/warren/map-delta/apply-errors", test_apply_errors);
	g_test_add_func("/warren/map-delta/random", test_random);
	return g_test_run();
}
