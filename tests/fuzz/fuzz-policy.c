/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for the ACL policy (wr-policy): arbitrary bytes as a policy and a tailnet.
 * Besides the sanitizers it checks the contracts: a refusal always comes with
 * G_IO_ERROR_INVALID_DATA and a `line:col: ` message; an accepted policy compiles for every
 * node of the tailnet without error, each rule has sources and destinations, the filter's JSON
 * parses back to as many rules, visible peers are ascending, exclude the node itself and are
 * symmetric, and allow-all policies show every peer.
 *
 * The peers must also agree with the filters: j is visible to i exactly when i's filter admits
 * one of j's addresses as a source or j's filter admits one of i's.
 *
 * Input: the policy text, then optionally a NUL byte and the tailnet, 6 bytes a node (at most
 * 16): user, tag, IPv4 last octet, IPv6 last byte, route, flags; see node_from_bytes().
 */

#define G_LOG_DOMAIN "WrFuzzPolicy"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "wr-policy.h"

#define MAX_NODES  16
#define NODE_BYTES 6

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const gchar *const users[] = {
	NULL, "", "alice@example.com", "bob@example.com", "carol@example.com", "Alice@Example.COM",
};
static const gchar *const tag_server[] = {"tag:server", NULL};
static const gchar *const tag_router[] = {"tag:router", NULL};
static const gchar *const tag_both[] = {"tag:server", "tag:router", NULL};
static const gchar *const tag_unknown[] = {"tag:unknown", NULL};
static const gchar *const *const tags[] = {NULL, tag_server, tag_router, tag_both, tag_unknown};
static const gchar *const routes[] = {
	"192.168.1.0/24", "10.0.0.0/8", "0.0.0.0/0", "::/0", "fd00::/64", "192.168.1.7/32",
};

typedef struct {
	WrCidr addresses[2];
	WrCidr routes[2];
} NodeStorage;

static void
node_from_bytes(const uint8_t *b, WrPolicyNode *node, NodeStorage *storage, guint64 id)
{
	/* unique addresses, so that a filter's sources name nodes unambiguously */
	g_autofree gchar *v4 = g_strdup_printf("100.64.%u.%u", (guint) id, b[2]);
	g_autofree gchar *v6 = g_strdup_printf("fd7a::%x:%x", (guint) id, b[3]);

	memset(node, 0, sizeof(*node));
	node->id = id;
	node->user = users[b[0] % G_N_ELEMENTS(users)];
	node->tags = tags[b[1] % G_N_ELEMENTS(tags)];
	g_assert_true(wr_cidr_parse(&storage->addresses[0], v4));
	g_assert_true(wr_cidr_parse(&storage->addresses[1], v6));
	node->addresses = storage->addresses;
	/* flags bit 0: only an IPv4 address; bits 1-2: how many routes */
	node->n_addresses = (b[5] & 1) != 0 ? 1 : 2;
	node->n_routes = (b[5] >> 1) % 3;
	for (guint r = 0; r < node->n_routes; r++)
		g_assert_true(wr_cidr_parse(&storage->routes[r],
					    routes[(b[4] + r) % G_N_ELEMENTS(routes)]));
	node->routes = storage->routes;
	node->exit_node = (b[5] & 8) != 0;
}

/* whether some rule of filter has a source containing one of node's addresses */
static bool
admits(const WrFilter *filter, const WrPolicyNode *node)
{
	for (guint r = 0; r < filter->n_rules; r++) {
		for (guint s = 0; s < filter->rules[r].n_src; s++) {
			WrCidr src;

			g_assert_true(wr_cidr_parse(&src, filter->rules[r].src[s]));
			for (guint a = 0; a < node->n_addresses; a++) {
				WrCidr masked = node->addresses[a];

				if (masked.family != src.family || masked.cidr < src.cidr)
					continue;
				masked.cidr = src.cidr;
				wr_cidr_mask(&masked);
				if (memcmp(masked.addr, src.addr, sizeof(src.addr)) == 0)
					return true;
			}
		}
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	gsize policy_len = nul != NULL ? (gsize) (nul - data) : size;
	g_autoptr(GError) error = NULL;
	g_autoptr(WrPolicy) policy = NULL;
	WrPolicyNode nodes[MAX_NODES];
	NodeStorage storage[MAX_NODES];
	GArray *visible[MAX_NODES] = {NULL};
	WrFilter *filters[MAX_NODES] = {NULL};
	guint n_nodes = 0;

	policy = wr_policy_new_from_data((const gchar *) data, policy_len, &error);
	if (policy == NULL) {
		guint line = 0;
		guint col = 0;

		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpint(sscanf(error->message, "%u:%u: ", &line, &col), ==, 2);
		g_assert_cmpuint(line, >=, 1);
		g_assert_cmpuint(col, >=, 1);
		return 0;
	}
	g_assert_no_error(error);

	if (nul != NULL) {
		const uint8_t *p = nul + 1;
		gsize left = size - policy_len - 1;

		while (left >= NODE_BYTES && n_nodes < MAX_NODES) {
			node_from_bytes(p, &nodes[n_nodes], &storage[n_nodes], n_nodes);
			n_nodes++;
			p += NODE_BYTES;
			left -= NODE_BYTES;
		}
	}

	for (guint i = 0; i < n_nodes; i++) {
		WrFilter *filter = wr_policy_compile_filter(policy, nodes, n_nodes, i, &error);
		g_autofree gchar *json = NULL;
		g_autoptr(JsonNode) parsed = NULL;

		g_assert_no_error(error);
		g_assert_nonnull(filter);
		for (guint r = 0; r < filter->n_rules; r++) {
			g_assert_cmpuint(filter->rules[r].n_src, >, 0);
			g_assert_cmpuint(filter->rules[r].n_dst, >, 0);
			g_assert_cmpuint(filter->rules[r].protos, !=, 0);
			g_assert_null(filter->rules[r].src[filter->rules[r].n_src]);
		}
		json = wr_filter_to_json(filter, NULL);
		parsed = json_from_string(json, NULL);
		g_assert_nonnull(parsed);
		/* the direct writer says what json-glib would */
		{
			g_autoptr(JsonNode) built = wr_filter_to_json_node(filter);
			g_autofree gchar *generated = json_to_string(built, FALSE);

			g_assert_cmpstr(json, ==, generated);
		}
		g_assert_true(JSON_NODE_HOLDS_ARRAY(parsed));
		g_assert_cmpuint(json_array_get_length(json_node_get_array(parsed)), ==,
				 filter->n_rules);

		visible[i] = wr_policy_visible_peers(policy, nodes, n_nodes, i);
		if (wr_policy_allows_all(policy))
			g_assert_cmpuint(visible[i]->len, ==, n_nodes - 1);
		for (guint v = 0; v < visible[i]->len; v++) {
			guint peer = g_array_index(visible[i], guint, v);

			g_assert_cmpuint(peer, <, n_nodes);
			g_assert_cmpuint(peer, !=, i);
			if (v > 0)
				g_assert_cmpuint(g_array_index(visible[i], guint, v - 1), <, peer);
		}
		for (guint r = 0; r < nodes[i].n_routes; r++)
			(void) wr_policy_route_auto_approved(policy, &nodes[i],
							     &nodes[i].routes[r]);
		(void) wr_policy_exit_node_auto_approved(policy, &nodes[i]);
		(void) wr_policy_may_apply_tag(policy, &nodes[i], "tag:server");
		filters[i] = filter;
	}
	/* "may reach or be reached by" is symmetric */
	for (guint i = 0; i < n_nodes; i++) {
		for (guint v = 0; v < visible[i]->len; v++) {
			guint peer = g_array_index(visible[i], guint, v);
			bool back = false;

			for (guint w = 0; w < visible[peer]->len; w++)
				back = back || g_array_index(visible[peer], guint, w) == i;
			g_assert_true(back);
		}
	}
	/* the peers agree with the filters */
	for (guint i = 0; i < n_nodes; i++) {
		guint v = 0;

		for (guint j = 0; j < n_nodes; j++) {
			bool seen = v < visible[i]->len && g_array_index(visible[i], guint, v) == j;

			if (seen)
				v++;
			if (j == i)
				continue;
			g_assert_cmpint(seen, ==,
					admits(filters[i], &nodes[j]) ||
						admits(filters[j], &nodes[i]));
		}
	}
	for (guint i = 0; i < n_nodes; i++) {
		g_array_unref(visible[i]);
		wr_filter_free(filters[i]);
	}
	return 0;
}
