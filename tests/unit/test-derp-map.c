/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The DERP map (docs/protocols/derp-disco-stun.md §6): the example of the notes parsed field
 * by field, the defaults and address rules of the helpers, a golden serialisation and round
 * trips, Go's lenient member matching, and a table of malformed maps, each refused with a
 * message that names its place.
 */

#define G_LOG_DOMAIN "WrDerpMapTest"

#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "wr-derp-map.h"

/* the map of §6, verbatim */
static const gchar spec_map[] =
	"{\n"
	"  \"HomeParams\": { \"RegionScore\": { \"900\": 0.9 } },\n"
	"  \"Regions\": {\n"
	"    \"900\": {\n"
	"      \"RegionID\": 900,\n"
	"      \"RegionCode\": \"myderp\",\n"
	"      \"RegionName\": \"My DERP\",\n"
	"      \"Nodes\": [\n"
	"        { \"Name\": \"900a\", \"RegionID\": 900, \"HostName\": \"derp.example.com\",\n"
	"          \"IPv4\": \"203.0.113.10\", \"IPv6\": \"none\",\n"
	"          \"STUNPort\": 3478, \"DERPPort\": 443, \"CanPort80\": true }\n"
	"      ]\n"
	"    }\n"
	"  },\n"
	"  \"omitDefaultRegions\": true\n"
	"}\n";

/* every field of a region and a node, two regions given out of order */
static const gchar full_map[] =
	"{\"Regions\":{"
	"\"901\":{\"RegionID\":901,\"RegionCode\":\"b\",\"RegionName\":\"Bee\","
	"\"Nodes\":[{\"Name\":\"901a\",\"RegionID\":901,\"HostName\":\"b.example.net\","
	"\"IPv6\":\"2001:db8::1\",\"STUNPort\":-1}]},"
	"\"900\":{\"RegionID\":900,\"RegionCode\":\"a\",\"RegionName\":\"Ay\","
	"\"Latitude\":52.5,\"Longitude\":-13.25,\"Avoid\":true,\"NoMeasureNoHome\":true,"
	"\"Nodes\":["
	"{\"Name\":\"900a\",\"RegionID\":900,\"HostName\":\"a.example.net\","
	"\"CertName\":\"sha256-raw:00ff\",\"IPv4\":\"203.0.113.1\",\"IPv6\":\"2001:db8::a\","
	"\"STUNPort\":3479,\"STUNOnly\":true,\"DERPPort\":8443,\"CanPort80\":true,"
	"\"InsecureForTests\":true,\"STUNTestIP\":\"192.0.2.7\"},"
	"{\"Name\":\"900b\",\"RegionID\":900,\"HostName\":\"a2.example.net\"}]}"
	"}}";

static WrDerpMap *
parse_ok(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	WrDerpMap *map = wr_derp_map_new_from_data(json, strlen(json), &error);

	g_assert_no_error(error);
	g_assert_nonnull(map);
	return map;
}

static void
assert_endpoint(const WrEndpoint *ep, const gchar *expected)
{
	gchar buf[WR_ENDPOINT_STRLEN];

	wr_endpoint_format(ep, buf);
	g_assert_cmpstr(buf, ==, expected);
}

static void
test_spec_example(void)
{
	g_autoptr(WrDerpMap) map = parse_ok(spec_map);
	const WrDerpRegion *r;
	const WrDerpNode *n;

	g_assert_true(map->has_home_params);
	g_assert_cmpuint(map->n_scores, ==, 1);
	g_assert_cmpuint(map->scores[0].region_id, ==, 900);
	g_assert_cmpfloat(map->scores[0].score, ==, 0.9);
	g_assert_true(map->omit_default_regions);
	g_assert_cmpuint(map->n_regions, ==, 1);
	r = wr_derp_map_get_region(map, 900);
	g_assert_true(r == &map->regions[0]);
	g_assert_cmpuint(r->region_id, ==, 900);
	g_assert_cmpstr(r->region_code, ==, "myderp");
	g_assert_cmpstr(r->region_name, ==, "My DERP");
	g_assert_false(r->avoid);
	g_assert_false(r->no_measure_no_home);
	g_assert_cmpuint(r->n_nodes, ==, 1);
	n = &r->nodes[0];
	g_assert_cmpstr(n->name, ==, "900a");
	g_assert_cmpuint(n->region_id, ==, 900);
	g_assert_cmpstr(n->host_name, ==, "derp.example.com");
	g_assert_cmpstr(n->cert_name, ==, "");
	g_assert_cmpstr(n->ipv4, ==, "203.0.113.10");
	g_assert_cmpstr(n->ipv6, ==, "none");
	g_assert_cmpint(n->stun_port, ==, 3478);
	g_assert_cmpint(n->derp_port, ==, 443);
	g_assert_true(n->can_port80);
	g_assert_false(n->stun_only);
	g_assert_false(n->insecure_for_tests);
	g_assert_cmpstr(n->stun_test_ip, ==, "");
	g_assert_true(wr_derp_map_find_node(map, "900a") == n);
	g_assert_null(wr_derp_map_find_node(map, "900b"));
	g_assert_null(wr_derp_map_get_region(map, 901));
	g_assert_null(wr_derp_map_get_region(map, 1));
}

static void
test_all_fields(void)
{
	g_autoptr(WrDerpMap) map = parse_ok(full_map);
	const WrDerpRegion *a;
	const WrDerpNode *n;

	g_assert_false(map->has_home_params);
	g_assert_false(map->omit_default_regions);
	g_assert_cmpuint(map->n_regions, ==, 2);
	/* sorted by ID whatever the document order */
	g_assert_cmpuint(map->regions[0].region_id, ==, 900);
	g_assert_cmpuint(map->regions[1].region_id, ==, 901);
	a = &map->regions[0];
	g_assert_cmpfloat(a->latitude, ==, 52.5);
	g_assert_cmpfloat(a->longitude, ==, -13.25);
	g_assert_true(a->avoid);
	g_assert_true(a->no_measure_no_home);
	g_assert_cmpuint(a->n_nodes, ==, 2);
	n = &a->nodes[0];
	g_assert_cmpstr(n->cert_name, ==, "sha256-raw:00ff");
	g_assert_cmpint(n->stun_port, ==, 3479);
	g_assert_true(n->stun_only);
	g_assert_cmpint(n->derp_port, ==, 8443);
	g_assert_true(n->can_port80);
	g_assert_true(n->insecure_for_tests);
	g_assert_cmpstr(n->stun_test_ip, ==, "192.0.2.7");
	/* nodes keep their order */
	g_assert_cmpstr(a->nodes[1].name, ==, "900b");
	g_assert_cmpint(a->nodes[1].stun_port, ==, 0);
	g_assert_cmpint(map->regions[1].nodes[0].stun_port, ==, -1);
}

/* the defaults of §6 and the address rules of §5.6 */
static void
test_node_helpers(void)
{
	static const struct {
		const gchar *ipv4, *ipv6, *test_ip;
		gint stun_port;
		WrDerpAddrKind addr4, addr6, stun4, stun6;
		const gchar *target4, *target6;
	} cases[] = {
		/* literals of both families */
		{"203.0.113.1", "2001:db8::1", "", 0, WR_DERP_ADDR_LITERAL, WR_DERP_ADDR_LITERAL,
		 WR_DERP_ADDR_LITERAL, WR_DERP_ADDR_LITERAL, "203.0.113.1:3478",
		 "[2001:db8::1]:3478"},
		/* "" means DNS; "none" and other non-IP strings turn the family off */
		{"", "none", "", 3479, WR_DERP_ADDR_DNS, WR_DERP_ADDR_DISABLED, WR_DERP_ADDR_DNS,
		 WR_DERP_ADDR_DISABLED, NULL, NULL},
		{"bogus", "", "", 0, WR_DERP_ADDR_DISABLED, WR_DERP_ADDR_DNS, WR_DERP_ADDR_DISABLED,
		 WR_DERP_ADDR_DNS, NULL, NULL},
		/* a literal of the other family turns the family off */
		{"2001:db8::1", "203.0.113.1", "", 0, WR_DERP_ADDR_DISABLED, WR_DERP_ADDR_DISABLED,
		 WR_DERP_ADDR_DISABLED, WR_DERP_ADDR_DISABLED, NULL, NULL},
		/* STUNPort -1 (or any negative) turns STUN off, not the address */
		{"203.0.113.1", "", "", -1, WR_DERP_ADDR_LITERAL, WR_DERP_ADDR_DNS,
		 WR_DERP_ADDR_DISABLED, WR_DERP_ADDR_DISABLED, NULL, NULL},
		{"203.0.113.1", "", "", -7, WR_DERP_ADDR_LITERAL, WR_DERP_ADDR_DNS,
		 WR_DERP_ADDR_DISABLED, WR_DERP_ADDR_DISABLED, NULL, NULL},
		/* STUNTestIP wins for its own family and turns the other one off */
		{"", "none", "127.0.0.2", 4000, WR_DERP_ADDR_DNS, WR_DERP_ADDR_DISABLED,
		 WR_DERP_ADDR_LITERAL, WR_DERP_ADDR_DISABLED, "127.0.0.2:4000", NULL},
		{"203.0.113.1", "2001:db8::1", "::1", 0, WR_DERP_ADDR_LITERAL, WR_DERP_ADDR_LITERAL,
		 WR_DERP_ADDR_DISABLED, WR_DERP_ADDR_LITERAL, NULL, "[::1]:3478"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		WrDerpNode node = {
			.name = (gchar *) "n",
			.host_name = (gchar *) "h",
			.cert_name = (gchar *) "",
			.ipv4 = (gchar *) cases[i].ipv4,
			.ipv6 = (gchar *) cases[i].ipv6,
			.stun_test_ip = (gchar *) cases[i].test_ip,
			.stun_port = cases[i].stun_port,
		};
		WrEndpoint ep;

		g_test_message("case %" G_GSIZE_FORMAT, i);
		g_assert_cmpint(wr_derp_node_addr(&node, AF_INET, NULL), ==, cases[i].addr4);
		g_assert_cmpint(wr_derp_node_addr(&node, AF_INET6, NULL), ==, cases[i].addr6);
		memset(&ep, 0, sizeof(ep));
		g_assert_cmpint(wr_derp_node_stun_target(&node, AF_INET, &ep), ==, cases[i].stun4);
		if (cases[i].target4 != NULL)
			assert_endpoint(&ep, cases[i].target4);
		g_assert_cmpint(wr_derp_node_stun_target(&node, AF_INET6, &ep), ==, cases[i].stun6);
		if (cases[i].target6 != NULL)
			assert_endpoint(&ep, cases[i].target6);
		g_assert_cmpint(wr_derp_node_can_stun(&node, AF_INET), ==,
				cases[i].stun4 != WR_DERP_ADDR_DISABLED);
		g_assert_cmpint(wr_derp_node_can_stun(&node, AF_INET6), ==,
				cases[i].stun6 != WR_DERP_ADDR_DISABLED);
		g_assert_cmpint(wr_derp_node_stun_target(&node, AF_UNIX, NULL), ==,
				WR_DERP_ADDR_DISABLED);
	}
}

static void
test_ports_and_dns_target(void)
{
	WrDerpNode node = {
		.name = (gchar *) "n",
		.host_name = (gchar *) "derp.example.com",
		.cert_name = (gchar *) "",
		.ipv4 = (gchar *) "",
		.ipv6 = (gchar *) "",
		.stun_test_ip = (gchar *) "",
	};
	WrEndpoint ep;

	g_assert_cmpuint(wr_derp_node_stun_port(&node), ==, WR_DERP_DEFAULT_STUN_PORT);
	g_assert_cmpuint(wr_derp_node_derp_port(&node), ==, WR_DERP_DEFAULT_DERP_PORT);
	node.stun_port = 5000;
	node.derp_port = 8443;
	g_assert_cmpuint(wr_derp_node_stun_port(&node), ==, 5000);
	g_assert_cmpuint(wr_derp_node_derp_port(&node), ==, 8443);
	node.stun_port = WR_DERP_STUN_PORT_DISABLED;
	g_assert_cmpuint(wr_derp_node_stun_port(&node), ==, 0);

	/* a DNS target still carries the family and the port */
	node.stun_port = 0;
	memset(&ep, 0xA5, sizeof(ep));
	g_assert_cmpint(wr_derp_node_stun_target(&node, AF_INET6, &ep), ==, WR_DERP_ADDR_DNS);
	g_assert_cmpint(ep.sa.sa_family, ==, AF_INET6);
	g_assert_cmpuint(ntohs(ep.in6.sin6_port), ==, 3478);
}

static void
test_scores(void)
{
	g_autoptr(WrDerpMap) map =
		parse_ok("{\"HomeParams\":{\"RegionScore\":{\"2\":1.5,\"1\":0.5,\"3\":0,\"4\":-2}},"
			 "\"Regions\":{}}");

	g_assert_cmpuint(map->n_scores, ==, 4);
	g_assert_cmpuint(map->scores[0].region_id, ==, 1);
	g_assert_cmpfloat(wr_derp_map_region_score(map, 1), ==, 0.5);
	g_assert_cmpfloat(wr_derp_map_region_score(map, 2), ==, 1.5);
	/* scores <= 0 are ignored */
	g_assert_cmpfloat(wr_derp_map_region_score(map, 3), ==, 1.0);
	g_assert_cmpfloat(wr_derp_map_region_score(map, 4), ==, 1.0);
	g_assert_cmpfloat(wr_derp_map_region_score(map, 5), ==, 1.0);
}

/* absent and null HomeParams keep the previous ones; an empty one resets */
static void
test_home_params_presence(void)
{
	static const struct {
		const gchar *json;
		bool has;
	} cases[] = {
		{"{}", false},
		{"{\"HomeParams\":null}", false},
		{"{\"HomeParams\":{}}", true},
		{"{\"HomeParams\":{\"RegionScore\":null}}", true},
		{"{\"HomeParams\":{\"RegionScore\":{}}}", true},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(WrDerpMap) map = parse_ok(cases[i].json);

		g_assert_cmpint(map->has_home_params, ==, cases[i].has);
		g_assert_cmpuint(map->n_scores, ==, 0);
		g_assert_cmpuint(map->n_regions, ==, 0);
	}
}

/* Go's decoder: names match case-insensitively, unknown members and nulls are ignored, the
 * last of two matching members wins */
static void
test_lenient_members(void)
{
	g_autoptr(WrDerpMap) map = parse_ok(
		"{\"regions\":{\"7\":{\"regionid\":7,\"REGIONCODE\":\"x\",\"RegionName\":null,"
		"\"Future\":[1,{\"a\":2}],\"Nodes\":[{\"name\":\"7a\",\"hostname\":\"h.example\","
		"\"stunport\":1,\"StunPort\":2,\"Unknown\":true,\"IPv4\":null}]}},"
		"\"OmitDefaultRegions\":true}");
	const WrDerpRegion *r = wr_derp_map_get_region(map, 7);

	g_assert_nonnull(r);
	g_assert_cmpstr(r->region_code, ==, "x");
	g_assert_cmpstr(r->region_name, ==, "");
	g_assert_cmpuint(r->n_nodes, ==, 1);
	g_assert_cmpstr(r->nodes[0].host_name, ==, "h.example");
	g_assert_cmpint(r->nodes[0].stun_port, ==, 2);
	g_assert_cmpstr(r->nodes[0].ipv4, ==, "");
	/* RegionID omitted in a node: the region's */
	g_assert_cmpuint(r->nodes[0].region_id, ==, 7);
	g_assert_true(map->omit_default_regions);
}

/* the exact bytes for the §6 example: Go's field order and omitempty rules */
static void
test_golden_json(void)
{
	g_autoptr(WrDerpMap) map = parse_ok(spec_map);
	g_autofree gchar *json = NULL;
	gsize len = 0;

	map->scores[0].score = 0.5; /* 0.9 has no short exact decimal form */
	json = wr_derp_map_to_json(map, false, &len);
	g_assert_cmpstr(json, ==,
			"{\"HomeParams\":{\"RegionScore\":{\"900\":0.5}},\"Regions\":{\"900\":{"
			"\"RegionID\":900,\"RegionCode\":\"myderp\",\"RegionName\":\"My DERP\","
			"\"Nodes\":[{\"Name\":\"900a\",\"RegionID\":900,\"HostName\":"
			"\"derp.example.com\",\"IPv4\":\"203.0.113.10\",\"IPv6\":\"none\","
			"\"STUNPort\":3478,\"DERPPort\":443,\"CanPort80\":true}]}},"
			"\"omitDefaultRegions\":true}");
	g_assert_cmpuint(len, ==, strlen(json));
}

static void
assert_round_trip(const WrDerpMap *map)
{
	for (int pretty = 0; pretty <= 1; pretty++) {
		gsize len = 0;
		g_autofree gchar *json = wr_derp_map_to_json(map, pretty != 0, &len);
		g_autoptr(WrDerpMap) again = parse_ok(json);
		g_autoptr(WrDerpMap) copy = wr_derp_map_copy(map);
		g_autofree gchar *json2 = wr_derp_map_to_json(again, pretty != 0, NULL);

		g_assert_true(wr_derp_map_equal(map, again));
		g_assert_true(wr_derp_map_equal(map, copy));
		g_assert_cmpstr(json, ==, json2);
	}
}

static void
test_round_trip(void)
{
	const gchar *docs[] = {
		spec_map,
		full_map,
		"{}",
		"{\"HomeParams\":{}}",
		"{\"HomeParams\":{\"RegionScore\":{\"1\":0.1,\"9007199254740991\":1e300}},"
		"\"Regions\":{\"9007199254740991\":{\"RegionID\":9007199254740991,"
		"\"RegionCode\":\"\\u00e9\\\"\",\"RegionName\":\"\",\"Nodes\":null}}}",
		/* numbers json-glib writes with an exponent and no point (found by fuzz-derp-map),
		 * next to strings that look like them and must stay as they are */
		"{\"HomeParams\":{\"RegionScore\":{\"1\":1e30,\"2\":2e-50,\"3\":1e16}},"
		"\"Regions\":{\"1\":{\"RegionID\":1,\"RegionCode\":\"e1e+30.0\","
		"\"RegionName\":\"\\\"1e+30.0\\\\\",\"Latitude\":1e-10,\"Longitude\":-5e-7,"
		"\"Nodes\":null}}}",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(docs); i++) {
		g_autoptr(WrDerpMap) map = parse_ok(docs[i]);

		assert_round_trip(map);
	}
}

/* the exponent form as written */
static void
test_exponent_json(void)
{
	g_autoptr(WrDerpMap) map = parse_ok(
		"{\"HomeParams\":{\"RegionScore\":{\"7\":1e30}},\"Regions\":{\"7\":{\"RegionID\":7,"
		"\"RegionCode\":\"e+3.0\",\"RegionName\":\"x\",\"Nodes\":null}}}");
	g_autofree gchar *json = wr_derp_map_to_json(map, false, NULL);

	g_assert_nonnull(strstr(json, "\"7\":1e+30}"));
	g_assert_nonnull(strstr(json, "\"RegionCode\":\"e+3.0\""));
}

static void
test_equal_detects_differences(void)
{
	g_autoptr(WrDerpMap) a = parse_ok(full_map);
	g_autoptr(WrDerpMap) b = wr_derp_map_copy(a);

	g_assert_true(wr_derp_map_equal(a, b));
	b->regions[0].nodes[1].derp_port = 1;
	g_assert_false(wr_derp_map_equal(a, b));
	b->regions[0].nodes[1].derp_port = 0;
	g_free(b->regions[1].nodes[0].ipv6);
	b->regions[1].nodes[0].ipv6 = g_strdup("2001:db8::2");
	g_assert_false(wr_derp_map_equal(a, b));
}

/* every error names its place */
static void
test_malformed(void)
{
	static const struct {
		const gchar *json;
		const gchar *message;
	} cases[] = {
		{"", "DERP map: empty document"},
		{"[]", "DERP map: an array, not an object"},
		{"42", "DERP map: an integer, not an object"},
		{"{\"Regions\":[]}", "Regions: an array, not an object"},
		{"{\"Regions\":{\"abc\":{}}}",
		 "Regions: key \"abc\" is not a region ID (a decimal from 1 to 9007199254740991)"},
		{"{\"Regions\":{\"0\":{}}}",
		 "Regions: key \"0\" is not a region ID (a decimal from 1 to 9007199254740991)"},
		{"{\"Regions\":{\"0900\":{\"RegionID\":900}}}",
		 "Regions: key \"0900\" is not a region ID (a decimal from 1 to 9007199254740991)"},
		{"{\"Regions\":{\"-1\":{}}}",
		 "Regions: key \"-1\" is not a region ID (a decimal from 1 to 9007199254740991)"},
		{"{\"Regions\":{\"9007199254740992\":{\"RegionID\":9007199254740992}}}",
		 "Regions: key \"9007199254740992\" is not a region ID (a decimal from 1 to "
		 "9007199254740991)"},
		{"{\"Regions\":{\"900\":7}}", "Regions.\"900\": an integer, not an object"},
		{"{\"Regions\":{\"900\":{}}}", "Regions.\"900\".RegionID: missing"},
		{"{\"Regions\":{\"900\":{\"RegionID\":901}}}",
		 "Regions.\"900\".RegionID: 901 differs from its key"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900.0}}}",
		 "Regions.\"900\".RegionID: a fractional number, not an integer"},
		{"{\"Regions\":{\"900\":{\"RegionID\":\"900\"}}}",
		 "Regions.\"900\".RegionID: a string, not an integer"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"RegionCode\":5}}}",
		 "Regions.\"900\".RegionCode: an integer, not a string"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"RegionName\":\"a\\nb\"}}}",
		 "Regions.\"900\".RegionName: control character at byte 1"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Latitude\":91}}}",
		 "Regions.\"900\".Latitude: 91 is outside [-90, 90]"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Longitude\":\"E\"}}}",
		 "Regions.\"900\".Longitude: a string, not a number"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Avoid\":1}}}",
		 "Regions.\"900\".Avoid: an integer, not a boolean"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":{}}}}",
		 "Regions.\"900\".Nodes: an object, not an array"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[null]}}}",
		 "Regions.\"900\".Nodes[0]: null, not an object"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"HostName\":\"h\"}]}}}",
		 "Regions.\"900\".Nodes[0].Name: missing"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"\"}]}}}",
		 "Regions.\"900\".Nodes[0].Name: empty"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\"}]}}}",
		 "Regions.\"900\".Nodes[0].HostName: missing"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"a b\"}]}}}",
		 "Regions.\"900\".Nodes[0].HostName: \"a b\" is not a host name"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"RegionID\":901,\"HostName\":\"h\"}]}}}",
		 "Regions.\"900\".Nodes[0].RegionID: 901 differs from the region's 900"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\",\"DERPPort\":70000}]}}}",
		 "Regions.\"900\".Nodes[0].DERPPort: 70000 is not a port"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\",\"DERPPort\":-1}]}}}",
		 "Regions.\"900\".Nodes[0].DERPPort: -1 is not a port"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\",\"STUNPort\":65536}]}}}",
		 "Regions.\"900\".Nodes[0].STUNPort: 65536 is not a port"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\",\"STUNPort\":-3000000000}]}}}",
		 "Regions.\"900\".Nodes[0].STUNPort: -3000000000 is not a port"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\",\"STUNOnly\":\"yes\"}]}}}",
		 "Regions.\"900\".Nodes[0].STUNOnly: a string, not a boolean"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\",\"STUNTestIP\":\"localhost\"}]}}}",
		 "Regions.\"900\".Nodes[0].STUNTestIP: \"localhost\" is not an IP address"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\",\"IPv4\":[]}]}}}",
		 "Regions.\"900\".Nodes[0].IPv4: an array, not a string"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\"},{\"Name\":\"a\",\"HostName\":\"h\"}]}}}",
		 "Regions.\"900\".Nodes[1].Name: \"a\" is used by another node"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\"}]},\"901\":{\"RegionID\":901,\"Nodes\":[{\"Name\":\"a\","
		 "\"HostName\":\"h\"}]}}}",
		 "Regions.\"901\".Nodes[0].Name: \"a\" is used by another node"},
		{"{\"HomeParams\":[]}", "HomeParams: an array, not an object"},
		{"{\"HomeParams\":{\"RegionScore\":1}}",
		 "HomeParams.RegionScore: an integer, not an object"},
		{"{\"HomeParams\":{\"RegionScore\":{\"x\":1}}}",
		 "HomeParams.RegionScore: key \"x\" is not a region ID (a decimal from 1 to "
		 "9007199254740991)"},
		{"{\"HomeParams\":{\"RegionScore\":{\"900\":\"1\"}}}",
		 "HomeParams.RegionScore.\"900\": a string, not a number"},
		{"{\"HomeParams\":{\"RegionScore\":{\"900\":1e999}}}",
		 "HomeParams.RegionScore.\"900\": not a finite number"},
		{"{\"omitDefaultRegions\":\"true\"}",
		 "omitDefaultRegions: a string, not a boolean"},
		{"{\"Regions\":{\"900\":{\"RegionID\":900,\"RegionCode\":\"a\\u0000b\"}}}",
		 "DERP map: \\u0000 escape at offset 49"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrDerpMap) map = NULL;

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, cases[i].json);
		map = wr_derp_map_new_from_data(cases[i].json, strlen(cases[i].json), &error);
		g_assert_null(map);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpstr(error->message, ==, cases[i].message);
	}
}

/* bytes json-glib itself refuses: the message is its own, but it is ours to prefix */
static void
test_not_json(void)
{
	const gchar *docs[] = {"{", "{\"Regions\":}", "nul", "{\"a\":1,}", "\xff\xfe"};

	for (gsize i = 0; i < G_N_ELEMENTS(docs); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(WrDerpMap) map =
			wr_derp_map_new_from_data(docs[i], strlen(docs[i]), &error);

		g_assert_null(map);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_true(g_str_has_prefix(error->message, "DERP map: "));
	}
}

static gchar *
region_json(guint64 id, guint n_nodes)
{
	g_autoptr(GString) s = g_string_new(NULL);

	g_string_append_printf(
		s, "\"%" G_GUINT64_FORMAT "\":{\"RegionID\":%" G_GUINT64_FORMAT ",\"Nodes\":[", id,
		id);
	for (guint i = 0; i < n_nodes; i++)
		g_string_append_printf(
			s, "%s{\"Name\":\"%" G_GUINT64_FORMAT "n%u\",\"HostName\":\"h\"}",
			i > 0 ? "," : "", id, i);
	g_string_append(s, "]}");
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static gchar *
map_json(guint n_regions, guint n_nodes)
{
	g_autoptr(GString) s = g_string_new("{\"Regions\":{");

	for (guint i = 0; i < n_regions; i++) {
		g_autofree gchar *r = region_json(i + 1, n_nodes);

		g_string_append_printf(s, "%s%s", i > 0 ? "," : "", r);
	}
	g_string_append(s, "}}");
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
assert_refused(const gchar *json, gsize len, const gchar *message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrDerpMap) map = wr_derp_map_new_from_data(json, len, &error);

	g_assert_null(map);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_cmpstr(error->message, ==, message);
}

/* every limit holds at its value and refuses one more */
static void
test_limits(void)
{
	g_autofree gchar *most_regions = map_json(WR_DERP_MAP_MAX_REGIONS, 1);
	g_autofree gchar *too_many_regions = map_json(WR_DERP_MAP_MAX_REGIONS + 1, 1);
	g_autofree gchar *most_nodes = map_json(1, WR_DERP_MAP_MAX_NODES_PER_REGION);
	g_autofree gchar *too_many_nodes = map_json(1, WR_DERP_MAP_MAX_NODES_PER_REGION + 1);
	g_autofree gchar *long_ok = g_strnfill(WR_DERP_MAP_MAX_STRING, 'x');
	g_autofree gchar *long_bad = g_strnfill(WR_DERP_MAP_MAX_STRING + 1, 'x');
	g_autofree gchar *json_ok = NULL;
	g_autofree gchar *json_bad = NULL;
	g_autofree gchar *deep_ok = NULL;
	g_autofree gchar *deep_bad = NULL;
	g_autofree gchar *big = NULL;
	g_autoptr(WrDerpMap) map = NULL;
	g_autoptr(WrDerpMap) map2 = NULL;
	g_autoptr(WrDerpMap) map3 = NULL;
	g_autoptr(WrDerpMap) map4 = NULL;
	g_autoptr(GString) deep = g_string_new("{\"x\":");

	map = parse_ok(most_regions);
	g_assert_cmpuint(map->n_regions, ==, WR_DERP_MAP_MAX_REGIONS);
	assert_refused(too_many_regions, strlen(too_many_regions),
		       "Regions: 513 regions, more than the 512 allowed");
	map2 = parse_ok(most_nodes);
	g_assert_cmpuint(map2->regions[0].n_nodes, ==, WR_DERP_MAP_MAX_NODES_PER_REGION);
	assert_refused(too_many_nodes, strlen(too_many_nodes),
		       "Regions.\"1\".Nodes: 33 nodes, more than the 32 allowed");

	json_ok = g_strdup_printf("{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionName\":\"%s\"}}}",
				  long_ok);
	json_bad = g_strdup_printf("{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionName\":\"%s\"}}}",
				   long_bad);
	map3 = parse_ok(json_ok);
	assert_refused(json_bad, strlen(json_bad),
		       "Regions.\"1\".RegionName: 256 bytes, more than the 255 allowed");

	/* {"x": [[[…]]] } with the outer object counted */
	for (guint i = 1; i < WR_DERP_MAP_MAX_DEPTH; i++)
		g_string_append_c(deep, '[');
	for (guint i = 1; i < WR_DERP_MAP_MAX_DEPTH; i++)
		g_string_append_c(deep, ']');
	g_string_append_c(deep, '}');
	deep_ok = g_strdup(deep->str);
	map4 = parse_ok(deep_ok);
	g_string_insert(deep, 5, "[");
	g_string_insert(deep, deep->len - 1, "]");
	deep_bad = g_strdup(deep->str);
	assert_refused(deep_bad, strlen(deep_bad),
		       "DERP map: nested more than 16 deep at offset 20");

	big = g_strnfill(WR_DERP_MAP_MAX_JSON_SIZE + 1, ' ');
	assert_refused(big, WR_DERP_MAP_MAX_JSON_SIZE + 1,
		       "DERP map: 1048577 bytes, more than the 1048576 allowed");
	/* an embedded NUL is refused, not truncated */
	assert_refused("{}\0{", 4, "DERP map: NUL byte at offset 2");
	/* brackets inside strings do not count */
	{
		g_autofree gchar *brackets = g_strnfill(100, '[');
		g_autofree gchar *s = g_strdup_printf(
			"{\"Regions\":{\"1\":{\"RegionID\":1,\"RegionName\":\"%s\\\"\"}}}",
			brackets);
		g_autoptr(WrDerpMap) m = parse_ok(s);

		g_assert_true(g_str_has_suffix(m->regions[0].region_name, "[[\""));
	}
}

static void
test_file(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("warren-derp-map-XXXXXX", &error);
	g_autofree gchar *good = NULL;
	g_autofree gchar *bad = NULL;
	g_autofree gchar *missing = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(WrDerpMap) map = NULL;
	g_autoptr(WrDerpMap) map_bad = NULL;
	g_autoptr(WrDerpMap) map_missing = NULL;

	g_assert_no_error(error);
	good = g_build_filename(dir, "good.json", NULL);
	bad = g_build_filename(dir, "bad.json", NULL);
	missing = g_build_filename(dir, "missing.json", NULL);
	g_assert_true(g_file_set_contents(good, spec_map, -1, &error));
	g_assert_true(
		g_file_set_contents(bad, "{\"Regions\":{\"5\":{\"RegionID\":6}}}", -1, &error));

	map = wr_derp_map_new_from_file(good, &error);
	g_assert_no_error(error);
	g_assert_nonnull(map);
	g_assert_cmpuint(map->n_regions, ==, 1);

	map_bad = wr_derp_map_new_from_file(bad, &error);
	g_assert_null(map_bad);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	expected = g_strdup_printf("%s: Regions.\"5\".RegionID: 6 differs from its key", bad);
	g_assert_cmpstr(error->message, ==, expected);
	g_clear_error(&error);

	map_missing = wr_derp_map_new_from_file(missing, &error);
	g_assert_null(map_missing);
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);

	g_assert_cmpint(g_remove(good), ==, 0);
	g_assert_cmpint(g_remove(bad), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/warren/derp-map/spec-example", test_spec_example);
	g_test_add_func("/warren/derp-map/all-fields", test_all_fields);
	g_test_add_func("/warren/derp-map/node-helpers", test_node_helpers);
	g_test_add_func("/warren/derp-map/ports-and-dns-target", test_ports_and_dns_target);
	g_test_add_func("/warren/derp-map/scores", test_scores);
	g_test_add_func("/warren/derp-map/home-params-presence", test_home_params_presence);
	g_test_add_func("/warren/derp-map/lenient-members", test_lenient_members);
	g_test_add_func("/warren/derp-map/golden-json", test_golden_json);
	g_test_add_func("/warren/derp-map/round-trip", test_round_trip);
	g_test_add_func("/warren/derp-map/exponent-json", test_exponent_json);
	g_test_add_func("/warren/derp-map/equal", test_equal_detects_differences);
	g_test_add_func("/warren/derp-map/malformed", test_malformed);
	g_test_add_func("/warren/derp-map/not-json", test_not_json);
	g_test_add_func("/warren/derp-map/limits", test_limits);
	g_test_add_func("/warren/derp-map/file", test_file);

	return g_test_run();
}
