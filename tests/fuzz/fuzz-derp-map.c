/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the DERP map parser (wr-derp-map): arbitrary bytes as a map document.
 * Besides the sanitizers it checks the contracts: a refusal always comes with an
 * G_IO_ERROR_INVALID_DATA message, an accepted map keeps every limit, serialises to JSON that
 * parses back to an equal map (and to the same bytes), copies equal, and every region and node
 * is found by its lookups; the node helpers agree with each other.
 *
 * Input: the JSON document, as is.
 */

#define G_LOG_DOMAIN "WrFuzzDerpMap"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "wr-derp-map.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_node(const WrDerpMap *map, const WrDerpRegion *region, const WrDerpNode *node)
{
	static const int families[] = {AF_INET, AF_INET6};

	g_assert_cmpuint(node->region_id, ==, region->region_id);
	g_assert_true(wr_derp_map_find_node(map, node->name) == node);
	g_assert_cmpuint(strlen(node->host_name), >, 0);
	g_assert_cmpuint(strlen(node->host_name), <=, WR_DERP_MAP_MAX_STRING);
	g_assert_cmpuint(wr_derp_node_derp_port(node), >, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(families); i++) {
		WrEndpoint ep;
		WrDerpAddrKind kind;

		memset(&ep, 0, sizeof(ep));
		kind = wr_derp_node_stun_target(node, families[i], &ep);
		g_assert_cmpint(wr_derp_node_can_stun(node, families[i]), ==,
				kind != WR_DERP_ADDR_DISABLED);
		if (kind != WR_DERP_ADDR_DISABLED) {
			g_assert_cmpint(ep.sa.sa_family, ==, families[i]);
			g_assert_cmpuint(wr_derp_node_stun_port(node), >, 0);
		}
		(void) wr_derp_node_addr(node, families[i], NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(WrDerpMap) map = wr_derp_map_new_from_data((const gchar *) data, size, &error);
	g_autoptr(WrDerpMap) again = NULL;
	g_autoptr(WrDerpMap) copy = NULL;
	g_autoptr(GError) error_again = NULL;
	g_autofree gchar *json = NULL;
	g_autofree gchar *json2 = NULL;
	gsize len = 0;

	if (map == NULL) {
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpuint(strlen(error->message), >, 0);
		return 0;
	}
	g_assert_no_error(error);
	g_assert_cmpuint(map->n_regions, <=, WR_DERP_MAP_MAX_REGIONS);
	g_assert_cmpuint(map->n_scores, <=, WR_DERP_MAP_MAX_REGIONS);
	for (guint i = 0; i < map->n_regions; i++) {
		const WrDerpRegion *r = &map->regions[i];

		g_assert_cmpuint(r->region_id, >=, 1);
		g_assert_cmpuint(r->region_id, <=, WR_DERP_REGION_ID_MAX);
		if (i > 0)
			g_assert_cmpuint(map->regions[i - 1].region_id, <, r->region_id);
		g_assert_true(wr_derp_map_get_region(map, r->region_id) == r);
		g_assert_cmpuint(r->n_nodes, <=, WR_DERP_MAP_MAX_NODES_PER_REGION);
		for (guint j = 0; j < r->n_nodes; j++)
			check_node(map, r, &r->nodes[j]);
	}
	for (guint i = 0; i < map->n_scores; i++)
		g_assert_cmpfloat(wr_derp_map_region_score(map, map->scores[i].region_id), >, 0);

	json = wr_derp_map_to_json(map, false, &len);
	again = wr_derp_map_new_from_data(json, len, &error_again);
	g_assert_no_error(error_again);
	g_assert_true(wr_derp_map_equal(map, again));
	json2 = wr_derp_map_to_json(again, false, NULL);
	g_assert_cmpstr(json, ==, json2);
	copy = wr_derp_map_copy(map);
	g_assert_true(wr_derp_map_equal(map, copy));
	return 0;
}
