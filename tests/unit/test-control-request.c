/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Register and map request bodies (wr-control-request): what a good body yields, normalised,
 * and a table of bad ones with the exact message each must get.
 */
#include "config.h"

#include <string.h>

#include "wr-control-request.h"
#include "wr-control-seal.h"
#include "wr-crypto.h"

#define NK "nodekey:0707070707070707070707070707070707070707070707070707070707070707"
#define DK "discokey:0909090909090909090909090909090909090909090909090909090909090909"

static JsonObject *
parse(const char *json)
{
	g_autoptr(GError) error = NULL;
	JsonObject *obj = wr_control_parse_object(json, strlen(json), &error);

	g_assert_no_error(error);
	return obj;
}

static void
test_register_good(void)
{
	g_autoptr(JsonObject) obj =
		parse("{\"version\":1,\"ts\":5,\"node_key\":\"" NK "\",\"old_node_key\":\"\","
		      "\"auth_key\":\"k\",\"expiry\":1800000000,\"unknown\":[1,2],"
		      "\"hostinfo\":{\"hostname\":\"Laptop\",\"routable_ips\":[\"192.168.1.7/24\","
		      "\"0.0.0.0/0\",\"192.168.1.0/24\",\"2001:db8::1/32\"],"
		      "\"request_tags\":[\"tag:a\",\"tag:a\",\"tag:b\"]}}");
	g_auto(WrRegisterRequest) r = {0};
	g_autoptr(GError) error = NULL;
	const char *const routes[] = {"192.168.1.0/24", "0.0.0.0/0", "2001:db8::/32", NULL};
	const char *const tags[] = {"tag:a", "tag:b", NULL};

	g_assert_true(wr_register_request_parse(obj, &r, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(r.node_key[0], ==, 7);
	g_assert_false(r.has_old);
	g_assert_cmpstr(r.auth_key, ==, "k");
	g_assert_cmpstr(r.followup, ==, "");
	g_assert_false(r.logout);
	g_assert_cmpint(r.expiry, ==, 1800000000);
	g_assert_cmpstr(r.hi.hostname, ==, "Laptop");
	/* host bits cleared, duplicates dropped, order kept */
	g_assert_true(g_strv_equal((const char *const *) r.hi.routes, routes));
	g_assert_true(r.hi.exit_node);
	g_assert_true(g_strv_equal((const char *const *) r.hi.request_tags, tags));
}

static void
test_register_minimal(void)
{
	g_autoptr(JsonObject) obj =
		parse("{\"version\":1,\"node_key\":\"" NK "\",\"old_node_key\":\"" NK "\"}");
	g_auto(WrRegisterRequest) r = {0};

	g_assert_true(wr_register_request_parse(obj, &r, NULL));
	g_assert_true(r.has_old);
	g_assert_null(r.hostinfo);
	g_assert_null(r.hi.hostname);
	g_assert_cmpuint(g_strv_length(r.hi.routes), ==, 0);
	g_assert_false(r.hi.exit_node);
	g_assert_cmpstr(r.auth_key, ==, "");
}

static void
test_map_good(void)
{
	g_autoptr(JsonObject) obj =
		parse("{\"version\":1,\"node_key\":\"" NK "\",\"disco_key\":\"" DK "\","
		      "\"endpoints\":[{\"addr\":\"192.0.2.1:41641\",\"type\":\"stun\"},"
		      "{\"addr\":\"[2001:db8::1]:41641\",\"type\":\"local\"},"
		      "{\"addr\":\"192.0.2.1:41641\"}],\"stream\":true,\"derp_region\":7}");
	g_auto(WrMapRequest) r = {0};
	const char *const eps[] = {"192.0.2.1:41641", "[2001:db8::1]:41641", NULL};

	g_assert_true(wr_map_request_parse(obj, &r, NULL));
	g_assert_true(r.has_disco);
	g_assert_true(g_strv_equal((const char *const *) r.endpoints, eps));
	g_assert_true(r.stream);
	g_assert_false(r.omit_peers);
	g_assert_cmpint(r.derp_region, ==, 7);
	g_assert_null(r.hostinfo);
}

static void
test_map_absent(void)
{
	g_autoptr(JsonObject) obj = parse("{\"version\":1,\"node_key\":\"" NK "\"}");
	g_auto(WrMapRequest) r = {0};

	g_assert_true(wr_map_request_parse(obj, &r, NULL));
	g_assert_false(r.has_disco);
	/* absent endpoints keep the stored ones: NULL, not empty */
	g_assert_null(r.endpoints);
	g_assert_cmpint(r.derp_region, ==, -1);
}

typedef struct {
	gboolean map; /* else register */
	const char *json;
	int code;
	const char *message;
} Bad;

static const Bad bad[] = {
	{FALSE, "{\"node_key\":\"" NK "\"}", WR_CONTROL_SEAL_ERROR_MISSING_FIELD,
	 "missing required field version"},
	{FALSE, "{\"version\":2,\"node_key\":\"" NK "\"}", WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	 "field version must be 1"},
	{FALSE, "{\"version\":1}", WR_CONTROL_SEAL_ERROR_MISSING_FIELD,
	 "missing required field node_key"},
	{FALSE, "{\"version\":1,\"node_key\":\"nodekey:12\"}", WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	 "field node_key must be nodekey: followed by 64 lowercase hex digits"},
	{FALSE, "{\"version\":1,\"node_key\":\"" NK "\",\"logout\":1}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field logout must be true or false"},
	{FALSE, "{\"version\":1,\"node_key\":\"" NK "\",\"expiry\":-1}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field expiry is -1, outside [0, 4102444800]"},
	{FALSE, "{\"version\":1,\"node_key\":\"" NK "\",\"hostinfo\":[]}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field hostinfo must be an object"},
	{FALSE, "{\"version\":1,\"node_key\":\"" NK "\",\"hostinfo\":{\"hostname\":5}}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "hostinfo: field hostname must be a string"},
	{FALSE,
	 "{\"version\":1,\"node_key\":\"" NK "\",\"hostinfo\":{\"routable_ips\":[\"10.0.0.1\"]}}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field hostinfo.routable_ips[0] must be a CIDR prefix"},
	{FALSE,
	 "{\"version\":1,\"node_key\":\"" NK
	 "\",\"hostinfo\":{\"routable_ips\":[\"10.0.0.0/33\"]}}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field hostinfo.routable_ips[0] must be a CIDR prefix"},
	{FALSE,
	 "{\"version\":1,\"node_key\":\"" NK "\",\"hostinfo\":{\"request_tags\":[\"server\"]}}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field hostinfo.request_tags[0] must be tag:<name>"},
	{FALSE,
	 "{\"version\":1,\"node_key\":\"" NK "\",\"hostinfo\":{\"request_tags\":[\"tag:\"]}}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field hostinfo.request_tags[0] must be tag:<name>"},
	{TRUE, "{\"version\":1,\"node_key\":\"" NK "\",\"endpoints\":{}}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field endpoints must be an array"},
	{TRUE, "{\"version\":1,\"node_key\":\"" NK "\",\"endpoints\":[\"1.2.3.4:5\"]}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	 "field endpoints[0] must be {\"addr\":\"ip:port\",\"type\":\"local|stun|portmap\"}"},
	{TRUE, "{\"version\":1,\"node_key\":\"" NK "\",\"endpoints\":[{\"addr\":\"1.2.3.4\"}]}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field endpoints[0].addr must be ip:port"},
	{TRUE,
	 "{\"version\":1,\"node_key\":\"" NK
	 "\",\"endpoints\":[{\"addr\":\"1.2.3.4:5\",\"type\":\"magic\"}]}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field endpoints[0].type must be local, stun or portmap"},
	{TRUE, "{\"version\":1,\"node_key\":\"" NK "\",\"disco_key\":\"" NK "\"}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD,
	 "field disco_key must be discokey: followed by 64 lowercase hex digits"},
	{TRUE, "{\"version\":1,\"node_key\":\"" NK "\",\"derp_region\":70000}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field derp_region is 70000, outside [0, 65535]"},
	{TRUE, "{\"version\":1,\"node_key\":\"" NK "\",\"stream\":\"yes\"}",
	 WR_CONTROL_SEAL_ERROR_BAD_FIELD, "field stream must be true or false"},
};

static void
test_bad(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(JsonObject) obj = parse(bad[i].json);
		g_autoptr(GError) error = NULL;
		gboolean ok;

		if (bad[i].map) {
			WrMapRequest r;

			ok = wr_map_request_parse(obj, &r, &error);
		} else {
			WrRegisterRequest r;

			ok = wr_register_request_parse(obj, &r, &error);
		}
		g_test_message("case %u: %s", i, bad[i].message);
		g_assert_false(ok);
		g_assert_error(error, WR_CONTROL_SEAL_ERROR, bad[i].code);
		g_assert_cmpstr(error->message, ==, bad[i].message);
	}
}

static void
test_bounds(void)
{
	g_autoptr(GString) json =
		g_string_new("{\"version\":1,\"node_key\":\"" NK "\",\"endpoints\":[");
	g_autoptr(JsonObject) obj = NULL;
	g_autoptr(GError) error = NULL;
	WrMapRequest r;

	for (guint i = 0; i <= WR_CONTROL_MAX_ENDPOINTS; i++)
		g_string_append_printf(json, "%s{\"addr\":\"192.0.2.1:%u\"}", i ? "," : "", i + 1);
	g_string_append(json, "]}");
	obj = parse(json->str);
	g_assert_false(wr_map_request_parse(obj, &r, &error));
	g_assert_cmpstr(error->message, ==, "field endpoints lists more than 64 endpoints");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/warren/control-request/register-good", test_register_good);
	g_test_add_func("/warren/control-request/register-minimal", test_register_minimal);
	g_test_add_func("/warren/control-request/map-good", test_map_good);
	g_test_add_func("/warren/control-request/map-absent", test_map_absent);
	g_test_add_func("/warren/control-request/bad", test_bad);
	g_test_add_func("/warren/control-request/bounds", test_bounds);
	return g_test_run();
}
